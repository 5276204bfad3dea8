//! Data sources of a plant feeding THERMALIQ's ingest path — Modbus TCP energy meters
//! ([`modbus`]) and the InfluxDB 1.x process historian ([`historian`]); OPC UA lives in the
//! `connectors-opcua` crate — delivered to a [`ReadingSink`], and the export of completed
//! calculations to the ERP ([`erp`]).
//!
//! Architecture invariant: connectors hand readings to the ingest path and never invent a
//! value for a source that is down — a failed read yields no reading and a health of 0.
//! Operators read about configuration and metrics in `docs/CONNECTORS.md`.

pub mod buffer;
pub mod config;
pub mod erp;
pub mod historian;
pub mod modbus;
pub mod opcua_config;
pub mod telemetry;

use std::future::Future;

pub use store::{Quality, Reading};

/// Installs the process's TLS crypto provider (ring) unless one is installed already. reqwest
/// is built without a default provider (the default, aws-lc, is a slow C build), so every
/// process that makes an HTTP request calls this first; later calls do nothing.
pub fn install_tls_provider() {
    // Err only means a provider is installed already, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Where connectors deliver readings: the server implements it over the same idempotent
/// ingest as the API, so a batch delivered twice (after a lost acknowledgement) is absorbed.
pub trait ReadingSink: Send + Sync + 'static {
    /// Why a batch was not accepted; the batch is kept and delivered again.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Ingests one batch of a facility's readings, all or nothing.
    fn ingest(
        &self,
        facility_id: &str,
        readings: &[Reading],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
