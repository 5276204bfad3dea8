//! Typed settings of the service: where it listens, where its data lives, and the limits it
//! enforces. [`crate::config`] layers them (defaults, file, `THERMALIQ_*` environment, flags);
//! [`SharedSettings`] holds the settings in force, swapped whole when `SIGHUP` reloads them.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

/// Everything the HTTP service needs to know. `Debug` masks the passwords inside URLs.
#[derive(Clone, PartialEq)]
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
    /// How long a web application session lasts after sign-in (`web_session_ttl_seconds`).
    pub web_session_ttl: Duration,
    /// After a stop signal, how long requests in flight may take before the service gives up
    /// on them and exits with an error.
    pub shutdown_grace: Duration,
    /// After a stop signal, how long the service keeps accepting requests while answering
    /// readiness 503, so that load balancers stop sending before the listener closes.
    pub shutdown_drain: Duration,
    /// The background integrity check of `serve`, which sets the
    /// `thermaliq_integrity_violations` gauges the corruption alert reads.
    pub integrity_check: IntegrityCheckSettings,
    /// Log filter (`RUST_LOG` syntax: `info`, `info,tower_http=debug`).
    pub log: String,
    /// Key of the stored token digests (`THERMALIQ_TOKEN_PEPPER`); without one a token is
    /// stored as its plain SHA-256.
    pub token_pepper: Option<TokenPepper>,
    /// Endpoint of the ERP export (`https://erp.example.com/hooks/thermaliq`); `None` turns
    /// delivery off (completed calculations still wait in the outbox).
    pub erp_url: Option<String>,
    /// Longest time one ERP delivery may take.
    pub erp_timeout: Duration,
    /// Longest backoff between attempts of one ERP delivery, and how long its circuit stays
    /// open.
    pub erp_retry_max: Duration,
    /// How long delivered outbox rows are kept.
    pub erp_retention: Duration,
    /// Key of the ERP signature (`THERMALIQ_ERP_SIGNING_KEY`); required with `erp_url`.
    pub erp_signing_key: Option<ErpSigningKey>,
}

/// The shared secret keying the HMAC-SHA256 signature of ERP deliveries. `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ErpSigningKey(Vec<u8>);

impl ErpSigningKey {
    /// A key of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ErpSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How often `serve` checks the calculations stored recently, and how far back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntegrityCheckSettings {
    /// Time between the end of one check and the start of the next; zero turns the check off.
    pub interval: Duration,
    /// The calculations checked: those created within this time before the check starts.
    pub window: Duration,
}

impl Default for IntegrityCheckSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            window: Duration::from_secs(3_600),
        }
    }
}

/// A server-side secret keying the stored token digests (HMAC-SHA256), so that a copy of the
/// `api_tokens` table alone cannot be used to test guessed tokens. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPepper(Vec<u8>);

impl TokenPepper {
    /// A pepper of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for TokenPepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
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

/// The default web session lifetime, 8 h: a working shift, after which the browser signs in
/// again.
pub const DEFAULT_WEB_SESSION_TTL: Duration = Duration::from_secs(28_800);

/// The default shutdown grace, 30 s: Kubernetes' default `terminationGracePeriodSeconds`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The default ERP delivery timeout, 10 s.
pub const DEFAULT_ERP_TIMEOUT: Duration = Duration::from_secs(10);

/// The default longest ERP backoff, 5 min: an ERP back from an outage gets the backlog
/// within that time.
pub const DEFAULT_ERP_RETRY_MAX: Duration = Duration::from_secs(300);

/// The default retention of delivered outbox rows, 30 days.
pub const DEFAULT_ERP_RETENTION: Duration = Duration::from_secs(30 * 86_400);

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
            web_session_ttl: DEFAULT_WEB_SESSION_TTL,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            shutdown_drain: Duration::ZERO,
            integrity_check: IntegrityCheckSettings::default(),
            log: "info".to_string(),
            token_pepper: None,
            erp_url: None,
            erp_timeout: DEFAULT_ERP_TIMEOUT,
            erp_retry_max: DEFAULT_ERP_RETRY_MAX,
            erp_retention: DEFAULT_ERP_RETENTION,
            erp_signing_key: None,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("max_period", &self.max_period)
            .field("min_coverage", &self.min_coverage)
            .field("body_limit", &self.body_limit)
            .field("cache", &self.cache)
            .field("token_cache_ttl", &self.token_cache_ttl)
            .field("web_session_ttl", &self.web_session_ttl)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_drain", &self.shutdown_drain)
            .field("integrity_check", &self.integrity_check)
            .field("log", &self.log)
            .field("token_pepper", &self.token_pepper)
            .field("erp_url", &self.erp_url.as_deref().map(redact_url))
            .field("erp_timeout", &self.erp_timeout)
            .field("erp_retry_max", &self.erp_retry_max)
            .field("erp_retention", &self.erp_retention)
            .field("erp_signing_key", &self.erp_signing_key)
            .finish()
    }
}

/// `url` with its password replaced by `***`, for logs; text that is not a URL is withheld
/// whole, since it might still hold a secret.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                // A URL that has a password has a host, so setting it cannot fail.
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(withheld: not a URL)".to_string(),
    }
}

/// Settings a reload does not change: they shape resources built once at start (the
/// listener, the store pool, the cache, the router's body limit, the token cache, the ERP
/// export).
pub const RESTART_ONLY: [&str; 14] = [
    "bind",
    "data_dir",
    "database_url",
    "redis_url",
    "body_limit",
    "cache_max_entries",
    "cache_ttl_seconds",
    "token_cache_ttl_seconds",
    "token_pepper",
    "erp_url",
    "erp_timeout_seconds",
    "erp_retry_max_seconds",
    "erp_retention_days",
    "erp_signing_key",
];

/// The outcome of applying reloaded settings over the running ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Reloaded {
    /// The settings to run with: the new reloadable values, the old restart-only ones.
    pub settings: Settings,
    /// Restart-only settings whose new value differs and was therefore not applied
    /// (names as in the configuration file).
    pub requires_restart: Vec<&'static str>,
}

impl Settings {
    /// `new` applied over `self`: reloadable fields take the new value, restart-only fields
    /// ([`RESTART_ONLY`]) keep the running one and are listed when they differ.
    pub fn reload(&self, new: Settings) -> Reloaded {
        let mut requires_restart = Vec::new();
        let changed = [
            self.bind != new.bind,
            self.data_dir != new.data_dir,
            self.database_url != new.database_url,
            self.redis_url != new.redis_url,
            self.body_limit != new.body_limit,
            self.cache.max_entries != new.cache.max_entries,
            self.cache.ttl != new.cache.ttl,
            self.token_cache_ttl != new.token_cache_ttl,
            self.token_pepper != new.token_pepper,
            self.erp_url != new.erp_url,
            self.erp_timeout != new.erp_timeout,
            self.erp_retry_max != new.erp_retry_max,
            self.erp_retention != new.erp_retention,
            self.erp_signing_key != new.erp_signing_key,
        ];
        for (name, differs) in RESTART_ONLY.into_iter().zip(changed) {
            if differs {
                requires_restart.push(name);
            }
        }
        let settings = Settings {
            bind: self.bind,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone(),
            body_limit: self.body_limit,
            cache: self.cache,
            token_cache_ttl: self.token_cache_ttl,
            token_pepper: self.token_pepper.clone(),
            erp_url: self.erp_url.clone(),
            erp_timeout: self.erp_timeout,
            erp_retry_max: self.erp_retry_max,
            erp_retention: self.erp_retention,
            erp_signing_key: self.erp_signing_key.clone(),
            ..new
        };
        Reloaded {
            settings,
            requires_restart,
        }
    }
}

/// The settings in force, shared by every handler: each request reads one consistent
/// snapshot, and a reload replaces the whole set atomically.
#[derive(Clone)]
pub struct SharedSettings(Arc<ArcSwap<Settings>>);

impl SharedSettings {
    /// Shares `settings`.
    pub fn new(settings: Settings) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(settings)))
    }

    /// The settings in force now.
    pub fn current(&self) -> Arc<Settings> {
        self.0.load_full()
    }

    /// Puts `settings` in force for every request that starts from now on.
    pub fn replace(&self, settings: Settings) {
        self.0.store(Arc::new(settings));
    }
}

impl std::fmt::Debug for SharedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.current().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_passwords_in_urls() {
        let s = Settings {
            database_url: Some("postgres://thermaliq:s3cr%40t@db:5432/thermaliq".into()),
            redis_url: Some("redis://:hunter2@cache:6379/0".into()),
            ..Settings::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("postgres://thermaliq:***@db:5432/thermaliq"),
            "{text}"
        );
        assert_eq!(
            redact_url("not a url with a secret"),
            "(withheld: not a URL)"
        );
    }

    #[test]
    fn reload_applies_limits_and_keeps_restart_only_fields() {
        let running = Settings::default();
        let new = Settings {
            bind: "0.0.0.0:9000".parse().unwrap(),
            redis_url: Some("redis://cache:6379/0".into()),
            max_period: Duration::from_secs(3_600),
            min_coverage: 0.5,
            ..Settings::default()
        };
        let r = running.reload(new);
        assert_eq!(r.requires_restart, ["bind", "redis_url"]);
        assert_eq!(r.settings.bind, running.bind);
        assert_eq!(r.settings.redis_url, None);
        assert_eq!(r.settings.max_period, Duration::from_secs(3_600));
        assert_eq!(r.settings.min_coverage, 0.5);
        assert!(running.reload(running.clone()).requires_restart.is_empty());
    }

    #[test]
    fn a_new_token_pepper_waits_for_a_restart_and_is_never_shown() {
        let running = Settings {
            token_pepper: Some(TokenPepper::new("first-pepper-0123456789")),
            ..Settings::default()
        };
        let new = Settings {
            token_pepper: Some(TokenPepper::new("second-pepper-0123456789")),
            ..Settings::default()
        };
        let r = running.reload(new);
        assert_eq!(r.requires_restart, ["token_pepper"]);
        assert_eq!(r.settings.token_pepper, running.token_pepper);
        let text = format!("{running:?}");
        assert!(!text.contains("first-pepper"), "{text}");
    }
}
