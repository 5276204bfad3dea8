//! The one error answer of the API: `{"error":{"code","message","field"?,"details"?}}` with
//! the status that tells the client what to do (fix the request, authenticate, retry).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::aggregate::AggregateError;
use crate::calc::{BoundaryError, BoundaryErrorKind};

/// An API error: status, stable code, message, and the field at fault when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid_field`, `not_found`, ...).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault (`time_period.end`, `readings[3].value`).
    pub field: Option<String>,
    /// Further structured detail (every refused reading, every tag short of coverage).
    pub details: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    /// The same error naming the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    /// The same error with structured details.
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 400: the request cannot be read (malformed JSON or CSV, wrong content type).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid token; the answer carries `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the token's role is too low.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: the named object does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the request contradicts stored state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413: the body is larger than the configured limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 422: the request is readable but a value is not acceptable.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    /// 503: the store does not answer; retrying later may succeed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: a fault of the service, never of the request; details go to the log only.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(error = %message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the request id in the response header finds it in the log",
        )
    }

    /// The JSON body bytes of this error.
    pub fn body(&self) -> Vec<u8> {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                details: self.details.as_ref(),
            },
        };
        // A struct of strings and a JSON value always serializes.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"thermaliq\""),
            );
        }
        if self.status.is_server_error() {
            tracing::warn!(
                status = self.status.as_u16(),
                code = self.code,
                "request failed"
            );
        }
        response
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound { what, id } => {
                Self::not_found(format!("{what} {id} not found"))
            }
            store::Error::Conflict { message } => Self::conflict(message),
            store::Error::Constraint { field, message } => Self::invalid(field, message),
            store::Error::Unavailable { message } => {
                crate::metrics::record_store_error("unavailable");
                tracing::warn!(error = %message, "store unavailable");
                Self::unavailable("the store does not answer; retry later")
            }
            e @ store::Error::Migration { .. } => {
                crate::metrics::record_store_error("migration");
                Self::internal(e)
            }
            e @ store::Error::Database { .. } => {
                crate::metrics::record_store_error("database");
                Self::internal(e)
            }
        }
    }
}

impl From<BoundaryError> for ApiError {
    fn from(e: BoundaryError) -> Self {
        let status = match e.kind() {
            BoundaryErrorKind::Syntax => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let code = match e.kind() {
            BoundaryErrorKind::Syntax => "malformed_body",
            BoundaryErrorKind::Shape => "invalid_document",
            BoundaryErrorKind::OutOfRange => "out_of_range",
            BoundaryErrorKind::Inconsistent => "inconsistent",
            _ => "invalid_field",
        };
        Self::new(status, code, e.to_string()).with_field(e.path())
    }
}

impl From<AggregateError> for ApiError {
    fn from(e: AggregateError) -> Self {
        let code = match &e {
            AggregateError::InsufficientCoverage { .. } => "insufficient_coverage",
            AggregateError::InvalidPeriod { .. } => "invalid_field",
            AggregateError::InvalidOptions { .. } => "invalid_settings",
            AggregateError::MalformedSeries { .. } => "malformed_readings",
            AggregateError::Calculation { .. } => "calculation_refused",
        };
        let details = match &e {
            AggregateError::InsufficientCoverage {
                threshold,
                shortfalls,
            } => Some(serde_json::json!({
                "min_coverage": threshold,
                "tags": shortfalls,
            })),
            _ => None,
        };
        let field = e.field().unwrap_or_default();
        let mut error =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()).with_field(field);
        error.details = details;
        error
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
