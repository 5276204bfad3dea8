//! Backup and restore on both backends: a filled store is backed up, restored into an empty
//! database, and every row of every table is compared; then the restored store keeps working.

mod pg;
mod suite;

use std::path::Path;

use sqlx::{Connection, PgConnection};
use store::{EquipmentFlag, Error, Reading, Role, Store, TokenRecord};
use suite::{T0_US, completed, facility, failed, reading, token};

/// 1767225600 s is 2026-01-01T00:00:00Z.
const JAN_2026_US: i64 = 1_767_225_600_000_000;

/// Facilities, readings in three months (one corrected), calculations, tokens and flags.
async fn fill(store: &Store) {
    store
        .put_facility(&facility("FAC-001", &["BLR-101", "FUR-201"]))
        .await
        .unwrap();
    store
        .put_facility(&facility("FAC-002", &["HX-1"]))
        .await
        .unwrap();
    let batch: Vec<Reading> = (0..300)
        .map(|i| {
            reading(
                &format!("T{}", i % 3),
                T0_US + i * 20_000_000_000,
                i as f64 / 7.0,
            )
        })
        .collect();
    store.insert_readings("FAC-001", &batch).await.unwrap();
    store
        .insert_readings("FAC-002", &[reading("FT-1", JAN_2026_US, 1.5)])
        .await
        .unwrap();
    let mut corrected = batch[..10].to_vec();
    corrected[4].value = -4.25;
    store.insert_readings("FAC-001", &corrected).await.unwrap();
    store
        .insert_calculation(&completed("FAC-001", &["BLR-101", "FUR-201"], T0_US))
        .await
        .unwrap();
    store
        .insert_calculation(&failed("FAC-002", T0_US + 1))
        .await
        .unwrap();
    store
        .insert_token(&token("tok-1", Role::Viewer, 1))
        .await
        .unwrap();
    store
        .insert_token(&TokenRecord {
            revoked_at_us: Some(T0_US + 5),
            ..token("tok-2", Role::Admin, 2)
        })
        .await
        .unwrap();
    store
        .set_equipment_flag(&EquipmentFlag {
            equipment_id: "FUR-201".into(),
            facility_id: "FAC-001".into(),
            reason: "stack thermocouple replaced".into(),
            flagged_by: "alice".into(),
            flagged_at_us: T0_US,
        })
        .await
        .unwrap();
}

/// The restored store answers like the original and keeps working: new rows get fresh ids.
async fn check_restored_store(original: &Store, restored: &Store) {
    let status = restored.migration_status().await.unwrap();
    assert!(status.is_current, "{status:?}");
    assert_eq!(
        restored.facilities().await.unwrap(),
        original.facilities().await.unwrap()
    );
    assert_eq!(
        restored.tokens().await.unwrap(),
        original.tokens().await.unwrap()
    );
    let tags = ["T0", "T1", "T2"];
    assert_eq!(
        restored
            .readings("FAC-001", &tags, T0_US, JAN_2026_US * 2)
            .await
            .unwrap(),
        original
            .readings("FAC-001", &tags, T0_US, JAN_2026_US * 2)
            .await
            .unwrap()
    );
    let counts = restored
        .insert_readings("FAC-002", &[reading("NEW", JAN_2026_US, 2.0)])
        .await
        .unwrap();
    assert_eq!(counts.inserted, 1);
    restored
        .insert_token(&token("tok-3", Role::Operator, 3))
        .await
        .unwrap();
}

/// Every row of every table of a SQLite file, as text, sorted, by table.
fn sqlite_rows(path: &Path) -> Vec<(String, Vec<String>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |row| {
                    (0..columns)
                        .map(|i| row.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                        .map(|values| format!("{values:?}"))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}

/// Every row of every table (partitions each on their own) of a PostgreSQL database, as the
/// server's text form of the row, sorted, by table.
async fn pg_rows(conn: &mut PgConnection) -> Vec<(String, Vec<String>)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM ONLY \"{table}\" AS t ORDER BY 1"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        out.push((table, rows));
    }
    out
}

/// Sequences (the series ids) continue where the original stood.
async fn pg_sequences(conn: &mut PgConnection) -> Vec<(String, Option<i64>)> {
    sqlx::query_as(
        "SELECT sequencename::text, last_value FROM pg_sequences \
         WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

#[track_caller]
fn assert_same_rows(original: &[(String, Vec<String>)], restored: &[(String, Vec<String>)]) {
    let names = |t: &[(String, Vec<String>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(original), names(restored));
    for ((table, a), (_, b)) in original.iter().zip(restored) {
        assert_eq!(a, b, "table {table}");
    }
    let readings: usize = original
        .iter()
        .filter(|(n, _)| n.starts_with("readings"))
        .map(|(_, rows)| rows.len())
        .sum();
    assert_eq!(readings, 301, "the fill is what the comparison covers");
    for table in [
        "facilities",
        "facility_equipment",
        "reading_series",
        "calculations",
        "calculation_equipment",
        "api_tokens",
        "equipment_flags",
        "schema_migrations",
    ] {
        let rows = &original.iter().find(|(n, _)| n == table).unwrap().1;
        assert!(
            !rows.is_empty(),
            "{table} is empty: the comparison would prove nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_restores_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let original = Store::open_in_dir(&dir.path().join("a")).await.unwrap();
    original.migrate_up(None).await.unwrap();
    fill(&original).await;
    // Characters that mean something in a SQLite URI filename.
    let backup = dir.path().join("back up #1 100%?.db");
    original.backup_to(&backup).await.unwrap();
    let again = original.backup_to(&backup).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    assert!(!dir.path().join("back up #1 100%?.db.partial").exists());

    let restored = Store::open_in_dir(&dir.path().join("b")).await.unwrap();
    restored.restore_from(&backup).await.unwrap();
    assert_same_rows(
        &sqlite_rows(&dir.path().join("a").join(store::SQLITE_FILE_NAME)),
        &sqlite_rows(&dir.path().join("b").join(store::SQLITE_FILE_NAME)),
    );
    check_restored_store(&original, &restored).await;

    // Into a database that is not empty: refused, nothing touched.
    let refused = restored.restore_from(&backup).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    // Not a SQLite file: refused before anything is written.
    let empty = Store::open_in_dir(&dir.path().join("c")).await.unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, just words").unwrap();
    match empty.restore_from(&text).await {
        Err(Error::Constraint { field, .. }) => assert_eq!(field, "path"),
        other => panic!("text file restored: {other:?}"),
    }
    assert!(matches!(
        empty.restore_from(&dir.path().join("missing.db")).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        empty.migration_status().await.unwrap().current_version,
        None
    );
    // An in-memory store restores too (the copy goes through its one connection).
    let memory = Store::open("sqlite::memory:").await.unwrap();
    memory.restore_from(&backup).await.unwrap();
    check_restored_store(&original, &memory).await;
    for store in [original, restored, empty, memory] {
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_restores_every_row() {
    let (source_db, original) = pg::fresh_pg().await;
    fill(&original).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.dump");
    original.backup_to(&backup).await.unwrap();

    let target_db = pg::TestDb::create().await;
    let restored = Store::open(&target_db.url).await.unwrap();
    restored.restore_from(&backup).await.unwrap();
    let mut a = source_db.connect().await;
    let mut b = target_db.connect().await;
    assert_same_rows(&pg_rows(&mut a).await, &pg_rows(&mut b).await);
    assert_eq!(pg_sequences(&mut a).await, pg_sequences(&mut b).await);
    check_restored_store(&original, &restored).await;

    let refused = restored.restore_from(&backup).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    // A SQLite backup is not a PostgreSQL one.
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_in_dir(sqlite_dir.path()).await.unwrap();
    sqlite.migrate_up(None).await.unwrap();
    let sqlite_backup = dir.path().join("sqlite.db");
    sqlite.backup_to(&sqlite_backup).await.unwrap();
    let empty_db = pg::TestDb::create().await;
    let empty = Store::open(&empty_db.url).await.unwrap();
    match empty.restore_from(&sqlite_backup).await {
        Err(Error::Constraint { field, .. }) => assert_eq!(field, "path"),
        other => panic!("SQLite file restored into PostgreSQL: {other:?}"),
    }
    assert_eq!(
        empty.migration_status().await.unwrap().current_version,
        None
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
    for store in [original, restored, sqlite, empty] {
        store.close().await;
    }
}
