//! Spawns the real service on 127.0.0.1:0 over a fresh SQLite store in a temporary directory
//! and drives it over HTTP.
#![allow(dead_code)]

pub mod redis;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::Value;
use server::http::{Application, auth};
use server::settings::Settings;
use store::{Reading, Role, Store};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A running service and tokens of every role.
pub struct TestApp {
    /// `http://127.0.0.1:PORT/v1/thermaliq`.
    pub base: String,
    /// The HTTP client.
    pub client: Client,
    /// The store the service uses.
    pub store: Store,
    /// A viewer token.
    pub viewer: String,
    /// An operator token.
    pub operator: String,
    /// An admin token.
    pub admin: String,
    /// A revoked admin token.
    pub revoked: String,
    stop: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// 2025-11-01T00:00:00Z, µs.
pub const START_US: i64 = 1_761_955_200_000_000;

/// One hour, µs.
pub const HOUR_US: i64 = 3_600_000_000;

/// A service with the default settings (tokens checked against the store on every request).
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// A service with settings adjusted by `configure`.
pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_in_dir(dir.path()).await.expect("store opens");
    store.migrate_up(None).await.expect("migrations apply");
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.path().to_path_buf(),
        // Every request asks the store, so a revocation is seen at once.
        token_cache_ttl: std::time::Duration::ZERO,
        ..Settings::default()
    };
    configure(&mut settings);
    let app = Application::build(settings, store.clone())
        .await
        .expect("the service binds");
    let base = format!("http://127.0.0.1:{}/v1/thermaliq", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let mut tokens = Vec::new();
    for (name, role) in [
        ("viewer", Role::Viewer),
        ("operator", Role::Operator),
        ("admin", Role::Admin),
        ("revoked", Role::Admin),
    ] {
        let (secret, record) = auth::new_token(name, role, None);
        store.insert_token(&record).await.expect("token stored");
        if name == "revoked" {
            assert!(store.revoke_token(&record.id).await.expect("revoked"));
        }
        tokens.push(secret);
    }
    let [viewer, operator, admin, revoked]: [String; 4] = tokens.try_into().expect("4 tokens");
    connectors::install_tls_provider();
    TestApp {
        base,
        client: Client::new(),
        store,
        viewer,
        operator,
        admin,
        revoked,
        stop: Some(stop),
        _dir: dir,
    }
}

impl TestApp {
    /// The URL of a path under the base path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with an optional bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("the service answers")
    }

    /// A request with a raw body and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("the service answers")
    }

    /// GET with a token; status and JSON body.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        json_of(self.call(Method::GET, path, Some(token), None).await).await
    }

    /// POST of a JSON body with a token; status and JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        json_of(self.call(Method::POST, path, Some(token), Some(body)).await).await
    }

    /// Applies the demo facility through the API.
    pub async fn put_demo_facility(&self) {
        let spec = server::demo::facility_spec().to_json();
        let r = self
            .call(
                Method::PUT,
                "/facilities/FAC-DEMO-001",
                Some(&self.operator),
                Some(&spec),
            )
            .await;
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }

    /// Stores `seconds` of demo readings from `start_us` straight into the store.
    pub async fn store_demo_readings(
        &self,
        start_us: i64,
        seconds: u32,
        seed: u64,
    ) -> Vec<Reading> {
        let readings = server::demo::readings(start_us, seconds, seed).expect("demo data");
        self.store
            .insert_readings("FAC-DEMO-001", &readings)
            .await
            .expect("readings stored");
        readings
    }
}

/// Status and JSON body of a response (the body must be JSON).
pub async fn json_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}), content-type {ct}: {text}"));
    assert!(
        ct.starts_with("application/json"),
        "{status} content-type {ct}: {text}"
    );
    (status, value)
}

/// The error object of an error answer.
pub fn error(v: &Value) -> &Value {
    v.get("error")
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}

/// The calculate body for the hour starting at `start_us`.
pub fn calc_body(start_us: i64, end_us: i64) -> Value {
    serde_json::json!({
        "facility_id": "FAC-DEMO-001",
        "time_period": {
            "start": server::http::format_us(start_us),
            "end": server::http::format_us(end_us),
        }
    })
}
