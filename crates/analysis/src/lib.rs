//! Analysis on the engineering core's results: Sankey layout and SVG, benchmarks and
//! recommendations.
//!
//! Architecture invariant: pure, like `thermo` — no I/O, no async, no serialization format.
//! Its content arrives with the analysis issue; until then the crate holds nothing.
