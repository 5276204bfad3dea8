//! The delivery loop: claim one due outbox row, POST its signed document, record the verdict,
//! keep health, metrics and logs; prune delivered rows once an hour.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use store::{OutboxClaim, OutboxOutcome, Store};
use tokio::sync::watch;
use tokio::time::Instant;

use super::signature::{IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use super::{BREAKER_FAILURES, DocumentBuilder, ERP, ErpConfig, RETRY_BASE};
use crate::modbus::{Health, SourceStatus};
use crate::telemetry::{ERRORS, HEALTH, REQUEST_DURATION, REQUESTS};

/// How often an idle worker looks for due rows: the longest a new calculation waits.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often delivered rows past the retention are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3_600);

/// A claim lasts the request's timeout plus this margin; a worker that died mid-delivery
/// delays its row by at most that long.
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// Characters of an error answer's body kept in `last_error` and the log.
const BODY_EXCERPT: usize = 200;

/// What one turn of the loop did.
enum Step {
    /// Nothing due, or the store did not answer: wait for the next poll.
    Idle,
    /// A row was settled (delivered or refused for good): look for the next at once.
    Settled,
    /// A transient failure: the next row may go at once unless the circuit opened.
    Failed,
}

/// The ERP's verdict on one delivery.
enum Verdict {
    /// 2xx.
    Accepted,
    /// A 4xx other than 408 and 429: sending the same document again cannot succeed.
    Rejected(String),
    /// Anything else; `kind` is the `error_type` label.
    Transient { kind: &'static str, message: String },
}

pub(super) struct Worker {
    store: Store,
    config: ErpConfig,
    url: reqwest::Url,
    client: reqwest::Client,
    document: DocumentBuilder,
    status: Arc<Mutex<SourceStatus>>,
    source: String,
    health: Gauge,
    sent: Counter,
    duration: Histogram,
}

impl Worker {
    pub(super) fn new(
        store: Store,
        config: ErpConfig,
        url: reqwest::Url,
        client: reqwest::Client,
        document: DocumentBuilder,
        status: Arc<Mutex<SourceStatus>>,
    ) -> Self {
        let source = lock(&status).source.clone();
        Self {
            health: gauge!(HEALTH, "connector_type" => ERP, "source" => source.clone()),
            sent: counter!(REQUESTS, "connector_type" => ERP, "source" => source.clone()),
            duration: histogram!(REQUEST_DURATION, "connector_type" => ERP, "source" => source.clone()),
            source,
            store,
            config,
            url,
            client,
            document,
            status,
        }
    }

    pub(super) async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut next_prune = Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if Instant::now() >= next_prune {
                self.prune().await;
                next_prune = Instant::now() + PRUNE_INTERVAL;
            }
            // Not raced against the stop signal: a delivery in flight finishes (within the
            // timeout) so that its verdict is recorded and its row not left claimed.
            let wait = match self.step().await {
                Step::Settled => None,
                Step::Idle => Some(POLL_INTERVAL),
                Step::Failed => self.open_circuit(),
            };
            if let Some(wait) = wait {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
        }
    }

    /// Opens the circuit after [`BREAKER_FAILURES`] transient failures in a row: deliveries
    /// pause for `retry_max`, then one is tried (and one more failure opens it again).
    fn open_circuit(&self) -> Option<Duration> {
        let mut s = lock(&self.status);
        if s.consecutive_failures < BREAKER_FAILURES {
            return None;
        }
        if !s.circuit_open {
            tracing::warn!(
                source_kind = ERP,
                source = %self.source,
                open_s = self.config.retry_max.as_secs_f64(),
                "ERP circuit open: deliveries suspended"
            );
        }
        s.circuit_open = true;
        Some(self.config.retry_max)
    }

    async fn prune(&self) {
        let retention_us = i64::try_from(self.config.retention.as_micros()).unwrap_or(i64::MAX);
        match self
            .store
            .prune_outbox(now_us().saturating_sub(retention_us))
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(
                source_kind = ERP,
                pruned,
                "ERP outbox: delivered rows past the retention pruned"
            ),
            Err(e) => self.store_error("pruning", &e),
        }
    }

    fn store_error(&self, doing: &str, e: &store::Error) {
        self.error("store");
        tracing::error!(source_kind = ERP, error = %e, doing, "ERP outbox unavailable");
    }

    fn error(&self, kind: &'static str) {
        counter!(
            ERRORS,
            "connector_type" => ERP,
            "source" => self.source.clone(),
            "error_type" => kind
        )
        .increment(1);
    }

    async fn step(&self) -> Step {
        let now = now_us();
        let lease =
            i64::try_from((self.config.timeout + LEASE_MARGIN).as_micros()).unwrap_or(i64::MAX);
        let claim = match self
            .store
            .claim_outbox(now, now.saturating_add(lease))
            .await
        {
            Ok(Some(claim)) => claim,
            Ok(None) => return Step::Idle,
            Err(e) => {
                self.store_error("claiming", &e);
                return Step::Idle;
            }
        };
        let record = match self.store.calculation(&claim.calculation_id).await {
            Ok(Some(record)) => record,
            // The row goes with its calculation (ON DELETE CASCADE): nothing is left to send.
            Ok(None) => return Step::Settled,
            Err(e) => {
                self.store_error("reading the calculation", &e);
                let outcome = OutboxOutcome::Retry {
                    error: format!("store: {e}"),
                    next_attempt_at_us: now_us().saturating_add(duration_us(POLL_INTERVAL)),
                };
                self.finish(&claim, &outcome).await;
                return Step::Idle;
            }
        };
        // Serializing a JSON value cannot fail: its map keys are strings.
        let body = serde_json::to_vec(&(self.document)(&record)).unwrap_or_default();
        match self.deliver(&claim, body).await {
            Verdict::Accepted => {
                self.finish(&claim, &OutboxOutcome::Delivered).await;
                self.succeeded(&claim);
                Step::Settled
            }
            Verdict::Rejected(message) => {
                self.error("rejected");
                self.failed(&claim, &message, false);
                tracing::error!(
                    source_kind = ERP,
                    source = %self.source,
                    calculation_id = %claim.calculation_id,
                    attempt = claim.attempt,
                    error = %message,
                    "ERP failed: delivery refused for good; the row is kept as failed"
                );
                let outcome = OutboxOutcome::Failed { error: message };
                self.finish(&claim, &outcome).await;
                Step::Settled
            }
            Verdict::Transient { kind, message } => {
                self.error(kind);
                let failures = self.failed(&claim, &message, false);
                let delay = backoff(claim.attempt, self.config.retry_max);
                tracing::warn!(
                    source_kind = ERP,
                    source = %self.source,
                    calculation_id = %claim.calculation_id,
                    attempt = claim.attempt,
                    consecutive_failures = failures,
                    retry_in_s = delay.as_secs_f64(),
                    error = %message,
                    "ERP failed"
                );
                let outcome = OutboxOutcome::Retry {
                    error: message,
                    next_attempt_at_us: now_us().saturating_add(duration_us(delay)),
                };
                self.finish(&claim, &outcome).await;
                Step::Failed
            }
        }
    }

    /// Records the verdict; when the store does not answer, the row's lease runs out and it
    /// is delivered again, with the same idempotency key.
    async fn finish(&self, claim: &OutboxClaim, outcome: &OutboxOutcome) {
        match self.store.finish_outbox(claim, outcome, now_us()).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                source_kind = ERP,
                calculation_id = %claim.calculation_id,
                "ERP outbox: the claim ran out before its verdict; another worker has the row"
            ),
            Err(e) => self.store_error("recording a delivery", &e),
        }
    }

    async fn deliver(&self, claim: &OutboxClaim, body: Vec<u8>) -> Verdict {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let signature = sign(&self.config.signing_key, timestamp, &body);
        self.sent.increment(1);
        let started = Instant::now();
        let sent = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY_HEADER, &claim.calculation_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let verdict = match sent {
            Ok(answer) => {
                let status = answer.status();
                if status.is_success() {
                    Verdict::Accepted
                } else {
                    let text = answer.text().await.unwrap_or_default();
                    let excerpt: String = text.chars().take(BODY_EXCERPT).collect();
                    let message = format!("HTTP {status}: {}", excerpt.trim());
                    if status.is_client_error()
                        && status != StatusCode::REQUEST_TIMEOUT
                        && status != StatusCode::TOO_MANY_REQUESTS
                    {
                        Verdict::Rejected(message)
                    } else {
                        Verdict::Transient {
                            kind: "http_status",
                            message,
                        }
                    }
                }
            }
            Err(e) => Verdict::Transient {
                kind: if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connection"
                } else {
                    "transport"
                },
                message: error_chain(&e),
            },
        };
        self.duration.record(started.elapsed().as_secs_f64());
        verdict
    }

    fn succeeded(&self, claim: &OutboxClaim) {
        let mut s = lock(&self.status);
        if s.health != Health::Up {
            tracing::info!(
                source_kind = ERP,
                source = %self.source,
                calculation_id = %claim.calculation_id,
                "ERP connected"
            );
        } else {
            tracing::debug!(
                source_kind = ERP,
                source = %self.source,
                calculation_id = %claim.calculation_id,
                "ERP delivered"
            );
        }
        s.health = Health::Up;
        s.last_success_us = Some(now_us());
        s.last_error = None;
        s.consecutive_failures = 0;
        s.circuit_open = false;
        self.health.set(1.0);
    }

    /// Marks the endpoint down; returns the consecutive transient failures so far. A refusal
    /// (`transient` false) does not count towards the circuit breaker: the endpoint answered.
    fn failed(&self, claim: &OutboxClaim, message: &str, transient: bool) -> u32 {
        let mut s = lock(&self.status);
        s.health = Health::Down;
        s.last_error = Some(format!("{}: {message}", claim.calculation_id));
        if transient {
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        }
        self.health.set(0.0);
        s.consecutive_failures
    }
}

/// Delay after failed attempt `attempt` (1 for the first): [`RETRY_BASE`] doubled per
/// attempt, capped at `max`.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    RETRY_BASE.saturating_mul(factor).min(max)
}

fn duration_us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn now_us() -> i64 {
    store::now_us()
}

/// An error and its causes on one line: reqwest's own text omits the cause (refused, reset).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn lock(status: &Mutex<SourceStatus>) -> MutexGuard<'_, SourceStatus> {
    // A status is plain data, consistent after any panic elsewhere.
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_stops_at_the_cap() {
        let cap = Duration::from_secs(300);
        let delays: Vec<u64> = (1..=11).map(|a| backoff(a, cap).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX, cap), cap);
        assert_eq!(backoff(3, Duration::from_secs(2)), Duration::from_secs(2));
    }
}
