//! Bulk reads of readings through rusqlite on blocking threads.
//!
//! Why a second driver: sqlx's SQLite driver runs each connection on a worker thread and hands
//! every row across a channel with a copy of each value, about 1 us per row on this machine;
//! a facility-hour (43,200 readings) took over 20 ms that way while SQLite itself scans it in
//! about 3 ms. rusqlite steps the statement in place. Both link the same libsqlite3-sys, so the
//! same SQLite library and file settings apply. Writes, migrations and all other queries stay
//! on sqlx.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::model::{Quality, Series};

/// A bounded set of read-only connections to one database file.
#[derive(Debug)]
pub(crate) struct BulkReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    busy_timeout: Duration,
    cache_size_kib: i64,
}

impl BulkReaders {
    pub(crate) fn new(
        path: PathBuf,
        max: usize,
        busy_timeout: Duration,
        cache_size_kib: i64,
    ) -> Arc<Self> {
        Arc::new(Self {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max),
            busy_timeout,
            cache_size_kib,
        })
    }

    /// Readings of `tags` in [start_us, end_us) plus the last one before `start_us`, all from
    /// one read transaction (one snapshot).
    pub(crate) async fn series(
        self: &Arc<Self>,
        facility_id: &str,
        tags: &[&str],
        start_us: i64,
        end_us: i64,
    ) -> Result<Vec<Series>> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Unavailable {
                message: "store is closed".into(),
            })?;
        let this = Arc::clone(self);
        let facility_id = facility_id.to_owned();
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let mut conn = match this.idle.lock().map(|mut idle| idle.pop()) {
                Ok(Some(conn)) => conn,
                _ => this.open().map_err(map_err)?,
            };
            let out = read(&mut conn, &facility_id, &tags, start_us, end_us);
            // A connection that failed is dropped rather than reused.
            if out.is_ok()
                && let Ok(mut idle) = this.idle.lock()
            {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(|e| Error::database(format!("read task failed: {e}")))?
    }

    /// Drops the idle connections (the pool opens new ones on demand).
    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.pragma_update(None, "cache_size", -self.cache_size_kib)?;
        Ok(conn)
    }
}

fn read(
    conn: &mut Connection,
    facility_id: &str,
    tags: &[String],
    start_us: i64,
    end_us: i64,
) -> Result<Vec<Series>> {
    let tx = conn.transaction().map_err(map_err)?;
    let ids: HashMap<String, i64> = {
        let mut stmt = tx
            .prepare_cached("SELECT tag, id FROM reading_series WHERE facility_id = ?1")
            .map_err(map_err)?;
        stmt.query_map(params![facility_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(map_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(map_err)?
    };
    let mut stmt = tx
        .prepare_cached(
            "SELECT time_us, value, quality FROM readings \
             WHERE series_id = ?1 AND time_us < ?3 AND time_us >= \
               coalesce((SELECT max(time_us) FROM readings \
                         WHERE series_id = ?1 AND time_us < ?2), ?2) \
             ORDER BY time_us",
        )
        .map_err(map_err)?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(tags.len());
    for tag in tags.iter().filter(|t| seen.insert(t.as_str())) {
        let mut series = Series {
            tag: tag.clone(),
            ..Series::default()
        };
        if let Some(series_id) = ids.get(tag) {
            let mut rows = stmt
                .query(params![series_id, start_us, end_us])
                .map_err(map_err)?;
            while let Some(row) = rows.next().map_err(map_err)? {
                let quality: i64 = row.get(2).map_err(map_err)?;
                series.times_us.push(row.get(0).map_err(map_err)?);
                series.values.push(row.get(1).map_err(map_err)?);
                series
                    .qualities
                    .push(Quality::from_code(quality).ok_or_else(|| {
                        Error::database(format!("stored quality code {quality} is unknown"))
                    })?);
            }
        }
        out.push(series);
    }
    drop(stmt);
    tx.commit().map_err(map_err)?;
    Ok(out)
}

fn map_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked, SystemIoFailure};
    match &e {
        rusqlite::Error::SqliteFailure(failure, _)
            if matches!(
                failure.code,
                DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure
            ) =>
        {
            Error::Unavailable {
                message: e.to_string(),
            }
        }
        _ => Error::database(e.to_string()),
    }
}
