//! THERMALIQ's boundary to the outside world: the JSON documents it reads and writes, and,
//! with the service issue, the HTTP API, auth, cache, metrics and configuration.
//!
//! Architecture invariant: only this crate knows JSON and HTTP. Units are converted here,
//! once, into `thermo`'s SI quantities; nothing inward sees a unit string.
//!
//! - [`calc`]: the calculation document (one equipment calculation in, its result out).
//! - [`steam`]: a water/steam state from two properties given with units.

pub mod aggregate;
pub mod calc;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod facility;
pub mod http;
pub mod integrity;
pub mod metrics;
pub mod settings;
pub mod steam;
pub mod web;
