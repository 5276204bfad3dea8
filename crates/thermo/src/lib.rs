//! THERMALIQ's engineering core: water and steam properties, flue-gas species, fuels,
//! combustion, first-law efficiency by the input–output and heat-loss methods, second-law
//! exergy, measurement uncertainty and provenance.
//!
//! Architecture invariant: this crate does no I/O, spawns no tasks and knows no serialization
//! format. Everything inside is SI (K, Pa, kg/s, W, J/kg, J/(kg K), m³/kg); units are converted
//! once, by the caller, into the types of [`quantity`] (with the tables of [`units`]). Every
//! efficiency and loss names its heating-value basis (HHV, gross; LHV, net). Formulas and
//! constants cite their sources in `docs/METHODS.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod calculate;
pub mod combustion;
pub mod elements;
mod error;
pub mod exchanger;
pub mod exergy;
pub mod fired;
pub mod fuel;
pub mod inputs;
pub mod phrase;
pub mod provenance;
pub mod quantity;
pub mod results;
pub mod species;
pub mod steam;
mod streams;
pub mod uncertainty;
pub mod units;

pub use calculate::calculate;
pub use error::{Error, ErrorKind, Result};
pub use quantity::{Fraction, MassFlow, Power, Pressure, Temperature, TemperatureDelta};
