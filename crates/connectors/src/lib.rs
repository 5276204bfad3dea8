//! Data sources of a plant feeding THERMALIQ's ingest path. Now: Modbus TCP energy meters
//! ([`modbus`]), polled into a bounded buffer and delivered to a [`ReadingSink`].
//!
//! Architecture invariant: connectors hand readings to the ingest path and never invent a
//! value for a source that is down — a failed read yields no reading and a health of 0.
//! Operators read about configuration and metrics in `docs/CONNECTORS.md`.

mod buffer;
pub mod config;
pub mod modbus;
pub mod telemetry;

use std::future::Future;

pub use store::{Quality, Reading};

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
