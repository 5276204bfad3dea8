//! The store's error type: what went wrong, in terms a caller can map to an answer.

/// A store operation failed; each variant tells the caller how to respond.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named object does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of object: "facility", "equipment", "calculation", "token".
        what: &'static str,
        /// The identifier that was looked up.
        id: String,
    },
    /// The write contradicts stored state (duplicate id, object still in use).
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts with what.
        message: String,
    },
    /// A value breaks the schema's rules (a CHECK constraint, a non-finite number, a bad cursor);
    /// nothing was written.
    #[error("{field}: {message}")]
    Constraint {
        /// The offending field (column or argument name).
        field: String,
        /// Why the value was refused.
        message: String,
    },
    /// The database cannot be reached or stayed busy past the timeout; retrying may succeed.
    #[error("store unavailable: {message}")]
    Unavailable {
        /// The underlying cause.
        message: String,
    },
    /// Applying or reverting migrations failed, or the requested target is unknown.
    #[error("migration: {message}")]
    Migration {
        /// The underlying cause.
        message: String,
    },
    /// Any other database failure (a bug or a damaged database rather than bad input).
    #[error("database: {message}")]
    Database {
        /// The underlying cause.
        message: String,
    },
}

impl Error {
    pub(crate) fn constraint(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Constraint {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }

    pub(crate) fn database(message: impl Into<String>) -> Self {
        Self::Database {
            message: message.into(),
        }
    }
}

/// Result of a store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
