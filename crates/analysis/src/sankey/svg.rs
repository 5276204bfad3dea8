//! SVG rendering of a [`SankeyModel`]: three columns (sources, units, sinks), bars and bands
//! whose heights are proportional to the flows, every node labelled with its name, value and
//! share of the input.
//!
//! The output is a self-contained document (no fonts, scripts, links or images; the generic
//! `sans-serif` family) and deterministic: the same model gives the same bytes, because the
//! layout is computed in a fixed order and every number is printed with two decimals. Text
//! extents are estimated conservatively at 0.6 em per character; labels are wrapped to the
//! width of their column and the canvas grows in height until every label fits.

use std::fmt::Write;

use super::{Column, SankeyModel};

/// Rendering options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvgOptions {
    /// Canvas width, px (readable from 800; narrower canvases wrap labels harder).
    pub width: f64,
}

impl Default for SvgOptions {
    fn default() -> Self {
        Self { width: 800.0 }
    }
}

/// Label font size, px.
const FONT: f64 = 12.0;
/// Title font size, px.
const TITLE_FONT: f64 = 14.0;
/// Line pitch of labels, px.
const LINE: f64 = 15.0;
/// Conservative advance width of one character, px (0.6 em).
const CHAR: f64 = 0.6 * FONT;
/// Canvas margin, px.
const MARGIN: f64 = 10.0;
/// Width of a node bar, px.
const BAR: f64 = 12.0;
/// Space between a bar and its label, px.
const LABEL_GAP: f64 = 6.0;
/// Vertical space between two nodes of a column, px.
const NODE_GAP: f64 = 8.0;
/// Height that the total flow occupies in each column, px.
const FLOW_HEIGHT: f64 = 360.0;
/// Narrowest supported canvas, px.
const MIN_WIDTH: f64 = 320.0;
/// Longest unit label line, characters.
const UNIT_LABEL_CHARS: usize = 24;

/// A number with two decimals, never "-0.00".
fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    if s == "-0.00" { "0.00".to_string() } else { s }
}

/// A power in MW (from 1 MW) or kW.
fn power(w: f64) -> String {
    if w.abs() >= 1e6 {
        format!("{:.2} MW", w / 1e6)
    } else {
        format!("{:.1} kW", w / 1e3)
    }
}

fn escape(text: &str) -> String {
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

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
fn wrap(text: &str, width: usize, lines: &mut Vec<String>) {
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if word.is_empty() {
            continue;
        }
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
}

/// The label lines "<name> <value> (<percent> %)", on one line when it fits, else the name
/// wrapped and the value on the last line.
fn label_lines(name: &str, value: f64, percent: f64, width: usize) -> Vec<String> {
    let figure = format!("{} ({:.1} %)", power(value), percent);
    let full = format!("{name} {figure}");
    let mut lines = Vec::new();
    if full.chars().count() <= width {
        lines.push(full);
    } else {
        wrap(name, width, &mut lines);
        wrap(&figure, width, &mut lines);
    }
    lines
}

/// Where one node is drawn.
struct Placed {
    bar_x: f64,
    bar_y: f64,
    bar_h: f64,
    slot_y: f64,
    slot_h: f64,
    lines: Vec<String>,
}

/// Renders the model as a standalone SVG document.
pub fn render_svg(model: &SankeyModel, options: &SvgOptions) -> String {
    let width = if options.width.is_finite() {
        options.width.max(MIN_WIDTH)
    } else {
        MIN_WIDTH
    };
    let side_chars = ((width * 0.24 / CHAR).floor() as usize).max(12);
    let side_px = side_chars as f64 * CHAR;
    let source_x = MARGIN + side_px + LABEL_GAP;
    let sink_x = width - MARGIN - side_px - LABEL_GAP - BAR;
    let unit_centre = 0.5 * (source_x + BAR + sink_x);
    let unit_chars = (((sink_x - source_x - BAR - 2.0 * LABEL_GAP) / CHAR).floor() as usize)
        .clamp(8, UNIT_LABEL_CHARS);

    let total: f64 = model
        .nodes
        .iter()
        .filter(|n| n.column == Column::Source)
        .map(|n| n.value)
        .sum();
    let scale = if total > 0.0 {
        FLOW_HEIGHT / total
    } else {
        0.0
    };
    let top = MARGIN + TITLE_FONT + 14.0;

    let mut placed: Vec<Placed> = model
        .nodes
        .iter()
        .map(|n| {
            let chars = if n.column == Column::Unit {
                unit_chars
            } else {
                side_chars
            };
            let lines = label_lines(&n.name, n.value, n.percent, chars);
            let bar_h = n.value * scale;
            let text_h = lines.len() as f64 * LINE;
            let bar_x = match n.column {
                Column::Source => source_x,
                Column::Unit => unit_centre - 0.5 * BAR,
                Column::Sink => sink_x,
            };
            Placed {
                bar_x,
                bar_y: 0.0,
                bar_h,
                slot_y: 0.0,
                slot_h: bar_h.max(text_h + 2.0),
                lines,
            }
        })
        .collect();
    let columns = [Column::Source, Column::Unit, Column::Sink];
    let extent = |c: Column, placed: &[Placed]| -> f64 {
        let members: Vec<&Placed> = model
            .nodes
            .iter()
            .zip(placed)
            .filter(|(n, _)| n.column == c)
            .map(|(_, p)| p)
            .collect();
        members.iter().map(|p| p.slot_h).sum::<f64>()
            + NODE_GAP * members.len().saturating_sub(1) as f64
    };
    let tallest = columns
        .iter()
        .map(|&c| extent(c, &placed))
        .fold(0.0, f64::max);
    for c in columns {
        let mut y = top + 0.5 * (tallest - extent(c, &placed));
        for (n, p) in model.nodes.iter().zip(placed.iter_mut()) {
            if n.column != c {
                continue;
            }
            p.slot_y = y;
            p.bar_y = y + 0.5 * (p.slot_h - p.bar_h);
            y += p.slot_h + NODE_GAP;
        }
    }
    let height = (top + tallest + MARGIN + 4.0).ceil();

    let mut svg = String::with_capacity(8192 + 600 * model.links.len());
    let w = num(width);
    let h = num(height);
    let kind = match model.basis {
        super::SankeyBasis::Exergy => "Exergy flows".to_string(),
        b => format!("Energy flows ({} basis)", b.as_str()),
    };
    let reference = match model.basis {
        super::SankeyBasis::Exergy => "fuel exergy",
        _ => "fuel input",
    };
    let title = format!("{kind}, {reference} {}", power(model.reference));
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"{}\">\n\
         <title>{}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n\
         <text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" fill=\"#212529\">{}</text>\n",
        num(FONT),
        escape(&title),
        num(MARGIN),
        num(MARGIN + TITLE_FONT),
        num(TITLE_FONT),
        escape(&title),
    );

    svg.push_str("<g fill-opacity=\"0.45\">\n");
    let mut out_offset = vec![0.0; model.nodes.len()];
    let mut in_offset = vec![0.0; model.nodes.len()];
    for link in &model.links {
        let (s, t) = (&placed[link.source], &placed[link.target]);
        let band = link.value * scale;
        let x0 = s.bar_x + BAR;
        let x1 = t.bar_x;
        let y0 = s.bar_y + out_offset[link.source];
        let y1 = t.bar_y + in_offset[link.target];
        out_offset[link.source] += band;
        in_offset[link.target] += band;
        let xm = 0.5 * (x0 + x1);
        let _ = writeln!(
            svg,
            "<path d=\"M{} {}C{} {} {} {} {} {}L{} {}C{} {} {} {} {} {}Z\" fill=\"{}\"/>",
            num(x0),
            num(y0),
            num(xm),
            num(y0),
            num(xm),
            num(y1),
            num(x1),
            num(y1),
            num(x1),
            num(y1 + band),
            num(xm),
            num(y1 + band),
            num(xm),
            num(y0 + band),
            num(x0),
            num(y0 + band),
            link.category.colour(),
        );
    }
    svg.push_str("</g>\n<g>\n");
    for (n, p) in model.nodes.iter().zip(&placed) {
        let bar_h = p.bar_h.max(1.0);
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
            num(p.bar_x),
            num(p.bar_y + 0.5 * (p.bar_h - bar_h)),
            num(BAR),
            num(bar_h),
            n.category.colour(),
        );
    }
    svg.push_str("</g>\n<g fill=\"#212529\">\n");
    for (n, p) in model.nodes.iter().zip(&placed) {
        let text_h = p.lines.len() as f64 * LINE;
        let first = p.slot_y + 0.5 * (p.slot_h - text_h) + FONT;
        let (x, anchor, halo) = match n.column {
            Column::Source => (p.bar_x - LABEL_GAP, "end", ""),
            Column::Unit => (
                unit_centre,
                "middle",
                " stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"",
            ),
            Column::Sink => (p.bar_x + BAR + LABEL_GAP, "start", ""),
        };
        for (k, line) in p.lines.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\"{halo}>{}</text>",
                num(x),
                num(first + k as f64 * LINE),
                escape(line),
            );
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_splits_long_words() {
        let mut lines = Vec::new();
        wrap("Surface radiation and convection", 12, &mut lines);
        assert_eq!(lines, ["Surface", "radiation", "and", "convection"]);
        let mut lines = Vec::new();
        wrap("abcdefghijklmnop xy", 6, &mut lines);
        assert_eq!(lines, ["abcdef", "ghijkl", "mnop", "xy"]);
    }

    #[test]
    fn formats_without_negative_zero() {
        assert_eq!(num(-0.0001), "0.00");
        assert_eq!(power(2_345_678.0), "2.35 MW");
        assert_eq!(power(12_345.0), "12.3 kW");
    }
}
