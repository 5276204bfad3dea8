//! `GET /calculations/export` through the real router over HTTP, on SQLite and on a fresh
//! database of the PostgreSQL server named by THERMALIQ_TEST_POSTGRES_URL: CSV and JSON, the
//! filters, paging past one store page, bearer auth, and errors naming the parameter.

mod api_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use api_support::{HOUR_US, START_US, json_of};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use server::http::export::CSV_COLUMNS;
use server::http::{Application, auth, format_us, parse_rfc3339_us};
use server::settings::Settings;
use store::{CalculationRecord, CalculationStatus, FacilityRecord, Role, Store};

/// A running service and what the checks need of it.
struct Target {
    base: String,
    client: Client,
    store: Store,
    viewer: String,
    operator: String,
}

impl Target {
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("the service answers")
    }

    /// A CSV export: its header and rows, after checking status and content type.
    async fn csv(&self, query: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
        let r = self
            .get(
                &format!("/calculations/export?format=csv{query}"),
                Some(&self.viewer),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv"),
            "{:?}",
            r.headers()
        );
        let text = r.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader.records().map(Result::unwrap).collect();
        (header, rows)
    }

    async fn json(&self, query: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/calculations/export?format=json{query}"),
                Some(&self.viewer),
            )
            .await;
        let (status, v) = json_of(r).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v.as_array().expect("an array").clone()
    }

    async fn refused(&self, query: &str) -> (StatusCode, Value) {
        json_of(
            self.get(&format!("/calculations/export?{query}"), Some(&self.viewer))
                .await,
        )
        .await
    }
}

fn synthetic(facility_id: &str, k: i64, status: CalculationStatus) -> CalculationRecord {
    let completed = status == CalculationStatus::Completed;
    CalculationRecord {
        id: store::new_calculation_id(),
        facility_id: facility_id.into(),
        period_start_us: START_US,
        period_end_us: START_US + HOUR_US,
        status,
        efficiency: completed.then_some(80.0 + (k % 10) as f64),
        energy_balance_percent: completed.then_some(1.0),
        provenance_hash: format!("{k:064x}"),
        input_hash: format!("{k:064x}"),
        method_version: "1.0.0".into(),
        service_version: "0.1.0".into(),
        equipment_ids: Vec::new(),
        request: json!({}),
        result: json!({}),
        failure_reason: (!completed).then(|| "closure 11 % above 10 %".to_string()),
        // Before the real calculations, which are created now.
        created_at_us: START_US + k,
    }
}

fn column(header: &[String], row: &csv::StringRecord, name: &str) -> String {
    let i = header.iter().position(|c| c == name).expect("column");
    row[i].to_string()
}

async fn exercise(t: &Target) {
    // Two real calculations of the demo facility, with their loss breakdowns.
    let spec = server::demo::facility_spec().to_json();
    let r = t
        .client
        .put(format!("{}/facilities/FAC-DEMO-001", t.base))
        .bearer_auth(&t.operator)
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let readings = server::demo::readings(START_US, 7_200, 1).unwrap();
    t.store
        .insert_readings("FAC-DEMO-001", &readings)
        .await
        .unwrap();
    let mut documents = Vec::new();
    for hour in 0..2 {
        let body = json!({"facility_id": "FAC-DEMO-001", "time_period": {
            "start": format_us(START_US + hour * HOUR_US),
            "end": format_us(START_US + (hour + 1) * HOUR_US)}});
        let r = t
            .client
            .post(format!("{}/calculate", t.base))
            .bearer_auth(&t.operator)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, doc) = json_of(r).await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        assert_eq!(doc["status"], "completed", "{doc}");
        documents.push(doc);
    }
    // 150 more, older, of another facility, and one failed: more than one store page.
    t.store
        .put_facility(&FacilityRecord {
            id: "FAC-BULK".into(),
            name: "Bulk".into(),
            time_zone: "UTC".into(),
            spec: json!({}),
            equipment_ids: Vec::new(),
            updated_at_us: START_US,
        })
        .await
        .unwrap();
    for k in 0..150 {
        t.store
            .insert_calculation(&synthetic("FAC-BULK", k, CalculationStatus::Completed))
            .await
            .unwrap();
    }
    let failed = synthetic("FAC-BULK", 150, CalculationStatus::Failed);
    t.store.insert_calculation(&failed).await.unwrap();

    // Bearer auth like GET /calculations.
    let r = t.get("/calculations/export?format=csv", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (header, rows) = t.csv("").await;
    assert_eq!(header, CSV_COLUMNS);
    assert_eq!(rows.len(), 153);
    let created: Vec<i64> = rows
        .iter()
        .map(|r| parse_rfc3339_us(&column(&header, r, "created_at")).expect("RFC 3339"))
        .collect();
    assert!(created.is_sorted(), "oldest first");
    assert_eq!(
        column(&header, &rows[150], "calculation_id"),
        failed.id,
        "the failed one is the newest synthetic"
    );
    assert_eq!(column(&header, &rows[150], "efficiency_percent_hhv"), "");
    assert!(!column(&header, &rows[150], "failure_reason").is_empty());

    // The real ones: the figures of their documents, losses summed over the units.
    let (header, rows) = t.csv("&facility_id=FAC-DEMO-001&status=completed").await;
    assert_eq!(rows.len(), 2);
    for (row, doc) in rows.iter().zip(&documents) {
        assert_eq!(
            column(&header, row, "calculation_id"),
            doc["calculation_id"]
        );
        let efficiency: f64 = column(&header, row, "efficiency_percent_hhv")
            .parse()
            .unwrap();
        assert_eq!(efficiency, doc["efficiency"].as_f64().unwrap());
        assert_eq!(
            column(&header, row, "provenance_hash"),
            doc["provenance"]["sha256"]
        );
        let fuel = doc["summary"]["fuel_input_W"]["HHV"].as_f64().unwrap();
        let dry: f64 = doc["equipment"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|u| u["result"]["energy_balance"]["losses"].as_array().unwrap())
            .filter(|l| l["name"] == "dry_flue_gas")
            .map(|l| l["W"]["HHV"].as_f64().unwrap())
            .sum();
        assert!(dry > 0.0);
        let exported: f64 = column(&header, row, "loss_dry_flue_gas_percent_hhv")
            .parse()
            .unwrap();
        assert!(
            (exported - 100.0 * dry / fuel).abs() < 1e-9,
            "{exported} vs {}",
            100.0 * dry / fuel
        );
    }

    let items = t.json("&facility_id=FAC-DEMO-001").await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["calculation_id"], documents[0]["calculation_id"]);
    assert_eq!(items[0]["efficiency"]["basis"], "HHV");
    assert_eq!(
        items[0]["efficiency"]["value_percent"],
        documents[0]["efficiency"]
    );
    assert_eq!(items[0]["losses"]["basis"], "HHV");
    assert!(!items[0]["losses"]["items"].as_array().unwrap().is_empty());
    assert_eq!(
        t.json("").await.len(),
        153,
        "the JSON array spans pages too"
    );
    let failed_only = t.json("&status=failed").await;
    assert_eq!(failed_only.len(), 1);
    assert_eq!(failed_only[0]["calculation_id"], failed.id);
    // Periods overlapping [from, to): only the second hour.
    let second = t
        .json(&format!(
            "&facility_id=FAC-DEMO-001&from={}",
            format_us(START_US + 3 * HOUR_US / 2)
        ))
        .await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["calculation_id"], documents[1]["calculation_id"]);
    // Nothing matches: an empty array, a header alone.
    assert!(t.json("&facility_id=FAC-NONE").await.is_empty());
    let (header, rows) = t.csv("&facility_id=FAC-NONE").await;
    assert_eq!((header.len(), rows.len()), (CSV_COLUMNS.len(), 0));

    for (query, field) in [
        ("format=xml", "format"),
        ("format=csv&status=done", "status"),
        ("from=yesterday", "from"),
        ("to=2025-13-01T00:00:00Z", "to"),
        ("from=2025-11-02T00:00:00Z&to=2025-11-01T00:00:00Z", "to"),
    ] {
        let (status, v) = t.refused(query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_on_sqlite() {
    connectors::install_tls_provider();
    let app = api_support::spawn().await;
    exercise(&Target {
        base: app.base.clone(),
        client: app.client.clone(),
        store: app.store.clone(),
        viewer: app.viewer.clone(),
        operator: app.operator.clone(),
    })
    .await;
}

/// `psql` from THERMALIQ_TEST_PG_BIN or PATH.
fn psql(url: &str, sql: &str) {
    let program = std::env::var_os("THERMALIQ_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from("psql"), |d| Path::new(&d).join("psql"));
    let status = Command::new(program)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql {sql}");
}

/// A database of its own on the test server, dropped at the end even when the test fails.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn create() -> Self {
        let server = std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL \
                 server; run `source scripts/test-services.sh` first (scripts/test.sh does)"
            )
        });
        let name = format!("thermaliq_export_{}", std::process::id());
        psql(&server, &format!("DROP DATABASE IF EXISTS \"{name}\""));
        psql(&server, &format!("CREATE DATABASE \"{name}\""));
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("THERMALIQ_TEST_POSTGRES_URL has no database path"),
        };
        Self { server, name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_on_postgres() {
    connectors::install_tls_provider();
    let db = Database::create();
    let store = Store::open(&db.url).await.expect("store opens");
    store.migrate_up(None).await.expect("migrations apply");
    let mut tokens = Vec::new();
    for role in [Role::Viewer, Role::Operator] {
        let (secret, record) = auth::new_token(role.as_str(), role, None);
        store.insert_token(&record).await.unwrap();
        tokens.push(secret);
    }
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        token_cache_ttl: std::time::Duration::ZERO,
        ..Settings::default()
    };
    let app = Application::build(settings, store.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{}/v1/thermaliq", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    exercise(&Target {
        base,
        client: Client::new(),
        store: store.clone(),
        viewer: tokens[0].clone(),
        operator: tokens[1].clone(),
    })
    .await;
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    store.close().await;
}
