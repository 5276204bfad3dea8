//! Extractors whose refusals are the API's JSON errors: axum's own rejections answer in plain
//! text, so bodies and queries are read here instead.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ApiError, ApiResult};

/// The media type of a request body, as far as the API distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json` (or no Content-Type at all).
    Json,
    /// `text/csv`.
    Csv,
    /// `application/toml`.
    Toml,
    /// `application/yaml` or `application/x-yaml`.
    Yaml,
}

/// A request body read whole (within the body limit), with its media type.
pub struct RawBody {
    /// The media type named by Content-Type.
    pub media_type: MediaType,
    /// The bytes.
    pub bytes: Bytes,
}

fn media_type(parts: &Parts) -> ApiResult<MediaType> {
    let Some(value) = parts.headers.get(header::CONTENT_TYPE) else {
        return Ok(MediaType::Json);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("unsupported_media_type", "unreadable Content-Type"))?;
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(MediaType::Json),
        "text/csv" => Ok(MediaType::Csv),
        "application/toml" => Ok(MediaType::Toml),
        "application/yaml" | "application/x-yaml" | "text/yaml" => Ok(MediaType::Yaml),
        other => Err(ApiError::bad_request(
            "unsupported_media_type",
            format!("Content-Type {other} is not accepted here; send application/json"),
        )),
    }
}

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let (parts, body) = req.into_parts();
        let media_type = media_type(&parts)?;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(state.settings.current().body_limit)
            } else {
                ApiError::bad_request("unreadable_body", e.body_text())
            }
        })?;
        Ok(Self { media_type, bytes })
    }
}

/// Reads JSON into `T`: 400 when the text is not JSON, 422 naming the field when it does not
/// have `T`'s shape.
pub fn parse_json<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8]) -> ApiResult<T> {
    let malformed = |e: &serde_json::Error| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return malformed(inner);
        }
        let (path, message) = crate::calc::serde_error_path(&e);
        ApiError::invalid(path, message)
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// A JSON body of type `T`, refused with the API's errors.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let body = RawBody::from_request(req, state).await?;
        if body.media_type != MediaType::Json {
            return Err(ApiError::bad_request(
                "unsupported_media_type",
                "this route accepts application/json only",
            ));
        }
        parse_json(&body.bytes).map(ApiJson)
    }
}

/// Query parameters of type `T` (its fields strings, parsed by the handler so that a refusal
/// names the parameter); an unreadable query string is 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> ApiResult<Self> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request("malformed_query", e.body_text()))
    }
}
