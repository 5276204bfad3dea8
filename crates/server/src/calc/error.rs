//! The one error of the calculation boundary: which field of the document, and why.

use std::fmt;

/// What went wrong, in a form a caller (CLI exit code, HTTP status) can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BoundaryErrorKind {
    /// The text is not JSON.
    Syntax,
    /// The JSON does not have the document's shape: unknown or missing field, wrong type,
    /// unknown choice.
    Shape,
    /// A value is non-physical, has an unknown unit, or is missing where the equipment needs it.
    Invalid,
    /// A state lies outside the validity range of a property formulation or correlation.
    OutOfRange,
    /// Values are physical but contradict each other.
    Inconsistent,
}

/// An input refused at the boundary, naming the JSON path of the field (`flue_gas.o2`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct BoundaryError {
    kind: BoundaryErrorKind,
    path: String,
    reason: String,
}

impl fmt::Display for BoundaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

impl BoundaryError {
    /// An error about the field at `path`.
    pub fn new(
        kind: BoundaryErrorKind,
        path: impl Into<String>,
        reason: impl fmt::Display,
    ) -> Self {
        Self {
            kind,
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    /// A non-physical or missing value at `path`.
    pub fn invalid(path: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::new(BoundaryErrorKind::Invalid, path, reason)
    }

    /// A thermo error about the whole value at `path` (its `field` is only `unit` or `value`).
    pub fn at(path: &str, e: &thermo::Error) -> Self {
        Self::new(kind_of(e), path, e.reason())
    }

    /// A thermo error whose field is relative to `path` (empty for the document's root).
    pub fn within(path: &str, e: &thermo::Error) -> Self {
        let full = match (path.is_empty(), e.field().is_empty()) {
            (true, _) => e.field().to_string(),
            (false, true) => path.to_string(),
            (false, false) => format!("{path}.{}", e.field()),
        };
        Self::new(kind_of(e), full, e.reason())
    }

    /// The kind of error.
    pub fn kind(&self) -> BoundaryErrorKind {
        self.kind
    }

    /// The JSON path of the field (`flue_gas.o2`); empty when the whole document is at fault.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why the field was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The same error with `suffix` appended to its reason (a hint).
    #[must_use]
    pub fn with_reason_suffix(mut self, suffix: &str) -> Self {
        self.reason.push_str(suffix);
        self
    }

    /// The same error with its path replaced.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
}

fn kind_of(e: &thermo::Error) -> BoundaryErrorKind {
    match e.kind() {
        thermo::ErrorKind::OutOfRange => BoundaryErrorKind::OutOfRange,
        thermo::ErrorKind::Inconsistent => BoundaryErrorKind::Inconsistent,
        _ => BoundaryErrorKind::Invalid,
    }
}

/// A serde error of the document, its path completed with the missing field's name.
pub(crate) fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> BoundaryError {
    let (path, message) = serde_error_path(&e);
    BoundaryError::new(BoundaryErrorKind::Shape, path, message)
}

/// The dotted path and message of a serde error; serde names a missing field in its message
/// but puts the error at the parent, so the field is appended to the path.
pub(crate) fn serde_error_path(
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> (String, String) {
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    let message = e.inner().to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        path = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
    }
    (path, message)
}
