//! The `#trend` and `#losses` sections: the charts of `analysis::chart` over the period's
//! calculations, each followed by a table with the same numbers.

use analysis::chart::{
    ChartError, LinePoint, LineSeries, PointLink, StackedBar, StackedBarChart, TrendChart,
};
use analysis::sankey::loss_name;
use maud::{Markup, PreEscaped, html};
use thermo::results::LossKind;

use super::data::Point;
use super::period::{Resolution, Span, format_human, format_local};
use crate::web::layout::scroll;
use crate::web::units::{Kind, UnitSystem, fixed, percent, qty_opt};

/// Canvas width of the charts, px; they scale down with the page (CSS `max-width: 100%`).
const CHART_WIDTH: f64 = 880.0;
/// Canvas height of the charts, px.
const CHART_HEIGHT: f64 = 320.0;

/// The address of a calculation's page.
pub fn calculation_href(id: &str) -> String {
    format!("/calculations/{id}")
}

/// A period for people: `2025-11-01 13:00 UTC to 2025-11-01 14:00 UTC`.
fn period_text(span: Span) -> String {
    format!(
        "{} to {}",
        format_human(span.start_us),
        format_human(span.end_us)
    )
}

/// A period in a table cell: `2025-11-01 13:00–14:00` (`–24:00` when it ends at the next
/// midnight), or both dates when it spans days.
fn period_cell(span: Span) -> String {
    let (start, end) = (format_local(span.start_us), format_local(span.end_us));
    let midnight = span.end_us == Span::day_of(span.start_us).end_us;
    match (start.split_once('T'), end.split_once('T')) {
        (Some((d0, t0)), Some((d1, t1))) if d0 == d1 => format!("{d0} {t0}–{t1}"),
        (Some((d0, t0)), _) if midnight => format!("{d0} {t0}–24:00"),
        _ => format!("{} – {}", start.replace('T', " "), end.replace('T', " ")),
    }
}

/// Seconds of a µs time, for the chart's time axis.
fn seconds(us: i64) -> i64 {
    us.div_euclid(1_000_000)
}

/// The trend chart of `points` over `span`.
fn trend_chart(points: &[&Point], span: Span, facility: &str) -> TrendChart {
    let link = |p: &Point| PointLink {
        id: p.id.clone(),
        href: calculation_href(&p.id),
    };
    let mid = |p: &Point| seconds(p.span.start_us + p.span.duration_us() / 2);
    let hhv = points
        .iter()
        .map(|p| LinePoint {
            time: mid(p),
            value: p.hhv,
            bounds: p.u95_hhv.map(|u| (p.hhv - u, p.hhv + u)),
            label: match p.u95_hhv {
                Some(u) => format!(
                    "{}: HHV {} ± {} %",
                    period_text(p.span),
                    fixed(p.hhv, 2),
                    fixed(u, 2)
                ),
                None => format!("{}: HHV {} %", period_text(p.span), fixed(p.hhv, 2)),
            },
            link: Some(link(p)),
        })
        .collect();
    let lhv = points
        .iter()
        .filter_map(|p| {
            p.lhv.map(|v| LinePoint {
                time: mid(p),
                value: v,
                bounds: None,
                label: format!("{}: LHV {} %", period_text(p.span), fixed(v, 2)),
                link: None,
            })
        })
        .collect();
    TrendChart {
        id: "trend-chart".into(),
        title: format!("Efficiency of {facility}, {}", period_text(span)),
        description: format!(
            "Input–output efficiency of {} calculations: HHV as a solid line with circles and \
             its 95 % uncertainty band shaded between dashed bounds; LHV as a dashed line with \
             squares. The table below lists the same values.",
            points.len()
        ),
        y_label: "Efficiency, %".into(),
        start: seconds(span.start_us),
        end: seconds(span.end_us),
        series: vec![
            LineSeries {
                name: "HHV efficiency".into(),
                band: Some("HHV 95 % uncertainty band".into()),
                points: hhv,
            },
            LineSeries {
                name: "LHV efficiency".into(),
                band: None,
                points: lhv,
            },
        ],
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
    }
}

/// The `#trend` section.
pub fn trend_section(
    points: &[&Point],
    span: Span,
    resolution: Resolution,
    facility: &str,
    units: UnitSystem,
) -> Result<Markup, ChartError> {
    let svg = if points.is_empty() {
        None
    } else {
        Some(trend_chart(points, span, facility).render()?)
    };
    Ok(html! {
        section #trend aria-labelledby="trend-heading" {
            h2 #trend-heading { "Efficiency trend" }
            @match svg {
                None => p #trend-empty {
                    "No " (resolution.code()) " calculations are stored for " (period_text(span)) ". "
                    "Create them with the form under “Run a calculation” below: choose the period and "
                    "the “hourly” split (one calculation per hour) or “daily” (one per day), then "
                    "choose the matching resolution above."
                },
                Some(svg) => {
                    figure.chart { (PreEscaped(svg)) }
                    (scroll("Efficiency per calculation", html! {
                        table #trend-table {
                            caption { "Efficiency per calculation (input–output method), " (period_text(span)) }
                            thead { tr {
                                th scope="col" { "Period (UTC)" }
                                th scope="col" .n { "HHV efficiency" }
                                th scope="col" .n { "U95 (HHV)" }
                                th scope="col" .n { "LHV efficiency" }
                                th scope="col" .n { "Closure" }
                                th scope="col" .n { "Fuel input (HHV)" }
                            } }
                            tbody {
                                @for p in points {
                                    tr data-calculation-id=(p.id) {
                                        td { a href=(calculation_href(&p.id)) { (period_cell(p.span)) } }
                                        td.n { (percent(Some(p.hhv))) }
                                        td.n { @match p.u95_hhv { Some(u) => { "± " (fixed(u, 2)) " pp" }, None => "—" } }
                                        td.n { (percent(p.lhv)) }
                                        td.n { (percent(p.closure)) }
                                        td.n { (qty_opt(Kind::Power, p.fuel_input_w, units)) }
                                    }
                                }
                            }
                        }
                    }))
                }
            }
        }
    })
}

/// The loss kinds any of `points` has, in reporting order.
fn kinds(points: &[&Point]) -> Vec<LossKind> {
    LossKind::ALL
        .into_iter()
        .filter(|k| {
            points
                .iter()
                .any(|p| p.losses_w.iter().any(|(x, _)| x == k))
        })
        .collect()
}

/// Name of the unaccounted rest in the chart and table.
const UNACCOUNTED: &str = "Unaccounted (closure)";

/// The loss chart: one bar per calculation over its own period.
fn loss_chart(
    points: &[&Point],
    kinds: &[LossKind],
    span: Span,
    facility: &str,
) -> StackedBarChart {
    let mut categories: Vec<String> = kinds.iter().map(|k| loss_name(*k).to_string()).collect();
    categories.push(UNACCOUNTED.into());
    let bars = points
        .iter()
        .filter(|p| p.fuel_input_w.is_some_and(|f| f > 0.0))
        .map(|p| {
            let mut values: Vec<f64> = kinds
                .iter()
                .map(|k| p.percent_of_input(p.loss_w(*k)).unwrap_or(0.0))
                .collect();
            values.push(
                p.percent_of_input(p.unaccounted_w.unwrap_or(0.0))
                    .unwrap_or(0.0),
            );
            StackedBar {
                start: seconds(p.span.start_us),
                end: seconds(p.span.end_us),
                values,
                label: format!("Losses, {}", period_text(p.span)),
                link: Some(PointLink {
                    id: p.id.clone(),
                    href: calculation_href(&p.id),
                }),
            }
        })
        .collect();
    StackedBarChart {
        id: "loss-chart".into(),
        title: format!("Losses of {facility}, {}", period_text(span)),
        description: "Heat-loss method: each loss and the unaccounted rest in percent of the \
                      fuel input (HHV), stacked per calculation; a negative unaccounted rest is \
                      drawn below zero. Each kind has its own fill pattern; the table below \
                      lists the same values."
            .into(),
        y_label: "Loss, % of fuel input (HHV)".into(),
        unit: "%".into(),
        start: seconds(span.start_us),
        end: seconds(span.end_us),
        categories,
        bars,
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
    }
}

/// The `#losses` section; empty state when there is nothing to break down.
pub fn losses_section(
    points: &[&Point],
    span: Span,
    facility: &str,
    units: UnitSystem,
) -> Result<Markup, ChartError> {
    let kinds = kinds(points);
    let chart = loss_chart(points, &kinds, span, facility);
    let svg = if chart.bars.is_empty() {
        None
    } else {
        Some(chart.render()?)
    };
    Ok(html! {
        section #losses aria-labelledby="losses-heading" {
            h2 #losses-heading { "Loss breakdown over time" }
            @match svg {
                None => p #losses-empty { "No calculation in this period and resolution has a loss breakdown." },
                Some(svg) => {
                    figure.chart { (PreEscaped(svg)) }
                    (scroll("Losses per calculation", html! {
                        table #loss-table {
                            caption { "Losses per calculation, percent of the fuel input (HHV)" }
                            thead { tr {
                                th scope="col" { "Period (UTC)" }
                                @for k in &kinds { th scope="col" .n { (loss_name(*k)) } }
                                th scope="col" .n { (UNACCOUNTED) }
                                th scope="col" .n { "Total" }
                                th scope="col" .n { "Total heat lost" }
                            } }
                            tbody {
                                @for p in points {
                                    tr data-calculation-id=(p.id) {
                                        td { a href=(calculation_href(&p.id)) { (period_cell(p.span)) } }
                                        @for k in &kinds { td.n { (percent(p.percent_of_input(p.loss_w(*k)))) } }
                                        td.n { (percent(p.unaccounted_w.and_then(|w| p.percent_of_input(w)))) }
                                        td.n { (percent(p.percent_of_input(p.total_loss_w()))) }
                                        td.n { (qty_opt(Kind::Power, Some(p.total_loss_w()), units)) }
                                    }
                                }
                            }
                        }
                    }))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_cells_are_short() {
        // 2025-11-01T00:00:00Z.
        let day0 = 1_761_955_200_000_000;
        let hour = 3_600_000_000;
        let cell = |a: i64, b: i64| {
            period_cell(Span {
                start_us: day0 + a * hour,
                end_us: day0 + b * hour,
            })
        };
        assert_eq!(cell(13, 14), "2025-11-01 13:00–14:00");
        assert_eq!(cell(23, 24), "2025-11-01 23:00–24:00");
        assert_eq!(cell(0, 24), "2025-11-01 00:00–24:00");
        assert_eq!(cell(12, 36), "2025-11-01 12:00 – 2025-11-02 12:00");
    }
}
