//! The `connectors` section of a facility file: every source of the facility, each kind in
//! its own list (shape documented in `docs/CONNECTORS.md`), and the error naming a refused
//! field.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::historian::HistorianSource;
use crate::modbus::ModbusDevice;
use crate::opcua_config::OpcUaSource;

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
    /// Process historians (InfluxDB 1.x), followed for new data and read by `backfill`.
    #[serde(default)]
    pub historian: Vec<HistorianSource>,
    /// OPC UA servers, subscribed to or polled (client in the `connectors-opcua` crate).
    #[serde(default)]
    pub opcua: Vec<OpcUaSource>,
}

impl Default for ConnectorsConfig {
    fn default() -> Self {
        Self {
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            modbus: Vec::new(),
            historian: Vec::new(),
            opcua: Vec::new(),
        }
    }
}

/// A facility tag fed by a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FedTag<'a> {
    /// Path of the field configuring it (`connectors.modbus[0].points[2]`).
    pub field: String,
    /// The facility tag.
    pub tag: &'a str,
    /// The unit the source delivers it in.
    pub unit: &'a str,
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
    /// Every facility tag a source of this section feeds, with the path of its field and the
    /// unit the source delivers it in, so the facility can check them against its tag map.
    pub fn tags(&self) -> Vec<FedTag<'_>> {
        let mut fed = Vec::new();
        for (i, d) in self.modbus.iter().enumerate() {
            for (j, p) in d.points.iter().enumerate() {
                fed.push(FedTag {
                    field: format!("connectors.modbus[{i}].points[{j}]"),
                    tag: &p.tag,
                    unit: &p.unit,
                });
            }
        }
        for (i, h) in self.historian.iter().enumerate() {
            for (j, s) in h.series.iter().enumerate() {
                fed.push(FedTag {
                    field: format!("connectors.historian[{i}].series[{j}]"),
                    tag: &s.tag,
                    unit: &s.unit,
                });
            }
        }
        for (i, o) in self.opcua.iter().enumerate() {
            for (j, n) in o.nodes.iter().enumerate() {
                fed.push(FedTag {
                    field: format!("connectors.opcua[{i}].nodes[{j}]"),
                    tag: &n.tag,
                    unit: &n.unit,
                });
            }
        }
        fed
    }

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
        let mut historians = HashSet::new();
        for (i, h) in self.historian.iter().enumerate() {
            let at = format!("connectors.historian[{i}]");
            h.validate(&at)?;
            if !historians.insert(h.name.as_str()) {
                return Err(refuse(
                    format!("{at}.name"),
                    &format!("{:?} names another historian source too", h.name),
                ));
            }
            for (j, s) in h.series.iter().enumerate() {
                if !tags.insert(s.tag.as_str()) {
                    return Err(refuse(
                        format!("{at}.series[{j}].tag"),
                        &format!("{:?} is fed by another point or series too", s.tag),
                    ));
                }
            }
        }
        let mut opcua = HashSet::new();
        for (i, o) in self.opcua.iter().enumerate() {
            let at = format!("connectors.opcua[{i}]");
            o.validate(&at)?;
            let name = o.name.as_str();
            if names.contains(name) || historians.contains(name) || !opcua.insert(name) {
                return Err(refuse(
                    format!("{at}.name"),
                    &format!("{name:?} names another source too"),
                ));
            }
            for (j, n) in o.nodes.iter().enumerate() {
                if !tags.insert(n.tag.as_str()) {
                    return Err(refuse(
                        format!("{at}.nodes[{j}].tag"),
                        &format!("{:?} is fed by another point, series or node too", n.tag),
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
