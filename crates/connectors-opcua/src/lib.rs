//! OPC UA data source of THERMALIQ (client: async-opcua): subscribes to, or polls, the
//! configured nodes of each OPC UA server of a facility and delivers the readings through the
//! bounded buffer of `connectors` into a [`connectors::ReadingSink`].
//!
//! Its own crate because async-opcua takes about a minute of CPU to compile; the
//! configuration (`connectors::opcua_config`) stays in `connectors`, so a facility file is
//! checked without this crate. A server that is down yields no reading and a health of 0;
//! the source reconnects with backoff behind a circuit breaker. Operators read about it in
//! `docs/CONNECTORS.md` ("OPC UA").

mod poller;
mod source;
pub mod value;

pub use poller::{OpcUaPoller, StartError};

/// `connector_type` label of the OPC UA sources, and the source kind their logs name.
pub const OPC_UA: &str = "OpcUa";
