//! Analysis on the engineering core's results: the Sankey model and its SVG, benchmarks
//! against published efficiency distributions, recommendations whose savings are
//! computed by re-running the engineering core, and accessible SVG charts over time for the
//! web pages.
//!
//! Architecture invariant: pure, like `thermo` — no I/O, no async. The one serialization
//! format read is the embedded benchmark data file (`data/benchmarks.toml`, parsed once at
//! first use); the result types derive `serde::Serialize` so the HTTP layer can return them.
//! Methods, constants and sources: `docs/ANALYSIS.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod benchmark;
pub mod chart;
pub mod recommend;
pub mod sankey;

pub use thermo::{Error, ErrorKind, Result};

/// Joules per gigajoule: prices and emission factors are stated per GJ.
pub const J_PER_GJ: f64 = 1e9;
