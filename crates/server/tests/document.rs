//! Conversion of the input document into thermo's SI inputs, checked against published
//! conversion factors.

use server::calc::{self, BoundaryErrorKind};
use thermo::inputs::{EquipmentInputs, SteamCondition, UsefulOutput};
use thermo::uncertainty::{InputId, UncertaintySpec};

fn boiler(steam: &str, extra: &str) -> String {
    format!(
        r#"{{
  "equipment": {{"type": "steam_boiler"}},
  "fuel": {{"standard": "methane"}},
  "fuel_flow": {{"value": 1000, "unit": "Nm3/h", "uncertainty": "2 %"}},
  "output": {{"steam": {steam}}},
  "flue_gas": {{"o2": "3 %", "o2_basis": "dry",
               "temperature": {{"value": 350, "unit": "°F", "uncertainty": "3.6 °F"}}}},
  "combustion_air": {{"temperature": "25 °C", "relative_humidity": "50 %"}}{extra}
}}"#
    )
}

const STEAM: &str = r#"{"flow": "9 t/h", "pressure": {"value": 150, "unit": "psig", "uncertainty": "2 psig"},
    "quality": 1, "feedwater_temperature": "105 °C"}"#;

fn converted(json: &str) -> calc::Converted {
    calc::convert(&calc::read(json).expect("the document reads")).expect("the document converts")
}

fn fired(c: &calc::Converted) -> &thermo::inputs::FiredInputs {
    match &c.inputs {
        EquipmentInputs::Fired(f) => f,
        EquipmentInputs::HeatExchanger(_) => panic!("a steam boiler is fired equipment"),
    }
}

fn stated(c: &calc::Converted, id: InputId) -> UncertaintySpec {
    c.stated
        .iter()
        .find(|s| s.uncertainty.input == id)
        .map(|s| s.uncertainty.expanded)
        .unwrap_or_else(|| panic!("{} has a stated uncertainty", id.as_str()))
}

#[test]
fn gauge_pressure_is_read_against_the_stated_ambient() {
    // NIST SP 811 (2008), B.8: 1 psi = 6.894 757 E+03 Pa. 150 psig on a 14.5 psia barometer
    // is 164.5 psia.
    let c = converted(&boiler(STEAM, r#", "ambient_pressure": "14.5 psia""#));
    let UsefulOutput::Steam(s) = fired(&c).output else {
        panic!("steam output")
    };
    let expected = 164.5 * 6_894.757;
    assert!((s.steam_pressure.pascal() / expected - 1.0).abs() < 1e-6);
    assert!(matches!(
        s.steam_condition,
        SteamCondition::Saturated { .. }
    ));
    // A gauge uncertainty is an interval: 2 psi, without the ambient.
    let UncertaintySpec::Absolute(u) = stated(&c, InputId::SteamPressure) else {
        panic!("absolute")
    };
    assert!((u / (2.0 * 6_894.757) - 1.0).abs() < 1e-6);
}

#[test]
fn temperature_uncertainty_is_a_difference() {
    // NIST SP 811 (2008), 4.2.1.1: a Fahrenheit degree is 5/9 K, so 3.6 °F is 2 K, whereas
    // 350 °F is (350 + 459.67) × 5/9 K.
    let c = converted(&boiler(STEAM, ""));
    let t = fired(&c).flue_gas.temperature.kelvin();
    assert!((t - (350.0 + 459.67) * 5.0 / 9.0).abs() < 1e-9);
    let UncertaintySpec::Absolute(u) = stated(&c, InputId::FlueGasTemperature) else {
        panic!("absolute")
    };
    assert!((u - 2.0).abs() < 1e-12);
}

#[test]
fn normal_cubic_metres_of_gas_become_kilograms_by_the_molar_mass() {
    // CODATA 2018: molar volume of an ideal gas at 273.15 K and 101.325 kPa,
    // 22.413 969 54 L/mol. Methane: M = 16.043 g/mol (IUPAC 2013 conventional weights,
    // C 12.011, H 1.008).
    let c = converted(&boiler(STEAM, ""));
    let expected = 1000.0 / 3600.0 / 22.413_969_54e-3 * 16.043e-3;
    let m = fired(&c).fuel_flow.kg_per_s();
    assert!(
        (m / expected - 1.0).abs() < 1e-9,
        "{m} kg/s vs {expected} kg/s"
    );
    assert_eq!(
        stated(&c, InputId::FuelFlow),
        UncertaintySpec::Relative(0.02)
    );
}

#[test]
fn refusals_name_the_field() {
    let cases = [
        (
            boiler(STEAM, r#", "ambient_pressure": "1 bar(g)""#),
            "ambient_pressure",
            BoundaryErrorKind::Invalid,
        ),
        (
            boiler(
                r#"{"flow": "9 t/h", "pressure": "10 bar(g)", "feedwater_temperature": "105 °C"}"#,
                "",
            ),
            "output.steam.temperature",
            BoundaryErrorKind::Invalid,
        ),
        (
            boiler(STEAM, r#", "surface": {"measured": {"area": "-3 m2"}}"#),
            "surface.measured",
            BoundaryErrorKind::Shape,
        ),
        (
            boiler(STEAM, r#", "hot": {"water": {}}"#),
            "hot",
            BoundaryErrorKind::Shape,
        ),
    ];
    for (json, path, kind) in cases {
        let e = calc::read(&json)
            .and_then(|doc| calc::convert(&doc).map(|_| ()))
            .expect_err("refused");
        assert!(e.path().starts_with(path), "{path}: got {e}");
        assert_eq!(e.kind(), kind, "{e}");
    }
}

#[test]
fn a_fraction_uncertainty_in_percent_must_say_relative_or_absolute() {
    let json = boiler(STEAM, "").replace(
        r#""o2": "3 %""#,
        r#""o2": {"value": 3, "unit": "%", "uncertainty": "0.2 %"}"#,
    );
    let e = calc::convert(&calc::read(&json).expect("reads")).expect_err("ambiguous");
    assert_eq!(e.path(), "flue_gas.o2");
    assert!(e.reason().contains("% abs"), "{e}");
}
