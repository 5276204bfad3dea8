//! Property tests of the fired-equipment calculation over realistic gas-, oil- and coal-fired
//! steam boilers: trends of the heat-loss method, closure of the energy and exergy balances on
//! both heating-value bases, bounds, determinism and consistency of the O2 basis.
//!
//! These are laws the results must obey whatever the inputs, so no published value is
//! involved; the comparison with published values is in tests/validation.rs.

use proptest::prelude::*;
use thermo::combustion::O2Basis;
use thermo::fired::calculate_fired;
use thermo::fuel::{Fuel, library};
use thermo::inputs::{
    Blowdown, CombustionAir, DeadState, FiredInputs, FiredKind, FlueGasMeasurement, SteamCondition,
    SteamOutput, SurfaceLoss, SurfaceMeasurement, UnburnedCarbon, UsefulOutput,
};
use thermo::results::{Basis, FiredResult};
use thermo::species::Species;
use thermo::{Fraction, MassFlow, Power, Pressure, Temperature};

/// Relative tolerance of the balance identities: they are sums of a dozen terms of the
/// fuel input's magnitude, so rounding stays some orders of magnitude below this.
const CLOSURE: f64 = 1e-9;

/// Enthalpy rise from feedwater at 105 °C to dry saturated steam at 11 bar(a), J/kg (IF97,
/// rounded): used only to size a plausible steam flow for a target efficiency.
const STEAM_RISE: f64 = 2.34e6;

/// One boiler operating point; every field is drawn by the strategy below.
#[derive(Debug, Clone)]
struct Point {
    fuel: usize,
    fuel_flow: f64,
    target_efficiency: f64,
    o2: f64,
    stack_c: f64,
    air_c: f64,
    humidity: f64,
    co_ppm: f64,
    carbon_in_refuse: f64,
    blowdown: f64,
    casing_c: f64,
    auxiliary_kw: f64,
}

fn fuel(index: usize) -> Fuel {
    match index {
        0 => library::natural_gas(),
        1 => library::fuel_oil_no2(),
        2 => library::fuel_oil_no6(),
        _ => library::bituminous_coal(),
    }
}

fn point() -> impl Strategy<Value = Point> {
    (
        (0usize..4, 0.05..2.0f64, 0.70..0.95f64, 0.01..0.09f64),
        (120.0..350.0f64, 0.0..40.0f64, 0.0..0.9f64, 0.0..200.0f64),
        (0.0..0.15f64, 0.0..0.08f64, 40.0..80.0f64, 0.0..50.0f64),
    )
        .prop_map(
            |(
                (fuel, fuel_flow, target_efficiency, o2),
                (stack_c, air_c, humidity, co_ppm),
                (carbon_in_refuse, blowdown, casing_c, auxiliary_kw),
            )| Point {
                fuel,
                fuel_flow,
                target_efficiency,
                o2,
                stack_c,
                air_c,
                humidity,
                co_ppm,
                carbon_in_refuse,
                blowdown,
                casing_c,
                auxiliary_kw,
            },
        )
}

fn t(c: f64) -> Temperature {
    Temperature::from_celsius(c).unwrap()
}

fn inputs(p: &Point, o2: f64, o2_basis: O2Basis) -> FiredInputs {
    let fuel = fuel(p.fuel);
    let solid = p.fuel == 3;
    let steam_flow = p.target_efficiency * p.fuel_flow * fuel.hhv() / STEAM_RISE;
    FiredInputs {
        kind: FiredKind::SteamBoiler,
        fuel,
        fuel_flow: MassFlow::from_kg_per_s(p.fuel_flow).unwrap(),
        fuel_temperature: t(30.0),
        fuel_specific_heat: None,
        output: UsefulOutput::Steam(SteamOutput {
            steam_flow: MassFlow::from_kg_per_s(steam_flow).unwrap(),
            steam_pressure: Pressure::from_pascal(11e5).unwrap(),
            steam_condition: SteamCondition::Saturated {
                quality: Fraction::new(0.99).unwrap(),
            },
            feedwater_temperature: t(105.0),
            feedwater_pressure: Some(Pressure::from_pascal(12e5).unwrap()),
            blowdown: Blowdown::FractionOfFeedwater(Fraction::new(p.blowdown).unwrap()),
        }),
        flue_gas: FlueGasMeasurement {
            o2: Fraction::new(o2).unwrap(),
            o2_basis,
            temperature: t(p.stack_c),
            co_dry: Fraction::new(p.co_ppm * 1e-6).unwrap(),
        },
        combustion_air: CombustionAir {
            temperature: t(p.air_c),
            relative_humidity: Fraction::new(p.humidity).unwrap(),
            pressure: Pressure::from_pascal(101_325.0).unwrap(),
        },
        unburned_carbon: solid.then(|| UnburnedCarbon {
            carbon_in_refuse: Fraction::new(p.carbon_in_refuse).unwrap(),
        }),
        surface: SurfaceLoss::Measured(SurfaceMeasurement {
            area: 20.0 * p.fuel_flow,
            temperature: t(p.casing_c),
            ambient_temperature: t(p.air_c.min(35.0)),
            air_velocity: 0.5,
            emissivity: Fraction::new(0.8).unwrap(),
        }),
        auxiliary_power: Power::from_watts(p.auxiliary_kw * 1e3 * p.fuel_flow).unwrap(),
        dead_state: DeadState::standard(),
    }
}

fn run(p: &Point) -> FiredResult {
    calculate_fired(&inputs(p, p.o2, O2Basis::Dry)).unwrap()
}

/// Every floating-point figure of a result, in a fixed order, for bit-wise comparison.
fn figures(r: &FiredResult) -> Vec<f64> {
    let mut v = vec![r.useful_output];
    for b in [
        r.fuel_input,
        r.direct_efficiency,
        r.indirect_efficiency,
        r.unaccounted,
        r.closure,
        r.available_heat,
    ] {
        v.extend([b.hhv, b.lhv]);
    }
    for l in &r.losses {
        v.extend([l.power.hhv, l.power.lhv, l.fraction.hhv, l.fraction.lhv]);
    }
    for c in &r.credits {
        v.extend([c.power, c.fraction.hhv, c.fraction.lhv]);
    }
    let c = &r.combustion;
    v.extend([
        c.excess_air,
        c.stoichiometric_air_fuel_ratio,
        c.dry_air_flow,
        c.flue_gas_flow,
        c.water_dew_point.unwrap_or(-1.0),
    ]);
    v.extend(c.flue_gas_wet);
    v.extend(c.flue_gas_dry);
    let x = &r.exergy;
    v.extend([
        x.fuel,
        x.combustion_air,
        x.auxiliary_power,
        x.useful,
        x.destruction,
        x.efficiency,
    ]);
    v.extend(x.losses.iter().map(|(_, w)| *w));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // A hotter stack carries more heat away: the heat-loss efficiency falls on both bases.
    #[test]
    fn efficiency_falls_as_stack_temperature_rises(p in point(), rise in 1.0..150.0f64) {
        let cold = run(&p);
        let hot = run(&Point { stack_c: p.stack_c + rise, ..p.clone() });
        for b in [Basis::Hhv, Basis::Lhv] {
            prop_assert!(
                hot.indirect_efficiency.on(b) < cold.indirect_efficiency.on(b),
                "{b:?}: {} at +{rise} K vs {}",
                hot.indirect_efficiency.on(b),
                cold.indirect_efficiency.on(b)
            );
        }
    }

    // More excess air means more gas heated to the stack temperature: efficiency falls.
    #[test]
    fn efficiency_falls_as_o2_rises(p in point(), more in 0.001..0.03f64) {
        let lean = run(&p);
        let leaner = run(&Point { o2: p.o2 + more, ..p.clone() });
        prop_assert!(leaner.combustion.excess_air > lean.combustion.excess_air);
        for b in [Basis::Hhv, Basis::Lhv] {
            prop_assert!(
                leaner.indirect_efficiency.on(b) < lean.indirect_efficiency.on(b),
                "{b:?}: {} at O2 {} vs {}",
                leaner.indirect_efficiency.on(b),
                p.o2 + more,
                lean.indirect_efficiency.on(b)
            );
        }
    }

    // fuel input + credits = useful + Σ losses + unaccounted on both bases, and the
    // unaccounted heat rate does not depend on the basis.
    #[test]
    fn energy_balance_closes_on_both_bases(p in point()) {
        let r = run(&p);
        let credits: f64 = r.credits.iter().map(|c| c.power).sum();
        for b in [Basis::Hhv, Basis::Lhv] {
            let input = r.fuel_input.on(b);
            let losses: f64 = r.losses.iter().map(|l| l.power.on(b)).sum();
            let lhs = input + credits;
            let rhs = r.useful_output + losses + r.unaccounted.on(b);
            prop_assert!((lhs - rhs).abs() <= CLOSURE * input, "{b:?}: {lhs} vs {rhs}");
            let fractions: f64 = r.losses.iter().map(|l| l.fraction.on(b)).sum::<f64>()
                - r.credits.iter().map(|c| c.fraction.on(b)).sum::<f64>();
            prop_assert!(
                (r.indirect_efficiency.on(b) - (1.0 - fractions)).abs() <= CLOSURE,
                "{b:?}: indirect efficiency is not 1 − losses + credits"
            );
        }
        prop_assert!(
            (r.unaccounted.hhv - r.unaccounted.lhv).abs() <= CLOSURE * r.fuel_input.hhv,
            "unaccounted {} W (HHV) vs {} W (LHV)",
            r.unaccounted.hhv,
            r.unaccounted.lhv
        );
    }

    // Hydrogen-bearing fuels have LHV < HHV, so every efficiency is higher on the LHV basis;
    // both methods stay in a physical range for a realistic boiler.
    #[test]
    fn lhv_efficiencies_exceed_hhv_and_stay_bounded(p in point()) {
        let r = run(&p);
        prop_assert!(r.direct_efficiency.lhv > r.direct_efficiency.hhv);
        prop_assert!(r.indirect_efficiency.lhv > r.indirect_efficiency.hhv);
        for b in [Basis::Hhv, Basis::Lhv] {
            for eff in [r.direct_efficiency.on(b), r.indirect_efficiency.on(b)] {
                prop_assert!(eff > 0.0 && eff < 1.2, "{b:?}: efficiency {eff}");
            }
        }
    }

    // The same inputs twice give bit-identical results.
    #[test]
    fn results_are_deterministic(p in point()) {
        let a: Vec<u64> = figures(&run(&p)).iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = figures(&run(&p)).iter().map(|x| x.to_bits()).collect();
        prop_assert_eq!(a, b);
    }

    // Exergy in (fuel, air, auxiliaries) = useful + Σ losses + destruction, destruction > 0.
    #[test]
    fn exergy_balance_closes_with_positive_destruction(p in point()) {
        let x = run(&p).exergy;
        let inflow = x.fuel + x.combustion_air + x.auxiliary_power;
        let outflow = x.useful + x.losses.iter().map(|(_, w)| w).sum::<f64>() + x.destruction;
        prop_assert!((inflow - outflow).abs() <= CLOSURE * x.fuel, "{inflow} vs {outflow}");
        prop_assert!(x.destruction > 0.0, "destruction {}", x.destruction);
        prop_assert!(x.efficiency > 0.0 && x.efficiency < 1.0, "exergy efficiency {}", x.efficiency);
    }

    // The wet O2 that the dry-basis result's own flue gas implies gives back the same excess air.
    #[test]
    fn wet_and_dry_o2_give_the_same_excess_air(p in point()) {
        let dry = run(&p);
        let o2_wet = dry.combustion.flue_gas_wet[Species::O2.index()];
        let wet = calculate_fired(&inputs(&p, o2_wet, O2Basis::Wet)).unwrap();
        let (a, b) = (dry.combustion.excess_air, wet.combustion.excess_air);
        prop_assert!((a - b).abs() <= CLOSURE * (1.0 + a.abs()), "dry {a} vs wet {b}");
    }
}
