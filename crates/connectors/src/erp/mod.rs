//! ERP export: completed calculations, queued by the store in the durable outbox
//! (`erp_outbox`, written in the calculation's own transaction), are POSTed as signed JSON to
//! the configured endpoint by one background task per process.
//!
//! Delivery is at least once: a row stays until the ERP answers 2xx; a transient failure
//! (connection, timeout, 408, 429, 5xx) is retried with capped exponential backoff, and after
//! [`BREAKER_FAILURES`] in a row the circuit opens and deliveries pause; any other 4xx is a
//! permanent failure, recorded on the row and counted in the status, never retried by itself.
//! A repeated delivery carries the same `Idempotency-Key` (the calculation id). The API never
//! waits for this task: an ERP outage only grows the outbox.

mod signature;
mod worker;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use store::{CalculationRecord, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ConfigError;
use crate::modbus::{Health, SourceStatus};

pub use signature::{IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

/// `connector_type` label of the ERP export, and the source kind its logs name.
pub const ERP: &str = "ERP";

/// Consecutive transient failures that open the circuit.
pub const BREAKER_FAILURES: u32 = 5;

/// Delay before the second attempt; each later one doubles it, up to the configured cap.
pub const RETRY_BASE: Duration = Duration::from_secs(1);

/// Builds the JSON document sent for a calculation. The server owns the shape of stored
/// calculations, so it supplies the builder.
pub type DocumentBuilder = Arc<dyn Fn(&CalculationRecord) -> serde_json::Value + Send + Sync>;

/// Where and how the export delivers.
#[derive(Clone, PartialEq)]
pub struct ErpConfig {
    /// The endpoint receiving one POST per calculation (`http://` or `https://`).
    pub url: String,
    /// Key of the HMAC-SHA256 signature; never shown by `Debug`.
    pub signing_key: Vec<u8>,
    /// Longest time one delivery may take, connection to last byte of the answer.
    pub timeout: Duration,
    /// Longest backoff between attempts of one row, and how long an open circuit stays open.
    pub retry_max: Duration,
    /// How long delivered rows are kept before they are pruned.
    pub retention: Duration,
}

impl fmt::Debug for ErpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErpConfig")
            .field("url", &self.url)
            .field("signing_key", &"***")
            .field("timeout", &self.timeout)
            .field("retry_max", &self.retry_max)
            .field("retention", &self.retention)
            .finish()
    }
}

impl ErpConfig {
    /// The endpoint URL, or the first value out of its range, naming its configuration key.
    pub fn validate(&self) -> Result<reqwest::Url, ConfigError> {
        let refuse = |field: &str, reason: String| ConfigError {
            field: field.to_string(),
            reason,
        };
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| refuse("erp_url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(refuse(
                "erp_url",
                "must be an http:// or https:// URL with a host".into(),
            ));
        }
        if self.signing_key.is_empty() {
            return Err(refuse(
                "erp_signing_key",
                "an ERP endpoint needs a signing key".into(),
            ));
        }
        for (field, value) in [
            ("erp_timeout_seconds", self.timeout),
            ("erp_retry_max_seconds", self.retry_max),
            ("erp_retention_days", self.retention),
        ] {
            if value.is_zero() {
                return Err(refuse(field, "must be positive".into()));
            }
        }
        Ok(url)
    }
}

/// The `source` label of an endpoint: its host and port, never its path or credentials.
pub fn source_name(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => url.scheme().to_string(),
    }
}

/// Why the export did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Not called from inside a Tokio runtime.
    #[error("the ERP export must be started inside a Tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be built (TLS setup).
    #[error("the ERP HTTP client: {0}")]
    Client(String),
}

/// The export's health, shared with whoever reports it; [`Health::Unknown`] until the first
/// delivery attempt (an idle export has nothing to say about the endpoint).
#[derive(Debug, Clone)]
pub struct ErpStatus(Arc<Mutex<SourceStatus>>);

impl ErpStatus {
    /// The status now.
    pub fn get(&self) -> SourceStatus {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The running export of one process.
pub struct ErpExporter {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    status: Arc<Mutex<SourceStatus>>,
    timeout: Duration,
}

impl ErpExporter {
    /// Validates `config` and starts delivering the outbox of `store`, each calculation as
    /// the document `document` builds. Stops at [`ErpExporter::shutdown`], or when dropped (its
    /// stop channel closes).
    pub fn start(
        store: Store,
        config: ErpConfig,
        document: DocumentBuilder,
    ) -> Result<Self, StartError> {
        let url = config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        crate::telemetry::describe_metrics();
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect would resend a signed POST elsewhere: the configured URL is the
            // endpoint, and a 3xx is retried as a transient answer.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("thermaliq/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StartError::Client(e.to_string()))?;
        let source = source_name(&url);
        let status = Arc::new(Mutex::new(SourceStatus {
            connector_type: ERP,
            source: source.clone(),
            health: Health::Unknown,
            last_success_us: None,
            last_error: None,
            consecutive_failures: 0,
            circuit_open: false,
        }));
        let (stop, stopped) = watch::channel(false);
        let timeout = config.timeout;
        let worker = worker::Worker::new(store, config, url, client, document, status.clone());
        tracing::info!(source_kind = ERP, source = %source, "ERP export started");
        let task = runtime.spawn(worker.run(stopped));
        Ok(Self {
            stop,
            task,
            status,
            timeout,
        })
    }

    /// Health of the endpoint as the last delivery found it, for the integration status.
    pub fn status(&self) -> SourceStatus {
        self.status_handle().get()
    }

    /// A view of [`ErpExporter::status`] that handlers can keep while `serve` owns the export.
    pub fn status_handle(&self) -> ErpStatus {
        ErpStatus(self.status.clone())
    }

    /// Stops the export: a delivery in flight finishes (within the timeout) so its row is not
    /// left claimed; undelivered rows stay in the outbox for the next start.
    pub async fn shutdown(self) {
        // A send fails only when the task has ended already, which is the goal anyway.
        let _ = self.stop.send(true);
        let mut task = self.task;
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(source_kind = ERP, error = %e, "ERP export task failed"),
            Err(_) => {
                task.abort();
                tracing::warn!(
                    source_kind = ERP,
                    "ERP export stopped during a delivery; its row is retried after the lease"
                );
            }
        }
    }
}
