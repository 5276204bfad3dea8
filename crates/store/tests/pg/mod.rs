//! Throwaway PostgreSQL databases on the test server named by `THERMALIQ_TEST_POSTGRES_URL`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};
use store::Store;

/// The variable naming the test server (scripts/test-services.sh exports it).
pub const URL_VAR: &str = "THERMALIQ_TEST_POSTGRES_URL";

/// URL of the test server's maintenance database.
pub fn server_url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: these tests need a real PostgreSQL server; run \
             `source scripts/test-services.sh` first (scripts/test.sh does)"
        )
    })
}

/// A database created for one test and dropped (connections and all) when the guard goes.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// Creates an empty database with a name unique to this process and call.
    pub async fn create() -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "thermaliq_t{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let server = server_url();
        let mut admin = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}={server}: {e}"));
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&server).expect("server URL parses");
        url.set_path(&name);
        TestDb {
            name,
            url: url.to_string(),
        }
    }

    /// A connection for checks the store's API does not offer.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.expect("connect")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let server = server_url();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs outside any runtime the test may have left: use a thread of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                admin.execute(sqlx::AssertSqlSafe(sql)).await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A migrated store on a fresh database.
pub async fn fresh_pg() -> (TestDb, Store) {
    let db = TestDb::create().await;
    let store = Store::open(&db.url).await.expect("open");
    store.migrate_up(None).await.expect("migrate");
    (db, store)
}
