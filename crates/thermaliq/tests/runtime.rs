//! The real `thermaliq serve` process at run time: the Prometheus scrape (checked by
//! `promtool`), configuration reload on SIGHUP, and graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

/// How long any expected log line or exit may take.
const PATIENCE: Duration = Duration::from_secs(20);

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

fn operator_token(data_dir: &Path) -> String {
    thermaliq(
        data_dir,
        &["token", "create", "--name", "ops", "--role", "operator"],
    )
    .trim()
    .to_string()
}

/// The demo facility with `seconds` of its 1 Hz meter data from [`START_US`].
fn demo_facility(data_dir: &Path, seconds: u32) {
    let spec = data_dir.join("demo.toml");
    std::fs::write(&spec, server::demo::SPEC_TOML).unwrap();
    thermaliq(data_dir, &["facility", "apply", spec.to_str().unwrap()]);
    let readings = server::demo::readings(START_US, seconds, 1).expect("demo data");
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
    /// Starts `serve --config <config>` on `data_dir` and waits until it listens.
    fn start(data_dir: &Path, config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
            .args(["serve", "--config"])
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .env("THERMALIQ_LOG", "info")
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
        let listening = served.wait_for_log("listening");
        served.addr = listening["fields"]["address"].as_str().unwrap().to_string();
        served
    }

    /// The next log line whose message is `message`, skipping others; panics after
    /// [`PATIENCE`].
    fn wait_for_log(&self, message: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(v) if v["fields"]["message"] == message => return v,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no {message:?} log line"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the process ended before logging {message:?}")
                }
            }
        }
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One request on its own connection; the status and body of the answer.
    fn request(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        read_answer(&mut s)
    }
}

fn read_answer(s: &mut TcpStream) -> (u16, String) {
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("thermaliq.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn calculate_body(start_min: i64, minutes: i64) -> String {
    let t = |m: i64| server::http::format_us(START_US + m * 60_000_000);
    format!(
        r#"{{"facility_id":"{}","time_period":{{"start":"{}","end":"{}"}}}}"#,
        server::demo::FACILITY_ID,
        t(start_min),
        t(start_min + minutes)
    )
}

/// The value of the series `name{labels}` (labels as rendered, `""` for none) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

#[test]
fn metrics_pass_promtool_and_count_calculations_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = operator_token(d);
    demo_facility(d, 600);
    let config = write_config(d, "bind = \"127.0.0.1:0\"\n");
    let served = Served::start(d, &config);

    let (status, body) = served.request(
        "POST",
        "/v1/thermaliq/calculate",
        Some(&token),
        &calculate_body(0, 10),
    );
    assert_eq!(status, 200, "{body}");
    let calc: Value = serde_json::from_str(&body).unwrap();
    let id = calc["calculation_id"].as_str().unwrap().to_string();
    let (status, _) = served.request(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        Some(&token),
        "",
    );
    assert_eq!(status, 200);
    // The end before the start: refused, a validation error of a calculation request.
    let (status, body) = served.request(
        "POST",
        "/v1/thermaliq/calculate",
        Some(&token),
        &calculate_body(10, -5),
    );
    assert_eq!(status, 422, "{body}");
    // Not JSON at all: refused before the calculation, counted all the same.
    let (status, _) = served.request("POST", "/v1/thermaliq/calculate", Some(&token), "{");
    assert_eq!(status, 400);

    let (status, scrape) = served.request("GET", "/metrics", None, "");
    assert_eq!(status, 200, "{scrape}");
    assert_eq!(
        sample(&scrape, "thermaliq_calculation_requests_total"),
        Some(3.0),
        "{scrape}"
    );
    assert_eq!(
        sample(
            &scrape,
            "thermaliq_calculation_errors_total{error_type=\"validation\"}"
        ),
        Some(2.0),
        "{scrape}"
    );
    // A real histogram: cumulative buckets up to +Inf, as histogram_quantile needs.
    assert_eq!(
        sample(
            &scrape,
            "thermaliq_calculation_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(3.0),
        "{scrape}"
    );
    assert_eq!(
        sample(
            &scrape,
            "thermaliq_calculation_duration_seconds_bucket{le=\"15\"}"
        ),
        Some(3.0),
        "{scrape}"
    );
    assert!(scrape.contains("# TYPE thermaliq_calculation_duration_seconds histogram"));
    // Routes by template, never the raw id.
    assert!(
        scrape.contains(
            "thermaliq_http_requests_total{route=\"/v1/thermaliq/calculations/{id}\",method=\"GET\",status=\"200\"} 1"
        ),
        "{scrape}"
    );
    assert!(
        !scrape.contains(&id),
        "a calculation id became a label: {scrape}"
    );
    // The calculation's gauges, per unit and per facility.
    for unit in ["BLR-001", "FUR-001"] {
        let series = format!(
            "thermaliq_heat_balance_closure_percent{{facility_id=\"{}\",equipment_id=\"{unit}\"}}",
            server::demo::FACILITY_ID
        );
        let closure = sample(&scrape, &series).unwrap_or_else(|| panic!("{series}: {scrape}"));
        assert!(closure.abs() <= 10.0, "{series} = {closure}");
    }
    let quality = sample(
        &scrape,
        &format!(
            "thermaliq_data_quality_score{{facility_id=\"{}\"}}",
            server::demo::FACILITY_ID
        ),
    )
    .expect("data quality gauge");
    assert!((0.0..=1.0).contains(&quality), "{quality}");
    assert_eq!(
        sample(
            &scrape,
            &format!(
                "thermaliq_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&scrape, "thermaliq_cache_requests_total{result=\"hit\"}"),
        Some(1.0),
        "the GET was answered from the cache: {scrape}"
    );

    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut promtool = match promtool {
        Ok(p) => p,
        Err(e) => panic!(
            "promtool is needed to check the scrape ({e}); install Debian's `prometheus` package"
        ),
    };
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{scrape}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn sighup_applies_a_new_limit_and_refuses_an_invalid_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = operator_token(d);
    let config = write_config(d, "bind = \"127.0.0.1:0\"\nmax_period_hours = 2\n");
    let served = Served::start(d, &config);
    // No facility exists: a period within the limit passes the period check and ends in 404;
    // one beyond it is refused first, naming time_period.
    let ninety_minutes = calculate_body(0, 90);
    let calc = |body: &str| served.request("POST", "/v1/thermaliq/calculate", Some(&token), body);
    let (status, body) = calc(&ninety_minutes);
    assert_eq!(status, 404, "{body}");

    write_config(
        d,
        "bind = \"127.0.0.1:1\"\nmax_period_hours = 1\nmin_coverage = 0.9\n",
    );
    served.signal("HUP");
    let warned =
        served.wait_for_log("configuration change requires restart; the running value stays");
    assert_eq!(warned["fields"]["field"], "bind");
    let loaded = served.wait_for_log("Configuration loaded");
    let shown = loaded["fields"]["settings"].as_str().unwrap();
    assert!(shown.contains("max_period: 3600s"), "{shown}");
    assert!(
        shown.contains("bind: 127.0.0.1:0,"),
        "the bind is kept: {shown}"
    );
    let (status, body) = calc(&ninety_minutes);
    assert_eq!(status, 422, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["field"], "time_period", "{body}");

    // A file with a typo is refused whole: its valid-looking limit does not apply either.
    write_config(
        d,
        "bind = \"127.0.0.1:0\"\nmax_period_hours = 3\nmax_period_hour = 3\n",
    );
    served.signal("HUP");
    let refused = served.wait_for_log("configuration refused; the running configuration stays");
    let why = refused["fields"]["error"].as_str().unwrap();
    assert!(why.contains("max_period_hour"), "{why}");
    assert_eq!(refused["level"], "ERROR");
    let (status, body) = calc(&ninety_minutes);
    assert_eq!(status, 422, "the previous limit still applies: {body}");
    let (status, body) = calc(&calculate_body(0, 30));
    assert_eq!(status, 404, "{body}");
}

/// Starts a `PUT /facilities/{id}` whose body is only half sent; returns the connection and
/// the rest of the body.
fn start_slow_put(served: &Served, token: &str) -> (TcpStream, Vec<u8>) {
    let spec = server::demo::SPEC_TOML.as_bytes();
    let mut s = TcpStream::connect(&served.addr).expect("connects");
    write!(
        s,
        "PUT /v1/thermaliq/facilities/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/toml\r\n\
         Content-Length: {}\r\n\r\n",
        server::demo::FACILITY_ID,
        served.addr,
        spec.len()
    )
    .unwrap();
    let half = spec.len() / 2;
    s.write_all(&spec[..half]).unwrap();
    s.flush().unwrap();
    (s, spec[half..].to_vec())
}

#[test]
fn sigterm_drains_finishes_the_request_in_flight_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = operator_token(d);
    let config = write_config(
        d,
        "bind = \"127.0.0.1:0\"\nshutdown_drain_seconds = 1\nshutdown_grace_seconds = 15\n",
    );
    let mut served = Served::start(d, &config);
    let (status, _) = served.request("GET", "/v1/thermaliq/ready", None, "");
    assert_eq!(status, 200);
    let (mut in_flight, rest) = start_slow_put(&served, &token);
    // Let the server read the request head, so the request is in flight, not just queued.
    std::thread::sleep(Duration::from_millis(300));

    served.signal("TERM");
    served.wait_for_log("stopping: readiness answers 503");
    let (status, body) = served.request("GET", "/v1/thermaliq/ready", None, "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("shutting down"), "{body}");
    served.wait_for_log("listener closed; finishing requests in flight");
    // The log line comes as the close begins; the accept loop stops right after it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&served.addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the listener still accepts after the drain"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    in_flight.write_all(&rest).unwrap();
    let (status, body) = read_answer(&mut in_flight);
    assert_eq!(status, 201, "the request in flight completes: {body}");
    let exit = served.wait_exit();
    assert!(exit.success(), "{exit:?}");
    served.wait_for_log("stopped");
}

#[test]
fn a_request_outliving_the_grace_ends_the_process_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = operator_token(d);
    let config = write_config(d, "bind = \"127.0.0.1:0\"\nshutdown_grace_seconds = 1\n");
    let mut served = Served::start(d, &config);
    let (_stuck, _) = start_slow_put(&served, &token);
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    served.signal("TERM");
    let logged = served.wait_for_log("stopped without finishing every request");
    assert_eq!(logged["level"], "ERROR");
    let exit = served.wait_exit();
    assert_eq!(exit.code(), Some(1), "{exit:?}");
    assert!(signalled.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_invalid_configuration_is_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "min_coverage = 2\n");
    let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("min_coverage"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("THERMALIQ_CONFIG", dir.path().join("missing.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.toml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `thermaliq health` with `args` and `env`; returns its exit code and output.
fn health(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .arg("health")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn the_health_verb_passes_only_when_the_server_says_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "bind = \"127.0.0.1:0\"\n");
    let served = Served::start(dir.path(), &config);
    let url = format!("http://{}", served.addr);

    let (code, text) = health(&["--url", &url], &[]);
    assert_eq!(code, Some(0), "{text}");
    let answer: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(answer["status"], "healthy", "{text}");
    assert_eq!(answer["version"], env!("CARGO_PKG_VERSION"), "{text}");

    // Without --url it probes the configured bind address, a wildcard one on loopback.
    let port = served.addr.rsplit(':').next().unwrap();
    let wildcard = format!("0.0.0.0:{port}");
    let (code, text) = health(&[], &[("THERMALIQ_BIND", &wildcard)]);
    assert_eq!(code, Some(0), "{text}");

    // A server that is not there, or a path that is not the health endpoint, fails.
    drop(served);
    let (code, text) = health(&["--url", &url, "--timeout", "2"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("did not answer"), "{text}");
    let (code, text) = health(&["--timeout", "0"], &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--timeout"), "{text}");
}
