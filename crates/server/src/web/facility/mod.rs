//! The facility page (`GET /facilities/{id}`): a period chooser, the efficiency trend with
//! its uncertainty band, the loss breakdown over time, the latest calculation's Sankey,
//! benchmark and recommendations, the connectors' health, and for operators the forms that
//! run calculations (`POST /facilities/{id}/calculate`) and upload readings
//! (`POST /facilities/{id}/readings`). Every number comes from the API's own functions:
//! stored calculations, `http::analysis`, `http::calculation`, `http::ingest` and the
//! integration status.

mod actions;
mod data;
pub mod period;
mod sections;
mod trend;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use store::Role;

pub use actions::{run, upload};
use period::{Resolution, Span, format_local};

use super::error::WebResult;
use super::layout::{self, PageContext};
use crate::facility::FacilitySpec;
use crate::http::AppState;
use crate::http::calculation::facility_spec;

/// Query of `GET /facilities/{id}`; every field optional (the default is the last day with
/// readings, hourly).
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Start, `YYYY-MM-DDTHH:MM` UTC.
    pub from: Option<String>,
    /// End (exclusive), `YYYY-MM-DDTHH:MM` UTC.
    pub to: Option<String>,
    /// `hourly` or `daily`.
    pub resolution: Option<String>,
    /// Calculations just created by the run form (the flash message).
    pub created: Option<String>,
    /// How many of them failed the closure check.
    pub failed: Option<String>,
}

/// The period and resolution the page shows.
#[derive(Debug, Clone, Copy)]
struct View {
    span: Span,
    resolution: Resolution,
}

impl View {
    /// The view of `q`: its period when both ends are given, else the last day with readings
    /// (today, UTC, for a facility without any).
    async fn of(state: &AppState, spec: &FacilitySpec, q: &PageQuery) -> WebResult<Self> {
        let resolution = Resolution::parse(q.resolution.as_deref())?;
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let span = if given(&q.from) || given(&q.to) {
            Span::parse(
                ("from", q.from.as_deref().unwrap_or_default()),
                ("to", q.to.as_deref().unwrap_or_default()),
            )?
            .at_most(
                "to",
                match resolution {
                    Resolution::Hourly => "hourly resolution",
                    Resolution::Daily => "daily resolution",
                },
                resolution.max_days(),
            )?
        } else {
            data::last_reading_day(state, &spec.id, &spec.tag_names())
                .await?
                .unwrap_or_else(|| Span::day_of(store::now_us()))
        };
        Ok(Self { span, resolution })
    }

    /// The page address of this view.
    fn href(&self, facility_id: &str) -> String {
        format!(
            "/facilities/{}?from={}&to={}&resolution={}",
            encode(facility_id),
            format_local(self.span.start_us),
            format_local(self.span.end_us),
            self.resolution.code()
        )
    }
}

/// `text` percent-encoded for a URL path segment or query value.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What the run form shows after a refused run: the values sent and the API's message.
struct RunFailure {
    start: String,
    end: String,
    split: String,
    message: String,
}

/// `GET /facilities/{id}`.
pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let spec = facility_spec(&state, &id).await?;
    let view = View::of(&state, &spec, &q).await?;
    let flash = q
        .created
        .as_deref()
        .and_then(|c| c.parse::<u32>().ok())
        .map(|created| {
            let failed = q
                .failed
                .as_deref()
                .and_then(|f| f.parse::<u32>().ok())
                .unwrap_or(0);
            (created, failed)
        });
    let body = body(&state, &ctx, &spec, view, flash, None).await?;
    Ok(Html(layout::page(&spec.name, &ctx, body).into_string()).into_response())
}

/// The page again with the run form's error, 422, on the period and resolution it showed
/// (`shown`; the default view when those no longer read).
async fn refused_run(
    state: &AppState,
    ctx: &PageContext,
    spec: &FacilitySpec,
    shown: &PageQuery,
    failure: RunFailure,
) -> WebResult<Response> {
    let view = match View::of(state, spec, shown).await {
        Ok(view) => view,
        Err(_) => View::of(state, spec, &PageQuery::default()).await?,
    };
    // The units switch comes back to the page, not to the form's address.
    let ctx = PageContext {
        path: view.href(&spec.id),
        ..ctx.clone()
    };
    let body = body(state, &ctx, spec, view, None, Some(failure)).await?;
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        Html(layout::page(&spec.name, &ctx, body).into_string()),
    )
        .into_response())
}

/// The page's `main`.
async fn body(
    state: &AppState,
    ctx: &PageContext,
    spec: &FacilitySpec,
    view: View,
    flash: Option<(u32, u32)>,
    failure: Option<RunFailure>,
) -> WebResult<Markup> {
    let points = data::points(state, &spec.id, view.span).await?;
    let shown = data::of_resolution(&points, view.resolution);
    let latest_point = data::latest(&points);
    let latest = match latest_point {
        Some(p) => Some(sections::Latest::load(state, p, ctx.units).await),
        None => None,
    };
    let connectors = state.connectors.status().await;
    let status = connectors.iter().find(|c| c.facility_id == spec.id);
    let trend = trend::trend_section(&shown, view.span, view.resolution, &spec.name, ctx.units)
        .map_err(chart_error)?;
    let losses =
        trend::losses_section(&shown, view.span, &spec.name, ctx.units).map_err(chart_error)?;
    let operator = ctx.session.role >= Role::Operator;
    Ok(html! {
        h1 { (spec.name) " " small.muted { "(" (spec.id) ")" } }
        (period_form(&spec.id, view))
        @if let Some((created, failed)) = flash {
            p #flash .flash role="status" {
                (created) " calculation" @if created != 1 { "s" } " created"
                @if failed > 0 { "; " (failed) " failed the closure check (shown on their pages, not in the trend)" }
                "."
            }
        }
        div.facility-grid {
            (trend)
            (losses)
            (sections::sankey_section(latest.as_ref(), latest_point, ctx.units))
            (sections::benchmark_section(latest.as_ref()))
            (sections::recommendations_section(latest.as_ref(), ctx.units))
            (sections::connectors_section(status, spec.connectors.is_some()))
            @if operator {
                (run_form(&spec.id, &ctx.session.csrf, view, failure.as_ref()))
                (upload_form(&spec.id, spec))
            } @else {
                section #run aria-labelledby="run-heading" {
                    h2 #run-heading { "Run a calculation or upload readings" }
                    p #role-note { "Your role (" (ctx.session.role) ") cannot run calculations or upload readings." }
                }
            }
        }
    })
}

/// A chart the page cannot draw is a server fault: its input comes from stored calculations.
fn chart_error(e: analysis::chart::ChartError) -> super::WebError {
    super::WebError::Api(crate::http::ApiError::internal(format!(
        "a chart could not be drawn: {e}"
    )))
}

/// The period chooser (`form#period`, GET).
fn period_form(id: &str, view: View) -> Markup {
    html! {
        form #period .inline-form method="get" action=(format!("/facilities/{}", encode(id))) {
            fieldset {
                legend { "Period (UTC)" }
                label for="from" { "From" }
                input #from type="datetime-local" name="from" value=(format_local(view.span.start_us)) required;
                label for="to" { "To" }
                input #to type="datetime-local" name="to" value=(format_local(view.span.end_us)) required;
                label for="resolution" { "Resolution" }
                select #resolution name="resolution" {
                    @for r in [Resolution::Hourly, Resolution::Daily] {
                        option value=(r.code()) selected[r == view.resolution] {
                            @match r {
                                Resolution::Hourly => "Hourly calculations (1 h or less)",
                                Resolution::Daily => "Daily and longer calculations",
                            }
                        }
                    }
                }
                button #period-submit type="submit" { "Show" }
            }
        }
    }
}

/// The run form (`form#run-calculation`), with the refused run's values and error if any.
fn run_form(id: &str, csrf: &str, view: View, failure: Option<&RunFailure>) -> Markup {
    let start = failure.map_or_else(|| format_local(view.span.start_us), |f| f.start.clone());
    let end = failure.map_or_else(|| format_local(view.span.end_us), |f| f.end.clone());
    let split = failure.map_or("whole", |f| f.split.as_str());
    html! {
        section #run aria-labelledby="run-heading" {
            h2 #run-heading { "Run a calculation" }
            form #run-calculation method="post" action=(format!("/facilities/{}/calculate", encode(id))) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="view_from" value=(format_local(view.span.start_us));
                input type="hidden" name="view_to" value=(format_local(view.span.end_us));
                input type="hidden" name="view_resolution" value=(view.resolution.code());
                label for="run-start" { "Start (UTC)" }
                input #run-start type="datetime-local" name="start" value=(start) required;
                label for="run-end" { "End (UTC)" }
                input #run-end type="datetime-local" name="end" value=(end) required;
                label for="run-split" { "Split" }
                select #run-split name="split" {
                    option value="whole" selected[split == "whole"] { "One calculation for the whole period" }
                    option value="hourly" selected[split == "hourly"] { "One calculation per hour" }
                    option value="daily" selected[split == "daily"] { "One calculation per day" }
                }
                button #run-submit type="submit" { "Run" }
            }
            @if let Some(f) = failure {
                p #run-error .error role="alert" { (f.message) }
            }
            p.hint { "A split period must be a whole number of hours or days. Each calculation is "
                "the same as POST /v1/thermaliq/calculate for its period." }
        }
    }
}

/// The upload form (`form#upload-readings`), driven by `app.js`.
fn upload_form(id: &str, spec: &FacilitySpec) -> Markup {
    html! {
        section #upload aria-labelledby="upload-heading" {
            h2 #upload-heading { "Upload readings" }
            p.hint { "A CSV file with the header " code { "time,tag,value[,quality]" }
                ", times in RFC 3339 — the format of POST /v1/thermaliq/facilities/" (id) "/readings. "
                "A file with a bad line is refused whole." }
            details {
                summary { "Tags of this facility" }
                p { @for (k, tag) in spec.tag_names().iter().enumerate() { @if k > 0 { ", " } code { (tag) } } }
            }
            form #upload-readings method="post" action=(format!("/facilities/{}/readings", encode(id))) {
                label for="readings-file" { "CSV file" }
                input #readings-file type="file" name="file" accept=".csv,text/csv" required;
                button #upload-submit type="submit" disabled { "Upload" }
                label for="upload-progress" { "Progress" }
                progress #upload-progress max="1" value="0" {}
            }
            output #upload-result role="status" for="readings-file" {}
            noscript {
                p { "Uploading from the page needs JavaScript. The command line does the same: "
                    code { "thermaliq ingest --facility " (id) " readings.csv" } }
            }
        }
    }
}
