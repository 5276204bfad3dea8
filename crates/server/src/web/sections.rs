//! The sections of a stored calculation, shared by the printable report
//! (`GET /v1/thermaliq/calculations/{id}/report`, always SI) and the calculation page
//! (`GET /calculations/{id}`, in the user's unit system): results with basis and U95, the
//! equipment, benchmark, recommendations, data quality, inputs as aggregated and provenance.
//! Each renderer writes a heading (`h2`) and its content; the caller wraps it in its
//! `section`. Quantities go through [`qty`], percentages through [`percent`].
//! No links or scripts: the report must stay self-contained.

use maud::{Markup, html};
use serde_json::Value;
use thermo::units;

use super::layout::scroll;
use super::units::{
    Kind, UnitSystem, fixed, measured, measured_or_written, message, percent, qty, qty_opt,
};

/// A number of a document at a JSON pointer.
pub fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

/// A text of a document at a JSON pointer; an em dash when absent.
pub fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("—")
}

/// An array of a document at a JSON pointer; empty when absent.
pub fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A plain number with `decimals` decimals (counts, points, scores); an em dash when absent.
pub fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => fixed(v, decimals),
        _ => "—".to_string(),
    }
}

/// An amount of money, no decimals, with its currency code.
fn money(v: Option<f64>, currency: &str) -> String {
    match v {
        Some(_) => format!("{} {currency}", num(v, 0)).trim_end().to_string(),
        None => "—".to_string(),
    }
}

/// An energy per year given in GJ, as an energy quantity followed by "/year".
fn energy_per_year(gj: Option<f64>, system: UnitSystem) -> Markup {
    html! { (qty_opt(Kind::Energy, gj.map(|g| g * 1e9), system)) "/year" }
}

/// The expanded uncertainty (percentage points) of a figure in a list of figures.
pub fn u95(figures: &[Value], figure: &str) -> Option<f64> {
    figures
        .iter()
        .find(|x| x["figure"] == figure)
        .and_then(|x| x["expanded_uncertainty_percent_points"].as_f64())
}

/// The facility's results: efficiencies on every basis with U95, and the energy balance.
pub fn results(doc: &Value, system: UnitSystem) -> Markup {
    let figures = list(doc, "/summary/uncertainty/figures");
    let row = |label: &str, pointer: &str, figure: &str| {
        html! {
            tr { th scope="row" { (label) } td.n { (percent(f(doc, pointer))) }
                td.n { @match u95(figures, figure) { Some(u) => { "± " (num(Some(u), 2)) }, None => { "—" } } } }
        }
    };
    let power = |pointer: &str| qty_opt(Kind::Power, f(doc, pointer), system);
    html! {
        h2 { "Results" }
        table #results-efficiency {
            caption { "Facility efficiency (roll-up of the units) by method and basis, with the \
                expanded uncertainty (95 %)" }
            tr { th scope="col" { "Method and basis" } th.n scope="col" { "Value" } th.n scope="col" { "U95, points" } }
            (row("Input–output (direct), HHV", "/summary/efficiency_percent/direct/HHV", "direct_hhv"))
            (row("Input–output (direct), LHV", "/summary/efficiency_percent/direct/LHV", "direct_lhv"))
            (row("Heat-loss (indirect), HHV", "/summary/efficiency_percent/indirect/HHV", "indirect_hhv"))
            (row("Heat-loss (indirect), LHV", "/summary/efficiency_percent/indirect/LHV", "indirect_lhv"))
            (row("Exergy (second law)", "/summary/efficiency_percent/exergy", "exergy_efficiency"))
        }
        table #results-balance {
            caption { "Energy balance of the facility" }
            tr { th scope="col" { "Flow" } th.n scope="col" { "HHV" } th.n scope="col" { "LHV" } }
            tr { th scope="row" { "Fuel input" } td.n { (power("/summary/fuel_input_W/HHV")) }
                td.n { (power("/summary/fuel_input_W/LHV")) } }
            tr { th scope="row" { "Useful output" } td.n { (power("/summary/useful_output_W")) }
                td.n { (power("/summary/useful_output_W")) } }
            tr { th scope="row" { "Unaccounted" } td.n { (power("/summary/unaccounted_W/HHV")) }
                td.n { (power("/summary/unaccounted_W/LHV")) } }
            tr { th scope="row" { "Closure (unaccounted / fuel input)" }
                td.n { (percent(f(doc, "/summary/closure_percent/HHV"))) }
                td.n { (percent(f(doc, "/summary/closure_percent/LHV"))) } }
        }
        @if let Some(coverage) = doc.pointer("/summary/uncertainty/coverage").and_then(Value::as_str) {
            p.muted { "Uncertainty: expanded, " (coverage) "; "
                (s(doc, "/summary/uncertainty/method")) }
        }
    }
}

/// Each unit's efficiencies with U95, losses and credits, fuel and warnings.
pub fn equipment(doc: &Value, system: UnitSystem) -> Markup {
    let power = |v: &Value, pointer: &str| qty_opt(Kind::Power, f(v, pointer), system);
    html! {
        h2 { "Equipment" }
        @for unit in list(doc, "/equipment") {
            @let r = &unit["result"];
            @let figures = list(r, "/uncertainty/first_order");
            h3 { (s(unit, "/name")) " (" (s(unit, "/equipment_id")) ", " (s(unit, "/type")) ")" }
            @if let Some(flag) = unit.get("flag") {
                p { strong { "Flagged: " } (s(flag, "/reason")) " — " (s(flag, "/flagged_by")) ", " (s(flag, "/flagged_at")) }
            }
            table {
                caption { "Efficiency of " (s(unit, "/equipment_id")) }
                tr { th scope="col" { "Method" } th.n scope="col" { "HHV" } th.n scope="col" { "U95" }
                    th.n scope="col" { "LHV" } th.n scope="col" { "U95" } }
                tr { th scope="row" { "Input–output (direct)" }
                    td.n { (percent(f(r, "/efficiency_percent/direct/HHV"))) }
                    td.n { (num(u95(figures, "direct_hhv"), 2)) }
                    td.n { (percent(f(r, "/efficiency_percent/direct/LHV"))) }
                    td.n { (num(u95(figures, "direct_lhv"), 2)) } }
                tr { th scope="row" { "Heat-loss (indirect)" }
                    td.n { (percent(f(r, "/efficiency_percent/indirect/HHV"))) }
                    td.n { (num(u95(figures, "indirect_hhv"), 2)) }
                    td.n { (percent(f(r, "/efficiency_percent/indirect/LHV"))) }
                    td.n { (num(u95(figures, "indirect_lhv"), 2)) } }
                tr { th scope="row" { "Exergy" } td.n { (percent(f(r, "/efficiency_percent/exergy"))) }
                    td.n { (num(u95(figures, "exergy_efficiency"), 2)) } td.n { "" } td.n { "" } }
                @if let Some(design) = f(unit, "/design_efficiency_percent_hhv") {
                    tr { th scope="row" { "Design (guarantee)" } td.n { (percent(Some(design))) }
                        td.n { "" } td.n { "" } td.n { "" } }
                }
            }
            table {
                caption { "Losses and credits of " (s(unit, "/equipment_id")) }
                tr { th scope="col" { "Loss or credit" } th.n scope="col" { "Heat rate" }
                    th.n scope="col" { "% of input, HHV" } th.n scope="col" { "% of input, LHV" } }
                @for loss in list(r, "/energy_balance/losses") {
                    tr { th scope="row" { (s(loss, "/name")) } td.n { (power(loss, "/W/HHV")) }
                        td.n { (num(f(loss, "/percent_of_input/HHV"), 2)) }
                        td.n { (num(f(loss, "/percent_of_input/LHV"), 2)) } }
                }
                @for credit in list(r, "/energy_balance/credits") {
                    tr { th scope="row" { "credit: " (s(credit, "/name")) } td.n { (power(credit, "/W")) }
                        td.n { (num(f(credit, "/percent_of_input/HHV"), 2)) }
                        td.n { (num(f(credit, "/percent_of_input/LHV"), 2)) } }
                }
                tr { th scope="row" { "unaccounted (closure)" } td.n { (power(r, "/energy_balance/unaccounted_W/HHV")) }
                    td.n { (num(f(r, "/energy_balance/closure_percent/HHV"), 2)) }
                    td.n { (num(f(r, "/energy_balance/closure_percent/LHV"), 2)) } }
            }
            p.muted { "Fuel " (s(r, "/fuel/name")) ": HHV "
                (qty_opt(Kind::SpecificEnergy, f(r, "/fuel/hhv_J_kg"), system))
                ", LHV " (qty_opt(Kind::SpecificEnergy, f(r, "/fuel/lhv_J_kg"), system))
                "; excess air " (percent(f(r, "/combustion/excess_air_percent"))) "." }
            @let warnings = list(r, "/warnings");
            @if !warnings.is_empty() {
                ul { @for w in warnings { li.core-message { (s(w, "/code")) ": "
                    (message(w.get("message_parts"), s(w, "/message"), system)) } } }
            }
        }
    }
}

/// The benchmark answer of `http::analysis`: each unit's position among its peers.
pub fn benchmark(b: &Value, system: UnitSystem) -> Markup {
    let currency = b
        .pointer("/economics/currency")
        .and_then(Value::as_str)
        .unwrap_or("");
    let gap = |c: &Value, key: &str| {
        html! {
            (num(f(c, &format!("/{key}/points")), 2)) " points; "
            (energy_per_year(f(c, &format!("/{key}/energy_gj_per_year")), system)) "; "
            (money(f(c, &format!("/{key}/cost_per_year")), currency)) "/year; "
            (num(f(c, &format!("/{key}/co2_kg_per_year")).map(|x| x / 1e3), 1)) " t CO2/year"
        }
    };
    html! {
        h2 { "Benchmark" }
        @for u in list(b, "/units") {
            h3 { (s(u, "/name")) " (" (s(u, "/equipment_id")) ")" }
            @let c = &u["comparison"];
            @if c.is_object() {
                table {
                    caption { "Benchmark of " (s(u, "/equipment_id")) }
                    tr { th scope="row" { "Entry" } td { (s(c, "/entry/id")) " — " (s(c, "/entry/metric")) ", basis "
                        (s(c, "/entry/basis")) } }
                    tr { th scope="row" { "Efficiency (direct, HHV)" } td { (percent(f(c, "/efficiency_percent_hhv"))) } }
                    tr { th scope="row" { "Percentile rank" } td.percentile { (num(f(c, "/percentile_rank"), 1)) } }
                    tr { th scope="row" { "Percentiles 10/25/50/75/90 (HHV)" } td {
                        @for (i, p) in list(c, "/percentiles_hhv").iter().enumerate() {
                            @if i > 0 { " / " } (percent(p.as_f64()))
                        } } }
                    tr { th scope="row" { "Gap to median" } td { (gap(c, "gap_to_median")) } }
                    tr { th scope="row" { "Gap to best practice" } td { (gap(c, "gap_to_best_practice")) } }
                }
                ul.muted {
                    @for src in list(c, "/sources") { li { (s(src, "/citation")) " — " (s(src, "/locator")) } }
                    @for note in list(c, "/notes") { li { (note.as_str().unwrap_or_default()) } }
                }
            } @else {
                p { "No benchmark: " (message(u.get("reason_parts"), s(u, "/reason"), system)) }
            }
        }
        (assumptions(b, system))
    }
}

/// The `assumptions` of an answer (their `assumption_parts` in `system`) as a list.
fn assumptions(v: &Value, system: UnitSystem) -> Markup {
    html! {
        ul.muted { @for (i, a) in list(v, "/assumptions").iter().enumerate() {
            li { (message(v.pointer(&format!("/assumption_parts/{i}")), a.as_str().unwrap_or_default(), system)) }
        } }
    }
}

/// The recommendations answer of `http::analysis`: the ranking with savings, then each
/// unit's measures with their assumptions. `top` limits the ranking (the facility page
/// shows three); `None` shows all.
pub fn recommendations(r: &Value, system: UnitSystem, top: Option<usize>) -> Markup {
    let currency = r
        .pointer("/economics/currency")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ranking = list(r, "/ranking");
    let shown = &ranking[..top.unwrap_or(ranking.len()).min(ranking.len())];
    html! {
        h2 { "Recommendations" }
        @if ranking.is_empty() {
            p { "No measure applies to the measured state of any unit." }
        } @else {
            table {
                caption { "Measures ranked by fuel saved; savings are not additive" }
                tr { th.n scope="col" { "#" } th scope="col" { "Unit" } th scope="col" { "Measure" }
                    th.n scope="col" { "Fuel saved" } th.n scope="col" { "Cost saved/year" }
                    th.n scope="col" { "CO2 avoided, t/year" } }
                @for item in shown {
                    tr { td.n { (num(f(item, "/rank"), 0)) } td { (s(item, "/equipment_id")) }
                        td { (message(item.get("title_parts"), s(item, "/title"), system)) }
                        td.n { (energy_per_year(f(item, "/fuel_saved_gj_per_year"), system)) }
                        td.n { (money(f(item, "/cost_saved_per_year"), currency)) }
                        td.n { (num(f(item, "/co2_avoided_kg_per_year").map(|x| x / 1e3), 1)) } }
                }
            }
        }
        @if top.is_none() {
            @for u in list(r, "/units") {
                h3 { (s(u, "/name")) " (" (s(u, "/equipment_id")) ")" }
                @if let Some(reason) = u.get("reason").and_then(Value::as_str) { p { "Not evaluated: " (reason) } }
                @for (i, note) in list(u, "/notes").iter().enumerate() {
                    p.muted { (message(u.pointer(&format!("/note_parts/{i}")), note.as_str().unwrap_or_default(), system)) }
                }
                @for rec in list(u, "/recommendations") {
                    p { strong { (message(rec.get("title_parts"), s(rec, "/title"), system)) } ": efficiency (heat-loss, HHV) "
                        (percent(f(rec, "/efficiency_percent_before/HHV"))) " → "
                        (percent(f(rec, "/efficiency_percent_after/HHV"))) ", fuel saved "
                        (percent(f(rec, "/fuel_saved_fraction").map(|x| 100.0 * x))) "." }
                    (assumptions(rec, system))
                }
            }
            (assumptions(r, system))
        }
    }
}

/// Data quality: the score, warnings and each tag's coverage, with each tag's mean in
/// `system` and the unit the tag is metered in.
pub fn data_quality(doc: &Value, system: UnitSystem) -> Markup {
    html! {
        h2 { "Data quality" }
        p { "Score " span #data-quality-score { (num(f(doc, "/data_quality/score"), 4)) }
            " (lowest unit score, 0–1); a required tag must cover "
            (percent(f(doc, "/data_quality/min_coverage").map(|x| 100.0 * x))) " of the period." }
        @let warnings = list(doc, "/data_quality/warnings");
        @if !warnings.is_empty() {
            ul { @for w in warnings { li.core-message { (s(w, "/equipment_id")) " " (s(w, "/tag")) " (" (s(w, "/code")) "): "
                (message(w.get("message_parts"), s(w, "/message"), system)) } } }
        }
        @for unit in list(doc, "/equipment") {
            h3 { (s(unit, "/equipment_id")) ": score " (num(f(unit, "/data_quality/score"), 4)) }
            (scroll(&format!("Tags of {}", s(unit, "/equipment_id")), html! { table {
                caption { "Tags of " (s(unit, "/equipment_id")) " (mean over the period; the unit each tag is metered in)" }
                tr { th scope="col" { "Quantity" } th scope="col" { "Metered in" } th scope="col" { "Tag" }
                    th.n scope="col" { "Mean" } th.n scope="col" { "Coverage" }
                    th.n scope="col" { "Readings used" } th.n scope="col" { "Score" } }
                @for t in list(unit, "/data_quality/tags") {
                    tr { td { (s(t, "/quantity")) } td { (s(t, "/unit")) } td { (s(t, "/tag")) }
                        td.n { @match f(t, "/mean") {
                            Some(m) => (measured(m, s(t, "/unit"), None, system)
                                .unwrap_or_else(|| html! { (num(Some(m), 3)) " " (s(t, "/unit")) })),
                            None => "—",
                        } }
                        td.n { (percent(f(t, "/coverage").map(|x| 100.0 * x))) }
                        td.n { (num(f(t, "/used"), 0)) " / " (num(f(t, "/readings"), 0)) }
                        td.n { (num(f(t, "/score"), 4)) } }
                }
            } }))
        }
    }
}

/// The inputs as aggregated: each unit's calculation document, one row per value, with
/// physical quantities converted to `system`.
pub fn inputs(doc: &Value, system: UnitSystem) -> Markup {
    html! {
        h2 { "Inputs as aggregated" }
        p.muted { "Each unit's calculation document built from the period's aggregates, with the \
            stated expanded uncertainties. Fractions (%, ppm) and times are the same in both \
            systems and are shown as written." }
        @for unit in list(doc, "/equipment") {
            h3 { (s(unit, "/equipment_id")) }
            @let rows = leaves(&unit["input"]);
            table {
                caption { "Calculation inputs of " (s(unit, "/equipment_id")) }
                tr { th scope="col" { "Field" } th scope="col" { "Value" } }
                @for (field, value) in &rows { tr { td { (field) } td { (written(value, system)) } } }
            }
        }
    }
}

/// The leaf values of an input document, each named by its dotted path.
fn leaves(input: &Value) -> Vec<(String, &Value)> {
    let mut rows = Vec::new();
    input_rows("", input, &mut rows);
    rows
}

/// Collects the leaves under `v` into `rows`.
fn input_rows<'a>(prefix: &str, v: &'a Value, rows: &mut Vec<(String, &'a Value)>) {
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
        _ => rows.push((prefix.to_string(), v)),
    }
}

/// A stored input value: `{value, unit, uncertainty}` as a quantity with its uncertainty
/// (a temperature's or pressure's uncertainty is a difference), a bare number or text as
/// written.
fn written(v: &Value, system: UnitSystem) -> Markup {
    match v {
        Value::Object(map) if map.contains_key("value") => {
            let unit = map.get("unit").and_then(Value::as_str).unwrap_or("");
            let number = map.get("value").and_then(Value::as_f64);
            let kind = units::dimension_of(unit).and_then(|d| Kind::of(d, unit));
            html! {
                @match (number, map.get("value")) {
                    (Some(n), _) => (measured_or_written(n, unit, None, system)),
                    (None, Some(other)) => { (written(other, system)) @if !unit.is_empty() { " " (unit) } },
                    (None, None) => "",
                }
                @if let Some(u) = map.get("uncertainty") {
                    " ± " (uncertainty(u, kind, system))
                }
            }
        }
        Value::String(t) => match number_and_unit(t) {
            Some((n, unit)) => measured(n, unit, None, system).unwrap_or_else(|| html! { (t) }),
            None => html! { (t) },
        },
        Value::Null => html! { "—" },
        other => html! { (other.to_string()) },
    }
}

/// A "number unit" text ("101.325 kPa") split into the number and the unit.
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let (number, unit) = text.trim().split_once(' ')?;
    Some((number.parse().ok()?, unit.trim()))
}

/// An uncertainty of a value of `kind`: a relative one (`%`) as written, an absolute one
/// as a difference of the same kind.
fn uncertainty(u: &Value, kind: Option<Kind>, system: UnitSystem) -> Markup {
    let (number, unit) = match u {
        Value::String(t) => number_and_unit(t).map_or((None, ""), |(n, unit)| (Some(n), unit)),
        _ => (
            u.get("value").and_then(Value::as_f64),
            u.get("unit").and_then(Value::as_str).unwrap_or(""),
        ),
    };
    match (number, kind.map(Kind::difference)) {
        (Some(n), Some(kind)) => kind.si_of(n, unit).map(|si| qty(kind, si, system)),
        _ => None,
    }
    .unwrap_or_else(|| written(u, system))
}

/// Provenance: the facility hash (`code#provenance-hash`), versions and each unit's hash.
pub fn provenance(doc: &Value) -> Markup {
    html! {
        h2 { "Provenance" }
        table.meta {
            caption { "How to reproduce this calculation" }
            tr { th scope="row" { "Facility hash (SHA-256)" } td { code #provenance-hash .hash { (s(doc, "/provenance/sha256")) } } }
            tr { th scope="row" { "Method version" } td { (s(doc, "/provenance/method_version")) } }
            tr { th scope="row" { "Service version" } td { (s(doc, "/provenance/service_version")) } }
            @for u in list(doc, "/provenance/units") {
                tr { th scope="row" { "Unit " (s(u, "/equipment_id")) } td { code.hash { (s(u, "/sha256")) } } }
            }
        }
        p.muted { "The same readings, spec and period give the same hash and the same numbers, \
            bit for bit (docs/FACILITIES.md, Provenance)." }
    }
}
