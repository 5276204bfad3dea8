//! The Sankey model balances for every shape of calculation, and its SVG is deterministic,
//! well-formed, self-contained, proportional and keeps every label on the canvas.

mod common;

use analysis::sankey::{
    self, Category, Column, PowerUnits, SankeyBasis, SankeyModel, SvgOptions, UnitResult,
    render_svg,
};
use common::{gas_boiler, gas_furnace, oil_hot_water_boiler, run};
use thermo::results::{ExergyLossKind, FiredResult, LossKind, OnBasis};

const BASES: [SankeyBasis; 3] = [SankeyBasis::Hhv, SankeyBasis::Lhv, SankeyBasis::Exergy];

/// Σ inputs = Σ outputs at every unit node to 1e-9 relative; every source and sink node
/// carries the sum of its links; the diagram's total in equals its total out.
fn assert_balanced(model: &SankeyModel) {
    let sum = |f: &dyn Fn(&sankey::Link) -> bool| -> f64 {
        model.links.iter().filter(|l| f(l)).map(|l| l.value).sum()
    };
    for l in &model.links {
        assert!(l.value.is_finite() && l.value > 0.0, "link {l:?}");
    }
    for (i, n) in model.nodes.iter().enumerate() {
        let inflow = sum(&|l| l.target == i);
        let outflow = sum(&|l| l.source == i);
        match n.column {
            Column::Unit => {
                let scale = inflow.max(outflow);
                assert!(
                    (inflow - outflow).abs() <= 1e-9 * scale,
                    "{}: in {inflow} out {outflow}",
                    n.id
                );
                assert_eq!(n.value, inflow);
            }
            Column::Source => {
                assert_eq!(inflow, 0.0, "{}", n.id);
                assert!((n.value - outflow).abs() <= 1e-12 * outflow, "{}", n.id);
            }
            Column::Sink => {
                assert_eq!(outflow, 0.0, "{}", n.id);
                assert!((n.value - inflow).abs() <= 1e-12 * inflow, "{}", n.id);
            }
        }
    }
    let total = |c: Column| -> f64 {
        model
            .nodes
            .iter()
            .filter(|n| n.column == c)
            .map(|n| n.value)
            .sum()
    };
    let (sources, sinks) = (total(Column::Source), total(Column::Sink));
    assert!(
        (sources - sinks).abs() <= 1e-9 * sources,
        "{sources} vs {sinks}"
    );
}

fn one<'a>(id: &'a str, name: &'a str, result: &'a FiredResult) -> UnitResult<'a> {
    UnitResult { id, name, result }
}

#[test]
fn one_unit_balances_on_every_basis() {
    let r = run(&gas_boiler(0.008));
    for basis in BASES {
        let m = sankey::build(&[one("BLR-001", "Steam boiler 1", &r)], basis).unwrap();
        assert_balanced(&m);
    }
    // Useful heat as a percentage of the fuel input is the direct efficiency.
    let m = sankey::build(&[one("BLR-001", "Steam boiler 1", &r)], SankeyBasis::Hhv).unwrap();
    let useful = m.nodes.iter().find(|n| n.id == "useful").unwrap();
    assert!((useful.percent - 100.0 * r.direct_efficiency.hhv).abs() < 1e-9);
    // Air at 14 °C and gas at 12 °C are below the 25 °C reference: their credits are
    // negative and appear as outputs.
    let air = m
        .nodes
        .iter()
        .find(|n| n.id == "credit.entering_air.reversed")
        .unwrap();
    assert_eq!(air.column, Column::Sink);
    assert_eq!(air.name, "Combustion air sensible heat below reference");
}

#[test]
fn three_units_balance_and_keep_one_fuel_node_each() {
    let results = [
        run(&gas_boiler(0.005)),
        run(&gas_furnace()),
        run(&oil_hot_water_boiler()),
    ];
    let units = [
        one(
            "BLR-001",
            "Steam boiler 1 (natural gas, 25 MW)",
            &results[0],
        ),
        one("FUR-001", "Process furnace 1", &results[1]),
        one("HWB-001", "Hot-water boiler (oil)", &results[2]),
    ];
    for basis in BASES {
        let m = sankey::build(&units, basis).unwrap();
        assert_balanced(&m);
        let fuels = m
            .nodes
            .iter()
            .filter(|n| n.category == Category::Fuel)
            .count();
        assert_eq!(fuels, 3);
        assert_eq!(
            m.nodes.iter().filter(|n| n.column == Column::Unit).count(),
            3
        );
        // Columns in order: sources, units, sinks.
        let columns: Vec<Column> = m.nodes.iter().map(|n| n.column).collect();
        let mut sorted = columns.clone();
        sorted.sort();
        assert_eq!(columns, sorted);
        let reference: f64 = results
            .iter()
            .map(|r| match basis {
                SankeyBasis::Hhv => r.fuel_input.hhv,
                SankeyBasis::Lhv => r.fuel_input.lhv,
                SankeyBasis::Exergy => r.exergy.fuel,
            })
            .sum();
        assert!((m.reference - reference).abs() <= 1e-12 * reference);
    }
}

#[test]
fn negative_unaccounted_becomes_an_input_gain() {
    let r = run(&gas_boiler(-0.02));
    assert!(r.unaccounted.hhv < 0.0);
    let m = sankey::build(&[one("BLR-001", "Boiler", &r)], SankeyBasis::Hhv).unwrap();
    assert_balanced(&m);
    let gain = m
        .nodes
        .iter()
        .find(|n| n.name == "Unaccounted gain")
        .unwrap();
    assert_eq!(gain.column, Column::Source);
    assert!((gain.value + r.unaccounted.hhv).abs() <= 1e-9 * gain.value);
    assert!(!m.nodes.iter().any(|n| n.name == "Unaccounted"));
}

/// A unit without losses or credits: fuel → useful heat and the unaccounted rest.
fn lossless(mut r: FiredResult) -> FiredResult {
    for l in &mut r.losses {
        l.power = OnBasis::default();
    }
    for c in &mut r.credits {
        c.power = 0.0;
    }
    r.unaccounted = OnBasis {
        hhv: r.fuel_input.hhv - r.useful_output,
        lhv: r.fuel_input.lhv - r.useful_output,
    };
    for loss in &mut r.exergy.losses {
        loss.1 = 0.0;
    }
    r.exergy.combustion_air = 0.0;
    r.exergy.auxiliary_power = 0.0;
    r.exergy.destruction = r.exergy.fuel - r.exergy.useful;
    r
}

#[test]
fn zero_losses_balance() {
    let r = lossless(run(&gas_boiler(0.0)));
    for basis in BASES {
        let m = sankey::build(&[one("X", "No losses", &r)], basis).unwrap();
        assert_balanced(&m);
        assert!(!m.nodes.iter().any(|n| matches!(
            n.category,
            Category::Loss(_) | Category::ExergyLoss(_) | Category::Credit(_)
        )));
    }
}

#[test]
fn exergy_diagram_shows_destruction_and_losses() {
    let r = run(&gas_furnace());
    let m = sankey::build(&[one("FUR-001", "Furnace", &r)], SankeyBasis::Exergy).unwrap();
    assert_balanced(&m);
    let destruction = m.nodes.iter().find(|n| n.id == "destruction").unwrap();
    assert!((destruction.value - r.exergy.destruction).abs() <= 1e-9 * destruction.value);
    assert!(
        m.nodes
            .iter()
            .any(|n| n.category == Category::ExergyLoss(ExergyLossKind::FlueGas))
    );
}

#[test]
fn refuses_no_units_and_repeated_ids() {
    assert!(sankey::build(&[], SankeyBasis::Hhv).is_err());
    let r = run(&gas_furnace());
    let units = [one("A", "a", &r), one("A", "b", &r)];
    assert!(sankey::build(&units, SankeyBasis::Hhv).is_err());
}

fn three_unit_model(basis: SankeyBasis) -> SankeyModel {
    let results = [
        run(&gas_boiler(0.005)),
        run(&gas_furnace()),
        run(&oil_hot_water_boiler()),
    ];
    let units = [
        one(
            "BLR-001",
            "Steam boiler 1 (natural gas, 25 MW)",
            &results[0],
        ),
        one("FUR-001", "Process furnace 1 & <reheat>", &results[1]),
        one(
            "HWB-001",
            "Hot-water boiler with a very long descriptive name",
            &results[2],
        ),
    ];
    sankey::build(&units, basis).unwrap()
}

#[test]
fn svg_is_deterministic() {
    for basis in BASES {
        let a = render_svg(&three_unit_model(basis), &SvgOptions::default()).unwrap();
        let b = render_svg(&three_unit_model(basis), &SvgOptions::default()).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn svg_is_well_formed_and_self_contained() {
    for basis in BASES {
        let svg = render_svg(&three_unit_model(basis), &SvgOptions::default()).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_eq!(root.attribute("font-family"), Some("sans-serif"));
        // The namespace name is an identifier, not a link; nothing else may point outside.
        let rest = svg.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for banned in [
            "http",
            "href",
            "<script",
            "<image",
            "<foreignObject",
            "url(",
            "@import",
            "<style",
            "<link",
            "javascript",
        ] {
            assert!(!rest.contains(banned), "{banned} in the SVG");
        }
        assert!(
            doc.descendants()
                .filter(|n| n.is_element())
                .all(|n| ["svg", "title", "rect", "text", "g", "path"]
                    .contains(&n.tag_name().name()))
        );
        assert!(svg.contains("&amp;") && svg.contains("&lt;reheat&gt;"));
    }
}

/// Conservative box of a text element: 0.6 em per character, ascent 1 em, descent 0.3 em.
fn text_box(node: roxmltree::Node, font: f64) -> (f64, f64, f64, f64) {
    let num = |a: &str| node.attribute(a).unwrap().parse::<f64>().unwrap();
    let (x, y) = (num("x"), num("y"));
    let size = node
        .attribute("font-size")
        .map(|s| s.parse::<f64>().unwrap())
        .unwrap_or(font);
    let chars = node.text().unwrap_or("").chars().count() as f64;
    let width = 0.6 * size * chars;
    let left = match node.attribute("text-anchor").unwrap_or("start") {
        "end" => x - width,
        "middle" => x - 0.5 * width,
        _ => x,
    };
    (left, y - size, left + width, y + 0.3 * size)
}

#[test]
fn every_label_lies_inside_the_canvas() {
    let widths = [800.0, 640.0, 1200.0];
    let units = [PowerUnits::Si, PowerUnits::UsCustomary];
    for (width, units) in widths.into_iter().flat_map(|w| units.map(|u| (w, u))) {
        for basis in BASES {
            let svg = render_svg(&three_unit_model(basis), &SvgOptions { width, units }).unwrap();
            let doc = roxmltree::Document::parse(&svg).unwrap();
            let root = doc.root_element();
            let view: Vec<f64> = root
                .attribute("viewBox")
                .unwrap()
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            assert_eq!(view[2], width);
            let font: f64 = root.attribute("font-size").unwrap().parse().unwrap();
            let texts: Vec<_> = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .collect();
            assert!(texts.len() > 10);
            for t in texts {
                let (l, top, r, bottom) = text_box(t, font);
                assert!(
                    l >= view[0]
                        && r <= view[0] + view[2]
                        && top >= view[1]
                        && bottom <= view[1] + view[3],
                    "{:?} box {:?} outside {view:?}",
                    t.text(),
                    (l, top, r, bottom)
                );
            }
        }
    }
}

#[test]
fn labels_carry_name_value_and_percent() {
    let model = three_unit_model(SankeyBasis::Hhv);
    let svg = render_svg(&model, &SvgOptions::default()).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let dry = model
        .nodes
        .iter()
        .find(|n| n.id == "loss.dry_flue_gas")
        .unwrap();
    let label = format!(
        "Dry flue gas {:.2} MW ({:.1} %)",
        dry.value / 1e6,
        dry.percent
    );
    assert!(text.contains(&label), "{label} not in {text}");
}

#[test]
fn band_widths_are_proportional_to_the_flows() {
    let model = three_unit_model(SankeyBasis::Hhv);
    let svg = render_svg(&model, &SvgOptions::default()).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let total: f64 = model
        .nodes
        .iter()
        .filter(|n| n.column == Column::Source)
        .map(|n| n.value)
        .sum();
    let paths: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("path"))
        .collect();
    assert_eq!(paths.len(), model.links.len());
    for (p, link) in paths.iter().zip(&model.links) {
        let d = p.attribute("d").unwrap();
        let numbers: Vec<f64> = d
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let band = numbers[9] - numbers[7];
        assert!((band - link.value * 360.0 / total).abs() <= 0.011, "{d}");
        assert_eq!(p.attribute("fill"), Some(link.category.colour()));
    }
}

#[test]
fn each_loss_kind_has_its_own_colour() {
    let colours: Vec<&str> = LossKind::ALL
        .iter()
        .map(|k| Category::Loss(*k).colour())
        .chain([
            Category::Useful.colour(),
            Category::Fuel.colour(),
            Category::Unaccounted.colour(),
        ])
        .collect();
    for (i, a) in colours.iter().enumerate() {
        assert!(!colours[..i].contains(a), "{a} used twice");
    }
}

#[test]
fn json_has_nodes_and_links() {
    let model = three_unit_model(SankeyBasis::Exergy);
    let json: serde_json::Value = serde_json::to_value(&model).unwrap();
    assert_eq!(json["basis"], "exergy");
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), model.nodes.len());
    assert!(
        nodes
            .iter()
            .any(|n| n["category"] == "exergy_loss.flue_gas")
    );
    assert!(
        nodes
            .iter()
            .any(|n| n["id"] == "unit:FUR-001" && n["column"] == "unit")
    );
    let links = json["links"].as_array().unwrap();
    assert_eq!(links.len(), model.links.len());
    assert!(links[0]["source"].is_u64() && links[0]["value"].is_f64());
}
