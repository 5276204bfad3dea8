//! The real `thermaliq` binary on a temporary data directory: migrations, tokens, facility
//! apply, CSV ingest, and serve.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

fn refused(data_dir: &Path, args: &[&str]) -> String {
    let r = thermaliq(data_dir, args);
    assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stderr
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo_spec(dir: &Path) -> PathBuf {
    let file = dir.join("demo.toml");
    std::fs::write(&file, server::demo::SPEC_TOML).expect("spec written");
    file
}

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

fn demo_csv(dir: &Path, name: &str, seconds: u32, extra: &str) -> PathBuf {
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
    text.push_str(extra);
    let file = dir.join(name);
    std::fs::write(&file, text).expect("csv written");
    file
}

/// The newest migration version this binary carries, from the store's migration folder.
fn newest_migration() -> String {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations/sqlite");
    std::fs::read_dir(folder)
        .expect("the migration folder")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.split_once('_')?.0.to_string())
        })
        .max()
        .expect("migrations")
}

#[test]
fn migrations_go_up_down_and_up_again_without_losing_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let newest = newest_migration();
    assert!(ok(d, &["migrate", "current"]).contains("current version: none"));
    let up = ok(d, &["migrate", "up", "--to", "20261126000002"]);
    assert_eq!(up.lines().count(), 2, "{up}");
    let up = ok(d, &["migrate", "up"]);
    assert!(up.contains(&format!("applied {newest}")), "{up}");
    assert!(ok(d, &["migrate", "current"]).contains("status:          current"));
    assert!(ok(d, &["migrate", "up"]).contains("nothing to apply"));

    ok(d, &["facility", "apply", demo_spec(d).to_str().unwrap()]);
    let csv = demo_csv(d, "day.csv", 60, "");
    ok(
        d,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            csv.to_str().unwrap(),
        ],
    );

    let down = ok(d, &["migrate", "down"]);
    assert!(down.contains(&format!("reverted {newest}")), "{down}");
    let history = ok(d, &["migrate", "history"]);
    assert!(history.contains(&format!("{newest}  pending")), "{history}");
    assert!(ok(d, &["migrate", "current"]).contains("not current"));
    let down = ok(d, &["migrate", "down", "--to", "20261126000001"]);
    assert!(down.contains("reverted 20261126000002"), "{down}");
    assert!(down.contains("reverted 20261126000003"), "{down}");
    ok(d, &["migrate", "up"]);
    // The facility and its readings survived the round trip.
    assert!(ok(d, &["facility", "list"]).contains("FAC-DEMO-001"));
    let again = ok(
        d,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            csv.to_str().unwrap(),
        ],
    );
    assert!(
        again.contains("0 inserted, 0 corrected, 900 unchanged"),
        "{again}"
    );
    refused(d, &["migrate", "down", "--steps", "1", "--to", "1"]);
}

#[test]
fn tokens_are_created_once_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(
        d,
        &["token", "create", "--name", "ops", "--role", "operator"],
    );
    let secret = out.trim();
    assert!(secret.starts_with("tq_") && secret.len() == 67, "{secret}");
    let list = ok(d, &["token", "list"]);
    assert!(list.contains("operator") && list.contains("ops") && list.contains("active"));
    assert!(!list.contains(secret), "the secret is never listed");
    let id = list.split_whitespace().next().unwrap().to_string();
    assert!(ok(d, &["token", "revoke", &id]).contains("revoked"));
    assert!(ok(d, &["token", "list"]).contains("revoked"));
    refused(d, &["token", "revoke", "TOK-NONE"]);
    assert!(refused(d, &["token", "create", "--name", "x", "--role", "root"]).contains("--role"));
}

#[test]
fn facility_apply_is_idempotent_and_prints_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = workspace().join("examples/facilities/refinery-heater.toml");
    let out = ok(d, &["facility", "apply", file.to_str().unwrap()]);
    assert!(out.contains("created"), "{out}");
    let out = ok(d, &["facility", "apply", file.to_str().unwrap()]);
    assert!(out.contains("unchanged"), "{out}");
    let changed = std::fs::read_to_string(&file).unwrap().replacen(
        "name = ",
        "name = \"Renamed\"\nold_name = ",
        1,
    );
    let renamed = d.join("renamed.toml");
    std::fs::write(&renamed, changed).unwrap();
    // An unknown field is refused naming it; nothing changes.
    assert!(refused(d, &["facility", "apply", renamed.to_str().unwrap()]).contains("old_name"));
    let text = std::fs::read_to_string(&file).unwrap();
    let first_name = text
        .lines()
        .find(|l| l.starts_with("name = "))
        .unwrap()
        .to_string();
    std::fs::write(
        &renamed,
        text.replacen(&first_name, "name = \"Renamed heater\"", 1),
    )
    .unwrap();
    let out = ok(d, &["facility", "apply", renamed.to_str().unwrap()]);
    assert!(out.contains("updated") && out.contains("~ name"), "{out}");
    assert!(ok(d, &["facility", "list"]).contains("Renamed heater"));
    refused(
        d,
        &[
            "facility",
            "apply",
            d.join("missing.toml").to_str().unwrap(),
        ],
    );
}

#[test]
fn ingest_stores_a_file_in_batches_and_refuses_a_bad_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["facility", "apply", demo_spec(d).to_str().unwrap()]);
    // 1 500 s x 15 tags = 22 500 readings: three batches.
    let csv = demo_csv(d, "good.csv", 1_500, "");
    let out = ok(
        d,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            csv.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("22500 readings: 22500 inserted, 0 corrected, 0 unchanged, 0 rejected"),
        "{out}"
    );
    let out = ok(
        d,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.contains("22500 unchanged"), "{out}");

    let bad = demo_csv(
        d,
        "bad.csv",
        10,
        "2025-11-01T01:00:00Z,FT-101,NaN,good\n2025-11-01T01:00:00Z,XX-1,1,good\n",
    );
    let err = refused(
        d,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            bad.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("line 152: value") && err.contains("line 153: tag"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    let out = ok(
        d,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            bad.to_str().unwrap(),
            "--partial",
        ],
    );
    assert!(
        out.contains("152 readings: 0 inserted, 0 corrected, 150 unchanged, 2 rejected"),
        "{out}"
    );
    refused(
        d,
        &["ingest", "--facility", "FAC-NONE", csv.to_str().unwrap()],
    );
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn serve_answers_health_logs_json_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("THERMALIQ_LOG", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("a log line").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if v["fields"]["message"] == "listening" {
            break v["fields"]["address"].as_str().unwrap().to_string();
        }
    };
    let answer = http_get(&addr, "/v1/thermaliq/health");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"healthy\""), "{answer}");
    let line = lines.next().unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(
        v["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36),
        "{line}"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
}
