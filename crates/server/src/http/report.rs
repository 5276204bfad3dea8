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
    let price = query_price(&q)?;
    let analysed = Analysed::load(&state, &id).await?;
    let svg = analysed.sankey_svg()?;
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

/// A number with `decimals` decimals; an em dash when absent.
fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => {
            let text = format!("{v:.decimals$}");
            // "-0.00" reads as a sign where there is none.
            if text
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                text.trim_start_matches('-').to_string()
            } else {
                text
            }
        }
        _ => "—".to_string(),
    }
}

/// A power in W as MW (from 1 MW) or kW.
fn power(w: Option<f64>) -> String {
    match w {
        Some(w) if w.abs() >= 1e6 => format!("{} MW", num(Some(w / 1e6), 3)),
        Some(w) => format!("{} kW", num(Some(w / 1e3), 1)),
        None => "—".to_string(),
    }
}

fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("—")
}

fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A stored value of an input document as written: `12.5 t/h ± 1.5 %`, a bare number or
/// text.
fn written(v: &Value) -> String {
    match v {
        Value::Object(map) if map.contains_key("value") => {
            let mut text = match map.get("value") {
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => written(other),
                None => String::new(),
            };
            if let Some(unit) = map.get("unit").and_then(Value::as_str) {
                text = format!("{text} {unit}");
            }
            if let Some(u) = map.get("uncertainty") {
                text = format!("{text} ± {}", written(u));
            }
            text
        }
        Value::String(t) => t.clone(),
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

/// The rows of an input document: one per leaf value, named by its dotted path.
fn input_rows(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) if !map.contains_key("value") => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                input_rows(&path, child, rows);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                input_rows(&format!("{prefix}[{i}]"), child, rows);
            }
        }
        _ => rows.push((prefix.to_string(), written(v))),
    }
}

/// The expanded uncertainty (percentage points) of a figure in a list of figures.
fn u95(figures: &[Value], figure: &str) -> Option<f64> {
    figures
        .iter()
        .find(|x| x["figure"] == figure)
        .and_then(|x| x["expanded_uncertainty_percent_points"].as_f64())
}

fn render(a: &Analysed, svg: &str, benchmark: &Value, recommendations: &Value) -> Markup {
    let doc = &a.record.result;
    let figures = list(doc, "/summary/uncertainty/figures");
    let headline = f(doc, "/efficiency");
    let headline_u = u95(figures, "direct_hhv");
    let currency = recommendations
        .pointer("/economics/currency")
        .and_then(Value::as_str)
        .unwrap_or("");
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
                (results(doc, figures))
                section.sankey {
                    h2 { "Energy flows (HHV)" }
                    p.muted { "Widths proportional to energy; percentages of the fuel input (HHV). \
                        Unaccounted: the closure of the energy balance." }
                    (PreEscaped(svg))
                }
                (units(doc))
                (benchmark_section(benchmark, currency))
                (recommendations_section(recommendations, currency))
                (data_quality(doc))
                (inputs(doc))
                (provenance(doc))
            }
        }
    }
}

fn results(doc: &Value, figures: &[Value]) -> Markup {
    let row = |label: &str, pointer: &str, figure: &str| {
        html! {
            tr { td { (label) } td.n { (num(f(doc, pointer), 2)) " %" }
                td.n { @match u95(figures, figure) { Some(u) => { "± " (num(Some(u), 2)) }, None => { "—" } } } }
        }
    };
    html! {
        section {
            h2 { "Results" }
            table {
                tr { th { "Efficiency (facility roll-up)" } th.n { "Value" } th.n { "U95, points" } }
                (row("Input–output (direct), HHV", "/summary/efficiency_percent/direct/HHV", "direct_hhv"))
                (row("Input–output (direct), LHV", "/summary/efficiency_percent/direct/LHV", "direct_lhv"))
                (row("Heat-loss (indirect), HHV", "/summary/efficiency_percent/indirect/HHV", "indirect_hhv"))
                (row("Heat-loss (indirect), LHV", "/summary/efficiency_percent/indirect/LHV", "indirect_lhv"))
                (row("Exergy (second law)", "/summary/efficiency_percent/exergy", "exergy_efficiency"))
            }
            table {
                tr { th { "Energy balance" } th.n { "HHV" } th.n { "LHV" } }
                tr { td { "Fuel input" } td.n { (power(f(doc, "/summary/fuel_input_W/HHV"))) }
                    td.n { (power(f(doc, "/summary/fuel_input_W/LHV"))) } }
                tr { td { "Useful output" } td.n { (power(f(doc, "/summary/useful_output_W"))) }
                    td.n { (power(f(doc, "/summary/useful_output_W"))) } }
                tr { td { "Unaccounted" } td.n { (power(f(doc, "/summary/unaccounted_W/HHV"))) }
                    td.n { (power(f(doc, "/summary/unaccounted_W/LHV"))) } }
                tr { td { "Closure (unaccounted / fuel input)" }
                    td.n { (num(f(doc, "/summary/closure_percent/HHV"), 2)) " %" }
                    td.n { (num(f(doc, "/summary/closure_percent/LHV"), 2)) " %" } }
            }
            @if let Some(coverage) = doc.pointer("/summary/uncertainty/coverage").and_then(Value::as_str) {
                p.muted { "Uncertainty: expanded, " (coverage) "; "
                    (s(doc, "/summary/uncertainty/method")) }
            }
        }
    }
}

fn units(doc: &Value) -> Markup {
    html! {
        section.page {
            h2 { "Equipment" }
            @for unit in list(doc, "/equipment") {
                @let r = &unit["result"];
                @let figures = list(r, "/uncertainty/first_order");
                h3 { (s(unit, "/name")) " (" (s(unit, "/equipment_id")) ", " (s(unit, "/type")) ")" }
                @if let Some(flag) = unit.get("flag") {
                    p { strong { "Flagged: " } (s(flag, "/reason")) " — " (s(flag, "/flagged_by")) ", " (s(flag, "/flagged_at")) }
                }
                table {
                    tr { th { "Efficiency" } th.n { "HHV" } th.n { "U95" } th.n { "LHV" } th.n { "U95" } }
                    tr { td { "Input–output (direct)" }
                        td.n { (num(f(r, "/efficiency_percent/direct/HHV"), 2)) " %" }
                        td.n { (num(u95(figures, "direct_hhv"), 2)) }
                        td.n { (num(f(r, "/efficiency_percent/direct/LHV"), 2)) " %" }
                        td.n { (num(u95(figures, "direct_lhv"), 2)) } }
                    tr { td { "Heat-loss (indirect)" }
                        td.n { (num(f(r, "/efficiency_percent/indirect/HHV"), 2)) " %" }
                        td.n { (num(u95(figures, "indirect_hhv"), 2)) }
                        td.n { (num(f(r, "/efficiency_percent/indirect/LHV"), 2)) " %" }
                        td.n { (num(u95(figures, "indirect_lhv"), 2)) } }
                    tr { td { "Exergy" } td.n { (num(f(r, "/efficiency_percent/exergy"), 2)) " %" }
                        td.n { (num(u95(figures, "exergy_efficiency"), 2)) } td.n { "" } td.n { "" } }
                    @if let Some(design) = f(unit, "/design_efficiency_percent_hhv") {
                        tr { td { "Design (guarantee)" } td.n { (num(Some(design), 2)) " %" }
                            td.n { "" } td.n { "" } td.n { "" } }
                    }
                }
                table {
                    tr { th { "Loss or credit" } th.n { "Power" } th.n { "% of input, HHV" } th.n { "% of input, LHV" } }
                    @for loss in list(r, "/energy_balance/losses") {
                        tr { td { (s(loss, "/name")) } td.n { (power(f(loss, "/W/HHV"))) }
                            td.n { (num(f(loss, "/percent_of_input/HHV"), 2)) }
                            td.n { (num(f(loss, "/percent_of_input/LHV"), 2)) } }
                    }
                    @for credit in list(r, "/energy_balance/credits") {
                        tr { td { "credit: " (s(credit, "/name")) } td.n { (power(f(credit, "/W"))) }
                            td.n { (num(f(credit, "/percent_of_input/HHV"), 2)) }
                            td.n { (num(f(credit, "/percent_of_input/LHV"), 2)) } }
                    }
                    tr { td { "unaccounted (closure)" } td.n { (power(f(r, "/energy_balance/unaccounted_W/HHV"))) }
                        td.n { (num(f(r, "/energy_balance/closure_percent/HHV"), 2)) }
                        td.n { (num(f(r, "/energy_balance/closure_percent/LHV"), 2)) } }
                }
                p.muted { "Fuel " (s(r, "/fuel/name")) ": HHV " (num(f(r, "/fuel/hhv_J_kg").map(|x| x / 1e6), 3))
                    " MJ/kg, LHV " (num(f(r, "/fuel/lhv_J_kg").map(|x| x / 1e6), 3)) " MJ/kg; excess air "
                    (num(f(r, "/combustion/excess_air_percent"), 1)) " %." }
                @let warnings = list(r, "/warnings");
                @if !warnings.is_empty() {
                    ul { @for w in warnings { li { (s(w, "/code")) ": " (s(w, "/message")) } } }
                }
            }
        }
    }
}

fn money(v: Option<f64>, currency: &str) -> String {
    match v {
        Some(_) => format!("{} {currency}", num(v, 0)).trim_end().to_string(),
        None => "—".to_string(),
    }
}

fn benchmark_section(b: &Value, currency: &str) -> Markup {
    html! {
        section.page {
            h2 { "Benchmark" }
            @for u in list(b, "/units") {
                h3 { (s(u, "/name")) " (" (s(u, "/equipment_id")) ")" }
                @let c = &u["comparison"];
                @if c.is_object() {
                    table {
                        tr { th { "Entry" } td { (s(c, "/entry/id")) " — " (s(c, "/entry/metric")) ", basis "
                            (s(c, "/entry/basis")) } }
                        tr { th { "Efficiency (direct, HHV)" } td { (num(f(c, "/efficiency_percent_hhv"), 2)) " %" } }
                        tr { th { "Percentile rank" } td { (num(f(c, "/percentile_rank"), 1)) } }
                        tr { th { "Percentiles 10/25/50/75/90 (HHV)" } td {
                            @for (i, p) in list(c, "/percentiles_hhv").iter().enumerate() {
                                @if i > 0 { " / " } (num(p.as_f64(), 2))
                            } " %" } }
                        tr { th { "Gap to median" } td { (num(f(c, "/gap_to_median/points"), 2)) " points; "
                            (num(f(c, "/gap_to_median/energy_gj_per_year"), 0)) " GJ/year; "
                            (money(f(c, "/gap_to_median/cost_per_year"), currency)) "/year; "
                            (num(f(c, "/gap_to_median/co2_kg_per_year").map(|x| x / 1e3), 1)) " t CO2/year" } }
                        tr { th { "Gap to best practice" } td { (num(f(c, "/gap_to_best_practice/points"), 2)) " points; "
                            (num(f(c, "/gap_to_best_practice/energy_gj_per_year"), 0)) " GJ/year; "
                            (money(f(c, "/gap_to_best_practice/cost_per_year"), currency)) "/year; "
                            (num(f(c, "/gap_to_best_practice/co2_kg_per_year").map(|x| x / 1e3), 1)) " t CO2/year" } }
                    }
                    ul.muted {
                        @for src in list(c, "/sources") { li { (s(src, "/citation")) " — " (s(src, "/locator")) } }
                        @for note in list(c, "/notes") { li { (note.as_str().unwrap_or_default()) } }
                    }
                } @else {
                    p { "No benchmark: " (s(u, "/reason")) }
                }
            }
            ul.muted { @for a in list(b, "/assumptions") { li { (a.as_str().unwrap_or_default()) } } }
        }
    }
}

fn recommendations_section(r: &Value, currency: &str) -> Markup {
    let ranking = list(r, "/ranking");
    html! {
        section.page {
            h2 { "Recommendations" }
            @if ranking.is_empty() {
                p { "No measure applies to the measured state of any unit." }
            } @else {
                table {
                    tr { th.n { "#" } th { "Unit" } th { "Measure" } th.n { "Fuel saved, GJ/year" }
                        th.n { "Cost saved/year" } th.n { "CO2 avoided, t/year" } }
                    @for item in ranking {
                        tr { td.n { (num(f(item, "/rank"), 0)) } td { (s(item, "/equipment_id")) }
                            td { (s(item, "/title")) }
                            td.n { (num(f(item, "/fuel_saved_gj_per_year"), 0)) }
                            td.n { (money(f(item, "/cost_saved_per_year"), currency)) }
                            td.n { (num(f(item, "/co2_avoided_kg_per_year").map(|x| x / 1e3), 1)) } }
                    }
                }
            }
            @for u in list(r, "/units") {
                h3 { (s(u, "/name")) " (" (s(u, "/equipment_id")) ")" }
                @if let Some(reason) = u.get("reason").and_then(Value::as_str) { p { "Not evaluated: " (reason) } }
                @for note in list(u, "/notes") { p.muted { (note.as_str().unwrap_or_default()) } }
                @for rec in list(u, "/recommendations") {
                    p { strong { (s(rec, "/title")) } ": efficiency (heat-loss, HHV) "
                        (num(f(rec, "/efficiency_percent_before/HHV"), 2)) " % → "
                        (num(f(rec, "/efficiency_percent_after/HHV"), 2)) " %, fuel saved "
                        (num(f(rec, "/fuel_saved_fraction").map(|x| 100.0 * x), 2)) " %." }
                    ul.muted { @for a in list(rec, "/assumptions") { li { (a.as_str().unwrap_or_default()) } } }
                }
            }
            ul.muted { @for a in list(r, "/assumptions") { li { (a.as_str().unwrap_or_default()) } } }
        }
    }
}

fn data_quality(doc: &Value) -> Markup {
    html! {
        section.page {
            h2 { "Data quality" }
            p { "Score " (num(f(doc, "/data_quality/score"), 4)) " (lowest unit score, 0–1); a required tag \
                must cover " (num(f(doc, "/data_quality/min_coverage").map(|x| 100.0 * x), 0)) " % of the period." }
            @let warnings = list(doc, "/data_quality/warnings");
            @if !warnings.is_empty() {
                ul { @for w in warnings { li { (s(w, "/equipment_id")) " " (s(w, "/tag")) " (" (s(w, "/code")) "): " (s(w, "/message")) } } }
            }
            @for unit in list(doc, "/equipment") {
                h3 { (s(unit, "/equipment_id")) ": score " (num(f(unit, "/data_quality/score"), 4)) }
                table {
                    tr { th { "Quantity" } th { "Tag" } th.n { "Mean" } th { "Unit" } th.n { "Coverage" }
                        th.n { "Readings used" } th.n { "Score" } }
                    @for t in list(unit, "/data_quality/tags") {
                        tr { td { (s(t, "/quantity")) } td { (s(t, "/tag")) } td.n { (num(f(t, "/mean"), 3)) }
                            td { (s(t, "/unit")) } td.n { (num(f(t, "/coverage").map(|x| 100.0 * x), 1)) " %" }
                            td.n { (num(f(t, "/used"), 0)) " / " (num(f(t, "/readings"), 0)) }
                            td.n { (num(f(t, "/score"), 4)) } }
                    }
                }
            }
        }
    }
}

fn inputs(doc: &Value) -> Markup {
    html! {
        section.page {
            h2 { "Inputs as aggregated" }
            p.muted { "Each unit's calculation document built from the period's aggregates, in the \
                tags' units, with the stated expanded uncertainties." }
            @for unit in list(doc, "/equipment") {
                h3 { (s(unit, "/equipment_id")) }
                (input_table(&unit["input"]))
            }
        }
    }
}

fn input_table(input: &Value) -> Markup {
    let mut rows = Vec::new();
    input_rows("", input, &mut rows);
    html! {
        table {
            tr { th { "Field" } th { "Value" } }
            @for (field, value) in &rows { tr { td { (field) } td { (value) } } }
        }
    }
}

fn provenance(doc: &Value) -> Markup {
    html! {
        section {
            h2 { "Provenance" }
            table.meta {
                tr { td { "Facility hash (SHA-256)" } td.hash { (s(doc, "/provenance/sha256")) } }
                tr { td { "Method version" } td { (s(doc, "/provenance/method_version")) } }
                tr { td { "Service version" } td { (s(doc, "/provenance/service_version")) } }
                @for u in list(doc, "/provenance/units") {
                    tr { td { "Unit " (s(u, "/equipment_id")) } td.hash { (s(u, "/sha256")) } }
                }
            }
            p.muted { "The same readings, spec and period give the same hash and the same numbers, \
                bit for bit (docs/FACILITIES.md, Provenance)." }
        }
    }
}
