//! The one error type of the engineering core.

use std::fmt;

/// What went wrong, in a form a caller can match on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A state lies outside the validity range of the property formulation (IF97, NASA
    /// polynomials) or of a correlation.
    OutOfRange,
    /// An input is non-physical: negative flow, a fraction above one, a composition that does
    /// not sum to one, a non-finite number.
    InvalidInput,
    /// The inputs are physical but inconsistent with each other (measured O2 above what the
    /// air can supply, outlet colder than inlet for a heater, ...).
    Inconsistent,
}

/// An error of the engineering core: which input or quantity, what kind, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Error {
    kind: ErrorKind,
    field: String,
    reason: String,
}

impl Error {
    /// An error about `field` of the given kind.
    pub fn new(kind: ErrorKind, field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self {
            kind,
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// A state outside a formulation's validity range.
    pub fn out_of_range(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::new(ErrorKind::OutOfRange, field, reason)
    }

    /// A non-physical input value.
    pub fn invalid(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidInput, field, reason)
    }

    /// Inputs that contradict each other.
    pub fn inconsistent(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Inconsistent, field, reason)
    }

    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The input or quantity the error is about, as a dotted path (`steam.pressure`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why the value was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The same error, its field prefixed by `parent.` so nested inputs name their full path.
    #[must_use]
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Result alias of the engineering core.
pub type Result<T> = std::result::Result<T, Error>;
