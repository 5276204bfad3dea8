//! Unit conversion at the boundary, checked against published conversion factors.
//!
//! Main source: NIST Special Publication 811 (2008 ed.), "Guide for the Use of the
//! International System of Units", Appendix B.8 (factors for units listed alphabetically),
//! which gives factors to 7 significant digits or as exact values. A 7-digit factor is
//! checked with a relative tolerance of 1e-6 (half a unit in the last digit is at most
//! 5e-7 of the value); an exact factor with 1e-12.

use proptest::prelude::*;
use thermo::ErrorKind;
use thermo::units::{self, Dimension, accepted_units, convert, from_si, parse_quantity};

const ATM: f64 = 101_325.0;

fn close(actual: f64, expected: f64, rel: f64) {
    let err = ((actual - expected) / expected).abs();
    assert!(
        err <= rel,
        "{actual} differs from {expected} by {err:e} (relative), more than {rel:e}"
    );
}

fn si(text: &str, dim: Dimension) -> f64 {
    parse_quantity(text, dim, ATM).unwrap_or_else(|e| panic!("{text}: {e}"))
}

// NIST SP 811 (2008), B.8: pound-force per square inch (psi) = 6.894 757 E+03 Pa.
#[test]
fn psi_matches_nist() {
    close(si("1 psia", Dimension::Pressure), 6.894_757e3, 1e-6);
}

// NIST SP 811 (2008), B.8: bar = 1.0 E+05 Pa, atmosphere, standard = 1.013 25 E+05 Pa,
// kilogram-force per square centimeter = 9.806 65 E+04 Pa (all exact), millimeter of mercury,
// conventional = 1.333 224 E+02 Pa, inch of mercury, conventional = 3.386 389 E+03 Pa.
#[test]
fn other_pressure_units_match_nist() {
    close(si("1 bar", Dimension::Pressure), 1.0e5, 1e-12);
    close(si("1 bar(a)", Dimension::Pressure), 1.0e5, 1e-12);
    close(si("1 atm", Dimension::Pressure), 1.013_25e5, 1e-12);
    close(si("1 kgf/cm2(a)", Dimension::Pressure), 9.806_65e4, 1e-12);
    close(si("1 mmHg", Dimension::Pressure), 1.333_224e2, 1e-6);
    close(si("1 inHg", Dimension::Pressure), 3.386_389e3, 1e-6);
    close(si("3MPa", Dimension::Pressure), 3.0e6, 1e-12);
    close(si("3 MPa", Dimension::Pressure), 3.0e6, 1e-12);
    close(si("950 mbar", Dimension::Pressure), 9.5e4, 1e-12);
}

// Gauge pressure is absolute pressure minus ambient (ISO 80000-4, item 4-15.2); with the
// NIST psi factor above, 150 psig at 1 atm ambient is 150 × 6.894 757 kPa + 101.325 kPa.
#[test]
fn gauge_units_add_the_ambient_pressure() {
    close(si("10 bar(g)", Dimension::Pressure), 1.0e6 + ATM, 1e-12);
    close(si("10 barg", Dimension::Pressure), 1.0e6 + ATM, 1e-12);
    close(si("10 bar (g)", Dimension::Pressure), 1.0e6 + ATM, 1e-12);
    close(
        si("150 psig", Dimension::Pressure),
        150.0 * 6.894_757e3 + ATM,
        1e-6,
    );
    close(si("500 kPa(g)", Dimension::Pressure), 5.0e5 + ATM, 1e-12);
    close(si("500 kPag", Dimension::Pressure), 5.0e5 + ATM, 1e-12);
    close(si("1.2 MPag", Dimension::Pressure), 1.2e6 + ATM, 1e-12);
    let high_site = parse_quantity("10 bar(g)", Dimension::Pressure, 84_000.0).unwrap();
    close(high_site, 1.0e6 + 84_000.0, 1e-12);
    let absolute = parse_quantity("10 bar", Dimension::Pressure, f64::NAN).unwrap();
    close(absolute, 1.0e6, 1e-12);
}

#[test]
fn gauge_readings_need_a_valid_ambient_and_give_a_positive_absolute_pressure() {
    let err = parse_quantity("10 psig", Dimension::Pressure, f64::NAN).unwrap_err();
    assert_eq!(err.field(), "ambient_pressure");
    let err = parse_quantity("10 psig", Dimension::Pressure, -1.0).unwrap_err();
    assert_eq!(err.field(), "ambient_pressure");
    let err = parse_quantity("-2 bar(g)", Dimension::Pressure, ATM).unwrap_err();
    assert_eq!(err.field(), "value");
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    assert!(parse_quantity("0 Pa", Dimension::Pressure, ATM).is_err());
}

// SI Brochure (BIPM, 9th ed., 2019), 2.3.1: T/K = t/°C + 273.15. NIST SP 811 (2008), B.8:
// T/K = (t/°F + 459.67)/1.8 and T/K = (T/°R)/1.8, both exact. 212 °F is the normal boiling
// point of water, 100 °C = 373.15 K; −40 °F = −40 °C.
#[test]
fn temperatures_match_the_defining_relations() {
    close(si("212 °F", Dimension::Temperature), 373.15, 1e-14);
    close(si("212 degF", Dimension::Temperature), 373.15, 1e-14);
    close(si("212 F", Dimension::Temperature), 373.15, 1e-14);
    close(si("212°F", Dimension::Temperature), 373.15, 1e-14);
    close(si("-40 °F", Dimension::Temperature), 233.15, 1e-14);
    close(si("-40 °C", Dimension::Temperature), 233.15, 1e-14);
    close(si("25 C", Dimension::Temperature), 298.15, 1e-14);
    close(si("25 degC", Dimension::Temperature), 298.15, 1e-14);
    close(si("298.15 K", Dimension::Temperature), 298.15, 1e-14);
    close(si("500 R", Dimension::Temperature), 500.0 / 1.8, 1e-14);
    close(si("671.67 °R", Dimension::Temperature), 373.15, 1e-14);
    close(
        si("350 °F", Dimension::Temperature),
        (350.0 + 459.67) / 1.8,
        1e-14,
    );
}

// NIST SP 811 (2008), B.8: degree Fahrenheit (temperature interval) = 5.555 556 E-01 K,
// degree Celsius (interval) = 1 K.
#[test]
fn temperature_differences_use_the_size_of_the_degree() {
    close(si("9 °F", Dimension::TemperatureDifference), 5.0, 1e-14);
    close(
        si("1 degF", Dimension::TemperatureDifference),
        5.555_556e-1,
        1e-6,
    );
    close(si("30 °C", Dimension::TemperatureDifference), 30.0, 1e-14);
    close(si("-4 K", Dimension::TemperatureDifference), -4.0, 1e-14);
}

#[test]
fn temperatures_at_or_below_absolute_zero_are_refused() {
    let err = parse_quantity("-500 °F", Dimension::Temperature, ATM).unwrap_err();
    assert_eq!(err.field(), "value");
    assert!(parse_quantity("0 R", Dimension::Temperature, ATM).is_err());
    assert!(parse_quantity("-300 °C", Dimension::Temperature, ATM).is_err());
}

// NIST SP 811 (2008), B.8: pound per hour = 1.259 979 E-04 kg/s; ton, metric (t) = 1.0 E+03 kg
// exact; hour = 3.6 E+03 s exact.
#[test]
fn mass_flows_match_nist() {
    close(si("1 lb/h", Dimension::MassFlow), 1.259_979e-4, 1e-6);
    close(
        si("22000 lb/h", Dimension::MassFlow),
        22_000.0 * 1.259_979e-4,
        1e-6,
    );
    close(
        si("22000 lbs/hr", Dimension::MassFlow),
        22_000.0 * 1.259_979e-4,
        1e-6,
    );
    close(si("10 t/h", Dimension::MassFlow), 1.0e4 / 3.6e3, 1e-12);
    close(si("5 kg/s", Dimension::MassFlow), 5.0, 1e-12);
    close(si("3600 kg/h", Dimension::MassFlow), 1.0, 1e-12);
}

// Ideal-gas molar volume at 273.15 K and 101.325 kPa, CODATA 2018 (NIST Reference on
// Constants, "molar volume of ideal gas"): 22.413 969 54 L/mol, exact to the digits given.
#[test]
fn normal_cubic_metre_matches_codata_molar_volume() {
    let per_nm3 = 1.0 / 22.413_969_54e-3;
    close(
        si("3600 Nm3/h", Dimension::StandardVolumeFlow),
        per_nm3,
        1e-9,
    );
    close(
        si("3600 Nm³/h", Dimension::StandardVolumeFlow),
        per_nm3,
        1e-9,
    );
    close(si("1 Nm3/s", Dimension::StandardVolumeFlow), 44.6150, 1e-5);
}

// GPA standard molar volumes (GPA 2145, as restated by engstack.com "Standard or normal gas
// volume calculation" and cheresources.com "standard temperature and pressure"):
// 23.645 m³/kmol at 15 °C and 101.325 kPa; 379.482 ft³/lbmol at 60 °F and 14.696 psia.
// Five to six significant digits, so 3e-5 relative.
#[test]
fn standard_cubic_metre_and_foot_match_gpa_molar_volumes() {
    close(
        si("3600 Sm3/h", Dimension::StandardVolumeFlow),
        1.0e3 / 23.645,
        3e-5,
    );
    let per_scf = 453.592_37 / 379.482;
    close(
        si("3600 scf/h", Dimension::StandardVolumeFlow),
        per_scf,
        3e-5,
    );
    close(
        si("35000 scfh", Dimension::StandardVolumeFlow),
        35_000.0 * per_scf / 3600.0,
        3e-5,
    );
    close(si("60 scfm", Dimension::StandardVolumeFlow), per_scf, 3e-5);
    close(
        si("86400 scf/d", Dimension::StandardVolumeFlow),
        per_scf,
        3e-5,
    );
    close(
        si("1 MMscf/d", Dimension::StandardVolumeFlow),
        1.0e6 * per_scf / 86_400.0,
        3e-5,
    );
    close(si("3.6 kmol/h", Dimension::StandardVolumeFlow), 1.0, 1e-12);
}

// NIST SP 811 (2008), B.8: British thermal unit_IT per hour = 2.930 711 E-01 W; horsepower
// (550 ft·lbf/s) = 7.456 999 E+02 W; horsepower (boiler) = 9.809 50 E+03 W;
// calorie_IT = 4.1868 J exact, so kcal_IT/h = 1.163 W exactly.
#[test]
fn power_units_match_nist() {
    close(si("1 Btu/h", Dimension::Power), 2.930_711e-1, 1e-6);
    close(
        si("10 MMBtu/h", Dimension::Power),
        10.0 * 293.071_07e3,
        1e-6,
    );
    close(
        si("10 MMBTU/hr", Dimension::Power),
        10.0 * 293.071_07e3,
        1e-6,
    );
    close(
        si("3.4 kBtu/h", Dimension::Power),
        3.4e3 * 2.930_711e-1,
        1e-6,
    );
    close(si("1 hp", Dimension::Power), 7.456_999e2, 1e-6);
    close(
        si("100 boiler hp", Dimension::Power),
        100.0 * 9.809_50e3,
        1e-6,
    );
    close(si("1 kcal/h", Dimension::Power), 1.163, 1e-12);
    close(si("2 Gcal/h", Dimension::Power), 2.0e9 * 1.163e-3, 1e-12);
    close(si("2.5 MW", Dimension::Power), 2.5e6, 1e-12);
}

// NIST SP 811 (2008), B.8: British thermal unit_IT = 1.055 056 E+03 J; kilowatt hour =
// 3.6 E+06 J exact; therm (EC) = 1.055 06 E+08 J; calorie_IT = 4.1868 J exact.
#[test]
fn energy_units_match_nist() {
    close(si("1 Btu", Dimension::Energy), 1.055_056e3, 1e-6);
    close(si("1 MMBtu", Dimension::Energy), 1.055_056e9, 1e-6);
    close(si("1 kWh", Dimension::Energy), 3.6e6, 1e-12);
    close(si("1 therm", Dimension::Energy), 1.055_06e8, 1e-5);
    close(si("1 kcal", Dimension::Energy), 4.1868e3, 1e-12);
}

// NIST SP 811 (2008), B.8: British thermal unit_IT per pound = 2.326 E+03 J/kg exact;
// British thermal unit_IT per pound degree Fahrenheit = 4.1868 E+03 J/(kg K) exact;
// calorie_IT per gram = 4.1868 E+03 J/kg exact.
#[test]
fn specific_energy_and_entropy_match_nist() {
    close(si("1 Btu/lb", Dimension::SpecificEnergy), 2.326e3, 1e-12);
    close(
        si("19500 Btu/lb", Dimension::SpecificEnergy),
        19_500.0 * 2.326e3,
        1e-12,
    );
    close(si("45 MJ/kg", Dimension::SpecificEnergy), 45.0e6, 1e-12);
    close(si("1 kcal/kg", Dimension::SpecificEnergy), 4.1868e3, 1e-12);
    close(si("1 kJ/(kg K)", Dimension::SpecificEntropy), 1.0e3, 1e-12);
    close(si("1 kJ/kgK", Dimension::SpecificEntropy), 1.0e3, 1e-12);
    close(si("1 kJ/(kg·K)", Dimension::SpecificEntropy), 1.0e3, 1e-12);
    close(si("1 kJ/kg/K", Dimension::SpecificEntropy), 1.0e3, 1e-12);
    close(
        si("1 Btu/(lb F)", Dimension::SpecificEntropy),
        4.1868e3,
        1e-12,
    );
    close(
        si("1 Btu/(lb °F)", Dimension::SpecificEntropy),
        4.1868e3,
        1e-12,
    );
    close(
        si("1 Btu/lb-°R", Dimension::SpecificEntropy),
        4.1868e3,
        1e-12,
    );
}

// NIST SP 811 (2008), B.8: foot = 3.048 E-01 m, square foot = 9.290 304 E-02 m², foot per
// minute = 5.08 E-03 m/s (all exact); pound per cubic foot = 1.601 846 E+01 kg/m³; cubic
// foot per pound = 6.242 796 E-02 m³/kg.
#[test]
fn length_area_velocity_density_volume_match_nist() {
    close(si("150 ft2", Dimension::Area), 150.0 * 9.290_304e-2, 1e-12);
    close(si("150 ft²", Dimension::Area), 150.0 * 9.290_304e-2, 1e-12);
    close(si("12 m2", Dimension::Area), 12.0, 1e-12);
    close(si("5 ft/s", Dimension::Velocity), 5.0 * 0.3048, 1e-12);
    close(si("3 m/s", Dimension::Velocity), 3.0, 1e-12);
    close(si("1 ft/min", Dimension::Velocity), 5.08e-3, 1e-12);
    close(si("10 ft", Dimension::Length), 3.048, 1e-12);
    close(si("1 lb/ft3", Dimension::Density), 1.601_846e1, 1e-6);
    close(
        si("1 ft3/lb", Dimension::SpecificVolume),
        6.242_796e-2,
        1e-6,
    );
}

// SI Brochure (BIPM, 9th ed., 2019), Table 8: min = 60 s, h = 3600 s, d = 86 400 s.
#[test]
fn time_and_fraction_units() {
    close(si("1 h", Dimension::Time), 3600.0, 1e-12);
    close(si("60 min", Dimension::Time), 3600.0, 1e-12);
    close(si("1 d", Dimension::Time), 86_400.0, 1e-12);
    close(si("3 %", Dimension::Fraction), 0.03, 1e-12);
    close(si("3%", Dimension::Fraction), 0.03, 1e-12);
    close(si("50 ppm", Dimension::Fraction), 50.0e-6, 1e-12);
    close(si("0.03", Dimension::Fraction), 0.03, 1e-12);
    close(si("0.03 1", Dimension::Fraction), 0.03, 1e-12);
    close(si("3e-2", Dimension::Fraction), 0.03, 1e-12);
}

#[test]
fn numbers_in_scientific_notation_and_json_form() {
    close(si("3e6 Pa", Dimension::Pressure), 3.0e6, 1e-12);
    close(si("3E+6Pa", Dimension::Pressure), 3.0e6, 1e-12);
    close(si("+2.5e-3 MW", Dimension::Power), 2.5e3, 1e-12);
    close(
        convert(3.0, "MPa", Dimension::Pressure, ATM).unwrap(),
        3.0e6,
        1e-12,
    );
    close(
        convert(350.0, "°F", Dimension::Temperature, ATM).unwrap(),
        (350.0 + 459.67) / 1.8,
        1e-14,
    );
}

#[test]
fn unknown_units_list_the_accepted_ones() {
    let err = parse_quantity("150 foo", Dimension::Pressure, ATM).unwrap_err();
    assert_eq!(err.field(), "unit");
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    assert!(
        err.reason().contains("psig") && err.reason().contains("kPa"),
        "{err}"
    );
    let nested = err.within("steam.pressure");
    assert_eq!(nested.field(), "steam.pressure.unit");
}

#[test]
fn units_of_another_dimension_are_named_as_such() {
    let err = parse_quantity("350 kg/h", Dimension::Temperature, ATM).unwrap_err();
    assert_eq!(err.field(), "unit");
    assert!(err.reason().contains("mass flow"), "{err}");
    assert!(err.reason().contains("temperature"), "{err}");
}

#[test]
fn ambiguous_units_are_refused_with_the_unambiguous_forms() {
    let err = parse_quantity("150 psi", Dimension::Pressure, ATM).unwrap_err();
    assert_eq!(err.field(), "unit");
    assert!(
        err.reason().contains("psia") && err.reason().contains("psig"),
        "{err}"
    );
    for text in ["8.5 MBtu/h", "10 bhp", "5 ton/h", "2 Mscf/d", "3 kg/cm2"] {
        let dim = match text {
            "5 ton/h" => Dimension::MassFlow,
            "2 Mscf/d" => Dimension::StandardVolumeFlow,
            "3 kg/cm2" => Dimension::Pressure,
            _ => Dimension::Power,
        };
        let err = parse_quantity(text, dim, ATM).unwrap_err();
        assert_eq!(err.field(), "unit", "{text}");
        assert!(err.reason().contains("ambiguous"), "{text}: {err}");
    }
}

#[test]
fn case_matters_and_the_message_says_so() {
    let err = parse_quantity("3 mpa", Dimension::Pressure, ATM).unwrap_err();
    assert!(
        err.reason().contains("MPa") && err.reason().contains("case"),
        "{err}"
    );
    assert!(parse_quantity("2 mw", Dimension::Power, ATM).is_err());
}

#[test]
fn missing_or_malformed_numbers_and_units_are_refused() {
    for text in ["MPa", "", "  ", "abc K", "- K", ".K"] {
        let err = parse_quantity(text, Dimension::Pressure, ATM).unwrap_err();
        assert_eq!(err.field(), "value", "{text:?}");
    }
    for text in ["22,000 lb/h", "3.5.1 kg/s", "3,5 kg/s"] {
        let err = parse_quantity(text, Dimension::MassFlow, ATM).unwrap_err();
        assert_eq!(err.field(), "value", "{text:?}");
    }
    let err = parse_quantity("5", Dimension::MassFlow, ATM).unwrap_err();
    assert_eq!(err.field(), "unit");
    let err = parse_quantity("1e400 Pa", Dimension::Pressure, ATM).unwrap_err();
    assert_eq!(err.field(), "value");
    let err = convert(f64::NAN, "%", Dimension::Fraction, ATM).unwrap_err();
    assert_eq!(err.field(), "value");
    let err = convert(f64::INFINITY, "kW", Dimension::Power, ATM).unwrap_err();
    assert_eq!(err.field(), "value");
    assert!(from_si(f64::NAN, "kW", Dimension::Power, ATM).is_err());
    assert!(from_si(-1.0, "°C", Dimension::Temperature, ATM).is_err());
}

#[test]
fn every_dimension_lists_its_si_unit_first() {
    for dim in Dimension::ALL {
        let units = accepted_units(dim);
        assert_eq!(units.first().copied(), Some(dim.si_unit()), "{dim}");
        close(convert(1.0, dim.si_unit(), dim, ATM).unwrap(), 1.0, 0.0);
    }
}

/// A physical SI value of `dim` from `t` in 0..1: temperatures 1..10 000 K, pressures
/// 1 kPa..100 MPa, anything else ±1e-6..1e9 spread logarithmically.
fn si_value(dim: Dimension, t: f64, negative: bool) -> f64 {
    match dim {
        Dimension::Temperature => 1.0 + t * 9_999.0,
        Dimension::Pressure => 10f64.powf(3.0 + 5.0 * t),
        _ => {
            let magnitude = 10f64.powf(-6.0 + 15.0 * t);
            if negative { -magnitude } else { magnitude }
        }
    }
}

proptest! {
    // SI → unit → SI returns the value to 1e-12 relative, for every unit of every dimension.
    #[test]
    fn every_unit_round_trips(t in 0.0f64..1.0, negative: bool, ambient in 5.0e4f64..1.1e5) {
        for dim in Dimension::ALL {
            let value = si_value(dim, t, negative);
            for unit in accepted_units(dim) {
                let shown = from_si(value, unit, dim, ambient).unwrap();
                let back = convert(shown, unit, dim, ambient).unwrap();
                let err = ((back - value) / value).abs();
                prop_assert!(err <= 1e-12, "{dim} {value} -> {shown} {unit} -> {back}");
            }
        }
    }
}

#[test]
fn a_unit_names_its_dimension_and_whether_it_is_gauge() {
    assert_eq!(units::dimension_of("°F"), Some(Dimension::Temperature));
    assert_eq!(
        units::dimension_of("Nm³/h"),
        Some(Dimension::StandardVolumeFlow)
    );
    assert_eq!(units::dimension_of("psig"), Some(Dimension::Pressure));
    assert_eq!(units::dimension_of("furlong"), None);
    assert!(units::is_gauge("bar(g)") && units::is_gauge("psig") && units::is_gauge("kPa(g)"));
    assert!(!units::is_gauge("psia") && !units::is_gauge("bar") && !units::is_gauge("°C"));
    for d in Dimension::ALL {
        assert_eq!(Dimension::from_code(d.code()), Some(d));
    }
    assert_eq!(
        Dimension::TemperatureDifference.code(),
        "temperature_difference"
    );
}

// A price per GJ is 1.055 055 852 62 times as much per MMBtu (1 MMBtu = 10⁶ Btu_IT =
// 1.055 055 852 62 GJ, NIST SP 811 B.8); 1 MWh = 3.6 GJ.
#[test]
fn amounts_per_energy_scale_with_the_reciprocal_of_the_energy_unit() {
    let per_j = si("8 per GJ", Dimension::PerEnergy);
    close(per_j, 8.0e-9, 1e-12);
    close(
        from_si(per_j, "/MMBtu", Dimension::PerEnergy, ATM).unwrap(),
        8.0 * 1.055_055_852_62,
        1e-12,
    );
    close(
        from_si(per_j, "/MWh", Dimension::PerEnergy, ATM).unwrap(),
        8.0 * 3.6,
        1e-12,
    );
    close(
        si("1 /therm", Dimension::PerEnergy),
        1.0 / 105_505_585.262,
        1e-12,
    );
}
