//! The page frame: document head with the style sheet and script, skip link, header with
//! navigation, the signed-in user, the units switch and sign-out, then `main`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::error::WebError;
use super::session::Session;
use super::units::UnitSystem;
use crate::http::AppState;

/// What every signed-in page needs besides its own data: who is signed in, the unit system
/// and the current path (the units switch comes back to it). Extracting it requires a
/// session, like [`Session`].
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The signed-in user.
    pub session: Session,
    /// The unit system of the display.
    pub units: UnitSystem,
    /// The request's path and query, for the units switch's `back`.
    pub path: String,
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let session = Session::from_request_parts(parts, state).await?;
        Ok(Self {
            session,
            units: UnitSystem::from_headers(&parts.headers),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), ToString::to_string),
        })
    }
}

/// The document around `body`, with `title` (followed by the product name) in the head.
fn document(title: &str, header: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — THERMALIQ" }
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to main content" }
                (header)
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A signed-in page: the header with navigation, `#whoami`, the units switch
/// (`form#units-switch`) and sign-out (`form#sign-out`), then `body` in `main`.
pub fn page(title: &str, ctx: &PageContext, body: Markup) -> Markup {
    let s = &ctx.session;
    let header = html! {
        header.site {
            a.brand href="/facilities" { "THERMALIQ" }
            nav aria-label="Main" {
                ul { li { a href="/facilities" { "Facilities" } } }
            }
            p #whoami { "Signed in as " strong { (s.name) } " (" (s.role) ")" }
            form #units-switch method="post" action="/units" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="back" value=(ctx.path);
                fieldset {
                    legend { "Units: " span #units-current { (ctx.units.label()) } }
                    @for system in [UnitSystem::Si, UnitSystem::Us] {
                        button type="submit" name="units" value=(system.code())
                            aria-pressed=(if system == ctx.units { "true" } else { "false" }) {
                            (system.label())
                        }
                    }
                }
            }
            form #sign-out method="post" action="/logout" {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Sign out" }
            }
        }
    };
    document(title, header, body)
}

/// A page without a session (sign-in, errors): the header has the product name only.
pub fn public_page(title: &str, body: Markup) -> Markup {
    let header = html! {
        header.site { a.brand href="/facilities" { "THERMALIQ" } }
    };
    document(title, header, body)
}

/// A horizontally scrolling wrapper for a wide table, focusable so that keyboard users can
/// scroll it, named by `label`.
pub fn scroll(label: &str, table: Markup) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label=(label) { (table) }
    }
}
