//! The ERP export against a real HTTP receiver (tests/peers/erp_receiver.py, Python's
//! http.server, started by each test on loopback) that verifies the signature the documented
//! way and records every delivery, over a real SQLite store. Uses THERMALIQ_TEST_PYTHON when
//! set (`source scripts/test-peers.sh`), else `python3`: the receiver needs the standard
//! library only.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use connectors::erp::{ERP, ErpConfig, ErpExporter};
use connectors::modbus::Health;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use store::{CalculationRecord, CalculationStatus, FacilityRecord, Store};

const FACILITY: &str = "FAC-ERP";
const KEY: &[u8] = b"erp-test-signing-key-0123456789";
/// 2025-11-01T00:00:00Z, µs.
const T0_US: i64 = 1_761_955_200_000_000;
const PATIENCE: Duration = Duration::from_secs(30);

fn python() -> String {
    std::env::var("THERMALIQ_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("the test's metrics recorder installs")
    })
}

/// The value of a metric series whose labels include every `labels` pair.
fn metric(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    recorder()
        .render()
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The receiver process and where it records deliveries.
struct Receiver {
    child: Option<Child>,
    port: u16,
    key_file: PathBuf,
    log: PathBuf,
}

impl Receiver {
    fn start(dir: &Path, key: &[u8], fail: Option<u16>) -> Self {
        let key_file = dir.join("receiver.key");
        std::fs::write(&key_file, key).expect("key written");
        let mut receiver = Self {
            child: None,
            port: free_port(),
            key_file,
            log: dir.join("deliveries.jsonl"),
        };
        receiver.restart(fail);
        receiver
    }

    /// Starts the process (again) on the same port, log and key.
    fn restart(&mut self, fail: Option<u16>) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/erp_receiver.py");
        let mut command = Command::new(python());
        command
            .arg(&script)
            .arg(self.port.to_string())
            .arg(&self.key_file)
            .arg(&self.log);
        if let Some(status) = fail {
            command.arg(status.to_string());
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the receiver says ready");
        assert_eq!(line.trim(), "ready", "the receiver did not start");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/erp/calculations", self.port)
    }

    /// Makes every delivery fail with `status`, or succeed again with `None`.
    fn set_fail(&self, status: Option<u16>) {
        let body = json!({ "fail": status }).to_string();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        write!(
            s,
            "POST /control HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: \
             application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("written");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("answered");
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    }

    /// Every delivery received so far, in order.
    fn deliveries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Keys the receiver answered 200.
    fn accepted(&self) -> BTreeSet<String> {
        self.deliveries()
            .iter()
            .filter(|d| d["status"] == 200)
            .map(|d| d["key"].as_str().expect("key").to_string())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn store_with_facility(dir: &Path) -> Store {
    let store = Store::open_in_dir(dir).await.expect("store opens");
    store.migrate_up(None).await.expect("migrations apply");
    store
        .put_facility(&FacilityRecord {
            id: FACILITY.into(),
            name: "ERP test plant".into(),
            time_zone: "UTC".into(),
            spec: json!({}),
            equipment_ids: vec!["BLR-1".into()],
            updated_at_us: T0_US,
        })
        .await
        .expect("facility stored");
    store
}

/// Stores a calculation, completed with `efficiency` or failed without one; returns its id.
async fn calculation(store: &Store, efficiency: Option<f64>) -> String {
    let id = store::new_calculation_id();
    let completed = efficiency.is_some();
    store
        .insert_calculation(&CalculationRecord {
            id: id.clone(),
            facility_id: FACILITY.into(),
            period_start_us: T0_US,
            period_end_us: T0_US + 3_600_000_000,
            status: if completed {
                CalculationStatus::Completed
            } else {
                CalculationStatus::Failed
            },
            efficiency,
            energy_balance_percent: efficiency.map(|_| 1.25),
            provenance_hash: "ab".repeat(32),
            input_hash: "ab".repeat(32),
            method_version: "1.0.0".into(),
            service_version: "0.1.0".into(),
            equipment_ids: vec!["BLR-1".into()],
            request: json!({}),
            result: json!({}),
            failure_reason: (!completed).then(|| "closure 12 % above 10 %".to_string()),
            created_at_us: store::now_us(),
        })
        .await
        .expect("calculation stored");
    id
}

/// The document the test sends: enough for the receiver to check the key against the body.
fn document(record: &CalculationRecord) -> Value {
    json!({
        "calculation_id": record.id,
        "facility_id": record.facility_id,
        "efficiency": {"value_percent": record.efficiency, "basis": "HHV"},
    })
}

fn exporter(store: &Store, receiver: &Receiver) -> ErpExporter {
    ErpExporter::start(
        store.clone(),
        ErpConfig {
            url: receiver.url(),
            signing_key: KEY.to_vec(),
            timeout: Duration::from_secs(2),
            retry_max: Duration::from_secs(1),
            retention: Duration::from_secs(30 * 86_400),
        },
        Arc::new(document),
    )
    .expect("the exporter starts")
}

/// Polls `done` every 100 ms until it holds; panics naming `what` after [`PATIENCE`].
async fn eventually<F: AsyncFn() -> bool>(what: &str, done: F) {
    let deadline = Instant::now() + PATIENCE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn source(receiver: &Receiver) -> String {
    format!("127.0.0.1:{}", receiver.port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_completed_calculation_is_delivered_signed_once() {
    recorder();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_facility(dir.path()).await;
    let receiver = Receiver::start(dir.path(), KEY, None);
    let mut ids = BTreeSet::new();
    for e in [81.5, 84.25, 90.0] {
        ids.insert(calculation(&store, Some(e)).await);
    }
    let failed = calculation(&store, None).await;
    let erp = exporter(&store, &receiver);
    eventually("the three are accepted", async || {
        receiver.accepted() == ids
    })
    .await;
    // One made while the export runs goes too, within the poll interval.
    let late = calculation(&store, Some(77.0)).await;
    ids.insert(late);
    eventually("the late one is accepted", async || {
        receiver.accepted() == ids
    })
    .await;

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 4, "no repeats: {deliveries:?}");
    for d in &deliveries {
        assert_eq!(d["signature_ok"], true, "{d}");
        assert_eq!(d["duplicate"], false, "{d}");
        assert_eq!(d["body"]["facility_id"], FACILITY);
        assert_eq!(d["body"]["efficiency"]["basis"], "HHV");
    }
    assert!(
        !receiver.accepted().contains(&failed),
        "failed ones are not sent"
    );
    // Marked delivered once the exporter has the receiver's answer, a moment after the
    // receiver has recorded the delivery.
    eventually("nothing is pending", async || {
        store.outbox_stats().await.unwrap().pending == 0
    })
    .await;
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 0));
    assert!(stats.last_delivered_at_us.is_some());
    let status = erp.status_handle().get();
    assert_eq!((status.connector_type, status.health), (ERP, Health::Up));
    assert_eq!(status.source, source(&receiver));
    let src = source(&receiver);
    let labels = [("connector_type", ERP), ("source", src.as_str())];
    assert_eq!(metric("thermaliq_connector_health", &labels), Some(1.0));
    assert_eq!(
        metric("thermaliq_connector_requests_total", &labels),
        Some(4.0)
    );
    erp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_then_stopped_erp_loses_nothing() {
    recorder();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_facility(dir.path()).await;
    let mut receiver = Receiver::start(dir.path(), KEY, Some(503));
    let first = [
        calculation(&store, Some(82.0)).await,
        calculation(&store, Some(83.0)).await,
    ];
    let erp = exporter(&store, &receiver);
    let src = source(&receiver);
    let labels = [("connector_type", ERP), ("source", src.as_str())];

    // 503: retried with backoff, health 0, the error visible on the rows and in the status.
    eventually("each row failed twice", async || {
        let mut twice = true;
        for id in &first {
            let e = store.outbox_entry(id).await.unwrap().unwrap();
            twice &= e.attempts >= 2 && e.last_error.as_deref().is_some_and(|m| m.contains("503"));
        }
        twice
    })
    .await;
    assert_eq!(erp.status().health, Health::Down);
    assert_eq!(metric("thermaliq_connector_health", &labels), Some(0.0));
    let http_errors = [
        ("connector_type", ERP),
        ("source", src.as_str()),
        ("error_type", "http_status"),
    ];
    assert!(metric("thermaliq_connector_errors_total", &http_errors).unwrap_or(0.0) >= 4.0);
    assert_eq!(store.outbox_stats().await.unwrap().pending, 2);

    receiver.set_fail(None);
    eventually("both are accepted", async || receiver.accepted().len() == 2).await;
    eventually("the export is up again", async || {
        erp.status().health == Health::Up
    })
    .await;

    // The receiver goes away; calculations made meanwhile wait in the outbox.
    receiver.stop();
    let second = [
        calculation(&store, Some(85.0)).await,
        calculation(&store, Some(86.0)).await,
    ];
    eventually("the new rows failed to connect", async || {
        let mut failed = true;
        for id in &second {
            let e = store.outbox_entry(id).await.unwrap().unwrap();
            failed &= e.attempts >= 1 && e.delivered_at_us.is_none();
        }
        failed
    })
    .await;
    let connection_errors = [
        ("connector_type", ERP),
        ("source", src.as_str()),
        ("error_type", "connection"),
    ];
    assert!(metric("thermaliq_connector_errors_total", &connection_errors).unwrap_or(0.0) >= 1.0);
    assert_eq!(erp.status().health, Health::Down);
    assert_eq!(store.outbox_stats().await.unwrap().pending, 2);

    receiver.restart(None);
    let all: BTreeSet<String> = first.iter().chain(&second).cloned().collect();
    eventually("all four are accepted", async || receiver.accepted() == all).await;
    // The exporter marks a row delivered once it has the receiver's answer, a moment after the
    // receiver has recorded it.
    eventually("the outbox is empty", async || {
        store.outbox_stats().await.unwrap().pending == 0
    })
    .await;
    // At least once: a key may come again, never a key that was not queued, and every
    // delivery was signed.
    for d in receiver.deliveries() {
        assert!(all.contains(d["key"].as_str().unwrap()), "{d}");
        assert_eq!(d["signature_ok"], true, "{d}");
    }
    erp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_recorded_as_failed_and_not_retried() {
    recorder();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_facility(dir.path()).await;
    // The receiver holds another key: it answers 401 to every signature.
    let receiver = Receiver::start(dir.path(), b"not-the-same-key-0123456789", None);
    let id = calculation(&store, Some(80.0)).await;
    let erp = exporter(&store, &receiver);
    eventually("the row is failed", async || {
        let e = store.outbox_entry(&id).await.unwrap().unwrap();
        e.failed_at_us.is_some()
    })
    .await;
    // Several retry periods later, still one attempt.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let entry = store.outbox_entry(&id).await.unwrap().unwrap();
    assert_eq!(entry.attempts, 1);
    assert!(
        entry
            .last_error
            .as_deref()
            .is_some_and(|m| m.contains("401")),
        "{entry:?}"
    );
    assert_eq!(receiver.deliveries().len(), 1);
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 1));
    assert!(stats.last_error.is_some_and(|m| m.contains("401")));
    let status = erp.status();
    assert_eq!(status.health, Health::Down);
    assert!(
        !status.circuit_open,
        "a refusal is an answer, not an outage"
    );
    let src = source(&receiver);
    let rejected = [
        ("connector_type", ERP),
        ("source", src.as_str()),
        ("error_type", "rejected"),
    ];
    assert_eq!(
        metric("thermaliq_connector_errors_total", &rejected),
        Some(1.0)
    );
    erp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_send_each_row_once() {
    recorder();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_facility(dir.path()).await;
    // A second process's view of the same database file.
    let other = Store::open_in_dir(dir.path()).await.unwrap();
    let receiver = Receiver::start(dir.path(), KEY, None);
    let mut ids = BTreeSet::new();
    for k in 0..20 {
        ids.insert(calculation(&store, Some(70.0 + f64::from(k))).await);
    }
    let a = exporter(&store, &receiver);
    let b = exporter(&other, &receiver);
    eventually("all twenty are accepted", async || {
        receiver.accepted() == ids
    })
    .await;
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for d in receiver.deliveries() {
        *per_key
            .entry(d["key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
    a.shutdown().await;
    b.shutdown().await;
}

#[test]
fn a_configuration_without_endpoint_or_key_is_refused_naming_the_key() {
    let good = ErpConfig {
        url: "https://erp.example.com/hooks/thermaliq".into(),
        signing_key: KEY.to_vec(),
        timeout: Duration::from_secs(10),
        retry_max: Duration::from_secs(300),
        retention: Duration::from_secs(86_400),
    };
    assert_eq!(
        connectors::erp::source_name(&good.validate().unwrap()),
        "erp.example.com:443"
    );
    let shown = format!("{good:?}");
    assert!(!shown.contains("erp-test-signing-key"), "{shown}");
    for (config, field) in [
        (
            ErpConfig {
                url: "ftp://erp.example.com/".into(),
                ..good.clone()
            },
            "erp_url",
        ),
        (
            ErpConfig {
                signing_key: Vec::new(),
                ..good.clone()
            },
            "erp_signing_key",
        ),
        (
            ErpConfig {
                timeout: Duration::ZERO,
                ..good.clone()
            },
            "erp_timeout_seconds",
        ),
    ] {
        assert_eq!(config.validate().unwrap_err().field, field);
    }
}
