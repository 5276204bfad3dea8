//! Load check of the Modbus poller: one process polling a fleet of Modbus TCP devices at 1 Hz
//! (default 100 devices × 10 holding registers, 60 s) into a counting sink, against
//! tokio-modbus TCP servers (one listener per device) on a separate runtime thread.
//!
//! `cargo bench -p connectors --bench modbus_fleet [-- DEVICES REGISTERS SECONDS]`. It prints
//! the polls each device completed against the seconds run, the largest interval between two
//! readings of one register (a poller falling behind stretches it past the poll interval), the
//! readings per second delivered and the CPU time used; it exits 1 when a device fell behind.
//! Results: docs/PERFORMANCE.md.

use std::collections::HashMap;
use std::future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connectors::ReadingSink;
use connectors::config::ConnectorsConfig;
use connectors::modbus::{DataType, ModbusDevice, ModbusPoint, ModbusPoller, RegisterFunction};
use store::Reading;
use tokio::net::TcpListener;
use tokio_modbus::prelude::{ExceptionCode, Request, Response};
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};

/// A meter answering every holding-register read with its register addresses as values.
#[derive(Clone)]
struct Meter;

impl Service for Meter {
    type Request = Request<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        future::ready(match req {
            Request::ReadHoldingRegisters(address, count) => Ok(Response::ReadHoldingRegisters(
                (address..address + count).collect(),
            )),
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

/// Every reading delivered: per tag, the times of its readings.
#[derive(Default)]
struct Counter(Mutex<HashMap<String, Vec<i64>>>);

#[derive(Debug, thiserror::Error)]
#[error("never fails")]
struct Never;

impl ReadingSink for Counter {
    type Error = Never;

    async fn ingest(&self, _facility_id: &str, readings: &[Reading]) -> Result<(), Never> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for r in readings {
            seen.entry(r.tag.clone()).or_default().push(r.time_us);
        }
        Ok(())
    }
}

/// Process CPU time (user + system) from /proc/self/stat, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip_while(|a| a != "--")
        .nth(n + 1)
        .or_else(|| {
            std::env::args()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .nth(n)
        })
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Starts one listener per device on a two-thread runtime of its own; returns their ports.
fn start_meters(devices: usize) -> Vec<u16> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the meters' runtime");
        runtime.block_on(async move {
            let mut ports = Vec::with_capacity(devices);
            for _ in 0..devices {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
                ports.push(listener.local_addr().expect("bound").port());
                tokio::spawn(async move {
                    let server = Server::new(listener);
                    let new_service = |_: SocketAddr| Ok(Some(Meter));
                    let on_connected = |stream, addr| async move {
                        accept_tcp_connection(stream, addr, new_service)
                    };
                    let on_error = |e: io::Error| eprintln!("meter: {e}");
                    let _ = server.serve(&on_connected, on_error).await;
                });
            }
            tx.send(ports).expect("ports sent");
            future::pending::<()>().await;
        });
    });
    rx.recv().expect("the meters start")
}

fn main() {
    let devices = arg(0, 100);
    let registers = arg(1, 10);
    let seconds = arg(2, 60);
    let ports = start_meters(devices);
    let config = ConnectorsConfig {
        modbus: ports
            .iter()
            .enumerate()
            .map(|(d, &port)| ModbusDevice {
                name: format!("meter-{d:03}"),
                host: "127.0.0.1".into(),
                port: u32::from(port),
                unit_id: 1,
                poll_interval_s: 1.0,
                timeout_s: 0.5,
                retries: 1,
                retry_backoff_s: 0.05,
                breaker_failures: 3,
                breaker_open_s: 5.0,
                points: (0..registers)
                    .map(|r| ModbusPoint {
                        tag: format!("D{d:03}.R{r:02}"),
                        // Every other register: one request per device still, gaps skipped.
                        address: u32::try_from(2 * r).expect("small"),
                        function: RegisterFunction::Holding,
                        data_type: DataType::U16,
                        word_order: None,
                        byte_order: None,
                        scale: 1.0,
                        offset: 0.0,
                        unit: "kW".into(),
                    })
                    .collect(),
            })
            .collect(),
        ..ConnectorsConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the poller's runtime");
    let sink = Arc::new(Counter::default());
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let undelivered = runtime.block_on(async {
        let poller = ModbusPoller::start("FAC-BENCH", &config, sink.clone()).expect("starts");
        tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
        poller.shutdown().await
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;

    let seen = sink.0.lock().unwrap_or_else(|e| e.into_inner());
    let expected_tags = devices * registers;
    let mut fewest = usize::MAX;
    let mut widest_gap_s: f64 = 0.0;
    let mut total = 0;
    for times in seen.values() {
        fewest = fewest.min(times.len());
        total += times.len();
        let mut sorted = times.clone();
        sorted.sort_unstable();
        for pair in sorted.windows(2) {
            widest_gap_s = widest_gap_s.max((pair[1] - pair[0]) as f64 / 1e6);
        }
    }
    if seen.len() < expected_tags {
        fewest = 0;
    }
    println!(
        "modbus fleet: {devices} devices x {registers} registers at 1 Hz for {elapsed:.1} s\n\
         readings delivered: {total} ({:.0}/s), fewest polls of one register: {fewest} \
         (of ~{seconds}), widest interval between two readings of one register: \
         {widest_gap_s:.3} s, undelivered at stop: {undelivered}\n\
         CPU: {cpu:.2} s for pollers and meters together ({:.1} % of one core)",
        total as f64 / elapsed,
        100.0 * cpu / elapsed
    );
    // Behind: a register missed more than one poll, or waited over one and a half intervals.
    if fewest + 1 < seconds || widest_gap_s > 1.5 {
        println!("FELL BEHIND");
        std::process::exit(1);
    }
    println!("kept up");
}
