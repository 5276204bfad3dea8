//! Errors of the browser application, answered as HTML pages in the application's layout
//! (the API's errors stay JSON). An API error met on the way (a store failure, a refused
//! calculation) keeps its status and message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;

use super::layout;
use crate::http::ApiError;

/// What a browser request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No valid session on a page: the browser is sent to sign in, then back to `next`.
    #[error("sign in to continue")]
    SignIn {
        /// The path (and query) to return to after signing in.
        next: String,
    },
    /// No valid session on a form post or script request (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The CSRF token is missing or does not match the session's (403).
    #[error("{0}")]
    Csrf(String),
    /// The signed-in role may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing at this address (404).
    #[error("{0}")]
    NotFound(String),
    /// A form field is not acceptable (422), naming the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field's name in the form.
        field: String,
        /// Why it is not acceptable.
        message: String,
    },
    /// An error of the API functions the page called, with their status and message.
    #[error("{}", .0.message)]
    Api(ApiError),
}

/// The result of a browser handler.
pub type WebResult<T> = Result<T, WebError>;

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<store::Error> for WebError {
    fn from(e: store::Error) -> Self {
        Self::Api(ApiError::from(e))
    }
}

impl WebError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Csrf(_) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Api(e) => e.status,
        }
    }

    /// The page's heading for this kind of error.
    fn title(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "Not signed in",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            s if s.is_server_error() => "Something went wrong",
            _ => "Cannot do that",
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Self::SignIn { next } = &self {
            let to = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return Redirect::to(&to).into_response();
        }
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "web page failed");
        }
        let title = self.title();
        let body = html! {
            h1 { (title) }
            p #error-message role="alert" { (self.to_string()) }
            p {
                a href="/facilities" { "Back to the facilities" }
                @if status == StatusCode::UNAUTHORIZED { " · " a href="/login" { "Sign in" } }
            }
        };
        let mut response =
            (status, Html(layout::public_page(title, body).into_string())).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        super::add_security_headers(&mut response);
        response
    }
}
