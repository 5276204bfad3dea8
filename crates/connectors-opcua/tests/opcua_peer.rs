//! The OPC UA poller against a real OPC UA server from PyPI (asyncua, started by each test as a
//! subprocess on loopback, SecurityPolicy None, anonymous). Needs THERMALIQ_TEST_PYTHON:
//! `source scripts/test-peers.sh`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use connectors::ReadingSink;
use connectors::modbus::Health;
use connectors::opcua_config::{
    Identity, Mode, OpcUaNode, OpcUaSource, SecurityMode, SecurityPolicy,
};
use connectors::{Quality, Reading};
use connectors_opcua::{OpcUaPoller, StartError};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

const FACILITY: &str = "FAC-OPCUA";

fn python() -> String {
    std::env::var("THERMALIQ_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "THERMALIQ_TEST_PYTHON is not set: run `source scripts/test-peers.sh` first (it \
             installs asyncua in a venv under target/test-peers and exports the variable)"
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

/// The value of the health gauge of `source`.
fn health(source: &str) -> Option<f64> {
    let text = recorder().render();
    text.lines()
        .filter(|l| l.starts_with("thermaliq_connector_health{"))
        .find(|l| {
            l.contains("connector_type=\"OpcUa\"") && l.contains(&format!("source=\"{source}\""))
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

/// An asyncua server process serving the test's variables under `ns=2;s=<id>`.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<String>,
}

impl Peer {
    fn start(dir: &Path, port: u16, nodes: &str) -> Self {
        let spec = dir.join(format!("nodes-{port}.json"));
        std::fs::write(&spec, nodes).expect("nodes written");
        let log = dir.join(format!("peer-{port}.log"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/opcua_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(&spec)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("the peer starts");
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (tx, answers) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut peer = Self {
            child,
            stdin,
            answers,
        };
        match peer.answers.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line == "ready 2" => peer,
            other => {
                peer.stop();
                panic!(
                    "the asyncua peer did not start on port {port} ({other:?}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    /// Writes a value: `set ID VALUE [QUALITY [SOURCE_US [SERVER_US]]]`.
    fn set(&mut self, command: &str) {
        writeln!(self.stdin, "set {command}").expect("command sent");
        let answer = self
            .answers
            .recv_timeout(Duration::from_secs(10))
            .expect("the peer answers");
        assert_eq!(answer, "ok", "peer refused `set {command}`");
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

/// The ingest path, keeping every reading it was given.
#[derive(Default)]
struct Collect {
    readings: Mutex<Vec<Reading>>,
}

impl ReadingSink for Collect {
    type Error = std::convert::Infallible;

    async fn ingest(&self, facility_id: &str, readings: &[Reading]) -> Result<(), Self::Error> {
        assert_eq!(facility_id, FACILITY);
        self.readings
            .lock()
            .expect("readings")
            .extend_from_slice(readings);
        Ok(())
    }
}

impl Collect {
    fn of(&self, tag: &str) -> Vec<Reading> {
        let all = self.readings.lock().expect("readings");
        all.iter().filter(|r| r.tag == tag).cloned().collect()
    }

    fn len(&self) -> usize {
        self.readings.lock().expect("readings").len()
    }
}

/// Waits up to 20 s for `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const NODES: &str = r#"[
    {"id": "Boiler.FuelFlow", "type": "Double", "value": 1234.5678901234567},
    {"id": "Boiler.FlueTemp", "type": "Float", "value": 0.1},
    {"id": "Boiler.Starts", "type": "Int32", "value": -2147483000},
    {"id": "Boiler.Pumps", "type": "UInt16", "value": 65535}
]"#;

fn node(id: &str, tag: &str) -> OpcUaNode {
    OpcUaNode {
        node_id: format!("ns=2;s={id}"),
        tag: tag.into(),
        scale: 1.0,
        offset: 0.0,
        unit: "kg/h".into(),
    }
}

fn nodes() -> Vec<OpcUaNode> {
    vec![
        node("Boiler.FuelFlow", "FI-1"),
        node("Boiler.FlueTemp", "TI-1"),
        node("Boiler.Starts", "NI-1"),
        node("Boiler.Pumps", "NI-2"),
    ]
}

fn source(name: &str, port: u16, mode: Mode, nodes: Vec<OpcUaNode>) -> OpcUaSource {
    let (publishing, sampling, poll) = match mode {
        Mode::Subscribe => (Some(0.1), Some(0.05), None),
        Mode::Poll => (None, None, Some(0.1)),
    };
    OpcUaSource {
        name: name.into(),
        endpoint_url: format!("opc.tcp://127.0.0.1:{port}/thermaliq/"),
        security_policy: SecurityPolicy::None,
        security_mode: SecurityMode::None,
        pki_dir: None,
        trust_server_certificate: false,
        identity: Identity::Anonymous,
        username: None,
        password_secret: None,
        mode,
        publishing_interval_s: publishing,
        sampling_interval_s: sampling,
        poll_interval_s: poll,
        timeout_s: 2.0,
        retries: 1,
        retry_backoff_s: 0.1,
        breaker_failures: 3,
        breaker_open_s: 0.5,
        nodes,
    }
}

/// The last reading of `tag`, when there is one.
fn last(sink: &Collect, tag: &str) -> Option<Reading> {
    sink.of(tag).pop()
}

/// Every node type read to the exact value, then a changed value delivered with the server's
/// source timestamp and quality.
async fn types_and_changes(mode: Mode) {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut peer = Peer::start(dir.path(), port, NODES);
    let sink = Arc::new(Collect::default());
    let name = format!("scada-{mode:?}");
    let poller = OpcUaPoller::start(
        FACILITY,
        &[source(&name, port, mode, nodes())],
        1000,
        sink.clone(),
    )
    .expect("starts");
    until("every tag", || {
        ["FI-1", "TI-1", "NI-1", "NI-2"]
            .iter()
            .all(|t| last(&sink, t).is_some())
    })
    .await;
    let value = |tag: &str| last(&sink, tag).map(|r| (r.value, r.quality));
    assert_eq!(value("FI-1"), Some((1234.5678901234567, Quality::Good)));
    assert_eq!(value("TI-1"), Some((f64::from(0.1f32), Quality::Good)));
    assert_eq!(value("NI-1"), Some((-2_147_483_000.0, Quality::Good)));
    assert_eq!(value("NI-2"), Some((65_535.0, Quality::Good)));
    until("health 1", || health(&name) == Some(1.0)).await;
    assert_eq!(poller.status()[0].health, Health::Up);
    assert_eq!(poller.status()[0].connector_type, "OpcUa");

    // 2025-01-01T00:00:00.123456Z: the reading carries the source timestamp to the µs.
    let at = 1_735_689_600_123_456_i64;
    peer.set(&format!("Boiler.FuelFlow 2.75 good {at}"));
    until("the changed value", || {
        last(&sink, "FI-1").is_some_and(|r| r.value == 2.75)
    })
    .await;
    assert_eq!(last(&sink, "FI-1").map(|r| r.time_us), Some(at));
    peer.set(&format!(
        "Boiler.FuelFlow 3.25 uncertain {}",
        at + 1_000_000
    ));
    until("the uncertain value", || {
        last(&sink, "FI-1").is_some_and(|r| r.value == 3.25)
    })
    .await;
    assert_eq!(
        last(&sink, "FI-1").map(|r| r.quality),
        Some(Quality::Uncertain)
    );
    // asyncua sends a bad status without its value (OPC UA allows it): no reading, the node
    // reported, health 0 until the node is good again.
    let before = sink.of("NI-2").len();
    peer.set(&format!("Boiler.Pumps 4 bad {}", at + 2_000_000));
    until("the bad node reported", || {
        poller.status()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("ns=2;s=Boiler.Pumps") && e.contains("Bad"))
    })
    .await;
    assert_eq!(poller.status()[0].health, Health::Down);
    assert_eq!(health(&name), Some(0.0));
    assert!(
        sink.of("NI-2")[before..]
            .iter()
            .all(|r| r.value == 65_535.0)
    );
    peer.set(&format!("Boiler.Pumps 5 good {}", at + 3_000_000));
    until("the good value", || {
        last(&sink, "NI-2").is_some_and(|r| r.value == 5.0)
    })
    .await;
    until("health 1 again", || health(&name) == Some(1.0)).await;
    assert_eq!(last(&sink, "NI-2").map(|r| r.time_us), Some(at + 3_000_000));
    assert_eq!(poller.shutdown().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_reads_every_type_exactly_and_delivers_changes() {
    types_and_changes(Mode::Subscribe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_reads_every_type_exactly_and_delivers_changes() {
    types_and_changes(Mode::Poll).await;
}

/// The server stopped: health 0, the source reported down, no reading while it is away;
/// restarted with a new value: health 1 and the new value delivered.
async fn outage(mode: Mode) {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut peer = Peer::start(dir.path(), port, NODES);
    let sink = Arc::new(Collect::default());
    let name = format!("outage-{mode:?}");
    let poller = OpcUaPoller::start(
        FACILITY,
        &[source(&name, port, mode, nodes())],
        1000,
        sink.clone(),
    )
    .expect("starts");
    until("health 1", || health(&name) == Some(1.0)).await;
    until("a first reading", || last(&sink, "FI-1").is_some()).await;

    peer.stop();
    until("health 0", || health(&name) == Some(0.0)).await;
    let status = poller.status().remove(0);
    assert_eq!(status.health, Health::Down);
    assert!(status.last_error.is_some(), "{status:?}");
    let during = sink.len();
    until("the circuit to open", || poller.status()[0].circuit_open).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sink.len(),
        during,
        "readings appeared while the server was down"
    );
    assert_eq!(health(&name), Some(0.0));

    let nodes = NODES.replace("1234.5678901234567", "99.5");
    let _peer = Peer::start(dir.path(), port, &nodes);
    until("health 1 again", || health(&name) == Some(1.0)).await;
    until("the new value", || {
        last(&sink, "FI-1").is_some_and(|r| r.value == 99.5)
    })
    .await;
    let status = poller.status().remove(0);
    assert_eq!(
        (
            status.health,
            status.circuit_open,
            status.consecutive_failures
        ),
        (Health::Up, false, 0)
    );
    assert_eq!(poller.shutdown().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_survives_a_server_restart() {
    outage(Mode::Subscribe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_survives_a_server_restart() {
    outage(Mode::Poll).await;
}

/// A node the server does not have: reported (health 0, named in the status), no reading for
/// it, the other nodes still delivered.
async fn unknown_node(mode: Mode) {
    recorder();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _peer = Peer::start(dir.path(), port, NODES);
    let sink = Arc::new(Collect::default());
    let name = format!("missing-{mode:?}");
    let mut nodes = nodes();
    nodes.insert(1, node("Boiler.Missing", "XI-9"));
    let poller = OpcUaPoller::start(
        FACILITY,
        &[source(&name, port, mode, nodes)],
        1000,
        sink.clone(),
    )
    .expect("starts");
    until("the other tags", || {
        ["FI-1", "TI-1", "NI-1", "NI-2"]
            .iter()
            .all(|t| last(&sink, t).is_some())
    })
    .await;
    until("the node reported", || {
        poller.status()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("ns=2;s=Boiler.Missing") && e.contains("BadNodeIdUnknown"))
    })
    .await;
    assert_eq!(poller.status()[0].health, Health::Down);
    assert_eq!(health(&name), Some(0.0));
    assert!(sink.of("XI-9").is_empty());
    assert_eq!(last(&sink, "NI-2").map(|r| r.value), Some(65_535.0));
    poller.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_reports_an_unknown_node_and_delivers_the_others() {
    unknown_node(Mode::Subscribe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_reports_an_unknown_node_and_delivers_the_others() {
    unknown_node(Mode::Poll).await;
}

#[tokio::test]
async fn refusals_name_the_field() {
    let sink = Arc::new(Collect::default());
    let refused = |s: OpcUaSource| match OpcUaPoller::start(FACILITY, &[s], 10, sink.clone()) {
        Err(StartError::Config(e)) => e.to_string(),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("accepted"),
    };
    let base = || source("s", 4840, Mode::Subscribe, nodes());
    let mut cases: Vec<(OpcUaSource, &str)> = Vec::new();
    let mut s = base();
    s.nodes[2].node_id = "ns=2;x=Boiler".into();
    cases.push((s, "connectors.opcua[0].nodes[2].node_id:"));
    let mut s = base();
    s.endpoint_url = "http://127.0.0.1:4840/".into();
    cases.push((s, "connectors.opcua[0].endpoint_url:"));
    let mut s = base();
    s.security_mode = SecurityMode::SignAndEncrypt;
    cases.push((s, "connectors.opcua[0].security_mode:"));
    let mut s = base();
    s.security_policy = SecurityPolicy::Basic256Sha256;
    s.security_mode = SecurityMode::Sign;
    cases.push((s, "connectors.opcua[0].pki_dir:"));
    let mut s = base();
    s.poll_interval_s = Some(1.0);
    cases.push((
        s,
        "connectors.opcua[0].poll_interval_s: does not apply with mode = \"subscribe\"",
    ));
    let mut s = base();
    s.identity = Identity::Username;
    s.username = Some("thermaliq".into());
    cases.push((s, "connectors.opcua[0].password_secret:"));
    let mut s = base();
    s.identity = Identity::Username;
    s.username = Some("thermaliq".into());
    s.password_secret = Some("THERMALIQ_TEST_OPCUA_PASSWORD_UNSET".into());
    cases.push((
        s,
        "connectors.opcua[0].password_secret: neither THERMALIQ_TEST_OPCUA_PASSWORD_UNSET",
    ));
    let mut s = base();
    s.nodes[3].tag = "FI-1".into();
    cases.push((s, "connectors.opcua[0].nodes[3].tag:"));
    let mut s = base();
    s.nodes[0].scale = 0.0;
    cases.push((s, "connectors.opcua[0].nodes[0].scale:"));
    let mut s = base();
    s.timeout_s = -1.0;
    cases.push((s, "connectors.opcua[0].timeout_s:"));
    for (s, expected) in cases {
        let e = refused(s);
        assert!(
            e.starts_with(expected),
            "{e:?} does not start with {expected:?}"
        );
    }
    let both = [base(), base()];
    match OpcUaPoller::start(FACILITY, &both, 10, sink.clone()) {
        Err(e) => assert!(
            e.to_string().starts_with("connectors.opcua[1].name:"),
            "{e}"
        ),
        Ok(_) => panic!("two sources of one name accepted"),
    }
}
