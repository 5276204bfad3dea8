//! One historian source ready to read: its credentials resolved from the environment, its
//! backend built, each read retried with backoff and measured.

use std::collections::BTreeMap;
use std::time::Instant;

use metrics::{Counter, Histogram, counter, histogram};

use super::config::{HistorianKind, HistorianSource};
use super::influxdb1::{Credentials, InfluxDb1};
use super::{HISTORIAN, Historian, HistorianError, Pulled};
use crate::config::{ConfigError, refuse, secret};
use crate::telemetry::{ERRORS, REQUEST_DURATION, REQUESTS};

/// Refused values named in one log line; the rest are counted.
const SHOWN_REFUSALS: usize = 3;

/// The backends, one variant per [`HistorianKind`].
#[derive(Debug)]
enum Backend {
    InfluxDb1(InfluxDb1),
}

/// A historian source with its backend, retries and metrics.
#[derive(Debug)]
pub struct SourceReader {
    source: HistorianSource,
    backend: Backend,
    requests: Counter,
    duration: Histogram,
}

impl SourceReader {
    /// Builds the reader of `source` (validated), reading its credentials from the
    /// environment `vars` (`std::env::vars()`, or a test's own); a refusal names the field
    /// under `at` (`connectors.historian[0]`).
    pub fn new(
        source: &HistorianSource,
        at: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let credentials = match (&source.username_secret, &source.password_secret) {
            (Some(user), Some(password)) => Some(Credentials {
                username: secret(vars, &format!("{at}.username_secret"), user)?,
                password: secret(vars, &format!("{at}.password_secret"), password)?,
            }),
            _ => None,
        };
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(source.timeout())
            .connect_timeout(source.timeout())
            .build()
            .map_err(|e| refuse(format!("{at}.url"), &format!("no HTTP client: {e}")))?;
        let backend = match source.kind {
            HistorianKind::Influxdb1 => Backend::InfluxDb1(
                InfluxDb1::new(source, client, credentials)
                    .map_err(|e| refuse(format!("{at}.url"), &e.to_string()))?,
            ),
        };
        let name = source.name.clone();
        Ok(Self {
            requests: counter!(REQUESTS, "connector_type" => HISTORIAN, "source" => name.clone()),
            duration: histogram!(REQUEST_DURATION, "connector_type" => HISTORIAN, "source" => name),
            source: source.clone(),
            backend,
        })
    }

    /// The source's configuration.
    pub fn source(&self) -> &HistorianSource {
        &self.source
    }

    /// The readings of [`start_us`, `end_us`), retried `retries` times after a failure that
    /// asking again may cure; values that are no reading are counted and logged.
    pub async fn read(&self, start_us: i64, end_us: i64) -> Result<Pulled, HistorianError> {
        let mut delay = self.source.retry_backoff();
        let mut attempt = 0;
        loop {
            self.requests.increment(1);
            let started = Instant::now();
            let result = match &self.backend {
                Backend::InfluxDb1(b) => b.read(start_us, end_us).await,
            };
            self.duration.record(started.elapsed().as_secs_f64());
            match result {
                Ok(pulled) => {
                    self.report_refused(&pulled.refused);
                    return Ok(pulled);
                }
                Err(e) => {
                    self.error(e.kind(), 1);
                    if !e.retryable() || attempt >= self.source.retries {
                        return Err(e);
                    }
                    tracing::debug!(
                        source_kind = HISTORIAN,
                        source = %self.source.name,
                        attempt,
                        error = %e,
                        "Historian query retried"
                    );
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }

    fn error(&self, kind: &'static str, n: u64) {
        counter!(
            ERRORS,
            "connector_type" => HISTORIAN,
            "source" => self.source.name.clone(),
            "error_type" => kind
        )
        .increment(n);
    }

    fn report_refused(&self, refused: &[String]) {
        if refused.is_empty() {
            return;
        }
        self.error("decode", refused.len() as u64);
        tracing::warn!(
            source_kind = HISTORIAN,
            source = %self.source.name,
            refused = refused.len(),
            examples = ?&refused[..refused.len().min(SHOWN_REFUSALS)],
            "Historian value refused: no reading"
        );
    }
}
