//! SVG rendering of a [`SankeyModel`]: three columns (sources, units, sinks), bars and bands
//! whose heights are proportional to the flows, every node labelled with its name, value and
//! share of the input.
//!
//! The output is a self-contained document (no fonts, scripts, links or images; the generic
//! `sans-serif` family) and deterministic: the same model gives the same bytes, because the
//! layout is computed in a fixed order and every number is printed with two decimals. Text
//! extents are estimated conservatively at 0.6 em per character; labels are wrapped to the
//! width of their column and the canvas grows in height until every label fits.
//!
//! Powers are written in SI (MW, kW) or US customary (MMBtu/h, kBtu/h) units, converted by
//! `thermo::units` so that its NIST SP 811 factors stay the only ones.

use std::fmt::Write;

use thermo::units::{Dimension, from_si};

use super::{Column, SankeyModel};
use crate::Result;
use crate::chart::{escape, num};

/// The units of the powers in the labels and the title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PowerUnits {
    /// MW from 1 MW, else kW.
    #[default]
    Si,
    /// MMBtu/h from 1 MMBtu/h, else kBtu/h.
    UsCustomary,
}

impl PowerUnits {
    /// The larger and the smaller unit in `thermo::units` spelling; the larger applies from 1.
    pub fn symbols(self) -> (&'static str, &'static str) {
        match self {
            Self::Si => ("MW", "kW"),
            Self::UsCustomary => ("MMBtu/h", "kBtu/h"),
        }
    }
}

/// Rendering options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvgOptions {
    /// Canvas width, px (readable from 800; narrower canvases wrap labels harder).
    pub width: f64,
    /// Units of the powers written in the diagram.
    pub units: PowerUnits,
}

impl Default for SvgOptions {
    fn default() -> Self {
        Self {
            width: 800.0,
            units: PowerUnits::default(),
        }
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

/// A power given in W, in the larger of `units` from 1 of it (two decimals), else in the
/// smaller (one decimal); an error for a value that is not finite.
fn power(w: f64, units: PowerUnits) -> Result<String> {
    let (larger, smaller) = units.symbols();
    let large = from_si(w, larger, Dimension::Power, 0.0)?;
    if large.abs() >= 1.0 {
        Ok(format!("{large:.2} {larger}"))
    } else {
        let small = from_si(w, smaller, Dimension::Power, 0.0)?;
        Ok(format!("{small:.1} {smaller}"))
    }
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
fn label_lines(
    name: &str,
    value: f64,
    percent: f64,
    width: usize,
    units: PowerUnits,
) -> Result<Vec<String>> {
    let figure = format!("{} ({:.1} %)", power(value, units)?, percent);
    let full = format!("{name} {figure}");
    let mut lines = Vec::new();
    if full.chars().count() <= width {
        lines.push(full);
    } else {
        wrap(name, width, &mut lines);
        wrap(&figure, width, &mut lines);
    }
    Ok(lines)
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

/// Renders the model as a standalone SVG document; an error when a value is not finite.
pub fn render_svg(model: &SankeyModel, options: &SvgOptions) -> Result<String> {
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
            let lines = label_lines(&n.name, n.value, n.percent, chars, options.units)?;
            let bar_h = n.value * scale;
            let text_h = lines.len() as f64 * LINE;
            let bar_x = match n.column {
                Column::Source => source_x,
                Column::Unit => unit_centre - 0.5 * BAR,
                Column::Sink => sink_x,
            };
            Ok(Placed {
                bar_x,
                bar_y: 0.0,
                bar_h,
                slot_y: 0.0,
                slot_h: bar_h.max(text_h + 2.0),
                lines,
            })
        })
        .collect::<Result<_>>()?;
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
    let title = format!(
        "{kind}, {reference} {}",
        power(model.reference, options.units)?
    );
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
    Ok(svg)
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

    use crate::sankey::{Category, Link, Node, SankeyBasis};

    /// 1 Btu (IT) = 1055.05585262 J exactly and 1 h = 3600 s (NIST SP 811, B.8 and B.9).
    const W_PER_BTU_H: f64 = 1055.05585262 / 3600.0;

    #[test]
    fn formats_without_negative_zero() {
        assert_eq!(num(-0.0001), "0.00");
        assert_eq!(power(2_345_678.0, PowerUnits::Si).unwrap(), "2.35 MW");
        assert_eq!(power(12_345.0, PowerUnits::Si).unwrap(), "12.3 kW");
    }

    #[test]
    fn us_customary_powers_follow_the_btu_definition() {
        let us = PowerUnits::UsCustomary;
        // 2 345 678 W / 293 071.07017 W per MMBtu/h = 8.0038 MMBtu/h.
        assert_eq!(power(2_345_678.0, us).unwrap(), "8.00 MMBtu/h");
        // 500 kW is below 1 MW but above 1 MMBtu/h: the threshold is of the larger US unit.
        let expected = format!("{:.2} MMBtu/h", 500e3 / (1e6 * W_PER_BTU_H));
        assert_eq!(expected, "1.71 MMBtu/h");
        assert_eq!(power(500e3, us).unwrap(), expected);
        // Just under 1 MMBtu/h: 293 000 W = 999.76 kBtu/h.
        assert_eq!(power(293_000.0, us).unwrap(), "999.8 kBtu/h");
        assert_eq!(power(12_345.0, us).unwrap(), "42.1 kBtu/h");
        assert!(power(f64::NAN, us).is_err());
    }

    /// Fuel 2 MW into one unit, 1.7 MW useful and 0.3 MW dry flue gas out.
    fn one_unit(reference: f64) -> SankeyModel {
        let node = |id: &str, name: &str, column, category, value: f64| Node {
            id: id.to_string(),
            name: name.to_string(),
            column,
            category,
            value,
            percent: 100.0 * value / 2e6,
        };
        let link = |source, target, value, category| Link {
            source,
            target,
            value,
            category,
        };
        SankeyModel {
            basis: SankeyBasis::Hhv,
            reference,
            nodes: vec![
                node("fuel:B", "Fuel", Column::Source, Category::Fuel, 2e6),
                node("unit:B", "Boiler", Column::Unit, Category::Unit, 2e6),
                node("useful", "Useful", Column::Sink, Category::Useful, 1.7e6),
                node(
                    "loss.dry_flue_gas",
                    "Flue",
                    Column::Sink,
                    Category::Loss(thermo::results::LossKind::DryFlueGas),
                    0.3e6,
                ),
            ],
            links: vec![
                link(0, 1, 2e6, Category::Fuel),
                link(1, 2, 1.7e6, Category::Useful),
                link(
                    1,
                    3,
                    0.3e6,
                    Category::Loss(thermo::results::LossKind::DryFlueGas),
                ),
            ],
        }
    }

    #[test]
    fn us_diagram_writes_every_power_in_btu_per_hour() {
        // Wide enough that every label stays on one line.
        let options = SvgOptions {
            width: 1200.0,
            units: PowerUnits::UsCustomary,
        };
        let svg = render_svg(&one_unit(2e6), &options).unwrap();
        let mmbtu_h = |w: f64| format!("{:.2} MMBtu/h", w / (1e6 * W_PER_BTU_H));
        let title = format!(
            "<title>Energy flows (HHV basis), fuel input {}</title>",
            mmbtu_h(2e6)
        );
        assert!(svg.contains(&title), "{title} not in {svg}");
        for (name, w, percent) in [
            ("Fuel", 2e6, 100.0),
            ("Useful", 1.7e6, 85.0),
            ("Flue", 0.3e6, 15.0),
        ] {
            let label = format!("{name} {} ({percent:.1} %)", mmbtu_h(w));
            assert!(svg.contains(&label), "{label} not in {svg}");
        }
        assert!(!svg.contains(" MW") && !svg.contains(" kW"), "{svg}");
    }

    #[test]
    fn si_diagram_is_the_default_and_a_power_that_is_not_finite_is_an_error() {
        let svg = render_svg(&one_unit(2e6), &SvgOptions::default()).unwrap();
        assert!(svg.contains("fuel input 2.00 MW</title>"));
        assert!(svg.contains("Flue 300.0 kW (15.0 %)"));
        assert!(render_svg(&one_unit(f64::NAN), &SvgOptions::default()).is_err());
    }
}
