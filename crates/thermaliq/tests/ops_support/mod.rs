//! What the operations tests (rollback, runbooks, schema compatibility) share: a store on
//! SQLite or on a database of the test PostgreSQL server, the demo facility with the reference
//! hour of deploy/test_calculation.json, tokens, the real binary, and a real `thermaliq serve`
//! process with a minimal HTTP client.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use server::http::AppState;
use server::http::calculation::{self, CalculateRequest};
use server::settings::Settings;
use store::{Role, Store};

/// 2025-11-01T00:00:00Z in µs: the start of the reference hour of deploy/test_calculation.json.
pub const START_US: i64 = 1_761_955_200_000_000;

/// How long a started server may take to listen or log a line.
const PATIENCE: Duration = Duration::from_secs(30);

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The body of deploy/test_calculation.json.
pub fn test_calculation() -> String {
    std::fs::read_to_string(repo_root().join("deploy/test_calculation.json"))
        .expect("deploy/test_calculation.json")
}

/// Where a store is: a SQLite data directory or a database URL.
#[derive(Clone, Debug)]
pub enum At {
    /// `--data-dir DIR`.
    Dir(PathBuf),
    /// `--database-url URL`.
    Url(String),
}

impl At {
    /// The command-line arguments choosing this store.
    pub fn args(&self) -> Vec<OsString> {
        match self {
            At::Dir(d) => vec!["--data-dir".into(), d.clone().into()],
            At::Url(u) => vec!["--database-url".into(), u.into()],
        }
    }

    /// Opens the store in this process (not migrated).
    pub async fn open(&self) -> Store {
        match self {
            At::Dir(d) => Store::open_in_dir(d).await,
            At::Url(u) => Store::open(u).await,
        }
        .expect("the store opens")
    }
}

/// The binary with `args` on the store `at`, without configuration from the environment.
pub fn thermaliq(at: &At, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
    command.args(args).args(at.args()).stdin(Stdio::null());
    clean_env(&mut command);
    command.output().expect("the binary runs")
}

/// [`thermaliq`] that must succeed; its standard output.
pub fn ok(at: &At, args: &[&str]) -> String {
    let out = thermaliq(at, args);
    assert!(
        out.status.success(),
        "thermaliq {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the variables that would point the binary at another store or cache; passes the
/// directory of pg_dump/pg_restore on.
fn clean_env(command: &mut Command) {
    for var in [
        "THERMALIQ_CONFIG",
        "THERMALIQ_DATABASE_URL",
        "THERMALIQ_DATA_DIR",
        "THERMALIQ_REDIS_URL",
        "THERMALIQ_BIND",
        "THERMALIQ_TOKEN_PEPPER",
    ] {
        command.env_remove(var);
    }
    if let Some(bin) = std::env::var_os("THERMALIQ_TEST_PG_BIN") {
        command.env(store::PG_BIN_ENV, bin);
    }
}

/// A multi-threaded runtime for in-process store work.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Stores, in this process and at whatever schema level the store is, the demo facility, the
/// reference hour of its meter data (a reading every 3 s) and a token of `role`; returns the
/// token.
pub async fn load_demo(store: &Store, role: Role) -> String {
    server::http::facilities::apply(store, &server::demo::facility_spec())
        .await
        .expect("demo facility");
    let readings = server::demo::readings(START_US, 3_600, 3).expect("demo readings");
    store
        .insert_readings(server::demo::FACILITY_ID, &readings)
        .await
        .expect("readings stored");
    token(store, role).await
}

/// A new token of `role`; its secret.
pub async fn token(store: &Store, role: Role) -> String {
    let (secret, record) = server::http::auth::new_token("ops-test", role, None);
    store.insert_token(&record).await.expect("token stored");
    secret
}

/// The reference calculation computed and stored in this process, as the API does; its
/// document.
pub async fn calculate_in_process(store: &Store) -> Value {
    let state = AppState::new(Settings::default(), store.clone()).expect("state");
    let req: CalculateRequest = serde_json::from_str(&test_calculation()).expect("request");
    let c = calculation::calculate(&state, &req, None)
        .await
        .expect("calculated");
    serde_json::from_slice(&c.bytes).expect("document")
}

/// A `thermaliq serve` process on a free loopback port and its JSON log lines.
pub struct Served {
    child: Child,
    logs: Receiver<Value>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The log lines before the one saying it listens (migrations applied, …).
    pub startup: Vec<Value>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `serve` on the store `at` with `env` and waits until it listens.
    pub fn start(at: &At, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(at.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        clean_env(&mut command);
        command.env("THERMALIQ_LOG", "info");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, logs) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut served = Self {
            child,
            logs,
            addr: String::new(),
            startup: Vec::new(),
        };
        let listening = served.wait_for_log("listening");
        served.addr = listening["fields"]["address"]
            .as_str()
            .expect("address")
            .to_string();
        served
    }

    /// The next log line whose message is `message`; the others go to `startup`.
    pub fn wait_for_log(&mut self, message: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(v) if v["fields"]["message"] == message => return v,
                Ok(v) => self.startup.push(v),
                Err(RecvTimeoutError::Timeout) => panic!("serve logged no {message:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().expect("exit status");
                    panic!("serve ended ({status}) before logging {message:?}")
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One request; the status and body of the answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        http(&self.addr, method, path, token, body)
    }

    /// A request that must answer 200; its JSON body.
    pub fn json(&self, method: &str, path: &str, token: &str, body: &str) -> Value {
        let (status, answer) = self.request(method, path, Some(token), body);
        assert!(
            status == 200 || status == 201,
            "{method} {path}: {status} {answer}"
        );
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"))
    }
}

/// One HTTP/1.1 request on its own connection to `addr`; the status and the (de-chunked)
/// body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("request sent");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("an answer");
    let answer = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    )
}

/// The payload of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// The test PostgreSQL server's URL; panics naming how to start one.
pub fn pg_server() -> String {
    std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL server; \
             run `source scripts/test-services.sh` first (scripts/test.sh does)"
        )
    })
}

/// `psql -c SQL` on `url`, from THERMALIQ_TEST_PG_BIN or PATH.
pub fn psql(url: &str, sql: &str) {
    let program = std::env::var_os("THERMALIQ_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from("psql"), |d| Path::new(&d).join("psql"));
    let status = Command::new(program)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql {sql}");
}

/// Databases created on the test server for one test, dropped at the end.
pub struct Databases {
    server: String,
    prefix: String,
    names: Vec<String>,
}

impl Databases {
    /// Databases on the test server named after `prefix` and this process.
    pub fn new(prefix: &str) -> Self {
        Self {
            server: pg_server(),
            prefix: format!("{prefix}_{}", std::process::id()),
            names: Vec::new(),
        }
    }

    /// A new empty database; its URL.
    pub fn create(&mut self, suffix: &str) -> String {
        let name = format!("{}_{suffix}", self.prefix);
        psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
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

/// Migration versions of a dialect (`sqlite`, `postgres`), oldest first, from the
/// migration files.
pub fn migration_versions(dialect: &str) -> Vec<i64> {
    let dir = repo_root().join("crates/store/migrations").join(dialect);
    let mut versions: Vec<i64> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".up.sql")?;
            stem.split_once('_')?.0.parse().ok()
        })
        .collect();
    versions.sort_unstable();
    versions
}
