//! The same physical boiler stated in SI and in US customary units gives the same results to
//! 1e-9 relative: units are converted once, at the boundary, and nowhere else.

use proptest::prelude::*;
use serde_json::{Value, json};
use server::calc::{RunOptions, calculate_json};
use thermo::units::{Dimension, from_si};

const AMBIENT_PA: f64 = 101_325.0;

/// A steam-boiler document with every dimensional value written in the given units.
struct Units {
    temperature: &'static str,
    pressure: &'static str,
    mass_flow: &'static str,
    power: &'static str,
}

const SI: Units = Units {
    temperature: "K",
    pressure: "kPa",
    mass_flow: "kg/h",
    power: "kW",
};
const US: Units = Units {
    temperature: "°F",
    pressure: "psig",
    mass_flow: "lb/h",
    power: "Btu/h",
};

/// The boiler state in SI: fuel kg/s, steam kg/s (14–17.5 kg of steam per kg of gas, 65–85 %
/// efficient), steam pressure Pa abs, feedwater, stack and
/// air temperatures K, O2 fraction, auxiliary power W.
#[derive(Debug, Clone, Copy)]
struct State {
    fuel: f64,
    steam: f64,
    pressure: f64,
    feedwater: f64,
    stack: f64,
    air: f64,
    o2: f64,
    aux: f64,
}

fn q(si: f64, unit: &str, dim: Dimension) -> Value {
    json!({ "value": from_si(si, unit, dim, AMBIENT_PA).unwrap(), "unit": unit })
}

fn document(s: State, u: &Units) -> String {
    json!({
        "equipment": { "type": "steam_boiler" },
        "fuel": { "standard": "natural_gas", "temperature": q(s.air, u.temperature, Dimension::Temperature) },
        "fuel_flow": q(s.fuel, u.mass_flow, Dimension::MassFlow),
        "output": { "steam": {
            "flow": q(s.steam, u.mass_flow, Dimension::MassFlow),
            "pressure": q(s.pressure, u.pressure, Dimension::Pressure),
            "quality": 1.0,
            "feedwater_temperature": q(s.feedwater, u.temperature, Dimension::Temperature),
        }},
        "flue_gas": {
            "o2": s.o2,
            "o2_basis": "dry",
            "temperature": q(s.stack, u.temperature, Dimension::Temperature),
        },
        "combustion_air": {
            "temperature": q(s.air, u.temperature, Dimension::Temperature),
            "relative_humidity": 0.5,
        },
        "auxiliary_power": q(s.aux, u.power, Dimension::Power),
    })
    .to_string()
}

fn figures(doc: &str) -> Vec<f64> {
    let out = serde_json::to_value(calculate_json(doc, RunOptions::default()).unwrap()).unwrap();
    let e = &out["efficiency_percent"];
    [
        "/direct/HHV",
        "/direct/LHV",
        "/indirect/HHV",
        "/indirect/LHV",
        "/exergy",
    ]
    .iter()
    .map(|p| e.pointer(p).and_then(Value::as_f64).unwrap())
    .collect()
}

fn state() -> impl Strategy<Value = State> {
    (
        0.05..1.0f64,
        14.0..17.5f64,
        3.0e5..3.0e6f64,
        330.0..380.0f64,
        420.0..520.0f64,
        275.0..310.0f64,
        0.01..0.08f64,
        0.0..50e3f64,
    )
        .prop_map(
            |(fuel, ratio, pressure, feedwater, stack, air, o2, aux)| State {
                fuel,
                steam: fuel * ratio,
                pressure,
                feedwater,
                stack,
                air,
                o2,
                aux,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn si_and_us_customary_inputs_give_the_same_results(s in state()) {
        let si = figures(&document(s, &SI));
        let us = figures(&document(s, &US));
        for (a, b) in si.iter().zip(&us) {
            prop_assert!(((a - b) / a).abs() < 1e-9, "SI {a} vs US {b} for {s:?}");
        }
    }
}
