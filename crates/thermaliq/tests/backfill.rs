//! `thermaliq backfill` with the real binary against a real InfluxDB 1.x (`influxd` from
//! Debian's `influxdb`, on free loopback ports): a run killed with SIGKILL and run again ends
//! with exactly the rows of an uninterrupted run, on SQLite and on PostgreSQL (the latter needs
//! THERMALIQ_TEST_POSTGRES_URL); bad flags are refused naming the flag; a historian that is
//! down fails the run (exit 1) and keeps the progress.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use store::{BackfillProgress, Quality, Store};

const FACILITY: &str = "FAC-REF-002";
const FUEL: &str = "FI-1001";
const INLET: &str = "TI-1011";
/// 2025-01-01T00:00:00Z, µs.
const T0: i64 = 1_735_689_600_000_000;
const FROM: &str = "2025-01-01T00:00:00Z";
const TO: &str = "2025-01-01T03:00:00Z";
const SPAN_US: i64 = 3 * 3_600_000_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.1 request on a fresh connection; the status code and body.
fn http(port: u16, method: &str, target: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// An `influxd` bound to loopback with its data in `dir`.
struct Influxd {
    port: u16,
    child: Option<Child>,
}

impl Influxd {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let config = dir.join("influxdb.conf");
        // An empty file: defaults plus the variables below, never /etc/influxdb's file.
        std::fs::write(&config, "").expect("config written");
        let child = Command::new("influxd")
            .args(["run", "-config"])
            .arg(&config)
            .env(
                "INFLUXDB_BIND_ADDRESS",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("INFLUXDB_HTTP_BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .env("INFLUXDB_META_DIR", dir.join("meta"))
            .env("INFLUXDB_DATA_DIR", dir.join("data"))
            .env("INFLUXDB_DATA_WAL_DIR", dir.join("wal"))
            .env("INFLUXDB_REPORTING_DISABLED", "true")
            .env("INFLUXDB_HTTP_LOG_ENABLED", "false")
            .env("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("influxd.log")).expect("log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("influxd does not start ({e}): `apt-get install influxdb` (Debian)")
            });
        let influx = Self {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(port, "GET", "/ping", "").map(|r| r.0) != Some(204) {
            assert!(Instant::now() < deadline, "influxd did not answer /ping");
            std::thread::sleep(Duration::from_millis(50));
        }
        influx
    }

    fn write(&self, lines: &[String]) {
        for part in lines.chunks(5_000) {
            let r = http(
                self.port,
                "POST",
                "/write?db=plant&precision=u",
                &part.join("\n"),
            );
            assert_eq!(r.as_ref().map(|r| r.0), Some(204), "write: {r:?}");
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The historian's content: two series at 1 Hz over the period, one with a quality field,
/// plus points just outside it. Returns the readings expected in the store.
fn fill(influx: &Influxd) -> Vec<(String, i64, u64, Quality)> {
    let r = http(
        influx.port,
        "POST",
        "/query?q=CREATE%20DATABASE%20plant",
        "",
    );
    assert_eq!(r.as_ref().map(|r| r.0), Some(200), "{r:?}");
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for i in 0..(SPAN_US / 1_000_000) {
        let t = T0 + i * 1_000_000;
        let fuel = 1_000.0 + (i % 600) as f64 * 0.5 + 0.125;
        let inlet = 180.0 + (i % 97) as f64 / 8.0;
        let (code, quality) = match i % 50 {
            0 => (0, Quality::Bad),
            1 => (64, Quality::Uncertain),
            _ => (192, Quality::Good),
        };
        lines.push(format!(
            "heater,unit=H-101 fuel={fuel},inlet={inlet},q={code}i {t}"
        ));
        expected.push((FUEL.to_string(), t, fuel.to_bits(), Quality::Good));
        expected.push((INLET.to_string(), t, inlet.to_bits(), quality));
    }
    lines.push(format!(
        "heater,unit=H-101 fuel=1,inlet=1,q=192i {}",
        T0 - 1
    ));
    lines.push(format!(
        "heater,unit=H-101 fuel=1,inlet=1,q=192i {}",
        T0 + SPAN_US
    ));
    influx.write(&lines);
    expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    expected
}

/// The refinery heater example with a historian section pointing at `port`.
fn facility_file(dir: &Path, port: u16) -> PathBuf {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/facilities/refinery-heater.toml"),
    )
    .expect("example facility");
    let text = format!(
        r#"{example}
[[connectors.historian]]
name = "plant-influx"
kind = "influxdb1"
url = "http://127.0.0.1:{port}"
database = "plant"
retries = 0
chunk_s = 900

[[connectors.historian.series]]
tag = "{FUEL}"
measurement = "heater"
field = "fuel"
tags = {{ unit = "H-101" }}
unit = "kg/h"

[[connectors.historian.series]]
tag = "{INLET}"
measurement = "heater"
field = "inlet"
tags = {{ unit = "H-101" }}
quality_field = "q"
unit = "°C"
"#
    );
    let file = dir.join("facility.toml");
    std::fs::write(&file, text).expect("facility written");
    file
}

/// Where a run's store is: a data directory or a PostgreSQL database.
#[derive(Clone)]
enum Target {
    Dir(PathBuf),
    Url(String),
}

impl Target {
    fn args(&self) -> Vec<String> {
        match self {
            Self::Dir(d) => vec!["--data-dir".into(), d.display().to_string()],
            Self::Url(u) => vec!["--database-url".into(), u.clone()],
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
        c.args(args)
            .args(self.args())
            .env_remove("THERMALIQ_CONFIG")
            .env_remove("THERMALIQ_DATABASE_URL")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let Output {
            status,
            stdout,
            stderr,
        } = self.command(args).output().expect("the binary runs");
        (
            status.code(),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, Some(0), "{args:?}: {out}{err}");
        out
    }

    async fn open(&self) -> Store {
        match self {
            Self::Dir(d) => Store::open_in_dir(d).await,
            Self::Url(u) => Store::open(u).await,
        }
        .expect("store opens")
    }

    async fn rows(&self) -> Vec<(String, i64, u64, Quality)> {
        let store = self.open().await;
        let series = store
            .readings(FACILITY, &[FUEL, INLET], T0 - 10_000_000, T0 + 2 * SPAN_US)
            .await
            .expect("readings");
        store.close().await;
        let mut rows = Vec::new();
        for s in series {
            for i in 0..s.times_us.len() {
                rows.push((
                    s.tag.clone(),
                    s.times_us[i],
                    s.values[i].to_bits(),
                    s.qualities[i],
                ));
            }
        }
        rows
    }

    async fn progress(&self) -> Option<BackfillProgress> {
        let store = self.open().await;
        let p = store
            .backfill_progress(FACILITY, "plant-influx", T0, T0 + SPAN_US)
            .await
            .expect("progress");
        store.close().await;
        p
    }
}

const BACKFILL: [&str; 9] = [
    "backfill",
    "--facility",
    FACILITY,
    "--from",
    FROM,
    "--to",
    TO,
    "--chunk",
    "1m",
];

/// Kills a backfill with SIGKILL once part of the period is stored; the stored prefix.
async fn interrupted(target: &Target) -> i64 {
    let mut child = target
        .command(&BACKFILL)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("backfill starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(p) = target.progress().await
            && p.done_until_us > T0 + 10 * 60_000_000
        {
            break;
        }
        assert!(
            child.try_wait().expect("child").is_none(),
            "the backfill ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no progress within 120 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let done = target
        .progress()
        .await
        .expect("progress kept")
        .done_until_us;
    assert!(
        done < T0 + SPAN_US,
        "the run finished before the kill: the test proves nothing"
    );
    done
}

async fn resume_equals_uninterrupted(whole: Target, resumed: Target, tmp: &Path) {
    let mut influx = Influxd::start(&{
        let d = tmp.join("influx");
        std::fs::create_dir_all(&d).expect("dir");
        d
    });
    let expected = fill(&influx);
    let spec = facility_file(tmp, influx.port);
    let spec = spec.to_str().expect("utf-8");
    whole.ok(&["facility", "apply", spec]);
    resumed.ok(&["facility", "apply", spec]);

    let out = whole.ok(&BACKFILL);
    assert!(
        out.contains(&format!("{} readings", expected.len())),
        "{out}"
    );
    assert_eq!(
        whole.rows().await,
        expected,
        "an uninterrupted run stores exactly the historian's points"
    );

    let done = interrupted(&resumed).await;
    let out = resumed.ok(&BACKFILL);
    let resumed_at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(done) * 1_000)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    assert!(out.contains(&format!("resuming at {resumed_at}")), "{out}");
    assert_eq!(
        resumed.progress().await.map(|p| p.done_until_us),
        Some(T0 + SPAN_US)
    );
    assert_eq!(
        resumed.rows().await,
        whole.rows().await,
        "resumed = uninterrupted"
    );

    // Done: a re-run reads nothing; --restart reads all again and changes nothing.
    assert!(resumed.ok(&BACKFILL).contains("already done"));
    let mut restart = BACKFILL.to_vec();
    restart.push("--restart");
    let out = resumed.ok(&restart);
    assert!(
        out.contains(&format!(
            "0 inserted, 0 corrected, {} unchanged",
            expected.len()
        )),
        "{out}"
    );

    // The historian down: exit 1 naming the window, the progress kept for the next run.
    influx.stop();
    let (code, out, err) = resumed.run(&restart);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("plant-influx: reading 2025-01-01T00:00:00Z"),
        "{err}"
    );
    assert_eq!(resumed.rows().await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_backfill_resumes_to_the_rows_of_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    resume_equals_uninterrupted(
        Target::Dir(tmp.path().join("whole")),
        Target::Dir(tmp.path().join("resumed")),
        tmp.path(),
    )
    .await;
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A database created on the test server for one test, dropped at the end.
struct Database {
    server: String,
    name: String,
}

impl Database {
    fn create(server: &str, suffix: &str) -> (Self, String) {
        let name = format!("thermaliq_backfill_{}_{suffix}", std::process::id());
        psql(server, &format!("CREATE DATABASE \"{name}\""));
        let (base, _) = server
            .rsplit_once('/')
            .expect("THERMALIQ_TEST_POSTGRES_URL has a database path");
        let url = format!("{base}/{name}");
        (
            Self {
                server: server.to_string(),
                name,
            },
            url,
        )
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
async fn an_interrupted_backfill_resumes_on_postgresql() {
    let server = std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL server; \
             run `source scripts/test-services.sh` first (scripts/test.sh does)"
        )
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_whole_db, whole) = Database::create(&server, "whole");
    let (_resumed_db, resumed) = Database::create(&server, "resumed");
    resume_equals_uninterrupted(Target::Url(whole), Target::Url(resumed), tmp.path()).await;
}

#[test]
fn bad_flags_are_refused_naming_the_flag() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = Target::Dir(tmp.path().join("data"));
    let spec = facility_file(tmp.path(), free_port());
    target.ok(&["facility", "apply", spec.to_str().expect("utf-8")]);
    let cases: [(&[&str], &str); 6] = [
        (
            &["--facility", FACILITY, "--from", "yesterday", "--to", TO],
            "--from:",
        ),
        (
            &["--facility", FACILITY, "--from", TO, "--to", FROM],
            "--to:",
        ),
        (
            &[
                "--facility",
                FACILITY,
                "--from",
                FROM,
                "--to",
                TO,
                "--chunk",
                "1y",
            ],
            "--chunk:",
        ),
        (
            &[
                "--facility",
                FACILITY,
                "--from",
                FROM,
                "--to",
                TO,
                "--source",
                "nope",
            ],
            "--source:",
        ),
        (
            &["--facility", "FAC-NONE", "--from", FROM, "--to", TO],
            "--facility:",
        ),
        (
            &[
                "--facility",
                FACILITY,
                "--from",
                FROM,
                "--to",
                TO,
                "--chunk",
                "0m",
            ],
            "--chunk:",
        ),
    ];
    for (args, flag) in cases {
        let mut all = vec!["backfill"];
        all.extend_from_slice(args);
        let (code, out, err) = target.run(&all);
        assert_eq!(code, Some(2), "{all:?}: {out}{err}");
        assert!(err.contains(flag), "{all:?}: {err}");
    }
}
