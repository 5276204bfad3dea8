//! The shared store suite on PostgreSQL (a fresh database per test on the server named by
//! THERMALIQ_TEST_POSTGRES_URL), plus what only PostgreSQL has: monthly partitions of
//! `readings`, the pool size parameter, and the schema seen by an operator's SQL.

#[macro_use]
mod suite;
mod pg;

use pg::{TestDb, fresh_pg};
use sqlx::{Connection, PgConnection};
use store::{Error, IngestCounts, MigrateDownTarget, Quality, Reading, Store};
use suite::{T0_US, completed, facility, reading};

store_suite!(fresh_pg);

/// 4102444800 s is 2100-01-01T00:00:00Z (GNU `date -u -d @4102444800`).
const Y2100_US: i64 = 4_102_444_800_000_000;
/// 1767225600 s is 2026-01-01T00:00:00Z.
const JAN_2026_US: i64 = 1_767_225_600_000_000;

/// Partitions of `readings`, by name.
async fn partitions(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits AS i \
         JOIN pg_class AS c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'readings'::regclass ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Rows per partition, for the readings of a facility.
async fn rows_by_partition(conn: &mut PgConnection) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT tableoid::regclass::text, count(*) FROM readings GROUP BY 1 ORDER BY 1")
        .fetch_all(conn)
        .await
        .unwrap()
}

/// `readings_pYYYY_MM` of the month `months_ahead` after the current UTC month.
fn partition_of_current_month(months_ahead: i32) -> String {
    let now = time::OffsetDateTime::now_utc();
    let index = now.year() * 12 + i32::from(u8::from(now.month())) - 1 + months_ahead;
    format!("readings_p{:04}_{:02}", index / 12, index % 12 + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_exist_for_inserted_months_and_ahead() {
    let (db, store) = fresh_pg().await;
    let mut conn = db.connect().await;
    let before = partitions(&mut conn).await;
    for ahead in 0..=3 {
        let name = partition_of_current_month(ahead);
        assert!(
            before.contains(&name),
            "{name} missing after migrate: {before:?}"
        );
    }
    assert!(before.contains(&"readings_before_1970".to_owned()));
    assert!(before.contains(&"readings_from_2100".to_owned()));

    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let batch = vec![
        reading("A", T0_US, 1.0),
        reading("A", T0_US + 1, 2.0),
        reading("A", JAN_2026_US - 1, 3.0),
        reading("A", JAN_2026_US, 4.0),
        reading("B", 1_000_000, 5.0),
        // Far in the past and the future: the open-ended partitions take them.
        reading("A", i64::MIN, -1.0),
        reading("A", -1, -2.0),
        reading("A", Y2100_US - 1, 6.0),
        reading("A", Y2100_US, 7.0),
        reading("A", i64::MAX, 8.0),
    ];
    let counts = store.insert_readings("FAC-001", &batch).await.unwrap();
    assert_eq!(counts.inserted, 10);
    let after = partitions(&mut conn).await;
    for name in [
        "readings_p2025_11",
        "readings_p2025_12",
        "readings_p2026_01",
        "readings_p1970_01",
        "readings_p2099_12",
    ] {
        assert!(
            after.contains(&name.to_owned()),
            "{name} missing: {after:?}"
        );
    }
    assert_eq!(
        rows_by_partition(&mut conn).await,
        vec![
            ("readings_before_1970".to_owned(), 2),
            ("readings_from_2100".to_owned(), 2),
            ("readings_p1970_01".to_owned(), 1),
            ("readings_p2025_11".to_owned(), 2),
            ("readings_p2025_12".to_owned(), 1),
            ("readings_p2026_01".to_owned(), 1),
            ("readings_p2099_12".to_owned(), 1),
        ]
    );
    let series = store
        .readings("FAC-001", &["A"], i64::MIN, i64::MAX)
        .await
        .unwrap();
    assert_eq!(
        series[0].values,
        vec![-1.0, -2.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0]
    );
    // The reading at i64::MAX is stored; only a window ending after it could return it.
    let last = store
        .readings("FAC-001", &["A"], i64::MAX - 1, i64::MAX)
        .await
        .unwrap();
    assert_eq!(last[0].values, vec![7.0]);
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 10);
    conn.close().await.unwrap();
    store.close().await;
}

/// Replicas with their own partition caches create the same new month at the same moment;
/// none fails, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creators_of_a_partition_all_succeed() {
    let (db, first) = fresh_pg().await;
    first.put_facility(&facility("FAC-001", &[])).await.unwrap();
    // 1942 s past 2031-07-01T00:00:00Z (1940803200 s): a month nobody created ahead.
    let july_2031 = 1_940_803_200_000_000 + 1_942;
    let mut replicas = vec![first];
    for _ in 0..5 {
        replicas.push(Store::open(&db.url).await.unwrap());
    }
    let tasks: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(n, store)| {
            let store = store.clone();
            tokio::spawn(async move {
                let batch: Vec<Reading> = (0..200)
                    .map(|i| reading(&format!("R{n}"), july_2031 + i, i as f64))
                    .collect();
                store.insert_readings("FAC-001", &batch).await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().inserted, 200);
    }
    let mut conn = db.connect().await;
    assert_eq!(
        rows_by_partition(&mut conn)
            .await
            .into_iter()
            .find(|(name, _)| name == "readings_p2031_07"),
        Some(("readings_p2031_07".to_owned(), 1200))
    );
    conn.close().await.unwrap();
    for store in replicas {
        store.close().await;
    }
}

/// Reverting the first migration drops `readings` with its partitions; the store must not
/// trust what it knew of them afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_after_full_downgrade_and_upgrade() {
    let (_db, store) = fresh_pg().await;
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let batch: Vec<Reading> = (0..50)
        .map(|i| reading("FT-101", T0_US + i * 1_000_000, i as f64))
        .collect();
    store.insert_readings("FAC-001", &batch).await.unwrap();
    store.migrate_down(MigrateDownTarget::To(0)).await.unwrap();
    store.migrate_up(None).await.unwrap();
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let counts = store.insert_readings("FAC-001", &batch).await.unwrap();
    assert_eq!(counts.inserted, 50);
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 50);
    store.close().await;
}

/// What an operator typing SQL by hand meets: the schema refuses corrupt rows, and the
/// runbook's query on `created_at` works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_refuses_corrupt_rows_and_answers_the_runbook_query() {
    let (db, store) = fresh_pg().await;
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let recent = completed("FAC-001", &[], store::now_us());
    store.insert_calculation(&recent).await.unwrap();
    store
        .insert_calculation(&completed("FAC-001", &[], T0_US))
        .await
        .unwrap();
    let mut conn = db.connect().await;
    for (efficiency, balance, status, constraint) in [
        ("101", "1", "completed", "efficiency_range"),
        ("-1", "1", "completed", "efficiency_range"),
        ("'NaN'", "1", "completed", "efficiency_range"),
        ("80", "10.5", "completed", "energy_balance_range"),
        ("NULL", "1", "completed", "status_consistent"),
        ("80", "1", "failed", "status_consistent"),
    ] {
        let sql = format!(
            "INSERT INTO calculations (id, facility_id, period_start_us, period_end_us, status, \
             efficiency, energy_balance_percent, provenance_hash, input_hash, method_version, \
             service_version, request, result, failure_reason, created_at_us, created_at) \
             VALUES ('CALC-X', 'FAC-001', 0, 1, '{status}', {efficiency}, {balance}, 'p', 'i', \
             'm', 's', '{{}}', '{{}}', NULL, 0, 'epoch')"
        );
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_err();
        let db_err = err.as_database_error().expect("a database error");
        assert_eq!(
            db_err.constraint(),
            Some(constraint),
            "{efficiency} {balance} {status}"
        );
    }
    let last_five_minutes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calculations WHERE created_at >= NOW() - INTERVAL '5 minutes'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(last_five_minutes, 1);
    let since: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calculations WHERE created_at >= '2025-11-01 00:00:00+00'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(since, 2);
    conn.close().await.unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_size_parameter_and_backend_name() {
    let db = TestDb::create().await;
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let store = Store::open(&format!("{}{sep}max_connections=2", db.url))
        .await
        .unwrap();
    assert_eq!(store.backend(), "postgresql");
    store.migrate_up(None).await.unwrap();
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    // More concurrent work than connections: callers queue, nothing fails.
    let tasks: Vec<_> = (0..6)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_readings(
                        "FAC-001",
                        &[Reading {
                            quality: Quality::Uncertain,
                            ..reading(&format!("T{t}"), T0_US, 1.0)
                        }],
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().inserted, 1);
    }
    store.close().await;
    let refused = Store::open(&format!("{}{sep}max_connections=0", db.url)).await;
    match refused {
        Err(Error::Constraint { field, .. }) => assert_eq!(field, "database_url"),
        other => panic!("max_connections=0 accepted: {other:?}"),
    }
    let postgresql = Store::open(&db.url.replacen("postgres://", "postgresql://", 1))
        .await
        .unwrap();
    postgresql.ping().await.unwrap();
    postgresql.close().await;
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    // Port 1 on loopback: nothing listens there.
    let refused = Store::open("postgres://thermaliq@127.0.0.1:1/none").await;
    assert!(
        matches!(refused, Err(Error::Unavailable { .. })),
        "{refused:?}"
    );
}

/// Readings have no per-row foreign key since 20261126000004; the trigger that replaced it
/// still keeps a series with readings from being deleted, and the key comes back on downgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_with_readings_cannot_be_deleted() {
    let (db, store) = fresh_pg().await;
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    store
        .insert_readings("FAC-001", &[reading("A", T0_US, 1.0)])
        .await
        .unwrap();
    let mut conn = db.connect().await;
    let refused = sqlx::query("DELETE FROM reading_series")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let code = refused.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("23503"), "{refused}");
    store
        .migrate_down(MigrateDownTarget::To(20261126000003))
        .await
        .unwrap();
    let refused = sqlx::query("DELETE FROM reading_series")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let db_err = refused.as_database_error().expect("a database error");
    assert_eq!(db_err.constraint(), Some("readings_series_id_fkey"));
    store.migrate_up(None).await.unwrap();
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 1);
    conn.close().await.unwrap();
    store.close().await;
}

/// A batch whose keys were all new when checked, but one of which another transaction stores
/// before the batch's insert commits, is stored again on the exact path: nothing is lost and
/// the clash is counted as the correction it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_racing_another_writer_of_its_keys_is_counted_exactly() {
    let (db, store) = fresh_pg().await;
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    // Creates the series and the month's partition, away from the batch's times.
    store
        .insert_readings("FAC-001", &[reading("A", T0_US + 3600 * S, 0.0)])
        .await
        .unwrap();
    let mut other = db.connect().await;
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query(
        "INSERT INTO readings (series_id, time_us, value, quality) \
         SELECT id, $1, 7.0, 0 FROM reading_series WHERE tag = 'A'",
    )
    .bind(T0_US + 5 * S)
    .execute(&mut other)
    .await
    .unwrap();
    let batch: Vec<Reading> = (0..10).map(|i| reading("A", T0_US + i * S, 1.0)).collect();
    let racing = {
        let store = store.clone();
        tokio::spawn(async move { store.insert_readings("FAC-001", &batch).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !racing.is_finished(),
        "the batch did not wait for the uncommitted row"
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    assert_eq!(
        racing.await.unwrap().unwrap(),
        IngestCounts {
            inserted: 9,
            corrected: 1,
            unchanged: 0
        }
    );
    assert_eq!(store.reading_count("FAC-001").await.unwrap(), 11);
    let series = store
        .readings("FAC-001", &["A"], T0_US, T0_US + 10 * S)
        .await
        .unwrap();
    assert_eq!(series[0].values, vec![1.0; 10]);
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM readings WHERE time_us = $1")
        .bind(T0_US + 5 * S)
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(revision, 1);
    other.close().await.unwrap();
    store.close().await;
}

/// Sessions of the test database waiting for a lock.
const LOCK_WAITERS: &str = "SELECT count(*) FROM pg_stat_activity \
    WHERE datname = current_database() AND wait_event_type = 'Lock'";

/// Polls a `count(*)` query every 25 ms, for up to 5 s, until `done` accepts its answer; the
/// last answer.
async fn poll_count(
    conn: &mut sqlx::PgConnection,
    sql: &'static str,
    done: impl Fn(i64) -> bool,
) -> i64 {
    let mut n = -1;
    for _ in 0..200 {
        n = sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap();
        if done(n) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    n
}

/// One second, in µs.
const S: i64 = 1_000_000;

/// A read of `tags` held up by a lock on `reading_series`, with the connections to release it
/// and to watch the server.
struct Blocked {
    /// Holds the lock inside an open transaction.
    writer: PgConnection,
    /// For the test's own queries of `pg_stat_activity`.
    watcher: PgConnection,
    /// The read of the first 10 s from T0.
    read: tokio::task::JoinHandle<store::Result<Vec<store::Series>>>,
}

/// Stores one reading per tag at T0 (tag i has the value i), then starts reading them behind an
/// exclusive lock and waits until the read waits on two connections.
async fn read_blocked_on_two_connections(
    db: &TestDb,
    store: &Store,
    tags: &[&'static str],
) -> Blocked {
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let first: Vec<Reading> = tags
        .iter()
        .zip(0..)
        .map(|(tag, i)| reading(tag, T0_US, f64::from(i)))
        .collect();
    store.insert_readings("FAC-001", &first).await.unwrap();
    let mut writer = db.connect().await;
    sqlx::query("BEGIN").execute(&mut writer).await.unwrap();
    sqlx::query("LOCK TABLE reading_series IN ACCESS EXCLUSIVE MODE")
        .execute(&mut writer)
        .await
        .unwrap();
    let read = {
        let store = store.clone();
        let tags = tags.to_vec();
        tokio::spawn(async move {
            store
                .readings("FAC-001", &tags, T0_US, T0_US + 10 * S)
                .await
        })
    };
    let mut watcher = db.connect().await;
    let waiting = poll_count(&mut watcher, LOCK_WAITERS, |n| n >= 2).await;
    assert_eq!(waiting, 2, "the read did not wait on two connections");
    Blocked {
        writer,
        watcher,
        read,
    }
}

/// A read of several series runs on two connections (both wait behind a lock held here), each
/// half comes back under its own tags, and the read answers as of its start: a reading of
/// every series committed while it waits is not in it. That the second half imports the
/// first half's snapshot cannot be timed from outside; `read_split` documents it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_split_over_two_connections_sees_one_snapshot() {
    let (db, store) = fresh_pg().await;
    let tags = ["A", "B", "C", "D", "E"];
    let Blocked {
        mut writer,
        watcher,
        read,
    } = read_blocked_on_two_connections(&db, &store, &tags).await;
    sqlx::query(
        "INSERT INTO readings (series_id, time_us, value, quality) \
         SELECT id, $1, 100.0, 0 FROM reading_series",
    )
    .bind(T0_US + S)
    .execute(&mut writer)
    .await
    .unwrap();
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();

    let series = read.await.unwrap().unwrap();
    let seen: Vec<(&str, Vec<f64>)> = series
        .iter()
        .map(|s| (s.tag.as_str(), s.values.clone()))
        .collect();
    let expected: Vec<(&str, Vec<f64>)> = tags
        .iter()
        .zip(0..)
        .map(|(tag, i)| (*tag, vec![f64::from(i)]))
        .collect();
    assert_eq!(seen, expected);
    // A read after the commit sees the second reading of every series.
    let after = store
        .readings("FAC-001", &tags, T0_US, T0_US + 10 * S)
        .await
        .unwrap();
    assert!(after.iter().all(|s| s.values.len() == 2), "{after:?}");
    watcher.close().await.unwrap();
    writer.close().await.unwrap();
    store.close().await;
}

/// A read abandoned while it waits (its request dropped) leaves no session of the pool inside
/// a transaction: both connections are closed rather than returned, and the store keeps
/// working on fresh ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_split_read_leaves_no_transaction_open() {
    let (db, store) = fresh_pg().await;
    let tags = ["A", "B", "C", "D"];
    let Blocked {
        mut writer,
        mut watcher,
        read,
    } = read_blocked_on_two_connections(&db, &store, &tags).await;
    read.abort();
    assert!(read.await.unwrap_err().is_cancelled());
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();

    let open = poll_count(
        &mut watcher,
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND state LIKE 'idle in transaction%'",
        |n| n == 0,
    )
    .await;
    assert_eq!(open, 0, "a session of the pool stayed inside a transaction");
    let more: Vec<Reading> = tags
        .iter()
        .map(|tag| reading(tag, T0_US + S, 100.0))
        .collect();
    store.insert_readings("FAC-001", &more).await.unwrap();
    let series = store
        .readings("FAC-001", &tags, T0_US, T0_US + 10 * S)
        .await
        .unwrap();
    let values: Vec<Vec<f64>> = series.iter().map(|s| s.values.clone()).collect();
    assert_eq!(
        values,
        [[0.0, 100.0], [1.0, 100.0], [2.0, 100.0], [3.0, 100.0]]
    );
    watcher.close().await.unwrap();
    writer.close().await.unwrap();
    store.close().await;
}

/// A batch abandoned inside its `COPY` (its request dropped while the copy waits for another
/// writer of one of its keys) does not leave its connection in the pool: the batches and
/// reads after it all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_copy_leaves_the_pool_usable() {
    let (db, store) = fresh_pg().await;
    store.put_facility(&facility("FAC-001", &[])).await.unwrap();
    let tags = ["A", "B", "C"];
    let batch = |t0: i64| -> Vec<Reading> {
        (0..100)
            .flat_map(|i| tags.map(|tag| reading(tag, t0 + i * S, 1.0)))
            .collect()
    };
    store
        .insert_readings("FAC-001", &batch(T0_US))
        .await
        .unwrap();

    // An uncommitted reading of one of the batch's keys: invisible to the batch's check for
    // stored readings, so the batch copies, and its COPY waits for this transaction.
    let mut locker = db.connect().await;
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query(
        "INSERT INTO readings (series_id, time_us, value, quality, revision) \
         SELECT id, $1, 5.0, 0, 0 FROM reading_series WHERE tag = 'B'",
    )
    .bind(T0_US + 150 * S)
    .execute(&mut locker)
    .await
    .unwrap();
    let abandoned = {
        let store = store.clone();
        let readings = batch(T0_US + 100 * S);
        tokio::spawn(async move { store.insert_readings("FAC-001", &readings).await })
    };
    let mut watcher = db.connect().await;
    let copying = poll_count(
        &mut watcher,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND query LIKE 'COPY%'",
        |n| n >= 1,
    )
    .await;
    assert_eq!(copying, 1, "the batch did not wait inside its COPY");
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();

    for k in 2..8 {
        let counts = store
            .insert_readings("FAC-001", &batch(T0_US + k * 100 * S))
            .await
            .unwrap();
        assert_eq!(counts.inserted, 300);
        let series = store
            .readings("FAC-001", &tags, T0_US, T0_US + 1000 * S)
            .await
            .unwrap();
        assert!(
            series
                .iter()
                .all(|s| s.values.len() == 100 * usize::try_from(k).unwrap())
        );
    }
    watcher.close().await.unwrap();
    locker.close().await.unwrap();
    store.close().await;
}
