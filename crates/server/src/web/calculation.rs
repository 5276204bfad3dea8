//! `GET /calculations/{id}`: one stored calculation — results with basis and U95, inputs as
//! aggregated, data quality, the energy (HHV) and exergy Sankey diagrams, benchmark,
//! recommendations, provenance — and its downloads (JSON document, CSV row, printable
//! report), all behind the session. A failed calculation shows why it failed.

use analysis::sankey::{PowerUnits, SankeyBasis};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use store::{CalculationRecord, CalculationStatus};

use super::error::{WebError, WebResult};
use super::layout::{self, PageContext};
use super::sections::{self, f, s};
use super::session::Session;
use super::units::{UnitSystem, percent};
use crate::http::AppState;
use crate::http::analysis::Analysed;
use crate::http::{ApiError, calculation, export, report};

/// The Sankey labels of the page's unit system, so they read like the tables around them.
impl From<UnitSystem> for PowerUnits {
    fn from(system: UnitSystem) -> Self {
        match system {
            UnitSystem::Si => Self::Si,
            UnitSystem::Us => Self::UsCustomary,
        }
    }
}

/// The stored record of `id`; 404 page when unknown.
async fn record(state: &AppState, id: &str) -> WebResult<CalculationRecord> {
    state
        .store
        .calculation(id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no calculation {id}.")))
}

/// `GET /calculations/{id}`.
pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(id): Path<String>,
) -> WebResult<Html<String>> {
    let record = record(&state, &id).await?;
    let body = match record.status {
        CalculationStatus::Failed => failed(&record),
        CalculationStatus::Completed => completed(&state, &ctx, &id).await?,
    };
    Ok(Html(
        layout::page(&format!("Calculation {id}"), &ctx, body).into_string(),
    ))
}

/// The page heading and the period, shared by both states.
fn heading(record: &CalculationRecord) -> Markup {
    let doc = &record.result;
    html! {
        h1 { "Calculation " span #calculation-id { (record.id) } }
        p.meta {
            "Facility " a href={ "/facilities/" (record.facility_id) } { (record.facility_id) }
            " · period (UTC) " (s(doc, "/time_period/start")) " to " (s(doc, "/time_period/end"))
            " · status " strong { (record.status.as_str()) }
        }
    }
}

fn failed(record: &CalculationRecord) -> Markup {
    html! {
        (heading(record))
        p #calculation-failed role="alert" {
            "This calculation failed: "
            (record.failure_reason.as_deref().unwrap_or("no reason stored"))
        }
        (downloads(&record.id, false))
    }
}

async fn completed(state: &AppState, ctx: &PageContext, id: &str) -> WebResult<Markup> {
    let analysed = Analysed::load(state, id).await?;
    let units = ctx.units;
    let energy = analysed.sankey_svg_on(SankeyBasis::Hhv, units.into())?;
    let exergy = analysed.sankey_svg_on(SankeyBasis::Exergy, units.into())?;
    let benchmark = analysed.benchmark(None);
    let recommendations = analysed.recommendations(None);
    let doc = &analysed.record.result;
    Ok(html! {
        (heading(&analysed.record))
        p.headline {
            "Facility efficiency (input–output, HHV): " strong #headline { (percent(f(doc, "/efficiency"))) }
            @if let Some(u) = sections::u95(sections::list(doc, "/summary/uncertainty/figures"), "direct_hhv") {
                " ± " (sections::num(Some(u), 2)) " points (95 %)"
            }
        }
        section #results { (sections::results(doc, units)) (sections::equipment(doc, units)) }
        section #sankey {
            h2 { "Energy and exergy flows" }
            figure #sankey-energy {
                (PreEscaped(&energy))
                figcaption { "Energy flows on the HHV basis: widths proportional to energy, \
                    percentages of the fuel input; unaccounted is the balance's closure." }
            }
            figure #sankey-exergy {
                (PreEscaped(&exergy))
                figcaption { "Exergy flows (work potential): the destruction inside the unit is \
                    what no energy balance shows." }
            }
        }
        section #benchmark { (sections::benchmark(&benchmark, units)) }
        section #recommendations { (sections::recommendations(&recommendations, units, None)) }
        section #data-quality { (sections::data_quality(doc, units)) }
        section #inputs { (sections::inputs(doc, units)) }
        section #provenance { (sections::provenance(doc)) }
        (downloads(id, true))
    })
}

fn downloads(id: &str, report: bool) -> Markup {
    html! {
        section #downloads {
            h2 { "Downloads" }
            ul {
                li { a #download-json href={ "/calculations/" (id) "/download.json" } download { "Calculation document (JSON)" } }
                li { a #download-csv href={ "/calculations/" (id) "/download.csv" } download { "Export row (CSV)" } }
                @if report {
                    li { a #download-report href={ "/calculations/" (id) "/report" } { "Printable report (HTML; print to PDF)" } }
                }
            }
        }
    }
}

/// An attachment answer named `thermaliq-<id>.<ext>`.
fn attachment(id: &str, ext: &str, content_type: &'static str, body: Body) -> Response {
    // Ids are `CALC-` and hex digits; anything else is replaced so the header stays valid.
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"thermaliq-{safe}.{ext}\"");
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /calculations/{id}/download.json`: the calculation document, as the API answers it.
pub async fn download_json(
    State(state): State<AppState>,
    _: Session,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let bytes = calculation::document(&state, &id)
        .await
        .map_err(not_found_page)?;
    Ok(attachment(
        &id,
        "json",
        "application/json",
        Body::from(bytes),
    ))
}

/// `GET /calculations/{id}/download.csv`: the export's header and this calculation's row.
pub async fn download_csv(
    State(state): State<AppState>,
    _: Session,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let record = record(&state, &id).await?;
    let bytes = export::csv_document(&record).map_err(ApiError::internal)?;
    Ok(attachment(
        &id,
        "csv",
        "text/csv; charset=utf-8",
        Body::from(bytes),
    ))
}

/// `GET /calculations/{id}/report`: the printable report, as the API serves it.
pub async fn report(
    State(state): State<AppState>,
    _: Session,
    Path(id): Path<String>,
) -> WebResult<Response> {
    report::report_response(&state, &id, None)
        .await
        .map_err(not_found_page)
}

/// An API 404 as the web's 404 page (the message names the calculation).
fn not_found_page(e: ApiError) -> WebError {
    if e.status == axum::http::StatusCode::NOT_FOUND {
        WebError::NotFound(e.message)
    } else {
        WebError::Api(e)
    }
}
