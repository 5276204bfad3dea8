//! Ideal-gas properties of the flue-gas species.
