//! Backup and restore of the whole database, schema and `schema_migrations` included.
//!
//! SQLite: `VACUUM INTO` writes a consistent, compacted copy while readers and the writer go on;
//! restore attaches the backup and copies schema and rows into the empty database in one
//! transaction (so it works on an open store, in memory too). PostgreSQL: `pg_dump
//! --format=custom` and `pg_restore --single-transaction` (the client tools of the server's
//! major version, from `THERMALIQ_PG_BIN` or PATH); a failed restore leaves nothing behind.

use std::io::Read;
use std::path::{Path, PathBuf};

use sqlx::{AssertSqlSafe, Connection};

use crate::error::{Error, Result};
use crate::{PostgresStore, SqliteStore, Store};

/// Environment variable naming the directory of `pg_dump` and `pg_restore`.
pub const PG_BIN_ENV: &str = "THERMALIQ_PG_BIN";

/// First bytes of a SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// First bytes of a pg_dump custom-format archive.
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

impl Store {
    /// Writes a consistent copy of the whole database to `path` while the store keeps serving;
    /// `Error::Conflict` if `path` exists (a backup is never overwritten).
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        if path.exists() {
            return Err(Error::conflict(format!(
                "backup file {} exists; choose a new name",
                path.display()
            )));
        }
        // Written under a temporary name and linked into place at the end, so `path` never
        // holds half a backup.
        let partial = partial_path(path);
        remove_if_exists(&partial)?;
        let written = match self {
            Store::Sqlite(s) => sqlite_backup(s, &partial).await,
            Store::Postgres(p) => pg_backup(p, &partial).await,
        };
        let linked = written.and_then(|()| {
            std::fs::hard_link(&partial, path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Error::conflict(format!(
                    "backup file {} appeared while writing; choose a new name",
                    path.display()
                )),
                _ => io_error("cannot write backup", path, &e),
            })
        });
        let _ = std::fs::remove_file(&partial);
        linked
    }

    /// Restores a backup written by [`Store::backup_to`] on the same backend into this store's
    /// database, which must be empty, not even migrated (`Error::Conflict` otherwise); a file
    /// that is not such a backup is refused (`Error::Constraint`, field "path") before anything
    /// is written, and a failed restore writes nothing.
    pub async fn restore_from(&self, path: &Path) -> Result<()> {
        match self {
            Store::Sqlite(s) => {
                check_magic(path, SQLITE_MAGIC, "a SQLite database (thermaliq backup)")?;
                sqlite_restore(s, path).await
            }
            Store::Postgres(p) => {
                check_magic(path, PG_DUMP_MAGIC, "a pg_dump custom-format archive")?;
                pg_restore(p, path).await
            }
        }
    }
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("cannot remove stale partial backup", path, &e)),
    }
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Unavailable {
        message: format!("{what} {}: {e}", path.display()),
    }
}

/// Refuses a file that does not start like the backup format of this backend.
fn check_magic(path: &Path, magic: &[u8], what: &str) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found("backup file", path.display().to_string()),
        _ => io_error("cannot read backup", path, &e),
    })?;
    let mut head = vec![0; magic.len()];
    match file.read_exact(&mut head) {
        Ok(()) if head == magic => Ok(()),
        Ok(()) => Err(Error::constraint(
            "path",
            format!("{} is not {what}", path.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::constraint(
            "path",
            format!("{} is too short to be {what}", path.display()),
        )),
        Err(e) => Err(io_error("cannot read backup", path, &e)),
    }
}

fn utf8_path(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| Error::constraint("path", format!("{} is not UTF-8", path.display())))
}

/// Double-quotes an SQL identifier read from the database's own catalog.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

// ---- SQLite ----

async fn sqlite_backup(s: &SqliteStore, target: &Path) -> Result<()> {
    // A read: on a database file it runs on a reader connection beside the writer.
    sqlx::query("VACUUM INTO ?1")
        .bind(utf8_path(target)?)
        .execute(&s.reader)
        .await
        .map(|_| ())
        .map_err(sqlite_err)
}

/// The backup as a read-only URI filename. Plain names would not do: an ATTACH inherits the
/// connection's open flags, and those of an in-memory store would attach an empty in-memory
/// database instead of the file; `mode=ro` replaces them and guarantees the backup is only read.
fn read_only_uri(path: &Path) -> Result<String> {
    const RESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b'?').add(b'#').add(b'%');
    let absolute = std::path::absolute(path).map_err(|e| io_error("cannot resolve", path, &e))?;
    Ok(format!(
        "file:{}?mode=ro",
        percent_encoding::utf8_percent_encode(utf8_path(&absolute)?, RESERVED)
    ))
}

async fn sqlite_restore(s: &SqliteStore, source: &Path) -> Result<()> {
    let mut conn = s.writer.acquire().await.map_err(sqlite_err)?;
    let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM main.sqlite_master")
        .fetch_one(&mut *conn)
        .await
        .map_err(sqlite_err)?;
    if objects > 0 {
        return Err(not_empty(objects));
    }
    sqlx::query("ATTACH DATABASE ?1 AS backup")
        .bind(read_only_uri(source)?)
        .execute(&mut *conn)
        .await
        .map_err(sqlite_err)?;
    let copied = sqlite_copy(&mut conn).await;
    let detached = sqlx::query("DETACH DATABASE backup")
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(sqlite_err);
    copied.and(detached)
}

/// Recreates the attached backup's schema in `main` in creation order and copies every row,
/// in one transaction; indexes, views and triggers come after the rows (faster to build).
async fn sqlite_copy(conn: &mut sqlx::SqliteConnection) -> Result<()> {
    let check: String = sqlx::query_scalar("PRAGMA backup.quick_check")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::constraint("path", format!("backup is not readable: {e}")))?;
    if check != "ok" {
        return Err(Error::constraint(
            "path",
            format!("backup is damaged: {check}"),
        ));
    }
    let objects: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT type, name, sql FROM backup.sqlite_master \
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_err)?;
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(sqlite_err)?;
    sqlx::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *tx)
        .await
        .map_err(sqlite_err)?;
    for (_, name, sql) in objects.iter().filter(|(kind, _, _)| kind == "table") {
        // The catalog's own text, written by the migrations of the backed-up database.
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut *tx)
            .await
            .map_err(sqlite_err)?;
        let name = quote_ident(name);
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO main.{name} SELECT * FROM backup.{name}"
        )))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_err)?;
    }
    for (_, _, sql) in objects.iter().filter(|(kind, _, _)| kind != "table") {
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut *tx)
            .await
            .map_err(sqlite_err)?;
    }
    tx.commit().await.map_err(sqlite_err)
}

fn not_empty(objects: i64) -> Error {
    Error::conflict(format!(
        "the target database is not empty ({objects} tables, indexes or other objects); \
         restore needs an empty, unmigrated database"
    ))
}

fn sqlite_err(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => Error::database(db.message().to_owned()),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Error::Unavailable {
                message: e.to_string(),
            }
        }
        other => Error::database(other.to_string()),
    }
}

// ---- PostgreSQL ----

async fn pg_backup(p: &PostgresStore, target: &Path) -> Result<()> {
    let args = vec![
        "--format=custom".into(),
        "--file".into(),
        target.as_os_str().to_owned(),
        "--dbname".into(),
        p.libpq.url.clone().into(),
    ];
    run_pg_tool(p, "pg_dump", args).await
}

async fn pg_restore(p: &PostgresStore, source: &Path) -> Result<()> {
    let objects: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'",
    )
    .fetch_one(&p.pool)
    .await
    .map_err(crate::postgres::map_err)?;
    if objects > 0 {
        return Err(not_empty(objects));
    }
    let args = vec![
        "--exit-on-error".into(),
        "--single-transaction".into(),
        "--no-owner".into(),
        "--no-privileges".into(),
        "--dbname".into(),
        p.libpq.url.clone().into(),
        source.as_os_str().to_owned(),
    ];
    run_pg_tool(p, "pg_restore", args).await?;
    p.forget_partitions();
    p.create_partitions_ahead().await
}

/// Runs a PostgreSQL client tool against the store's database, the password passed in the
/// environment rather than on the command line.
async fn run_pg_tool(p: &PostgresStore, tool: &str, args: Vec<std::ffi::OsString>) -> Result<()> {
    let dir = std::env::var_os(PG_BIN_ENV).filter(|d| !d.is_empty());
    let program = match &dir {
        Some(dir) => Path::new(dir).join(tool),
        None => PathBuf::from(tool),
    };
    let mut command = std::process::Command::new(&program);
    command.args(args);
    if let Some(password) = &p.libpq.password {
        command.env("PGPASSWORD", password);
    }
    let tool_name = tool.to_owned();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| Error::database(format!("{tool_name} task failed: {e}")))?;
    let output = output.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Unavailable {
            message: format!(
                "{tool} not found ({}); install the PostgreSQL client tools of the server's \
                 major version or set {PG_BIN_ENV} to their directory",
                match &dir {
                    Some(_) => format!("looked for {}", program.display()),
                    None => "looked on PATH".to_owned(),
                }
            ),
        },
        _ => Error::Unavailable {
            message: format!("cannot run {}: {e}", program.display()),
        },
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::database(format!(
            "{tool} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
