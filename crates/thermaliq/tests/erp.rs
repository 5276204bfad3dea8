//! The ERP export end to end: a real `thermaliq serve` delivering to a real HTTP receiver
//! (crates/connectors/tests/peers/erp_receiver.py, which verifies each signature the
//! documented way). A completed calculation is delivered; with the receiver down the next is
//! kept in the outbox across a service restart, and delivered once the receiver is back; no
//! key is lost, and a key delivered twice is the same key.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

/// How long any expected log line, delivery or exit may take.
const PATIENCE: Duration = Duration::from_secs(30);

const KEY: &str = "erp-e2e-signing-key-0123456789";

fn thermaliq(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The demo facility with two hours of its 1 Hz meter data from [`START_US`].
fn demo_facility(data_dir: &Path) {
    let spec = data_dir.join("demo.toml");
    std::fs::write(&spec, server::demo::SPEC_TOML).unwrap();
    thermaliq(data_dir, &["facility", "apply", spec.to_str().unwrap()]);
    let readings = server::demo::readings(START_US, 7_200, 1).expect("demo data");
    let mut csv = String::from("time,tag,value,quality\n");
    for r in &readings {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            server::http::format_us(r.time_us),
            r.tag,
            r.value,
            r.quality
        ));
    }
    let file = data_dir.join("readings.csv");
    std::fs::write(&file, csv).unwrap();
    thermaliq(
        data_dir,
        &[
            "ingest",
            "--facility",
            server::demo::FACILITY_ID,
            file.to_str().unwrap(),
        ],
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The receiver process; its deliveries are recorded in a file that outlives it.
struct ErpReceiver {
    child: Option<Child>,
    port: u16,
    key_file: PathBuf,
    log: PathBuf,
}

impl ErpReceiver {
    fn new(dir: &Path) -> Self {
        let key_file = dir.join("erp.key");
        std::fs::write(&key_file, KEY).unwrap();
        Self {
            child: None,
            port: free_port(),
            key_file,
            log: dir.join("erp-deliveries.jsonl"),
        }
    }

    fn start(&mut self) {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/tests/peers/erp_receiver.py");
        let python =
            std::env::var("THERMALIQ_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mut child = Command::new(python)
            .arg(&script)
            .arg(self.port.to_string())
            .arg(&self.key_file)
            .arg(&self.log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the receiver did not start");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn deliveries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn accepted(&self) -> BTreeSet<String> {
        self.deliveries()
            .iter()
            .filter(|d| d["status"] == 200)
            .map(|d| d["key"].as_str().unwrap().to_string())
            .collect()
    }

    fn wait_for(&self, keys: &BTreeSet<String>) {
        let deadline = Instant::now() + PATIENCE;
        while !keys.is_subset(&self.accepted()) {
            assert!(
                Instant::now() < deadline,
                "not delivered: {keys:?}, delivered {:?}",
                self.accepted()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ErpReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `thermaliq serve` process and its JSON log lines.
struct Served {
    child: Child,
    logs: Receiver<Value>,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(data_dir: &Path, config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
            .args(["serve", "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .env("THERMALIQ_ERP_SIGNING_KEY", KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, logs) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut served = Self {
            child,
            logs,
            addr: String::new(),
        };
        let listening = served.wait_for_log("listening", |_| true);
        served.addr = listening["fields"]["address"].as_str().unwrap().to_string();
        served
    }

    /// The next log line with `message` that `also` accepts, skipping others.
    fn wait_for_log(&self, message: &str, also: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(v) if v["fields"]["message"] == message && also(&v) => return v,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no {message:?} log line"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the process ended before logging {message:?}")
                }
            }
        }
    }

    fn request(&self, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Calculates `minutes` of the demo data from minute `start`; its completed document.
    fn calculate(&self, token: &str, start: i64, minutes: i64) -> Value {
        let t = |m: i64| server::http::format_us(START_US + m * 60_000_000);
        let body = format!(
            r#"{{"facility_id":"{}","time_period":{{"start":"{}","end":"{}"}}}}"#,
            server::demo::FACILITY_ID,
            t(start),
            t(start + minutes)
        );
        let started = Instant::now();
        let (status, doc) = self.request("POST", "/v1/thermaliq/calculate", token, &body);
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["status"], "completed", "{doc}");
        // The API does not wait for the ERP, down or not.
        assert!(started.elapsed() < Duration::from_secs(10));
        doc
    }

    fn stop(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "serve exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The outbox row of a calculation in the SQLite database: (attempts, delivered).
fn outbox_row(data_dir: &Path, id: &str) -> (i64, bool) {
    let db = rusqlite::Connection::open(data_dir.join("thermaliq.db")).unwrap();
    db.query_row(
        "SELECT attempts, delivered_at_us IS NOT NULL FROM erp_outbox WHERE calculation_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn calculations_reach_the_erp_through_an_outage_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    demo_facility(&data);
    let token = thermaliq(
        &data,
        &["token", "create", "--name", "erp", "--role", "operator"],
    )
    .trim()
    .to_string();
    let mut receiver = ErpReceiver::new(dir.path());
    receiver.start();
    let config = dir.path().join("thermaliq.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:0\"\nerp_url = \"http://127.0.0.1:{}/erp/calculations\"\n\
             erp_timeout_seconds = 2\nerp_retry_max_seconds = 1\n",
            receiver.port
        ),
    )
    .unwrap();

    // Up: a completed calculation is delivered, signed, with its HHV efficiency.
    let served = Served::start(&data, &config);
    let first = served.calculate(&token, 0, 60);
    let first_id = first["calculation_id"].as_str().unwrap().to_string();
    served.wait_for_log("ERP connected", |v| {
        v["fields"]["calculation_id"] == first_id
    });
    receiver.wait_for(&BTreeSet::from([first_id.clone()]));

    // Down: the next one is kept, retried, and survives a restart of the service.
    receiver.stop();
    let second = served.calculate(&token, 60, 60);
    let second_id = second["calculation_id"].as_str().unwrap().to_string();
    served.wait_for_log("ERP failed", |v| v["fields"]["calculation_id"] == second_id);
    served.stop();
    let (attempts, delivered) = outbox_row(&data, &second_id);
    assert!(attempts >= 1 && !delivered, "{attempts} {delivered}");

    let served = Served::start(&data, &config);
    served.wait_for_log("ERP failed", |v| v["fields"]["calculation_id"] == second_id);
    // The integration status shows the outage and the waiting row.
    let (code, status) = served.request("GET", "/v1/thermaliq/integrations/status", &token, "");
    assert_eq!(code, 200, "{status:#}");
    assert_eq!(status["status"], "degraded", "{status:#}");
    assert_eq!(status["erp"]["configured"], true, "{status:#}");
    assert_eq!(status["erp"]["worker"]["health"], "down", "{status:#}");
    assert_eq!(status["erp"]["pending"], 1, "{status:#}");
    assert!(status["erp"]["last_error"].is_string(), "{status:#}");
    receiver.start();
    served.wait_for_log("ERP connected", |v| {
        v["fields"]["calculation_id"] == second_id
    });
    let third = served.calculate(&token, 30, 60);
    let third_id = third["calculation_id"].as_str().unwrap().to_string();
    let all = BTreeSet::from([first_id.clone(), second_id.clone(), third_id.clone()]);
    receiver.wait_for(&all);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, status) = served.request("GET", "/v1/thermaliq/integrations/status", &token, "");
        if status["erp"]["pending"] == 0 {
            assert_eq!(status["erp"]["worker"]["health"], "up", "{status:#}");
            assert_eq!(status["status"], "healthy", "{status:#}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    served.stop();

    // Nothing lost, nothing else sent, every delivery signed; a repeat has the same key.
    assert_eq!(receiver.accepted(), all);
    for (id, doc) in [
        (&first_id, &first),
        (&second_id, &second),
        (&third_id, &third),
    ] {
        let (_, delivered) = outbox_row(&data, id);
        assert!(delivered, "{id}");
        let body = receiver
            .deliveries()
            .into_iter()
            .find(|d| d["key"] == id.as_str() && d["status"] == 200)
            .unwrap()["body"]
            .clone();
        assert_eq!(body["calculation_id"], id.as_str());
        assert_eq!(body["facility_id"], server::demo::FACILITY_ID);
        assert_eq!(body["efficiency"]["basis"], "HHV");
        assert_eq!(body["efficiency"]["value_percent"], doc["efficiency"]);
        assert_eq!(body["provenance_hash"], doc["provenance"]["sha256"]);
    }
    for d in receiver.deliveries() {
        assert_eq!(d["signature_ok"], true, "{d}");
        assert!(all.contains(d["key"].as_str().unwrap()), "{d}");
    }
}
