//! `thermaliq check integrity` with the real binary on a temporary SQLite store: calculations
//! made by the real service are clean; rows altered behind its back with SQL are named by the
//! rule they break; `--since` bounds the window; a bad `--since` is refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use rusqlite::{Connection, params};
use serde_json::Value;

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn thermaliq(data_dir: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn ok(data_dir: &Path, args: &[&str]) -> String {
    let r = thermaliq(data_dir, args);
    assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stdout
}

/// Runs the check, asserts its exit code and returns its report.
fn check(data_dir: &Path, since: &str, code: i32) -> Value {
    let r = thermaliq(data_dir, &["check", "integrity", "--since", since]);
    assert_eq!(
        r.code,
        Some(code),
        "--since {since}: {}{}",
        r.stdout,
        r.stderr
    );
    let report: Value = serde_json::from_str(&r.stdout).expect("a JSON report on stdout");
    assert_eq!(report["ok"], code == 0, "{report:#}");
    report
}

/// The rules each calculation of the report is named with, sorted.
fn named(report: &Value, id: &str) -> Vec<String> {
    let mut rules: Vec<String> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|v| v["calculation_id"] == id)
        .map(|v| v["rule"].as_str().expect("a rule").to_string())
        .collect();
    rules.sort();
    rules
}

fn demo_csv(dir: &Path, seconds: u32) -> PathBuf {
    let readings = server::demo::readings(START_US, seconds, 1).expect("demo data");
    let mut text = String::from("time,tag,value,quality\n");
    for r in &readings {
        text.push_str(&format!(
            "{},{},{},{}\n",
            server::http::format_us(r.time_us),
            r.tag,
            r.value,
            r.quality
        ));
    }
    let file = dir.join("readings.csv");
    std::fs::write(&file, text).expect("csv written");
    file
}

/// The service, stopped (SIGTERM) when dropped.
struct Service {
    child: Child,
    addr: String,
}

impl Service {
    fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// Starts the service with extra `THERMALIQ_*` variables.
    fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("THERMALIQ_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = loop {
            let line = lines.next().expect("a log line").expect("readable");
            let v: Value = serde_json::from_str(&line).expect("JSON log lines");
            if v["fields"]["message"] == "listening" {
                break v["fields"]["address"]
                    .as_str()
                    .expect("address")
                    .to_string();
            }
        };
        // Keep reading the log so the service never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }

    /// POSTs a JSON body; returns the status line and the JSON answer.
    fn post(&self, path: &str, token: &str, body: &Value) -> (String, Value) {
        let body = body.to_string();
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        write!(
            s,
            "POST /v1/thermaliq{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("request sent");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("answer read");
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head.lines().next().unwrap_or_default().to_string();
        let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        (status, json)
    }
}

impl Service {
    /// The Prometheus scrape.
    fn metrics(&self) -> String {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        write!(
            s,
            "GET /v1/thermaliq/metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .expect("request sent");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("answer read");
        answer
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A store with three calculations made by the real service, one after the other, over
/// 00:00-00:10, 00:10-00:20 and 00:20-00:30 of the demo data; returns their ids, oldest first.
fn store_with_calculations(d: &Path) -> Vec<String> {
    let spec = d.join("demo.toml");
    std::fs::write(&spec, server::demo::SPEC_TOML).expect("spec written");
    ok(
        d,
        &["facility", "apply", spec.to_str().expect("utf-8 path")],
    );
    let csv = demo_csv(d, 1_800);
    ok(
        d,
        &[
            "ingest",
            "--facility",
            server::demo::FACILITY_ID,
            csv.to_str().expect("utf-8 path"),
        ],
    );
    let token = ok(
        d,
        &["token", "create", "--name", "ops", "--role", "operator"],
    );
    let token = token.trim();
    let service = Service::start(d);
    let mut ids = Vec::new();
    for k in 0..3 {
        let start = server::http::format_us(START_US + k * 600_000_000);
        let end = server::http::format_us(START_US + (k + 1) * 600_000_000);
        let (status, answer) = service.post(
            "/calculate",
            token,
            &serde_json::json!({
                "facility_id": server::demo::FACILITY_ID,
                "time_period": {"start": start, "end": end},
            }),
        );
        assert!(status.contains(" 20"), "{status}: {answer:#}");
        assert_eq!(answer["status"], "completed", "{answer:#}");
        ids.push(
            answer["calculation_id"]
                .as_str()
                .expect("an id")
                .to_string(),
        );
    }
    drop(service);
    ids
}

fn database(d: &Path) -> Connection {
    Connection::open(d.join("thermaliq.db")).expect("the database opens")
}

fn created_at_us(db: &Connection, id: &str) -> i64 {
    db.query_row(
        "SELECT created_at_us FROM calculations WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .expect("the row exists")
}

#[test]
fn altered_inputs_are_named_and_since_bounds_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ids = store_with_calculations(d);

    let clean = check(d, "1h", 0);
    assert_eq!(clean["checked"], 3, "{clean:#}");
    assert_eq!(clean["rows"], serde_json::json!([]), "{clean:#}");
    for (rule, count) in clean["violations"].as_object().expect("violations") {
        assert_eq!(count, 0, "{rule}");
    }
    assert!(
        clean["violations"]["provenance_mismatch"].is_number()
            && clean["violations"]["efficiency_out_of_range"].is_number()
            && clean["violations"]["closure_above_limit"].is_number(),
        "{clean:#}"
    );
    assert!(clean["since"].as_str().is_some_and(|s| s.ends_with('Z')));

    let db = database(d);
    // The oldest: one aggregated input of its first unit nudged by 1 %.
    let path = "$.equipment[0].input.fuel_flow.value";
    let fuel_flow: f64 = db
        .query_row(
            "SELECT json_extract(result, ?1) FROM calculations WHERE id = ?2",
            params![path, ids[0]],
            |r| r.get(0),
        )
        .expect("the stored input has a metered fuel flow");
    let changed = db
        .execute(
            "UPDATE calculations SET result = json_set(result, ?1, ?2) WHERE id = ?3",
            params![path, fuel_flow * 1.01, ids[0]],
        )
        .expect("tampered");
    assert_eq!(changed, 1);
    let report = check(d, "1h", 1);
    assert_eq!(report["checked"], 3, "{report:#}");
    assert_eq!(report["violations"]["provenance_mismatch"], 1, "{report:#}");
    assert_eq!(
        named(&report, &ids[0]),
        ["provenance_mismatch", "result_mismatch"],
        "{report:#}"
    );
    assert!(named(&report, &ids[1]).is_empty() && named(&report, &ids[2]).is_empty());

    // The middle one: its request now claims another period.
    db.execute(
        "UPDATE calculations SET request = json_set(request, '$.time_period.end', ?1) \
         WHERE id = ?2",
        params!["2025-11-01T00:20:01Z", ids[1]],
    )
    .expect("tampered");
    let report = check(d, "1h", 1);
    assert_eq!(report["violations"]["provenance_mismatch"], 2, "{report:#}");
    assert_eq!(
        named(&report, &ids[1]),
        ["provenance_mismatch", "request_mismatch"],
        "{report:#}"
    );

    // A window starting just after a row leaves it out.
    let after = |id: &str| server::http::format_us(created_at_us(&db, id) + 1);
    let report = check(d, &after(&ids[0]), 1);
    assert_eq!(report["checked"], 2, "{report:#}");
    assert!(named(&report, &ids[0]).is_empty(), "{report:#}");
    assert!(!named(&report, &ids[1]).is_empty(), "{report:#}");
    let report = check(d, &after(&ids[1]), 0);
    assert_eq!(report["checked"], 1, "{report:#}");
}

/// The value of the sample `series` (name and labels as rendered) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn the_background_check_of_serve_publishes_violations_as_gauges() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ids = store_with_calculations(d);
    let fast = [("THERMALIQ_INTEGRITY_CHECK_INTERVAL_SECONDS", "0.2")];
    let rule = |r: &str| format!("thermaliq_integrity_violations{{rule=\"{r}\"}}");

    let service = Service::start_with(d, &fast);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let clean = loop {
        let scrape = service.metrics();
        if sample(&scrape, "thermaliq_integrity_check_timestamp_seconds").is_some() {
            break scrape;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no check ran: {scrape}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for r in [
        "provenance_mismatch",
        "efficiency_out_of_range",
        "unreadable",
    ] {
        assert_eq!(sample(&clean, &rule(r)), Some(0.0), "{r}: {clean}");
    }

    // Altered behind the running service's back: the next check counts it.
    database(d)
        .execute(
            "UPDATE calculations SET request = json_set(request, '$.time_period.end', ?1) \
             WHERE id = ?2",
            params!["2025-11-01T00:10:01Z", ids[0]],
        )
        .expect("tampered");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let scrape = service.metrics();
        if sample(&scrape, &rule("provenance_mismatch")) == Some(1.0) {
            assert_eq!(
                sample(&scrape, &rule("request_mismatch")),
                Some(1.0),
                "{scrape}"
            );
            assert_eq!(sample(&scrape, &rule("efficiency_out_of_range")), Some(0.0));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not counted: {scrape}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn numbers_out_of_range_or_contradicting_the_status_are_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ids = store_with_calculations(d);
    let db = database(d);
    // The schema refuses such rows; a damaged or hand-edited database may still hold them.
    db.execute_batch("PRAGMA ignore_check_constraints = ON")
        .expect("pragma");
    db.execute(
        "UPDATE calculations SET efficiency = 120.5 WHERE id = ?1",
        params![ids[0]],
    )
    .expect("tampered");
    db.execute(
        "UPDATE calculations SET energy_balance_percent = 12.0 WHERE id = ?1",
        params![ids[1]],
    )
    .expect("tampered");
    db.execute(
        "UPDATE calculations SET failure_reason = 'edited' WHERE id = ?1",
        params![ids[2]],
    )
    .expect("tampered");
    // Its stored roll-up too: the check rebuilds it with the service's own roll-up function.
    db.execute(
        "UPDATE calculations SET result = json_set(result, '$.summary.useful_output_W', \
         json_extract(result, '$.summary.useful_output_W') * 1.001) WHERE id = ?1",
        params![ids[2]],
    )
    .expect("tampered");
    let report = check(d, "7d", 1);
    assert_eq!(report["checked"], 3, "{report:#}");
    let v = &report["violations"];
    assert_eq!(v["efficiency_out_of_range"], 1, "{report:#}");
    assert_eq!(v["closure_above_limit"], 1, "{report:#}");
    assert_eq!(v["status_inconsistent"], 1, "{report:#}");
    assert_eq!(v["provenance_mismatch"], 0, "{report:#}");
    // The first two also contradict their result documents and their recalculation.
    assert_eq!(
        named(&report, &ids[0]),
        ["efficiency_out_of_range", "result_mismatch"]
    );
    assert_eq!(
        named(&report, &ids[1]),
        ["closure_above_limit", "result_mismatch"]
    );
    assert_eq!(
        named(&report, &ids[2]),
        ["result_mismatch", "status_inconsistent"]
    );
    let detail = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["rule"] == "efficiency_out_of_range")
        .expect("the row")["detail"]
        .clone();
    assert!(
        detail.as_str().is_some_and(|d| d.contains("120.5")),
        "{detail}"
    );
    let summary = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["calculation_id"] == ids[2].as_str() && r["rule"] == "result_mismatch")
        .expect("the altered roll-up is named")["detail"]
        .clone();
    assert!(
        summary
            .as_str()
            .is_some_and(|d| d.contains("summary.useful_output_W")),
        "{summary}"
    );
}

#[test]
fn a_bad_since_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    for since in ["banana", "0m", "1.5h", "2025-13-01T00:00:00Z"] {
        let r = thermaliq(dir.path(), &["check", "integrity", "--since", since]);
        assert_eq!(r.code, Some(2), "{since}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("--since") && r.stderr.contains(since),
            "{since}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    // A store whose schema is not there is not migrated behind the operator's back.
    let r = thermaliq(dir.path(), &["check", "integrity", "--since", "1h"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not current"), "{}", r.stderr);
}
