//! Sign-in with an API token and the cookie session that follows (`web_sessions`).
//!
//! The session secret (32 random bytes, hex) lives only in the browser's
//! `thermaliq_session` cookie (HttpOnly, Secure, SameSite=Strict); the store keeps its
//! SHA-256, the token it was opened with, a CSRF token and the expiry. Every request
//! re-reads the session with its token, so an expired session or a revoked token ends at
//! once. Forms carry the CSRF token in a hidden `csrf` field, scripts in `x-csrf-token`;
//! both are compared in constant time. The sign-in form itself is protected by a
//! double-submit cookie (`thermaliq_login_csrf`), since there is no session yet.

use axum::Form;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query, State};
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use store::Role;
use subtle::ConstantTimeEq;

use super::error::{WebError, WebResult};
use super::layout;
use crate::http::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "thermaliq_session";
/// The double-submit cookie of the sign-in form.
pub const LOGIN_CSRF_COOKIE: &str = "thermaliq_login_csrf";
/// The header scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user of a request, from a valid session whose token is not revoked.
/// Extracting it from a page request without one redirects to `/login?next=…`; from any
/// other request it answers 401.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The API token the user signed in with.
    pub token_id: String,
    /// The name the token was created for.
    pub name: String,
    /// The token's role.
    pub role: Role,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl Session {
    /// Refuses (403) a role below `role`, naming both.
    pub fn require(&self, role: Role) -> WebResult<()> {
        if self.role < role {
            return Err(WebError::Forbidden(format!(
                "Your role ({}) cannot do this; it needs the {role} role.",
                self.role
            )));
        }
        Ok(())
    }

    /// Refuses (403) a CSRF token that is not this session's.
    pub fn verify_csrf(&self, token: &str) -> WebResult<()> {
        if token.is_empty() {
            return Err(WebError::Csrf(
                "The form carried no CSRF token; reload the page and try again.".into(),
            ));
        }
        if bool::from(token.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(WebError::Csrf(
                "The form's CSRF token does not match your session; reload the page and try \
                 again."
                    .into(),
            ))
        }
    }

    /// Refuses (403) a script request whose `x-csrf-token` header is missing or wrong.
    pub fn verify_csrf_header(&self, headers: &HeaderMap) -> WebResult<()> {
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        self.verify_csrf(token)
    }

    /// The session of the request's cookie, if valid now.
    async fn load(parts: &Parts, state: &AppState) -> WebResult<Option<Self>> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let digest = digest_hex(secret);
        let Some(found) = state.store.web_session(&digest).await? else {
            return Ok(None);
        };
        if found.token_revoked_at_us.is_some() {
            state.store.delete_web_session(&digest).await?;
            return Ok(None);
        }
        if found.session.expires_at_us <= store::now_us() {
            state.store.delete_web_session(&digest).await?;
            return Ok(None);
        }
        Ok(Some(Self {
            token_id: found.session.token_id,
            name: found.name,
            role: found.role,
            csrf: found.session.csrf,
        }))
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> WebResult<Self> {
        if let Some(cached) = parts.extensions.get::<Session>() {
            return Ok(cached.clone());
        }
        match Self::load(parts, state).await? {
            Some(session) => {
                parts.extensions.insert(session.clone());
                Ok(session)
            }
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(WebError::SignIn {
                    next: parts
                        .uri
                        .path_and_query()
                        .map_or_else(|| "/".to_string(), ToString::to_string),
                })
            }
            None => Err(WebError::Unauthorized(
                "Your session has ended or is not valid; sign in again.".into(),
            )),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> WebResult<Option<Self>> {
        Self::load(parts, state).await
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `next` if it is a path of this site (starts with one `/`, no backslash or control
/// character), so that a crafted link cannot send the user elsewhere after signing in.
pub fn safe_next(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

/// 32 random bytes from the operating system's CSPRNG, in hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a session secret: SHA-256 in hex (the secret has 256 random bits, so
/// no pepper is needed to stop guessing).
pub fn digest_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in.
    #[serde(default)]
    pub next: String,
}

/// The form of `POST /login`.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The API token (`tq_…`).
    #[serde(default)]
    pub token: String,
    /// The double-submit CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Where to go after signing in.
    #[serde(default)]
    pub next: String,
}

/// `GET /login`: the sign-in form, with a fresh double-submit CSRF token.
pub async fn login_form(Query(q): Query<LoginQuery>) -> Response {
    sign_in_page(StatusCode::OK, &q.next, None)
}

/// The sign-in page with a new login CSRF token (form field and cookie) and, after a failed
/// attempt, why it failed.
fn sign_in_page(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let csrf = random_hex();
    let next = safe_next(next).unwrap_or_default();
    let body: Markup = html! {
        h1 { "Sign in" }
        p { "Sign in with your THERMALIQ API token (" code { "thermaliq token create" } " issues one)." }
        @if let Some(error) = error {
            p #sign-in-error role="alert" { (error) }
        }
        form #sign-in method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            @if !next.is_empty() { input type="hidden" name="next" value=(next); }
            label for="token" { "API token" }
            input #token type="password" name="token" autocomplete="off" required
                spellcheck="false" aria-describedby="token-help";
            p #token-help .hint { "Starts with tq_. It is sent once; the browser then keeps \
                only a session cookie." }
            button #sign-in-submit type="submit" { "Sign in" }
        }
    };
    let cookie =
        format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    (
        status,
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Html(layout::public_page("Sign in", body).into_string()),
    )
        .into_response()
}

/// `POST /login`: verifies the token like the API does; on success opens a session and
/// goes to `next` (or the facilities), else answers 401 with the form and the reason.
pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty()
        || form.csrf.is_empty()
        || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes()))
    {
        return Err(WebError::Csrf(
            "The sign-in form's CSRF token does not match its cookie (cookies blocked, or \
             the form is too old); reload the sign-in page and try again."
                .into(),
        ));
    }
    let token = form.token.trim();
    if token.is_empty() {
        return Ok(sign_in_page(
            StatusCode::UNAUTHORIZED,
            &form.next,
            Some("Enter your API token."),
        ));
    }
    let caller = match state
        .auth
        .authenticate(Some(&format!("Bearer {token}")))
        .await
    {
        Ok(caller) => caller,
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            return Ok(sign_in_page(
                StatusCode::UNAUTHORIZED,
                &form.next,
                Some("That token was not accepted: it is unknown, revoked or mistyped."),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let now = store::now_us();
    let ttl = state.settings.current().web_session_ttl;
    let ttl_us = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    let secret = random_hex();
    let session = store::WebSession {
        id_digest: digest_hex(&secret),
        token_id: caller.token_id,
        csrf: random_hex(),
        created_at_us: now,
        expires_at_us: now.saturating_add(ttl_us),
    };
    // Sign-ins are rare; clearing the expired sessions here keeps the table small without
    // a background task.
    state.store.delete_expired_web_sessions(now).await?;
    state.store.insert_web_session(&session).await?;
    let next = safe_next(&form.next).unwrap_or("/facilities");
    let set_session = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        ttl.as_secs()
    );
    let clear_login =
        format!("{LOGIN_CSRF_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, set_session),
            (header::SET_COOKIE, clear_login),
        ]),
        Redirect::to(next),
    )
        .into_response())
}

/// The form of `POST /logout`.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`: ends the session, clears the cookie and goes to the sign-in page.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> WebResult<Response> {
    session.verify_csrf(&form.csrf)?;
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_web_session(&digest_hex(secret)).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
