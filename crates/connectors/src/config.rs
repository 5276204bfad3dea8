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

/// A source's secret (a password, a user name): the secret in the variable `name`, or in the file named by `name_FILE` (one trailing
/// newline dropped); both set is ambiguous and refused, naming `field`.
pub fn secret(
    vars: &std::collections::BTreeMap<String, String>,
    field: &str,
    name: &str,
) -> Result<String, ConfigError> {
    let refuse = |reason: String| ConfigError {
        field: field.to_string(),
        reason,
    };
    let file_var = format!("{name}_FILE");
    let direct = vars.get(name).filter(|v| !v.is_empty());
    let file = vars.get(&file_var).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(refuse(format!(
            "both {name} and {file_var} are set; set one"
        ))),
        (Some(v), None) => Ok(v.clone()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| refuse(format!("{file_var}: cannot read {path}: {e}")))?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if text.is_empty() {
                return Err(refuse(format!("{file_var}: {path} is empty")));
            }
            Ok(text.to_string())
        }
        (None, None) => Err(refuse(format!("neither {name} nor {file_var} is set"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn from_the_variable_or_the_file_never_both() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").expect("written");
        let path = path.to_string_lossy().into_owned();
        let vars = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(secret(&vars(&[("PW", "a")]), "f", "PW"), Ok("a".into()));
        assert_eq!(
            secret(&vars(&[("PW_FILE", &path)]), "f", "PW"),
            Ok("s3cret".into())
        );
        let both = secret(
            &vars(&[("PW", "a"), ("PW_FILE", &path)]),
            "f.password_secret",
            "PW",
        )
        .expect_err("ambiguous");
        assert_eq!(both.field, "f.password_secret");
        let missing = secret(&vars(&[]), "f.password_secret", "PW").expect_err("missing");
        assert!(missing.reason.contains("PW_FILE"), "{missing}");
    }
}
