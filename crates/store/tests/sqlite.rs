//! The shared store suite on SQLite (a fresh database file per test, and in memory), plus what
//! only SQLite has.

#[macro_use]
mod suite;

use store::{Error, Store};
use tempfile::TempDir;

/// A migrated store in a fresh temporary directory; the directory lives as long as the guard.
async fn fresh_sqlite() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_in_dir(dir.path()).await.expect("open");
    store.migrate_up(None).await.expect("migrate");
    (dir, store)
}

store_suite!(fresh_sqlite);

/// A migrated in-memory store (one connection; bulk reads go through sqlx instead of rusqlite).
async fn fresh_memory() -> ((), Store) {
    let store = Store::open("sqlite::memory:").await.expect("open");
    store.migrate_up(None).await.expect("migrate");
    ((), store)
}

/// The same suite on an in-memory database, which takes the other read path.
mod in_memory {
    crate::store_suite!(crate::fresh_memory);
}

#[tokio::test]
async fn in_memory_store_works_across_pool() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    store.migrate_up(None).await.unwrap();
    store
        .put_facility(&suite::facility("FAC-001", &["B-1"]))
        .await
        .unwrap();
    store
        .insert_readings("FAC-001", &[suite::reading("A", suite::T0_US, 1.5)])
        .await
        .unwrap();
    let series = store
        .readings("FAC-001", &["A"], suite::T0_US, suite::T0_US + 1)
        .await
        .unwrap();
    assert_eq!(series[0].values, vec![1.5]);
    assert_eq!(store.backend(), "sqlite");
    store.close().await;
}

#[tokio::test]
async fn open_in_dir_creates_directory_and_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let store = Store::open_in_dir(&nested).await.unwrap();
    store.migrate_up(None).await.unwrap();
    store
        .put_facility(&suite::facility("FAC-001", &[]))
        .await
        .unwrap();
    store.close().await;
    assert!(nested.join(store::SQLITE_FILE_NAME).is_file());

    let url = format!(
        "sqlite://{}",
        nested.join(store::SQLITE_FILE_NAME).display()
    );
    let reopened = Store::open(&url).await.unwrap();
    assert!(reopened.migration_status().await.unwrap().is_current);
    assert!(reopened.facility("FAC-001").await.unwrap().is_some());
    reopened.close().await;
}

#[tokio::test]
async fn unsupported_url_refused() {
    let refused = Store::open("mysql://localhost/x").await;
    assert!(
        matches!(refused, Err(Error::Constraint { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn unmigrated_database_reports_pending() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let status = store.migration_status().await.unwrap();
    assert!(!status.is_current);
    assert_eq!(status.current_version, None);
    assert!(status.pending.len() >= 4);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_is_checkpointed_in_the_background() {
    let (dir, store) = fresh_sqlite().await;
    store
        .put_facility(&suite::facility("FAC-001", &[]))
        .await
        .unwrap();
    let file = dir.path().join(store::SQLITE_FILE_NAME);
    // Let the checkpointer copy what the migrations wrote, then measure the file.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let before = std::fs::metadata(&file).unwrap().len();
    let batch: Vec<_> = (0..20_000)
        .map(|i| suite::reading(&format!("T{}", i % 10), suite::T0_US + i, 1.0))
        .collect();
    store.insert_readings("FAC-001", &batch).await.unwrap();
    // The commit leaves the rows in the WAL (far below the writer's own checkpoint threshold);
    // only the background checkpoint moves them into the database file.
    let mut grown = false;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if std::fs::metadata(&file).unwrap().len() > before + 100_000 {
            grown = true;
            break;
        }
    }
    assert!(grown, "database file still {before} bytes after 4 s");
    store.close().await;
}

#[tokio::test]
async fn a_series_with_readings_cannot_be_deleted() {
    let (dir, store) = fresh_sqlite().await;
    store
        .put_facility(&suite::facility("FAC-001", &[]))
        .await
        .unwrap();
    store
        .insert_readings("FAC-001", &[suite::reading("A", suite::T0_US, 1.0)])
        .await
        .unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(dir.path().join(store::SQLITE_FILE_NAME)).unwrap();
    let refused = conn.execute("DELETE FROM reading_series", []).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("readings refer to this series"),
        "{refused}"
    );
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}
