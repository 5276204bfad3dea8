//! `thermaliq cache warm`, the real binary against a real `redis-server`: refused without a
//! Redis URL, the latest period recomputed and put in Redis under the runbook's key, a failure
//! per facility named with a non-zero exit, and an unreachable Redis refused; `thermaliq serve`
//! through a Redis outage: answers go on, the outage and its end are each logged once and the
//! failures counted in the metrics.

#[path = "../../server/tests/api_support/redis.rs"]
#[allow(dead_code)]
mod redis_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use redis_support::RedisServer;
use serde_json::Value;
use server::http::AppState;
use server::http::calculation::{self, CalculateRequest, TimePeriod};
use server::settings::Settings;

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The binary with `args` on `data_dir`; `redis_env` is THERMALIQ_REDIS_URL (else unset).
fn thermaliq(data_dir: &Path, args: &[&str], redis_env: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("THERMALIQ_CONFIG")
        .env_remove("THERMALIQ_DATABASE_URL")
        .env_remove("THERMALIQ_REDIS_PASSWORD")
        .stdin(Stdio::null());
    match redis_env {
        Some(url) => cmd.env("THERMALIQ_REDIS_URL", url),
        None => cmd.env_remove("THERMALIQ_REDIS_URL"),
    };
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn ok(data_dir: &Path, args: &[&str]) {
    let r = thermaliq(data_dir, args, None);
    assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
}

/// Two demo facilities (FAC-DEMO-002 a copy without calculations) with an hour of readings.
fn facilities(dir: &Path) {
    let one = dir.join("one.toml");
    std::fs::write(&one, server::demo::SPEC_TOML).expect("spec");
    let two = dir.join("two.toml");
    std::fs::write(
        &two,
        server::demo::SPEC_TOML
            .replace("FAC-DEMO-001", "FAC-DEMO-002")
            .replace("\"BLR-001\"", "\"BLR-002\"")
            .replace("\"FUR-001\"", "\"FUR-002\""),
    )
    .expect("spec");
    let readings = server::demo::readings(START_US, 3_600, 3).expect("demo data");
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
    std::fs::write(&file, csv).expect("csv");
    let data = dir.join("data");
    for spec in [&one, &two] {
        ok(&data, &["facility", "apply", spec.to_str().expect("path")]);
    }
    ok(
        &data,
        &[
            "ingest",
            "--facility",
            "FAC-DEMO-001",
            file.to_str().expect("path"),
        ],
    );
}

/// A calculation of the first demo hour through the API's code path (in-process cache): the
/// facility's newest calculation, whose period `cache warm` must pick.
fn first_calculation(data: &Path) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = store::Store::open_in_dir(data).await.expect("store");
        let state = AppState::new(
            Settings {
                data_dir: data.to_path_buf(),
                ..Settings::default()
            },
            store.clone(),
        )
        .expect("state");
        let req = CalculateRequest {
            facility_id: "FAC-DEMO-001".into(),
            time_period: TimePeriod {
                start: "2025-11-01T00:10:00Z".into(),
                end: "2025-11-01T00:40:00Z".into(),
            },
        };
        let c = calculation::calculate(&state, &req, None)
            .await
            .expect("calculated");
        store.close().await;
        serde_json::from_slice(&c.bytes).expect("document")
    })
}

fn redis_get(server: &RedisServer, args: &[&str]) -> redis::Value {
    let mut conn = redis::Client::open(server.url())
        .expect("url")
        .get_connection()
        .expect("the test reaches redis-server");
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut conn).expect("redis command")
}

#[test]
fn cache_warm_recomputes_the_latest_period_into_redis() {
    let mut redis_server = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    facilities(dir.path());
    let first = first_calculation(&data);

    // Without a Redis URL: refused, saying how to give one.
    let r = thermaliq(
        &data,
        &["cache", "warm", "--facilities", "FAC-DEMO-001"],
        None,
    );
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("THERMALIQ_REDIS_URL"), "{}", r.stderr);
    assert!(r.stderr.contains("--redis-url"), "{}", r.stderr);

    // With --redis-url: the newest calculation's period, recomputed and cached.
    let url = redis_server.url();
    let r = thermaliq(
        &data,
        &[
            "cache",
            "warm",
            "--facilities",
            "FAC-DEMO-001",
            "--redis-url",
            &url,
        ],
        None,
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("JSON report");
    let warmed = &report["warmed"][0];
    assert_eq!(report["failed"], serde_json::json!([]));
    assert_eq!(warmed["facility_id"], "FAC-DEMO-001");
    assert_eq!(warmed["period"]["start"], "2025-11-01T00:10:00Z");
    assert_eq!(warmed["period"]["end"], "2025-11-01T00:40:00Z");
    assert_eq!(warmed["was_cached"], false);
    let id = warmed["calculation_id"].as_str().expect("id").to_string();
    assert_ne!(id, first["calculation_id"].as_str().expect("id"));
    let key = format!(
        "calculation:FAC-DEMO-001:v{}:{}",
        env!("CARGO_PKG_VERSION"),
        first["provenance"]["input_hash"].as_str().expect("hash")
    );
    assert_eq!(warmed["cache_key"], key.as_str());
    let doc = match redis_get(&redis_server, &["HGET", &key, "doc"]) {
        redis::Value::BulkString(b) => b,
        other => panic!("{key} not cached: {other:?}"),
    };
    let doc: Value = serde_json::from_slice(&doc).expect("cached JSON");
    assert_eq!(doc["calculation_id"], id.as_str());
    assert_eq!(doc["efficiency"], first["efficiency"]);
    assert_eq!(doc["summary"], first["summary"]);
    assert_eq!(
        redis_get(&redis_server, &["GET", &format!("calculation-id:{id}")]),
        redis::Value::BulkString(key.clone().into_bytes())
    );

    // THERMALIQ_REDIS_URL works as well; the same inputs are found cached, lifetime renewed.
    let r = thermaliq(
        &data,
        &["cache", "warm", "--facilities", "FAC-DEMO-001"],
        Some(&url),
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("JSON report");
    assert_eq!(report["warmed"][0]["was_cached"], true);
    assert_eq!(report["warmed"][0]["calculation_id"], id.as_str());

    // A facility without calculations and an unknown one fail, named; the others are warmed.
    let r = thermaliq(
        &data,
        &[
            "cache",
            "warm",
            "--facilities",
            "FAC-DEMO-002,FAC-DEMO-001,FAC-NONE",
        ],
        Some(&url),
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("2 of 3") && r.stderr.contains("FAC-DEMO-002 (it has no calculation"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("FAC-NONE (facility FAC-NONE not found)"),
        "{}",
        r.stderr
    );
    let report: Value = serde_json::from_str(&r.stdout).expect("JSON report");
    assert_eq!(report["warmed"][0]["facility_id"], "FAC-DEMO-001");
    assert_eq!(report["failed"].as_array().map(Vec::len), Some(2));

    // Redis down: refused at once rather than reporting a warm cache.
    redis_server.stop();
    let r = thermaliq(
        &data,
        &["cache", "warm", "--facilities", "FAC-DEMO-001"],
        Some(&url),
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("the Redis cache cannot be reached"),
        "{}",
        r.stderr
    );
}

/// Status line and body of one HTTP/1.1 request.
fn http(addr: &str, method: &str, path: &str, token: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer read");
    answer
}

#[test]
fn serve_logs_a_redis_outage_once_and_its_recovery_once() {
    let mut redis_server = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token = thermaliq(
        &data,
        &["token", "create", "--name", "ops", "--role", "admin"],
        None,
    );
    assert_eq!(token.code, Some(0), "{}", token.stderr);
    let token = token.stdout.trim().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("THERMALIQ_REDIS_URL", redis_server.url())
        .env("THERMALIQ_LOG", "info")
        .env_remove("THERMALIQ_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (send, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
            if send.send(v).is_err() {
                break;
            }
        }
    });
    // The Redis probe runs beside the bind, so its line may come before or after `listening`.
    let (mut addr, mut reachable) = (None, false);
    while addr.is_none() || !reachable {
        let v = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("`listening` and `Redis reachable` within 10 s");
        match v["fields"]["message"].as_str() {
            Some("listening") => addr = v["fields"]["address"].as_str().map(str::to_string),
            Some("calculation cache: Redis reachable") => reachable = true,
            _ => {}
        }
    }
    let addr = addr.expect("address");

    redis_server.stop();
    for _ in 0..4 {
        let answer = http(&addr, "GET", "/v1/thermaliq/calculations/CALC-NONE", &token);
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    }
    let answer = http(&addr, "GET", "/v1/thermaliq/admin/cache/stats", &token);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let metrics = http(&addr, "GET", "/metrics", &token);
    let errors: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("thermaliq_cache_errors_total{operation=\"get_by_id\"}"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(errors >= 4.0, "{metrics}");

    redis_server.restart();
    for _ in 0..3 {
        let answer = http(&addr, "GET", "/v1/thermaliq/calculations/CALC-NONE", &token);
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    }
    let answer = http(&addr, "GET", "/v1/thermaliq/admin/cache/stats", &token);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"misses\":3"), "{answer}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(child.wait().expect("serve stops").success());
    reader.join().expect("log reader");
    let messages: Vec<String> = lines
        .try_iter()
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
        .collect();
    let count = |m: &str| messages.iter().filter(|x| *x == m).count();
    assert_eq!(count("Redis unavailable"), 1, "{messages:?}");
    assert_eq!(count("Redis reconnected"), 1, "{messages:?}");
}
