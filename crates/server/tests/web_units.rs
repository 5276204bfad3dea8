//! The display units of the browser application against independent published values
//! (NIST SP 811, 2008, Appendix B: 1 psi = 6.894 757 kPa, 1 Btu_IT = 1 055.055 852 62 J,
//! 1 lb = 0.453 592 37 kg; °F = °C × 9/5 + 32), never against numbers the code printed.

use server::web::units::{Kind, UnitSystem, number, percent, qty};

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
