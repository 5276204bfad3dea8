//! The store's behaviour, written once against `&Store` and run for every backend: each backend's
//! test file calls `store_suite!(factory)` with a factory returning a freshly migrated store.

#![allow(dead_code)]

use std::collections::HashSet;

use serde_json::json;
use store::{
    CalculationFilter, CalculationRecord, CalculationStatus, EquipmentFlag, Error, FacilityRecord,
    IngestCounts, MigrateDownTarget, PutOutcome, Quality, Reading, Role, Store, TokenRecord,
    new_calculation_id,
};

/// Generates one `#[tokio::test]` per suite function, each on a fresh store from `$factory`
/// (an async fn returning `(guard, Store)`; the guard keeps the database alive).
#[macro_export]
macro_rules! store_suite {
    ($factory:path) => {
        $crate::store_suite!(@tests $factory;
            migrations_are_current_after_open,
            facility_create_update_unchanged,
            equipment_ids_unique_across_facilities,
            delete_facility_refuses_while_data_exists,
            readings_idempotent_and_corrections_counted,
            readings_duplicates_within_batch_apply_in_order,
            readings_large_batch_spans_statements,
            readings_window_with_previous_reading,
            readings_values_round_trip_bit_exact,
            readings_times_round_trip,
            readings_come_back_in_time_order_whatever_the_storage_order,
            refused_batch_stores_nothing,
            readings_for_unknown_facility_refused,
            concurrent_ingest_loses_nothing,
            calculation_round_trip,
            corrupt_calculations_refused,
            calculation_duplicate_and_unknown_facility,
            calculations_filtered_and_paged,
            latest_calculation_for_equipment,
            equipment_flags_lifecycle,
            tokens_lifecycle,
            migrate_down_and_up_keeps_data,
            migrate_targets_validated
        );
    };
    (@tests $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = $factory().await;
                $crate::suite::$name(&store).await;
                store.close().await;
            }
        )*
    };
}

/// 2025-11-01T00:00:00Z in microseconds (the runbook's example period).
pub const T0_US: i64 = 1_761_955_200_000_000;
const S: i64 = 1_000_000;
const HOUR: i64 = 3600 * S;

pub fn facility(id: &str, equipment: &[&str]) -> FacilityRecord {
    FacilityRecord {
        id: id.into(),
        name: format!("Plant {id}"),
        time_zone: "Europe/Berlin".into(),
        spec: json!({"equipment": equipment, "tags": {"FT-101": {"unit": "kg/h"}}}),
        equipment_ids: equipment.iter().map(|e| (*e).to_owned()).collect(),
        updated_at_us: T0_US,
    }
}

pub fn reading(tag: &str, time_us: i64, value: f64) -> Reading {
    Reading {
        tag: tag.into(),
        time_us,
        value,
        quality: Quality::Good,
    }
}

pub fn completed(facility_id: &str, equipment: &[&str], created_at_us: i64) -> CalculationRecord {
    CalculationRecord {
        id: new_calculation_id(),
        facility_id: facility_id.into(),
        period_start_us: T0_US,
        period_end_us: T0_US + HOUR,
        status: CalculationStatus::Completed,
        efficiency: Some(84.25),
        energy_balance_percent: Some(1.5),
        provenance_hash: "ab".repeat(32),
        input_hash: "cd".repeat(32),
        method_version: "1.0.0".into(),
        service_version: "0.1.0".into(),
        equipment_ids: equipment.iter().map(|e| (*e).to_owned()).collect(),
        request: json!({"facility_id": facility_id, "time_period": {"start": "2025-11-01T00:00:00Z"}}),
        result: json!({"status": "completed", "efficiency": {"hhv": 84.25}, "loss_w": 1.234_567_890_123_456_7e6}),
        failure_reason: None,
        created_at_us,
    }
}

pub fn failed(facility_id: &str, created_at_us: i64) -> CalculationRecord {
    CalculationRecord {
        status: CalculationStatus::Failed,
        efficiency: None,
        energy_balance_percent: None,
        failure_reason: Some("energy balance closure 14.2 % exceeds 10 %".into()),
        ..completed(facility_id, &[], created_at_us)
    }
}

pub fn token(id: &str, role: Role, fill: u8) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        name: format!("user-{id}"),
        role,
        digest: [fill; 32],
        created_at_us: T0_US,
        revoked_at_us: None,
    }
}

fn counts(inserted: u64, corrected: u64, unchanged: u64) -> IngestCounts {
    IngestCounts {
        inserted,
        corrected,
        unchanged,
    }
}

#[track_caller]
fn assert_constraint<T: std::fmt::Debug>(result: store::Result<T>, what: &str) {
    match result {
        Err(Error::Constraint { .. }) => {}
        other => panic!("{what}: expected Error::Constraint, got {other:?}"),
    }
}

pub async fn migrations_are_current_after_open(store: &Store) {
    let status = store.migration_status().await.unwrap();
    assert!(status.is_current);
    assert!(status.pending.is_empty() && status.unknown.is_empty());
    assert_eq!(status.dirty_version, None);
    assert!(status.applied.len() >= 3);
    assert_eq!(status.current_version, status.latest_known_version);
    assert!(status.applied.iter().all(|m| m.installed_on_us.is_some()));
    assert!(store.migrate_up(None).await.unwrap().is_empty());
    store.ping().await.unwrap();
}

pub async fn facility_create_update_unchanged(store: &Store) {
    let f = facility("FAC-001", &["BLR-101", "FUR-201"]);
    assert_eq!(store.put_facility(&f).await.unwrap(), PutOutcome::Created);
    assert_eq!(store.facility("FAC-001").await.unwrap(), Some(f.clone()));
    // Only the content counts: a later timestamp alone changes nothing.
    let same = FacilityRecord {
        updated_at_us: T0_US + S,
        ..f.clone()
    };
    assert_eq!(
        store.put_facility(&same).await.unwrap(),
        PutOutcome::Unchanged
    );
    let changed = FacilityRecord {
        name: "Renamed".into(),
        equipment_ids: vec!["FUR-201".into(), "BLR-102".into()],
        updated_at_us: T0_US + 2 * S,
        ..f.clone()
    };
    assert_eq!(
        store.put_facility(&changed).await.unwrap(),
        PutOutcome::Updated {
            previous: f.clone()
        }
    );
    assert_eq!(
        store.facility("FAC-001").await.unwrap(),
        Some(changed.clone())
    );
    let other = facility("FAC-000", &[]);
    store.put_facility(&other).await.unwrap();
    assert_eq!(store.facilities().await.unwrap(), vec![other, changed]);
    assert_eq!(store.facility("FAC-404").await.unwrap(), None);
    assert_constraint(
        store
            .put_facility(&facility("FAC-002", &["X-1", "X-1"]))
            .await,
        "duplicate equipment within a facility",
    );
}

pub async fn equipment_ids_unique_across_facilities(store: &Store) {
    store
        .put_facility(&facility("FAC-001", &["BLR-101"]))
        .await
        .unwrap();
    let taken = store.put_facility(&facility("FAC-002", &["BLR-101"])).await;
    assert!(matches!(taken, Err(Error::Conflict { .. })), "{taken:?}");
    assert_eq!(store.facility("FAC-002").await.unwrap(), None);
    // Once released by its facility, the unit can move.
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    store
        .put_facility(&facility("FAC-002", &["BLR-101"]))
        .await
        .unwrap();
}

pub async fn delete_facility_refuses_while_data_exists(store: &Store) {
    assert!(!store.delete_facility("FAC-404").await.unwrap());
    store
        .put_facility(&facility("FAC-001", &["B-1"]))
        .await
        .unwrap();
    store
        .insert_readings("FAC-001", &[reading("FT-101", T0_US, 1.0)])
        .await
        .unwrap();
    let refused = store.delete_facility("FAC-001").await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 1);

    store
        .put_facility(&facility("FAC-002", &["B-2"]))
        .await
        .unwrap();
    store
        .insert_calculation(&completed("FAC-002", &["B-2"], T0_US))
        .await
        .unwrap();
    assert!(matches!(
        store.delete_facility("FAC-002").await,
        Err(Error::Conflict { .. })
    ));

    store
        .put_facility(&facility("FAC-003", &["B-3"]))
        .await
        .unwrap();
    store
        .set_equipment_flag(&EquipmentFlag {
            equipment_id: "B-3".into(),
            facility_id: "FAC-003".into(),
            reason: "O2 probe drifting".into(),
            flagged_by: "ops".into(),
            flagged_at_us: T0_US,
        })
        .await
        .unwrap();
    assert!(store.delete_facility("FAC-003").await.unwrap());
    assert_eq!(store.facility("FAC-003").await.unwrap(), None);
    assert!(store.equipment_flags("FAC-003").await.unwrap().is_empty());
    // Its equipment id is free again.
    store
        .put_facility(&facility("FAC-004", &["B-3"]))
        .await
        .unwrap();
}

pub async fn readings_idempotent_and_corrections_counted(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let batch: Vec<Reading> = (0..100)
        .map(|i| reading("FT-101", T0_US + i * S, i as f64))
        .collect();
    assert_eq!(
        store.insert_readings("FAC-001", &batch).await.unwrap(),
        counts(100, 0, 0)
    );
    assert_eq!(
        store.insert_readings("FAC-001", &batch).await.unwrap(),
        counts(0, 0, 100)
    );
    let mut again = batch.clone();
    again[3].value = 42.5;
    again[7].quality = Quality::Bad;
    again.push(reading("FT-101", T0_US + 100 * S, 1.0));
    assert_eq!(
        store.insert_readings("FAC-001", &again).await.unwrap(),
        counts(1, 2, 98)
    );
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 101);
    let series = store
        .readings("FAC-001", &["FT-101"], T0_US, T0_US + 200 * S)
        .await
        .unwrap();
    assert_eq!(series[0].values[3], 42.5);
    assert_eq!(series[0].qualities[7], Quality::Bad);
    // Correcting back to the original value is another correction, not "unchanged".
    assert_eq!(
        store
            .insert_readings("FAC-001", &batch[3..4])
            .await
            .unwrap(),
        counts(0, 1, 0)
    );
    assert_eq!(
        store.insert_readings("FAC-001", &[]).await.unwrap(),
        counts(0, 0, 0)
    );
}

pub async fn readings_duplicates_within_batch_apply_in_order(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let batch = vec![
        reading("FT-101", T0_US, 1.0),
        reading("FT-101", T0_US, 1.0),
        reading("FT-101", T0_US, 2.0),
    ];
    assert_eq!(
        store.insert_readings("FAC-001", &batch).await.unwrap(),
        counts(1, 1, 1)
    );
    let series = store
        .readings("FAC-001", &["FT-101"], T0_US, T0_US + S)
        .await
        .unwrap();
    assert_eq!(series[0].values, vec![2.0]);
}

pub async fn readings_large_batch_spans_statements(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let tags: Vec<String> = (0..12).map(|t| format!("TAG-{t:02}")).collect();
    let batch: Vec<Reading> = (0..10_007)
        .map(|i| reading(&tags[i % 12], T0_US + (i / 12) as i64 * S, i as f64))
        .collect();
    assert_eq!(
        store.insert_readings("FAC-001", &batch).await.unwrap(),
        counts(10_007, 0, 0)
    );
    let mut half_changed = batch.clone();
    for r in half_changed.iter_mut().step_by(2) {
        r.value += 0.5;
    }
    assert_eq!(
        store
            .insert_readings("FAC-001", &half_changed)
            .await
            .unwrap(),
        counts(0, 5_004, 5_003)
    );
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 10_007);
}

pub async fn readings_window_with_previous_reading(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    store.put_facility(&facility("FAC-002", &[])).await.unwrap();
    let start = T0_US;
    let end = T0_US + 10 * S;
    let batch = vec![
        reading("A", start - 30 * S, -30.0),
        reading("A", start - 5 * S, -5.0),
        reading("A", start, 0.0),
        reading("A", start + 4 * S, 4.0),
        reading("A", end - 1, 9.9),
        reading("A", end, 10.0),
        // Only after the window: no earlier reading to carry in.
        reading("B", end + S, 11.0),
        reading("C", start + S, 1.0),
        reading("C", start - S, -1.0),
    ];
    store.insert_readings("FAC-001", &batch).await.unwrap();
    store
        .insert_readings("FAC-002", &[reading("A", start + S, 99.0)])
        .await
        .unwrap();
    let series = store
        .readings("FAC-001", &["C", "A", "B", "A", "NONE"], start, end)
        .await
        .unwrap();
    let tags: Vec<&str> = series.iter().map(|s| s.tag.as_str()).collect();
    assert_eq!(tags, ["C", "A", "B", "NONE"]);
    assert_eq!(series[0].times_us, vec![start - S, start + S]);
    assert_eq!(
        series[1].times_us,
        vec![start - 5 * S, start, start + 4 * S, end - 1]
    );
    assert_eq!(series[1].values, vec![-5.0, 0.0, 4.0, 9.9]);
    assert_eq!(series[1].qualities.len(), 4);
    assert!(series[2].times_us.is_empty());
    assert!(series[3].values.is_empty());
    assert_constraint(
        store.readings("FAC-001", &["A"], end, start).await,
        "end before start",
    );
    assert_constraint(
        store.readings("FAC-001", &["A"], start, start).await,
        "empty period",
    );
}

pub async fn readings_values_round_trip_bit_exact(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let values = [
        0.1 + 0.2,
        f64::MIN_POSITIVE,
        f64::MAX,
        -f64::MAX,
        1.0e-300,
        std::f64::consts::PI,
        123_456_789.123_456_79,
        9_007_199_254_740_993.0,
        -273.15,
    ];
    let batch: Vec<Reading> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Reading {
            quality: [Quality::Good, Quality::Uncertain, Quality::Bad][i % 3],
            ..reading("X", T0_US + i as i64, *v)
        })
        .collect();
    store.insert_readings("FAC-001", &batch).await.unwrap();
    let series = store
        .readings("FAC-001", &["X"], T0_US, T0_US + S)
        .await
        .unwrap();
    let bits: Vec<u64> = series[0].values.iter().map(|v| v.to_bits()).collect();
    let expected: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, expected);
    let qualities: Vec<Quality> = batch.iter().map(|r| r.quality).collect();
    assert_eq!(series[0].qualities, qualities);
}

pub async fn readings_times_round_trip(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let times = [i64::MIN, -1_000_001, -1, 0, T0_US, i64::MAX - 1];
    let batch: Vec<Reading> = times
        .iter()
        .map(|t| Reading {
            quality: Quality::Bad,
            ..reading("X", *t, 1.0)
        })
        .collect();
    store.insert_readings("FAC-001", &batch).await.unwrap();
    let series = store
        .readings("FAC-001", &["X"], i64::MIN, i64::MAX - 1)
        .await
        .unwrap();
    assert_eq!(series[0].times_us, times[..5].to_vec());
    assert_eq!(series[0].qualities, vec![Quality::Bad; 5]);
    let series = store
        .readings("FAC-001", &["X"], i64::MAX - 1, i64::MAX)
        .await
        .unwrap();
    assert_eq!(
        series[0].times_us,
        vec![T0_US, i64::MAX - 1],
        "previous reading carried in"
    );
}

pub async fn readings_come_back_in_time_order_whatever_the_storage_order(store: &Store) {
    // Later times stored first, then earlier ones, then a correction in the middle (on
    // PostgreSQL an update writes a new row version elsewhere): the read must still be in time
    // order with each value at its time.
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let late: Vec<Reading> = (10..20)
        .map(|i| reading("X", T0_US + i * S, i as f64))
        .collect();
    let early: Vec<Reading> = (0..10)
        .rev()
        .map(|i| reading("X", T0_US + i * S, i as f64))
        .collect();
    store.insert_readings("FAC-001", &late).await.unwrap();
    store.insert_readings("FAC-001", &early).await.unwrap();
    store
        .insert_readings("FAC-001", &[reading("X", T0_US + 5 * S, 55.0)])
        .await
        .unwrap();
    let series = store
        .readings("FAC-001", &["X"], T0_US + S, T0_US + 20 * S)
        .await
        .unwrap();
    let times: Vec<i64> = (0..20).map(|i| T0_US + i * S).collect();
    let mut values: Vec<f64> = (0..20).map(|i| i as f64).collect();
    values[5] = 55.0;
    assert_eq!(series[0].times_us, times);
    assert_eq!(series[0].values, values);
    assert_eq!(series[0].qualities, vec![Quality::Good; 20]);
}

pub async fn refused_batch_stores_nothing(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let good: Vec<Reading> = (0..10)
        .map(|i| reading("FT-101", T0_US + i * S, 1.0))
        .collect();
    store.insert_readings("FAC-001", &good).await.unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut batch: Vec<Reading> = (0..10)
            .map(|i| reading("FT-101", T0_US + i * S, 2.0))
            .collect();
        batch.push(reading("FT-101", T0_US + 50 * S, 3.0));
        batch.insert(5, reading("FT-101", T0_US + 60 * S, bad));
        match store.insert_readings("FAC-001", &batch).await {
            Err(Error::Constraint { field, .. }) => assert_eq!(field, "readings[5].value"),
            other => panic!("non-finite {bad} accepted: {other:?}"),
        }
    }
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 10);
    let series = store
        .readings("FAC-001", &["FT-101"], T0_US, T0_US + HOUR)
        .await
        .unwrap();
    assert_eq!(series[0].values, vec![1.0; 10]);
}

pub async fn readings_for_unknown_facility_refused(store: &Store) {
    let refused = store
        .insert_readings("FAC-404", &[reading("A", T0_US, 1.0)])
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::NotFound {
                what: "facility",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(store.reading_count("FAC-404").await.unwrap(), 0);
}

pub async fn concurrent_ingest_loses_nothing(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let batch: Vec<Reading> = (0..1000)
                    .map(|i| reading(&format!("T{t}"), T0_US + i * S, i as f64))
                    .collect();
                store.insert_readings("FAC-001", &batch).await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), counts(1000, 0, 0));
    }
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 8000);
}

pub async fn calculation_round_trip(store: &Store) {
    store
        .put_facility(&facility("FAC-001", &["BLR-101", "FUR-201"]))
        .await
        .unwrap();
    let ok = completed("FAC-001", &["FUR-201", "BLR-101"], T0_US + 2 * HOUR);
    assert!(ok.id.starts_with("CALC-") && ok.id.len() == 37, "{}", ok.id);
    store.insert_calculation(&ok).await.unwrap();
    assert_eq!(store.calculation(&ok.id).await.unwrap(), Some(ok.clone()));
    let bad = failed("FAC-001", T0_US + 3 * HOUR);
    store.insert_calculation(&bad).await.unwrap();
    assert_eq!(store.calculation(&bad.id).await.unwrap(), Some(bad));
    // The boundary values are legal.
    for (efficiency, balance) in [(0.0, 0.0), (100.0, 10.0)] {
        let edge = CalculationRecord {
            efficiency: Some(efficiency),
            energy_balance_percent: Some(balance),
            ..completed("FAC-001", &[], T0_US)
        };
        store.insert_calculation(&edge).await.unwrap();
    }
    assert_eq!(store.calculation("CALC-404").await.unwrap(), None);
}

pub async fn corrupt_calculations_refused(store: &Store) {
    store
        .put_facility(&facility("FAC-001", &["B-1"]))
        .await
        .unwrap();
    let good = completed("FAC-001", &["B-1"], T0_US);
    store.insert_calculation(&good).await.unwrap();
    let base = || completed("FAC-001", &["B-1"], T0_US + S);
    let corrupt = [
        (
            "efficiency 101",
            CalculationRecord {
                efficiency: Some(101.0),
                ..base()
            },
        ),
        (
            "efficiency -1",
            CalculationRecord {
                efficiency: Some(-1.0),
                ..base()
            },
        ),
        (
            "efficiency NaN",
            CalculationRecord {
                efficiency: Some(f64::NAN),
                ..base()
            },
        ),
        (
            "efficiency inf",
            CalculationRecord {
                efficiency: Some(f64::INFINITY),
                ..base()
            },
        ),
        (
            "balance 10.5",
            CalculationRecord {
                energy_balance_percent: Some(10.5),
                ..base()
            },
        ),
        (
            "balance -0.1",
            CalculationRecord {
                energy_balance_percent: Some(-0.1),
                ..base()
            },
        ),
        (
            "completed without efficiency",
            CalculationRecord {
                efficiency: None,
                ..base()
            },
        ),
        (
            "completed without balance",
            CalculationRecord {
                energy_balance_percent: None,
                ..base()
            },
        ),
        (
            "failed with efficiency",
            CalculationRecord {
                efficiency: Some(80.0),
                ..failed("FAC-001", T0_US)
            },
        ),
        (
            "failed without reason",
            CalculationRecord {
                failure_reason: None,
                ..failed("FAC-001", T0_US)
            },
        ),
        (
            "period end before start",
            CalculationRecord {
                period_end_us: T0_US - 1,
                ..base()
            },
        ),
        (
            "id without CALC- prefix",
            CalculationRecord {
                id: "X-1".into(),
                ..base()
            },
        ),
    ];
    for (what, record) in corrupt {
        assert_constraint(store.insert_calculation(&record).await, what);
        assert_eq!(store.calculation(&record.id).await.unwrap(), None, "{what}");
    }
    // Refusals roll back completely: the equipment link of a refused row is not left behind,
    // and what was stored before is intact.
    let latest = store.latest_calculation_for_equipment("B-1").await.unwrap();
    assert_eq!(latest, Some(good.clone()));
    let page = store
        .calculations(&CalculationFilter::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(store.calculation(&good.id).await.unwrap(), Some(good));
}

pub async fn calculation_duplicate_and_unknown_facility(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let c = completed("FAC-001", &[], T0_US);
    store.insert_calculation(&c).await.unwrap();
    let again = CalculationRecord {
        efficiency: Some(50.0),
        ..c.clone()
    };
    let dup = store.insert_calculation(&again).await;
    assert!(matches!(dup, Err(Error::Conflict { .. })), "{dup:?}");
    assert_eq!(store.calculation(&c.id).await.unwrap(), Some(c));
    let orphan = store
        .insert_calculation(&completed("FAC-404", &[], T0_US))
        .await;
    assert!(matches!(orphan, Err(Error::NotFound { .. })), "{orphan:?}");
}

pub async fn calculations_filtered_and_paged(store: &Store) {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    store.put_facility(&facility("FAC-002", &[])).await.unwrap();
    let mut all = Vec::new();
    for i in 0..7_i64 {
        let facility_id = if i % 2 == 0 { "FAC-001" } else { "FAC-002" };
        let mut c = if i == 3 {
            failed(facility_id, T0_US + i * S)
        } else {
            completed(facility_id, &[], T0_US + i * S)
        };
        c.period_start_us = T0_US + i * HOUR;
        c.period_end_us = T0_US + (i + 1) * HOUR;
        store.insert_calculation(&c).await.unwrap();
        all.push(c);
    }
    // Two with the same creation time: the id breaks the tie, and paging still sees both.
    let mut twin = completed("FAC-001", &[], T0_US + 6 * S);
    twin.period_start_us = T0_US + 6 * HOUR;
    twin.period_end_us = T0_US + 7 * HOUR;
    store.insert_calculation(&twin).await.unwrap();
    all.push(twin);

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .calculations(&CalculationFilter {
                limit: Some(3),
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|s| s.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<(i64, String)> = all
        .iter()
        .map(|c| (c.created_at_us, c.id.clone()))
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(
        seen, expected,
        "newest first, every calculation exactly once"
    );

    let fac1 = store
        .calculations(&CalculationFilter {
            facility_id: Some("FAC-001".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(fac1.items.len(), 5);
    assert!(fac1.items.iter().all(|s| s.facility_id == "FAC-001"));
    assert_eq!(fac1.next_cursor, None);

    let failed_only = store
        .calculations(&CalculationFilter {
            status: Some(CalculationStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed_only.items.len(), 1);
    assert_eq!(failed_only.items[0].id, all[3].id);
    assert_eq!(failed_only.items[0].efficiency, None);

    // Periods are [i h, i+1 h); the window [2 h, 4 h) overlaps i = 2 and 3 only.
    let window = store
        .calculations(&CalculationFilter {
            period_from_us: Some(T0_US + 2 * HOUR),
            period_to_us: Some(T0_US + 4 * HOUR),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: HashSet<&str> = window.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, HashSet::from([all[2].id.as_str(), all[3].id.as_str()]));
    assert_eq!(window.items[0].efficiency, None);
    assert_eq!(window.items[1].efficiency, Some(84.25));

    for limit in [0, 501] {
        assert_constraint(
            store
                .calculations(&CalculationFilter {
                    limit: Some(limit),
                    ..Default::default()
                })
                .await,
            "limit out of range",
        );
    }
    assert_constraint(
        store
            .calculations(&CalculationFilter {
                cursor: Some("not-a-cursor".into()),
                ..Default::default()
            })
            .await,
        "malformed cursor",
    );
}

pub async fn latest_calculation_for_equipment(store: &Store) {
    store
        .put_facility(&facility("FAC-001", &["BLR-101", "FUR-201"]))
        .await
        .unwrap();
    assert_eq!(
        store
            .latest_calculation_for_equipment("BLR-101")
            .await
            .unwrap(),
        None
    );
    let older = completed("FAC-001", &["BLR-101", "FUR-201"], T0_US);
    let newer = completed("FAC-001", &["FUR-201"], T0_US + HOUR);
    store.insert_calculation(&newer).await.unwrap();
    store.insert_calculation(&older).await.unwrap();
    assert_eq!(
        store
            .latest_calculation_for_equipment("BLR-101")
            .await
            .unwrap(),
        Some(older)
    );
    assert_eq!(
        store
            .latest_calculation_for_equipment("FUR-201")
            .await
            .unwrap(),
        Some(newer)
    );
}

pub async fn equipment_flags_lifecycle(store: &Store) {
    store
        .put_facility(&facility("FAC-001", &["BLR-101", "FUR-201"]))
        .await
        .unwrap();
    store
        .put_facility(&facility("FAC-002", &["HX-1"]))
        .await
        .unwrap();
    let flag = EquipmentFlag {
        equipment_id: "BLR-101".into(),
        facility_id: "FAC-001".into(),
        reason: "stack thermocouple replaced".into(),
        flagged_by: "alice".into(),
        flagged_at_us: T0_US,
    };
    store.set_equipment_flag(&flag).await.unwrap();
    let replaced = EquipmentFlag {
        reason: "O2 analyser out of calibration".into(),
        flagged_at_us: T0_US + S,
        ..flag.clone()
    };
    store.set_equipment_flag(&replaced).await.unwrap();
    let other = EquipmentFlag {
        equipment_id: "FUR-201".into(),
        ..flag.clone()
    };
    store.set_equipment_flag(&other).await.unwrap();
    assert_eq!(
        store.equipment_flags("FAC-001").await.unwrap(),
        vec![replaced.clone(), other.clone()]
    );
    assert!(store.equipment_flags("FAC-002").await.unwrap().is_empty());

    let unknown = store
        .set_equipment_flag(&EquipmentFlag {
            equipment_id: "NOPE".into(),
            ..flag.clone()
        })
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert_constraint(
        store
            .set_equipment_flag(&EquipmentFlag {
                equipment_id: "HX-1".into(),
                ..flag.clone()
            })
            .await,
        "flag naming the wrong facility",
    );

    // Updating the facility keeps the flags of units that stay; a removed unit loses its flag.
    store
        .put_facility(&facility("FAC-001", &["BLR-101", "NEW-1"]))
        .await
        .unwrap();
    assert_eq!(
        store.equipment_flags("FAC-001").await.unwrap(),
        vec![replaced]
    );
    assert!(store.clear_equipment_flag("BLR-101").await.unwrap());
    assert!(!store.clear_equipment_flag("BLR-101").await.unwrap());
    assert!(store.equipment_flags("FAC-001").await.unwrap().is_empty());
}

pub async fn tokens_lifecycle(store: &Store) {
    let viewer = token("tok-1", Role::Viewer, 1);
    let admin = TokenRecord {
        created_at_us: T0_US + S,
        ..token("tok-2", Role::Admin, 2)
    };
    store.insert_token(&viewer).await.unwrap();
    store.insert_token(&admin).await.unwrap();
    assert_eq!(
        store.token_by_digest(&[1; 32]).await.unwrap(),
        Some(viewer.clone())
    );
    assert_eq!(store.token_by_digest(&[9; 32]).await.unwrap(), None);
    assert_eq!(
        store.tokens().await.unwrap(),
        vec![viewer.clone(), admin.clone()]
    );
    let same_digest = store.insert_token(&token("tok-3", Role::Admin, 1)).await;
    assert!(
        matches!(same_digest, Err(Error::Conflict { .. })),
        "{same_digest:?}"
    );
    let same_id = store.insert_token(&token("tok-1", Role::Admin, 3)).await;
    assert!(
        matches!(same_id, Err(Error::Conflict { .. })),
        "{same_id:?}"
    );

    assert!(store.revoke_token("tok-1").await.unwrap());
    let revoked = store.token_by_digest(&[1; 32]).await.unwrap().unwrap();
    let at = revoked.revoked_at_us.expect("revocation time recorded");
    assert!(at >= viewer.created_at_us);
    assert!(store.revoke_token("tok-1").await.unwrap());
    let again = store.token_by_digest(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(again.revoked_at_us, Some(at), "first revocation time kept");
    assert!(!store.revoke_token("tok-404").await.unwrap());
    assert_eq!(
        store
            .token_by_digest(&[2; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at_us,
        None
    );
    assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
}

/// The runbook: "downgrade -1", "downgrade to a named version", forward again; data both
/// versions understand survives every step.
pub async fn migrate_down_and_up_keeps_data(store: &Store) {
    let status = store.migration_status().await.unwrap();
    let versions: Vec<i64> = status.applied.iter().map(|m| m.version).collect();
    assert!(versions.len() >= 3);
    let first = versions[0];

    let f = facility("FAC-001", &["BLR-101"]);
    store.put_facility(&f).await.unwrap();
    let readings: Vec<Reading> = (0..500)
        .map(|i| reading(&format!("T{}", i % 5), T0_US + (i / 5) * S, i as f64 * 0.25))
        .collect();
    store.insert_readings("FAC-001", &readings).await.unwrap();
    let calc = completed("FAC-001", &["BLR-101"], T0_US);
    store.insert_calculation(&calc).await.unwrap();
    store
        .insert_token(&token("tok-1", Role::Operator, 7))
        .await
        .unwrap();

    let check_facility_and_readings = || async {
        assert_eq!(store.facility("FAC-001").await.unwrap(), Some(f.clone()));
        assert_eq!(store.reading_count("FAC-001").await.unwrap(), 500);
        let series = store
            .readings("FAC-001", &["T3"], T0_US, T0_US + HOUR)
            .await
            .unwrap();
        let expected: Vec<f64> = (0..100).map(|k| (5 * k + 3) as f64 * 0.25).collect();
        assert_eq!(series[0].values, expected);
    };

    // Down one step: the newest migration is reverted, everything older is intact.
    let reverted = store
        .migrate_down(MigrateDownTarget::Steps(1))
        .await
        .unwrap();
    assert_eq!(
        reverted.iter().map(|m| m.version).collect::<Vec<_>>(),
        vec![versions[versions.len() - 1]]
    );
    let status = store.migration_status().await.unwrap();
    assert!(!status.is_current);
    assert_eq!(status.pending.len(), 1);
    assert_eq!(status.current_version, Some(versions[versions.len() - 2]));
    check_facility_and_readings().await;
    assert_eq!(
        store.calculation(&calc.id).await.unwrap(),
        Some(calc.clone())
    );

    // Forward again: the older data is still there.
    let applied = store.migrate_up(None).await.unwrap();
    assert_eq!(applied.len(), 1);
    assert!(store.migration_status().await.unwrap().is_current);
    check_facility_and_readings().await;
    assert_eq!(
        store.calculation(&calc.id).await.unwrap(),
        Some(calc.clone())
    );
    assert_eq!(
        store
            .latest_calculation_for_equipment("BLR-101")
            .await
            .unwrap(),
        Some(calc.clone())
    );

    // Down to the first version, then up step by step and all the way.
    let reverted = store
        .migrate_down(MigrateDownTarget::To(first))
        .await
        .unwrap();
    let mut expected_reverted: Vec<i64> = versions[1..].to_vec();
    expected_reverted.reverse();
    assert_eq!(
        reverted.iter().map(|m| m.version).collect::<Vec<_>>(),
        expected_reverted
    );
    assert_eq!(
        store.migration_status().await.unwrap().current_version,
        Some(first)
    );
    check_facility_and_readings().await;
    let step = store.migrate_up(Some(versions[1])).await.unwrap();
    assert_eq!(
        step.iter().map(|m| m.version).collect::<Vec<_>>(),
        vec![versions[1]]
    );
    store.migrate_up(None).await.unwrap();
    let status = store.migration_status().await.unwrap();
    assert!(status.is_current);
    assert_eq!(
        status.applied.iter().map(|m| m.version).collect::<Vec<_>>(),
        versions
    );
    check_facility_and_readings().await;
    // The schema works again end to end.
    let again = completed("FAC-001", &["BLR-101"], T0_US + S);
    store.insert_calculation(&again).await.unwrap();
    store
        .insert_token(&token("tok-2", Role::Admin, 8))
        .await
        .unwrap();
    assert_eq!(
        store.insert_readings("FAC-001", &readings).await.unwrap(),
        counts(0, 0, 500)
    );
    let mut corrected = readings.clone();
    corrected[10].value = -1.0;
    corrected.push(reading("T9", T0_US, 9.0));
    assert_eq!(
        store.insert_readings("FAC-001", &corrected).await.unwrap(),
        counts(1, 1, 499)
    );
}

pub async fn migrate_targets_validated(store: &Store) {
    let refused = store.migrate_down(MigrateDownTarget::To(12345)).await;
    assert!(
        matches!(refused, Err(Error::Migration { .. })),
        "{refused:?}"
    );
    let refused = store.migrate_up(Some(12345)).await;
    assert!(
        matches!(refused, Err(Error::Migration { .. })),
        "{refused:?}"
    );
    assert!(
        store
            .migrate_down(MigrateDownTarget::Steps(0))
            .await
            .unwrap()
            .is_empty()
    );
    // Everything down and back up on an empty database.
    let all = store.migration_status().await.unwrap().applied.len();
    assert_eq!(
        store
            .migrate_down(MigrateDownTarget::Steps(99))
            .await
            .unwrap()
            .len(),
        all
    );
    let status = store.migration_status().await.unwrap();
    assert_eq!(status.current_version, None);
    assert_eq!(status.pending.len(), all);
    assert_eq!(store.migrate_up(None).await.unwrap().len(), all);
    assert!(store.migration_status().await.unwrap().is_current);
}
