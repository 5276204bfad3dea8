//! Two real `thermaliq serve` processes sharing one PostgreSQL database (on the server named by
//! THERMALIQ_TEST_POSTGRES_URL) and one real `redis-server`, as replicas behind a load balancer
//! run: both start at once on an empty database; a calculation made through one is served from
//! the shared cache by the other; an invalidation through one is seen by both; readings written
//! through one are used by a calculation on the other; the scrape shows the store pool gauges;
//! both stop with exit 0 on SIGTERM.

#[path = "../../server/tests/api_support/redis.rs"]
#[allow(dead_code)]
mod redis_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use redis_support::RedisServer;
use serde_json::{Value, json};

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

/// How long any expected log line or exit may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// Pool size given in the database URL, which the `_max` gauge must report.
const MAX_CONNECTIONS: u32 = 4;

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

/// A database created on the test server for this test, dropped (connections and all) at the
/// end, even when the test fails.
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
        let name = format!("thermaliq_replicas_{}", std::process::id());
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

/// How a replica is told where the database is: both ways an operator may use.
enum DatabaseFrom {
    Flag,
    Environment,
}

/// A `thermaliq serve` replica and its JSON log lines.
struct Replica {
    child: Child,
    logs: Receiver<Value>,
    addr: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP answer.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The value of a response header (names compared case-insensitively).
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl Replica {
    /// Spawns `serve` on a free port with the shared database and Redis; [`Replica::ready`]
    /// waits for it.
    fn spawn(database_url: &str, from: DatabaseFrom, redis_url: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("THERMALIQ_REDIS_URL", redis_url)
            .env("THERMALIQ_LOG", "info")
            .env_remove("THERMALIQ_CONFIG")
            .env_remove("THERMALIQ_DATABASE_URL")
            .env_remove("THERMALIQ_REDIS_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match from {
            DatabaseFrom::Flag => command.arg("--database-url").arg(database_url),
            DatabaseFrom::Environment => command.env("THERMALIQ_DATABASE_URL", database_url),
        };
        let mut child = command.spawn().expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
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
        Self {
            child,
            logs,
            addr: String::new(),
        }
    }

    /// Waits until the replica listens and has reached Redis (logged in either order: the
    /// Redis probe runs beside the start).
    fn ready(&mut self) {
        let mut redis_reachable = false;
        while self.addr.is_empty() || !redis_reachable {
            let v = self.next_log();
            match v["fields"]["message"].as_str() {
                Some("listening") => {
                    self.addr = v["fields"]["address"]
                        .as_str()
                        .expect("address")
                        .to_string();
                }
                Some("calculation cache: Redis reachable") => redis_reachable = true,
                _ => {}
            }
        }
    }

    /// The next log line whose message is `message`, skipping others.
    fn wait_for_log(&self, message: &str) -> Value {
        loop {
            let v = self.next_log();
            if v["fields"]["message"] == message {
                return v;
            }
        }
    }

    /// The next log line, within [`PATIENCE`].
    fn next_log(&self) -> Value {
        match self.logs.recv_timeout(PATIENCE) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!("no log line within {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the process ended"),
        }
    }

    /// One request on its own connection.
    fn request(&self, method: &str, path: &str, token: &str, media: &str, body: &str) -> Answer {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        write!(
            s,
            "{method} /v1/thermaliq{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: {media}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("request sent");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("an answer");
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        Answer {
            status,
            head: head.to_string(),
            body: body.to_string(),
        }
    }

    fn get(&self, path: &str, token: &str) -> Answer {
        self.request("GET", path, token, "application/json", "")
    }

    fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.request("POST", path, token, "application/json", &body.to_string())
    }

    /// `GET /admin/cache/stats`, which must answer.
    fn cache_stats(&self, token: &str) -> Value {
        let a = self.get("/admin/cache/stats", token);
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()
    }

    /// The Prometheus scrape (`/metrics` needs no token).
    fn scrape(&self) -> String {
        let a = self.get("/metrics", "none");
        assert_eq!(a.status, 200, "{}", a.body);
        a.body
    }

    fn stop(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the replica did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The value of the series `name{labels}` (as rendered) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

/// The demo facility's 1 Hz readings from `from_s` to `to_s` seconds after [`START_US`], as CSV.
fn readings_csv(from_s: u32, to_s: u32) -> String {
    let readings = server::demo::readings(START_US, to_s, 1).expect("demo data");
    let mut csv = String::from("time,tag,value,quality\n");
    for r in readings
        .iter()
        .filter(|r| r.time_us >= START_US + i64::from(from_s) * 1_000_000)
    {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            server::http::format_us(r.time_us),
            r.tag,
            r.value,
            r.quality
        ));
    }
    csv
}

/// `POST /calculate` body for minutes `[from, to)` after [`START_US`].
fn period(from_min: i64, to_min: i64) -> Value {
    let t = |m: i64| server::http::format_us(START_US + m * 60_000_000);
    json!({
        "facility_id": server::demo::FACILITY_ID,
        "time_period": {"start": t(from_min), "end": t(to_min)},
    })
}

#[test]
fn two_replicas_share_one_database_and_one_redis() {
    let redis = RedisServer::start();
    let db = Database::create();
    let url = format!("{}?max_connections={MAX_CONNECTIONS}", db.url);

    // Both start at once on the empty database: their migrations must not collide.
    let mut one = Replica::spawn(&url, DatabaseFrom::Flag, &redis.url());
    let mut two = Replica::spawn(&url, DatabaseFrom::Environment, &redis.url());
    one.ready();
    two.ready();

    let created = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(["token", "create", "--name", "ops", "--role", "admin"])
        .args(["--database-url", &url])
        .env_remove("THERMALIQ_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8_lossy(&created.stdout).trim().to_string();

    // The facility and its first hour of readings through replica 1.
    let facility = format!("/facilities/{}", server::demo::FACILITY_ID);
    let a = one.request(
        "PUT",
        &facility,
        &token,
        "application/toml",
        server::demo::SPEC_TOML,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let readings = format!("{facility}/readings");
    let a = one.request(
        "POST",
        &readings,
        &token,
        "text/csv",
        &readings_csv(0, 3_600),
    );
    assert_eq!(a.status, 200, "{}", a.body);

    // Calculated through replica 1 (a miss), read through replica 2 from the shared cache.
    let a = one.post("/calculate", &token, &period(0, 30));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("x-thermaliq-cache"), Some("miss"));
    let calculation = a.json();
    let id = calculation["calculation_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(calculation["status"], "completed");
    let a = two.get(&format!("/calculations/{id}"), &token);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json(), calculation);
    let stats = json!({"size": 1, "hits": 1, "misses": 1});
    assert_eq!(one.cache_stats(&token), stats);
    assert_eq!(two.cache_stats(&token), stats);
    // The hit was replica 2's own lookup, not replica 1's.
    let hit = "thermaliq_cache_requests_total{result=\"hit\"}";
    assert_eq!(sample(&two.scrape(), hit), Some(1.0));
    assert_eq!(sample(&one.scrape(), hit), None);

    // The same period on replica 2: the same calculation, from the cache.
    let a = two.post("/calculate", &token, &period(0, 30));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("x-thermaliq-cache"), Some("hit"));
    assert_eq!(a.json()["calculation_id"], id.as_str());

    // Invalidated through replica 2: both see an empty cache, and replica 1's next read misses.
    let a = two.post(
        "/admin/cache/invalidate",
        &token,
        &json!({"pattern": "calculation:*"}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["invalidated"], 1);
    let empty = json!({"size": 0, "hits": 0, "misses": 0});
    assert_eq!(one.cache_stats(&token), empty);
    assert_eq!(two.cache_stats(&token), empty);
    let a = one.get(&format!("/calculations/{id}"), &token);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["calculation_id"], id.as_str());
    assert_eq!(one.cache_stats(&token)["misses"], 1);
    assert_eq!(one.cache_stats(&token)["hits"], 0);

    // The second hour does not exist yet: replica 1 refuses to calculate it...
    let a = one.post("/calculate", &token, &period(60, 90));
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("insufficient_coverage"), "{}", a.body);
    // ...until replica 2 has stored its readings.
    let a = two.request(
        "POST",
        &readings,
        &token,
        "text/csv",
        &readings_csv(3_600, 7_200),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = one.post("/calculate", &token, &period(60, 90));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["status"], "completed");

    // The store pool gauges, read at the scrape: the URL's limit, and connections kept open.
    for replica in [&one, &two] {
        let scrape = replica.scrape();
        for help in [
            "# HELP thermaliq_store_pool_connections ",
            "# HELP thermaliq_store_pool_connections_max ",
        ] {
            assert!(scrape.contains(help), "{help}: {scrape}");
        }
        assert_eq!(
            sample(&scrape, "thermaliq_store_pool_connections_max"),
            Some(f64::from(MAX_CONNECTIONS)),
            "{scrape}"
        );
        let idle = sample(&scrape, "thermaliq_store_pool_connections{state=\"idle\"}")
            .expect("idle gauge");
        let in_use = sample(
            &scrape,
            "thermaliq_store_pool_connections{state=\"in_use\"}",
        )
        .expect("in_use gauge");
        assert!(
            idle >= 1.0,
            "the replica's connections were closed: {scrape}"
        );
        assert!(
            idle + in_use <= f64::from(MAX_CONNECTIONS),
            "more connections than the pool allows: {scrape}"
        );
    }

    assert!(one.stop().success());
    assert!(two.stop().success());
    one.wait_for_log("stopped");
    two.wait_for_log("stopped");
}
