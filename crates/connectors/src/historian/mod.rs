//! Process historians: the [`Historian`] trait pulls a time range of a source's series, its
//! first backend is InfluxDB 1.x ([`InfluxDb1`]), [`SourceReader`] adds the source's
//! credentials, retries and metrics, and [`HistorianFollower`] pulls new data periodically
//! into the ingest path, re-reading from the end of the data delivered after an outage.

pub mod config;
mod follower;
mod influxdb1;
mod reader;

use std::future::Future;

use store::Reading;

pub use config::{HistorianKind, HistorianSeries, HistorianSource};
pub use follower::{HistorianFollower, StartError};
pub use influxdb1::{Credentials, InfluxDb1};
pub use reader::SourceReader;

/// `connector_type` label of the historians, and the source kind their logs name.
pub const HISTORIAN: &str = "Historian";

/// What one read of a time range returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pulled {
    /// The readings of the configured series, in the historian's order.
    pub readings: Vec<Reading>,
    /// Values that are no reading (a string, a boolean, not finite), each with its tag and
    /// time: counted and logged, never stored.
    pub refused: Vec<String>,
}

/// A process historian holding a source's series.
pub trait Historian: Send + Sync {
    /// Every configured series' readings in [`start_us`, `end_us`), UTC µs.
    fn read(
        &self,
        start_us: i64,
        end_us: i64,
    ) -> impl Future<Output = Result<Pulled, HistorianError>> + Send;
}

/// Why a read failed; [`HistorianError::kind`] is the `error_type` label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistorianError {
    /// The server could not be reached.
    #[error("cannot connect: {0}")]
    Connection(String),
    /// No complete answer within the timeout.
    #[error("no answer in time: {0}")]
    Timeout(String),
    /// The connection failed during the exchange.
    #[error("transport: {0}")]
    Transport(String),
    /// The server answered with an HTTP error status.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The server's error text.
        message: String,
    },
    /// The server refused the query (unknown database, bad statement).
    #[error("query refused: {0}")]
    Query(String),
    /// The answer is not what the API promises.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl HistorianError {
    /// The `error_type` label of the failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connection(_) => "connection",
            Self::Timeout(_) => "timeout",
            Self::Transport(_) => "transport",
            Self::Http { .. } => "http",
            Self::Query(_) => "query",
            Self::Protocol(_) => "protocol",
        }
    }

    /// Whether asking again may succeed: a refusal of the query itself (a 4xx status other
    /// than 429, an InfluxDB error) gets the same answer.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Connection(_) | Self::Timeout(_) | Self::Transport(_) | Self::Protocol(_) => true,
            Self::Http { status, .. } => *status >= 500 || *status == 429,
            Self::Query(_) => false,
        }
    }
}
