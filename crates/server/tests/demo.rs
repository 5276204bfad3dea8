//! The demo data: its spec, determinism, and that a facility calculation over it recovers the
//! true efficiency of the forward model within the calculation's stated uncertainty.

use std::collections::BTreeMap;

use server::aggregate::{self, Options, Period};
use server::demo::{self, Demo};
use store::{Reading, Series};

/// 2025-11-01T00:00:00Z, µs.
const START_US: i64 = 1_761_955_200_000_000;

/// Groups readings into per-tag series sorted by time, as the store returns them.
fn series(readings: &[Reading]) -> Vec<Series> {
    let mut by_tag: BTreeMap<&str, Series> = BTreeMap::new();
    for r in readings {
        let s = by_tag.entry(&r.tag).or_insert_with(|| Series {
            tag: r.tag.clone(),
            ..Series::default()
        });
        s.times_us.push(r.time_us);
        s.values.push(r.value);
        s.qualities.push(r.quality);
    }
    by_tag.into_values().collect()
}

#[test]
fn the_demo_spec_is_valid_and_has_a_boiler_and_a_furnace() {
    let spec = demo::facility_spec();
    assert_eq!(spec.id, demo::FACILITY_ID);
    let types: Vec<&str> = spec.equipment.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(types, ["steam_boiler", "process_furnace"]);
    assert_eq!(spec.tag_names().len(), 15);
}

#[test]
fn the_same_seed_gives_the_same_readings_and_another_seed_others() {
    let a = demo::readings(START_US, 120, 7).unwrap();
    let b = demo::readings(START_US, 120, 7).unwrap();
    let c = demo::readings(START_US, 120, 8).unwrap();
    assert_eq!(a.len(), 120 * 15);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|r| r.value.is_finite()));
    assert!(a.windows(2).all(|w| w[0].time_us <= w[1].time_us));
}

#[test]
fn blocks_generated_one_at_a_time_equal_the_whole() {
    let d = Demo::new(START_US, 7_200, 3).unwrap();
    let whole = d.readings().unwrap();
    let mut parts = d.block(0).unwrap();
    parts.extend(d.block(1).unwrap());
    assert_eq!(d.blocks(), 2);
    assert_eq!(whole, parts);
}

/// The forward model closes each unit's heat balance exactly for the true state, so the
/// calculation over the noisy 1 Hz readings must find the true input–output efficiency within
/// the expanded uncertainty it states (the meters' biases are drawn at a quarter of their
/// stated uncertainty, so a miss would be a real error, not bad luck).
#[test]
fn a_calculation_over_an_hour_recovers_the_true_efficiency_within_its_uncertainty() {
    for seed in [1, 2, 3] {
        let d = Demo::new(START_US, 3_600, seed).unwrap();
        let readings = d.readings().unwrap();
        let period = Period::new(START_US, START_US + 3_600_000_000).unwrap();
        let calc = aggregate::calculate(d.spec(), &series(&readings), period, &Options::default())
            .unwrap();
        let truth = d.true_efficiency(period);
        let u = calc.summary.uncertainty.as_ref().unwrap();
        let direct_hhv = u.figures.iter().find(|f| f.figure == "direct_hhv").unwrap();
        let found = calc.efficiency_percent_hhv();
        let error = (found - truth.facility_hhv_percent).abs();
        eprintln!(
            "seed {seed}: found {found:.3} %, true {:.3} %, U95 {:.3} pp, closure {:.3} %",
            truth.facility_hhv_percent,
            direct_hhv.expanded_uncertainty_percent_points,
            calc.summary.closure_percent.hhv
        );
        assert!(
            error <= direct_hhv.expanded_uncertainty_percent_points,
            "seed {seed}: {found} % vs true {} % (U95 {} pp)",
            truth.facility_hhv_percent,
            direct_hhv.expanded_uncertainty_percent_points
        );
        assert!(
            calc.failure_reason(aggregate::MAX_CLOSURE_PERCENT)
                .is_none()
        );
        for (unit, (id, hhv, _)) in calc.equipment.iter().zip(&truth.units) {
            assert_eq!(&unit.equipment_id, id);
            let u95 = unit
                .result
                .uncertainty
                .as_ref()
                .unwrap()
                .first_order
                .as_ref()
                .unwrap()[0]
                .expanded_uncertainty_percent_points;
            let found = unit.result.efficiency_percent.direct.hhv;
            eprintln!("  {id}: found {found:.3} %, true {hhv:.3} %, U95 {u95:.3} pp");
            assert!((found - hhv).abs() <= u95, "{id}: {found} vs {hhv} ± {u95}");
        }
    }
}
