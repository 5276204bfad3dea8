//! The Modbus TCP poller: one task per device reads its register map at the configured
//! interval, with a timeout per request, retries with backoff and a circuit breaker, and puts
//! the decoded readings into the buffer that one delivery task drains into the sink.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use serde::Serialize;
use store::{Quality, Reading};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_modbus::client::{Client, Context, Reader, tcp};
use tokio_modbus::{ExceptionCode, Slave};

use super::config::{ModbusDevice, RegisterFunction};
use super::decode::point_value;
use super::plan::{ReadRequest, plan};
use crate::ReadingSink;
use crate::buffer::{Buffer, deliver};
use crate::config::{ConfigError, ConnectorsConfig};
use crate::telemetry::{self, ENERGY_METER, ERRORS, HEALTH, REQUEST_DURATION, REQUESTS};

/// Health of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Not polled yet.
    Unknown,
    /// The last poll read every register.
    Up,
    /// The last poll failed, or the circuit is open.
    Down,
}

/// What an operator needs to know about one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    /// `EnergyMeter`.
    pub connector_type: &'static str,
    /// The device name.
    pub source: String,
    /// Its health.
    pub health: Health,
    /// When a poll last read every register, UTC µs.
    pub last_success_us: Option<i64>,
    /// Why the last failed poll failed.
    pub last_error: Option<String>,
    /// Failed polls since the last success.
    pub consecutive_failures: u32,
    /// Polling is suspended by the circuit breaker.
    pub circuit_open: bool,
}

/// Why the poller did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Not called from inside a Tokio runtime.
    #[error("the Modbus poller must be started inside a Tokio runtime")]
    NoRuntime,
}

/// The running pollers of one facility's Modbus devices.
pub struct ModbusPoller {
    /// Stops the device tasks.
    stop: watch::Sender<bool>,
    /// Stops the delivery task, after the device tasks: their last readings are delivered too.
    stop_delivery: watch::Sender<bool>,
    devices: Vec<JoinHandle<()>>,
    delivery: JoinHandle<()>,
    statuses: Vec<Arc<Mutex<SourceStatus>>>,
    buffer: Arc<Buffer>,
}

impl ModbusPoller {
    /// Validates `config` and starts polling its devices for `facility_id`, delivering to
    /// `sink`. Stops when [`ModbusPoller::shutdown`] is called or the poller is dropped.
    pub fn start<S: ReadingSink>(
        facility_id: &str,
        config: &ConnectorsConfig,
        sink: Arc<S>,
    ) -> Result<Self, StartError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        telemetry::describe_metrics();
        let names: Vec<String> = config.modbus.iter().map(|d| d.name.clone()).collect();
        let buffer = Arc::new(Buffer::new(config.buffer_limit, ENERGY_METER, &names));
        let (stop, stopped) = watch::channel(false);
        let (stop_delivery, delivery_stopped) = watch::channel(false);
        let mut devices = Vec::with_capacity(config.modbus.len());
        let mut statuses = Vec::with_capacity(config.modbus.len());
        let mut runtimes = Vec::with_capacity(config.modbus.len());
        for (index, d) in config.modbus.iter().enumerate() {
            let device = Device::new(index, d).map_err(|e| ConfigError {
                field: format!("connectors.modbus[{index}].{}", e.field),
                reason: e.reason,
            })?;
            statuses.push(device.status.clone());
            runtimes.push(device);
        }
        for device in runtimes {
            devices.push(runtime.spawn(device.run(buffer.clone(), stopped.clone())));
        }
        let delivery = runtime.spawn(deliver(
            buffer.clone(),
            sink,
            facility_id.to_string(),
            ENERGY_METER,
            delivery_stopped,
        ));
        Ok(Self {
            stop,
            stop_delivery,
            devices,
            delivery,
            statuses,
            buffer,
        })
    }

    /// Each device's status, in configuration order.
    pub fn status(&self) -> Vec<SourceStatus> {
        self.statuses.iter().map(|s| lock(s).clone()).collect()
    }

    /// Readings waiting for the sink.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Readings dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.buffer.dropped()
    }

    /// Stops polling, tries once more to deliver the buffer, and returns the readings that
    /// could not be delivered.
    pub async fn shutdown(self) -> usize {
        // A send fails only when every task has already ended, which is the goal anyway.
        let _ = self.stop.send(true);
        for d in self.devices {
            if let Err(e) = d.await {
                tracing::error!(source_kind = ENERGY_METER, error = %e, "EnergyMeter poller task failed");
            }
        }
        let _ = self.stop_delivery.send(true);
        if let Err(e) = self.delivery.await {
            tracing::error!(source_kind = ENERGY_METER, error = %e, "EnergyMeter delivery task failed");
        }
        self.buffer.len()
    }
}

fn lock(status: &Mutex<SourceStatus>) -> MutexGuard<'_, SourceStatus> {
    // A status is plain data, consistent after any panic elsewhere.
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why one request failed; `kind` is the `error_type` label.
struct Failure {
    kind: &'static str,
    message: String,
}

/// One device's poller.
struct Device {
    index: usize,
    config: ModbusDevice,
    port: u16,
    unit: u8,
    requests: Vec<ReadRequest>,
    status: Arc<Mutex<SourceStatus>>,
    health: Gauge,
    sent: Counter,
    duration: Histogram,
}

impl Device {
    fn new(index: usize, config: &ModbusDevice) -> Result<Self, ConfigError> {
        let range = |field: &str, value: u32| ConfigError {
            field: field.to_string(),
            reason: format!("{value} is out of range"),
        };
        let port = u16::try_from(config.port).map_err(|_| range("port", config.port))?;
        let unit = u8::try_from(config.unit_id).map_err(|_| range("unit_id", config.unit_id))?;
        let requests = plan(&config.points)?;
        let source = config.name.clone();
        let health = gauge!(HEALTH, "connector_type" => ENERGY_METER, "source" => source.clone());
        health.set(0.0);
        Ok(Self {
            index,
            port,
            unit,
            requests,
            status: Arc::new(Mutex::new(SourceStatus {
                connector_type: ENERGY_METER,
                source: config.name.clone(),
                health: Health::Unknown,
                last_success_us: None,
                last_error: None,
                consecutive_failures: 0,
                circuit_open: false,
            })),
            health,
            sent: counter!(REQUESTS, "connector_type" => ENERGY_METER, "source" => source.clone()),
            duration: histogram!(REQUEST_DURATION, "connector_type" => ENERGY_METER, "source" => source),
            config: config.clone(),
        })
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    fn error(&self, kind: &'static str) {
        counter!(
            ERRORS,
            "connector_type" => ENERGY_METER,
            "source" => self.config.name.clone(),
            "error_type" => kind
        )
        .increment(1);
    }

    async fn run(self, buffer: Arc<Buffer>, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.config.poll_interval());
        // A slow poll skips the polls it overran instead of firing them in a burst.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut conn: Option<Context> = None;
        let mut open_until: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            if open_until.is_some_and(|t| Instant::now() < t) {
                continue;
            }
            let outcome = tokio::select! {
                o = self.poll(&mut conn) => o,
                _ = stop.changed() => break,
            };
            buffer.push(self.index, outcome.readings);
            open_until = self.record(outcome.failure);
        }
        if let Some(mut c) = conn.take() {
            // Closing at shutdown: a peer already gone or slow is no error worth a log or a wait.
            let _ = tokio::time::timeout(self.config.timeout(), c.disconnect()).await;
        }
    }

    /// Updates health, metrics and logs after a poll; returns until when the circuit is open.
    fn record(&self, failure: Option<String>) -> Option<Instant> {
        let name = self.name();
        let mut s = lock(&self.status);
        match failure {
            None => {
                if s.health != Health::Up {
                    tracing::info!(
                        source_kind = ENERGY_METER,
                        source = name,
                        "EnergyMeter query success"
                    );
                } else {
                    tracing::debug!(
                        source_kind = ENERGY_METER,
                        source = name,
                        "EnergyMeter query success"
                    );
                }
                s.health = Health::Up;
                s.last_success_us = now_us();
                s.consecutive_failures = 0;
                s.circuit_open = false;
                self.health.set(1.0);
                None
            }
            Some(message) => {
                s.health = Health::Down;
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                tracing::warn!(
                    source_kind = ENERGY_METER,
                    source = name,
                    consecutive_failures = s.consecutive_failures,
                    error = %message,
                    "EnergyMeter query failed"
                );
                s.last_error = Some(message);
                self.health.set(0.0);
                let open = s.consecutive_failures >= self.config.breaker_failures;
                s.circuit_open = open;
                open.then(|| {
                    tracing::warn!(
                        source_kind = ENERGY_METER,
                        source = name,
                        open_s = self.config.breaker_open_s,
                        "EnergyMeter circuit open: polling suspended"
                    );
                    Instant::now() + self.config.breaker_open()
                })
            }
        }
    }

    /// Reads every request once; a failed request yields no reading.
    async fn poll(&self, conn: &mut Option<Context>) -> Outcome {
        let mut outcome = Outcome {
            readings: Vec::new(),
            failure: None,
        };
        for req in &self.requests {
            match self.read(conn, req).await {
                Ok((words, time_us)) => self.decode(req, &words, time_us, &mut outcome.readings),
                Err(f) => {
                    outcome.failure.get_or_insert(format!(
                        "{} registers {}..{}: {}",
                        match req.function {
                            RegisterFunction::Holding => "holding",
                            RegisterFunction::Input => "input",
                        },
                        req.address,
                        u32::from(req.address) + u32::from(req.count),
                        f.message
                    ));
                }
            }
        }
        outcome
    }

    fn decode(&self, req: &ReadRequest, words: &[u16], time_us: i64, out: &mut Vec<Reading>) {
        for &i in &req.points {
            let p = &self.config.points[i];
            let start = (p.address - u32::from(req.address)) as usize;
            let Some(regs) = words.get(start..start + usize::from(p.registers())) else {
                continue;
            };
            match point_value(p, regs) {
                Ok(value) => out.push(Reading {
                    tag: p.tag.clone(),
                    time_us,
                    value,
                    quality: Quality::Good,
                }),
                Err(e) => {
                    self.error("decode");
                    tracing::warn!(
                        source_kind = ENERGY_METER,
                        source = self.name(),
                        tag = %p.tag,
                        error = %e,
                        "EnergyMeter value refused: no reading"
                    );
                }
            }
        }
    }

    /// One request with its retries; the registers and the time they arrived.
    async fn read(
        &self,
        conn: &mut Option<Context>,
        req: &ReadRequest,
    ) -> Result<(Vec<u16>, i64), Failure> {
        let mut delay = self.config.retry_backoff();
        let mut last = Failure {
            kind: "connection",
            message: "not attempted".to_string(),
        };
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            let ctx = match conn {
                Some(c) => c,
                None => match self.connect().await {
                    Ok(c) => conn.insert(c),
                    Err(f) => {
                        self.error(f.kind);
                        last = f;
                        continue;
                    }
                },
            };
            match self.request(ctx, req).await {
                Ok(words) => {
                    let Some(time_us) = now_us() else {
                        return Err(Failure {
                            kind: "clock",
                            message: "the system clock is before 1970".to_string(),
                        });
                    };
                    return Ok((words, time_us));
                }
                Err(f) => {
                    self.error(f.kind);
                    // The device answered: asking again gets the same answer.
                    if f.kind == "exception" {
                        return Err(f);
                    }
                    // A late answer would arrive on the next request: start afresh.
                    *conn = None;
                    last = f;
                }
            }
        }
        Err(last)
    }

    async fn request(&self, ctx: &mut Context, req: &ReadRequest) -> Result<Vec<u16>, Failure> {
        let timeout = self.config.timeout();
        self.sent.increment(1);
        let started = Instant::now();
        let read = async {
            match req.function {
                RegisterFunction::Holding => {
                    ctx.read_holding_registers(req.address, req.count).await
                }
                RegisterFunction::Input => ctx.read_input_registers(req.address, req.count).await,
            }
        };
        let answer = tokio::time::timeout(timeout, read).await;
        self.duration.record(started.elapsed().as_secs_f64());
        match answer {
            Err(_) => Err(Failure {
                kind: "timeout",
                message: format!("no answer within {} s", timeout.as_secs_f64()),
            }),
            Ok(Err(e)) => Err(Failure {
                kind: "transport",
                message: e.to_string(),
            }),
            Ok(Ok(Err(code))) => Err(Failure {
                kind: "exception",
                message: exception_text(code),
            }),
            Ok(Ok(Ok(words))) if words.len() != usize::from(req.count) => Err(Failure {
                kind: "protocol",
                message: format!("{} registers answered, {} asked", words.len(), req.count),
            }),
            Ok(Ok(Ok(words))) => Ok(words),
        }
    }

    async fn connect(&self) -> Result<Context, Failure> {
        let (host, port) = (self.config.host.as_str(), self.port);
        let timeout = self.config.timeout();
        let attempt = async {
            let addr = tokio::net::lookup_host((host, port))
                .await?
                .next()
                .ok_or_else(|| std::io::Error::other("the host name resolves to no address"))?;
            tcp::connect_slave(addr, Slave(self.unit)).await
        };
        let failed = |message: String| Failure {
            kind: "connection",
            message,
        };
        match tokio::time::timeout(timeout, attempt).await {
            Err(_) => Err(failed(format!(
                "connecting to {host}:{port} took more than {} s",
                timeout.as_secs_f64()
            ))),
            Ok(Err(e)) => Err(failed(format!("cannot connect to {host}:{port}: {e}"))),
            Ok(Ok(ctx)) => {
                tracing::info!(
                    source_kind = ENERGY_METER,
                    source = self.name(),
                    host,
                    port,
                    unit_id = self.unit,
                    "EnergyMeter connected"
                );
                Ok(ctx)
            }
        }
    }
}

/// What one poll read.
struct Outcome {
    readings: Vec<Reading>,
    /// The first failed request, when one failed.
    failure: Option<String>,
}

fn exception_text(code: ExceptionCode) -> String {
    format!("the device answered with Modbus exception {code}")
}

fn now_us() -> Option<i64> {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_micros()).ok()
}
