//! Reference inputs shared by the integration tests and the benches.
#![allow(dead_code)] // each test binary uses a different subset

use thermo::combustion::O2Basis;
use thermo::inputs::{
    Blowdown, CombustionAir, DeadState, FiredInputs, FiredKind, FlueGasMeasurement, SteamCondition,
    SteamOutput, SurfaceLoss, UsefulOutput,
};
use thermo::{Fraction, MassFlow, Power, Pressure, Temperature};

/// Celsius to a temperature.
pub fn celsius(c: f64) -> Temperature {
    Temperature::from_celsius(c).unwrap()
}

/// A 25 MW natural-gas steam boiler: 10 bar(g) saturated steam, 105 °C feedwater, 4 %
/// blowdown, 3 % O2 dry, 180 °C stack, 50 ppm CO, 0.5 % casing loss.
pub fn gas_steam_boiler() -> FiredInputs {
    FiredInputs {
        kind: FiredKind::SteamBoiler,
        fuel: thermo::fuel::standard("natural_gas").unwrap(),
        fuel_flow: MassFlow::from_kg_per_s(0.5).unwrap(),
        fuel_temperature: celsius(25.0),
        fuel_specific_heat: None,
        output: UsefulOutput::Steam(SteamOutput {
            steam_flow: MassFlow::from_kg_per_s(9.0).unwrap(),
            steam_pressure: Pressure::from_pascal(1_101_325.0).unwrap(),
            steam_condition: SteamCondition::Saturated {
                quality: Fraction::new(1.0).unwrap(),
            },
            feedwater_temperature: celsius(105.0),
            feedwater_pressure: None,
            blowdown: Blowdown::FractionOfFeedwater(Fraction::new(0.04).unwrap()),
        }),
        flue_gas: FlueGasMeasurement {
            o2: Fraction::new(0.03).unwrap(),
            o2_basis: O2Basis::Dry,
            temperature: celsius(180.0),
            co_dry: Fraction::new(50e-6).unwrap(),
        },
        combustion_air: CombustionAir {
            temperature: celsius(25.0),
            relative_humidity: Fraction::new(0.6).unwrap(),
            pressure: Pressure::from_pascal(101_325.0).unwrap(),
        },
        unburned_carbon: None,
        surface: SurfaceLoss::FractionOfRating {
            fraction: Fraction::new(0.005).unwrap(),
            rating: Power::from_watts(25e6).unwrap(),
        },
        auxiliary_power: Power::from_watts(0.0).unwrap(),
        dead_state: DeadState::standard(),
    }
}
