//! A facility whose file configures a Modbus TCP meter fills itself: the real `thermaliq
//! serve` polls a real Modbus server (pymodbus, from PyPI) into its store, calculates from
//! those readings, reports the source in `GET /integrations/status` and on `/metrics`, and
//! reports it down (never filled in) while the meter is away. With PostgreSQL, two replicas
//! share the facility's sources: one polls, the other takes over when it stops.
//!
//! Needs `source scripts/test-peers.sh` (THERMALIQ_TEST_PYTHON with pymodbus); the replica
//! test needs THERMALIQ_TEST_POSTGRES_URL (scripts/test-services.sh).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

#[allow(dead_code)]
mod ops_support;

use ops_support::{At, Databases, Served, ok};

const FACILITY: &str = "FAC-MB-001";

/// The meter's registers: (facility tag, unit, value); each an f32 in two holding registers,
/// high word first, at address 2 × index.
const POINTS: [(&str, &str, f32); 10] = [
    ("FT-101", "Nm3/h", 2_400.0),
    ("TT-102", "°C", 15.0),
    ("FT-110", "t/h", 33.0),
    ("PT-111", "bar(g)", 10.0),
    ("TT-112", "°C", 105.0),
    ("AT-120", "%", 3.0),
    ("TT-121", "°C", 160.0),
    ("AT-122", "ppm", 20.0),
    ("TT-130", "°C", 25.0),
    ("MT-131", "%", 50.0),
];

/// How long anything the test waits for may take.
const PATIENCE: Duration = Duration::from_secs(40);

fn python() -> String {
    std::env::var("THERMALIQ_TEST_PYTHON").expect(
        "THERMALIQ_TEST_PYTHON is not set: run `source scripts/test-peers.sh` first (it installs \
         the pymodbus peer)",
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn format_time(us: i64) -> String {
    server::http::format_us(us)
}

fn now_us() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(d.as_micros()).expect("fits")
}

/// The facility file: the demo plant's steam boiler with `points` fed by one Modbus meter.
fn facility_toml(port: u16, points: &[(&str, &str, f32)]) -> String {
    let mut text = format!(
        r#"id = "{FACILITY}"
name = "Modbus-fed boiler"
time_zone = "UTC"

[[equipment]]
id = "BLR-MB-1"
name = "Steam boiler (natural gas)"
type = "steam_boiler"
fuel = {{ standard = "natural_gas" }}
rating = "25 MW"
surface = {{ fraction_of_rating = "0.4 %" }}

[equipment.reference]
o2_basis = "dry"
ambient_pressure = "101.325 kPa"
steam_quality = 1
blowdown_fraction = "3 %"

[equipment.tags]
fuel_flow = {{ tag = "FT-101", unit = "Nm3/h" }}
fuel_temperature = {{ tag = "TT-102", unit = "°C" }}
steam_flow = {{ tag = "FT-110", unit = "t/h" }}
steam_pressure = {{ tag = "PT-111", unit = "bar(g)" }}
feedwater_temperature = {{ tag = "TT-112", unit = "°C" }}
flue_gas_o2 = {{ tag = "AT-120", unit = "%" }}
flue_gas_temperature = {{ tag = "TT-121", unit = "°C" }}
flue_gas_co = {{ tag = "AT-122", unit = "ppm" }}
combustion_air_temperature = {{ tag = "TT-130", unit = "°C" }}
combustion_air_humidity = {{ tag = "MT-131", unit = "%" }}

[connectors]
buffer_limit = 10000

[[connectors.modbus]]
name = "boiler-meter"
host = "127.0.0.1"
port = {port}
poll_interval_s = 0.1
timeout_s = 0.5
retries = 0
breaker_failures = 2
breaker_open_s = 0.5
"#
    );
    for (i, (tag, unit, _)) in points.iter().enumerate() {
        text.push_str(&format!(
            "\n[[connectors.modbus.points]]\ntag = \"{tag}\"\naddress = {}\nfunction = \
             \"holding\"\ndata_type = \"f32\"\nunit = \"{unit}\"\n",
            2 * i
        ));
    }
    text
}

/// A pymodbus server serving [`POINTS`] as holding registers.
struct Meter {
    child: Child,
}

impl Meter {
    fn start(dir: &Path, port: u16) -> Self {
        let words: Vec<u16> = POINTS
            .iter()
            .flat_map(|(_, _, v)| {
                let bits = v.to_bits();
                [(bits >> 16) as u16, (bits & 0xffff) as u16]
            })
            .collect();
        let registers = dir.join("registers.json");
        std::fs::write(
            &registers,
            json!({"unit": 1, "holding": words, "input": [0]}).to_string(),
        )
        .expect("registers written");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/tests/peers/modbus_peer.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(&registers)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the pymodbus peer starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line == "ready" => break,
                Some(Ok(_)) => {}
                _ => panic!("the pymodbus peer did not start on port {port}"),
            }
        }
        // Drain the request trace so the peer never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn source_health(status: &Value) -> Option<&str> {
    status["facilities"]
        .as_array()?
        .iter()
        .find(|f| f["facility_id"] == FACILITY)?["sources"][0]["health"]
        .as_str()
}

fn polled_here(status: &Value) -> bool {
    status["facilities"].as_array().is_some_and(|fs| {
        fs.iter()
            .any(|f| f["facility_id"] == FACILITY && f["polled_by"] == "this_replica")
    })
}

/// Applies the facility file, expecting success.
fn apply(dir: &Path, at: &At, text: &str) {
    let file = dir.join("facility.toml");
    std::fs::write(&file, text).expect("facility written");
    ok(at, &["facility", "apply", file.to_str().expect("utf-8")]);
}

/// The integrations status.
fn integrations(service: &Served, token: &str) -> Value {
    service.json("GET", "/v1/thermaliq/integrations/status", token, "")
}

/// Waits until `done` holds for the integrations status; panics after [`PATIENCE`].
fn wait_status(service: &Served, token: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = integrations(service, token);
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}: {status:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of the connector health gauge of the meter on `/metrics`.
fn health_gauge(service: &Served) -> Option<f64> {
    let (_, scrape) = service.request("GET", "/metrics", None, "");
    scrape.lines().find_map(|l| {
        (l.starts_with("thermaliq_connector_health{") && l.contains("source=\"boiler-meter\""))
            .then(|| l.rsplit(' ').next()?.parse().ok())
            .flatten()
    })
}

fn operator_token(at: &At) -> String {
    ok(
        at,
        &["token", "create", "--name", "ops", "--role", "operator"],
    )
    .trim()
    .to_string()
}

#[test]
fn a_facility_fed_by_a_modbus_meter_fills_itself_and_calculates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let at = At::Dir(dir.path().to_path_buf());
    let port = free_port();
    let meter = Meter::start(dir.path(), port);
    apply(dir.path(), &at, &facility_toml(port, &POINTS));
    let token = &operator_token(&at);
    let service = Served::start(&at, &[]);

    let status = wait_status(&service, token, "the meter comes up", |s| {
        source_health(s) == Some("up")
    });
    assert_eq!(status["status"], "healthy", "{status:#}");
    assert!(polled_here(&status), "{status:#}");
    assert_eq!(
        status["facilities"][0]["sources"][0]["connector_type"],
        "EnergyMeter"
    );

    // Three whole seconds of polled readings, then a calculation over them.
    let start_us = (now_us() / 1_000_000 + 1) * 1_000_000;
    let end_us = start_us + 3_000_000;
    while now_us() < end_us + 500_000 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = json!({
        "facility_id": FACILITY,
        "time_period": {"start": format_time(start_us), "end": format_time(end_us)},
    });
    let calc = service.json("POST", "/v1/thermaliq/calculate", token, &body.to_string());
    assert_eq!(calc["status"], "completed", "{calc:#}");
    let id = calc["calculation_id"].as_str().expect("an id");
    let stored = service.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        token,
        "",
    );
    let text = stored.to_string();
    // The aggregated inputs are the meter's registers, exactly (constant over the period).
    for (pointer, expected) in [
        ("/equipment/0/input/fuel_flow/value", 2_400.0),
        ("/equipment/0/input/output/steam/flow/value", 33.0),
        ("/equipment/0/input/output/steam/pressure/value", 10.0),
        ("/equipment/0/input/flue_gas/temperature/value", 160.0),
        ("/equipment/0/input/flue_gas/o2/value", 3.0),
    ] {
        let value = stored.pointer(pointer).and_then(Value::as_f64);
        assert_eq!(value, Some(expected), "{pointer}: {text}");
    }
    let efficiency = calc["efficiency"]
        .as_f64()
        .or_else(|| stored["efficiency"].as_f64());
    assert!(
        efficiency.is_some_and(|e| (60.0..100.0).contains(&e)),
        "a plausible boiler efficiency: {calc:#}"
    );
    assert_eq!(health_gauge(&service), Some(1.0));
    // Without erp_url the completed calculation waits in the ERP outbox, and the status says so.
    let erp = &integrations(&service, token)["erp"];
    assert_eq!(erp["configured"], false, "{erp:#}");
    assert_eq!(erp["worker"], Value::Null, "{erp:#}");
    assert_eq!(erp["pending"], 1, "{erp:#}");

    // The meter goes away: reported down, never filled in; back: up again.
    drop(meter);
    let status = wait_status(&service, token, "the meter is reported down", |s| {
        source_health(s) == Some("down")
    });
    assert_eq!(status["status"], "degraded", "{status:#}");
    assert!(
        status["facilities"][0]["sources"][0]["last_error"].is_string(),
        "{status:#}"
    );
    assert_eq!(health_gauge(&service), Some(0.0));
    let _meter = Meter::start(dir.path(), port);
    wait_status(&service, token, "the meter is back", |s| {
        source_health(s) == Some("up")
    });
    assert_eq!(health_gauge(&service), Some(1.0));
}

#[test]
fn sources_feeding_unknown_tags_or_other_units_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("facility.toml");
    let refused = |points: &[(&str, &str, f32)]| {
        std::fs::write(&file, facility_toml(502, points)).expect("written");
        let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
            .args(["facility", "apply"])
            .arg(&file)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let mut points = POINTS.to_vec();
    points[3] = ("PT-999", "bar(g)", 10.0);
    let err = refused(&points);
    assert!(err.contains("connectors.modbus[0].points[3].tag"), "{err}");
    assert!(err.contains("PT-999"), "{err}");

    let mut points = POINTS.to_vec();
    points[2] = ("FT-110", "kg/h", 33_000.0);
    let err = refused(&points);
    assert!(err.contains("connectors.modbus[0].points[2].unit"), "{err}");

    // bar (absolute) is not bar(g): the offset of the atmosphere is a unit slip too.
    let mut points = POINTS.to_vec();
    points[3] = ("PT-111", "bar", 11.0);
    let err = refused(&points);
    assert!(err.contains("connectors.modbus[0].points[3].unit"), "{err}");

    // Another spelling of the same unit is the same unit.
    let mut points = POINTS.to_vec();
    points[4] = ("TT-112", "degC", 105.0);
    std::fs::write(&file, facility_toml(502, &points)).expect("written");
    ok(
        &At::Dir(dir.path().to_path_buf()),
        &["facility", "apply", file.to_str().expect("utf-8")],
    );
}

#[test]
fn with_two_replicas_one_polls_and_the_other_takes_over() {
    if std::env::var_os("THERMALIQ_TEST_POSTGRES_URL").is_none() {
        eprintln!("THERMALIQ_TEST_POSTGRES_URL is not set: the replica test needs PostgreSQL");
        return;
    }
    let mut databases = Databases::new("tq_connectors");
    let at = At::Url(databases.create("replicas"));
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _meter = Meter::start(dir.path(), port);
    apply(dir.path(), &at, &facility_toml(port, &POINTS));
    let token = &operator_token(&at);

    let first = Served::start(&at, &[]);
    wait_status(&first, token, "the first replica polls", polled_here);
    let second = Served::start(&at, &[]);
    let status = wait_status(&second, token, "the second sees the facility", |s| {
        s["facilities"][0]["polled_by"].is_string()
    });
    assert_eq!(
        status["facilities"][0]["polled_by"], "another_replica",
        "{status:#}"
    );
    assert_eq!(status["facilities"][0]["sources"], json!([]), "{status:#}");
    assert!(polled_here(&integrations(&first, token)));

    // The polling replica stops: its lease is released and the other takes the sources over.
    drop(first);
    let status = wait_status(&second, token, "the second takes over", |s| {
        polled_here(s) && source_health(s) == Some("up")
    });
    assert_eq!(status["status"], "healthy", "{status:#}");
}

/// The OPC UA server of the connectors-opcua tests (asyncua), serving one Double node that
/// is written again every 100 ms, as a SCADA server refreshes a live measurement (a value
/// never written again keeps the source time of its first write).
struct OpcUaServer {
    child: Child,
}

impl OpcUaServer {
    fn start(dir: &Path, port: u16, node: &str, value: f64) -> Self {
        let nodes = dir.join("nodes.json");
        std::fs::write(
            &nodes,
            json!([{"id": node, "type": "Double", "value": value}]).to_string(),
        )
        .expect("nodes written");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../connectors-opcua/tests/peers/opcua_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(&nodes)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the asyncua peer starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("ready") => break,
                Some(Ok(_)) => {}
                _ => panic!("the asyncua peer did not start on port {port}"),
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        let mut stdin = child.stdin.take().expect("piped");
        let command = format!("set {node} {value}\n");
        std::thread::spawn(move || {
            use std::io::Write;
            // Ends when the server is gone and the pipe breaks.
            while stdin
                .write_all(command.as_bytes())
                .and_then(|()| stdin.flush())
                .is_ok()
            {
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self { child }
    }
}

impl Drop for OpcUaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `influxd` (Debian's influxdb 1.x) bound to loopback with its data in a directory.
struct Influxd {
    child: Child,
    http: String,
}

impl Influxd {
    fn start(dir: &Path) -> Self {
        let config = dir.join("influxdb.conf");
        // An empty file: defaults plus the variables below, never /etc/influxdb's file.
        std::fs::write(&config, "").expect("config written");
        let http = format!("127.0.0.1:{}", free_port());
        let child = Command::new("influxd")
            .args(["run", "-config"])
            .arg(&config)
            .env(
                "INFLUXDB_BIND_ADDRESS",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("INFLUXDB_HTTP_BIND_ADDRESS", &http)
            .env("INFLUXDB_META_DIR", dir.join("meta"))
            .env("INFLUXDB_DATA_DIR", dir.join("data"))
            .env("INFLUXDB_DATA_WAL_DIR", dir.join("wal"))
            .env("INFLUXDB_REPORTING_DISABLED", "true")
            .env("INFLUXDB_HTTP_LOG_ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("influxd starts (Debian package influxdb)");
        let influxd = Self { child, http };
        let deadline = Instant::now() + PATIENCE;
        // Not listening yet refuses the connection; listening answers /ping with 204.
        while std::net::TcpStream::connect(&influxd.http).is_err()
            || ops_support::http(&influxd.http, "GET", "/ping", None, "").0 != 204
        {
            assert!(Instant::now() < deadline, "influxd does not answer /ping");
            std::thread::sleep(Duration::from_millis(100));
        }
        influxd
    }

    /// POSTs a form-encoded query or line-protocol body; panics unless InfluxDB accepts it.
    fn post(&self, path: &str, body: &str, content_type: &str) {
        let mut s = std::net::TcpStream::connect(&self.http).expect("connects");
        use std::io::{Read, Write};
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: \
             {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            self.http,
            body.len()
        )
        .expect("request sent");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("answer read");
        assert!(
            answer.starts_with("HTTP/1.1 20"),
            "InfluxDB refused {path}: {answer}"
        );
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn modbus_opc_ua_and_the_historian_feed_one_facility_that_calculates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let at = At::Dir(dir.path().join("store"));
    std::fs::create_dir_all(dir.path().join("store")).expect("store dir");
    // Modbus feeds eight tags; OPC UA the flue-gas temperature; the historian the humidity.
    let modbus: Vec<_> = POINTS
        .iter()
        .copied()
        .filter(|(tag, _, _)| *tag != "TT-121" && *tag != "MT-131")
        .collect();
    let modbus_port = free_port();
    let _meter = Meter::start(dir.path(), modbus_port);
    let opcua_port = free_port();
    let _opcua = OpcUaServer::start(dir.path(), opcua_port, "Boiler.FlueGasTemp", 160.0);
    let influx_dir = dir.path().join("influx");
    std::fs::create_dir_all(&influx_dir).expect("influx dir");
    let influxd = Influxd::start(&influx_dir);
    influxd.post(
        "/query",
        "q=CREATE+DATABASE+plant",
        "application/x-www-form-urlencoded",
    );
    // The humidity at 10 Hz from 5 s ago to 20 s ahead: the follower reads what is due.
    let first_us = (now_us() / 1_000_000 - 5) * 1_000_000;
    let lines: Vec<String> = (0..250)
        .map(|k| {
            format!(
                "air,unit=BLR-MB-1 rh=50 {}",
                (first_us + k * 100_000) * 1_000
            )
        })
        .collect();
    influxd.post("/write?db=plant", &lines.join("\n"), "text/plain");

    // Modbus addresses follow the position in POINTS, so the meter's registers still match.
    let mut text = facility_toml(modbus_port, &[]);
    for (tag, unit, _) in &modbus {
        let i = POINTS
            .iter()
            .position(|(t, _, _)| t == tag)
            .expect("a point");
        text.push_str(&format!(
            "\n[[connectors.modbus.points]]\ntag = \"{tag}\"\naddress = {}\nfunction = \
             \"holding\"\ndata_type = \"f32\"\nunit = \"{unit}\"\n",
            2 * i
        ));
    }
    text.push_str(&format!(
        r#"
[[connectors.opcua]]
name = "boiler-scada"
endpoint_url = "opc.tcp://127.0.0.1:{opcua_port}/thermaliq/"
mode = "poll"
poll_interval_s = 0.1
timeout_s = 2

[[connectors.opcua.nodes]]
node_id = "ns=2;s=Boiler.FlueGasTemp"
tag = "TT-121"
unit = "°C"

[[connectors.historian]]
name = "plant-influx"
kind = "influxdb1"
url = "http://{}"
database = "plant"
poll_interval_s = 0.5
timeout_s = 2
lookback_s = 60
overlap_s = 1

[[connectors.historian.series]]
tag = "MT-131"
measurement = "air"
field = "rh"
tags = {{ unit = "BLR-MB-1" }}
unit = "%"
"#,
        influxd.http
    ));
    apply(dir.path(), &at, &text);
    let token = &operator_token(&at);
    let service = Served::start(&at, &[]);

    let status = wait_status(&service, token, "every source comes up", |s| {
        s["facilities"][0]["sources"]
            .as_array()
            .is_some_and(|all| all.len() == 3 && all.iter().all(|x| x["health"] == "up"))
    });
    let kinds: Vec<&str> = status["facilities"][0]["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|x| x["connector_type"].as_str())
        .collect();
    assert_eq!(kinds, ["EnergyMeter", "OpcUa", "Historian"], "{status:#}");

    // Three whole seconds every source has covered, then a calculation over them.
    let start_us = (now_us() / 1_000_000 + 1) * 1_000_000;
    let end_us = start_us + 3_000_000;
    while now_us() < end_us + 1_500_000 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = json!({
        "facility_id": FACILITY,
        "time_period": {"start": format_time(start_us), "end": format_time(end_us)},
    });
    let calc = service.json("POST", "/v1/thermaliq/calculate", token, &body.to_string());
    assert_eq!(calc["status"], "completed", "{calc:#}");
    let id = calc["calculation_id"].as_str().expect("an id");
    let stored = service.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        token,
        "",
    );
    for (pointer, expected) in [
        ("/equipment/0/input/fuel_flow/value", 2_400.0),
        ("/equipment/0/input/flue_gas/temperature/value", 160.0),
        (
            "/equipment/0/input/combustion_air/relative_humidity/value",
            50.0,
        ),
    ] {
        let value = stored.pointer(pointer).and_then(Value::as_f64);
        assert_eq!(value, Some(expected), "{pointer}: {stored}");
    }
}
