//! The browser application at `/` (issue 8): server-rendered HTML (`maud`) over the same
//! [`AppState`], store and calculation functions as the API under `/v1/thermaliq`, with one
//! small script for progressive enhancement and no build step. Users sign in with an API
//! token (a cookie session, [`session`]), every form carries a CSRF token, and the roles are
//! the API's. Every physical quantity on a page goes through [`units::qty`], so the SI / US
//! customary switch changes every displayed value and nothing else. Documented in
//! `docs/WEB.md`.

pub mod assets;
pub mod calculation;
pub mod error;
pub mod facility;
pub mod layout;
pub mod overview;
pub mod sections;
pub mod session;
pub mod units;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::http::{AppState, BASE_PATH};
pub use error::{WebError, WebResult};
pub use layout::PageContext;
pub use session::Session;
pub use units::UnitSystem;

/// The Content-Security-Policy of every page: scripts only from this origin (no inline
/// script, no `on*=` attribute), inline styles only for the SVG charts' presentation
/// attributes, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; \
     form-action 'self'; base-uri 'none'";

/// The browser application's routes, to be merged into [`crate::http::router`] at `/`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root))
        .route(
            "/login",
            get(session::login_form).post(session::login_submit),
        )
        .route("/logout", post(session::logout))
        .route("/units", post(units::switch))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js))
        .route("/facilities", get(overview::page))
        .route("/facilities/{id}", get(facility::page))
        .route("/facilities/{id}/calculate", post(facility::run))
        .route("/facilities/{id}/readings", post(facility::upload))
        .route("/calculations/{id}", get(calculation::page))
        .route(
            "/calculations/{id}/download.json",
            get(calculation::download_json),
        )
        .route(
            "/calculations/{id}/download.csv",
            get(calculation::download_csv),
        )
        .route("/calculations/{id}/report", get(calculation::report))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// `GET /`: the facilities when signed in, else the sign-in form.
async fn root(session: Option<Session>) -> Redirect {
    match session {
        Some(_) => Redirect::to("/facilities"),
        None => Redirect::to("/login"),
    }
}

/// The answer for a path no route matches: the API's JSON 404 under [`BASE_PATH`], the HTML
/// 404 page everywhere else.
pub async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    if path == BASE_PATH || path.starts_with(&format!("{BASE_PATH}/")) {
        crate::http::routes::not_found().await.into_response()
    } else {
        WebError::NotFound(format!("There is no page at {path}.")).into_response()
    }
}

/// Adds the security headers every browser answer carries.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_security_headers(&mut response);
    response
}

/// The headers of [`CONTENT_SECURITY_POLICY`] (unless the answer has a stricter one),
/// `no-store` (unless it sets its own caching), `nosniff` and a same-origin referrer.
pub(crate) fn add_security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    // A stricter policy of the answer (the printable report's) stays.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    // Pages carry the session's CSRF token and the user's data: never kept by a cache.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}
