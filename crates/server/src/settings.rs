//! Typed settings of the service: where it listens, where its data lives, and the limits it
//! enforces. Only defaults for now; a settings file and `THERMALIQ_*` environment variables
//! are layered over them by the configuration issue.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Everything the HTTP service needs to know at start.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Address the HTTP listener binds; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Directory of the embedded database (`thermaliq.db`).
    pub data_dir: PathBuf,
    /// Database URL (`sqlite:///path/thermaliq.db`, `postgres://…`); when set it wins over
    /// `data_dir`.
    pub database_url: Option<String>,
    /// Redis URL (`redis://host:6379/0`); when set the calculation cache lives in Redis.
    pub redis_url: Option<String>,
    /// Longest period one calculation may cover.
    pub max_period: Duration,
    /// Coverage (0..1) every required tag must reach for a calculation to run.
    pub min_coverage: f64,
    /// Largest request body accepted, bytes; larger bodies are answered 413.
    pub body_limit: usize,
    /// The calculation cache.
    pub cache: CacheSettings,
    /// How long a verified token is trusted without asking the store again; zero asks every
    /// time. A revocation takes effect within this time.
    pub token_cache_ttl: Duration,
}

/// Size and lifetime of the in-process calculation cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Most calculation documents kept.
    pub max_entries: u64,
    /// How long a document stays cached after it was stored.
    pub ttl: Duration,
}

/// The default listen address, `127.0.0.1:8080`.
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 8080);

/// The default longest calculation period, 31 days.
pub const DEFAULT_MAX_PERIOD: Duration = Duration::from_secs(31 * 86_400);

/// The default body limit, 16 MiB: a batch of 10 000 readings as JSON is about 0.8 MB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            ttl: Duration::from_secs(3_600),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            max_period: DEFAULT_MAX_PERIOD,
            min_coverage: crate::aggregate::DEFAULT_MIN_COVERAGE,
            body_limit: DEFAULT_BODY_LIMIT,
            cache: CacheSettings::default(),
            token_cache_ttl: Duration::from_secs(5),
        }
    }
}
