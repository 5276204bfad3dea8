//! The bounded buffer between the pollers and the ingest path, and the task that drains it.
//! A sink outage leaves readings here; beyond the bound the oldest are dropped and counted,
//! so memory stays bounded and the newest data survives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use metrics::{Counter, counter};
use store::Reading;
use tokio::sync::{Notify, watch};

use crate::ReadingSink;
use crate::telemetry::{ERRORS, READINGS, READINGS_DROPPED};

/// Most readings handed to the sink in one call.
const MAX_BATCH: usize = 5_000;
/// First wait after the sink refused a batch; doubled up to [`SINK_BACKOFF_MAX`].
const SINK_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between two deliveries to a failing sink.
const SINK_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Counters of one source.
struct SourceCounters {
    delivered: Counter,
    dropped: Counter,
    sink_errors: Counter,
}

#[derive(Default)]
struct State {
    /// Source index and reading, oldest first.
    queue: VecDeque<(usize, Reading)>,
    dropped: u64,
}

/// Readings waiting for the sink, at most `limit`.
pub struct Buffer {
    state: Mutex<State>,
    notify: Notify,
    limit: usize,
    sources: Vec<SourceCounters>,
}

impl Buffer {
    /// An empty buffer of `limit` readings for sources named `sources` (index = position).
    pub fn new(limit: usize, connector_type: &'static str, sources: &[String]) -> Self {
        let sources = sources
            .iter()
            .map(|s| {
                SourceCounters {
                    delivered: counter!(READINGS, "connector_type" => connector_type, "source" => s.clone()),
                    dropped: counter!(READINGS_DROPPED, "connector_type" => connector_type, "source" => s.clone()),
                    sink_errors: counter!(
                        ERRORS,
                        "connector_type" => connector_type,
                        "source" => s.clone(),
                        "error_type" => "sink"
                    ),
                }
            })
            .collect();
        Self {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            limit,
            sources,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves a consistent queue: keep using it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a source's readings, dropping the oldest beyond the bound.
    pub fn push(&self, source: usize, readings: Vec<Reading>) {
        if readings.is_empty() {
            return;
        }
        let mut s = self.lock();
        s.queue.extend(readings.into_iter().map(|r| (source, r)));
        self.trim(&mut s);
        drop(s);
        self.notify.notify_one();
    }

    fn trim(&self, s: &mut State) {
        while s.queue.len() > self.limit {
            if let Some((source, _)) = s.queue.pop_front() {
                s.dropped += 1;
                if let Some(c) = self.sources.get(source) {
                    c.dropped.increment(1);
                }
            }
        }
    }

    fn take(&self, max: usize) -> (Vec<usize>, Vec<Reading>) {
        let mut s = self.lock();
        let n = max.min(s.queue.len());
        s.queue.drain(..n).unzip()
    }

    /// Returns an undelivered batch to the front, where it was taken from.
    fn put_back(&self, sources: Vec<usize>, readings: Vec<Reading>) {
        let mut s = self.lock();
        for entry in sources.into_iter().zip(readings).rev() {
            s.queue.push_front(entry);
        }
        self.trim(&mut s);
    }

    /// Readings waiting.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no reading is waiting.
    pub fn is_empty(&self) -> bool {
        self.lock().queue.is_empty()
    }

    /// Readings dropped since the start.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

/// Delivers the buffer to the sink until `stop`, then tries once more to deliver what is left.
pub async fn deliver<S: ReadingSink>(
    buffer: Arc<Buffer>,
    sink: Arc<S>,
    facility_id: String,
    kind: &'static str,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = SINK_BACKOFF_MIN;
    loop {
        if buffer.is_empty() {
            tokio::select! {
                _ = buffer.notify.notified() => {}
                _ = stop.changed() => break,
            }
        }
        if deliver_batch(&buffer, sink.as_ref(), &facility_id, kind).await {
            backoff = SINK_BACKOFF_MIN;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => break,
            }
            backoff = (backoff * 2).min(SINK_BACKOFF_MAX);
        }
    }
    while !buffer.is_empty() {
        if !deliver_batch(&buffer, sink.as_ref(), &facility_id, kind).await {
            break;
        }
    }
}

/// Hands one batch to the sink; on refusal the batch goes back to the buffer and `false` is
/// returned.
async fn deliver_batch<S: ReadingSink>(
    buffer: &Buffer,
    sink: &S,
    facility_id: &str,
    kind: &'static str,
) -> bool {
    let (sources, readings) = buffer.take(MAX_BATCH);
    if readings.is_empty() {
        return true;
    }
    match sink.ingest(facility_id, &readings).await {
        Ok(()) => {
            for &s in &sources {
                if let Some(c) = buffer.sources.get(s) {
                    c.delivered.increment(1);
                }
            }
            tracing::debug!(
                source_kind = kind,
                readings = readings.len(),
                "{kind} readings ingested"
            );
            true
        }
        Err(e) => {
            let mut involved = sources.clone();
            involved.sort_unstable();
            involved.dedup();
            for s in involved {
                if let Some(c) = buffer.sources.get(s) {
                    c.sink_errors.increment(1);
                }
            }
            tracing::warn!(
                source_kind = kind,
                facility_id,
                readings = readings.len(),
                error = %e,
                "{kind} ingest failed: readings kept in the buffer"
            );
            buffer.put_back(sources, readings);
            false
        }
    }
}
