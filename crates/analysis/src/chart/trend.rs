//! A line chart over time with optional uncertainty bands: series `k` is drawn in palette
//! colour `k` with its own dash pattern and marker shape (circle, square, diamond, triangle);
//! a band is a translucent area between the points' bounds, edged by dashed lines, with its
//! own legend entry. A point with a link is wrapped in `<a href>` and its marker carries
//! `data-calculation-id`.

use std::fmt::Write;

use super::ticks::{nice_ticks, time_ticks};
use super::{
    BOTTOM, ChartError, Frame, LegendItem, PAD, PointLink, RIGHT, TIME_LABEL_PX, canvas,
    check_range, colour, escape, left_margin, legend_height, num, open_svg, write_axes,
    write_legend,
};

/// Dash patterns of the series lines, by series index.
const DASHES: [&str; 4] = ["", "8 4", "2 3", "10 3 2 3"];
/// Dash pattern of the band edges.
const BAND_DASH: &str = "3 3";
/// Marker half-size, px.
const MARK: f64 = 4.0;
/// Smallest plot height, px.
const MIN_PLOT: f64 = 80.0;

/// One point of a line series.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePoint {
    /// Unix seconds, within the chart's range.
    pub time: i64,
    /// The value.
    pub value: f64,
    /// Lower and upper bound of the band at this point, if any.
    pub bounds: Option<(f64, f64)>,
    /// Tooltip text (the marker's `<title>`).
    pub label: String,
    /// Where the point links to.
    pub link: Option<PointLink>,
}

/// A line series.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// Legend name.
    pub name: String,
    /// Legend name of the band drawn from the points' bounds; `None` draws no band.
    pub band: Option<String>,
    /// The points, in any order (drawn in time order).
    pub points: Vec<LinePoint>,
}

/// A line chart over a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendChart {
    /// `id` of the `<svg>` element (also prefixes the ids of its title and description).
    pub id: String,
    /// Accessible name (`<title>`).
    pub title: String,
    /// Accessible description (`<desc>`).
    pub description: String,
    /// Label of the value axis, with its unit.
    pub y_label: String,
    /// Start of the time axis, Unix seconds.
    pub start: i64,
    /// End of the time axis, Unix seconds.
    pub end: i64,
    /// The series, drawn in order.
    pub series: Vec<LineSeries>,
    /// Canvas width, px.
    pub width: f64,
    /// Canvas height, px (grows if the legend needs it).
    pub height: f64,
}

/// The marker of series `k` centred at (`x`, `y`), with extra attributes and a tooltip.
fn marker(k: usize, x: f64, y: f64, fill: &str, attrs: &str, title: &str) -> String {
    let style = format!("fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"1\"{attrs}");
    let title = format!("<title>{}</title>", escape(title));
    // Shifting the shape each round of the dash patterns keeps every (dash, shape) pair
    // distinct up to 16 series.
    match (k + k / DASHES.len()) % 4 {
        0 => format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {style}>{title}</circle>",
            num(x),
            num(y),
            num(MARK)
        ),
        1 => format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}>{title}</rect>",
            num(x - MARK),
            num(y - MARK),
            num(2.0 * MARK),
            num(2.0 * MARK)
        ),
        2 => format!(
            "<path d=\"M{} {}L{} {}L{} {}L{} {}Z\" {style}>{title}</path>",
            num(x),
            num(y - 1.25 * MARK),
            num(x + 1.25 * MARK),
            num(y),
            num(x),
            num(y + 1.25 * MARK),
            num(x - 1.25 * MARK),
            num(y)
        ),
        _ => format!(
            "<path d=\"M{} {}L{} {}L{} {}Z\" {style}>{title}</path>",
            num(x),
            num(y - 1.25 * MARK),
            num(x + 1.25 * MARK),
            num(y + MARK),
            num(x - 1.25 * MARK),
            num(y + MARK)
        ),
    }
}

/// `stroke-dasharray` attribute of series `k`, empty for the solid line.
fn dash(k: usize) -> String {
    let d = DASHES[k % DASHES.len()];
    if d.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{d}\"")
    }
}

/// Checks that every value and bound is finite, every point inside the range, and that
/// there is at least one point; returns the value extent.
fn extent(chart: &TrendChart) -> Result<(f64, f64), ChartError> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in &chart.series {
        for (index, p) in s.points.iter().enumerate() {
            let bounds = p.bounds.map_or([p.value; 2], |(a, b)| [a, b]);
            if !p.value.is_finite() || bounds.iter().any(|b| !b.is_finite()) {
                return Err(ChartError::NonFinite {
                    series: s.name.clone(),
                    index,
                });
            }
            if p.time < chart.start || p.time > chart.end {
                return Err(ChartError::OutsideTimeRange {
                    series: s.name.clone(),
                    index,
                });
            }
            for v in [p.value, bounds[0], bounds[1]] {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if lo > hi {
        return Err(ChartError::NoData);
    }
    Ok((lo, hi))
}

impl TrendChart {
    /// The chart as an inline `<svg>` element.
    pub fn render(&self) -> Result<String, ChartError> {
        check_range(self.start, self.end)?;
        let (lo, hi) = extent(self)?;
        let (width, height) = canvas(self.width, self.height);
        let y_ticks = nice_ticks(lo, hi, 5);

        let mut legend = Vec::new();
        for (k, s) in self.series.iter().enumerate() {
            let c = colour(k);
            legend.push(LegendItem {
                name: s.name.clone(),
                swatch: format!(
                    "<line x1=\"0\" y1=\"6\" x2=\"24\" y2=\"6\" stroke=\"{c}\" stroke-width=\"2\"{}/>{}",
                    dash(k),
                    marker(k, 12.0, 6.0, c, "", &s.name)
                ),
            });
            if let Some(band) = &s.band {
                legend.push(LegendItem {
                    name: band.clone(),
                    swatch: format!(
                        "<rect x=\"0\" y=\"1\" width=\"24\" height=\"10\" fill=\"{c}\" fill-opacity=\"0.2\"/>\
                         <path d=\"M0 1H24M0 11H24\" stroke=\"{c}\" stroke-dasharray=\"{BAND_DASH}\"/>"
                    ),
                });
            }
        }

        let left = left_margin(y_ticks.labels());
        let plot_w = width - left - RIGHT;
        let top = PAD + legend_height(&legend, plot_w) + PAD;
        let plot_h = (height - top - BOTTOM).max(MIN_PLOT);
        let height = top + plot_h + BOTTOM;
        let frame = Frame {
            left,
            top,
            width: plot_w,
            height: plot_h,
            start: self.start,
            end: self.end,
            y_min: y_ticks.min(),
            y_max: y_ticks.max(),
        };
        let time = time_ticks(
            self.start,
            self.end,
            (plot_w / TIME_LABEL_PX).floor() as usize,
        )?;

        let points: usize = self.series.iter().map(|s| s.points.len()).sum();
        let mut svg = String::with_capacity(4096 + 400 * points);
        open_svg(
            &mut svg,
            &self.id,
            &self.title,
            &self.description,
            width,
            height,
        );
        write_legend(&mut svg, &legend, left, PAD, plot_w);
        write_axes(&mut svg, &frame, &y_ticks, &time, &self.y_label);
        for (k, s) in self.series.iter().enumerate() {
            let mut sorted: Vec<&LinePoint> = s.points.iter().collect();
            sorted.sort_by_key(|p| p.time);
            if s.band.is_some() {
                write_band(&mut svg, &frame, &sorted, colour(k));
            }
        }
        for (k, s) in self.series.iter().enumerate() {
            let mut sorted: Vec<&LinePoint> = s.points.iter().collect();
            sorted.sort_by_key(|p| p.time);
            write_series(&mut svg, &frame, &sorted, k);
        }
        svg.push_str("</svg>\n");
        Ok(svg)
    }
}

/// The band of one series: an area with dashed edges for each run of consecutive points that
/// have bounds, and an error bar for a run of one.
fn write_band(svg: &mut String, f: &Frame, points: &[&LinePoint], c: &str) {
    let _ = writeln!(svg, "<g class=\"band\">");
    for run in points.split(|p| p.bounds.is_none()) {
        let b: Vec<(f64, f64, f64)> = run
            .iter()
            .filter_map(|p| p.bounds.map(|(l, u)| (f.x(p.time), f.y(l), f.y(u))))
            .collect();
        match b.as_slice() {
            [] => {}
            [(x, yl, yu)] => {
                let _ = writeln!(
                    svg,
                    "<path d=\"M{a} {yu}H{z}M{x} {yu}V{yl}M{a} {yl}H{z}\" stroke=\"{c}\" stroke-dasharray=\"{BAND_DASH}\"/>",
                    a = num(x - MARK),
                    z = num(x + MARK),
                    x = num(*x),
                    yu = num(*yu),
                    yl = num(*yl),
                );
            }
            _ => {
                let upper: Vec<String> = b
                    .iter()
                    .map(|(x, _, yu)| format!("{},{}", num(*x), num(*yu)))
                    .collect();
                let lower: Vec<String> = b
                    .iter()
                    .rev()
                    .map(|(x, yl, _)| format!("{},{}", num(*x), num(*yl)))
                    .collect();
                let _ = writeln!(
                    svg,
                    "<polygon points=\"{} {}\" fill=\"{c}\" fill-opacity=\"0.2\"/>\n\
                     <polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-dasharray=\"{BAND_DASH}\"/>\n\
                     <polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-dasharray=\"{BAND_DASH}\"/>",
                    upper.join(" "),
                    lower.join(" "),
                    upper.join(" "),
                    lower.join(" "),
                );
            }
        }
    }
    svg.push_str("</g>\n");
}

/// The line and markers of series `k`.
fn write_series(svg: &mut String, f: &Frame, points: &[&LinePoint], k: usize) {
    let c = colour(k);
    let _ = writeln!(svg, "<g class=\"series\" data-series=\"{k}\">");
    if points.len() > 1 {
        let line: Vec<String> = points
            .iter()
            .map(|p| format!("{},{}", num(f.x(p.time)), num(f.y(p.value))))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"{}/>",
            line.join(" "),
            dash(k),
        );
    }
    for p in points {
        let (x, y) = (f.x(p.time), f.y(p.value));
        match &p.link {
            Some(link) => {
                let attrs = format!(" data-calculation-id=\"{}\"", escape(&link.id));
                let _ = writeln!(
                    svg,
                    "<a href=\"{}\">{}</a>",
                    escape(&link.href),
                    marker(k, x, y, c, &attrs, &p.label)
                );
            }
            None => {
                let _ = writeln!(svg, "{}", marker(k, x, y, c, "", &p.label));
            }
        }
    }
    svg.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keep_distinct_dash_and_marker_pairs() {
        let shape = |k: usize| {
            let m = marker(k, 0.0, 0.0, "#000", "", "");
            m[..m.find(' ').unwrap()].to_string() + &m.matches('L').count().to_string()
        };
        let pairs: std::collections::HashSet<(String, String)> =
            (0..16).map(|k| (dash(k), shape(k))).collect();
        assert_eq!(pairs.len(), 16);
    }
}
