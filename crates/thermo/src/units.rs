//! Units of measure: names, dimensions and conversion factors to SI, for the boundary.
