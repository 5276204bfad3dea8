//! The sections about the latest calculation (Sankey, benchmark, recommendations), from
//! `http::analysis`, and the facility's connectors, from the integration status.

use analysis::sankey::PowerUnits;
use maud::{Markup, PreEscaped, html};
use serde_json::Value;

use super::data::Point;
use super::period::format_human;
use super::trend::calculation_href;
use crate::connectors::{FacilityConnectors, PolledBy};
use crate::http::analysis::Analysed;
use crate::http::{ApiError, AppState};
use crate::web::layout::scroll;
use crate::web::units::{UnitSystem, fixed, percent};

/// How many recommendations the page lists.
const TOP_RECOMMENDATIONS: usize = 3;

/// What the latest calculation's analysis gave: the three answers, or why there are none.
pub struct Latest {
    /// The calculation.
    pub id: String,
    /// Its HHV Sankey as SVG in the page's units, or the API's reason.
    pub sankey: Result<String, ApiError>,
    /// The benchmark answer.
    pub benchmark: Option<Value>,
    /// The recommendations answer.
    pub recommendations: Option<Value>,
    /// Why the benchmark and recommendations are missing.
    pub error: Option<ApiError>,
}

impl Latest {
    /// Analyses the calculation of `point` as the API's analysis endpoints do, the Sankey
    /// labelled in `units`.
    pub async fn load(state: &AppState, point: &Point, units: UnitSystem) -> Self {
        match Analysed::load(state, &point.id).await {
            Ok(a) => Self {
                id: point.id.clone(),
                sankey: a.sankey_svg(units.into()),
                benchmark: Some(a.benchmark(None)),
                recommendations: Some(a.recommendations(None)),
                error: None,
            },
            Err(e) => Self {
                id: point.id.clone(),
                sankey: Err(e.clone()),
                benchmark: None,
                recommendations: None,
                error: Some(e),
            },
        }
    }
}

/// "No calculation in this period" in a section.
fn none_in_period(what: &str) -> Markup {
    html! { p.hint { "No calculation in this period, so no " (what) " to show." } }
}

/// The `#sankey` section; the caption names the units of `units` the labels are in.
pub fn sankey_section(latest: Option<&Latest>, point: Option<&Point>, units: UnitSystem) -> Markup {
    let (larger, smaller) = PowerUnits::from(units).symbols();
    html! {
        section #sankey aria-labelledby="sankey-heading" {
            h2 #sankey-heading { "Latest Sankey diagram (HHV)" }
            @match (latest, point) {
                (Some(l), Some(p)) => {
                    p { "Energy flows of the calculation for " (format_human(p.span.start_us)) " to "
                        (format_human(p.span.end_us)) ": "
                        a #sankey-link href=(calculation_href(&l.id)) { (l.id) } "." }
                    @match &l.sankey {
                        Ok(svg) => figure #sankey-figure .chart {
                            (PreEscaped(svg))
                            figcaption { "Sankey diagram, HHV energy basis; flows in " (smaller) " or " (larger) "." }
                        },
                        Err(e) => p.error role="alert" { (e.message) },
                    }
                }
                _ => (none_in_period("diagram")),
            }
        }
    }
}

/// A number from a JSON answer.
fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

/// A string from a JSON answer, empty when absent.
fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The `#benchmark` section: each unit's percentile rank and its peers' band.
pub fn benchmark_section(latest: Option<&Latest>) -> Markup {
    html! {
        section #benchmark aria-labelledby="benchmark-heading" {
            h2 #benchmark-heading { "Benchmark position" }
            @match latest.map(|l| (&l.benchmark, &l.error)) {
                Some((Some(b), _)) => {
                    (scroll("Benchmark per unit", html! {
                        table #benchmark-table {
                            caption { "Each unit of the latest calculation against its published peers (HHV)" }
                            thead { tr {
                                th scope="col" { "Unit" }
                                th scope="col" .n { "Efficiency" }
                                th scope="col" .n { "Percentile rank" }
                                th scope="col" .n { "Peer band (25th–75th)" }
                                th scope="col" .n { "Median" }
                                th scope="col" .n { "Best practice" }
                                th scope="col" .n { "Gap to median" }
                            } }
                            tbody {
                                @for u in b["units"].as_array().map(Vec::as_slice).unwrap_or_default() {
                                    @let c = &u["comparison"];
                                    tr data-equipment-id=(s(u, "/equipment_id")) {
                                        th scope="row" { (s(u, "/name")) " (" (s(u, "/equipment_id")) ")" }
                                        td.n { (percent(f(u, "/efficiency_percent_hhv"))) }
                                        @if c.is_null() {
                                            td colspan="5" { (s(u, "/reason")) }
                                        } @else {
                                            td.n { @match f(c, "/percentile_rank") { Some(r) => { (fixed(r, 0)) "th" }, None => "—" } }
                                            td.n { (percent(f(c, "/percentiles_hhv/1"))) " – " (percent(f(c, "/percentiles_hhv/3"))) }
                                            td.n { (percent(f(c, "/percentiles_hhv/2"))) }
                                            td.n { (percent(f(c, "/best_practice_hhv"))) }
                                            td.n { @match f(c, "/gap_to_median/points") { Some(g) => { (fixed(g, 2)) " pp" }, None => "—" } }
                                        }
                                    }
                                }
                            }
                        }
                    }))
                    p.hint { a href=(format!("{}#benchmark", calculation_href(s(b, "/calculation_id")))) {
                        "Percentiles, gaps in energy and cost, and sources" } }
                }
                Some((None, Some(e))) => p.error role="alert" { (e.message) },
                _ => (none_in_period("benchmark")),
            }
        }
    }
}

/// The `#recommendations` section: the first entries of the facility ranking, rendered as
/// on the calculation page.
pub fn recommendations_section(latest: Option<&Latest>, units: UnitSystem) -> Markup {
    html! {
        section #recommendations {
            @match latest.map(|l| (&l.recommendations, &l.error)) {
                Some((Some(r), _)) => {
                    (crate::web::sections::recommendations(r, units, Some(TOP_RECOMMENDATIONS)))
                    p.hint { a href=(format!("{}#recommendations", calculation_href(s(r, "/calculation_id")))) {
                        "Every measure of each unit, with its assumptions" } }
                }
                Some((None, Some(e))) => { h2 { "Recommendations" } p.error role="alert" { (e.message) } }
                _ => { h2 { "Recommendations" } (none_in_period("recommendation")) }
            }
        }
    }
}

/// The state of a source as text (never colour alone).
fn health_text(health: connectors::modbus::Health) -> &'static str {
    match health {
        connectors::modbus::Health::Up => "Up",
        connectors::modbus::Health::Down => "Down",
        connectors::modbus::Health::Unknown => "Not polled yet",
    }
}

/// The `#connectors` section: the facility's entry of the integration status.
pub fn connectors_section(status: Option<&FacilityConnectors>, configured: bool) -> Markup {
    html! {
        section #connectors aria-labelledby="connectors-heading" {
            h2 #connectors-heading { "Connectors" }
            @match status {
                None if configured => p #connectors-idle {
                    "The facility's spec configures connectors, but this process does not run them yet "
                    "(they start within a minute of the facility being applied)."
                },
                None => p #connectors-none { "No connectors configured." },
                Some(c) => {
                    p #connectors-state {
                        @if c.is_healthy() { "State: healthy. " } @else { "State: degraded. " }
                        @match c.polled_by {
                            PolledBy::ThisReplica => { "Polled by this process; " (c.buffered) " readings buffered, " (c.dropped) " dropped." },
                            PolledBy::AnotherReplica => "Polled by another replica, which reports their health.",
                            PolledBy::Nobody => { "Not polled: " (c.error.as_deref().unwrap_or("the sources could not be started")) },
                        }
                    }
                    @if !c.sources.is_empty() {
                        (scroll("Connector sources", html! {
                            table #connectors-table {
                                caption { "Each source of the facility" }
                                thead { tr {
                                    th scope="col" { "Source" }
                                    th scope="col" { "Type" }
                                    th scope="col" { "State" }
                                    th scope="col" { "Last success" }
                                    th scope="col" { "Last error" }
                                } }
                                tbody {
                                    @for src in &c.sources {
                                        tr {
                                            th scope="row" { (src.source) }
                                            td { (src.connector_type) }
                                            td { (health_text(src.health))
                                                @if src.circuit_open { " (circuit open)" }
                                                @if src.consecutive_failures > 0 { ", " (src.consecutive_failures) " failures in a row" } }
                                            td { @match src.last_success_us { Some(t) => (format_human(t)), None => "never" } }
                                            td { (src.last_error.as_deref().unwrap_or("—")) }
                                        }
                                    }
                                }
                            }
                        }))
                    }
                }
            }
        }
    }
}
