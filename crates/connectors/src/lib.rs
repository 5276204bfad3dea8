//! Data sources and sinks of a plant: Modbus TCP meters, OPC UA servers, REST historians and
//! the ERP export.
//!
//! Architecture invariant: connectors hand readings to the ingest path and never invent a
//! value for a source that is down. Its content arrives with the connectors issue; until then
//! the crate holds nothing.
