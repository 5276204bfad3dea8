//! Units shared by the analysis tests, the bench and the example: the demo facility's gas
//! boiler and furnace (crates/server/src/demo/facility.toml, at 78 % load) and an oil-fired
//! hot-water boiler.
#![allow(dead_code)] // each test binary uses a different subset

use thermo::combustion::O2Basis;
use thermo::inputs::{
    Blowdown, CombustionAir, DeadState, FiredInputs, FiredKind, FlueGasMeasurement, MeteredHeat,
    SteamCondition, SteamOutput, SurfaceLoss, SurfaceMeasurement, UsefulOutput, WaterStream,
};
use thermo::results::FiredResult;
use thermo::{Fraction, MassFlow, Power, Pressure, Temperature};

/// Celsius to a temperature.
pub fn celsius(c: f64) -> Temperature {
    Temperature::from_celsius(c).unwrap()
}

fn fraction(x: f64) -> Fraction {
    Fraction::new(x).unwrap()
}

fn air(t_c: f64, rh: f64) -> CombustionAir {
    CombustionAir {
        temperature: celsius(t_c),
        relative_humidity: fraction(rh),
        pressure: Pressure::from_pascal(101_325.0).unwrap(),
    }
}

/// The demo's natural-gas steam boiler BLR-001 (25 MW) at 78 % load: 0.34 kg/s of gas,
/// 10 bar(g) dry saturated steam, 105 °C feedwater, 3 % blowdown, 2.95 % O2 dry, 170 °C
/// stack, 25 ppm CO, air 14 °C and 70 %, gas at 12 °C, casing loss 0.4 % of rating. The
/// steam flow is set so that the balance closes with `closure` (fraction of fuel input, HHV).
pub fn gas_boiler(closure: f64) -> FiredInputs {
    let mut inputs = FiredInputs {
        kind: FiredKind::SteamBoiler,
        fuel: thermo::fuel::standard("natural_gas").unwrap(),
        fuel_flow: MassFlow::from_kg_per_s(0.34).unwrap(),
        fuel_temperature: celsius(12.0),
        fuel_specific_heat: None,
        output: UsefulOutput::Steam(SteamOutput {
            steam_flow: MassFlow::from_kg_per_s(6.0).unwrap(),
            steam_pressure: Pressure::from_pascal(1_101_325.0).unwrap(),
            steam_condition: SteamCondition::Saturated {
                quality: fraction(1.0),
            },
            feedwater_temperature: celsius(105.0),
            feedwater_pressure: None,
            blowdown: Blowdown::FractionOfFeedwater(fraction(0.03)),
        }),
        flue_gas: FlueGasMeasurement {
            o2: fraction(0.0295),
            o2_basis: O2Basis::Dry,
            temperature: celsius(170.0),
            co_dry: fraction(25e-6),
        },
        combustion_air: air(14.0, 0.7),
        unburned_carbon: None,
        surface: SurfaceLoss::FractionOfRating {
            fraction: fraction(0.004),
            rating: Power::from_watts(25e6).unwrap(),
        },
        auxiliary_power: Power::from_watts(0.0).unwrap(),
        dead_state: DeadState::standard(),
    };
    set_steam_for_closure(&mut inputs, closure);
    inputs
}

/// Sets the steam flow so that the HHV closure equals `closure` (the balance is linear in
/// the steam flow, as the demo's forward model uses).
pub fn set_steam_for_closure(inputs: &mut FiredInputs, closure: f64) {
    let at = |inputs: &mut FiredInputs, m: f64| {
        if let UsefulOutput::Steam(ref mut s) = inputs.output {
            s.steam_flow = MassFlow::from_kg_per_s(m).unwrap();
        }
        thermo::fired::calculate_fired(inputs).unwrap().closure.hhv
    };
    let (m1, m2) = (5.0, 7.0);
    let (c1, c2) = (at(inputs, m1), at(inputs, m2));
    let m = m1 + (closure - c1) * (m2 - m1) / (c2 - c1);
    at(inputs, m);
}

/// The demo's process furnace FUR-001 (natural gas, metered duty) at 80 % load: 0.155 kg/s
/// of gas, 3.5 % O2 dry, 465 °C flue gas, 5.0 MW delivered at 650 °C, casing 1.5 % of 8 MW.
pub fn gas_furnace() -> FiredInputs {
    FiredInputs {
        kind: FiredKind::ProcessFurnace,
        fuel: thermo::fuel::standard("natural_gas").unwrap(),
        fuel_flow: MassFlow::from_kg_per_s(0.155).unwrap(),
        fuel_temperature: celsius(15.0),
        fuel_specific_heat: None,
        output: UsefulOutput::Metered(MeteredHeat {
            duty: Power::from_watts(5.0e6).unwrap(),
            delivery_temperature: celsius(650.0),
        }),
        flue_gas: FlueGasMeasurement {
            o2: fraction(0.035),
            o2_basis: O2Basis::Dry,
            temperature: celsius(465.0),
            co_dry: fraction(0.0),
        },
        combustion_air: air(14.0, 0.6),
        unburned_carbon: None,
        surface: SurfaceLoss::FractionOfRating {
            fraction: fraction(0.015),
            rating: Power::from_watts(8e6).unwrap(),
        },
        auxiliary_power: Power::from_watts(30e3).unwrap(),
        dead_state: DeadState::standard(),
    }
}

/// An oil-fired (No. 2) hot-water boiler: 0.05 kg/s of oil, 23 kg/s of water 70 → 90 °C,
/// 4.5 % O2 dry, 230 °C stack, a measured 12 m² casing at 85 °C.
pub fn oil_hot_water_boiler() -> FiredInputs {
    FiredInputs {
        kind: FiredKind::HotWaterBoiler,
        fuel: thermo::fuel::standard("fuel_oil_no2").unwrap(),
        fuel_flow: MassFlow::from_kg_per_s(0.05).unwrap(),
        fuel_temperature: celsius(30.0),
        fuel_specific_heat: None,
        output: UsefulOutput::Water(WaterStream {
            flow: MassFlow::from_kg_per_s(23.0).unwrap(),
            inlet_temperature: celsius(70.0),
            outlet_temperature: celsius(90.0),
            pressure: Pressure::from_pascal(400_000.0).unwrap(),
        }),
        flue_gas: FlueGasMeasurement {
            o2: fraction(0.045),
            o2_basis: O2Basis::Dry,
            temperature: celsius(230.0),
            co_dry: fraction(10e-6),
        },
        combustion_air: air(20.0, 0.5),
        unburned_carbon: None,
        surface: SurfaceLoss::Measured(SurfaceMeasurement {
            area: 12.0,
            temperature: celsius(85.0),
            ambient_temperature: celsius(20.0),
            air_velocity: 0.0,
            emissivity: fraction(0.9),
        }),
        auxiliary_power: Power::from_watts(5e3).unwrap(),
        dead_state: DeadState::standard(),
    }
}

/// The result of `inputs`.
pub fn run(inputs: &FiredInputs) -> FiredResult {
    thermo::fired::calculate_fired(inputs).unwrap()
}
