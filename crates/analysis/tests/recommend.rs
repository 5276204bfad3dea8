//! Each recommendation appears only where it applies, its saving is positive and equals the
//! difference of the two runs of the engineering core, and the list is ranked by saving.

mod common;

use analysis::recommend::{
    CondensateReturn, Economics, Measure, MeteredCondensate, Options, Recommendation,
    acid_dew_point, recommend,
};
use common::{celsius, gas_boiler, gas_furnace, oil_hot_water_boiler, run};
use thermo::inputs::{Blowdown, FiredInputs, UsefulOutput};
use thermo::units::Dimension;
use thermo::{Fraction, MassFlow};

const ECONOMICS: Economics = Economics {
    annual_fuel_input_j: 5.0e14,
    fuel_price_per_gj: 8.0,
    emission_factor_kg_per_gj: 50.29,
};

fn measures(list: &[Recommendation]) -> Vec<Measure> {
    list.iter().map(|r| r.measure).collect()
}

/// The claims of a recommendation checked against an independent re-run: the measure's
/// inputs at the claimed fuel flow deliver the same useful output (heat-loss method) as the
/// measured state, at the claimed efficiency.
fn check_against_rerun(base: &FiredInputs, mut improved: FiredInputs, rec: &Recommendation) {
    let before = run(base);
    let duty_before = run(&improved).useful_output / before.useful_output;
    improved.fuel_flow =
        MassFlow::from_kg_per_s(base.fuel_flow.kg_per_s() * (1.0 - rec.fuel_saved_fraction))
            .unwrap();
    let after = run(&improved);
    let rel = |a: f64, b: f64| (a / b - 1.0).abs();
    assert!(rel(after.indirect_efficiency.hhv, rec.efficiency_after.hhv) < 1e-9);
    assert!(rel(after.indirect_efficiency.lhv, rec.efficiency_after.lhv) < 1e-9);
    let q_before = before.indirect_efficiency.hhv * before.fuel_input.hhv * duty_before;
    let q_after = after.indirect_efficiency.hhv * after.fuel_input.hhv;
    assert!(rel(q_after, q_before) < 1e-9, "{q_after} vs {q_before}");
}

/// Savings follow from the efficiencies: F_new/F_old = (Q_new/Q_old) η_old/η_new, and the
/// yearly figures from the saved fraction.
fn check_arithmetic(rec: &Recommendation, duty_ratio: f64) {
    assert!(rec.fuel_saved_fraction > 0.0, "{:?}", rec.measure);
    let expected = 1.0 - duty_ratio * rec.efficiency_before.hhv / rec.efficiency_after.hhv;
    assert!(
        (rec.fuel_saved_fraction - expected).abs() < 1e-9,
        "{:?}: {} vs {expected}",
        rec.measure,
        rec.fuel_saved_fraction
    );
    let gj = ECONOMICS.annual_fuel_input_j * rec.fuel_saved_fraction / 1e9;
    assert!((rec.fuel_saved_gj_per_year - gj).abs() < 1e-9 * gj);
    assert!((rec.fuel_saved_j_per_year - gj * 1e9).abs() < 1e-9 * gj * 1e9);
    assert!((rec.cost_saved_per_year - 8.0 * gj).abs() < 1e-9 * gj);
    assert!((rec.co2_avoided_kg_per_year - 50.29 * gj).abs() < 1e-9 * gj);
    assert!(!rec.assumptions.is_empty());
}

#[test]
fn demo_boiler_gets_tuning_economizer_air_preheat_and_blowdown_recovery() {
    let inputs = gas_boiler(0.0);
    let list = recommend(&inputs, &ECONOMICS, &Options::default()).unwrap();
    let mut found = measures(&list);
    found.sort_by_key(|m| *m as u8);
    assert_eq!(
        found,
        [
            Measure::CombustionTuning,
            Measure::Economizer,
            Measure::AirPreheat,
            Measure::BlowdownHeatRecovery
        ]
    );
    for rec in &list {
        check_arithmetic(rec, 1.0);
        assert!(rec.efficiency_after.hhv > rec.efficiency_before.hhv);
        assert!(rec.efficiency_after.lhv > rec.efficiency_before.lhv);
    }
    // Ranked by saving.
    assert!(
        list.windows(2)
            .all(|w| w[0].fuel_saved_j_per_year >= w[1].fuel_saved_j_per_year)
    );

    // Independent re-runs of the measures the test can apply itself.
    let by = |m: Measure| list.iter().find(|r| r.measure == m).unwrap();
    let mut tuned = inputs.clone();
    tuned.flue_gas.o2 = Fraction::new(0.02).unwrap();
    check_against_rerun(&inputs, tuned, by(Measure::CombustionTuning));
    // Economizer: stack to max(water dew point + 20 K, feedwater 105 °C + 30 K) = 135 °C.
    let mut economized = inputs.clone();
    economized.flue_gas.temperature = celsius(135.0);
    check_against_rerun(&inputs, economized, by(Measure::Economizer));
    // The title keeps its temperatures as quantities: the measured stack and the 135 °C.
    let title = &by(Measure::Economizer).title;
    let shown: Vec<(f64, &str, Dimension)> = title
        .quantities()
        .map(|q| (q.value, q.unit.as_ref(), q.dimension))
        .collect();
    let stack_c = inputs.flue_gas.temperature.celsius();
    assert_eq!(shown.len(), 2, "{title}");
    assert!((shown[0].0 - stack_c).abs() < 1e-9, "{title}");
    assert!((shown[1].0 - 135.0).abs() < 1e-6, "{title}");
    assert!(
        shown
            .iter()
            .all(|&(_, unit, d)| unit == "°C" && d == Dimension::Temperature)
    );
    assert_eq!(
        title.to_string(),
        format!("Install an economizer: stack {stack_c:.0} °C → 135 °C")
    );
    let mut no_blowdown = inputs.clone();
    if let UsefulOutput::Steam(ref mut s) = no_blowdown.output {
        s.blowdown = Blowdown::None;
    }
    check_against_rerun(&inputs, no_blowdown, by(Measure::BlowdownHeatRecovery));
}

#[test]
fn condensate_return_appears_only_when_stated() {
    let inputs = gas_boiler(0.0);
    let options = Options {
        condensate_return: Some(CondensateReturn {
            additional_fraction: Fraction::new(0.2).unwrap(),
            condensate_temperature: celsius(90.0),
            makeup_temperature: celsius(15.0),
        }),
        ..Options::default()
    };
    let list = recommend(&inputs, &ECONOMICS, &options).unwrap();
    let rec = list
        .iter()
        .find(|r| r.measure == Measure::CondensateReturn)
        .unwrap();
    // The boiler duty falls with the hotter feedwater: recover the duty ratio by re-running
    // the feedwater temperature the mixing balance gives.
    let before = run(&inputs);
    let UsefulOutput::Steam(s) = inputs.output else {
        unreachable!()
    };
    let p = s.steam_pressure;
    let h = |t: f64| thermo::steam::enthalpy_pt(p, celsius(t)).unwrap();
    let h_new = h(105.0) + 0.2 * (h(90.0) - h(15.0));
    let mut warmer = inputs.clone();
    let (mut lo, mut hi) = (105.0, 180.0);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if h(mid) < h_new { lo = mid } else { hi = mid }
    }
    if let UsefulOutput::Steam(ref mut out) = warmer.output {
        out.feedwater_temperature = celsius(0.5 * (lo + hi));
    }
    let duty_ratio = run(&warmer).useful_output / before.useful_output;
    assert!(duty_ratio < 1.0);
    check_arithmetic(rec, duty_ratio);
    check_against_rerun(&inputs, warmer, rec);
    let without = recommend(&inputs, &ECONOMICS, &Options::default()).unwrap();
    assert!(!measures(&without).contains(&Measure::CondensateReturn));
}

/// Options with the boiler's condensate return metered at `returned` of its steam flow and a
/// target of 75 %.
fn metered(inputs: &FiredInputs, returned: f64) -> Options {
    let UsefulOutput::Steam(s) = inputs.output else {
        unreachable!()
    };
    Options {
        metered_condensate: Some(MeteredCondensate {
            return_flow: MassFlow::from_kg_per_s(returned * s.steam_flow.kg_per_s()).unwrap(),
            condensate_temperature: celsius(85.0),
            makeup_temperature: celsius(12.0),
            target_return_fraction: Fraction::new(0.75).unwrap(),
        }),
        ..Options::default()
    }
}

#[test]
fn metered_condensate_return_raises_the_measured_fraction_to_the_target() {
    let inputs = gas_boiler(0.0);
    let UsefulOutput::Steam(s) = inputs.output else {
        unreachable!()
    };
    let Blowdown::FractionOfFeedwater(b) = s.blowdown else {
        panic!("the test boiler states its blowdown as a fraction of the feedwater")
    };
    // Feedwater = steam / (1 − b); the extra 35 % of the steam replaces make-up in it.
    let f = 0.35 * (1.0 - b.value());
    let list = recommend(&inputs, &ECONOMICS, &metered(&inputs, 0.40)).unwrap();
    let rec = list
        .iter()
        .find(|r| r.measure == Measure::CondensateReturn)
        .unwrap();
    let text = rec
        .assumptions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("return fraction of 40.0 %; target 75.0 %"),
        "{text}"
    );
    let p = s.steam_pressure;
    let h = |t: f64| thermo::steam::enthalpy_pt(p, celsius(t)).unwrap();
    let h_new = h(105.0) + f * (h(85.0) - h(12.0));
    let (mut lo, mut hi) = (105.0, 180.0);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if h(mid) < h_new { lo = mid } else { hi = mid }
    }
    let mut warmer = inputs.clone();
    if let UsefulOutput::Steam(ref mut out) = warmer.output {
        out.feedwater_temperature = celsius(0.5 * (lo + hi));
    }
    let duty_ratio = run(&warmer).useful_output / run(&inputs).useful_output;
    assert!(duty_ratio < 1.0);
    check_arithmetic(rec, duty_ratio);
    check_against_rerun(&inputs, warmer, rec);

    // At or above the target: nothing to advise.
    let at_target = recommend(&inputs, &ECONOMICS, &metered(&inputs, 0.75)).unwrap();
    assert!(!measures(&at_target).contains(&Measure::CondensateReturn));
    // More condensate than steam is a meter fault, refused by name.
    let err = recommend(&inputs, &ECONOMICS, &metered(&inputs, 1.2)).unwrap_err();
    assert_eq!(err.field(), "condensate_return_flow", "{err}");
    // Stated and metered together are refused.
    let mut both = metered(&inputs, 0.40);
    both.condensate_return = Some(CondensateReturn {
        additional_fraction: Fraction::new(0.2).unwrap(),
        condensate_temperature: celsius(90.0),
        makeup_temperature: celsius(15.0),
    });
    let err = recommend(&inputs, &ECONOMICS, &both).unwrap_err();
    assert_eq!(err.field(), "condensate_return", "{err}");
}

#[test]
fn furnace_without_cold_stream_gets_no_economizer() {
    let list = recommend(&gas_furnace(), &ECONOMICS, &Options::default()).unwrap();
    let found = measures(&list);
    assert!(found.contains(&Measure::CombustionTuning));
    assert!(found.contains(&Measure::AirPreheat));
    assert!(!found.contains(&Measure::Economizer));
    assert!(!found.contains(&Measure::BlowdownHeatRecovery));
    assert!(!found.contains(&Measure::Insulation));
    for rec in &list {
        check_arithmetic(rec, 1.0);
    }
}

#[test]
fn measured_hot_casing_gets_insulation() {
    let inputs = oil_hot_water_boiler();
    let list = recommend(&inputs, &ECONOMICS, &Options::default()).unwrap();
    let rec = list
        .iter()
        .find(|r| r.measure == Measure::Insulation)
        .expect("insulation for an 85 °C casing");
    check_arithmetic(rec, 1.0);
    let mut insulated = inputs.clone();
    if let thermo::inputs::SurfaceLoss::Measured(ref mut m) = insulated.surface {
        m.temperature = celsius(50.0);
    }
    check_against_rerun(&inputs, insulated, rec);
    assert!(!measures(&list).contains(&Measure::BlowdownHeatRecovery));
    // Tuning to the oil target (3 % O2) from 4.5 %.
    assert!(measures(&list).contains(&Measure::CombustionTuning));
}

#[test]
fn nothing_is_offered_where_it_does_not_apply() {
    // Already tuned (2.2 % O2 within 0.5 point of the 2 % target), stack already at the
    // economizer limit (135 °C), no blowdown, air already preheated.
    let mut inputs = gas_boiler(0.0);
    inputs.flue_gas.o2 = Fraction::new(0.022).unwrap();
    inputs.flue_gas.temperature = celsius(138.0);
    inputs.combustion_air.temperature = celsius(60.0);
    if let UsefulOutput::Steam(ref mut s) = inputs.output {
        s.blowdown = Blowdown::None;
    }
    let list = recommend(&inputs, &ECONOMICS, &Options::default()).unwrap();
    assert!(list.is_empty(), "{:?}", measures(&list));
}

#[test]
fn no_economizer_when_the_stack_is_near_the_dew_point() {
    // Cold feedwater (40 °C + 30 K = 70 °C) would allow a low stack, but the flue gas is at
    // 85 °C, within the 20 K margin plus 10 K of its ~57 °C water dew point.
    let mut inputs = gas_boiler(0.0);
    if let UsefulOutput::Steam(ref mut s) = inputs.output {
        s.feedwater_temperature = celsius(40.0);
    }
    inputs.flue_gas.temperature = celsius(85.0);
    let dew = run(&inputs).combustion.water_dew_point.unwrap() - 273.15;
    assert!(dew > 50.0 && dew < 62.0, "{dew}");
    let list = recommend(&inputs, &ECONOMICS, &Options::default()).unwrap();
    assert!(!measures(&list).contains(&Measure::Economizer));
    // The same boiler with a hot stack does get one.
    inputs.flue_gas.temperature = celsius(200.0);
    let list = recommend(&inputs, &ECONOMICS, &Options::default()).unwrap();
    assert!(measures(&list).contains(&Measure::Economizer));
}

#[test]
fn acid_dew_point_rises_with_so3_and_lies_above_the_water_dew_point() {
    // 10 % water vapour at 1 atm; 1, 10 and 50 ppm SO3.
    let p = 101_325.0;
    let t: Vec<f64> = [1e-6, 10e-6, 50e-6]
        .iter()
        .map(|x| acid_dew_point(0.1 * p, x * p).unwrap())
        .collect();
    assert!(t[0] < t[1] && t[1] < t[2]);
    // Water dew point of 10 % vapour is 46 °C; sulfuric acid condenses far above it.
    assert!(t[0] - 273.15 > 100.0 && t[2] - 273.15 < 200.0, "{t:?}");
    assert!(acid_dew_point(0.1 * p, 0.0).is_none());
}

#[test]
fn refuses_bad_economics() {
    let bad = Economics {
        fuel_price_per_gj: f64::NAN,
        ..ECONOMICS
    };
    assert!(recommend(&gas_boiler(0.0), &bad, &Options::default()).is_err());
}
