//! Configuration of the Modbus TCP meters: devices and their register maps, as the `connectors`
//! section of a facility file carries them (shape documented in `docs/CONNECTORS.md`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::plan::MAX_REGISTERS_PER_REQUEST;
use crate::config::{ConfigError, refuse};

/// Longest poll interval or circuit-open time accepted, s (a day): longer is a typo.
const MAX_PERIOD_S: f64 = 86_400.0;
/// Longest request timeout accepted, s.
const MAX_TIMEOUT_S: f64 = 600.0;
/// Longest first retry delay accepted, s.
const MAX_BACKOFF_S: f64 = 60.0;
/// Most retries of one request accepted: more would hold a poll cycle for minutes.
const MAX_RETRIES: u32 = 10;

/// One Modbus TCP device (a meter, or a gateway in front of one, addressed by its unit id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusDevice {
    /// Unique name: the `source` label of the metrics and the logs.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    #[serde(default = "default_port")]
    pub port: u32,
    /// Modbus unit id (slave id), 0-255.
    #[serde(default = "default_unit_id")]
    pub unit_id: u32,
    /// Time between two polls, s.
    #[serde(default = "default_poll_interval_s")]
    pub poll_interval_s: f64,
    /// Time allowed for connecting and for each request, s.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Retries of a failed request within one poll.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Delay before the first retry, s; doubled before each further one.
    #[serde(default = "default_retry_backoff_s")]
    pub retry_backoff_s: f64,
    /// Consecutive failed polls that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker stops polling before one trial poll, s.
    #[serde(default = "default_breaker_open_s")]
    pub breaker_open_s: f64,
    /// The register map: one entry per tag.
    pub points: Vec<ModbusPoint>,
}

/// One value of a device's register map, feeding one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusPoint {
    /// The facility tag the value feeds.
    pub tag: String,
    /// Zero-based protocol address of its first register (holding register 40001 is 0).
    pub address: u32,
    /// Which register table it is read from.
    pub function: RegisterFunction,
    /// How its registers encode the value.
    pub data_type: DataType,
    /// Order of the registers of a 32- or 64-bit value; `big` (most significant first) when
    /// absent. Refused on a 16-bit type, where it means nothing.
    #[serde(default)]
    pub word_order: Option<Order>,
    /// Order of the two bytes inside each register; `big` (the Modbus standard) when absent.
    #[serde(default)]
    pub byte_order: Option<Order>,
    /// Multiplier applied to the raw value.
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// Added after scaling: value = raw × scale + offset.
    #[serde(default)]
    pub offset: f64,
    /// Unit of the scaled value, as the facility's tag map declares it (`kg/h`, `°C`, `kW`).
    pub unit: String,
}

/// A register table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterFunction {
    /// Holding registers, function code 3.
    Holding,
    /// Input registers, function code 4.
    Input,
}

impl RegisterFunction {
    /// The Modbus function code that reads the table.
    pub fn code(self) -> u8 {
        match self {
            Self::Holding => 3,
            Self::Input => 4,
        }
    }
}

/// How a value is encoded in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Unsigned 16-bit integer, one register.
    U16,
    /// Two's-complement 16-bit integer, one register.
    I16,
    /// Unsigned 32-bit integer, two registers.
    U32,
    /// Two's-complement 32-bit integer, two registers.
    I32,
    /// IEEE 754 binary32, two registers.
    F32,
    /// IEEE 754 binary64, four registers.
    F64,
}

impl DataType {
    /// Registers the type occupies.
    pub fn registers(self) -> u16 {
        match self {
            Self::U16 | Self::I16 => 1,
            Self::U32 | Self::I32 | Self::F32 => 2,
            Self::F64 => 4,
        }
    }

    /// Lower-case name, as in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }
}

/// Most-significant-first (`big`) or least-significant-first (`little`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Most significant first.
    #[default]
    Big,
    /// Least significant first.
    Little,
}

impl ModbusDevice {
    pub(crate) fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        if self.name.trim().is_empty() {
            return Err(refuse(field("name"), "must not be empty"));
        }
        if self.host.trim().is_empty() {
            return Err(refuse(field("host"), "must not be empty"));
        }
        if !(1..=65_535).contains(&self.port) {
            return Err(refuse(
                field("port"),
                &format!("{} is not a TCP port (1-65535)", self.port),
            ));
        }
        if self.unit_id > 255 {
            return Err(refuse(
                field("unit_id"),
                &format!("{} is not a Modbus unit id (0-255)", self.unit_id),
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
        if self.retries > MAX_RETRIES {
            return Err(refuse(
                field("retries"),
                &format!("{} is more than {MAX_RETRIES}", self.retries),
            ));
        }
        if self.breaker_failures == 0 {
            return Err(refuse(
                field("breaker_failures"),
                "must be at least 1 failed poll",
            ));
        }
        if self.points.is_empty() {
            return Err(refuse(field("points"), "a device needs at least one point"));
        }
        for (j, p) in self.points.iter().enumerate() {
            p.validate(&format!("{at}.points[{j}]"))?;
        }
        Ok(())
    }

    /// Time between two polls.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs_f64(self.poll_interval_s)
    }

    /// Time allowed for connecting and for each request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s)
    }

    /// Delay before the first retry.
    pub fn retry_backoff(&self) -> Duration {
        Duration::from_secs_f64(self.retry_backoff_s)
    }

    /// How long an open breaker stops polling.
    pub fn breaker_open(&self) -> Duration {
        Duration::from_secs_f64(self.breaker_open_s)
    }
}

impl ModbusPoint {
    fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        if self.tag.trim().is_empty() {
            return Err(refuse(field("tag"), "must not be empty"));
        }
        let count = u32::from(self.data_type.registers());
        if self.address > 65_535 {
            return Err(refuse(
                field("address"),
                &format!("{} is not a register address (0-65535)", self.address),
            ));
        }
        if self.address + count - 1 > 65_535 {
            return Err(refuse(
                field("address"),
                &format!(
                    "a {} needs {count} registers from {}, past the last register 65535",
                    self.data_type.as_str(),
                    self.address
                ),
            ));
        }
        if count > u32::from(MAX_REGISTERS_PER_REQUEST) {
            return Err(refuse(
                field("data_type"),
                "needs more registers than one request may read",
            ));
        }
        if count == 1 && self.word_order.is_some() {
            return Err(refuse(
                field("word_order"),
                &format!(
                    "a {} is a single register: word order applies to 32- and 64-bit types",
                    self.data_type.as_str()
                ),
            ));
        }
        if !self.scale.is_finite() || self.scale == 0.0 {
            return Err(refuse(
                field("scale"),
                &format!("{} is not a finite, non-zero factor", self.scale),
            ));
        }
        if !self.offset.is_finite() {
            return Err(refuse(
                field("offset"),
                &format!("{} is not a finite number", self.offset),
            ));
        }
        if self.unit.trim().is_empty() {
            return Err(refuse(
                field("unit"),
                "must name the unit of the scaled value",
            ));
        }
        Ok(())
    }

    /// Registers the point occupies.
    pub fn registers(&self) -> u16 {
        self.data_type.registers()
    }
}

/// A duration in seconds: finite, positive (or zero when `zero_ok`), at most `max`.
pub(crate) fn seconds(field: &str, value: f64, max: f64, zero_ok: bool) -> Result<(), ConfigError> {
    let low_ok = if zero_ok { value >= 0.0 } else { value > 0.0 };
    if value.is_finite() && low_ok && value <= max {
        return Ok(());
    }
    let low = if zero_ok { "from 0" } else { "above 0" };
    Err(refuse(
        field.to_string(),
        &format!("{value} s is not a duration {low} up to {max} s"),
    ))
}

fn default_port() -> u32 {
    502
}
fn default_unit_id() -> u32 {
    1
}
fn default_poll_interval_s() -> f64 {
    1.0
}
fn default_timeout_s() -> f64 {
    1.0
}
fn default_retries() -> u32 {
    2
}
fn default_retry_backoff_s() -> f64 {
    0.1
}
fn default_breaker_failures() -> u32 {
    3
}
fn default_breaker_open_s() -> f64 {
    30.0
}
fn default_scale() -> f64 {
    1.0
}
