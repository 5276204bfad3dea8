//! How a verb fails: refused input (exit 2) or anything else (exit 1). The verbs' modules
//! return this; only `main` turns it into an exit code.

use std::fmt;

use server::http::ApiError;

/// A verb's failure.
#[derive(Debug)]
pub enum Failure {
    /// The input was refused (bad file, unknown id, bad option): exit 2.
    Input(String),
    /// Anything else (store unavailable, I/O): exit 1.
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(m) | Self::Other(m) => f.write_str(m),
        }
    }
}

impl From<store::Error> for Failure {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound { .. }
            | store::Error::Conflict { .. }
            | store::Error::Constraint { .. } => Self::Input(e.to_string()),
            _ => Self::Other(e.to_string()),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let message = match &e.field {
            Some(field) => format!("{field}: {}", e.message),
            None => e.message.clone(),
        };
        if e.status.is_client_error() {
            Self::Input(message)
        } else {
            Self::Other(message)
        }
    }
}

/// A verb's result.
pub type Outcome<T = ()> = Result<T, Failure>;

/// An I/O failure with what was being done.
pub fn io(what: impl fmt::Display, e: impl fmt::Display) -> Failure {
    Failure::Other(format!("{what}: {e}"))
}
