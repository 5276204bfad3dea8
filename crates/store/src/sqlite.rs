//! The embedded SQLite backend: one single-connection writer pool (SQLite admits one writer at a
//! time; queueing writers in-process avoids lock contention) and a small reader pool (WAL lets
//! readers run beside the writer).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use sqlx::error::ErrorKind;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite};

use crate::error::{Error, Result};
use crate::model::{
    CalculationFilter, CalculationRecord, CalculationStatus, CalculationSummary,
    DEFAULT_PAGE_LIMIT, EquipmentFlag, FacilityRecord, IngestCounts, MAX_PAGE_LIMIT,
    MigrateDownTarget, MigrationInfo, MigrationStatus, Page, PutOutcome, Quality, Reading, Role,
    Series, TokenRecord, now_us,
};
use crate::sqlite_checkpoint::{Checkpointer, WAL_AUTOCHECKPOINT_PAGES};
use crate::sqlite_read::BulkReaders;

/// Migrations embedded at build time, recorded in `schema_migrations` (the runbook's name).
static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.dangerous_set_table_name("schema_migrations");
    // A newer release's migrations are expected during a rollback (docs/runbooks/
    // schema-compatibility.md): this binary runs on that schema rather than refusing it.
    migrator.set_ignore_missing(true);
    migrator
});

/// How long a statement waits for another process's write lock before `Error::Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a pooled connection before `Error::Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);

/// Page cache per connection, KiB (negative `cache_size` means KiB in SQLite).
const CACHE_SIZE_KIB: i64 = 16 * 1024;

/// Rows per INSERT statement: powers of two up to 2^LOG2_MAX_ROWS, so a batch of any size runs
/// as a few statements drawn from a fixed set that each connection prepares once. 4 * 4096
/// parameters stay below SQLite's limit of 32766.
const LOG2_MAX_ROWS: usize = 12;

/// Distinct tags per statement when creating series (two parameters each).
const SERIES_PER_STATEMENT: usize = 8192;

/// Rows the driver's worker thread may queue ahead of the async reader (default 50), so it does
/// not stall on a full queue in the middle of a series.
const ROW_BUFFER: usize = 4096;

/// SQL text of the upsert for 2^k rows, built once.
static UPSERT_SQL: [OnceLock<String>; LOG2_MAX_ROWS + 1] =
    [const { OnceLock::new() }; LOG2_MAX_ROWS + 1];

/// The embedded SQLite store; construct through [`crate::Store::open`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Fast path for `readings` on a database file; `None` for an in-memory database, which
    /// only sqlx's connection can see.
    bulk: Option<Arc<BulkReaders>>,
    /// Background WAL checkpoints of a database file; `None` in memory.
    checkpointer: Option<Arc<Checkpointer>>,
}

impl SqliteStore {
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(|e| Error::Constraint {
            field: "database_url".into(),
            message: e.to_string(),
        })?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::connect(options, in_memory).await
    }

    pub(crate) async fn open_file(path: &Path) -> Result<Self> {
        Self::connect(SqliteConnectOptions::new().filename(path), false).await
    }

    async fn connect(options: SqliteConnectOptions, in_memory: bool) -> Result<Self> {
        let path = options.get_filename().to_path_buf();
        // NORMAL in WAL mode: a committed transaction survives a process crash; a power loss
        // or OS crash may lose the last transactions, never corrupts the file.
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", (-CACHE_SIZE_KIB).to_string())
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
            .row_buffer_size(ROW_BUFFER);
        let pool = |max: u32| {
            SqlitePoolOptions::new()
                .max_connections(max)
                .min_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .idle_timeout(None)
                .max_lifetime(None)
        };
        let writer = pool(1)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        // An in-memory database lives in its single connection, so readers share the writer.
        if in_memory {
            return Ok(Self {
                reader: writer.clone(),
                writer,
                bulk: None,
                checkpointer: None,
            });
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let readers = (2 * cores).clamp(2, 16);
        let reader = pool(u32::try_from(readers).unwrap_or(4))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        let checkpointer = Checkpointer::start(path.clone(), BUSY_TIMEOUT);
        let bulk = BulkReaders::new(path, readers, BUSY_TIMEOUT, CACHE_SIZE_KIB);
        Ok(Self {
            writer,
            reader,
            bulk: Some(bulk),
            checkpointer: Some(Arc::new(checkpointer)),
        })
    }

    pub(crate) async fn close(&self) {
        if let Some(bulk) = &self.bulk {
            bulk.close();
        }
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        self.reader.close().await;
        self.writer.close().await;
    }

    pub(crate) fn pool_stats(&self) -> crate::PoolStats {
        let writer = pool_stats(&self.writer);
        // In memory the reader is the writer's pool itself: counting it twice would double.
        if self.bulk.is_none() {
            return writer;
        }
        let reader = pool_stats(&self.reader);
        crate::PoolStats {
            size: writer.size + reader.size,
            idle: writer.idle + reader.idle,
            in_use: writer.in_use + reader.in_use,
            max: writer.max + reader.max,
        }
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    // ---- migrations ----

    /// Rows of `schema_migrations` with their success flag; empty before the first migration.
    async fn applied_migrations(pool: &SqlitePool) -> Result<Vec<(MigrationInfo, bool)>> {
        let exists: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        )
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, String, Option<i64>, bool)> = sqlx::query_as(
            "SELECT version, description, unixepoch(installed_on) * 1000000, success \
             FROM schema_migrations ORDER BY version",
        )
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(version, description, installed_on_us, success)| {
                (
                    MigrationInfo {
                        version,
                        description,
                        installed_on_us,
                    },
                    success,
                )
            })
            .collect())
    }

    pub(crate) async fn migration_status(&self) -> Result<MigrationStatus> {
        // Read side, so readiness probes do not queue behind a long ingest.
        let applied = Self::applied_migrations(&self.reader).await?;
        let known: Vec<MigrationInfo> = known_migrations();
        let known_versions: HashSet<i64> = known.iter().map(|m| m.version).collect();
        let applied_versions: HashSet<i64> = applied.iter().map(|(m, _)| m.version).collect();
        let dirty_version = applied.iter().find(|(_, ok)| !ok).map(|(m, _)| m.version);
        let pending: Vec<MigrationInfo> = known
            .iter()
            .filter(|m| !applied_versions.contains(&m.version))
            .cloned()
            .collect();
        let unknown = applied
            .iter()
            .filter(|(m, _)| !known_versions.contains(&m.version))
            .map(|(m, _)| m.clone())
            .collect();
        Ok(MigrationStatus {
            current_version: applied.iter().map(|(m, _)| m.version).max(),
            latest_known_version: known.iter().map(|m| m.version).max(),
            is_current: pending.is_empty() && dirty_version.is_none(),
            applied: applied.into_iter().map(|(m, _)| m).collect(),
            pending,
            unknown,
            dirty_version,
        })
    }

    pub(crate) async fn migrate_up(&self, to: Option<i64>) -> Result<Vec<MigrationInfo>> {
        if let Some(target) = to
            && !MIGRATOR.version_exists(target)
        {
            return Err(migration_error(format!(
                "unknown migration version {target}"
            )));
        }
        let before = self.applied_versions().await?;
        let run = match to {
            Some(target) => MIGRATOR.run_to(target, &self.writer).await,
            None => MIGRATOR.run(&self.writer).await,
        };
        run.map_err(map_migrate_err)?;
        let after = Self::applied_migrations(&self.writer).await?;
        Ok(after
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| !before.contains(&m.version))
            .collect())
    }

    pub(crate) async fn migrate_down(&self, to: MigrateDownTarget) -> Result<Vec<MigrationInfo>> {
        let applied: Vec<MigrationInfo> = Self::applied_migrations(&self.writer)
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let Some(target) = crate::migration_target::down_target(&MIGRATOR, &applied, to)? else {
            return Ok(Vec::new());
        };
        MIGRATOR
            .undo(&self.writer, target)
            .await
            .map_err(map_migrate_err)?;
        let after = self.applied_versions().await?;
        Ok(applied
            .into_iter()
            .rev()
            .filter(|m| !after.contains(&m.version))
            .collect())
    }

    async fn applied_versions(&self) -> Result<HashSet<i64>> {
        Ok(Self::applied_migrations(&self.writer)
            .await?
            .into_iter()
            .map(|(m, _)| m.version)
            .collect())
    }

    // ---- facilities ----

    pub(crate) async fn put_facility(&self, f: &FacilityRecord) -> Result<PutOutcome> {
        let mut seen = HashSet::new();
        if let Some(dup) = f.equipment_ids.iter().find(|e| !seen.insert(e.as_str())) {
            return Err(Error::constraint(
                "equipment_ids",
                format!("equipment id {dup} listed twice"),
            ));
        }
        let mut tx = self.begin_write().await?;
        let previous = load_facility(&mut tx, &f.id).await?;
        if let Some(prev) = &previous
            && prev.name == f.name
            && prev.time_zone == f.time_zone
            && prev.spec == f.spec
            && prev.equipment_ids == f.equipment_ids
        {
            return Ok(PutOutcome::Unchanged);
        }
        for equipment_id in &f.equipment_ids {
            let owner: Option<String> = sqlx::query_scalar(
                "SELECT facility_id FROM facility_equipment WHERE equipment_id = ?1",
            )
            .bind(equipment_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if let Some(owner) = owner
                && owner != f.id
            {
                return Err(Error::conflict(format!(
                    "equipment {equipment_id} belongs to facility {owner}"
                )));
            }
        }
        sqlx::query(
            "INSERT INTO facilities (id, name, time_zone, spec, updated_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone, \
             spec = excluded.spec, updated_at_us = excluded.updated_at_us",
        )
        .bind(&f.id)
        .bind(&f.name)
        .bind(&f.time_zone)
        .bind(Json(&f.spec))
        .bind(f.updated_at_us)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err_in("facility", e))?;
        // Removed units are deleted one by one (not all rows rewritten) so that the flags of
        // units that stay survive the update.
        if let Some(prev) = &previous {
            for gone in prev
                .equipment_ids
                .iter()
                .filter(|e| !f.equipment_ids.contains(e))
            {
                sqlx::query("DELETE FROM facility_equipment WHERE equipment_id = ?1")
                    .bind(gone)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
        }
        for (position, equipment_id) in f.equipment_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO facility_equipment (equipment_id, facility_id, position) \
                 VALUES (?1, ?2, ?3) \
                 ON CONFLICT (equipment_id) DO UPDATE SET position = excluded.position",
            )
            .bind(equipment_id)
            .bind(&f.id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err_in("equipment_ids", e))?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(match previous {
            None => PutOutcome::Created,
            Some(previous) => PutOutcome::Updated { previous },
        })
    }

    pub(crate) async fn facility(&self, id: &str) -> Result<Option<FacilityRecord>> {
        let mut conn = self.reader.acquire().await.map_err(map_err)?;
        load_facility(&mut conn, id).await
    }

    pub(crate) async fn facilities(&self) -> Result<Vec<FacilityRecord>> {
        let rows: Vec<FacilityRow> = sqlx::query_as(
            "SELECT id, name, time_zone, spec, updated_at_us FROM facilities ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        let equipment: Vec<(String, String)> = sqlx::query_as(
            "SELECT facility_id, equipment_id FROM facility_equipment \
             ORDER BY facility_id, position",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        let mut by_facility: HashMap<String, Vec<String>> = HashMap::new();
        for (facility_id, equipment_id) in equipment {
            by_facility
                .entry(facility_id)
                .or_default()
                .push(equipment_id);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let equipment_ids = by_facility.remove(&row.id).unwrap_or_default();
                row.into_record(equipment_ids)
            })
            .collect())
    }

    pub(crate) async fn delete_facility(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let (exists, has_readings, has_calculations): (bool, bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM facilities WHERE id = ?1), \
                    EXISTS (SELECT 1 FROM readings WHERE series_id IN \
                            (SELECT id FROM reading_series WHERE facility_id = ?1)), \
                    EXISTS (SELECT 1 FROM calculations WHERE facility_id = ?1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if !exists {
            return Ok(false);
        }
        if has_readings || has_calculations {
            return Err(Error::conflict(format!(
                "facility {id} still has {}",
                if has_readings {
                    "readings"
                } else {
                    "calculations"
                }
            )));
        }
        sqlx::query("DELETE FROM facilities WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    // ---- readings ----

    pub(crate) async fn insert_readings(
        &self,
        facility_id: &str,
        readings: &[Reading],
    ) -> Result<IngestCounts> {
        if let Some((i, r)) = readings
            .iter()
            .enumerate()
            .find(|(_, r)| !r.value.is_finite())
        {
            return Err(Error::constraint(
                format!("readings[{i}].value"),
                format!("value of tag {} at {} us is not finite", r.tag, r.time_us),
            ));
        }
        if let Some(i) = readings.iter().position(|r| r.tag.is_empty()) {
            return Err(Error::constraint(format!("readings[{i}].tag"), "empty tag"));
        }
        let mut tx = self.begin_write().await?;
        facility_must_exist(&mut tx, facility_id).await?;
        let series = ensure_series(&mut tx, facility_id, readings).await?;
        // Corrections are counted by a per-connection temporary trigger instead of RETURNING a
        // row per reading: fetching 10,000 rows back through the driver cost more than the
        // inserts themselves.
        sqlx::raw_sql(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_corrections (n INTEGER NOT NULL); \
             CREATE TEMP TRIGGER IF NOT EXISTS count_reading_corrections \
               AFTER UPDATE ON main.readings \
               BEGIN UPDATE ingest_corrections SET n = n + 1; END; \
             DELETE FROM ingest_corrections; \
             INSERT INTO ingest_corrections (n) VALUES (0);",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut changed = 0_u64;
        let mut rest = readings;
        while !rest.is_empty() {
            let log2 = rest.len().ilog2().min(LOG2_MAX_ROWS as u32) as usize;
            let (chunk, tail) = rest.split_at(1 << log2);
            rest = tail;
            let sql = UPSERT_SQL[log2].get_or_init(|| upsert_sql(1 << log2));
            let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
            for r in chunk {
                let series_id = series.get(r.tag.as_str()).copied().ok_or_else(|| {
                    Error::database(format!("series of tag {} was not created", r.tag))
                })?;
                query = query
                    .bind(series_id)
                    .bind(r.time_us)
                    .bind(r.value)
                    .bind(r.quality.code());
            }
            changed += query
                .execute(&mut *tx)
                .await
                .map_err(|e| map_err_in("readings", e))?
                .rows_affected();
        }
        let corrected: i64 = sqlx::query_scalar("SELECT n FROM ingest_corrections")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let corrected = u64::try_from(corrected).unwrap_or_default();
        Ok(IngestCounts {
            inserted: changed.saturating_sub(corrected),
            corrected,
            unchanged: readings.len() as u64 - changed,
        })
    }

    pub(crate) async fn readings(
        &self,
        facility_id: &str,
        tags: &[&str],
        start_us: i64,
        end_us: i64,
    ) -> Result<Vec<Series>> {
        if end_us <= start_us {
            return Err(Error::constraint(
                "end_us",
                format!("period end {end_us} us is not after its start {start_us} us"),
            ));
        }
        if let Some(bulk) = &self.bulk {
            return bulk.series(facility_id, tags, start_us, end_us).await;
        }
        // One read transaction, so every series comes from the same snapshot.
        let mut tx = self.reader.begin().await.map_err(map_err)?;
        let ids: HashMap<String, i64> =
            sqlx::query_as("SELECT tag, id FROM reading_series WHERE facility_id = ?1")
                .bind(facility_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .into_iter()
                .collect();
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(tags.len());
        for &tag in tags.iter().filter(|t| seen.insert(**t)) {
            let mut series = Series {
                tag: tag.to_owned(),
                ..Series::default()
            };
            if let Some(&series_id) = ids.get(tag) {
                let rows: Vec<(i64, f64, i64)> = sqlx::query_as(
                    "SELECT time_us, value, quality FROM readings \
                     WHERE series_id = ?1 AND time_us < ?3 AND time_us >= \
                       coalesce((SELECT max(time_us) FROM readings \
                                 WHERE series_id = ?1 AND time_us < ?2), ?2) \
                     ORDER BY time_us",
                )
                .bind(series_id)
                .bind(start_us)
                .bind(end_us)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
                for (time_us, value, quality) in rows {
                    series.times_us.push(time_us);
                    series.values.push(value);
                    series
                        .qualities
                        .push(Quality::from_code(quality).ok_or_else(|| {
                            Error::database(format!("stored quality code {quality} is unknown"))
                        })?);
                }
            }
            out.push(series);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(out)
    }

    pub(crate) async fn reading_count(&self, facility_id: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM readings \
             WHERE series_id IN (SELECT id FROM reading_series WHERE facility_id = ?1)",
        )
        .bind(facility_id)
        .fetch_one(&self.reader)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    // ---- calculations ----

    pub(crate) async fn insert_calculation(&self, c: &CalculationRecord) -> Result<()> {
        let created_at = timestamp_text(c.created_at_us)?;
        let mut tx = self.begin_write().await?;
        facility_must_exist(&mut tx, &c.facility_id).await?;
        sqlx::query(
            "INSERT INTO calculations (id, facility_id, period_start_us, period_end_us, status, \
               efficiency, energy_balance_percent, provenance_hash, input_hash, method_version, \
               service_version, request, result, failure_reason, created_at_us, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .bind(&c.id)
        .bind(&c.facility_id)
        .bind(c.period_start_us)
        .bind(c.period_end_us)
        .bind(c.status.as_str())
        .bind(c.efficiency)
        .bind(c.energy_balance_percent)
        .bind(&c.provenance_hash)
        .bind(&c.input_hash)
        .bind(&c.method_version)
        .bind(&c.service_version)
        .bind(Json(&c.request))
        .bind(Json(&c.result))
        .bind(&c.failure_reason)
        .bind(c.created_at_us)
        .bind(created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err_in("calculation", e))?;
        for (position, equipment_id) in c.equipment_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO calculation_equipment (calculation_id, equipment_id, position) \
                 VALUES (?1, ?2, ?3)",
            )
            .bind(&c.id)
            .bind(equipment_id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err_in("equipment_ids", e))?;
        }
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn calculation(&self, id: &str) -> Result<Option<CalculationRecord>> {
        let mut tx = self.reader.begin().await.map_err(map_err)?;
        let row: Option<CalculationRow> = sqlx::query_as(CALCULATION_SELECT)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let equipment_ids: Vec<String> = sqlx::query_scalar(
            "SELECT equipment_id FROM calculation_equipment WHERE calculation_id = ?1 \
             ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        row.into_record(equipment_ids).map(Some)
    }

    pub(crate) async fn calculations(
        &self,
        filter: &CalculationFilter,
    ) -> Result<Page<CalculationSummary>> {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            return Err(Error::constraint(
                "limit",
                format!("must be between 1 and {MAX_PAGE_LIMIT}, got {limit}"),
            ));
        }
        let cursor = filter.cursor.as_deref().map(parse_cursor).transpose()?;
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, facility_id, period_start_us, period_end_us, status, efficiency, \
             energy_balance_percent, created_at_us FROM calculations WHERE 1 = 1",
        );
        if let Some(facility_id) = &filter.facility_id {
            q.push(" AND facility_id = ").push_bind(facility_id.clone());
        }
        if let Some(status) = filter.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(from) = filter.period_from_us {
            q.push(" AND period_end_us > ").push_bind(from);
        }
        if let Some(to) = filter.period_to_us {
            q.push(" AND period_start_us < ").push_bind(to);
        }
        if let Some((created_at_us, id)) = cursor {
            q.push(" AND (created_at_us < ")
                .push_bind(created_at_us)
                .push(" OR (created_at_us = ")
                .push_bind(created_at_us)
                .push(" AND id < ")
                .push_bind(id)
                .push("))");
        }
        q.push(" ORDER BY created_at_us DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows: Vec<SummaryRow> = q
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?;
        let mut items = rows
            .into_iter()
            .map(SummaryRow::into_summary)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|last| format!("{}.{}", last.created_at_us, last.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub(crate) async fn latest_calculation_for_equipment(
        &self,
        equipment_id: &str,
    ) -> Result<Option<CalculationRecord>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT c.id FROM calculation_equipment AS ce \
             JOIN calculations AS c ON c.id = ce.calculation_id \
             WHERE ce.equipment_id = ?1 ORDER BY c.created_at_us DESC, c.id DESC LIMIT 1",
        )
        .bind(equipment_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?;
        match id {
            Some(id) => self.calculation(&id).await,
            None => Ok(None),
        }
    }

    // ---- equipment flags ----

    pub(crate) async fn set_equipment_flag(&self, flag: &EquipmentFlag) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT facility_id FROM facility_equipment WHERE equipment_id = ?1",
        )
        .bind(&flag.equipment_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        match owner {
            None => return Err(Error::not_found("equipment", &flag.equipment_id)),
            Some(owner) if owner != flag.facility_id => {
                return Err(Error::constraint(
                    "facility_id",
                    format!(
                        "equipment {} belongs to facility {owner}, not {}",
                        flag.equipment_id, flag.facility_id
                    ),
                ));
            }
            Some(_) => {}
        }
        sqlx::query(
            "INSERT INTO equipment_flags (equipment_id, facility_id, reason, flagged_by, flagged_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (equipment_id) DO UPDATE SET facility_id = excluded.facility_id, \
             reason = excluded.reason, flagged_by = excluded.flagged_by, \
             flagged_at_us = excluded.flagged_at_us",
        )
        .bind(&flag.equipment_id)
        .bind(&flag.facility_id)
        .bind(&flag.reason)
        .bind(&flag.flagged_by)
        .bind(flag.flagged_at_us)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err_in("flag", e))?;
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn clear_equipment_flag(&self, equipment_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM equipment_flags WHERE equipment_id = ?1")
            .bind(equipment_id)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn equipment_flags(&self, facility_id: &str) -> Result<Vec<EquipmentFlag>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT equipment_id, facility_id, reason, flagged_by, flagged_at_us \
             FROM equipment_flags WHERE facility_id = ?1 ORDER BY equipment_id",
        )
        .bind(facility_id)
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(
                |(equipment_id, facility_id, reason, flagged_by, flagged_at_us)| EquipmentFlag {
                    equipment_id,
                    facility_id,
                    reason,
                    flagged_by,
                    flagged_at_us,
                },
            )
            .collect())
    }

    // ---- tokens ----

    pub(crate) async fn insert_token(&self, t: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, role, digest, created_at_us, revoked_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.role.as_str())
        .bind(&t.digest[..])
        .bind(t.created_at_us)
        .bind(t.revoked_at_us)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(|e| map_err_in("token", e))
    }

    pub(crate) async fn token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, name, role, digest, created_at_us, revoked_at_us \
             FROM api_tokens WHERE digest = ?1",
        )
        .bind(&digest[..])
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?;
        row.map(TokenRow::into_record).transpose()
    }

    pub(crate) async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, role, digest, created_at_us, revoked_at_us \
             FROM api_tokens ORDER BY created_at_us, id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TokenRow::into_record).collect()
    }

    pub(crate) async fn revoke_token(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at_us = coalesce(revoked_at_us, max(?2, created_at_us)) \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(now_us())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// A write transaction that takes the write lock up front, so it never fails half-way
    /// with SQLITE_BUSY when another process writes.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)
    }
}

fn known_migrations() -> Vec<MigrationInfo> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| MigrationInfo {
            version: m.version,
            description: m.description.to_string(),
            installed_on_us: None,
        })
        .collect()
}

/// `INSERT ... ON CONFLICT` for `rows` readings: a new key is inserted with revision 0; a
/// different value or quality overwrites and bumps the revision; an identical one is skipped by
/// the WHERE clause and does not count as a change.
fn upsert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(300 + rows * 10);
    sql.push_str("INSERT INTO readings (series_id, time_us, value, quality) VALUES ");
    // Anonymous parameters: SQLite resolves numbered ones by a linear scan, which made large
    // statements quadratic.
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?)");
    }
    sql.push_str(
        " ON CONFLICT (series_id, time_us) DO UPDATE \
         SET value = excluded.value, quality = excluded.quality, revision = readings.revision + 1 \
         WHERE readings.value IS NOT excluded.value OR readings.quality IS NOT excluded.quality",
    );
    sql
}

/// Series ids of the batch's tags, creating the missing series.
async fn ensure_series<'r>(
    conn: &mut sqlx::SqliteConnection,
    facility_id: &str,
    readings: &'r [Reading],
) -> Result<HashMap<&'r str, i64>> {
    let mut seen = HashSet::new();
    let tags: Vec<&str> = readings
        .iter()
        .map(|r| r.tag.as_str())
        .filter(|t| seen.insert(*t))
        .collect();
    let mut ids = HashMap::with_capacity(tags.len());
    for chunk in tags.chunks(SERIES_PER_STATEMENT) {
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO reading_series (facility_id, tag) ");
        insert.push_values(chunk, |mut row, tag| {
            row.push_bind(facility_id).push_bind(*tag);
        });
        insert.push(" ON CONFLICT (facility_id, tag) DO NOTHING");
        insert
            .build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(|e| map_err_in("tag", e))?;
        let mut select: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT tag, id FROM reading_series WHERE facility_id = ");
        select.push_bind(facility_id).push(" AND tag IN (");
        let mut list = select.separated(", ");
        for tag in chunk {
            list.push_bind(*tag);
        }
        select.push(")");
        let rows: Vec<(String, i64)> = select
            .build_query_as()
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        let by_name: HashMap<String, i64> = rows.into_iter().collect();
        for tag in chunk {
            if let Some(&id) = by_name.get(*tag) {
                ids.insert(*tag, id);
            }
        }
    }
    Ok(ids)
}

async fn facility_must_exist(conn: &mut sqlx::SqliteConnection, id: &str) -> Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM facilities WHERE id = ?1)")
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("facility", id))
    }
}

async fn load_facility(
    conn: &mut sqlx::SqliteConnection,
    id: &str,
) -> Result<Option<FacilityRecord>> {
    let row: Option<FacilityRow> = sqlx::query_as(
        "SELECT id, name, time_zone, spec, updated_at_us FROM facilities WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let equipment_ids: Vec<String> = sqlx::query_scalar(
        "SELECT equipment_id FROM facility_equipment WHERE facility_id = ?1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(Some(row.into_record(equipment_ids)))
}

#[derive(sqlx::FromRow)]
struct FacilityRow {
    id: String,
    name: String,
    time_zone: String,
    spec: Json<serde_json::Value>,
    updated_at_us: i64,
}

impl FacilityRow {
    fn into_record(self, equipment_ids: Vec<String>) -> FacilityRecord {
        FacilityRecord {
            id: self.id,
            name: self.name,
            time_zone: self.time_zone,
            spec: self.spec.0,
            equipment_ids,
            updated_at_us: self.updated_at_us,
        }
    }
}

const CALCULATION_SELECT: &str = "SELECT id, facility_id, period_start_us, period_end_us, status, \
     efficiency, energy_balance_percent, provenance_hash, input_hash, method_version, \
     service_version, request, result, failure_reason, created_at_us \
     FROM calculations WHERE id = ?1";

#[derive(sqlx::FromRow)]
pub(crate) struct CalculationRow {
    id: String,
    facility_id: String,
    period_start_us: i64,
    period_end_us: i64,
    status: String,
    efficiency: Option<f64>,
    energy_balance_percent: Option<f64>,
    provenance_hash: String,
    input_hash: String,
    method_version: String,
    service_version: String,
    request: Json<serde_json::Value>,
    result: Json<serde_json::Value>,
    failure_reason: Option<String>,
    created_at_us: i64,
}

impl CalculationRow {
    pub(crate) fn into_record(self, equipment_ids: Vec<String>) -> Result<CalculationRecord> {
        Ok(CalculationRecord {
            status: parse_status(&self.status)?,
            id: self.id,
            facility_id: self.facility_id,
            period_start_us: self.period_start_us,
            period_end_us: self.period_end_us,
            efficiency: self.efficiency,
            energy_balance_percent: self.energy_balance_percent,
            provenance_hash: self.provenance_hash,
            input_hash: self.input_hash,
            method_version: self.method_version,
            service_version: self.service_version,
            equipment_ids,
            request: self.request.0,
            result: self.result.0,
            failure_reason: self.failure_reason,
            created_at_us: self.created_at_us,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: String,
    facility_id: String,
    period_start_us: i64,
    period_end_us: i64,
    status: String,
    efficiency: Option<f64>,
    energy_balance_percent: Option<f64>,
    created_at_us: i64,
}

impl SummaryRow {
    fn into_summary(self) -> Result<CalculationSummary> {
        Ok(CalculationSummary {
            status: parse_status(&self.status)?,
            id: self.id,
            facility_id: self.facility_id,
            period_start_us: self.period_start_us,
            period_end_us: self.period_end_us,
            efficiency: self.efficiency,
            energy_balance_percent: self.energy_balance_percent,
            created_at_us: self.created_at_us,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    role: String,
    digest: Vec<u8>,
    created_at_us: i64,
    revoked_at_us: Option<i64>,
}

impl TokenRow {
    fn into_record(self) -> Result<TokenRecord> {
        Ok(TokenRecord {
            role: Role::parse(&self.role).ok_or_else(|| {
                Error::database(format!("stored role {:?} is unknown", self.role))
            })?,
            digest: self.digest.as_slice().try_into().map_err(|_| {
                Error::database(format!(
                    "stored digest of token {} is not 32 bytes",
                    self.id
                ))
            })?,
            id: self.id,
            name: self.name,
            created_at_us: self.created_at_us,
            revoked_at_us: self.revoked_at_us,
        })
    }
}

fn parse_status(s: &str) -> Result<CalculationStatus> {
    CalculationStatus::parse(s)
        .ok_or_else(|| Error::database(format!("stored status {s:?} is unknown")))
}

/// Cursor "created_at_us.id" of the last item of the previous page.
pub(crate) fn parse_cursor(cursor: &str) -> Result<(i64, String)> {
    cursor
        .split_once('.')
        .and_then(|(us, id)| Some((us.parse().ok()?, id.to_owned())))
        .ok_or_else(|| Error::constraint("cursor", format!("malformed cursor {cursor:?}")))
}

/// UTC 'YYYY-MM-DD HH:MM:SS.ffffff', the text form of `created_at` that compares correctly
/// with literals like '2025-11-01 00:00:00'.
fn timestamp_text(us: i64) -> Result<String> {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
        .and_then(|t| t.format(FORMAT).ok())
        .ok_or_else(|| Error::constraint("created_at_us", format!("{us} us is not a valid time")))
}

fn migration_error(message: String) -> Error {
    Error::Migration { message }
}

fn map_migrate_err(e: MigrateError) -> Error {
    match e {
        MigrateError::Execute(inner) => map_err(inner),
        other => migration_error(other.to_string()),
    }
}

fn map_err(e: sqlx::Error) -> Error {
    map_err_in("value", e)
}

/// Maps a driver error to the store's vocabulary; `field` names what was being written, used
/// when SQLite does not name the constraint.
pub(crate) fn map_err_in(field: &str, e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            let message = db.message().to_owned();
            match db.kind() {
                ErrorKind::CheckViolation => Error::Constraint {
                    field: message
                        .strip_prefix("CHECK constraint failed: ")
                        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(field)
                        .to_owned(),
                    message,
                },
                ErrorKind::NotNullViolation => Error::constraint(field, message),
                ErrorKind::UniqueViolation => Error::conflict(format!("{field}: {message}")),
                ErrorKind::ForeignKeyViolation => Error::conflict(format!(
                    "{field}: refers to a missing row or is still referred to ({message})"
                )),
                // Other SQLITE_CONSTRAINT codes, e.g. a wrong type in a STRICT table.
                _ if code & 0xff == 19 => Error::constraint(field, message),
                // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
                _ if matches!(code & 0xff, 5 | 6) => Error::Unavailable { message },
                // SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_FULL, SQLITE_IOERR.
                _ if matches!(code & 0xff, 14 | 8 | 13 | 10) => Error::Unavailable { message },
                _ => Error::database(message),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_) => Error::Unavailable {
            message: e.to_string(),
        },
        sqlx::Error::Migrate(m) => map_migrate_err(*m),
        other => Error::database(other.to_string()),
    }
}

/// One pool's counts; Size and idle are read at two instants: idle is capped at size so `in_use` cannot wrap.
fn pool_stats(pool: &SqlitePool) -> crate::PoolStats {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).map_or(size, |idle| idle.min(size));
    crate::PoolStats {
        size,
        idle,
        in_use: size - idle,
        max: pool.options().get_max_connections(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_text_is_utc_with_microseconds() {
        // 1761955200 s is 2025-11-01T00:00:00Z (GNU `date -u -d @1761955200`).
        assert_eq!(
            timestamp_text(1_761_955_200_000_000).unwrap(),
            "2025-11-01 00:00:00.000000"
        );
        assert_eq!(
            timestamp_text(1_761_955_200_000_000 + 86_399_999_999).unwrap(),
            "2025-11-01 23:59:59.999999"
        );
        assert_eq!(timestamp_text(0).unwrap(), "1970-01-01 00:00:00.000000");
        assert!(timestamp_text(i64::MAX).is_err());
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!(
            parse_cursor("1761955200000000.CALC-0190ABC").unwrap(),
            (1_761_955_200_000_000, "CALC-0190ABC".to_owned())
        );
        assert!(parse_cursor("x.CALC-1").is_err());
        assert!(parse_cursor("17").is_err());
    }

    /// What an operator typing SQL by hand meets: the schema itself refuses corrupt rows, and
    /// the runbook's text comparison on `created_at` works.
    #[tokio::test]
    async fn schema_refuses_corrupt_rows_written_by_hand() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        store.migrate_up(None).await.unwrap();
        sqlx::query(
            "INSERT INTO facilities (id, name, time_zone, spec, updated_at_us) \
             VALUES ('FAC-1', 'F', 'UTC', '{}', 0)",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        let next_id = std::sync::atomic::AtomicU32::new(0);
        let insert = |efficiency: &'static str, balance: &'static str, status: &'static str| {
            let n = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let sql = format!(
                "INSERT INTO calculations (id, facility_id, period_start_us, period_end_us, \
                 status, efficiency, energy_balance_percent, provenance_hash, input_hash, \
                 method_version, service_version, request, result, failure_reason, \
                 created_at_us, created_at) VALUES ('CALC-{n}', \
                 'FAC-1', 0, 1, '{status}', {efficiency}, {balance}, 'p', 'i', 'm', 's', '{{}}', \
                 '{{}}', NULL, 1761955200000000, '2025-11-01 00:00:00.000000')"
            );
            let pool = store.writer.clone();
            async move { sqlx::query(AssertSqlSafe(sql)).execute(&pool).await }
        };
        for (efficiency, balance, status) in [
            ("101", "1", "completed"),
            ("-1", "1", "completed"),
            ("80", "10.5", "completed"),
            ("NULL", "1", "completed"),
            ("80", "NULL", "completed"),
            ("'high'", "1", "completed"),
            ("80", "1", "done"),
        ] {
            let err = insert(efficiency, balance, status).await.unwrap_err();
            assert!(
                matches!(map_err(err), Error::Constraint { .. }),
                "{efficiency} {balance} {status}"
            );
        }
        insert("84.5", "2", "completed").await.unwrap();
        let recent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM calculations WHERE created_at >= '2025-11-01 00:00:00' \
             AND (efficiency < 0 OR efficiency > 100 OR energy_balance_percent > 10)",
        )
        .fetch_one(&store.reader)
        .await
        .unwrap();
        assert_eq!(recent, 0);
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM calculations WHERE created_at >= '2025-11-01 00:00:00'",
        )
        .fetch_one(&store.reader)
        .await
        .unwrap();
        assert_eq!(total, 1);
        store.close().await;
    }

    /// A borrowed connection counts as in use and its return as idle; a file database sums its
    /// writer and reader pools, an in-memory one (reader = writer) counts its one pool once.
    #[tokio::test]
    async fn pool_stats_follow_borrowed_connections() {
        let memory = SqliteStore::open("sqlite::memory:").await.unwrap();
        let before = memory.pool_stats();
        assert_eq!((before.max, before.size, before.in_use), (1, 1, 0));
        let held = memory.writer.acquire().await.unwrap();
        let during = memory.pool_stats();
        assert_eq!((during.idle, during.in_use), (0, 1));
        drop(held);
        memory.close().await;

        let dir = tempfile::tempdir().unwrap();
        let file = SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        let readers = file.reader.options().get_max_connections();
        assert!(readers >= 2, "{readers}");
        assert_eq!(file.pool_stats().max, 1 + readers);
        let base = file.pool_stats();
        let a = file.reader.acquire().await.unwrap();
        let b = file.writer.acquire().await.unwrap();
        let during = file.pool_stats();
        assert_eq!(during.in_use, base.in_use + 2, "{during:?}");
        assert_eq!(during.size, during.idle + during.in_use);
        drop((a, b));
        // A returned connection goes back to the pool on a spawned task.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while file.pool_stats().in_use != base.in_use {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                file.pool_stats()
            );
            tokio::task::yield_now().await;
        }
        file.close().await;
    }
}
