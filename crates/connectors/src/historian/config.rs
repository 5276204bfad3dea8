//! Configuration of the process historians: each source's server, credentials (by the name
//! of a secret, never the secret itself), timing, and which historian series feeds which
//! facility tag (shape documented in `docs/CONNECTORS.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, refuse};
use crate::modbus::config::seconds;

/// Longest poll interval, circuit-open time or overlap accepted, s (a day).
const MAX_PERIOD_S: f64 = 86_400.0;
/// Longest request timeout accepted, s.
const MAX_TIMEOUT_S: f64 = 600.0;
/// Longest first retry delay accepted, s.
const MAX_BACKOFF_S: f64 = 60.0;
/// Most retries of one query accepted.
const MAX_RETRIES: u32 = 10;
/// Longest time window of one query, s (31 days): longer answers would not fit in memory.
const MAX_CHUNK_S: f64 = 31.0 * 86_400.0;
/// Shortest time window of one query, s: shorter would only multiply requests.
const MIN_CHUNK_S: f64 = 0.001;
/// Longest look-back of a follower at start, s (366 days); older history is for `backfill`.
const MAX_LOOKBACK_S: f64 = 366.0 * 86_400.0;

/// A process historian the facility's readings are pulled from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorianSource {
    /// Unique name: the `source` label of the metrics and the logs, and `backfill --source`.
    pub name: String,
    /// The historian's product and API.
    pub kind: HistorianKind,
    /// Base URL of its HTTP API (`http://10.20.0.30:8086`), without credentials.
    pub url: String,
    /// The database the series live in.
    pub database: String,
    /// Environment variable holding the user name (or, with `_FILE`, naming the file that
    /// holds it); absent: no authentication.
    #[serde(default)]
    pub username_secret: Option<String>,
    /// Environment variable holding the password (or, with `_FILE`, naming the file).
    #[serde(default)]
    pub password_secret: Option<String>,
    /// Time between two pulls of new data, s.
    #[serde(default = "default_poll_interval_s")]
    pub poll_interval_s: f64,
    /// Time allowed for one query, connecting included, s.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Retries of a failed query.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Delay before the first retry, s; doubled before each further one.
    #[serde(default = "default_retry_backoff_s")]
    pub retry_backoff_s: f64,
    /// Consecutive failed pulls that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker stops pulling before one trial pull, s.
    #[serde(default = "default_breaker_open_s")]
    pub breaker_open_s: f64,
    /// Time window of one query, s: a longer range is read window by window.
    #[serde(default = "default_chunk_s")]
    pub chunk_s: f64,
    /// How far before the end of the data already delivered each pull starts again, s, so
    /// points the historian receives late (a collector forwarding its buffer) are read too.
    #[serde(default = "default_overlap_s")]
    pub overlap_s: f64,
    /// How far back the follower reads when it starts, s.
    #[serde(default = "default_lookback_s")]
    pub lookback_s: f64,
    /// Which historian series feeds which facility tag.
    pub series: Vec<HistorianSeries>,
}

/// A historian product and API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistorianKind {
    /// InfluxDB 1.x: `/query` with InfluxQL.
    Influxdb1,
}

/// One historian series (a measurement's field, narrowed by tag values) feeding one
/// facility tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorianSeries {
    /// The facility tag it feeds.
    pub tag: String,
    /// InfluxDB measurement.
    pub measurement: String,
    /// Field holding the value.
    pub field: String,
    /// InfluxDB tag values selecting one series of the measurement (`{unit = "B1"}`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Field holding the value's quality (OPC DA quality code, `good`/`uncertain`/`bad`,
    /// or a boolean); absent: every reading is good.
    #[serde(default)]
    pub quality_field: Option<String>,
    /// Unit of the value, as the facility's tag map declares it.
    pub unit: String,
}

impl HistorianSource {
    pub(crate) fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        if self.name.trim().is_empty() {
            return Err(refuse(field("name"), "must not be empty"));
        }
        check_url(&field("url"), &self.url)?;
        if self.database.trim().is_empty() {
            return Err(refuse(field("database"), "must not be empty"));
        }
        for (name, value) in [
            ("username_secret", &self.username_secret),
            ("password_secret", &self.password_secret),
        ] {
            if let Some(v) = value
                && !is_env_name(v)
            {
                return Err(refuse(
                    field(name),
                    &format!(
                        "{v:?} is not an environment variable name (letters, digits and _, \
                         not starting with a digit)"
                    ),
                ));
            }
        }
        if self.username_secret.is_some() != self.password_secret.is_some() {
            let missing = if self.username_secret.is_none() {
                "username_secret"
            } else {
                "password_secret"
            };
            return Err(refuse(
                field(missing),
                "InfluxDB authenticates with a user name and a password: name both secrets",
            ));
        }
        seconds(
            &field("poll_interval_s"),
            self.poll_interval_s,
            MAX_PERIOD_S,
            false,
        )?;
        seconds(&field("timeout_s"), self.timeout_s, MAX_TIMEOUT_S, false)?;
        seconds(
            &field("retry_backoff_s"),
            self.retry_backoff_s,
            MAX_BACKOFF_S,
            true,
        )?;
        seconds(
            &field("breaker_open_s"),
            self.breaker_open_s,
            MAX_PERIOD_S,
            false,
        )?;
        seconds(&field("chunk_s"), self.chunk_s, MAX_CHUNK_S, false)?;
        if self.chunk_s < MIN_CHUNK_S {
            return Err(refuse(
                field("chunk_s"),
                &format!("{} s is shorter than {MIN_CHUNK_S} s", self.chunk_s),
            ));
        }
        seconds(&field("overlap_s"), self.overlap_s, MAX_PERIOD_S, true)?;
        seconds(&field("lookback_s"), self.lookback_s, MAX_LOOKBACK_S, true)?;
        if self.retries > MAX_RETRIES {
            return Err(refuse(
                field("retries"),
                &format!("{} is more than {MAX_RETRIES}", self.retries),
            ));
        }
        if self.breaker_failures == 0 {
            return Err(refuse(
                field("breaker_failures"),
                "must be at least 1 failed pull",
            ));
        }
        if self.series.is_empty() {
            return Err(refuse(
                field("series"),
                "a historian source needs at least one series",
            ));
        }
        for (j, s) in self.series.iter().enumerate() {
            s.validate(&format!("{at}.series[{j}]"))?;
        }
        Ok(())
    }

    /// Time between two pulls.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs_f64(self.poll_interval_s)
    }

    /// Time allowed for one query.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s)
    }

    /// Delay before the first retry.
    pub fn retry_backoff(&self) -> Duration {
        Duration::from_secs_f64(self.retry_backoff_s)
    }

    /// How long an open breaker stops pulling.
    pub fn breaker_open(&self) -> Duration {
        Duration::from_secs_f64(self.breaker_open_s)
    }

    /// Time window of one query, µs (at least 1).
    pub fn chunk_us(&self) -> i64 {
        seconds_to_us(self.chunk_s).max(1)
    }

    /// How far each pull reaches back before the data already delivered, µs.
    pub fn overlap_us(&self) -> i64 {
        seconds_to_us(self.overlap_s)
    }

    /// How far back the follower reads at start, µs.
    pub fn lookback_us(&self) -> i64 {
        seconds_to_us(self.lookback_s)
    }
}

impl HistorianSeries {
    fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        for (name, value) in [
            ("tag", &self.tag),
            ("measurement", &self.measurement),
            ("field", &self.field),
        ] {
            if value.trim().is_empty() {
                return Err(refuse(field(name), "must not be empty"));
            }
        }
        if self.field == "time" {
            return Err(refuse(
                field("field"),
                "\"time\" is InfluxDB's timestamp, not a field",
            ));
        }
        if let Some(q) = &self.quality_field
            && (q.trim().is_empty() || q == "time")
        {
            return Err(refuse(
                field("quality_field"),
                &format!("{q:?} is not a field name"),
            ));
        }
        if self.tags.keys().any(|k| k.trim().is_empty()) {
            return Err(refuse(field("tags"), "a tag key must not be empty"));
        }
        if self.unit.trim().is_empty() {
            return Err(refuse(field("unit"), "must name the unit of the value"));
        }
        Ok(())
    }
}

fn check_url(field: &str, url: &str) -> Result<(), ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| refuse(field.to_string(), &format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refuse(
            field.to_string(),
            &format!("{url:?}: only http and https are supported"),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(
            field.to_string(),
            "must not carry credentials: name them in username_secret and password_secret",
        ));
    }
    if parsed.query().is_some() {
        return Err(refuse(
            field.to_string(),
            &format!("{url:?} must not have a query string"),
        ));
    }
    Ok(())
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn seconds_to_us(s: f64) -> i64 {
    // Validated durations are at most a year, far inside i64 µs.
    (s * 1e6).round() as i64
}

fn default_poll_interval_s() -> f64 {
    10.0
}
fn default_timeout_s() -> f64 {
    30.0
}
fn default_retries() -> u32 {
    2
}
fn default_retry_backoff_s() -> f64 {
    1.0
}
fn default_breaker_failures() -> u32 {
    3
}
fn default_breaker_open_s() -> f64 {
    60.0
}
fn default_chunk_s() -> f64 {
    3_600.0
}
fn default_overlap_s() -> f64 {
    60.0
}
fn default_lookback_s() -> f64 {
    3_600.0
}

#[cfg(test)]
mod tests {
    use super::HistorianSource;
    use crate::config::ConnectorsConfig;

    fn read(extra_source: &str, extra_series: &str) -> ConnectorsConfig {
        let text = format!(
            r#"
            [[historian]]
            name = "h"
            kind = "influxdb1"
            url = "http://127.0.0.1:8086"
            database = "plant"
            {extra_source}

            [[historian.series]]
            tag = "FI-1"
            measurement = "m"
            field = "f"
            unit = "kg/h"
            {extra_series}
            "#
        );
        toml::from_str(&text).expect("the section reads")
    }

    fn refused(c: &ConnectorsConfig) -> String {
        c.validate().expect_err("refused").to_string()
    }

    #[test]
    fn a_minimal_source_takes_the_defaults() {
        let c = read("", "");
        c.validate().expect("valid");
        let h = &c.historian[0];
        assert_eq!(
            (h.poll_interval_s, h.chunk_s, h.overlap_s),
            (10.0, 3_600.0, 60.0)
        );
        assert_eq!(h.chunk_us(), 3_600_000_000);
        assert_eq!(c.tags()[0].field, "connectors.historian[0].series[0]");
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_field() {
        type Edit = fn(&mut HistorianSource);
        let cases: [(Edit, &str); 8] = [
            (
                |h| h.url = "http://u:p@127.0.0.1:8086".into(),
                "connectors.historian[0].url: must not carry credentials",
            ),
            (|h| h.url = "ftp://h".into(), "connectors.historian[0].url:"),
            (
                |h| h.username_secret = Some("USER".into()),
                "connectors.historian[0].password_secret:",
            ),
            (
                |h| {
                    h.username_secret = Some("1USER".into());
                    h.password_secret = Some("P".into());
                },
                "connectors.historian[0].username_secret:",
            ),
            (|h| h.chunk_s = 0.0, "connectors.historian[0].chunk_s:"),
            (|h| h.retries = 11, "connectors.historian[0].retries:"),
            (
                |h| h.breaker_failures = 0,
                "connectors.historian[0].breaker_failures:",
            ),
            (
                |h| h.series[0].quality_field = Some("time".into()),
                "connectors.historian[0].series[0].quality_field:",
            ),
        ];
        for (edit, expected) in cases {
            let mut c = read("", "");
            edit(&mut c.historian[0]);
            let e = refused(&c);
            assert!(e.starts_with(expected), "{e}");
        }
    }

    #[test]
    fn a_password_in_the_file_and_a_tag_fed_twice_are_refused() {
        let text = r#"
            [[historian]]
            name = "h"
            kind = "influxdb1"
            url = "http://127.0.0.1:8086"
            database = "plant"
            password = "secret"
            series = []
        "#;
        assert!(toml::from_str::<ConnectorsConfig>(text).is_err());
        let mut c = read("", "");
        let mut second = c.historian[0].clone();
        second.name = "h2".into();
        c.historian.push(second);
        assert!(
            refused(&c).starts_with("connectors.historian[1].series[0].tag:"),
            "{}",
            refused(&c)
        );
    }
}
