//! The style sheet and the script, embedded in the binary and served with a year's
//! immutable caching; pages link them with `?v=<content hash>`, so a new build's assets
//! are fetched at once and unchanged ones never again.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The style sheet.
pub const CSS: &str = include_str!("static/app.css");
/// The script (progressive enhancement only: every page works without it).
pub const JS: &str = include_str!("static/app.js");

/// The first 8 bytes of the SHA-256 of `content`, in hex.
fn version(content: &str) -> String {
    hex::encode(&Sha256::digest(content.as_bytes())[..8])
}

static CSS_URL: LazyLock<String> = LazyLock::new(|| format!("/static/app.css?v={}", version(CSS)));
static JS_URL: LazyLock<String> = LazyLock::new(|| format!("/static/app.js?v={}", version(JS)));

/// The versioned address of the style sheet.
pub fn css_url() -> &'static str {
    &CSS_URL
}

/// The versioned address of the script.
pub fn js_url() -> &'static str {
    &JS_URL
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /static/app.css`.
pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /static/app.js`.
pub async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}
