//! A real service for the browser application's tests: the router over HTTP on 127.0.0.1,
//! on a fresh SQLite store or a fresh database of the PostgreSQL server named by
//! THERMALIQ_TEST_POSTGRES_URL, with tokens of every role and a client that does not follow
//! redirects (the tests read them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Client, Response, StatusCode, redirect};
use server::http::{Application, auth};
use server::settings::Settings;
use store::{Role, Store};
use tokio::sync::oneshot;

/// Where the service's data lives, removed at the end.
enum Backing {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server: String, name: String },
}

/// A running service.
pub struct WebApp {
    /// `http://127.0.0.1:PORT`.
    pub root: String,
    /// The store the service uses.
    pub store: Store,
    /// Token secrets by role.
    pub viewer: String,
    /// An operator token.
    pub operator: String,
    /// The id of the operator token (to revoke it).
    pub operator_id: String,
    client: Client,
    stop: Option<oneshot::Sender<()>>,
    backing: Backing,
}

impl Drop for WebApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Backing::Postgres { server, name } = &self.backing {
            psql(
                server,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let program = std::env::var_os("THERMALIQ_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from("psql"), |d| Path::new(&d).join("psql"));
    let status = Command::new(program)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql {sql}");
}

/// A service on a fresh SQLite store.
pub async fn sqlite() -> WebApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_in_dir(dir.path()).await.expect("store opens");
    start(store, Backing::Sqlite(dir), |_| {}).await
}

/// A service on a fresh SQLite store with adjusted settings.
pub async fn sqlite_with(configure: impl FnOnce(&mut Settings)) -> WebApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_in_dir(dir.path()).await.expect("store opens");
    start(store, Backing::Sqlite(dir), configure).await
}

/// A service on a fresh database named after `tag` of the PostgreSQL test server.
pub async fn postgres(tag: &str) -> WebApp {
    let server = std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL server; \
             run `source scripts/test-services.sh` first (scripts/test.sh does)"
        )
    });
    let name = format!("thermaliq_web_{tag}_{}", std::process::id());
    psql(&server, &format!("DROP DATABASE IF EXISTS \"{name}\""));
    psql(&server, &format!("CREATE DATABASE \"{name}\""));
    let url = match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("THERMALIQ_TEST_POSTGRES_URL has no database path"),
    };
    let store = Store::open(&url).await.expect("postgres store opens");
    start(store, Backing::Postgres { server, name }, |_| {}).await
}

async fn start(store: Store, backing: Backing, configure: impl FnOnce(&mut Settings)) -> WebApp {
    connectors::install_tls_provider();
    store.migrate_up(None).await.expect("migrations apply");
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().expect("address"),
        // Every request asks the store, so a revocation is seen at once.
        token_cache_ttl: std::time::Duration::ZERO,
        ..Settings::default()
    };
    configure(&mut settings);
    let app = Application::build(settings, store.clone())
        .await
        .expect("the service binds");
    let root = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let (viewer, viewer_record) = auth::new_token("Vera <viewer>", Role::Viewer, None);
    let (operator, operator_record) = auth::new_token("Otto", Role::Operator, None);
    store.insert_token(&viewer_record).await.expect("token");
    store.insert_token(&operator_record).await.expect("token");
    WebApp {
        root,
        store,
        viewer,
        operator,
        operator_id: operator_record.id,
        client: Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .expect("client"),
        stop: Some(stop),
        backing,
    }
}

/// The value of cookie `name` set by a response (`Set-Cookie` headers), with its attributes.
pub fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// `name=value` of a `Set-Cookie` header.
pub fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_string()
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

impl WebApp {
    /// A GET with cookies (`a=b; c=d`).
    pub async fn get(&self, path: &str, cookies: &str) -> Response {
        let mut req = self.client.get(format!("{}{path}", self.root));
        if !cookies.is_empty() {
            req = req.header("cookie", cookies);
        }
        req.send().await.expect("the service answers")
    }

    /// A form POST with cookies.
    pub async fn post_form(&self, path: &str, cookies: &str, form: &[(&str, &str)]) -> Response {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = self
            .client
            .post(format!("{}{path}", self.root))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if !cookies.is_empty() {
            req = req.header("cookie", cookies);
        }
        req.send().await.expect("the service answers")
    }

    /// The sign-in form's CSRF cookie pair and field value.
    pub async fn login_csrf(&self) -> (String, String) {
        let r = self.get("/login", "").await;
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = pair(&set_cookie(&r, "thermaliq_login_csrf").expect("login csrf cookie"));
        let html = r.text().await.expect("body");
        (cookie, hidden(&html, "csrf"))
    }

    /// Signs in with `token`: the session cookie pair and the raw `Set-Cookie`.
    pub async fn sign_in(&self, token: &str) -> (String, String) {
        let (cookie, csrf) = self.login_csrf().await;
        let r = self
            .post_form("/login", &cookie, &[("token", token), ("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in");
        let raw = set_cookie(&r, "thermaliq_session").expect("session cookie");
        (pair(&raw), raw)
    }

    /// The session's CSRF token, read from a signed-in page.
    pub async fn session_csrf(&self, session: &str) -> String {
        let r = self.get("/facilities", session).await;
        assert_eq!(r.status(), StatusCode::OK);
        hidden(&r.text().await.expect("body"), "csrf")
    }
}

impl WebApp {
    /// An API call with the operator's bearer token and a JSON body; status and JSON answer.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let r = self
            .client
            .request(method, format!("{}/v1/thermaliq{path}", self.root))
            .bearer_auth(&self.operator)
            .json(body)
            .send()
            .await
            .expect("the service answers");
        let status = r.status();
        (status, r.json().await.expect("a JSON answer"))
    }

    /// The demo facility with an hour of demo readings from 2025-11-01T00:00Z and one
    /// completed calculation of that hour, through the API; its id.
    pub async fn demo_calculation(&self) -> String {
        let spec = server::demo::facility_spec().to_json();
        let (status, v) = self
            .api(reqwest::Method::PUT, "/facilities/FAC-DEMO-001", &spec)
            .await;
        assert!(status.is_success(), "{v}");
        let start_us = 1_761_955_200_000_000;
        let readings = server::demo::readings(start_us, 3_600, 4).expect("demo data");
        self.store
            .insert_readings("FAC-DEMO-001", &readings)
            .await
            .expect("readings stored");
        let body = serde_json::json!({
            "facility_id": "FAC-DEMO-001",
            "time_period": {"start": "2025-11-01T00:00:00Z", "end": "2025-11-01T01:00:00Z"},
        });
        let (status, v) = self.api(reqwest::Method::POST, "/calculate", &body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "completed", "{v}");
        v["calculation_id"].as_str().expect("an id").to_string()
    }
}
