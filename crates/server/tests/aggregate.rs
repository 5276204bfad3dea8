//! Aggregation of readings over a period against series whose answers are computed by hand,
//! the coverage refusal, and the facility roll-up and provenance.

use std::collections::BTreeMap;

use server::aggregate::{
    self, AggregateError, Columns, Options, Period, SeriesStats, TagLimits, aggregate_series,
};
use server::demo::{self, Demo};
use server::facility::{Quantity, Range, Source};
use store::{Quality, Reading, Series};

/// 2025-11-01T00:00:00Z, µs.
const T0: i64 = 1_761_955_200_000_000;
const S: i64 = 1_000_000;
const HOUR: i64 = 3_600 * S;

fn hour() -> Period {
    Period::new(T0, T0 + HOUR).unwrap()
}

/// Aggregates readings given as (seconds from T0, value, quality).
fn stats(points: &[(i64, f64, Quality)], limits: TagLimits) -> SeriesStats {
    let times: Vec<i64> = points.iter().map(|p| T0 + p.0 * S).collect();
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let qualities: Vec<Quality> = points.iter().map(|p| p.2).collect();
    let columns = Columns {
        times_us: &times,
        values: &values,
        qualities: &qualities,
    };
    aggregate_series(
        "T",
        columns,
        limits,
        hour(),
        &Options::default(),
        &mut Vec::new(),
    )
    .unwrap()
}

/// Readings every `step` seconds from `from` (inclusive) to `to` (exclusive) of `value(t)`.
fn every(step: i64, from: i64, to: i64, value: impl Fn(i64) -> f64) -> Vec<(i64, f64, Quality)> {
    (from..to)
        .step_by(step as usize)
        .map(|t| (t, value(t), Quality::Good))
        .collect()
}

#[test]
fn a_step_series_has_its_exact_time_weighted_mean() {
    // 10 for 900 s, then 40 for 2700 s: (10·900 + 40·2700) / 3600 = 32.5 exactly.
    let s = stats(
        &every(10, 0, 3_600, |t| if t < 900 { 10.0 } else { 40.0 }),
        TagLimits::default(),
    );
    assert_eq!(s.mean, Some(32.5));
    assert_eq!(s.integral, 32.5 * 3_600.0);
    assert_eq!((s.coverage, s.gaps, s.readings, s.used), (1.0, 0, 360, 360));
    assert_eq!((s.min, s.max), (Some(10.0), Some(40.0)));
    assert_eq!(s.median_interval_s, Some(10.0));
    assert_eq!(s.max_hold_s, 30.0);
    // 270 identical readings over 2700 s: a flat line by definition, which halves the score.
    assert_eq!(s.flat_line.map(|f| f.readings), Some(270));
    assert_eq!(s.score, 0.5);
}

#[test]
fn the_last_reading_before_the_start_holds_into_the_period() {
    // 100 from 5 s before the start until the first reading at +5 s, then 0: mean 500/3600.
    let mut points = vec![(-5, 100.0, Quality::Good)];
    points.extend(every(10, 5, 3_600, |_| 0.0));
    let s = stats(&points, TagLimits::default());
    assert_eq!(s.mean, Some(100.0 * 5.0 / 3_600.0));
    assert_eq!(s.coverage, 1.0);
    assert_eq!(
        s.readings, 360,
        "the reading before the start is not counted as inside"
    );
}

#[test]
fn a_gap_longer_than_the_max_hold_is_uncovered() {
    // Readings every 10 s, none from 1000 s to 2000 s: the reading at 990 s holds 30 s (3 ×
    // the median interval), leaving [1020, 2000) uncovered: 980 s.
    let mut points = every(10, 0, 1_000, |_| 5.0);
    points.extend(every(10, 2_000, 3_600, |_| 7.0));
    let s = stats(&points, TagLimits::default());
    assert_eq!(s.gaps, 1);
    assert_eq!(s.longest_gap_s, 980.0);
    assert_eq!(s.covered_s, 1_020.0 + 1_600.0);
    assert_eq!(s.coverage, 2_620.0 / 3_600.0);
    assert_eq!(s.mean, Some((5.0 * 1_020.0 + 7.0 * 1_600.0) / 2_620.0));
}

#[test]
fn a_stated_max_hold_replaces_the_median_rule() {
    // Two readings an hour apart would hold 3 × 1800 s by the median rule; a 10 min max hold
    // covers 600 s after each.
    let points = [(0, 1.0, Quality::Good), (1_800, 3.0, Quality::Good)];
    let s = stats(
        &points,
        TagLimits {
            range: None,
            max_hold_us: Some(600 * S),
        },
    );
    assert_eq!(s.covered_s, 1_200.0);
    assert_eq!(s.mean, Some(2.0));
    assert_eq!((s.gaps, s.longest_gap_s), (2, 1_200.0));
    let s = stats(&points, TagLimits::default());
    assert_eq!((s.coverage, s.mean), (1.0, Some(2.0)));
}

#[test]
fn data_missing_at_the_start_and_end_are_gaps() {
    // 1 Hz from 600 s to 2999 s: uncovered [0, 600) and, after the last reading's 3 s hold,
    // [3002, 3600).
    let s = stats(&every(1, 600, 3_000, |t| t as f64), TagLimits::default());
    assert_eq!(s.gaps, 2);
    assert_eq!(s.longest_gap_s, 600.0);
    assert_eq!(s.covered_s, 2_402.0);
    let empty = stats(&[], TagLimits::default());
    assert_eq!((empty.mean, empty.coverage, empty.gaps), (None, 0.0, 1));
    assert_eq!(empty.longest_gap_s, 3_600.0);
}

#[test]
fn out_of_range_and_bad_readings_are_excluded_and_counted() {
    // 49 and 51 alternating every 10 s; one reading of 1e6 (out of [0, 100]) and one of bad
    // quality, both in place of a 49: each loses its 10 s of hold.
    let mut points = every(
        10,
        0,
        3_600,
        |t| if (t / 10) % 2 == 0 { 49.0 } else { 51.0 },
    );
    points[10].1 = 1.0e6;
    points[20].2 = Quality::Bad;
    points[20].1 = -3.0;
    points[31].2 = Quality::Uncertain;
    let s = stats(
        &points,
        TagLimits {
            range: Some(Range {
                min: 0.0,
                max: 100.0,
            }),
            max_hold_us: None,
        },
    );
    assert_eq!(s.mean, Some((178.0 * 49.0 + 180.0 * 51.0) / 358.0));
    assert_eq!(
        (s.out_of_range, s.bad_quality, s.uncertain_quality),
        (1, 1, 1)
    );
    assert_eq!((s.readings, s.used), (360, 358));
    assert_eq!(s.covered_s, 3_580.0);
    assert_eq!(s.uncertain_s, 10.0);
    assert_eq!(s.gaps, 0, "excluded readings are not missing data");
    // Score: coverage × (1 − ½ · uncertain share).
    let expected = 3_580.0 / 3_600.0 * (1.0 - 0.5 * 10.0 / 3_580.0);
    assert!((s.score - expected).abs() < 1e-12);
}

#[test]
fn a_flat_line_over_a_tenth_of_the_period_is_flagged() {
    // 1 Hz alternating 1, 2; then 500 s stuck at 7.25 (13.9 % of the hour): flagged. A stuck
    // stretch of 300 s (8.3 %) is not.
    let flat = |stuck: i64| {
        stats(
            &every(1, 0, 3_600, |t| {
                if (1_000..1_000 + stuck).contains(&t) {
                    7.25
                } else {
                    1.0 + (t % 2) as f64
                }
            }),
            TagLimits::default(),
        )
    };
    let s = flat(500);
    let f = s.flat_line.unwrap();
    assert_eq!((f.value, f.readings, f.duration_s), (7.25, 500, 500.0));
    assert_eq!(s.score, 0.5);
    assert!(flat(300).flat_line.is_none());
}

#[test]
fn unsorted_or_ragged_series_are_refused() {
    let times = [T0, T0 + 2 * S, T0 + S];
    let values = [1.0; 3];
    let qualities = [Quality::Good; 3];
    let c = Columns {
        times_us: &times,
        values: &values,
        qualities: &qualities,
    };
    let opts = Options::default();
    let e = aggregate_series("X", c, TagLimits::default(), hour(), &opts, &mut Vec::new());
    assert!(matches!(e, Err(AggregateError::MalformedSeries { .. })));
    let c = Columns {
        values: &values[..2],
        ..c
    };
    let e = aggregate_series("X", c, TagLimits::default(), hour(), &opts, &mut Vec::new());
    assert!(matches!(e, Err(AggregateError::MalformedSeries { .. })));
    assert!(Period::new(T0, T0).is_err());
}

/// Per-tag series of readings, sorted by time, as the store returns them.
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

fn demo_hour(seed: u64) -> (Demo, Vec<Series>) {
    let d = Demo::new(T0, 3_600, seed).unwrap();
    let s = series(&d.readings().unwrap());
    (d, s)
}

#[test]
fn a_required_tag_below_the_coverage_threshold_refuses_naming_it() {
    let (d, mut s) = demo_hour(5);
    let steam = s.iter_mut().find(|s| s.tag == "FT-110").unwrap();
    // Keep the first half only: readings 0..=1799 s, the last holding 3 s: 1802 s covered.
    steam.times_us.truncate(1_800);
    steam.values.truncate(1_800);
    steam.qualities.truncate(1_800);
    let e = aggregate::calculate(d.spec(), &s, hour(), &Options::default()).unwrap_err();
    let AggregateError::InsufficientCoverage {
        threshold,
        shortfalls,
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(*threshold, 0.8);
    assert_eq!(shortfalls.len(), 1);
    assert_eq!(shortfalls[0].tag, "FT-110");
    assert_eq!(shortfalls[0].quantity, Quantity::SteamFlow);
    assert_eq!(shortfalls[0].coverage, 1_802.0 / 3_600.0);
    assert!(e.to_string().contains("FT-110"), "{e}");
    assert!(e.to_string().contains("50.1 %"), "{e}");
    assert_eq!(e.field().as_deref(), Some("BLR-001.tags.steam_flow"));
    // A lower threshold accepts it.
    let lenient = Options {
        min_coverage: 0.5,
        ..Options::default()
    };
    assert!(aggregate::calculate(d.spec(), &s, hour(), &lenient).is_ok());
}

#[test]
fn an_optional_tag_without_data_is_left_out_with_a_warning() {
    let (d, mut s) = demo_hour(6);
    s.retain(|s| s.tag != "AT-122");
    let c = aggregate::calculate(d.spec(), &s, hour(), &Options::default()).unwrap();
    let w = c
        .data_quality
        .warnings
        .iter()
        .find(|w| w.code == "tag_not_used")
        .unwrap();
    assert_eq!(
        (w.tag.as_str(), w.quantity),
        ("AT-122", Quantity::FlueGasCo)
    );
    assert!(c.equipment[0].input["flue_gas"].get("co_dry").is_none());
}

#[test]
fn the_same_data_in_other_units_gives_the_same_result() {
    let (d, s) = demo_hour(7);
    let base = aggregate::calculate(d.spec(), &s, hour(), &Options::default()).unwrap();
    // Steam flow in kg/h instead of t/h, stack temperature in K instead of °C.
    let mut spec = d.spec().clone();
    let mut s2 = s.clone();
    for (q, unit, f) in [
        (
            Quantity::SteamFlow,
            "kg/h",
            (|v: f64| v * 1_000.0) as fn(f64) -> f64,
        ),
        (Quantity::FlueGasTemperature, "K", |v: f64| v + 273.15),
    ] {
        let Some(Source::Tag(t)) = spec.equipment[0].tags.get_mut(&q) else {
            panic!()
        };
        t.unit = unit.to_string();
        t.range = t.range.map(|r| Range {
            min: f(r.min),
            max: f(r.max),
        });
        if q == Quantity::FlueGasTemperature {
            t.uncertainty = Some("2 K".to_string());
        }
        let series = s2.iter_mut().find(|x| x.tag == t.tag).unwrap();
        series.values.iter_mut().for_each(|v| *v = f(*v));
    }
    spec.validate().unwrap();
    let other = aggregate::calculate(&spec, &s2, hour(), &Options::default()).unwrap();
    let (a, b) = (
        base.efficiency_percent_hhv(),
        other.efficiency_percent_hhv(),
    );
    assert!((a - b).abs() < 1e-9 * a, "{a} vs {b}");
    let (a, b) = (
        base.summary.efficiency_percent.indirect.hhv,
        other.summary.efficiency_percent.indirect.hhv,
    );
    assert!((a - b).abs() < 1e-9 * a, "{a} vs {b}");
}

#[test]
fn the_roll_up_is_the_sum_over_units_and_the_hash_is_reproducible() {
    let (d, s) = demo_hour(8);
    let c = aggregate::calculate(d.spec(), &s, hour(), &Options::default()).unwrap();
    let fuel: f64 = c
        .equipment
        .iter()
        .map(|u| u.result.energy_balance.fuel_input_W.hhv)
        .sum();
    let useful: f64 = c
        .equipment
        .iter()
        .map(|u| u.result.energy_balance.useful_output_W)
        .sum();
    assert!((c.efficiency_percent_hhv() - 100.0 * useful / fuel).abs() < 1e-12);
    let unaccounted: f64 = c
        .equipment
        .iter()
        .map(|u| u.result.energy_balance.unaccounted_W.hhv)
        .sum();
    assert!((c.summary.closure_percent.hhv - 100.0 * unaccounted / fuel).abs() < 1e-12);
    // U = sqrt(Σ (wᵢ Uᵢ)²), wᵢ the fuel-input share.
    let u95 = |u: &aggregate::UnitCalculation| {
        u.result
            .uncertainty
            .as_ref()
            .unwrap()
            .first_order
            .as_ref()
            .unwrap()[0]
            .expanded_uncertainty_percent_points
    };
    let expected: f64 = c
        .equipment
        .iter()
        .map(|u| (u.result.energy_balance.fuel_input_W.hhv / fuel * u95(u)).powi(2))
        .sum::<f64>()
        .sqrt();
    let rolled = &c.summary.uncertainty.as_ref().unwrap().figures[0];
    assert_eq!(rolled.figure, "direct_hhv");
    assert!((rolled.expanded_uncertainty_percent_points - expected).abs() < 1e-12);
    // Same inputs, same hash; the facility hash does not depend on the unit order.
    let again = aggregate::calculate(d.spec(), &s, hour(), &Options::default()).unwrap();
    assert_eq!(again, c);
    let mut reversed = c.provenance.units.clone();
    reversed.reverse();
    assert_eq!(
        aggregate::facility_hash(&c.facility_id, hour(), &reversed),
        c.provenance.sha256
    );
    let shorter = Period::new(T0, T0 + HOUR - S).unwrap();
    let other = aggregate::calculate(d.spec(), &s, shorter, &Options::default()).unwrap();
    assert_ne!(other.provenance.sha256, c.provenance.sha256);
    assert_eq!(c.period.start, "2025-11-01T00:00:00Z");
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["facility_id"], demo::FACILITY_ID);
    assert!(json["equipment"][0]["data_quality"]["tags"][0]["coverage"].is_number());
}
