//! `GET /calculations/{id}/report`: one self-contained, printable HTML document of a stored
//! calculation — results with basis and uncertainty, the Sankey diagram, inputs as aggregated,
//! data quality, benchmark, recommendations and provenance.
//!
//! Rendered with `maud`, whose templates escape every interpolated string; the only
//! unescaped parts are the fixed style sheet and the Sankey SVG, which `analysis::sankey`
//! writes with every name XML-escaped. No scripts, fonts, images or links: the document
//! renders the same offline, and the answer's Content-Security-Policy forbids loading
//! anything. Print CSS (A4, page breaks between sections) makes it the PDF source: no
//! maintained Rust crate converts HTML to PDF offline, so "Print to PDF" of any browser
//! (or `chromium --headless --print-to-pdf`) is the way to a PDF.

use analysis::sankey::PowerUnits;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::AppState;
use super::analysis::{Analysed, BenchmarkQuery, query_price};
use super::auth::{Auth, Viewer};
use super::error::ApiResult;
use super::extract::ApiQuery;
use super::routes::ErrorBody;
use crate::web::UnitSystem;
use crate::web::sections::{self, f, list, num, s, u95};

/// The report is in SI whatever the user's choice in the web application.
const SI: UnitSystem = UnitSystem::Si;

/// The style sheet: screen and print, system fonts only.
const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10.5pt;
  color: #212529; margin: 0 auto; max-width: 190mm; padding: 8mm; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; border-bottom: 1px solid #adb5bd; padding-bottom: 1mm; margin-top: 7mm; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm; }
table { border-collapse: collapse; width: 100%; margin: 1.5mm 0 3mm; }
th, td { border: 1px solid #dee2e6; padding: 1mm 1.5mm; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f1f3f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.meta td:first-child { width: 32%; color: #495057; }
.headline { font-size: 15pt; font-weight: 700; }
.muted { color: #6c757d; font-size: 9pt; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
.sankey svg { width: 100%; height: auto; display: block; }
ul { margin: 1mm 0 3mm; padding-left: 5mm; }
section { break-inside: auto; }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { break-after: avoid; }
  .page { break-before: page; }
  table, .sankey { break-inside: avoid; }
}
"#;

/// The calculation report as a printable HTML document (inline CSS and SVG; no scripts,
/// fonts or links).
#[utoipa::path(get, path = "/calculations/{id}/report", tag = "calculations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Calculation id (CALC-...)"), BenchmarkQuery),
    responses((status = 200, description = "The report", content_type = "text/html", body = String),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn calculation_report(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<BenchmarkQuery>,
) -> ApiResult<Response> {
    report_response(&state, &id, query_price(&q)?).await
}

/// The report of calculation `id` as an answer (the API's and the web application's
/// download), with the fuel price `price` when given.
pub(crate) async fn report_response(
    state: &AppState,
    id: &str,
    price: Option<f64>,
) -> ApiResult<Response> {
    let analysed = Analysed::load(state, id).await?;
    let svg = analysed.sankey_svg(PowerUnits::Si)?;
    let benchmark = analysed.benchmark(price);
    let recommendations = analysed.recommendations(price);
    let page = render(&analysed, &svg, &benchmark, &recommendations);
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'",
                ),
            ),
        ],
        page.into_string(),
    )
        .into_response())
}

/// The report: a printable frame around the shared sections, in SI.
fn render(a: &Analysed, svg: &str, benchmark: &Value, recommendations: &Value) -> Markup {
    let doc = &a.record.result;
    let figures = list(doc, "/summary/uncertainty/figures");
    let headline = f(doc, "/efficiency");
    let headline_u = u95(figures, "direct_hhv");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Efficiency report " (a.record.id) " — " (a.spec.name) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Thermal efficiency report" }
                p.muted { "THERMALIQ " (s(doc, "/provenance/service_version")) ", method "
                    (s(doc, "/provenance/method_version")) }
                table.meta {
                    tr { td { "Facility" } td { (a.spec.name) " (" (a.record.facility_id) ")" } }
                    tr { td { "Calculation" } td { (a.record.id) } }
                    tr { td { "Period (UTC)" } td { (s(doc, "/time_period/start")) " to "
                        (s(doc, "/time_period/end")) " (" (num(f(doc, "/time_period/duration_s").map(|d| d / 3600.0), 2)) " h)" } }
                    tr { td { "Calculated at" } td { (s(doc, "/created_at")) } }
                }
                p {
                    "Facility efficiency (input–output method, HHV): "
                    span.headline { (num(headline, 2)) " %" }
                    @if let Some(u) = headline_u { " ± " (num(Some(u), 2)) " points (95 %)" }
                }
                section { (sections::results(doc, SI)) }
                section.sankey {
                    h2 { "Energy flows (HHV)" }
                    p.muted { "Widths proportional to energy; percentages of the fuel input (HHV). \
                        Unaccounted: the closure of the energy balance." }
                    (PreEscaped(svg))
                }
                section.page { (sections::equipment(doc, SI)) }
                section.page { (sections::benchmark(benchmark, SI)) }
                section.page { (sections::recommendations(recommendations, SI, None)) }
                section.page { (sections::data_quality(doc, UnitSystem::Si)) }
                section.page { (sections::inputs(doc, SI)) }
                section { (sections::provenance(doc)) }
            }
        }
    }
}
