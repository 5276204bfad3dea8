//! Accessible SVG charts over time for the web pages: a line chart with an uncertainty band
//! ([`trend`]) and a stacked-bar chart ([`bars`]).
//!
//! Each chart is an `<svg role="img">` fragment meant to be inlined in HTML, labelled by its
//! `<title>` and `<desc>`, with axes on "nice" ticks ([`ticks`]), a legend, and series that
//! differ by dash pattern, marker shape or fill pattern as well as by colour (Okabe–Ito
//! palette), so the chart reads without colour vision. Every text and attribute is
//! XML-escaped. Time is Unix seconds, shown in UTC. Pure and deterministic: the same input
//! gives the same bytes (numbers are printed with two decimals).

pub mod bars;
pub mod ticks;
pub mod trend;

use std::fmt::Write;

use thiserror::Error;

pub use bars::{StackedBar, StackedBarChart};
pub use trend::{LinePoint, LineSeries, TrendChart};

/// Why a chart cannot be drawn.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChartError {
    /// The time axis ends at or before its start.
    #[error("the chart's time range is empty: end {end} is not after start {start}")]
    EmptyTimeRange {
        /// Start, Unix seconds.
        start: i64,
        /// End, Unix seconds.
        end: i64,
    },
    /// There is nothing to plot.
    #[error("the chart has no data")]
    NoData,
    /// A value is NaN or infinite.
    #[error("value {index} of series `{series}` is not a finite number")]
    NonFinite {
        /// The series (or bar category) name.
        series: String,
        /// Index of the point (or bar) in its series.
        index: usize,
    },
    /// A point or bar lies outside the chart's time range.
    #[error("item {index} of series `{series}` lies outside the chart's time range")]
    OutsideTimeRange {
        /// The series name (or "bars").
        series: String,
        /// Index of the point (or bar).
        index: usize,
    },
    /// A time lies outside the calendar range that can be labelled.
    #[error("time {0} s is outside the supported calendar range")]
    TimeOutOfRange(i64),
    /// A bar's values do not match the categories.
    #[error("bar {index} has {values} values for {categories} categories")]
    BarShape {
        /// Index of the bar.
        index: usize,
        /// Number of values it carries.
        values: usize,
        /// Number of categories of the chart.
        categories: usize,
    },
}

/// Where a point or bar links to, and the id it carries as `data-calculation-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointLink {
    /// Calculation id, written to `data-calculation-id`.
    pub id: String,
    /// Link target (a relative URL).
    pub href: String,
}

/// Okabe–Ito colours, distinguishable under the common colour-vision deficiencies.
const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#e69f00", "#56b4e9", "#cc79a7", "#000000", "#f0e442",
];

/// Label font size, px.
const FONT: f64 = 12.0;
/// Conservative advance width of one character, px (0.6 em), as in the Sankey renderer.
const CHAR: f64 = 0.6 * FONT;
/// Line pitch of labels, px.
const LINE: f64 = 15.0;
/// Outer padding, px.
const PAD: f64 = 8.0;
/// Length of a tick mark, px.
const TICK: f64 = 5.0;
/// Narrowest supported canvas, px.
const MIN_WIDTH: f64 = 320.0;
/// Lowest supported canvas, px.
const MIN_HEIGHT: f64 = 200.0;
/// Horizontal space a time tick label needs, px.
const TIME_LABEL_PX: f64 = 96.0;
/// Text colour.
const INK: &str = "#212529";
/// Grid-line colour.
const GRID: &str = "#dee2e6";

/// Colour of series or category `k`.
fn colour(k: usize) -> &'static str {
    PALETTE[k % PALETTE.len()]
}

/// A coordinate with two decimals, never "-0.00" (charts and the Sankey diagram).
pub(crate) fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    if s == "-0.00" { "0.00".to_string() } else { s }
}

/// `text` with the five XML special characters escaped, for element text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Canvas size, clamped to what the layout supports.
fn canvas(width: f64, height: f64) -> (f64, f64) {
    let w = if width.is_finite() {
        width.max(MIN_WIDTH)
    } else {
        MIN_WIDTH
    };
    let h = if height.is_finite() {
        height.max(MIN_HEIGHT)
    } else {
        MIN_HEIGHT
    };
    (w, h)
}

/// The plot area and the value scales of a chart over time.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    start: i64,
    end: i64,
    y_min: f64,
    y_max: f64,
}

impl Frame {
    /// Horizontal position of time `t`.
    fn x(&self, t: i64) -> f64 {
        self.left + (t - self.start) as f64 / (self.end - self.start) as f64 * self.width
    }

    /// Vertical position of value `v`.
    fn y(&self, v: f64) -> f64 {
        self.top + (self.y_max - v) / (self.y_max - self.y_min) * self.height
    }
}

/// One legend entry: its name and the SVG of its 24 × 12 px swatch drawn at the origin.
struct LegendItem {
    name: String,
    swatch: String,
}

/// Width of a legend entry, px.
fn legend_item_width(item: &LegendItem) -> f64 {
    24.0 + 6.0 + item.name.chars().count() as f64 * CHAR + 18.0
}

/// Legend rows that fit `width`, as entry indices.
fn legend_rows(items: &[LegendItem], width: f64) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = f64::INFINITY;
    for (k, item) in items.iter().enumerate() {
        let w = legend_item_width(item);
        if used + w > width {
            rows.push(Vec::new());
            used = 0.0;
        }
        if let Some(row) = rows.last_mut() {
            row.push(k);
        }
        used += w;
    }
    rows
}

/// Writes the legend at (`x`, `y`) and returns its height.
fn write_legend(svg: &mut String, items: &[LegendItem], x: f64, y: f64, width: f64) -> f64 {
    let rows = legend_rows(items, width);
    svg.push_str("<g class=\"legend\">\n");
    for (r, row) in rows.iter().enumerate() {
        let mut cx = x;
        let cy = y + r as f64 * (LINE + 4.0);
        for &k in row {
            let item = &items[k];
            let _ = writeln!(
                svg,
                "<g transform=\"translate({} {})\">{}<text x=\"30\" y=\"10\" fill=\"{INK}\">{}</text></g>",
                num(cx),
                num(cy),
                item.swatch,
                escape(&item.name),
            );
            cx += legend_item_width(item);
        }
    }
    svg.push_str("</g>\n");
    rows.len() as f64 * (LINE + 4.0)
}

/// Height the legend will take at `width`.
fn legend_height(items: &[LegendItem], width: f64) -> f64 {
    legend_rows(items, width).len() as f64 * (LINE + 4.0)
}

/// Opens the `<svg>` element with its accessible name and description.
fn open_svg(svg: &mut String, id: &str, title: &str, description: &str, w: f64, h: f64) {
    let id = escape(id);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"{font}\">\n\
         <title id=\"{id}-title\">{title}</title>\n<desc id=\"{id}-desc\">{desc}</desc>\n",
        w = num(w),
        h = num(h),
        font = num(FONT),
        title = escape(title),
        desc = escape(description),
    );
}

/// Left margin that fits the y tick labels and the rotated axis label.
fn left_margin(labels: &[String]) -> f64 {
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
    PAD + LINE + 4.0 + widest * CHAR + TICK + 4.0
}

/// Space right of the plot: half of a centred date label (10 characters) under the last tick.
const RIGHT: f64 = 5.0 * CHAR + PAD;

/// Space below the plot: two lines of time labels and the axis label.
const BOTTOM: f64 = TICK + 3.0 * LINE + PAD + 4.0;

/// Writes the y grid, ticks and labels, the x ticks and labels, both axis lines and labels.
fn write_axes(
    svg: &mut String,
    f: &Frame,
    y_ticks: &ticks::Ticks,
    time: &[ticks::TimeTick],
    y_label: &str,
) {
    let right = f.left + f.width;
    let bottom = f.top + f.height;
    let _ = writeln!(
        svg,
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
        num(f.left),
        num(f.top),
        num(f.width),
        num(f.height),
    );
    let _ = writeln!(svg, "<g class=\"y-axis\" fill=\"{INK}\">");
    for (k, v) in y_ticks.values().iter().enumerate() {
        let y = f.y(*v);
        let _ = writeln!(
            svg,
            "<line x1=\"{l}\" y1=\"{y}\" x2=\"{r}\" y2=\"{y}\" stroke=\"{GRID}\"/>\
             <line x1=\"{t}\" y1=\"{y}\" x2=\"{l}\" y2=\"{y}\" stroke=\"{INK}\"/>\
             <text class=\"y-tick\" x=\"{tx}\" y=\"{y}\" dy=\"0.35em\" text-anchor=\"end\">{label}</text>",
            l = num(f.left),
            r = num(right),
            t = num(f.left - TICK),
            tx = num(f.left - TICK - 3.0),
            y = num(y),
            label = escape(&y_ticks.labels()[k]),
        );
    }
    let cy = f.top + 0.5 * f.height;
    let _ = writeln!(
        svg,
        "<text x=\"{x}\" y=\"{y}\" transform=\"rotate(-90 {x} {y})\" text-anchor=\"middle\">{}</text>\n</g>",
        escape(y_label),
        x = num(PAD + FONT),
        y = num(cy),
    );
    let _ = writeln!(svg, "<g class=\"x-axis\" fill=\"{INK}\">");
    for tick in time {
        let x = f.x(tick.time);
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"{b}\" x2=\"{x}\" y2=\"{bt}\" stroke=\"{INK}\"/>\
             <text class=\"x-tick\" x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{}",
            escape(&tick.label),
            x = num(x),
            b = num(bottom),
            bt = num(bottom + TICK),
            ty = num(bottom + TICK + FONT),
        );
        if let Some(date) = &tick.date {
            let _ = write!(
                svg,
                "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                num(x),
                num(LINE),
                escape(date)
            );
        }
        svg.push_str("</text>\n");
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">Time (UTC)</text>\n</g>",
        num(f.left + 0.5 * f.width),
        num(bottom + TICK + 2.0 * LINE + FONT),
    );
    let _ = writeln!(
        svg,
        "<path d=\"M{l} {t}V{b}H{r}\" fill=\"none\" stroke=\"{INK}\"/>",
        l = num(f.left),
        t = num(f.top),
        b = num(bottom),
        r = num(right),
    );
}

/// Checks that the time range is not empty.
fn check_range(start: i64, end: i64) -> Result<(), ChartError> {
    if end <= start {
        Err(ChartError::EmptyTimeRange { start, end })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_all_five_characters() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"
        );
    }

    #[test]
    fn frame_maps_the_domain_corners_to_the_plot_corners() {
        let f = Frame {
            left: 50.0,
            top: 20.0,
            width: 600.0,
            height: 200.0,
            start: 1000,
            end: 4600,
            y_min: 80.0,
            y_max: 90.0,
        };
        assert_eq!(f.x(1000), 50.0);
        assert_eq!(f.x(4600), 650.0);
        assert_eq!(f.x(2800), 350.0);
        assert_eq!(f.y(90.0), 20.0);
        assert_eq!(f.y(80.0), 220.0);
        assert_eq!(f.y(85.0), 120.0);
    }

    #[test]
    fn legend_wraps_to_the_width() {
        let item = |n: &str| LegendItem {
            name: n.to_string(),
            swatch: String::new(),
        };
        let items = vec![item("aaaaaaaaaa"), item("bbbbbbbbbb"), item("cccccccccc")];
        // Each entry: 24 + 6 + 10 × 7.2 + 18 = 120 px.
        assert_eq!(legend_rows(&items, 250.0), vec![vec![0, 1], vec![2]]);
        assert_eq!(legend_rows(&items, 360.0), vec![vec![0, 1, 2]]);
        assert_eq!(legend_rows(&items, 100.0), vec![vec![0], vec![1], vec![2]]);
    }
}
