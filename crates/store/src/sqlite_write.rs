//! Readings ingest through one rusqlite writer connection on a blocking thread.
//!
//! Why a second driver for this write: through sqlx every bound value crosses to the driver's
//! worker thread and a 10,000-row batch had to be cut into multi-row statements and counted
//! with a trigger; rusqlite binds and steps one cached statement per reading in place, about
//! 1 us a row. All reading writes of a database file go through this connection behind an
//! async mutex, so they queue in-process; the other writes stay on sqlx's writer and meet this
//! one only at SQLite's write lock (`BEGIN IMMEDIATE` plus the busy timeout).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::model::{IngestCounts, Reading};

/// The single rusqlite connection that writes readings to one database file.
#[derive(Debug)]
pub(crate) struct ReadingsWriter {
    /// `None` once the store is closed.
    conn: Arc<Mutex<Option<Connection>>>,
}

impl ReadingsWriter {
    /// Opens the writer connection with the same settings as sqlx's connections.
    pub(crate) async fn open(
        path: PathBuf,
        busy_timeout: Duration,
        cache_size_kib: i64,
    ) -> Result<Self> {
        let conn = tokio::task::spawn_blocking(move || {
            open_connection(&path, busy_timeout, cache_size_kib)
        })
        .await
        .map_err(|e| Error::database(format!("open task failed: {e}")))??;
        Ok(Self {
            conn: Arc::new(Mutex::new(Some(conn))),
        })
    }

    /// Stores a validated batch (finite values, non-empty tags) in one `BEGIN IMMEDIATE`
    /// transaction, committed before return; nothing is written on error.
    pub(crate) async fn insert(
        &self,
        facility_id: &str,
        readings: &[Reading],
    ) -> Result<IngestCounts> {
        // The blocking task needs owned data: the distinct tags once, and each reading as
        // numbers referring to its tag, instead of a copy of every tag string.
        let mut tag_index: HashMap<&str, usize> = HashMap::new();
        let mut tags: Vec<String> = Vec::new();
        let rows: Vec<Row> = readings
            .iter()
            .map(|r| Row {
                tag: *tag_index.entry(r.tag.as_str()).or_insert_with(|| {
                    tags.push(r.tag.clone());
                    tags.len() - 1
                }),
                time_us: r.time_us,
                value: r.value,
                quality: r.quality.code(),
            })
            .collect();
        let facility_id = facility_id.to_owned();
        let mut guard = Arc::clone(&self.conn).lock_owned().await;
        tokio::task::spawn_blocking(move || {
            let conn = guard.as_mut().ok_or_else(|| Error::Unavailable {
                message: "store is closed".into(),
            })?;
            insert(conn, &facility_id, &tags, &rows)
        })
        .await
        .map_err(|e| Error::database(format!("ingest task failed: {e}")))?
    }

    /// Closes the connection after the running ingest, if any.
    pub(crate) async fn close(&self) {
        let conn = self.conn.lock().await.take();
        drop(conn);
    }
}

fn open_connection(
    path: &std::path::Path,
    busy_timeout: Duration,
    cache_size_kib: i64,
) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(map_err)?;
    let configure = || -> rusqlite::Result<String> {
        conn.busy_timeout(busy_timeout)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -cache_size_kib)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
    };
    let mode = configure().map_err(map_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Unavailable {
            message: format!("journal_mode of the ingest connection is {mode}, expected wal"),
        });
    }
    Ok(conn)
}

/// A new key is inserted with revision 0; an existing one is left to [`CORRECT_SQL`].
const INSERT_SQL: &str = "INSERT INTO readings (series_id, time_us, value, quality) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (series_id, time_us) DO NOTHING";

/// A different value or quality overwrites and bumps the revision; an identical one changes
/// nothing and counts as unchanged.
const CORRECT_SQL: &str = "UPDATE readings \
     SET value = ?3, quality = ?4, revision = revision + 1 \
     WHERE series_id = ?1 AND time_us = ?2 AND (value IS NOT ?3 OR quality IS NOT ?4)";

/// One reading of a batch, its tag as an index into the batch's distinct tags.
struct Row {
    tag: usize,
    time_us: i64,
    value: f64,
    quality: i64,
}

fn insert(
    conn: &mut Connection,
    facility_id: &str,
    tags: &[String],
    rows: &[Row],
) -> Result<IngestCounts> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let exists: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM facilities WHERE id = ?1)")
        .and_then(|mut s| s.query_row(params![facility_id], |row| row.get(0)))
        .map_err(map_err)?;
    if !exists {
        return Err(Error::not_found("facility", facility_id));
    }
    let mut counts = IngestCounts::default();
    {
        let mut find_series = tx
            .prepare_cached("SELECT id FROM reading_series WHERE facility_id = ?1 AND tag = ?2")
            .map_err(map_err)?;
        let mut create_series = tx
            .prepare_cached("INSERT INTO reading_series (facility_id, tag) VALUES (?1, ?2)")
            .map_err(map_err)?;
        let mut insert = tx.prepare_cached(INSERT_SQL).map_err(map_err)?;
        let mut correct = tx.prepare_cached(CORRECT_SQL).map_err(map_err)?;
        // Series ids are resolved once per distinct tag, in order of first appearance.
        let mut series: Vec<i64> = Vec::with_capacity(tags.len());
        for tag in tags {
            let found = find_series
                .query_row(params![facility_id, tag], |row| row.get(0))
                .optional()
                .map_err(map_err)?;
            series.push(match found {
                Some(id) => id,
                None => {
                    create_series
                        .execute(params![facility_id, tag])
                        .map_err(|e| map_err_in("tag", e))?;
                    tx.last_insert_rowid()
                }
            });
        }
        for r in rows {
            let row = params![series[r.tag], r.time_us, r.value, r.quality];
            if insert.execute(row).map_err(|e| map_err_in("readings", e))? == 1 {
                counts.inserted += 1;
            } else if correct
                .execute(row)
                .map_err(|e| map_err_in("readings", e))?
                == 1
            {
                counts.corrected += 1;
            } else {
                counts.unchanged += 1;
            }
        }
    }
    tx.commit().map_err(map_err)?;
    Ok(counts)
}

fn map_err(e: rusqlite::Error) -> Error {
    map_err_in("value", e)
}

/// Maps a driver error to the store's vocabulary like sqlx's mapping in `sqlite.rs`; `field`
/// names what was being written, used when SQLite does not name the constraint.
fn map_err_in(field: &str, e: rusqlite::Error) -> Error {
    use rusqlite::ffi;
    let rusqlite::Error::SqliteFailure(failure, text) = &e else {
        return Error::database(e.to_string());
    };
    let message = text.clone().unwrap_or_else(|| e.to_string());
    match failure.extended_code {
        ffi::SQLITE_CONSTRAINT_CHECK => Error::Constraint {
            field: message
                .strip_prefix("CHECK constraint failed: ")
                .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(field)
                .to_owned(),
            message,
        },
        ffi::SQLITE_CONSTRAINT_NOTNULL => Error::constraint(field, message),
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            Error::conflict(format!("{field}: {message}"))
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Error::conflict(format!(
            "{field}: refers to a missing row or is still referred to ({message})"
        )),
        code => match code & 0xff {
            ffi::SQLITE_CONSTRAINT => Error::constraint(field, message),
            ffi::SQLITE_BUSY
            | ffi::SQLITE_LOCKED
            | ffi::SQLITE_CANTOPEN
            | ffi::SQLITE_READONLY
            | ffi::SQLITE_FULL
            | ffi::SQLITE_IOERR => Error::Unavailable { message },
            _ => Error::database(message),
        },
    }
}
