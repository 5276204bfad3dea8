//! The Modbus poller against a real Modbus TCP server from PyPI (pymodbus, started by each
//! test as a subprocess on loopback), delivering into a real SQLite store. Needs
//! THERMALIQ_TEST_PYTHON: `source scripts/test-peers.sh`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connectors::ReadingSink;
use connectors::modbus::{ConnectorsConfig, Health, ModbusDevice, ModbusPoint, ModbusPoller};
use connectors::modbus::{DataType, Order, RegisterFunction};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use store::{FacilityRecord, Reading, Store};

const FACILITY: &str = "FAC-MODBUS";

fn python() -> String {
    std::env::var("THERMALIQ_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "THERMALIQ_TEST_PYTHON is not set: run `source scripts/test-peers.sh` first (it \
             installs pymodbus in a venv under target/test-peers and exports the variable)"
        )
    })
}

fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("the test's metrics recorder installs")
    })
}

/// The value of a metric series whose labels include every `labels` pair.
fn metric(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = recorder().render();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn now_us() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(d.as_micros()).expect("fits")
}

/// A pymodbus server process serving fixed registers.
struct Peer {
    child: Child,
    requests: Arc<Mutex<Vec<Value>>>,
    stderr: PathBuf,
}

impl Peer {
    fn start(dir: &Path, port: u16, unit: u8, holding: &[u16], input: &[u16]) -> Self {
        let spec = dir.join(format!("registers-{port}.json"));
        let doc = json!({"unit": unit, "holding": holding, "input": input});
        std::fs::write(&spec, doc.to_string()).expect("registers written");
        let stderr = dir.join(format!("peer-{port}.log"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/modbus_peer.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(&spec)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("log file"))
            .spawn()
            .expect("the peer starts");
        let stdout = child.stdout.take().expect("piped");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let log = requests.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "ready" {
                    let _ = ready_tx.send(());
                } else if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    log.lock().expect("log").push(v);
                }
            }
        });
        let mut peer = Self {
            child,
            requests,
            stderr,
        };
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            peer.stop();
            panic!(
                "the pymodbus peer did not start on port {port}: {}",
                std::fs::read_to_string(&peer.stderr).unwrap_or_default()
            );
        }
        peer
    }

    /// Requests received: (function code, address, count).
    fn requests(&self) -> Vec<(u64, u64, u64)> {
        let field = |v: &Value, k: &str| v[k].as_u64().expect("a number");
        self.requests
            .lock()
            .expect("log")
            .iter()
            .map(|v| (field(v, "function"), field(v, "address"), field(v, "count")))
            .collect()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The ingest path as the server will provide it: a real store, which the test can make
/// unavailable.
struct StoreSink {
    store: Store,
    down: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
enum SinkError {
    #[error("the ingest path is unavailable")]
    Down,
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl ReadingSink for StoreSink {
    type Error = SinkError;

    async fn ingest(&self, facility_id: &str, readings: &[Reading]) -> Result<(), SinkError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SinkError::Down);
        }
        self.store.insert_readings(facility_id, readings).await?;
        Ok(())
    }
}

async fn sink(dir: &Path) -> Arc<StoreSink> {
    let store = Store::open_in_dir(dir).await.expect("store opens");
    store.migrate_up(None).await.expect("migrated");
    store
        .put_facility(&FacilityRecord {
            id: FACILITY.into(),
            name: "Modbus test plant".into(),
            time_zone: "UTC".into(),
            spec: json!({}),
            equipment_ids: Vec::new(),
            updated_at_us: 0,
        })
        .await
        .expect("facility stored");
    Arc::new(StoreSink {
        store,
        down: AtomicBool::new(false),
    })
}

/// Every stored reading of `tag`, by time.
async fn stored(sink: &StoreSink, tag: &str) -> Vec<(i64, f64)> {
    let series = sink
        .store
        .readings(FACILITY, &[tag], 0, i64::MAX)
        .await
        .expect("readings");
    series
        .first()
        .map(|s| {
            s.times_us
                .iter()
                .copied()
                .zip(s.values.iter().copied())
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_for<F: FnMut() -> bool>(what: &str, seconds: u64, mut done: F) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn point(
    tag: &str,
    function: RegisterFunction,
    address: u32,
    data_type: DataType,
    order: (Order, Order),
) -> ModbusPoint {
    ModbusPoint {
        tag: tag.into(),
        address,
        function,
        data_type,
        word_order: (data_type.registers() > 1).then_some(order.0),
        byte_order: Some(order.1),
        scale: 1.0,
        offset: 0.0,
        unit: "kW".into(),
    }
}

fn device(name: &str, port: u16, unit: u8, points: Vec<ModbusPoint>) -> ModbusDevice {
    ModbusDevice {
        name: name.into(),
        host: "localhost".into(),
        port: u32::from(port),
        unit_id: u32::from(unit),
        poll_interval_s: 0.1,
        timeout_s: 0.5,
        retries: 1,
        retry_backoff_s: 0.05,
        breaker_failures: 3,
        breaker_open_s: 0.5,
        points,
    }
}

fn config(devices: Vec<ModbusDevice>, buffer_limit: usize) -> ConnectorsConfig {
    ConnectorsConfig {
        buffer_limit,
        modbus: devices,
        historian: Vec::new(),
        opcua: Vec::new(),
    }
}

const ABCD: (Order, Order) = (Order::Big, Order::Big);
const CDAB: (Order, Order) = (Order::Little, Order::Big);
const BADC: (Order, Order) = (Order::Big, Order::Little);
const DCBA: (Order, Order) = (Order::Little, Order::Little);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_and_order_reads_from_the_peer_in_coalesced_requests() {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut holding = vec![0u16; 24];
    let mut input = vec![0u16; 330];
    // Registers as a meter would hold them, the IEEE 754 and two's-complement patterns of
    // src/modbus/decode.rs in the order each point declares.
    holding[0] = 0xFF85; // u16 65413
    holding[1] = 0xFF85; // i16 −123
    holding[2..4].copy_from_slice(&[0x1234, 0x5678]); // u32 ABCD 305419896
    holding[4..6].copy_from_slice(&[0x1DC0, 0xFFFE]); // i32 CDAB −123456
    holding[6..8].copy_from_slice(&[0xC841, 0x0000]); // f32 BADC 25.0
    holding[8..12].copy_from_slice(&[0x182D, 0x4454, 0xFB21, 0x0940]); // f64 DCBA π
    holding[12..14].copy_from_slice(&[0x3F80, 0x0000]); // f32 ABCD 1.0, × 2 + 1
    holding[14..20].copy_from_slice(&[0xDEAD; 6]); // not mapped: never read
    holding[20..22].copy_from_slice(&[0x0000, 0x41C8]); // f32 CDAB 25.0
    holding[22..24].copy_from_slice(&[0x0000, 0xC841]); // f32 DCBA 25.0
    input[0..2].copy_from_slice(&[0x7856, 0x3412]); // u32 DCBA 305419896
    input[2] = 0xFFFE; // i16 −2
    input[3..7].copy_from_slice(&[0x4039, 0, 0, 0]); // f64 ABCD 25.0
    input[100] = 7; // u16 after a gap
    // 130 contiguous u16, each holding its address: more than one request may carry.
    for (a, word) in input.iter_mut().enumerate().skip(200) {
        *word = u16::try_from(a).expect("a register address");
    }
    let _peer_guard = Peer::start(dir.path(), port, 17, &holding, &input);
    let peer = &_peer_guard;

    use DataType::*;
    use RegisterFunction::{Holding, Input};
    let mut points = vec![
        point("h-u16", Holding, 0, U16, ABCD),
        point("h-i16", Holding, 1, I16, ABCD),
        point("h-u32-abcd", Holding, 2, U32, ABCD),
        point("h-i32-cdab", Holding, 4, I32, CDAB),
        point("h-f32-badc", Holding, 6, F32, BADC),
        point("h-f64-dcba", Holding, 8, F64, DCBA),
        point("h-f32-scaled", Holding, 12, F32, ABCD),
        point("h-f32-cdab", Holding, 20, F32, CDAB),
        point("h-f32-dcba", Holding, 22, F32, DCBA),
        point("i-u32-dcba", Input, 0, U32, DCBA),
        point("i-i16", Input, 2, I16, ABCD),
        point("i-f64-abcd", Input, 3, F64, ABCD),
        point("i-u16-gap", Input, 100, U16, ABCD),
    ];
    points[6].scale = 2.0;
    points[6].offset = 1.0;
    for a in 200..330u32 {
        points.push(point(&format!("i-block-{a}"), Input, a, U16, ABCD));
    }
    let total = points.len();
    let mut d = device("meter-types", port, 17, points);
    d.poll_interval_s = 3_600.0; // one poll: its requests are the ones counted
    let sink = sink(dir.path()).await;
    let poller = ModbusPoller::start(FACILITY, &config(vec![d], 10_000), sink.clone())
        .expect("the poller starts");
    let store = sink.store.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.reading_count(FACILITY).await.expect("count") < total as u64 {
        assert!(Instant::now() < deadline, "{:?}", poller.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let expected = [
        ("h-u16", 65_413.0),
        ("h-i16", -123.0),
        ("h-u32-abcd", 305_419_896.0),
        ("h-i32-cdab", -123_456.0),
        ("h-f32-badc", 25.0),
        ("h-f64-dcba", std::f64::consts::PI),
        ("h-f32-scaled", 3.0),
        ("h-f32-cdab", 25.0),
        ("h-f32-dcba", 25.0),
        ("i-u32-dcba", 305_419_896.0),
        ("i-i16", -2.0),
        ("i-f64-abcd", 25.0),
        ("i-u16-gap", 7.0),
        ("i-block-200", 200.0),
        ("i-block-329", 329.0),
    ];
    for (tag, value) in expected {
        let got = stored(&sink, tag).await;
        assert_eq!(got.len(), 1, "{tag}: {got:?}");
        assert_eq!(got[0].1.to_bits(), f64::to_bits(value), "{tag}: {got:?}");
    }
    // Requests the peer received: contiguous points share one, the gaps split, 130 registers
    // take two (125 + 5).
    let mut requests = peer.requests();
    requests.sort_unstable();
    assert_eq!(
        requests,
        [
            (3, 0, 14),
            (3, 20, 4),
            (4, 0, 7),
            (4, 100, 1),
            (4, 200, 125),
            (4, 325, 5),
        ]
    );
    let source = [("source", "meter-types")];
    assert_eq!(
        metric("thermaliq_connector_requests_total", &source),
        Some(6.0)
    );
    assert_eq!(
        metric("thermaliq_connector_readings_total", &source),
        Some(total as f64)
    );
    let health = [("connector_type", "EnergyMeter"), ("source", "meter-types")];
    assert_eq!(metric("thermaliq_connector_health", &health), Some(1.0));
    let status = poller.status();
    assert_eq!(status[0].health, Health::Up, "{status:?}");
    assert_eq!(poller.shutdown().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_peer_is_down_invents_nothing_and_recovers() {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut peer = Peer::start(dir.path(), port, 1, &[0x41C8, 0x0000], &[0]);
    let points = vec![point(
        "power",
        RegisterFunction::Holding,
        0,
        DataType::F32,
        ABCD,
    )];
    let sink = sink(dir.path()).await;
    let poller = ModbusPoller::start(
        FACILITY,
        &config(vec![device("meter-outage", port, 1, points)], 10_000),
        sink.clone(),
    )
    .expect("the poller starts");
    let health = [
        ("connector_type", "EnergyMeter"),
        ("source", "meter-outage"),
    ];
    let store = sink.store.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.reading_count(FACILITY).await.expect("count") < 3 {
        assert!(Instant::now() < deadline, "{:?}", poller.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(metric("thermaliq_connector_health", &health), Some(1.0));

    peer.stop();
    let stopped_us = now_us();
    wait_for("health 0", 10, || poller.status()[0].health == Health::Down).await;
    assert_eq!(metric("thermaliq_connector_health", &health), Some(0.0));
    // Three failed polls open the breaker.
    wait_for("the circuit to open", 10, || {
        poller.status()[0].circuit_open
    })
    .await;
    let status = poller.status();
    assert!(status[0].last_error.is_some(), "{status:?}");
    let errors: f64 = ["connection", "transport", "timeout"]
        .iter()
        .filter_map(|kind| {
            metric(
                "thermaliq_connector_errors_total",
                &[("source", "meter-outage"), ("error_type", kind)],
            )
        })
        .sum();
    assert!(errors >= 3.0, "{errors} errors counted");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(metric("thermaliq_connector_health", &health), Some(0.0));

    // The meter comes back reading 42.0 (0x42280000).
    let restarted_us = now_us();
    let _peer = Peer::start(dir.path(), port, 1, &[0x4228, 0x0000], &[0]);
    wait_for("health 1 again", 20, || {
        poller.status()[0].health == Health::Up
    })
    .await;
    assert_eq!(metric("thermaliq_connector_health", &health), Some(1.0));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stored(&sink, "power").await.iter().any(|r| r.1 == 42.0) {
        assert!(Instant::now() < deadline, "no reading after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(poller.shutdown().await, 0);

    let readings = stored(&sink, "power").await;
    let invented: Vec<_> = readings
        .iter()
        .filter(|(t, _)| *t > stopped_us && *t < restarted_us)
        .collect();
    assert!(
        invented.is_empty(),
        "readings while the meter was down: {invented:?}"
    );
    for (t, v) in &readings {
        let expected = if *t <= stopped_us { 25.0 } else { 42.0 };
        assert_eq!(*v, expected, "reading at {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_wait_in_the_buffer_while_the_sink_is_down_then_arrive() {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut peer = Peer::start(dir.path(), port, 1, &[1234], &[0]);
    let points = vec![point(
        "flow",
        RegisterFunction::Holding,
        0,
        DataType::U16,
        ABCD,
    )];
    let sink = sink(dir.path()).await;
    sink.down.store(true, Ordering::SeqCst);
    let mut d = device("meter-buffered", port, 1, points);
    d.poll_interval_s = 0.05;
    let poller = ModbusPoller::start(FACILITY, &config(vec![d], 10_000), sink.clone())
        .expect("the poller starts");
    wait_for("20 buffered readings", 20, || poller.buffered() >= 20).await;
    assert_eq!(sink.store.reading_count(FACILITY).await.expect("count"), 0);
    assert_eq!(
        poller.status()[0].health,
        Health::Up,
        "the meter itself is fine"
    );
    let sink_errors = metric(
        "thermaliq_connector_errors_total",
        &[("source", "meter-buffered"), ("error_type", "sink")],
    );
    assert!(sink_errors.is_some_and(|n| n >= 1.0), "{sink_errors:?}");
    // The meter stops too, so the readings polled are a fixed set: one per request answered.
    peer.stop();
    wait_for("health 0", 10, || poller.status()[0].health == Health::Down).await;
    let counted = |name: &str, error_type: Option<&str>| {
        let mut labels = vec![("source", "meter-buffered")];
        labels.extend(error_type.map(|e| ("error_type", e)));
        metric(name, &labels).unwrap_or(0.0)
    };
    let unanswered: f64 = ["transport", "timeout", "exception", "protocol"]
        .iter()
        .map(|e| counted("thermaliq_connector_errors_total", Some(e)))
        .sum();
    let polled = counted("thermaliq_connector_requests_total", None) - unanswered;
    assert_eq!(
        poller.buffered() as f64,
        polled,
        "every polled reading is held"
    );

    sink.down.store(false, Ordering::SeqCst);
    wait_for("the buffer to drain", 20, || poller.buffered() == 0).await;
    assert_eq!(poller.shutdown().await, 0);
    let readings = stored(&sink, "flow").await;
    assert_eq!(
        readings.len() as f64,
        polled,
        "every polled reading is stored"
    );
    assert!(readings.iter().all(|r| r.1 == 1234.0));
    assert_eq!(
        counted("thermaliq_connector_readings_total", None),
        readings.len() as f64
    );
    assert_eq!(
        counted("thermaliq_connector_readings_dropped_total", None),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_its_bound_the_buffer_drops_the_oldest_and_counts_them() {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut peer = Peer::start(dir.path(), port, 1, &[7], &[0]);
    let points = vec![point(
        "level",
        RegisterFunction::Holding,
        0,
        DataType::U16,
        ABCD,
    )];
    let sink = sink(dir.path()).await;
    sink.down.store(true, Ordering::SeqCst);
    let mut d = device("meter-bounded", port, 1, points);
    d.poll_interval_s = 0.02;
    let poller = ModbusPoller::start(FACILITY, &config(vec![d], 10), sink.clone())
        .expect("the poller starts");
    wait_for("dropped readings", 20, || poller.dropped() >= 5).await;
    assert!(poller.buffered() <= 10, "{}", poller.buffered());
    let dropped = metric(
        "thermaliq_connector_readings_dropped_total",
        &[("source", "meter-bounded")],
    );
    assert!(dropped.is_some_and(|n| n >= 5.0), "{dropped:?}");
    // Long enough for the buffer to be replaced by readings polled from now on.
    let dropping_us = now_us();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(poller.buffered() <= 10, "{}", poller.buffered());
    // The meter stops, so the buffer holds what was polled before, and nothing new arrives.
    peer.stop();
    wait_for("health 0", 10, || poller.status()[0].health == Health::Down).await;

    sink.down.store(false, Ordering::SeqCst);
    wait_for("the buffer to drain", 20, || poller.buffered() == 0).await;
    let dropped = poller.dropped();
    assert_eq!(poller.shutdown().await, 0);
    assert_eq!(
        metric(
            "thermaliq_connector_readings_dropped_total",
            &[("source", "meter-bounded")]
        ),
        Some(dropped as f64)
    );
    let readings = stored(&sink, "level").await;
    // The newest 10 were kept: keeping the oldest would store readings from before
    // dropping began.
    assert_eq!(readings.len(), 10, "{readings:?}");
    assert!(
        readings.iter().all(|r| r.0 > dropping_us && r.1 == 7.0),
        "{readings:?} {dropping_us}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_the_meter_refuses_gives_no_reading_and_health_0() {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _peer = Peer::start(dir.path(), port, 1, &[11, 12], &[0]);
    let points = vec![
        point("mapped", RegisterFunction::Holding, 0, DataType::U16, ABCD),
        // The peer holds input register 0 only: 5000 is an illegal data address.
        point(
            "unmapped",
            RegisterFunction::Input,
            5_000,
            DataType::U16,
            ABCD,
        ),
    ];
    let sink = sink(dir.path()).await;
    let poller = ModbusPoller::start(
        FACILITY,
        &config(vec![device("meter-partial", port, 1, points)], 100),
        sink.clone(),
    )
    .expect("the poller starts");
    let store = sink.store.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.reading_count(FACILITY).await.expect("count") < 2 {
        assert!(Instant::now() < deadline, "{:?}", poller.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = poller.status();
    assert_eq!(status[0].health, Health::Down, "{status:?}");
    let error = status[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("input registers 5000..5001"), "{error}");
    let exceptions = metric(
        "thermaliq_connector_errors_total",
        &[("source", "meter-partial"), ("error_type", "exception")],
    );
    assert!(exceptions.is_some_and(|n| n >= 1.0), "{exceptions:?}");
    assert_eq!(
        metric(
            "thermaliq_connector_health",
            &[
                ("connector_type", "EnergyMeter"),
                ("source", "meter-partial")
            ]
        ),
        Some(0.0)
    );
    poller.shutdown().await;
    assert!(stored(&sink, "unmapped").await.is_empty());
    assert!(stored(&sink, "mapped").await.iter().all(|r| r.1 == 11.0));
}
