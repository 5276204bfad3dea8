//! The `connectors` section of a facility file: every source of the facility, each kind in
//! its own list (shape documented in `docs/CONNECTORS.md`), and the error naming a refused
//! field.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::modbus::ModbusDevice;

/// Readings held while the ingest path is unavailable, unless configured otherwise.
pub const DEFAULT_BUFFER_LIMIT: usize = 100_000;

/// The `connectors` section of a facility file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorsConfig {
    /// Readings held while the ingest path is down; beyond it the oldest are dropped (counted).
    #[serde(default = "default_buffer_limit")]
    pub buffer_limit: usize,
    /// Modbus TCP energy meters.
    #[serde(default)]
    pub modbus: Vec<ModbusDevice>,
}

impl Default for ConnectorsConfig {
    fn default() -> Self {
        Self {
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            modbus: Vec::new(),
        }
    }
}

/// A configuration value refused, with the path of its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// Path of the field, e.g. `connectors.modbus[0].points[2].address`.
    pub field: String,
    /// Why it was refused.
    pub reason: String,
}

impl ConnectorsConfig {
    /// Refuses the first value out of its range, naming its field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.buffer_limit == 0 {
            return Err(refuse(
                "connectors.buffer_limit".into(),
                "must hold at least one reading",
            ));
        }
        let mut names = HashSet::new();
        let mut tags = HashSet::new();
        for (i, d) in self.modbus.iter().enumerate() {
            let at = format!("connectors.modbus[{i}]");
            d.validate(&at)?;
            if !names.insert(d.name.as_str()) {
                return Err(refuse(
                    format!("{at}.name"),
                    &format!("{:?} names another device too", d.name),
                ));
            }
            for (j, p) in d.points.iter().enumerate() {
                if !tags.insert(p.tag.as_str()) {
                    return Err(refuse(
                        format!("{at}.points[{j}].tag"),
                        &format!("{:?} is fed by another point too", p.tag),
                    ));
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn refuse(field: String, reason: &str) -> ConfigError {
    ConfigError {
        field,
        reason: reason.to_string(),
    }
}

fn default_buffer_limit() -> usize {
    DEFAULT_BUFFER_LIMIT
}
