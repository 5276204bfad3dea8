//! Layered configuration: defaults ← TOML file (the Kubernetes ConfigMap) ← `THERMALIQ_*`
//! environment variables ← command-line flags, validated into [`Settings`] with errors that
//! name the key and where it came from. Secrets (the database and Redis passwords, the token
//! pepper) come only from the environment or from files named by `*_FILE` variables (mounted
//! Kubernetes Secrets); the passwords are merged into the URLs. The keys are listed for operators in
//! `docs/CONFIGURATION.md`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use crate::settings::{
    CacheSettings, ErpSigningKey, IntegrityCheckSettings, Settings, TokenPepper,
};

/// Prefix of every configuration environment variable.
pub const ENV_PREFIX: &str = "THERMALIQ_";

/// Environment variable naming the configuration file when `--config` is not given.
pub const CONFIG_ENV: &str = "THERMALIQ_CONFIG";

/// Largest body limit accepted, 1 GiB: a larger request is a mistake, not a batch.
const MAX_BODY_LIMIT: u64 = 1 << 30;

/// Longest shutdown grace or drain accepted, one hour.
const MAX_SHUTDOWN_SECONDS: f64 = 3_600.0;

/// Longest integrity-check interval or window accepted, 30 days: the check reads every row of
/// its window, and a longer one is a mistake.
const MAX_INTEGRITY_SECONDS: f64 = 30.0 * 86_400.0;

/// Environment variable of the token pepper (or, with `_FILE`, of the file holding it).
pub const TOKEN_PEPPER_ENV: &str = "THERMALIQ_TOKEN_PEPPER";

/// Shortest token pepper accepted, bytes: a shorter key could be guessed from a copy of the
/// digests, which is what the pepper is there to prevent.
pub const MIN_TOKEN_PEPPER_BYTES: usize = 16;

/// Environment variable of the ERP signing key (or, with `_FILE`, of the file holding it).
pub const ERP_SIGNING_KEY_ENV: &str = "THERMALIQ_ERP_SIGNING_KEY";

/// Shortest ERP signing key accepted, bytes, as for the token pepper.
pub const MIN_ERP_SIGNING_KEY_BYTES: usize = 16;

/// Longest web session accepted, 30 days: a stolen session cookie must expire eventually.
const MAX_WEB_SESSION_SECONDS: f64 = 30.0 * 86_400.0;

/// Longest ERP delivery timeout or backoff accepted, one day.
const MAX_ERP_SECONDS: f64 = 86_400.0;

/// Every key of the file, as written there and (upper-cased, prefixed) in the environment.
const KEYS: [&str; 20] = [
    "bind",
    "data_dir",
    "database_url",
    "redis_url",
    "max_period_hours",
    "min_coverage",
    "body_limit",
    "cache_max_entries",
    "cache_ttl_seconds",
    "token_cache_ttl_seconds",
    "web_session_ttl_seconds",
    "shutdown_grace_seconds",
    "shutdown_drain_seconds",
    "integrity_check_interval_seconds",
    "integrity_check_window_seconds",
    "log",
    "erp_url",
    "erp_timeout_seconds",
    "erp_retry_max_seconds",
    "erp_retention_days",
];

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A key has a value that is not acceptable, or is not a key at all.
    #[error("{origin}: {field}: {message}")]
    Invalid {
        /// The key (`max_period_hours`), or the file when it does not parse at all.
        field: String,
        /// Where the value came from (`/etc/thermaliq/config.toml`,
        /// `environment variable THERMALIQ_MIN_COVERAGE`, `--bind`).
        origin: String,
        /// What is wrong with it.
        message: String,
    },
    /// The configuration file cannot be read.
    #[error("configuration file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        message: String,
    },
    /// A secret variable or its file cannot be used; the secret itself is never shown.
    #[error("{variable}: {message}")]
    Secret {
        /// The environment variable (`THERMALIQ_DATABASE_PASSWORD_FILE`).
        variable: String,
        /// What is wrong.
        message: String,
    },
}

/// Values given on the command line; each wins over the file and the environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--bind`.
    pub bind: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

/// Where the configuration comes from: the file (if any) and the environment variables.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The TOML file, from `--config` or `THERMALIQ_CONFIG`.
    pub file: Option<PathBuf>,
    /// The command-line values.
    pub overrides: Overrides,
}

impl ConfigSource {
    /// A source reading `file` (else the file named by `THERMALIQ_CONFIG`, else none) with
    /// the command-line `overrides`.
    pub fn new(file: Option<PathBuf>, overrides: Overrides) -> Self {
        let file = file.or_else(|| {
            std::env::var_os(CONFIG_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        Self { file, overrides }
    }

    /// Reads the file and the process environment now and validates the result.
    pub fn load(&self) -> Result<Settings, ConfigError> {
        load(self.file.as_deref(), std::env::vars(), &self.overrides)
    }
}

/// The file's shape: flat keys, every one optional there (defaults fill the rest), unknown
/// keys refused so a typo is not silently ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    bind: String,
    data_dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_url: Option<String>,
    max_period_hours: f64,
    min_coverage: f64,
    body_limit: u64,
    cache_max_entries: u64,
    cache_ttl_seconds: f64,
    token_cache_ttl_seconds: f64,
    web_session_ttl_seconds: f64,
    shutdown_grace_seconds: f64,
    shutdown_drain_seconds: f64,
    integrity_check_interval_seconds: f64,
    integrity_check_window_seconds: f64,
    log: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    erp_url: Option<String>,
    erp_timeout_seconds: f64,
    erp_retry_max_seconds: f64,
    erp_retention_days: f64,
}

impl From<&Settings> for Raw {
    fn from(s: &Settings) -> Self {
        Self {
            bind: s.bind.to_string(),
            data_dir: s.data_dir.clone(),
            database_url: s.database_url.clone(),
            redis_url: s.redis_url.clone(),
            max_period_hours: s.max_period.as_secs_f64() / 3_600.0,
            min_coverage: s.min_coverage,
            body_limit: s.body_limit as u64,
            cache_max_entries: s.cache.max_entries,
            cache_ttl_seconds: s.cache.ttl.as_secs_f64(),
            token_cache_ttl_seconds: s.token_cache_ttl.as_secs_f64(),
            web_session_ttl_seconds: s.web_session_ttl.as_secs_f64(),
            shutdown_grace_seconds: s.shutdown_grace.as_secs_f64(),
            shutdown_drain_seconds: s.shutdown_drain.as_secs_f64(),
            integrity_check_interval_seconds: s.integrity_check.interval.as_secs_f64(),
            integrity_check_window_seconds: s.integrity_check.window.as_secs_f64(),
            log: s.log.clone(),
            erp_url: s.erp_url.clone(),
            erp_timeout_seconds: s.erp_timeout.as_secs_f64(),
            erp_retry_max_seconds: s.erp_retry_max.as_secs_f64(),
            erp_retention_days: s.erp_retention.as_secs_f64() / 86_400.0,
        }
    }
}

/// The `THERMALIQ_*` variables that name keys, as a figment provider whose errors name the
/// variable. A variable that names no key (`THERMALIQ_CONFIG`, the secrets, test settings)
/// is not configuration and is left alone.
struct EnvLayer(Dict);

impl EnvLayer {
    fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut dict = Dict::new();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if KEYS.contains(&key.as_str()) {
                // Env values are typed the way figment's own `Env` provider types them.
                let parsed: Value = value.parse().unwrap_or_else(|e| match e {});
                dict.insert(key, parsed);
            }
        }
        Self(dict)
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable")
            .interpolater(|_, keys| format!("{ENV_PREFIX}{}", keys.join("_").to_ascii_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.0.clone()))
    }
}

/// Where a figment error's value came from, as an operator would look for it.
fn origin_of(e: &figment::Error) -> String {
    match &e.metadata {
        Some(m) if m.name == "environment variable" => format!(
            "environment variable {ENV_PREFIX}{}",
            e.path.join("_").to_ascii_uppercase()
        ),
        Some(m) => match &m.source {
            Some(figment::Source::File(path)) => path.display().to_string(),
            _ => m.name.to_string(),
        },
        None => "configuration".to_string(),
    }
}

fn figment_error(e: figment::Error) -> ConfigError {
    let origin = origin_of(&e);
    let field = match &e.kind {
        figment::error::Kind::UnknownField(name, _) => name.clone(),
        _ if !e.path.is_empty() => e.path.join("."),
        _ => "(file)".to_string(),
    };
    let message = match &e.kind {
        figment::error::Kind::UnknownField(name, _)
            if name.contains("password") || name.contains("pepper") || name.contains("key") =>
        {
            format!(
                "{name:?} is not a configuration key: secrets come from \
                 THERMALIQ_DATABASE_PASSWORD, THERMALIQ_REDIS_PASSWORD, \
                 THERMALIQ_TOKEN_PEPPER or THERMALIQ_ERP_SIGNING_KEY, or from the files named \
                 by their _FILE variants"
            )
        }
        figment::error::Kind::UnknownField(name, _) => {
            format!("{name:?} is not a configuration key; see docs/CONFIGURATION.md")
        }
        kind => kind.to_string(),
    };
    ConfigError::Invalid {
        field,
        origin,
        message,
    }
}

/// Loads the settings from `file` (when given), the environment `vars` and `overrides`,
/// validated; the passwords from `vars` (or the files they name) are merged into the URLs.
pub fn load(
    file: Option<&Path>,
    vars: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Settings, ConfigError> {
    let vars: BTreeMap<String, String> = vars.into_iter().collect();
    let mut figment = Figment::from(Serialized::defaults(Raw::from(&Settings::default())));
    if let Some(path) = file {
        // Checked here: figment treats an unreadable file as an empty one.
        std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(EnvLayer::new(vars.clone()));
    let raw: Raw = figment.extract().map_err(figment_error)?;
    let mut settings = validate(raw, file)?;
    if let Some(bind) = overrides.bind {
        settings.bind = bind;
    }
    if let Some(dir) = &overrides.data_dir {
        settings.data_dir = dir.clone();
    }
    if let Some(url) = &overrides.database_url {
        settings.database_url = Some(url.clone());
    }
    if let Some(password) = secret(&vars, "THERMALIQ_DATABASE_PASSWORD")? {
        let url = settings
            .database_url
            .as_deref()
            .ok_or_else(|| ConfigError::Secret {
                variable: "THERMALIQ_DATABASE_PASSWORD".into(),
                message: "a database password is given but no database_url to use it with".into(),
            })?;
        settings.database_url = Some(with_password(url, &password, "database_url")?);
    }
    if let Some(password) = secret(&vars, "THERMALIQ_REDIS_PASSWORD")? {
        let url = settings
            .redis_url
            .as_deref()
            .ok_or_else(|| ConfigError::Secret {
                variable: "THERMALIQ_REDIS_PASSWORD".into(),
                message: "a Redis password is given but no redis_url to use it with".into(),
            })?;
        settings.redis_url = Some(with_password(url, &password, "redis_url")?);
    }
    settings.token_pepper = token_pepper(&vars)?;
    settings.erp_signing_key = erp_signing_key(&vars, settings.erp_url.is_some())?;
    Ok(settings)
}

/// The ERP signing key from `THERMALIQ_ERP_SIGNING_KEY[_FILE]`: required with `erp_url`
/// (an unsigned delivery could not be trusted), refused without it (a key for nothing is a
/// mistake), and at least [`MIN_ERP_SIGNING_KEY_BYTES`] long; its bytes are used as given.
fn erp_signing_key(
    vars: &BTreeMap<String, String>,
    has_url: bool,
) -> Result<Option<ErpSigningKey>, ConfigError> {
    let key = secret(vars, ERP_SIGNING_KEY_ENV)?;
    let variable = if vars.get(ERP_SIGNING_KEY_ENV).is_some_and(|v| !v.is_empty()) {
        ERP_SIGNING_KEY_ENV.to_string()
    } else {
        format!("{ERP_SIGNING_KEY_ENV}_FILE")
    };
    let refuse = |variable: String, message: String| ConfigError::Secret { variable, message };
    match key {
        None if has_url => Err(refuse(
            ERP_SIGNING_KEY_ENV.to_string(),
            "erp_url is set but no signing key: set THERMALIQ_ERP_SIGNING_KEY or \
             THERMALIQ_ERP_SIGNING_KEY_FILE (`openssl rand -hex 32` makes a good one)"
                .into(),
        )),
        None => Ok(None),
        Some(_) if !has_url => Err(refuse(
            variable,
            "an ERP signing key is given but no erp_url to deliver to".into(),
        )),
        Some(key) if key.len() < MIN_ERP_SIGNING_KEY_BYTES => Err(refuse(
            variable,
            format!(
                "the ERP signing key has {} bytes; give at least {MIN_ERP_SIGNING_KEY_BYTES}",
                key.len()
            ),
        )),
        Some(key) => Ok(Some(ErpSigningKey::new(key))),
    }
}

/// The token pepper from `THERMALIQ_TOKEN_PEPPER[_FILE]`, refused when shorter than
/// [`MIN_TOKEN_PEPPER_BYTES`]; its bytes are used as given, so a hex string is a key of its
/// characters, not of the bytes it encodes.
fn token_pepper(vars: &BTreeMap<String, String>) -> Result<Option<TokenPepper>, ConfigError> {
    let Some(pepper) = secret(vars, TOKEN_PEPPER_ENV)? else {
        return Ok(None);
    };
    if pepper.len() < MIN_TOKEN_PEPPER_BYTES {
        let variable = if vars.get(TOKEN_PEPPER_ENV).is_some_and(|v| !v.is_empty()) {
            TOKEN_PEPPER_ENV.to_string()
        } else {
            format!("{TOKEN_PEPPER_ENV}_FILE")
        };
        return Err(ConfigError::Secret {
            variable,
            message: format!(
                "the token pepper has {} bytes; give at least {MIN_TOKEN_PEPPER_BYTES} \
                 (`openssl rand -hex 32` makes a good one)",
                pepper.len()
            ),
        });
    }
    Ok(Some(TokenPepper::new(pepper)))
}

/// A duration in seconds from a key, refused naming it when negative, not finite or above
/// `max`.
fn seconds(field: &str, origin: &str, value: f64, max: f64) -> Result<Duration, ConfigError> {
    if !(0.0..=max).contains(&value) {
        return Err(invalid(
            field,
            origin,
            format!("{value} is not a number of seconds from 0 to {max}"),
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

fn invalid(field: &str, origin: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        origin: origin.to_string(),
        message,
    }
}

/// Checks every value of `raw`; `file` only names the origin in errors (a value may also
/// come from the environment; the key is named either way).
fn validate(raw: Raw, file: Option<&Path>) -> Result<Settings, ConfigError> {
    let origin = match file {
        Some(f) => format!("configuration ({} and environment)", f.display()),
        None => "configuration (environment)".to_string(),
    };
    let o = origin.as_str();
    let bind: SocketAddr = raw.bind.parse().map_err(|_| {
        invalid(
            "bind",
            o,
            format!("{:?} is not an address such as 0.0.0.0:8080", raw.bind),
        )
    })?;
    let hours = raw.max_period_hours;
    if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 3_660.0) {
        return Err(invalid(
            "max_period_hours",
            o,
            format!("{hours} is not a number of hours above 0 and at most ten years"),
        ));
    }
    if !(0.0..=1.0).contains(&raw.min_coverage) {
        return Err(invalid(
            "min_coverage",
            o,
            format!("{} is not a fraction from 0 to 1", raw.min_coverage),
        ));
    }
    if !(1..=MAX_BODY_LIMIT).contains(&raw.body_limit) {
        return Err(invalid(
            "body_limit",
            o,
            format!(
                "{} is not a number of bytes from 1 to {MAX_BODY_LIMIT}",
                raw.body_limit
            ),
        ));
    }
    if raw.cache_max_entries == 0 {
        return Err(invalid(
            "cache_max_entries",
            o,
            "0 entries would cache nothing; give at least 1".into(),
        ));
    }
    let cache_ttl = seconds(
        "cache_ttl_seconds",
        o,
        raw.cache_ttl_seconds,
        365.0 * 86_400.0,
    )?;
    if cache_ttl.is_zero() {
        return Err(invalid(
            "cache_ttl_seconds",
            o,
            "0 s would cache nothing; give a positive number of seconds".into(),
        ));
    }
    let token_cache_ttl = seconds(
        "token_cache_ttl_seconds",
        o,
        raw.token_cache_ttl_seconds,
        MAX_SHUTDOWN_SECONDS,
    )?;
    let web_session_ttl = seconds(
        "web_session_ttl_seconds",
        o,
        raw.web_session_ttl_seconds,
        MAX_WEB_SESSION_SECONDS,
    )?;
    if web_session_ttl.is_zero() {
        return Err(invalid(
            "web_session_ttl_seconds",
            o,
            "0 s would end every session at once; give a positive number of seconds".into(),
        ));
    }
    let shutdown_grace = seconds(
        "shutdown_grace_seconds",
        o,
        raw.shutdown_grace_seconds,
        MAX_SHUTDOWN_SECONDS,
    )?;
    if shutdown_grace.is_zero() {
        return Err(invalid(
            "shutdown_grace_seconds",
            o,
            "0 s leaves requests in flight no time to finish; give a positive number".into(),
        ));
    }
    let shutdown_drain = seconds(
        "shutdown_drain_seconds",
        o,
        raw.shutdown_drain_seconds,
        MAX_SHUTDOWN_SECONDS,
    )?;
    if shutdown_drain >= shutdown_grace {
        return Err(invalid(
            "shutdown_drain_seconds",
            o,
            format!(
                "the drain ({} s) must be shorter than shutdown_grace_seconds ({} s), which \
                 it is part of",
                shutdown_drain.as_secs_f64(),
                shutdown_grace.as_secs_f64()
            ),
        ));
    }
    let integrity_check = IntegrityCheckSettings {
        interval: seconds(
            "integrity_check_interval_seconds",
            o,
            raw.integrity_check_interval_seconds,
            MAX_INTEGRITY_SECONDS,
        )?,
        window: seconds(
            "integrity_check_window_seconds",
            o,
            raw.integrity_check_window_seconds,
            MAX_INTEGRITY_SECONDS,
        )?,
    };
    if integrity_check.window.is_zero() {
        return Err(invalid(
            "integrity_check_window_seconds",
            o,
            "0 s would check nothing; give a positive number of seconds".into(),
        ));
    }
    if raw.log.trim().is_empty() {
        return Err(invalid(
            "log",
            o,
            "the log filter is empty; use info".into(),
        ));
    }
    let erp_timeout = seconds(
        "erp_timeout_seconds",
        o,
        raw.erp_timeout_seconds,
        MAX_ERP_SECONDS,
    )?;
    let erp_retry_max = seconds(
        "erp_retry_max_seconds",
        o,
        raw.erp_retry_max_seconds,
        MAX_ERP_SECONDS,
    )?;
    for (field, value) in [
        ("erp_timeout_seconds", erp_timeout),
        ("erp_retry_max_seconds", erp_retry_max),
    ] {
        if value.is_zero() {
            return Err(invalid(
                field,
                o,
                "0 s is not a usable limit; give a positive number of seconds".into(),
            ));
        }
    }
    let days = raw.erp_retention_days;
    if !(days.is_finite() && days > 0.0 && days <= 3_660.0) {
        return Err(invalid(
            "erp_retention_days",
            o,
            format!("{days} is not a number of days above 0 and at most ten years"),
        ));
    }
    let url = |field: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
        match value.map(|v| v.trim().to_string()) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) if url::Url::parse(&v).is_ok() => Ok(Some(v)),
            Some(_) => Err(invalid(field, o, "not a URL".into())),
        }
    };
    Ok(Settings {
        bind,
        data_dir: raw.data_dir,
        database_url: url("database_url", raw.database_url)?,
        redis_url: url("redis_url", raw.redis_url)?,
        max_period: Duration::from_secs_f64(hours * 3_600.0),
        min_coverage: raw.min_coverage,
        body_limit: usize::try_from(raw.body_limit).unwrap_or(usize::MAX),
        cache: CacheSettings {
            max_entries: raw.cache_max_entries,
            ttl: cache_ttl,
        },
        token_cache_ttl,
        web_session_ttl,
        shutdown_grace,
        shutdown_drain,
        integrity_check,
        log: raw.log,
        token_pepper: None,
        erp_url: erp_url(raw.erp_url, o)?,
        erp_timeout,
        erp_retry_max,
        erp_retention: Duration::from_secs_f64(days * 86_400.0),
        erp_signing_key: None,
    })
}

/// The ERP endpoint: empty means none; anything else must be an http(s) URL with a host.
fn erp_url(value: Option<String>, origin: &str) -> Result<Option<String>, ConfigError> {
    let Some(v) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    match url::Url::parse(&v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(Some(v)),
        _ => Err(invalid(
            "erp_url",
            origin,
            "not an http:// or https:// URL with a host".into(),
        )),
    }
}

/// The secret in `NAME` or in the file named by `NAME_FILE` (one trailing newline dropped,
/// as `echo` and editors leave one); giving both is refused as ambiguous.
fn secret(vars: &BTreeMap<String, String>, name: &str) -> Result<Option<String>, ConfigError> {
    let file_var = format!("{name}_FILE");
    let direct = vars.get(name).filter(|v| !v.is_empty());
    let file = vars.get(&file_var).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(ConfigError::Secret {
            variable: name.to_string(),
            message: format!("both {name} and {file_var} are set; set one"),
        }),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Secret {
                variable: file_var.clone(),
                message: format!("cannot read {path}: {e}"),
            })?;
            let text = text
                .strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                .unwrap_or(&text);
            if text.is_empty() {
                return Err(ConfigError::Secret {
                    variable: file_var,
                    message: format!("{path} is empty"),
                });
            }
            Ok(Some(text.to_string()))
        }
        (None, None) => Ok(None),
    }
}

/// `url` with `password` set (percent-encoded); a URL scheme without passwords (SQLite) or
/// without a host is refused naming `field`.
fn with_password(url: &str, password: &str, field: &str) -> Result<String, ConfigError> {
    let refuse = |message: String| ConfigError::Invalid {
        field: field.to_string(),
        origin: "configuration".to_string(),
        message,
    };
    let mut parsed = url::Url::parse(url).map_err(|_| refuse("not a URL".into()))?;
    if parsed.scheme() == "sqlite" {
        return Err(refuse(
            "a SQLite database has no password; unset the password variable".into(),
        ));
    }
    parsed
        .set_password(Some(password))
        .map_err(|()| refuse("this URL has no host to log in to".into()))?;
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults_without_file_or_environment() {
        let s = load(None, vars(&[]), &Overrides::default()).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn environment_wins_over_file_and_flags_over_both() {
        let f = file(
            "bind = \"0.0.0.0:9000\"\nmax_period_hours = 48\nmin_coverage = 0.5\n\
             redis_url = \"redis://cache:6379/0\"\n",
        );
        let env = vars(&[
            ("THERMALIQ_MAX_PERIOD_HOURS", "12"),
            ("THERMALIQ_BODY_LIMIT", "1024"),
            ("THERMALIQ_SHUTDOWN_GRACE_SECONDS", "2.5"),
            ("THERMALIQ_TEST_POSTGRES_URL", "postgres://ignored"),
            ("PATH", "/usr/bin"),
        ]);
        let flags = Overrides {
            bind: Some("127.0.0.1:7000".parse().unwrap()),
            ..Overrides::default()
        };
        let s = load(Some(f.path()), env, &flags).unwrap();
        assert_eq!(s.bind, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(s.max_period, Duration::from_secs(12 * 3_600));
        assert_eq!(s.min_coverage, 0.5);
        assert_eq!(s.body_limit, 1024);
        assert_eq!(s.shutdown_grace, Duration::from_millis(2_500));
        assert_eq!(s.redis_url.as_deref(), Some("redis://cache:6379/0"));
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let f = file("max_period_hour = 12\n");
        let e = load(Some(f.path()), vars(&[]), &Overrides::default()).unwrap_err();
        let ConfigError::Invalid { field, origin, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(field, "max_period_hour");
        assert!(origin.contains(&f.path().display().to_string()), "{e}");
    }

    #[test]
    fn bad_values_are_refused_naming_the_key_and_the_variable() {
        let e = load(
            None,
            vars(&[("THERMALIQ_MIN_COVERAGE", "lots")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment variable THERMALIQ_MIN_COVERAGE: min_coverage"),
            "{e}"
        );
        for (key, value) in [
            ("THERMALIQ_MIN_COVERAGE", "1.5"),
            ("THERMALIQ_MAX_PERIOD_HOURS", "0"),
            ("THERMALIQ_BIND", "everywhere"),
            ("THERMALIQ_BODY_LIMIT", "0"),
            ("THERMALIQ_SHUTDOWN_GRACE_SECONDS", "-1"),
            ("THERMALIQ_CACHE_MAX_ENTRIES", "0"),
        ] {
            let e = load(None, vars(&[(key, value)]), &Overrides::default()).unwrap_err();
            let field = key.trim_start_matches(ENV_PREFIX).to_ascii_lowercase();
            assert!(
                matches!(&e, ConfigError::Invalid { field: f, .. } if *f == field),
                "{key}={value}: {e}"
            );
        }
        let f = file("this is not toml =");
        let e = load(Some(f.path()), vars(&[]), &Overrides::default()).unwrap_err();
        assert!(
            e.to_string().contains(&f.path().display().to_string()),
            "{e}"
        );
        let e = load(
            Some(Path::new("/nonexistent/thermaliq.toml")),
            vars(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::File { .. }), "{e}");
    }

    #[test]
    fn passwords_come_from_variables_or_files_into_the_urls() {
        let secret_file = file("p@ss word\n");
        let path = secret_file.path().to_str().unwrap();
        let s = load(
            None,
            vars(&[
                (
                    "THERMALIQ_DATABASE_URL",
                    "postgres://thermaliq@db:5432/thermaliq",
                ),
                ("THERMALIQ_DATABASE_PASSWORD_FILE", path),
                ("THERMALIQ_REDIS_URL", "redis://cache:6379/0"),
                ("THERMALIQ_REDIS_PASSWORD", "hunter2"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            s.database_url.as_deref(),
            Some("postgres://thermaliq:p%40ss%20word@db:5432/thermaliq")
        );
        assert_eq!(
            s.redis_url.as_deref(),
            Some("redis://:hunter2@cache:6379/0")
        );
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("p%40ss") && !shown.contains("hunter2"),
            "{shown}"
        );

        let both = load(
            None,
            vars(&[
                (
                    "THERMALIQ_DATABASE_URL",
                    "postgres://thermaliq@db/thermaliq",
                ),
                ("THERMALIQ_DATABASE_PASSWORD", "x"),
                ("THERMALIQ_DATABASE_PASSWORD_FILE", path),
            ]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(both, ConfigError::Secret { .. }), "{both}");
        let missing = load(
            None,
            vars(&[
                (
                    "THERMALIQ_DATABASE_URL",
                    "postgres://thermaliq@db/thermaliq",
                ),
                ("THERMALIQ_DATABASE_PASSWORD_FILE", "/nonexistent/secret"),
            ]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("THERMALIQ_DATABASE_PASSWORD_FILE: cannot read"),
            "{missing}"
        );
        let in_file = file("database_password = \"x\"\n");
        let e = load(Some(in_file.path()), vars(&[]), &Overrides::default()).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { field, .. } if field == "database_password"),
            "{e}"
        );
        assert!(!e.to_string().contains("\"x\""), "{e}");
    }

    #[test]
    fn the_token_pepper_comes_from_a_variable_or_a_file_and_is_never_shown() {
        let pepper = "0123456789abcdef0123456789abcdef";
        let s = load(
            None,
            vars(&[(TOKEN_PEPPER_ENV, pepper)]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            s.token_pepper.as_ref().map(TokenPepper::as_bytes),
            Some(pepper.as_bytes())
        );
        let shown = format!("{s:?}");
        assert!(!shown.contains(pepper), "{shown}");
        assert!(shown.contains("token_pepper: Some(***)"), "{shown}");

        let in_file = file(&format!("{pepper}\n"));
        let s = load(
            None,
            vars(&[(
                "THERMALIQ_TOKEN_PEPPER_FILE",
                in_file.path().to_str().unwrap(),
            )]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            s.token_pepper.as_ref().map(TokenPepper::as_bytes),
            Some(pepper.as_bytes())
        );
        assert_eq!(
            load(None, vars(&[]), &Overrides::default())
                .unwrap()
                .token_pepper,
            None
        );

        let short = load(
            None,
            vars(&[(TOKEN_PEPPER_ENV, "hunter2")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&short, ConfigError::Secret { variable, .. } if variable == TOKEN_PEPPER_ENV),
            "{short}"
        );
        assert!(!short.to_string().contains("hunter2"), "{short}");
        let both = load(
            None,
            vars(&[
                (TOKEN_PEPPER_ENV, pepper),
                (
                    "THERMALIQ_TOKEN_PEPPER_FILE",
                    in_file.path().to_str().unwrap(),
                ),
            ]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(both, ConfigError::Secret { .. }), "{both}");
        let in_config = file(&format!("token_pepper = \"{pepper}\"\n"));
        let e = load(Some(in_config.path()), vars(&[]), &Overrides::default()).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { field, .. } if field == "token_pepper"),
            "{e}"
        );
        assert!(e.to_string().contains(TOKEN_PEPPER_ENV), "{e}");
        assert!(!e.to_string().contains(pepper), "{e}");
    }

    #[test]
    fn the_erp_export_needs_an_http_url_and_a_signing_key_and_never_shows_the_key() {
        let key = "erp-signing-key-0123456789abcdef";
        let key_file = file(&format!("{key}\n"));
        let f = file(
            "erp_url = \"https://erp.example.com/hooks/thermaliq\"\nerp_timeout_seconds = 5\n\
             erp_retention_days = 7\n",
        );
        let s = load(
            Some(f.path()),
            vars(&[
                ("THERMALIQ_ERP_RETRY_MAX_SECONDS", "60"),
                (
                    "THERMALIQ_ERP_SIGNING_KEY_FILE",
                    key_file.path().to_str().unwrap(),
                ),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            s.erp_url.as_deref(),
            Some("https://erp.example.com/hooks/thermaliq")
        );
        assert_eq!(s.erp_timeout, Duration::from_secs(5));
        assert_eq!(s.erp_retry_max, Duration::from_secs(60));
        assert_eq!(s.erp_retention, Duration::from_secs(7 * 86_400));
        assert_eq!(
            s.erp_signing_key.as_ref().map(ErpSigningKey::as_bytes),
            Some(key.as_bytes())
        );
        assert!(!format!("{s:?}").contains(key));

        let url = ("THERMALIQ_ERP_URL", "http://127.0.0.1:9999/erp");
        let refused =
            |pairs: &[(&str, &str)]| load(None, vars(pairs), &Overrides::default()).unwrap_err();
        let field_of = |e: &ConfigError| match e {
            ConfigError::Invalid { field, .. } => field.clone(),
            ConfigError::Secret { variable, .. } => variable.clone(),
            ConfigError::File { .. } => String::new(),
        };
        for (pairs, expected) in [
            (vec![url], ERP_SIGNING_KEY_ENV),
            (vec![(ERP_SIGNING_KEY_ENV, key)], ERP_SIGNING_KEY_ENV),
            (
                vec![url, (ERP_SIGNING_KEY_ENV, "short")],
                ERP_SIGNING_KEY_ENV,
            ),
            (
                vec![
                    ("THERMALIQ_ERP_URL", "ftp://erp/"),
                    (ERP_SIGNING_KEY_ENV, key),
                ],
                "erp_url",
            ),
            (
                vec![
                    url,
                    (ERP_SIGNING_KEY_ENV, key),
                    ("THERMALIQ_ERP_TIMEOUT_SECONDS", "0"),
                ],
                "erp_timeout_seconds",
            ),
            (
                vec![
                    url,
                    (ERP_SIGNING_KEY_ENV, key),
                    ("THERMALIQ_ERP_RETENTION_DAYS", "-1"),
                ],
                "erp_retention_days",
            ),
        ] {
            let e = refused(&pairs);
            assert_eq!(field_of(&e), expected, "{pairs:?}: {e}");
            assert!(!e.to_string().contains(key), "{e}");
        }
        let in_config = file(&format!("erp_signing_key = \"{key}\"\n"));
        let e = load(Some(in_config.path()), vars(&[]), &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains(ERP_SIGNING_KEY_ENV), "{e}");
    }
}
