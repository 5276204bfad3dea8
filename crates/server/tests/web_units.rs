//! The display units of the browser application against independent published values
//! (NIST SP 811, 2008, Appendix B: 1 psi = 6.894 757 kPa, 1 Btu_IT = 1 055.055 852 62 J,
//! 1 lb = 0.453 592 37 kg; °F = °C × 9/5 + 32), never against numbers the code printed;
//! and the Sankey diagrams of the pages, whose labels follow the switch.

mod web_support;

use reqwest::StatusCode;
use server::web::units::{Kind, UnitSystem, measured, message, number, percent, qty};

/// The displayed text of a quantity (the span's content) and its attributes.
fn shown(kind: Kind, si: f64, system: UnitSystem) -> (String, String) {
    let html = qty(kind, si, system).into_string();
    let open_end = html.find('>').expect("a span");
    let text = html[open_end + 1..html.rfind("</span>").expect("closed")].to_string();
    (text, html[..open_end].to_string())
}

/// The number of a displayed quantity.
fn value_of(text: &str) -> f64 {
    text.split(' ')
        .next()
        .unwrap()
        .parse()
        .expect("a number first")
}

const BTU_J: f64 = 1_055.055_852_62;
const POUND_KG: f64 = 0.453_592_37;
const PSI_KPA: f64 = 6.894_757;

#[test]
fn temperatures_follow_the_fahrenheit_scale() {
    for (celsius, fahrenheit) in [(100.0, 212.0), (0.0, 32.0), (-40.0, -40.0), (37.0, 98.6)] {
        let kelvin = celsius + 273.15;
        let (si, attrs) = shown(Kind::Temperature, kelvin, UnitSystem::Si);
        assert!(si.ends_with(" °C"), "{si}");
        assert!((value_of(&si) - celsius).abs() < 1e-9 + 0.0005 * celsius.abs().max(1.0));
        let (us, _) = shown(Kind::Temperature, kelvin, UnitSystem::Us);
        assert!(us.ends_with(" °F"), "{us}");
        assert!(
            (value_of(&us) - fahrenheit).abs() < 0.005,
            "{us} vs {fahrenheit}"
        );
        assert!(attrs.contains("class=\"qty\"") && attrs.contains("data-kind=\"temperature\""));
        assert!(attrs.contains(&format!("data-si=\"{kelvin}\"")), "{attrs}");
    }
    assert_eq!(
        shown(Kind::Temperature, 373.15, UnitSystem::Us).0,
        "212.0 °F"
    );
}

#[test]
fn a_temperature_difference_scales_without_offset_and_says_so() {
    let (us, attrs) = shown(Kind::TemperatureDifference, 10.0, UnitSystem::Us);
    assert_eq!(us, "18.00 °F");
    assert!(
        attrs.contains("title=\"temperature difference\""),
        "{attrs}"
    );
    assert_eq!(
        shown(Kind::TemperatureDifference, 10.0, UnitSystem::Si).0,
        "10.00 K"
    );
}

#[test]
fn gauge_pressures_and_differences_keep_their_zero() {
    // 10 bar(g) = 1000 kPa above the ambient = 145.04 psig (1000 / 6.894757).
    let html = measured(10.0, "bar(g)", None, UnitSystem::Us)
        .expect("a gauge pressure is a quantity")
        .into_string();
    assert!(html.contains("data-kind=\"gauge_pressure\""), "{html}");
    assert!(html.contains("data-si=\"1000000\""), "{html}");
    assert!(html.contains(">145.0 psig<"), "{html}");
    assert_eq!(
        shown(Kind::GaugePressure, 1.0e6, UnitSystem::Si).0,
        "1000 kPa(g)"
    );
    // An uncertainty of 0.05 bar is 5 kPa = 0.7252 psi, with no atmosphere added.
    assert_eq!(
        shown(Kind::PressureDifference, 5_000.0, UnitSystem::Si).0,
        "5.000 kPa"
    );
    let (us, _) = shown(Kind::PressureDifference, 5_000.0, UnitSystem::Us);
    assert!(
        us.ends_with(" psi") && (value_of(&us) - 5.0 / PSI_KPA).abs() < 5e-4,
        "{us}"
    );
}

#[test]
fn gas_flows_areas_and_velocities() {
    // 1000 Nm³/h: 1000 / 3600 m³/s at 0 °C, 101.325 kPa is 12.39 mol/s (R = 8.314462618);
    // the same moles at 60 °F and 14.696 psia fill 37 326 ft³ (GPA 2172: 379.48 scf/lbmol).
    let mol_s = 1000.0 / 3600.0 * 101_325.0 / (8.314_462_618 * 273.15);
    let html = measured(1000.0, "Nm3/h", None, UnitSystem::Si)
        .expect("a gas flow is a quantity")
        .into_string();
    assert!(html.contains(">1000 Nm³/h<"), "{html}");
    let (us, _) = shown(Kind::StandardVolumeFlow, mol_s, UnitSystem::Us);
    let scf_h = mol_s * 3600.0 / 453.592_37 * 379.48;
    assert!(
        us.ends_with(" scf/h") && (value_of(&us) / scf_h - 1.0).abs() < 2e-4,
        "{us}"
    );
    let (us, _) = shown(Kind::Area, 10.0, UnitSystem::Us);
    assert_eq!(us, "107.6 ft²");
    let (us, _) = shown(Kind::Velocity, 3.048, UnitSystem::Us);
    assert_eq!(us, "10.00 ft/s");
    // Fractions and times read the same in both systems: shown as written.
    assert!(measured(3.0, "%", None, UnitSystem::Us).is_none());
    assert!(measured(60.0, "s", None, UnitSystem::Us).is_none());
}

#[test]
fn a_message_converts_its_quantities_and_keeps_its_words() {
    let parts = serde_json::json!([
        "stack lowered from ",
        {"value": 240.0, "unit": "°C", "dimension": "temperature"},
        " with a ",
        {"value": 20.0, "unit": "K", "dimension": "temperature_difference"},
        " approach; 3.0 % O2; fuel price ",
        {"value": 8.0, "unit": "/GJ", "dimension": "amount_per_energy"},
        " in EUR"
    ]);
    let html = message(Some(&parts), "ignored", UnitSystem::Us).into_string();
    assert!(html.starts_with("stack lowered from <span"), "{html}");
    assert!(html.contains(">464.0 °F</span> with a <span"), "{html}");
    assert!(
        html.contains(">36.00 °F</span> approach; 3.0 % O2"),
        "{html}"
    );
    // 8 per GJ is 8 × 1.05505585262 = 8.440 per MMBtu (1 MMBtu = 1.05505585262 GJ).
    assert!(html.contains(">8.440 per MMBtu</span> in EUR"), "{html}");
    // A document stored before messages carried parts shows its text.
    assert_eq!(
        message(None, "taken as 25 °C", UnitSystem::Us).into_string(),
        "taken as 25 °C"
    );
}

#[test]
fn pressures_in_kpa_and_psia() {
    let (us, _) = shown(Kind::Pressure, PSI_KPA * 1e3, UnitSystem::Us);
    assert_eq!(us, "1.000 psia");
    let (us, _) = shown(Kind::Pressure, 101_325.0, UnitSystem::Us);
    assert!((value_of(&us) - 101.325 / PSI_KPA).abs() < 0.005, "{us}");
    assert_eq!(
        shown(Kind::Pressure, 101_325.0, UnitSystem::Si).0,
        "101.3 kPa"
    );
}

#[test]
fn energy_power_and_flows_use_the_international_table_btu_and_the_pound() {
    // 1 MMBtu = 1055.056 MJ.
    assert_eq!(
        shown(Kind::Energy, BTU_J * 1e6, UnitSystem::Us).0,
        "1.000 MMBtu"
    );
    assert_eq!(
        shown(Kind::Energy, BTU_J * 1e6, UnitSystem::Si).0,
        "1.055 GJ"
    );
    assert_eq!(shown(Kind::Energy, 500e6, UnitSystem::Si).0, "500.0 MJ");
    // 1 MMBtu/h = 293.07 kW; 10 MW = 34.12 MMBtu/h.
    let mmbtu_h = BTU_J * 1e6 / 3_600.0;
    assert_eq!(
        shown(Kind::Power, mmbtu_h, UnitSystem::Us).0,
        "1.000 MMBtu/h"
    );
    assert_eq!(shown(Kind::Power, mmbtu_h, UnitSystem::Si).0, "293.1 kW");
    let (us, _) = shown(Kind::Power, 10e6, UnitSystem::Us);
    assert!((value_of(&us) - 10e6 / mmbtu_h).abs() < 0.005, "{us}");
    assert_eq!(shown(Kind::Power, 10e6, UnitSystem::Si).0, "10.00 MW");
    assert_eq!(
        shown(Kind::Power, 0.5 * mmbtu_h, UnitSystem::Us).0,
        "500.0 kBtu/h"
    );
    // 1 lb/h; 20 t/h = 44 092.45 lb/h.
    assert_eq!(
        shown(Kind::MassFlow, POUND_KG / 3_600.0, UnitSystem::Us).0,
        "1.000 lb/h"
    );
    assert_eq!(
        shown(Kind::MassFlow, 20_000.0 / 3_600.0, UnitSystem::Si).0,
        "20.00 t/h"
    );
    assert_eq!(
        shown(Kind::MassFlow, 900.0 / 3_600.0, UnitSystem::Si).0,
        "900.0 kg/h"
    );
    let (us, _) = shown(Kind::MassFlow, 20_000.0 / 3_600.0, UnitSystem::Us);
    assert!((value_of(&us) - 20_000.0 / POUND_KG).abs() < 0.5, "{us}");
    // 1 Btu/lb = 2.326 kJ/kg exactly; natural gas HHV about 55.5 MJ/kg = 23 861 Btu/lb.
    assert_eq!(
        shown(Kind::SpecificEnergy, BTU_J / POUND_KG, UnitSystem::Us).0,
        "1.000 Btu/lb"
    );
    let (us, _) = shown(Kind::SpecificEnergy, 55.5e6, UnitSystem::Us);
    assert!(
        (value_of(&us) - 55.5e6 * POUND_KG / BTU_J).abs() < 0.5,
        "{us}"
    );
    // 1 Btu/(lb·°F) = 4.1868 kJ/(kg·K).
    assert_eq!(
        shown(Kind::SpecificEntropy, 4_186.8, UnitSystem::Us).0,
        "1.000 Btu/(lb·°F)"
    );
    assert_eq!(
        shown(Kind::SpecificEntropy, 4_186.8, UnitSystem::Si).0,
        "4.187 kJ/(kg·K)"
    );
}

#[test]
fn unshowable_values_are_not_quantities_and_percentages_never_convert() {
    assert_eq!(
        qty(Kind::Temperature, -1.0, UnitSystem::Us).into_string(),
        "—"
    );
    assert_eq!(
        qty(Kind::Power, f64::NAN, UnitSystem::Si).into_string(),
        "—"
    );
    assert_eq!(
        percent(Some(84.456)).into_string(),
        "<span class=\"pct\" data-kind=\"percent\">84.46 %</span>"
    );
    assert_eq!(number(-0.0004), "-0.000400");
    assert_eq!(number(1234.56), "1235");
}

/// The `<svg>` inside the element with `id` of a page.
fn svg_in<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + html[at..].find("<svg").expect("an svg");
    let end = start + html[start..].find("</svg>").expect("svg end") + "</svg>".len();
    &html[start..end]
}

/// An SVG's title and its text elements joined by spaces, so a wrapped label reads whole.
fn svg_text(svg: &str) -> (String, String) {
    let doc = roxmltree::Document::parse(svg).expect("the Sankey SVG parses");
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .expect("a title")
        .to_string();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    (title, texts.join(" "))
}

/// Every power figure "NUMBER UNIT" of a text (a unit name such as "25 MW)" is not one).
fn power_figures(text: &str) -> Vec<(f64, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| ["MW", "kW", "MMBtu/h", "kBtu/h"].contains(&w[1]))
        .filter_map(|w| Some((w[0].parse().ok()?, w[1].to_string())))
        .collect()
}

/// The figure that follows `prefix` in a text.
fn figure_after(text: &str, prefix: &str) -> (f64, String) {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len();
    let mut words = text[at..].split_whitespace();
    let value = words.next().and_then(|w| w.parse().ok()).expect("a number");
    (value, words.next().expect("a unit").to_string())
}

/// Checks a US figure against the SI power `watts` converted with 1 Btu = 1055.05585262 J
/// and 1 h = 3600 s: MMBtu/h from 1 MMBtu/h (two decimals), else kBtu/h (one decimal).
fn assert_us_figure((shown, unit): &(f64, String), watts: f64) {
    let mmbtu_h = watts * 3_600.0 / (BTU_J * 1e6);
    let (want, half_step) = match unit.as_str() {
        "MMBtu/h" => (mmbtu_h, 0.005),
        "kBtu/h" => (mmbtu_h * 1e3, 0.05),
        other => panic!("{other} is not a US power unit"),
    };
    assert_eq!(unit == "MMBtu/h", mmbtu_h >= 1.0, "{shown} {unit}");
    assert!(
        (shown - want).abs() <= half_step * 1.000_001,
        "{shown} {unit} vs {want}"
    );
}

/// A US Sankey: every figure, title included, in MMBtu/h or kBtu/h on the right side of
/// the 1 MMBtu/h threshold, and none in MW or kW.
fn assert_us_sankey(svg: &str) -> (String, String) {
    let (title, text) = svg_text(svg);
    let figures = power_figures(&text);
    assert!(figures.len() > 5, "{text}");
    for (value, unit) in figures.iter().chain(&power_figures(&title)) {
        match unit.as_str() {
            "MMBtu/h" => assert!(value.abs() >= 1.0, "{value} {unit}"),
            "kBtu/h" => assert!(value.abs() <= 1_000.0, "{value} {unit}"),
            _ => panic!("{value} {unit} in a US Sankey: {text}"),
        }
    }
    (title, text)
}

/// The Sankey model of the calculation on `basis`, as the API answers it (SI, W).
async fn sankey_model(app: &web_support::WebApp, id: &str, basis: &str) -> serde_json::Value {
    let (status, model) = app
        .api(
            reqwest::Method::GET,
            &format!("/calculations/{id}/sankey?format=json&basis={basis}"),
            &serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{model}");
    model
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sankey_labels_follow_the_unit_system() {
    let app = web_support::sqlite().await;
    let id = app.demo_calculation().await;
    let (session, _) = app.sign_in(&app.viewer).await;
    let us = format!("{session}; thermaliq_units=us");
    let si = format!("{session}; thermaliq_units=si");
    let energy = sankey_model(&app, &id, "hhv").await;
    let exergy = sankey_model(&app, &id, "exergy").await;
    let watts = |v: &serde_json::Value| v.as_f64().expect("a number of W");
    let fuel = energy["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "fuel:BLR-001")
        .expect("the boiler's fuel node");
    let fuel_name = fuel["name"].as_str().unwrap();

    let page = |cookies: String| {
        let app = &app;
        let id = &id;
        async move {
            let r = app.get(&format!("/calculations/{id}"), &cookies).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let page_us = page(us.clone()).await;
    let (title, text) = assert_us_sankey(svg_in(&page_us, "sankey-energy"));
    assert_us_figure(
        &figure_after(&title, "fuel input"),
        watts(&energy["reference"]),
    );
    assert_us_figure(&figure_after(&text, fuel_name), watts(&fuel["value"]));
    let (title, _) = assert_us_sankey(svg_in(&page_us, "sankey-exergy"));
    assert_us_figure(
        &figure_after(&title, "fuel exergy"),
        watts(&exergy["reference"]),
    );
    // In SI the same flow reads in MW, as before the switch existed.
    let page_si = page(si.clone()).await;
    for figure in ["sankey-energy", "sankey-exergy"] {
        let (title, text) = svg_text(svg_in(&page_si, figure));
        let figures = power_figures(&format!("{title} {text}"));
        assert!(figures.len() > 5, "{text}");
        assert!(
            figures.iter().all(|(_, u)| u == "MW" || u == "kW"),
            "{text}"
        );
    }
    let (_, text) = svg_text(svg_in(&page_si, "sankey-energy"));
    let (mw, unit) = figure_after(&text, fuel_name);
    assert_eq!(unit, "MW");
    assert!((mw - watts(&fuel["value"]) / 1e6).abs() <= 0.005 * 1.000_001);

    // The facility page's latest Sankey is the same calculation, with its caption's units.
    let facility = |cookies: String| {
        let app = &app;
        async move {
            let r = app.get("/facilities/FAC-DEMO-001", &cookies).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let html = facility(us).await;
    assert!(html.contains(&format!("href=\"/calculations/{id}\"")));
    let (title, text) = assert_us_sankey(svg_in(&html, "sankey-figure"));
    assert_us_figure(
        &figure_after(&title, "fuel input"),
        watts(&energy["reference"]),
    );
    assert_us_figure(&figure_after(&text, fuel_name), watts(&fuel["value"]));
    assert!(html.contains("HHV energy basis; flows in kBtu/h or MMBtu/h."));
    let html = facility(si).await;
    assert!(html.contains("HHV energy basis; flows in kW or MW."));
    let (title, text) = svg_text(svg_in(&html, "sankey-figure"));
    assert!(
        power_figures(&format!("{title} {text}"))
            .iter()
            .all(|(_, u)| u == "MW" || u == "kW")
    );
}
