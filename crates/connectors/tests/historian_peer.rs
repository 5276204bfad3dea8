//! The historian connector against a real InfluxDB 1.x (`influxd` from Debian's `influxdb`
//! package), started by each test on free loopback ports with its own directories: points
//! written with the line protocol are read back exactly, failures arrive as typed errors, and
//! the follower re-reads the gap after the server was stopped and restarted.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use connectors::ReadingSink;
use connectors::config::ConnectorsConfig;
use connectors::historian::{
    HistorianError, HistorianFollower, HistorianKind, HistorianSeries, HistorianSource,
    SourceReader,
};
use connectors::modbus::Health;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use store::{FacilityRecord, Quality, Reading, Store};

const FACILITY: &str = "FAC-HISTORIAN";
const DB: &str = "plant";

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
    recorder()
        .render()
        .lines()
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

fn http() -> reqwest::Client {
    connectors::install_tls_provider();
    reqwest::Client::new()
}

/// An `influxd` process bound to loopback, with its data in `dir`; restartable on the same
/// ports and data.
struct Influxd {
    dir: PathBuf,
    http_port: u16,
    rpc_port: u16,
    auth: bool,
    child: Option<Child>,
}

impl Influxd {
    async fn start(dir: &Path, auth: bool) -> Self {
        std::fs::create_dir_all(dir).expect("influxd directory");
        let mut s = Self {
            dir: dir.to_path_buf(),
            http_port: free_port(),
            rpc_port: free_port(),
            auth,
            child: None,
        };
        s.run().await;
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    async fn run(&mut self) {
        let config = self.dir.join("influxdb.conf");
        // An empty file: defaults plus the variables below, never /etc/influxdb's file.
        std::fs::write(&config, "").expect("config written");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("influxd.log"))
            .expect("log file");
        let child = Command::new("influxd")
            .args(["run", "-config"])
            .arg(&config)
            .env(
                "INFLUXDB_BIND_ADDRESS",
                format!("127.0.0.1:{}", self.rpc_port),
            )
            .env(
                "INFLUXDB_HTTP_BIND_ADDRESS",
                format!("127.0.0.1:{}", self.http_port),
            )
            .env("INFLUXDB_META_DIR", self.dir.join("meta"))
            .env("INFLUXDB_DATA_DIR", self.dir.join("data"))
            .env("INFLUXDB_DATA_WAL_DIR", self.dir.join("wal"))
            .env("INFLUXDB_REPORTING_DISABLED", "true")
            .env("INFLUXDB_HTTP_LOG_ENABLED", "false")
            .env("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false")
            .env("INFLUXDB_HTTP_AUTH_ENABLED", self.auth.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("influxd does not start ({e}): `apt-get install influxdb` (Debian)")
            });
        self.child = Some(child);
        let ping = format!("{}/ping", self.url());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http().get(&ping).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "influxd did not answer /ping: {}",
                std::fs::read_to_string(self.dir.join("influxd.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs an InfluxQL statement as `user`, failing the test on any error.
    async fn admin(&self, q: &str, user: Option<(&str, &str)>) {
        let mut r = http()
            .post(format!("{}/query", self.url()))
            .form(&[("q", q)]);
        if let Some((u, p)) = user {
            r = r.basic_auth(u, Some(p));
        }
        let r = r.send().await.expect("query sent");
        let status = r.status();
        let body = r.text().await.expect("body");
        assert!(
            status.is_success() && !body.contains("\"error\""),
            "{q}: {status} {body}"
        );
    }

    /// Writes line-protocol points with µs timestamps.
    async fn write(&self, lines: &[String], user: Option<(&str, &str)>) {
        for part in lines.chunks(5_000) {
            let mut r = http()
                .post(format!("{}/write?db={DB}&precision=u", self.url()))
                .body(part.join("\n"));
            if let Some((u, p)) = user {
                r = r.basic_auth(u, Some(p));
            }
            let r = r.send().await.expect("write sent");
            let status = r.status();
            assert_eq!(
                status.as_u16(),
                204,
                "write: {}",
                r.text().await.unwrap_or_default()
            );
        }
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn series(tag: &str, measurement: &str, field: &str, unit: &str) -> HistorianSeries {
    HistorianSeries {
        tag: tag.into(),
        measurement: measurement.into(),
        field: field.into(),
        tags: BTreeMap::from([("unit".to_string(), unit.to_string())]),
        quality_field: None,
        unit: "kg/h".into(),
    }
}

fn source(name: &str, url: &str, series: Vec<HistorianSeries>) -> HistorianSource {
    HistorianSource {
        name: name.into(),
        kind: HistorianKind::Influxdb1,
        url: url.into(),
        database: DB.into(),
        username_secret: None,
        password_secret: None,
        poll_interval_s: 0.2,
        timeout_s: 2.0,
        retries: 0,
        retry_backoff_s: 0.0,
        breaker_failures: 1,
        breaker_open_s: 1.0,
        chunk_s: 3_600.0,
        overlap_s: 0.0,
        lookback_s: 60.0,
        series,
    }
}

fn config(sources: Vec<HistorianSource>) -> ConnectorsConfig {
    ConnectorsConfig {
        historian: sources,
        ..ConnectorsConfig::default()
    }
}

fn reader_with(s: &HistorianSource, vars: &BTreeMap<String, String>) -> SourceReader {
    config(vec![s.clone()]).validate().expect("valid source");
    SourceReader::new(s, "connectors.historian[0]", vars).expect("reader")
}

fn reader(s: &HistorianSource) -> SourceReader {
    reader_with(s, &BTreeMap::new())
}

/// Readings as comparable tuples, ordered by tag and time.
fn sorted(readings: &[Reading]) -> Vec<(String, i64, u64, Quality)> {
    let mut v: Vec<_> = readings
        .iter()
        .map(|r| (r.tag.clone(), r.time_us, r.value.to_bits(), r.quality))
        .collect();
    v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    v
}

fn reading(tag: &str, time_us: i64, value: f64, quality: Quality) -> Reading {
    Reading {
        tag: tag.into(),
        time_us,
        value,
        quality,
    }
}

const T0: i64 = 1_735_689_600_000_000; // 2025-01-01T00:00:00Z

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_reads_back_exactly_what_was_written() {
    recorder();
    let dir = tempfile::tempdir().expect("tempdir");
    let influx = Influxd::start(dir.path(), false).await;
    influx.admin(&format!("CREATE DATABASE {DB}"), None).await;
    let mut lines = vec![
        // Start of the range: included; values with every digit; integers become numbers.
        format!("boiler,unit=B1 fuel_flow=12.345678901234567,steam_t=180.25,q=192i {T0}"),
        format!("boiler,unit=B1 fuel_flow=-0.001,q=68i {}", T0 + 1_000_000),
        format!("boiler,unit=B1 steam_t=181,q=0i {}", T0 + 2_000_000),
        // The other unit's series must not leak into B1's tags.
        format!("boiler,unit=B2 fuel_flow=99.5 {}", T0 + 1_000_000),
        format!(
            "header,unit=H1 pressure=41.5,status=\"Uncertain\" {}",
            T0 + 500_000
        ),
        format!(
            "header,unit=H1 pressure=42.0,status=\"good\" {}",
            T0 + 1_500_000
        ),
        // A string where a number belongs is refused, not stored.
        format!("header,unit=H1 label=\"offline\" {}", T0 + 1_700_000),
        // End of the range: excluded. Before the start: excluded.
        format!("boiler,unit=B1 fuel_flow=7 {}", T0 + 3_000_000),
        format!("boiler,unit=B1 fuel_flow=6 {}", T0 - 1),
    ];
    // Past one answer chunk (10 000 rows): the chunked answer is read whole.
    for i in 0..25_000i64 {
        lines.push(format!(
            "dense,unit=D1 v={}.25 {}",
            i,
            T0 + 100_000 + i * 100
        ));
    }
    influx.write(&lines, None).await;

    let mut fuel = series("BLR-001.fuel_flow", "boiler", "fuel_flow", "B1");
    fuel.quality_field = Some("q".into());
    let mut steam = series("BLR-001.steam_temperature", "boiler", "steam_t", "B1");
    steam.quality_field = Some("q".into());
    let fuel2 = series("BLR-002.fuel_flow", "boiler", "fuel_flow", "B2");
    let mut pressure = series("HDR-001.pressure", "header", "pressure", "H1");
    pressure.quality_field = Some("status".into());
    let label = series("HDR-001.label", "header", "label", "H1");
    let dense = series("DNS-001.v", "dense", "v", "D1");
    let s = source(
        "plant-influx",
        &influx.url(),
        vec![fuel, steam, fuel2, pressure, label, dense],
    );
    let pulled = reader(&s)
        .read(T0, T0 + 3_000_000)
        .await
        .expect("the range reads");

    let mut expected = vec![
        reading("BLR-001.fuel_flow", T0, 12.345678901234567, Quality::Good),
        reading("BLR-001.steam_temperature", T0, 180.25, Quality::Good),
        reading(
            "BLR-001.fuel_flow",
            T0 + 1_000_000,
            -0.001,
            Quality::Uncertain,
        ),
        reading(
            "BLR-001.steam_temperature",
            T0 + 2_000_000,
            181.0,
            Quality::Bad,
        ),
        reading("BLR-002.fuel_flow", T0 + 1_000_000, 99.5, Quality::Good),
        reading("HDR-001.pressure", T0 + 500_000, 41.5, Quality::Uncertain),
        reading("HDR-001.pressure", T0 + 1_500_000, 42.0, Quality::Good),
    ];
    for i in 0..25_000i64 {
        expected.push(reading(
            "DNS-001.v",
            T0 + 100_000 + i * 100,
            i as f64 + 0.25,
            Quality::Good,
        ));
    }
    assert_eq!(sorted(&pulled.readings), sorted(&expected));
    assert_eq!(pulled.refused.len(), 1, "{:?}", pulled.refused);
    assert!(pulled.refused[0].contains("HDR-001.label"));
    assert_eq!(
        metric(
            "thermaliq_connector_errors_total",
            &[("source", "plant-influx"), ("error_type", "decode")]
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_arrive_as_typed_errors_and_credentials_come_from_secrets() {
    recorder();
    let dir = tempfile::tempdir().expect("tempdir");
    let influx = Influxd::start(dir.path(), true).await;
    // With authentication on, the first statement may create the admin user.
    influx
        .admin(
            "CREATE USER ops WITH PASSWORD 's3cret' WITH ALL PRIVILEGES",
            None,
        )
        .await;
    let ops = Some(("ops", "s3cret"));
    influx.admin(&format!("CREATE DATABASE {DB}"), ops).await;
    influx
        .write(&[format!("boiler,unit=B1 fuel_flow=3.5 {T0}")], ops)
        .await;
    let fuel = || vec![series("BLR-001.fuel_flow", "boiler", "fuel_flow", "B1")];

    // The password from a file named by the _FILE variable, the user from the variable.
    let secret_file = dir.path().join("influx-password");
    std::fs::write(&secret_file, "s3cret\n").expect("secret written");
    let vars = BTreeMap::from([
        ("HIST_TEST_USER".to_string(), "ops".to_string()),
        (
            "HIST_TEST_PASSWORD_FILE".to_string(),
            secret_file.to_str().expect("utf-8").to_string(),
        ),
        ("HIST_TEST_WRONG_USER".to_string(), "ops".to_string()),
        ("HIST_TEST_WRONG_PASSWORD".to_string(), "nope".to_string()),
    ]);
    let mut s = source("secured", &influx.url(), fuel());
    s.username_secret = Some("HIST_TEST_USER".into());
    s.password_secret = Some("HIST_TEST_PASSWORD".into());
    let pulled = reader_with(&s, &vars)
        .read(T0, T0 + 1)
        .await
        .expect("authenticated read");
    assert_eq!(
        sorted(&pulled.readings),
        sorted(&[reading("BLR-001.fuel_flow", T0, 3.5, Quality::Good)])
    );

    // A wrong password: HTTP 401, not retried.
    let mut wrong = source("wrong-password", &influx.url(), fuel());
    wrong.username_secret = Some("HIST_TEST_WRONG_USER".into());
    wrong.password_secret = Some("HIST_TEST_WRONG_PASSWORD".into());
    wrong.retries = 3;
    match reader_with(&wrong, &vars).read(T0, T0 + 1).await {
        Err(HistorianError::Http { status: 401, .. }) => {}
        other => panic!("expected HTTP 401, got {other:?}"),
    }
    assert_eq!(
        metric(
            "thermaliq_connector_requests_total",
            &[("source", "wrong-password")]
        ),
        Some(1.0),
        "a refusal is not retried"
    );

    // No credentials at all: refused by InfluxDB as unauthorized.
    let anonymous = source("anonymous", &influx.url(), fuel());
    assert!(matches!(
        reader(&anonymous).read(T0, T0 + 1).await,
        Err(HistorianError::Http { status: 401, .. })
    ));

    // A missing secret is refused at start, naming the field and the variable.
    let mut missing = source("missing", &influx.url(), fuel());
    missing.username_secret = Some("HIST_TEST_UNSET_USER".into());
    missing.password_secret = Some("HIST_TEST_UNSET_PASSWORD".into());
    let e = SourceReader::new(&missing, "connectors.historian[0]", &vars).expect_err("refused");
    assert_eq!(e.field, "connectors.historian[0].username_secret");
    assert!(e.reason.contains("HIST_TEST_UNSET_USER_FILE"), "{e}");

    // An unknown database: InfluxDB's statement error, typed as a refused query.
    let mut unknown = s.clone();
    unknown.name = "unknown-db".into();
    unknown.database = "nodb".into();
    match reader_with(&unknown, &vars).read(T0, T0 + 1).await {
        Err(HistorianError::Query(m)) => assert!(m.contains("database not found"), "{m}"),
        other => panic!("expected a refused query, got {other:?}"),
    }

    // Nobody listening: a connection error, retried `retries` times.
    let mut down = source(
        "nobody",
        &format!("http://127.0.0.1:{}", free_port()),
        fuel(),
    );
    down.retries = 2;
    down.retry_backoff_s = 0.01;
    let e = reader(&down).read(T0, T0 + 1).await.expect_err("refused");
    assert_eq!(e.kind(), "connection", "{e}");
    assert_eq!(
        metric(
            "thermaliq_connector_requests_total",
            &[("source", "nobody")]
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(
            "thermaliq_connector_errors_total",
            &[("source", "nobody"), ("error_type", "connection")]
        ),
        Some(3.0)
    );
}

/// The ingest path as the server provides it: a real store.
struct StoreSink {
    store: Store,
}

impl ReadingSink for StoreSink {
    type Error = store::Error;

    async fn ingest(&self, facility_id: &str, readings: &[Reading]) -> Result<(), store::Error> {
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
            name: "Historian test plant".into(),
            time_zone: "UTC".into(),
            spec: json!({}),
            equipment_ids: Vec::new(),
            updated_at_us: 0,
        })
        .await
        .expect("facility stored");
    Arc::new(StoreSink { store })
}

/// Every stored reading of `tag` as (time, value bits).
async fn stored(sink: &StoreSink, tag: &str) -> Vec<(i64, u64)> {
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
                .zip(s.values.iter().map(|v| v.to_bits()))
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_until<F: AsyncFnMut() -> bool>(what: &str, seconds: u64, mut done: F) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_reads_the_gap_after_the_historian_was_down() {
    recorder();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut influx = Influxd::start(&dir.path().join("influx"), false).await;
    influx.admin(&format!("CREATE DATABASE {DB}"), None).await;
    let sink = sink(&dir.path().join("store")).await;
    const TAG: &str = "BLR-001.fuel_flow";
    let mut written: Vec<(i64, u64)> = Vec::new();
    let mut value = 10.0f64;
    let mut point = |t: i64| {
        value += 0.125;
        written.push((t, value.to_bits()));
        format!("boiler,unit=B1 fuel_flow={value} {t}")
    };

    // History inside the look-back, read at start.
    let now = store::now_us();
    let history: Vec<String> = (0..5)
        .map(|i| point(now - 30_000_000 + i * 1_000_000))
        .collect();
    influx.write(&history, None).await;

    let mut s = source(
        "plant-influx",
        &influx.url(),
        vec![series(TAG, "boiler", "fuel_flow", "B1")],
    );
    // After one failed pull the circuit stays open long enough for the test to restart the
    // server and write the outage's points before the follower tries again.
    s.breaker_open_s = 10.0;
    s.timeout_s = 0.5;
    let follower = HistorianFollower::start(FACILITY, &config(vec![s]), sink.clone())
        .expect("the follower starts");
    let health = || {
        metric(
            "thermaliq_connector_health",
            &[("connector_type", "Historian"), ("source", "plant-influx")],
        )
    };
    wait_until("the history stored", 20, async || {
        stored(&sink, TAG).await.len() == 5
    })
    .await;
    assert_eq!(follower.status()[0].health, Health::Up);
    assert_eq!(health(), Some(1.0));

    // Live data, followed.
    let live = point(store::now_us());
    influx.write(&[live], None).await;
    wait_until("the live point stored", 20, async || {
        stored(&sink, TAG).await.len() == 6
    })
    .await;

    // The historian goes away.
    influx.stop();
    let down_at = store::now_us();
    wait_until("health 0", 20, async || {
        follower.status()[0].health == Health::Down
    })
    .await;
    assert_eq!(health(), Some(0.0));
    let status = follower.status();
    assert!(status[0].circuit_open, "{status:?}");
    let last_success = status[0].last_success_us;

    // It comes back with what its collectors recorded meanwhile (forwarded on restart).
    influx.run().await;
    let back_at = store::now_us();
    let outage: Vec<String> = (0..5)
        .map(|i| point(down_at + (back_at - down_at) * i / 5))
        .collect();
    influx.write(&outage, None).await;
    let after = point(store::now_us());
    influx.write(&[after], None).await;
    assert_eq!(
        follower.status()[0].last_success_us,
        last_success,
        "the follower pulled before the outage's points were written: the test proves \
         nothing; raise breaker_open_s"
    );

    wait_until("health 1", 30, async || {
        follower.status()[0].health == Health::Up
    })
    .await;
    assert_eq!(health(), Some(1.0));
    wait_until("every point stored", 20, async || {
        stored(&sink, TAG).await.len() == written.len()
    })
    .await;
    written.sort();
    assert_eq!(
        stored(&sink, TAG).await,
        written,
        "every point, exactly, nothing else"
    );
    follower.shutdown().await;
    sink.store.close().await;
}
