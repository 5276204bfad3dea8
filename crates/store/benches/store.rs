//! Store throughput on the workloads: ingesting batches of 10,000 readings, and reading
//! back one facility-hour of 12 tags at 1 Hz (43,200 readings) for a calculation.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use store::{FacilityRecord, Quality, Reading, Store};

const TAGS: usize = 12;
const HOUR_S: i64 = 3600;
const BATCH: usize = 10_000;
const T0_US: i64 = 1_761_955_200_000_000; // 2025-11-01T00:00:00Z

fn tag(i: usize) -> String {
    format!("BLR-101.TAG-{i:02}")
}

/// A batch of `BATCH` readings over all tags, starting `offset_s` seconds after T0.
fn batch(offset_s: i64, shift: f64) -> Vec<Reading> {
    (0..BATCH)
        .map(|i| Reading {
            tag: tag(i % TAGS),
            time_us: T0_US + (offset_s + (i / TAGS) as i64) * 1_000_000,
            value: 100.0 + (i as f64).sin() + shift,
            quality: Quality::Good,
        })
        .collect()
}

fn setup(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> Store {
    rt.block_on(async {
        let store = Store::open_in_dir(dir).await.expect("open");
        store.migrate_up(None).await.expect("migrate");
        store
            .put_facility(&FacilityRecord {
                id: "FAC-001".into(),
                name: "Bench".into(),
                time_zone: "UTC".into(),
                spec: serde_json::json!({}),
                equipment_ids: vec!["BLR-101".into()],
                updated_at_us: T0_US,
            })
            .await
            .expect("facility");
        store
    })
}

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = setup(&rt, dir.path());
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut next_s = 0_i64;
    group.bench_function("new_10k", |b| {
        b.iter_batched(
            || {
                next_s += (BATCH / TAGS) as i64 + 1;
                batch(next_s, 0.0)
            },
            |rows| {
                rt.block_on(store.insert_readings("FAC-001", &rows))
                    .expect("ingest")
            },
            BatchSize::LargeInput,
        )
    });
    let same = batch(-1_000_000, 0.0);
    rt.block_on(store.insert_readings("FAC-001", &same))
        .expect("ingest");
    group.bench_function("unchanged_10k", |b| {
        b.iter(|| {
            rt.block_on(store.insert_readings("FAC-001", &same))
                .expect("ingest")
        })
    });
    let mut shift = 0.0;
    group.bench_function("corrected_10k", |b| {
        b.iter_batched(
            || {
                shift += 1.0;
                batch(-1_000_000, shift)
            },
            |rows| {
                rt.block_on(store.insert_readings("FAC-001", &rows))
                    .expect("ingest")
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
    rt.block_on(store.close());
}

fn read_hour(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = setup(&rt, dir.path());
    // A day of data, so the hour is read out of a realistically sized table.
    let day: Vec<Reading> = (0..24 * HOUR_S)
        .flat_map(|s| {
            (0..TAGS).map(move |t| Reading {
                tag: tag(t),
                time_us: T0_US + s * 1_000_000,
                value: 50.0 + (s as f64 * 0.01 + t as f64).sin(),
                quality: Quality::Good,
            })
        })
        .collect();
    for rows in day.chunks(BATCH) {
        rt.block_on(store.insert_readings("FAC-001", rows))
            .expect("ingest");
    }
    let tags: Vec<String> = (0..TAGS).map(tag).collect();
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let start = T0_US + 10 * HOUR_S * 1_000_000;
    let end = start + HOUR_S * 1_000_000;
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements((TAGS as i64 * HOUR_S) as u64));
    group.bench_function("hour_12_tags_1hz", |b| {
        b.iter(|| {
            let series = rt
                .block_on(store.readings("FAC-001", black_box(&tag_refs), start, end))
                .expect("read");
            assert_eq!(series[0].values.len(), HOUR_S as usize + 1);
            series
        })
    });
    group.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, ingest, read_hour);
criterion_main!(benches);
