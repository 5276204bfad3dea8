//! Configuration of the OPC UA sources: endpoint, security, user identity (the name of a
//! secret, never the password itself), subscription or polling, timing, and which node feeds
//! which tag. The client lives in the `connectors-opcua` crate, which compiles slowly; this
//! part stays here so the facility file is checked without it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, refuse};
use crate::modbus::config::seconds;

/// Longest interval or circuit-open time accepted, s (a day): longer is a typo.
const MAX_PERIOD_S: f64 = 86_400.0;
/// Longest request timeout accepted, s.
const MAX_TIMEOUT_S: f64 = 600.0;
/// Longest first reconnect or retry delay accepted, s.
const MAX_BACKOFF_S: f64 = 60.0;
/// Most retries of one read accepted: more would hold a poll cycle for minutes.
const MAX_RETRIES: u32 = 10;
/// OPC UA's registered TCP port, used when the endpoint URL names none.
pub const DEFAULT_OPC_TCP_PORT: u16 = 4840;

/// One OPC UA server (a SCADA, a PLC, a gateway) and the nodes read from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaSource {
    /// Unique name: the `source` label of the metrics and the logs.
    pub name: String,
    /// `opc.tcp://host[:port][/path]`, as the server advertises it (the host may differ).
    pub endpoint_url: String,
    /// Security policy of the secure channel.
    #[serde(default)]
    pub security_policy: SecurityPolicy,
    /// Message security mode of the secure channel.
    #[serde(default)]
    pub security_mode: SecurityMode,
    /// Directory of the client's certificate and key (`own/`, `private/`) and of the trusted
    /// server certificates (`trusted/`); required by every policy but `None`. A missing client
    /// certificate is created there at the first start.
    #[serde(default)]
    pub pki_dir: Option<String>,
    /// Trust a server certificate that is not in `pki_dir/trusted/` (first-contact setups).
    #[serde(default)]
    pub trust_server_certificate: bool,
    /// How the client authenticates.
    #[serde(default)]
    pub identity: Identity,
    /// User name, with `identity = "username"`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password (or, with `_FILE`, naming the file that
    /// holds it), with `identity = "username"`.
    #[serde(default)]
    pub password_secret: Option<String>,
    /// Whether the server pushes changes or the client reads at an interval.
    #[serde(default)]
    pub mode: Mode,
    /// Subscription: how often the server sends the changes, s (default 1).
    #[serde(default)]
    pub publishing_interval_s: Option<f64>,
    /// Subscription: how often the server samples each node, s (default 1).
    #[serde(default)]
    pub sampling_interval_s: Option<f64>,
    /// Polling: time between two reads, s (default 1).
    #[serde(default)]
    pub poll_interval_s: Option<f64>,
    /// Time allowed for connecting and for each request, s.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Polling: retries of a failed read within one poll.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Delay before the first retry and the first reconnect, s; doubled before each further one.
    #[serde(default = "default_retry_backoff_s")]
    pub retry_backoff_s: f64,
    /// Consecutive failures (connects, or polls) that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker stops connecting before one trial, s.
    #[serde(default = "default_breaker_open_s")]
    pub breaker_open_s: f64,
    /// The nodes read: one entry per tag.
    pub nodes: Vec<OpcUaNode>,
}

/// One variable node of a server, feeding one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaNode {
    /// OPC UA node id in its string form: `ns=2;s=Boiler.FuelFlow`, `ns=3;i=1001`, `i=2258`.
    pub node_id: String,
    /// The facility tag the value feeds.
    pub tag: String,
    /// Multiplier applied to the node's value.
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// Added after scaling: value = raw × scale + offset.
    #[serde(default)]
    pub offset: f64,
    /// Unit of the scaled value, as the facility's tag map declares it.
    pub unit: String,
}

/// Security policy of the secure channel (OPC UA Part 7). The deprecated Basic128Rsa15 and
/// Basic256 are not offered: they rely on SHA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SecurityPolicy {
    /// No signing, no encryption.
    #[default]
    None,
    /// RSA with SHA-256 signatures, AES-256.
    Basic256Sha256,
    /// RSA-OAEP with SHA-256, AES-128.
    Aes128Sha256RsaOaep,
    /// RSA-PSS with SHA-256, AES-256.
    Aes256Sha256RsaPss,
}

impl SecurityPolicy {
    /// The policy's short name, as OPC UA stacks spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Basic256Sha256 => "Basic256Sha256",
            Self::Aes128Sha256RsaOaep => "Aes128Sha256RsaOaep",
            Self::Aes256Sha256RsaPss => "Aes256Sha256RsaPss",
        }
    }
}

/// Message security mode of the secure channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SecurityMode {
    /// Messages neither signed nor encrypted (policy `None` only).
    #[default]
    None,
    /// Messages signed.
    Sign,
    /// Messages signed and encrypted.
    SignAndEncrypt,
}

/// How the client authenticates to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// No user.
    #[default]
    Anonymous,
    /// `username` and the password in `password_secret`.
    Username,
}

/// Whether the server pushes changes or the client reads at an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A subscription: the server samples the nodes and sends what changed.
    #[default]
    Subscribe,
    /// The client reads every node each `poll_interval_s`.
    Poll,
}

impl OpcUaSource {
    pub(crate) fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        if self.name.trim().is_empty() {
            return Err(refuse(field("name"), "must not be empty"));
        }
        endpoint_host_port(&self.endpoint_url)
            .map_err(|reason| refuse(field("endpoint_url"), &reason))?;
        self.validate_security(at)?;
        self.validate_identity(at)?;
        let subscription = [
            ("publishing_interval_s", self.publishing_interval_s),
            ("sampling_interval_s", self.sampling_interval_s),
        ];
        let polling = [("poll_interval_s", self.poll_interval_s)];
        let (used, unused, mode) = match self.mode {
            Mode::Subscribe => (&subscription[..], &polling[..], "subscribe"),
            Mode::Poll => (&polling[..], &subscription[..], "poll"),
        };
        if let Some((name, _)) = unused.iter().find(|(_, v)| v.is_some()) {
            return Err(refuse(
                field(name),
                &format!("does not apply with mode = \"{mode}\""),
            ));
        }
        for (name, value) in used {
            if let Some(v) = value {
                seconds(&field(name), *v, MAX_PERIOD_S, false)?;
            }
        }
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
                "must be at least 1 failure",
            ));
        }
        if self.nodes.is_empty() {
            return Err(refuse(
                field("nodes"),
                "an OPC UA source needs at least one node",
            ));
        }
        for (j, n) in self.nodes.iter().enumerate() {
            n.validate(&format!("{at}.nodes[{j}]"))?;
        }
        Ok(())
    }

    fn validate_security(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        match (self.security_policy, self.security_mode) {
            (SecurityPolicy::None, SecurityMode::None) => {}
            (SecurityPolicy::None, _) => {
                return Err(refuse(
                    field("security_mode"),
                    "security_policy = \"None\" neither signs nor encrypts: the mode must be \"None\"",
                ));
            }
            (p, SecurityMode::None) => {
                return Err(refuse(
                    field("security_mode"),
                    &format!(
                        "security_policy = {:?} needs \"Sign\" or \"SignAndEncrypt\"",
                        p.as_str()
                    ),
                ));
            }
            (p, _) => {
                if self.pki_dir.as_deref().is_none_or(|d| d.trim().is_empty()) {
                    return Err(refuse(
                        field("pki_dir"),
                        &format!(
                            "security_policy = {:?} needs a directory for the client \
                             certificate and the trusted server certificates",
                            p.as_str()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_identity(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        match self.identity {
            Identity::Anonymous => {
                for (name, value) in [
                    ("username", &self.username),
                    ("password_secret", &self.password_secret),
                ] {
                    if value.is_some() {
                        return Err(refuse(
                            field(name),
                            "applies with identity = \"username\" only",
                        ));
                    }
                }
            }
            Identity::Username => {
                if self.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                    return Err(refuse(
                        field("username"),
                        "identity = \"username\" needs the user name",
                    ));
                }
                match self.password_secret.as_deref() {
                    None => {
                        return Err(refuse(
                            field("password_secret"),
                            "identity = \"username\" needs the variable holding the password",
                        ));
                    }
                    Some(v) if !is_env_name(v) => {
                        return Err(refuse(
                            field("password_secret"),
                            &format!(
                                "{v:?} is not an environment variable name (letters, digits \
                                 and _, not starting with a digit)"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Subscription: how often the server sends the changes.
    pub fn publishing_interval(&self) -> Duration {
        Duration::from_secs_f64(self.publishing_interval_s.unwrap_or(1.0))
    }

    /// Subscription: how often the server samples each node.
    pub fn sampling_interval(&self) -> Duration {
        Duration::from_secs_f64(self.sampling_interval_s.unwrap_or(1.0))
    }

    /// Polling: time between two reads.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs_f64(self.poll_interval_s.unwrap_or(1.0))
    }

    /// Time allowed for connecting and for each request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s)
    }

    /// Delay before the first retry or reconnect.
    pub fn retry_backoff(&self) -> Duration {
        Duration::from_secs_f64(self.retry_backoff_s)
    }

    /// How long an open breaker stops connecting.
    pub fn breaker_open(&self) -> Duration {
        Duration::from_secs_f64(self.breaker_open_s)
    }
}

impl OpcUaNode {
    fn validate(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        check_node_id(&self.node_id).map_err(|reason| refuse(field("node_id"), &reason))?;
        if self.tag.trim().is_empty() {
            return Err(refuse(field("tag"), "must not be empty"));
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
}

/// The host and port of an `opc.tcp://host[:port][/path]` URL.
pub fn endpoint_host_port(url: &str) -> Result<(&str, u16), String> {
    let rest = url
        .strip_prefix("opc.tcp://")
        .ok_or_else(|| format!("{url:?} is not an opc.tcp:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "must not carry credentials: use identity, username and password_secret".to_string(),
        );
    }
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal holds colons inside its brackets.
        Some((h, p)) if !p.contains(']') => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("{p:?} is not a TCP port (1-65535)"))?;
            (h, port)
        }
        _ => (authority, DEFAULT_OPC_TCP_PORT),
    };
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    Ok((host, port))
}

/// Checks the string form of a node id (OPC UA Part 6, 5.3.1.10): an optional `ns=<index>;`
/// and one of `i=<number>`, `s=<text>`, `g=<guid>`, `b=<base64>`.
fn check_node_id(id: &str) -> Result<(), String> {
    let body = match id.strip_prefix("ns=") {
        Some(rest) => {
            let (ns, body) = rest
                .split_once(';')
                .ok_or_else(|| format!("{id:?}: `ns=<index>` must be followed by `;`"))?;
            ns.parse::<u16>()
                .map_err(|_| format!("{id:?}: namespace {ns:?} is not an index 0-65535"))?;
            body
        }
        None => id,
    };
    let bad = || {
        format!(
            "{id:?} is not a node id such as \"ns=2;s=Boiler.FuelFlow\" or \"ns=3;i=1001\" \
             (i=, s=, g= or b= after an optional ns=<index>;)"
        )
    };
    let (kind, value) = body.split_once('=').ok_or_else(bad)?;
    let ok = match kind {
        "i" => value.parse::<u32>().is_ok(),
        "s" | "b" => !value.is_empty(),
        "g" => is_guid(value),
        _ => false,
    };
    if ok { Ok(()) } else { Err(bad()) }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn default_timeout_s() -> f64 {
    5.0
}
fn default_retries() -> u32 {
    2
}
fn default_retry_backoff_s() -> f64 {
    0.5
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

#[cfg(test)]
mod tests {
    use crate::config::ConnectorsConfig;

    const EXAMPLE: &str = r#"
        [[modbus]]
        name = "boiler-1-meter"
        host = "10.20.0.15"
        [[modbus.points]]
        tag = "EI-1"
        address = 0
        function = "holding"
        data_type = "u16"
        unit = "kW"

        [[opcua]]
        name = "boiler-1-scada"
        endpoint_url = "opc.tcp://10.20.0.40:4840/plant/"
        security_policy = "Basic256Sha256"
        security_mode = "SignAndEncrypt"
        pki_dir = "/var/lib/thermaliq/opcua-pki"
        identity = "username"
        username = "thermaliq"
        password_secret = "SCADA_OPCUA_PASSWORD"
        [[opcua.nodes]]
        node_id = "ns=2;s=Boiler.FuelFlow"
        tag = "FI-1001"
        unit = "kg/h"
        [[opcua.nodes]]
        node_id = "ns=3;g=09087e75-8e5e-499b-954f-f2a9603db28a"
        tag = "TI-1002"
        unit = "°C"
        scale = 0.1
    "#;

    fn read(text: &str) -> ConnectorsConfig {
        toml::from_str(text).expect("parses")
    }

    #[test]
    fn the_example_is_accepted_with_its_defaults_and_tags() {
        let c = read(EXAMPLE);
        c.validate().expect("valid");
        let o = &c.opcua[0];
        assert_eq!((o.timeout_s, o.retries, o.breaker_failures), (5.0, 2, 3));
        assert_eq!(o.publishing_interval().as_secs_f64(), 1.0);
        let fed: Vec<_> = c
            .tags()
            .into_iter()
            .map(|t| (t.field, t.tag, t.unit))
            .collect();
        assert_eq!(
            fed[1..],
            [
                (
                    "connectors.opcua[0].nodes[0]".to_string(),
                    "FI-1001",
                    "kg/h"
                ),
                ("connectors.opcua[0].nodes[1]".to_string(), "TI-1002", "°C"),
            ]
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                ("name = \"boiler-1-scada\"", "name = \"boiler-1-meter\""),
                "connectors.opcua[0].name:",
            ),
            (
                ("tag = \"FI-1001\"", "tag = \"EI-1\""),
                "connectors.opcua[0].nodes[0].tag:",
            ),
            (
                ("4840/plant/", "0/plant/"),
                "connectors.opcua[0].endpoint_url: \"0\" is not a TCP port",
            ),
            (
                ("opc.tcp://10.20.0.40", "opc.tcp://user:pw@10.20.0.40"),
                "connectors.opcua[0].endpoint_url: must not carry credentials",
            ),
            (
                ("identity = \"username\"", "identity = \"anonymous\""),
                "connectors.opcua[0].username:",
            ),
            (
                ("\"SCADA_OPCUA_PASSWORD\"", "\"1PASSWORD\""),
                "connectors.opcua[0].password_secret:",
            ),
            (
                ("SignAndEncrypt", "None"),
                "connectors.opcua[0].security_mode:",
            ),
            (
                ("g=09087e75-8e5e-499b-954f-f2a9603db28a", "g=09087e75"),
                "connectors.opcua[0].nodes[1].node_id:",
            ),
            (
                ("ns=2;s=", "ns=70000;s="),
                "connectors.opcua[0].nodes[0].node_id:",
            ),
            (
                (
                    "identity = \"username\"",
                    "mode = \"poll\"\npublishing_interval_s = 1\nidentity = \"username\"",
                ),
                "connectors.opcua[0].publishing_interval_s: does not apply with mode = \"poll\"",
            ),
        ];
        for ((from, to), expected) in cases {
            let text = EXAMPLE.replacen(from, to, 1);
            let outcome = toml::from_str::<ConnectorsConfig>(&text)
                .map_err(|e| e.to_string())
                .and_then(|c| c.validate().map_err(|e| e.to_string()));
            match outcome {
                Err(e) => assert!(e.contains(expected), "{e:?} lacks {expected:?}"),
                Ok(()) => panic!("accepted: {to}"),
            }
        }
    }
}
