//! The real binary's verbs on one configuration (docs/CONFIGURATION.md): a database named only
//! by a configuration file and an environment password file, as a Kubernetes migration Job
//! sees it; flags winning over the file; a bad configuration refused by every store verb with
//! exit 2 naming the key; and the token pepper, shared by `token create` and `serve`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// How long `serve` may take to listen.
const PATIENCE: Duration = Duration::from_secs(20);

/// Configuration variables of the parent environment that would change what a test means.
const INHERITED: [&str; 9] = [
    "THERMALIQ_CONFIG",
    "THERMALIQ_DATA_DIR",
    "THERMALIQ_DATABASE_URL",
    "THERMALIQ_DATABASE_PASSWORD",
    "THERMALIQ_DATABASE_PASSWORD_FILE",
    "THERMALIQ_REDIS_URL",
    "THERMALIQ_REDIS_PASSWORD",
    "THERMALIQ_TOKEN_PEPPER",
    "THERMALIQ_TOKEN_PEPPER_FILE",
];

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `thermaliq ARGS` in `cwd` with exactly the configuration variables `env`.
fn thermaliq(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
    command.args(args).current_dir(cwd).stdin(Stdio::null());
    for name in INHERITED {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let r = thermaliq(cwd, env, args);
    assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stdout
}

fn refused(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let r = thermaliq(cwd, env, args);
    assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stderr
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("file written");
    file
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `psql` from THERMALIQ_TEST_PG_BIN or PATH; its unaligned output.
fn psql(url: &str, sql: &str) -> String {
    let program = std::env::var_os("THERMALIQ_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from("psql"), |d| Path::new(&d).join("psql"));
    let out = Command::new(program)
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A database created on the test server for one test, dropped at the end.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn create(suffix: &str) -> Self {
        let server = std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL \
                 server; run `source scripts/test-services.sh` first (scripts/test.sh does)"
            )
        });
        let name = format!("thermaliq_config_{}_{suffix}", std::process::id());
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

#[test]
fn a_migration_job_reaches_the_database_named_only_by_the_configuration() {
    let db = Database::create("job");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // As the ConfigMap and the Secret are mounted in the Job: a file and a password file.
    let config = write(
        d,
        "config.toml",
        &format!("database_url = \"{}\"\nlog = \"info\"\n", db.url),
    );
    let password = write(d, "db-password", "s3cret\n");
    let env = [
        ("THERMALIQ_CONFIG", text(&config)),
        ("THERMALIQ_DATABASE_PASSWORD_FILE", text(&password)),
    ];

    let up = ok(d, &env, &["migrate", "up"]);
    assert!(up.contains("applied "), "{up}");
    let versions = psql(&db.url, "SELECT count(*) FROM schema_migrations");
    assert!(versions.parse::<u32>().unwrap() >= 3, "{versions}");
    let current = ok(d, &env, &["migrate", "current"]);
    assert!(current.contains("status:          current"), "{current}");

    let token = ok(
        d,
        &env,
        &[
            "token",
            "create",
            "--name",
            "migration-job",
            "--role",
            "admin",
        ],
    );
    assert!(token.trim().starts_with("tq_"), "{token}");
    assert_eq!(
        psql(
            &db.url,
            "SELECT count(*) FROM api_tokens WHERE name = 'migration-job'"
        ),
        "1"
    );
    // The global --config flag, before or after the verb, is the same configuration.
    let listed = ok(
        d,
        &[("THERMALIQ_DATABASE_PASSWORD_FILE", text(&password))],
        &["token", "list", "--config", text(&config)],
    );
    assert!(listed.contains("migration-job"), "{listed}");
    let facilities = ok(
        d,
        &[("THERMALIQ_DATABASE_PASSWORD_FILE", text(&password))],
        &["--config", text(&config), "facility", "list"],
    );
    assert!(facilities.is_empty(), "{facilities}");
    // No verb fell back to the embedded database in the working directory.
    assert!(!d.join("data").exists(), "an embedded database was created");

    // The secret is read by these verbs too: a password file that cannot be read stops them.
    let missing = refused(
        d,
        &[
            ("THERMALIQ_CONFIG", text(&config)),
            (
                "THERMALIQ_DATABASE_PASSWORD_FILE",
                "/nonexistent/db-password",
            ),
        ],
        &["migrate", "current"],
    );
    assert!(
        missing.contains("THERMALIQ_DATABASE_PASSWORD_FILE: cannot read /nonexistent/db-password"),
        "{missing}"
    );
    assert!(!missing.contains("s3cret"), "{missing}");
}

#[test]
fn flags_win_over_the_file_and_the_file_over_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from_file = d.join("from-file");
    let config = write(
        d,
        "config.toml",
        &format!("data_dir = \"{}\"\n", text(&from_file)),
    );
    let env = [("THERMALIQ_CONFIG", text(&config))];
    ok(d, &env, &["migrate", "up"]);
    assert!(from_file.join("thermaliq.db").exists());
    assert!(!d.join("data").exists());

    let from_flag = d.join("from-flag");
    ok(d, &env, &["migrate", "up", "--data-dir", text(&from_flag)]);
    assert!(from_flag.join("thermaliq.db").exists());

    // An environment variable wins over the file.
    let from_env = d.join("from-env");
    ok(
        d,
        &[
            ("THERMALIQ_CONFIG", text(&config)),
            ("THERMALIQ_DATA_DIR", text(&from_env)),
        ],
        &["migrate", "up"],
    );
    assert!(from_env.join("thermaliq.db").exists());

    // --database-url wins over a database_url in the file, which names no reachable server.
    let unreachable = write(
        d,
        "unreachable.toml",
        "database_url = \"postgres://thermaliq@127.0.0.1:1/nowhere\"\n",
    );
    let sqlite = d.join("flag.db");
    let url = format!("sqlite://{}", text(&sqlite));
    let up = ok(
        d,
        &[],
        &[
            "--config",
            text(&unreachable),
            "--database-url",
            &url,
            "migrate",
            "up",
        ],
    );
    assert!(up.contains("applied "), "{up}");
    assert!(sqlite.exists());
}

#[test]
fn a_bad_configuration_stops_every_store_verb_with_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let typo = write(
        d,
        "typo.toml",
        "databse_url = \"postgres://thermaliq@db/thermaliq\"\n",
    );
    let csv = write(d, "readings.csv", "time,tag,value\n");
    let backup = d.join("backup.db");
    let verbs: [&[&str]; 11] = [
        &["migrate", "current"],
        &["migrate", "history"],
        &["migrate", "up"],
        &["migrate", "down"],
        &["token", "create", "--name", "x", "--role", "admin"],
        &["token", "list"],
        &["facility", "list"],
        &["ingest", "--facility", "FAC-001", text(&csv)],
        &["check", "integrity", "--since", "1h"],
        &["db", "backup", text(&backup)],
        &[
            "cache",
            "warm",
            "--facilities",
            "FAC-001",
            "--redis-url",
            "redis://127.0.0.1:1/0",
        ],
    ];
    for verb in verbs {
        let e = refused(d, &[("THERMALIQ_CONFIG", text(&typo))], verb);
        assert!(
            e.contains("databse_url") && e.contains(text(&typo)),
            "{verb:?}: {e}"
        );
        let e = refused(d, &[("THERMALIQ_MIN_COVERAGE", "1.5")], verb);
        assert!(
            e.contains("environment variable THERMALIQ_MIN_COVERAGE") || e.contains("min_coverage"),
            "{verb:?}: {e}"
        );
        let e = refused(d, &[("THERMALIQ_TOKEN_PEPPER", "short")], verb);
        assert!(
            e.contains("THERMALIQ_TOKEN_PEPPER:") && !e.contains("short"),
            "{verb:?}: {e}"
        );
    }
    assert!(
        !d.join("data").exists(),
        "a refused verb created a database"
    );
    assert!(!backup.exists());
    // The pure calculations do not read the configuration.
    let state = ok(
        d,
        &[("THERMALIQ_CONFIG", text(&typo))],
        &["steam", "--p", "1MPa", "--t", "200°C"],
    );
    assert!(state.contains("\"h_J_kg\""), "{state}");
}

/// A `thermaliq serve` process and its JSON log lines.
struct Served {
    child: Child,
    logs: Receiver<String>,
    lines: Vec<String>,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `serve` on `data_dir`, any free port, with the configuration variables `env`; waits
    /// until it listens.
    fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for name in INHERITED {
            command.env_remove(name);
        }
        let mut child = command
            .envs(env.iter().copied())
            .env("THERMALIQ_LOG", "info")
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, logs) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Self {
            child,
            logs,
            lines: Vec::new(),
            addr: String::new(),
        };
        let deadline = Instant::now() + PATIENCE;
        while served.addr.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match served.logs.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!("serve did not start listening"),
                Err(RecvTimeoutError::Disconnected) => panic!("serve ended before listening"),
            };
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            if v["fields"]["message"] == "listening" {
                served.addr = v["fields"]["address"].as_str().unwrap().to_string();
            }
            served.lines.push(line);
        }
        served
    }

    /// The status of `GET /v1/thermaliq/facilities` with `token`.
    fn facilities_status(&self, token: &str) -> u16 {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        write!(
            s,
            "GET /v1/thermaliq/facilities HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("an answer");
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
    }

    /// Every log line so far, after stopping the process.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut lines = std::mem::take(&mut self.lines);
        lines.extend(self.logs.try_iter());
        lines
    }
}

/// The digest stored for the token named `name`.
fn stored_digest(data_dir: &Path, name: &str) -> Vec<u8> {
    let db = rusqlite::Connection::open(data_dir.join("thermaliq.db")).unwrap();
    db.query_row(
        "SELECT digest FROM api_tokens WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
    .unwrap()
}

#[test]
fn a_token_created_with_a_pepper_authenticates_only_on_a_server_with_that_pepper() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let data_dir = text(&data);
    let pepper = "9f2c4e8a1b7d3f605e1c9a2b4d6f8e0a";
    let pepper_file = write(d, "token-pepper", &format!("{pepper}\n"));
    let other_file = write(d, "other-pepper", "0a8e6f4d2b9c1e506f3d7b1a8e4c2f9a\n");
    let with_pepper = [("THERMALIQ_TOKEN_PEPPER_FILE", text(&pepper_file))];
    let with_other = [("THERMALIQ_TOKEN_PEPPER_FILE", text(&other_file))];

    let peppered = ok(
        d,
        &with_pepper,
        &[
            "token",
            "create",
            "--name",
            "peppered",
            "--role",
            "viewer",
            "--data-dir",
            data_dir,
        ],
    )
    .trim()
    .to_string();
    let plain = ok(
        d,
        &[],
        &[
            "token",
            "create",
            "--name",
            "plain",
            "--role",
            "viewer",
            "--data-dir",
            data_dir,
        ],
    )
    .trim()
    .to_string();
    // Stored as HMAC-SHA256(pepper, token), not as the token's plain SHA-256.
    let digest = stored_digest(&data, "peppered");
    let expected =
        server::http::auth::digest(&peppered, Some(&server::settings::TokenPepper::new(pepper)));
    assert_eq!(digest, expected);
    assert_ne!(digest, Sha256::digest(peppered.as_bytes()).to_vec());
    assert_eq!(
        stored_digest(&data, "plain"),
        Sha256::digest(plain.as_bytes()).to_vec()
    );

    let served = Served::start(&data, &with_pepper);
    assert_eq!(served.facilities_status(&peppered), 200);
    assert_eq!(served.facilities_status(&plain), 401);
    let lines = served.stop();
    let loaded = lines
        .iter()
        .find(|l| l.contains("Configuration loaded"))
        .expect("a Configuration loaded line");
    assert!(loaded.contains("token_pepper: Some(***)"), "{loaded}");
    assert!(
        lines.iter().all(|l| !l.contains(pepper)),
        "the pepper was logged"
    );

    let served = Served::start(&data, &[]);
    assert_eq!(served.facilities_status(&peppered), 401);
    assert_eq!(served.facilities_status(&plain), 200);
    served.stop();

    let served = Served::start(&data, &with_other);
    assert_eq!(served.facilities_status(&peppered), 401);
    assert_eq!(served.facilities_status(&plain), 401);
    served.stop();
}
