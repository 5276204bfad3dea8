//! Provenance: a SHA-256 over the canonical form of the inputs and the method version.
