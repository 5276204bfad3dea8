//! A stacked-bar chart over time: one bar per item spanning its own time interval, one
//! segment per category stacked from zero (positive values up, negative values down).
//! Category `k` is filled with a pattern of palette colour `k` and its own texture (solid,
//! hatches, lines, dots, cross, checks), so segments differ without colour; every segment has
//! a `<title>` with its category and value. A bar with a link is wrapped in `<a href>` and
//! its group carries `data-calculation-id`.

use std::fmt::Write;

use super::ticks::{nice_ticks, time_ticks};
use super::{
    BOTTOM, ChartError, Frame, INK, LegendItem, PAD, PALETTE, PointLink, RIGHT, TIME_LABEL_PX,
    canvas, check_range, colour, escape, left_margin, legend_height, num, open_svg, write_axes,
    write_legend,
};

/// Texture drawn over the colour of category `k` in its 6 × 6 px pattern tile.
const TEXTURES: [&str; 8] = [
    "",
    "<path d=\"M-1 1L1 -1M0 6L6 0M5 7L7 5\" stroke-width=\"1.5\"/>",
    "<path d=\"M-1 5L1 7M0 0L6 6M5 -1L7 1\" stroke-width=\"1.5\"/>",
    "<path d=\"M0 3H6\" stroke-width=\"1.5\"/>",
    "<path d=\"M3 0V6\" stroke-width=\"1.5\"/>",
    "<circle cx=\"3\" cy=\"3\" r=\"1.3\" stroke=\"none\"/>",
    "<path d=\"M0 3H6M3 0V6\"/>",
    "<path d=\"M0 0H3V3H0ZM3 3H6V6H3Z\" stroke=\"none\"/>",
];
/// Texture ink per palette colour: white on the dark colours, dark on the light ones.
const TEXTURE_INK: [&str; 8] = [
    "#ffffff", "#ffffff", "#ffffff", INK, INK, INK, "#ffffff", INK,
];
/// The thin white edge between stacked segments, set once on each bar's group.
const SEGMENT_EDGE: &str = " stroke=\"#ffffff\" stroke-width=\"0.5\"";
/// Widest bar, px.
const MAX_BAR: f64 = 48.0;
/// Narrowest bar, px.
const MIN_BAR: f64 = 2.0;
/// Share of its interval's width a bar fills.
const BAR_FILL: f64 = 0.8;
/// Smallest plot height, px.
const MIN_PLOT: f64 = 80.0;

/// One bar: an interval of time and one value per category.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedBar {
    /// Start of the interval, Unix seconds.
    pub start: i64,
    /// End of the interval, Unix seconds.
    pub end: i64,
    /// One value per category, in the chart's unit.
    pub values: Vec<f64>,
    /// Tooltip text of the whole bar.
    pub label: String,
    /// Where the bar links to.
    pub link: Option<PointLink>,
}

/// A stacked-bar chart over a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedBarChart {
    /// `id` of the `<svg>` element (also prefixes its title, description and pattern ids).
    pub id: String,
    /// Accessible name (`<title>`).
    pub title: String,
    /// Accessible description (`<desc>`).
    pub description: String,
    /// Label of the value axis, with its unit.
    pub y_label: String,
    /// Unit written after each segment's value in its tooltip (e.g. `%`).
    pub unit: String,
    /// Start of the time axis, Unix seconds.
    pub start: i64,
    /// End of the time axis, Unix seconds.
    pub end: i64,
    /// Category names, in stacking order from zero outwards.
    pub categories: Vec<String>,
    /// The bars.
    pub bars: Vec<StackedBar>,
    /// Canvas width, px.
    pub width: f64,
    /// Canvas height, px (grows if the legend needs it).
    pub height: f64,
}

/// Sums of the positive and of the negative values of a bar.
fn stack_sums(values: &[f64]) -> (f64, f64) {
    values.iter().fold(
        (0.0, 0.0),
        |(p, n), &v| {
            if v >= 0.0 { (p + v, n) } else { (p, n + v) }
        },
    )
}

impl StackedBarChart {
    /// Checks shapes, finiteness and ranges; returns the stacked extent, zero included.
    fn extent(&self) -> Result<(f64, f64), ChartError> {
        if self.bars.is_empty() || self.categories.is_empty() {
            return Err(ChartError::NoData);
        }
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for (index, bar) in self.bars.iter().enumerate() {
            if bar.values.len() != self.categories.len() {
                return Err(ChartError::BarShape {
                    index,
                    values: bar.values.len(),
                    categories: self.categories.len(),
                });
            }
            if let Some(k) = bar.values.iter().position(|v| !v.is_finite()) {
                return Err(ChartError::NonFinite {
                    series: self.categories[k].clone(),
                    index,
                });
            }
            if bar.start >= bar.end || bar.start < self.start || bar.end > self.end {
                return Err(ChartError::OutsideTimeRange {
                    series: "bars".to_string(),
                    index,
                });
            }
            let (p, n) = stack_sums(&bar.values);
            hi = hi.max(p);
            lo = lo.min(n);
        }
        Ok((lo, hi))
    }

    /// The chart as an inline `<svg>` element.
    pub fn render(&self) -> Result<String, ChartError> {
        check_range(self.start, self.end)?;
        let (lo, hi) = self.extent()?;
        let (width, height) = canvas(self.width, self.height);
        let y_ticks = nice_ticks(lo, hi, 5);
        let id = escape(&self.id);
        let legend: Vec<LegendItem> = self
            .categories
            .iter()
            .enumerate()
            .map(|(k, name)| LegendItem {
                name: name.clone(),
                swatch: format!(
                    "<rect x=\"0\" y=\"0\" width=\"24\" height=\"12\" fill=\"url(#{id}-p{k})\" stroke=\"{INK}\" stroke-width=\"0.5\"/>"
                ),
            })
            .collect();

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

        let mut svg = String::with_capacity(4096 + 300 * self.bars.len() * self.categories.len());
        open_svg(
            &mut svg,
            &self.id,
            &self.title,
            &self.description,
            width,
            height,
        );
        svg.push_str("<defs>\n");
        for k in 0..self.categories.len() {
            let _ = writeln!(
                svg,
                "<pattern id=\"{id}-p{k}\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">\
                 <rect width=\"6\" height=\"6\" fill=\"{}\"/><g stroke=\"{ink}\" fill=\"{ink}\">{}</g></pattern>",
                colour(k),
                // Shifting the texture each round of the palette keeps every (colour, texture)
                // pair distinct up to 64 categories.
                TEXTURES[(k + k / PALETTE.len()) % TEXTURES.len()],
                ink = TEXTURE_INK[k % TEXTURE_INK.len()],
            );
        }
        svg.push_str("</defs>\n");
        write_legend(&mut svg, &legend, left, PAD, plot_w);
        write_axes(&mut svg, &frame, &y_ticks, &time, &self.y_label);
        if frame.y_min < 0.0 {
            let y = num(frame.y(0.0));
            let _ = writeln!(
                svg,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{INK}\"/>",
                num(frame.left),
                num(frame.left + frame.width),
            );
        }
        for bar in &self.bars {
            self.write_bar(&mut svg, &frame, bar);
        }
        svg.push_str("</svg>\n");
        Ok(svg)
    }

    /// One bar's segments, in a group that links to the bar's page when it has a link.
    fn write_bar(&self, svg: &mut String, f: &Frame, bar: &StackedBar) {
        let (x0, x1) = (f.x(bar.start), f.x(bar.end));
        let w = ((x1 - x0) * BAR_FILL).clamp(MIN_BAR, MAX_BAR);
        let x = 0.5 * (x0 + x1 - w);
        let (open, close) = match &bar.link {
            Some(link) => (
                format!(
                    "<a href=\"{}\"><g class=\"bar\" data-calculation-id=\"{}\"{SEGMENT_EDGE}>",
                    escape(&link.href),
                    escape(&link.id)
                ),
                "</g></a>",
            ),
            None => (format!("<g class=\"bar\"{SEGMENT_EDGE}>"), "</g>"),
        };
        let _ = writeln!(svg, "{open}<title>{}</title>", escape(&bar.label));
        let (mut up, mut down) = (0.0, 0.0);
        for (k, (&v, name)) in bar.values.iter().zip(&self.categories).enumerate() {
            if v == 0.0 {
                continue;
            }
            let (from, to) = if v > 0.0 {
                up += v;
                (up - v, up)
            } else {
                down += v;
                (down - v, down)
            };
            let (y_top, y_bottom) = (f.y(from.max(to)), f.y(from.min(to)));
            let _ = writeln!(
                svg,
                "<rect data-category=\"{k}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#{}-p{k})\"><title>{}: {v:.2} {}</title></rect>",
                num(x),
                num(y_top),
                num(w),
                num(y_bottom - y_top),
                escape(&self.id),
                escape(name),
                escape(&self.unit),
            );
        }
        let _ = writeln!(svg, "{close}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_keep_distinct_colour_and_texture_pairs() {
        let pairs: std::collections::HashSet<(&str, usize)> = (0..64)
            .map(|k| (colour(k), (k + k / PALETTE.len()) % TEXTURES.len()))
            .collect();
        assert_eq!(pairs.len(), 64);
    }
}
