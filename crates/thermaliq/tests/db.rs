//! The real binary's `db backup` and `db restore` on SQLite and on PostgreSQL (the server named
//! by THERMALIQ_TEST_POSTGRES_URL): the restored database answers like the original, and a
//! tampered backup or a missing checksum is refused before anything is touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Where the store is: `--data-dir DIR` or `--database-url URL`.
enum At<'a> {
    Dir(&'a Path),
    Url(&'a str),
}

fn thermaliq(at: &At, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
    command.args(args).stdin(Stdio::null());
    match at {
        At::Dir(dir) => command.arg("--data-dir").arg(dir),
        At::Url(url) => command.arg("--database-url").arg(url),
    };
    // The client tools matching the test server, when scripts/test-services.sh names them.
    if let Some(bin) = std::env::var_os("THERMALIQ_TEST_PG_BIN") {
        command.env(store::PG_BIN_ENV, bin);
    }
    let output = command.output().expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(at: &At, args: &[&str]) -> String {
    let r = thermaliq(at, args);
    assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stdout
}

fn refused(at: &At, args: &[&str]) -> String {
    let r = thermaliq(at, args);
    assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stderr
}

/// A facility, a day's first minutes of its readings and two tokens.
fn fill(at: &At, dir: &Path) {
    let spec = dir.join("demo.toml");
    std::fs::write(&spec, server::demo::SPEC_TOML).unwrap();
    ok(at, &["facility", "apply", spec.to_str().unwrap()]);
    // 1761955200 s is 2025-11-01T00:00:00Z.
    let readings = server::demo::readings(1_761_955_200_000_000, 120, 1).expect("demo data");
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
    let file = dir.join("readings.csv");
    std::fs::write(&file, csv).unwrap();
    ok(
        at,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            file.to_str().unwrap(),
        ],
    );
    ok(at, &["token", "create", "--name", "ops", "--role", "admin"]);
    ok(
        at,
        &["token", "create", "--name", "grafana", "--role", "viewer"],
    );
}

/// What the CLI shows of a store.
fn listing(at: &At) -> (String, String, String) {
    (
        ok(at, &["token", "list"]),
        ok(at, &["facility", "list"]),
        ok(at, &["migrate", "history"]),
    )
}

/// Backs up `source`, restores into `target`, and checks the refusals; `untouched` is a third
/// empty store that must stay empty.
fn backup_and_restore(source: &At, target: &At, untouched: &At, dir: &Path) {
    let backup = dir.join("thermaliq.backup");
    let out = ok(source, &["db", "backup", backup.to_str().unwrap()]);
    assert!(out.contains("sha256 "), "{out}");
    let sum = std::fs::read_to_string(dir.join("thermaliq.backup.sha256")).unwrap();
    assert!(sum.ends_with("  thermaliq.backup\n"), "{sum}");
    // Never over an existing backup.
    let again = refused(source, &["db", "backup", backup.to_str().unwrap()]);
    assert!(again.contains("exists"), "{again}");

    let out = ok(target, &["db", "restore", backup.to_str().unwrap()]);
    assert!(out.contains("restored"), "{out}");
    assert_eq!(listing(target), listing(source));
    // The restored store keeps working.
    ok(
        target,
        &["token", "create", "--name", "after", "--role", "viewer"],
    );
    // Only into an empty database.
    let full = refused(target, &["db", "restore", backup.to_str().unwrap()]);
    assert!(full.contains("not empty"), "{full}");

    // One changed byte in the middle: the checksum refuses it before the store is opened.
    let tampered = dir.join("tampered.backup");
    let mut bytes = std::fs::read(&backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&tampered, bytes).unwrap();
    std::fs::copy(
        dir.join("thermaliq.backup.sha256"),
        dir.join("tampered.backup.sha256"),
    )
    .unwrap();
    let err = refused(untouched, &["db", "restore", tampered.to_str().unwrap()]);
    assert!(err.contains("SHA-256"), "{err}");
    // No checksum file: refused as well.
    let bare = dir.join("bare.backup");
    std::fs::copy(&backup, &bare).unwrap();
    let err = refused(untouched, &["db", "restore", bare.to_str().unwrap()]);
    assert!(err.contains("bare.backup.sha256"), "{err}");
}

#[test]
fn sqlite_backup_restore_and_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b, c) = (d.join("a"), d.join("b"), d.join("c"));
    fill(&At::Dir(&a), d);
    backup_and_restore(&At::Dir(&a), &At::Dir(&b), &At::Dir(&c), d);
    // The refused restores did not even create the database file.
    assert!(!c.join("thermaliq.db").exists());
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

/// Databases created on the test server for one test, dropped at the end.
struct Databases {
    server: String,
    names: Vec<String>,
}

impl Databases {
    fn create(&mut self, suffix: &str) -> String {
        let name = format!("thermaliq_cli_{}_{suffix}", std::process::id());
        psql(&self.server, &format!("CREATE DATABASE \"{name}\""));
        self.names.push(name.clone());
        match self.server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("THERMALIQ_TEST_POSTGRES_URL has no database path"),
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        for name in &self.names {
            psql(
                &self.server,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
        }
    }
}

#[test]
fn postgres_backup_restore_and_tampering() {
    let server = std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL server; \
             run `source scripts/test-services.sh` first (scripts/test.sh does)"
        )
    });
    let mut dbs = Databases {
        server,
        names: Vec::new(),
    };
    let (a, b, c) = (dbs.create("a"), dbs.create("b"), dbs.create("c"));
    let dir = tempfile::tempdir().unwrap();
    fill(&At::Url(&a), dir.path());
    backup_and_restore(&At::Url(&a), &At::Url(&b), &At::Url(&c), dir.path());
    // The refused restores left the third database empty, not even migrated.
    let current = ok(&At::Url(&c), &["migrate", "current"]);
    assert!(current.contains("current version: none"), "{current}");
}
