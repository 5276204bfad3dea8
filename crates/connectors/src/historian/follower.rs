//! The historian follower: one task per source pulls, every poll interval, the window from
//! the end of the data it has delivered up to now, chunk by chunk, and hands each chunk to
//! the sink before it moves on. After an outage of the historian the next pull starts where
//! the delivered data ends, so the gap is read, not lost; while the sink refuses, the chunk is
//! held and nothing further is read — the historian itself is the buffer, so nothing is
//! dropped.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use metrics::{Counter, Gauge, counter, gauge};
use store::Reading;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::reader::SourceReader;
use super::{HISTORIAN, HistorianError};
use crate::ReadingSink;
use crate::config::{ConfigError, ConnectorsConfig};
use crate::modbus::{Health, SourceStatus};
use crate::telemetry::{self, ERRORS, HEALTH, READINGS};

/// Most readings handed to the sink in one call.
const MAX_BATCH: usize = 10_000;
/// First wait after the sink refused a batch; doubled up to [`SINK_BACKOFF_MAX`].
const SINK_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between two deliveries to a failing sink.
const SINK_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Why the follower did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is refused, or a secret it names is missing.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Not called from inside a Tokio runtime.
    #[error("the historian follower must be started inside a Tokio runtime")]
    NoRuntime,
}

/// The running followers of one facility's historian sources.
pub struct HistorianFollower {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    statuses: Vec<Arc<Mutex<SourceStatus>>>,
}

impl HistorianFollower {
    /// Validates `config`, resolves the sources' credentials from the process environment
    /// and starts following each
    /// historian source for `facility_id`, delivering to `sink`. Stops on
    /// [`HistorianFollower::shutdown`] or when dropped.
    pub fn start<S: ReadingSink>(
        facility_id: &str,
        config: &ConnectorsConfig,
        sink: Arc<S>,
    ) -> Result<Self, StartError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        telemetry::describe_metrics();
        let vars = std::env::vars().collect();
        let mut followers = Vec::with_capacity(config.historian.len());
        for (i, source) in config.historian.iter().enumerate() {
            let reader = SourceReader::new(source, &format!("connectors.historian[{i}]"), &vars)?;
            followers.push(Follower::new(reader, facility_id, sink.clone()));
        }
        let (stop, stopped) = watch::channel(false);
        let statuses = followers.iter().map(|f| f.status.clone()).collect();
        let tasks = followers
            .into_iter()
            .map(|f| runtime.spawn(f.run(stopped.clone())))
            .collect();
        Ok(Self {
            stop,
            tasks,
            statuses,
        })
    }

    /// Each source's status, in configuration order.
    pub fn status(&self) -> Vec<SourceStatus> {
        self.statuses.iter().map(|s| lock(s).clone()).collect()
    }

    /// Stops following; a chunk being delivered is abandoned and read again at the next
    /// start (the ingest is idempotent).
    pub async fn shutdown(self) {
        // A send fails only when every task has already ended, which is the goal anyway.
        let _ = self.stop.send(true);
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!(source_kind = HISTORIAN, error = %e, "Historian follower task failed");
            }
        }
    }
}

fn lock(status: &Mutex<SourceStatus>) -> MutexGuard<'_, SourceStatus> {
    // A status is plain data, consistent after any panic elsewhere.
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One source's follower.
struct Follower<S> {
    reader: SourceReader,
    facility_id: String,
    sink: Arc<S>,
    status: Arc<Mutex<SourceStatus>>,
    health: Gauge,
    delivered: Counter,
    sink_errors: Counter,
}

impl<S: ReadingSink> Follower<S> {
    fn new(reader: SourceReader, facility_id: &str, sink: Arc<S>) -> Self {
        let name = reader.source().name.clone();
        let health = gauge!(HEALTH, "connector_type" => HISTORIAN, "source" => name.clone());
        health.set(0.0);
        Self {
            status: Arc::new(Mutex::new(SourceStatus {
                connector_type: HISTORIAN,
                source: name.clone(),
                health: Health::Unknown,
                last_success_us: None,
                last_error: None,
                consecutive_failures: 0,
                circuit_open: false,
            })),
            health,
            delivered: counter!(READINGS, "connector_type" => HISTORIAN, "source" => name.clone()),
            sink_errors: counter!(
                ERRORS,
                "connector_type" => HISTORIAN,
                "source" => name,
                "error_type" => "sink"
            ),
            reader,
            facility_id: facility_id.to_string(),
            sink,
        }
    }

    fn name(&self) -> &str {
        &self.reader.source().name
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let config = self.reader.source().clone();
        let mut ticker = tokio::time::interval(config.poll_interval());
        // A slow pull skips the pulls it overran: the next one reads their windows anyway.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut delivered_until = store::now_us().saturating_sub(config.lookback_us());
        let mut open_until: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            if open_until.is_some_and(|t| Instant::now() < t) {
                continue;
            }
            let end_us = store::now_us();
            let outcome = tokio::select! {
                o = self.catch_up(&mut delivered_until, end_us) => o,
                _ = stop.changed() => break,
            };
            open_until = self.record(outcome);
        }
    }

    /// Reads and delivers the windows from `delivered_until` (less the overlap) to `end_us`,
    /// advancing `delivered_until` after each delivered window; stops at the first failure.
    async fn catch_up(&self, delivered_until: &mut i64, end_us: i64) -> Result<(), HistorianError> {
        let config = self.reader.source();
        let mut start = delivered_until
            .saturating_sub(config.overlap_us())
            .min(end_us);
        while start < end_us {
            let end = start.saturating_add(config.chunk_us()).min(end_us);
            let pulled = self.reader.read(start, end).await?;
            self.deliver(pulled.readings).await;
            *delivered_until = (*delivered_until).max(end);
            start = end;
        }
        Ok(())
    }

    /// Hands the readings to the sink in batches, retrying a refused batch with backoff
    /// until it is taken (or the follower stops, which cancels this).
    async fn deliver(&self, readings: Vec<Reading>) {
        for batch in readings.chunks(MAX_BATCH) {
            let mut backoff = SINK_BACKOFF_MIN;
            loop {
                match self.sink.ingest(&self.facility_id, batch).await {
                    Ok(()) => {
                        self.delivered.increment(batch.len() as u64);
                        break;
                    }
                    Err(e) => {
                        self.sink_errors.increment(1);
                        tracing::warn!(
                            source_kind = HISTORIAN,
                            source = self.name(),
                            readings = batch.len(),
                            error = %e,
                            "Historian ingest failed: the window is held and delivered again"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(SINK_BACKOFF_MAX);
                    }
                }
            }
        }
    }

    /// Updates health, status and logs after a pull; returns until when the circuit is open.
    fn record(&self, outcome: Result<(), HistorianError>) -> Option<Instant> {
        let config = self.reader.source();
        let name = self.name();
        let mut s = lock(&self.status);
        match outcome {
            Ok(()) => {
                if s.health != Health::Up {
                    tracing::info!(
                        source_kind = HISTORIAN,
                        source = name,
                        url = %config.url,
                        database = %config.database,
                        "Historian connected"
                    );
                    tracing::info!(
                        source_kind = HISTORIAN,
                        source = name,
                        "Historian query success"
                    );
                } else {
                    tracing::debug!(
                        source_kind = HISTORIAN,
                        source = name,
                        "Historian query success"
                    );
                }
                s.health = Health::Up;
                s.last_success_us = Some(store::now_us());
                s.consecutive_failures = 0;
                s.circuit_open = false;
                self.health.set(1.0);
                None
            }
            Err(e) => {
                s.health = Health::Down;
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                tracing::warn!(
                    source_kind = HISTORIAN,
                    source = name,
                    consecutive_failures = s.consecutive_failures,
                    error_type = e.kind(),
                    error = %e,
                    "Historian query failed"
                );
                s.last_error = Some(e.to_string());
                self.health.set(0.0);
                let open = s.consecutive_failures >= config.breaker_failures;
                s.circuit_open = open;
                open.then(|| {
                    tracing::warn!(
                        source_kind = HISTORIAN,
                        source = name,
                        open_s = config.breaker_open_s,
                        "Historian circuit open: polling suspended"
                    );
                    Instant::now() + config.breaker_open()
                })
            }
        }
    }
}
