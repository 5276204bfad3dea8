//! The running OPC UA sources of one facility: one task per server, one delivery task
//! draining their shared buffer into the sink. Shaped like `connectors::modbus::ModbusPoller`
//! so the server runs both side by side.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use connectors::ReadingSink;
use connectors::buffer::{Buffer, deliver};
use connectors::config::{ConfigError, ConnectorsConfig};
use connectors::modbus::SourceStatus;
use connectors::opcua_config::OpcUaSource;
use connectors::telemetry;
use opcua::types::NodeId;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::OPC_UA;
use crate::source::{Source, lock};
use connectors::config::secret;

/// Why the poller did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is refused, or the password secret it names is missing.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Not called from inside a Tokio runtime.
    #[error("the OPC UA poller must be started inside a Tokio runtime")]
    NoRuntime,
}

/// The running OPC UA sources of one facility.
pub struct OpcUaPoller {
    /// Stops the source tasks.
    stop: watch::Sender<bool>,
    /// Stops the delivery task, after the source tasks: their last readings are delivered too.
    stop_delivery: watch::Sender<bool>,
    sources: Vec<JoinHandle<()>>,
    delivery: JoinHandle<()>,
    statuses: Vec<Arc<Mutex<SourceStatus>>>,
    buffer: Arc<Buffer>,
}

impl OpcUaPoller {
    /// Validates `sources` (as `connectors.opcua`), reads the password secrets they name from
    /// the process environment, and starts reading them for `facility_id`, delivering to `sink`
    /// through a buffer of `buffer_limit` readings. Stops on [`OpcUaPoller::shutdown`] or
    /// when dropped.
    pub fn start<S: ReadingSink>(
        facility_id: &str,
        sources: &[OpcUaSource],
        buffer_limit: usize,
        sink: Arc<S>,
    ) -> Result<Self, StartError> {
        ConnectorsConfig {
            buffer_limit,
            opcua: sources.to_vec(),
            ..ConnectorsConfig::default()
        }
        .validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        telemetry::describe_metrics();
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        let mut prepared = Vec::with_capacity(sources.len());
        for (index, s) in sources.iter().enumerate() {
            let at = format!("connectors.opcua[{index}]");
            let node_ids = s
                .nodes
                .iter()
                .enumerate()
                .map(|(j, n)| {
                    NodeId::from_str(&n.node_id).map_err(|status| ConfigError {
                        field: format!("{at}.nodes[{j}].node_id"),
                        reason: format!("{:?} is not a node id: {status}", n.node_id),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let password = match &s.password_secret {
                Some(name) => Some(secret(&vars, &format!("{at}.password_secret"), name)?),
                None => None,
            };
            prepared.push(Source::new(index, facility_id, s, node_ids, password));
        }
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        let buffer = Arc::new(Buffer::new(buffer_limit, OPC_UA, &names));
        let (stop, stopped) = watch::channel(false);
        let (stop_delivery, delivery_stopped) = watch::channel(false);
        let statuses = prepared.iter().map(|s| s.status()).collect();
        let tasks = prepared
            .into_iter()
            .map(|s| runtime.spawn(s.run(buffer.clone(), stopped.clone())))
            .collect();
        let delivery = runtime.spawn(deliver(
            buffer.clone(),
            sink,
            facility_id.to_string(),
            OPC_UA,
            delivery_stopped,
        ));
        Ok(Self {
            stop,
            stop_delivery,
            sources: tasks,
            delivery,
            statuses,
            buffer,
        })
    }

    /// Each source's status, in configuration order (`connector_type` "OpcUa").
    pub fn status(&self) -> Vec<SourceStatus> {
        self.statuses.iter().map(|s| lock(s).clone()).collect()
    }

    /// Readings waiting for the sink.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Readings dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.buffer.dropped()
    }

    /// Stops reading (closing each session), tries once more to deliver the buffer, and
    /// returns the readings that could not be delivered.
    pub async fn shutdown(self) -> usize {
        // A send fails only when every task has already ended, which is the goal anyway.
        let _ = self.stop.send(true);
        for task in self.sources {
            if let Err(e) = task.await {
                tracing::error!(source_kind = OPC_UA, error = %e, "OpcUa source task failed");
            }
        }
        let _ = self.stop_delivery.send(true);
        if let Err(e) = self.delivery.await {
            tracing::error!(source_kind = OPC_UA, error = %e, "OpcUa delivery task failed");
        }
        self.buffer.len()
    }
}
