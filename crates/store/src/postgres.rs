//! The PostgreSQL backend: one connection pool, native types (BIGINT microseconds, DOUBLE
//! PRECISION, `json` documents, BYTEA digests) and `readings` partitioned by month
//! (`postgres_readings`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::error::ErrorKind;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};

use crate::error::{Error, Result};
use crate::model::{
    CalculationFilter, CalculationRecord, CalculationStatus, CalculationSummary,
    DEFAULT_PAGE_LIMIT, EquipmentFlag, FacilityRecord, MAX_PAGE_LIMIT, MigrateDownTarget,
    MigrationInfo, MigrationStatus, Page, PutOutcome, Role, TokenRecord, now_us,
};

/// Migrations embedded at build time, recorded in `schema_migrations` (the runbook's name).
static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.dangerous_set_table_name("schema_migrations");
    // A newer release's migrations are expected during a rollback (docs/runbooks/
    // schema-compatibility.md): this binary runs on that schema rather than refusing it.
    migrator.set_ignore_missing(true);
    migrator
});

/// Pool size when the URL has no `max_connections` parameter: enough for a replica's HTTP
/// workers and ingest without exhausting a server's default 100 connections at 4 replicas.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Connections the pool keeps open even when idle.
const MIN_CONNECTIONS: u32 = 2;

/// How long a caller waits for a pooled connection before `Error::Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);

/// URL query parameters that configure this store rather than the connection; removed before
/// the URL reaches sqlx or libpq (pg_dump), which do not know them.
const STORE_PARAMETERS: [&str; 1] = ["max_connections"];

/// The PostgreSQL store; construct through [`crate::Store::open`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Monthly partitions of `readings` known to exist (month index year * 12 + month - 1), so
    /// a batch checks the catalog only for months it has not seen.
    pub(crate) partitions: Arc<Mutex<HashSet<i32>>>,
    /// Where pg_dump and pg_restore connect.
    pub(crate) libpq: Arc<LibpqTarget>,
}

/// The connection as libpq tools take it: a URL without the password (command lines are
/// visible to other users) and the password apart, for `PGPASSWORD`.
pub(crate) struct LibpqTarget {
    pub(crate) url: String,
    pub(crate) password: Option<String>,
}

impl fmt::Debug for LibpqTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibpqTarget")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Splits a `postgres://` URL into the pool size, the URL for sqlx and the libpq target.
fn parse_url(url: &str) -> Result<(u32, String, LibpqTarget)> {
    let bad = |message: String| Error::constraint("database_url", message);
    let mut parsed = url::Url::parse(url).map_err(|e| bad(format!("not a valid URL: {e}")))?;
    let mut max_connections = DEFAULT_MAX_CONNECTIONS;
    let mut kept: Vec<(String, String)> = Vec::new();
    let mut password = parsed
        .password()
        .map(|p| percent_encoding::percent_decode_str(p).decode_utf8())
        .transpose()
        .map_err(|e| bad(format!("password is not UTF-8: {e}")))?
        .map(|p| p.into_owned());
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "max_connections" => {
                max_connections = value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad(format!(
                        "max_connections must be a positive integer, got {value:?}"
                    ))
                })?;
            }
            "password" => password = Some(value.into_owned()),
            _ if STORE_PARAMETERS.contains(&key.as_ref()) => {}
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(&kept);
    }
    let for_sqlx = parsed.to_string();
    parsed
        .set_password(None)
        .map_err(|()| bad("URL cannot carry a password".into()))?;
    Ok((
        max_connections,
        for_sqlx,
        LibpqTarget {
            url: parsed.to_string(),
            password,
        },
    ))
}

impl PostgresStore {
    /// Connects (one connection up front, so a wrong URL or password fails here) and, on a
    /// migrated database, creates the partitions of the coming months.
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let (max_connections, for_sqlx, libpq) = parse_url(url)?;
        let options = PgConnectOptions::from_str(&for_sqlx).map_err(|e| Error::Constraint {
            field: "database_url".into(),
            message: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // Two, so a lone reader of many series finds a second connection idle and reads
            // half of them there (`postgres_readings::read_split`).
            .min_connections(MIN_CONNECTIONS.min(max_connections))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        let store = Self {
            pool,
            partitions: Arc::new(Mutex::new(HashSet::new())),
            libpq: Arc::new(libpq),
        };
        store.create_partitions_ahead().await?;
        Ok(store)
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Size and idle are read at two instants: idle is capped at size so `in_use` cannot wrap.
    pub(crate) fn pool_stats(&self) -> crate::PoolStats {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).map_or(size, |idle| idle.min(size));
        crate::PoolStats {
            size,
            idle,
            in_use: size - idle,
            max: self.pool.options().get_max_connections(),
        }
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    // ---- migrations ----

    /// Rows of `schema_migrations` with their success flag; empty before the first migration.
    async fn applied_migrations(&self) -> Result<Vec<(MigrationInfo, bool)>> {
        let exists: bool =
            sqlx::query_scalar("SELECT to_regclass('schema_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        if !exists {
            return Ok(Vec::new());
        }
        // Second resolution, as on SQLite.
        let rows: Vec<(i64, String, Option<i64>, bool)> = sqlx::query_as(
            "SELECT version, description, \
             floor(extract(epoch FROM installed_on))::bigint * 1000000, success \
             FROM schema_migrations ORDER BY version",
        )
        .fetch_all(&self.pool)
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
        let applied = self.applied_migrations().await?;
        let known = known_migrations();
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
        // Replicas starting together migrate one at a time: holding this session lock from the
        // first look to the last makes "applied now" mean applied by this call, not by another
        // replica that ran while this one waited for sqlx's own migration lock.
        // A connection of its own, outside the pool, so a pool of one still has one to migrate.
        let mut guard = PgConnection::connect_with(&self.pool.connect_options())
            .await
            .map_err(map_err)?;
        sqlx::query("SELECT pg_advisory_lock(hashtextextended('thermaliq:migrate', 0))")
            .execute(&mut guard)
            .await
            .map_err(map_err)?;
        let applied = self.migrate_up_locked(to).await;
        let unlocked =
            sqlx::query("SELECT pg_advisory_unlock(hashtextextended('thermaliq:migrate', 0))")
                .execute(&mut guard)
                .await
                .map_err(map_err);
        let _ = guard.close().await;
        let applied = applied?;
        unlocked?;
        Ok(applied)
    }

    async fn migrate_up_locked(&self, to: Option<i64>) -> Result<Vec<MigrationInfo>> {
        let before = self.applied_versions().await?;
        // A migration may drop and recreate `readings`; forget what was known of it.
        self.forget_partitions();
        let run = match to {
            Some(target) => MIGRATOR.run_to(target, &self.pool).await,
            None => MIGRATOR.run(&self.pool).await,
        };
        run.map_err(map_migrate_err)?;
        self.create_partitions_ahead().await?;
        let after = self.applied_migrations().await?;
        Ok(after
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| !before.contains(&m.version))
            .collect())
    }

    pub(crate) async fn migrate_down(&self, to: MigrateDownTarget) -> Result<Vec<MigrationInfo>> {
        let applied: Vec<MigrationInfo> = self
            .applied_migrations()
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let Some(target) = crate::migration_target::down_target(&MIGRATOR, &applied, to)? else {
            return Ok(Vec::new());
        };
        self.forget_partitions();
        MIGRATOR
            .undo(&self.pool, target)
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
        Ok(self
            .applied_migrations()
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
        let spec = to_json_text(&f.spec, "spec")?;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Serialises writers of the same facility, so the outcome (created, updated,
        // unchanged) describes exactly what this call did, as on SQLite's single writer.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('facility:' || $1, 0))")
            .bind(&f.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err_in("id", e))?;
        let previous = load_facility(&mut tx, &f.id).await?;
        if let Some(prev) = &previous
            && prev.name == f.name
            && prev.time_zone == f.time_zone
            && prev.spec == f.spec
            && prev.equipment_ids == f.equipment_ids
        {
            return Ok(PutOutcome::Unchanged);
        }
        let owners: Vec<(String, String)> = sqlx::query_as(
            "SELECT equipment_id, facility_id FROM facility_equipment \
             WHERE equipment_id = ANY($1) AND facility_id <> $2 ORDER BY equipment_id",
        )
        .bind(&f.equipment_ids)
        .bind(&f.id)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map_err_in("equipment_ids", e))?;
        if let Some((equipment_id, owner)) = owners.into_iter().next() {
            return Err(Error::conflict(format!(
                "equipment {equipment_id} belongs to facility {owner}"
            )));
        }
        sqlx::query(
            "INSERT INTO facilities (id, name, time_zone, spec, updated_at_us) \
             VALUES ($1, $2, $3, $4::json, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone, \
             spec = excluded.spec, updated_at_us = excluded.updated_at_us",
        )
        .bind(&f.id)
        .bind(&f.name)
        .bind(&f.time_zone)
        .bind(spec)
        .bind(f.updated_at_us)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err_in("facility", e))?;
        // Removed units are deleted one by one (not all rows rewritten) so that the flags of
        // units that stay survive the update.
        sqlx::query(
            "DELETE FROM facility_equipment WHERE facility_id = $1 \
             AND NOT (equipment_id = ANY($2))",
        )
        .bind(&f.id)
        .bind(&f.equipment_ids)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO facility_equipment (equipment_id, facility_id, position) \
             SELECT e, $2, p - 1 FROM unnest($1::text[]) WITH ORDINALITY AS t(e, p) \
             ON CONFLICT (equipment_id) DO UPDATE SET position = excluded.position",
        )
        .bind(&f.equipment_ids)
        .bind(&f.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err_in("equipment_ids", e))?;
        tx.commit().await.map_err(map_err)?;
        Ok(match previous {
            None => PutOutcome::Created,
            Some(previous) => PutOutcome::Updated { previous },
        })
    }

    pub(crate) async fn facility(&self, id: &str) -> Result<Option<FacilityRecord>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        load_facility(&mut conn, id).await
    }

    pub(crate) async fn facilities(&self) -> Result<Vec<FacilityRecord>> {
        let mut tx = self.read_tx().await?;
        let rows: Vec<FacilityRow> = sqlx::query_as(
            "SELECT id, name, time_zone, spec::text AS spec, updated_at_us \
             FROM facilities ORDER BY id COLLATE \"C\"",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let equipment: Vec<(String, String)> = sqlx::query_as(
            "SELECT facility_id, equipment_id FROM facility_equipment \
             ORDER BY facility_id, position",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let mut by_facility: HashMap<String, Vec<String>> = HashMap::new();
        for (facility_id, equipment_id) in equipment {
            by_facility
                .entry(facility_id)
                .or_default()
                .push(equipment_id);
        }
        rows.into_iter()
            .map(|row| {
                let equipment_ids = by_facility.remove(&row.id).unwrap_or_default();
                row.into_record(equipment_ids)
            })
            .collect()
    }

    pub(crate) async fn delete_facility(&self, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // The row lock waits for running ingests of this facility (they hold KEY SHARE).
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM facilities WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map_err_in("id", e))?;
        if exists.is_none() {
            return Ok(false);
        }
        let (has_readings, has_calculations): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM readings WHERE series_id IN \
                            (SELECT id FROM reading_series WHERE facility_id = $1)), \
                    EXISTS (SELECT 1 FROM calculations WHERE facility_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
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
        sqlx::query("DELETE FROM facilities WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    // ---- calculations ----

    pub(crate) async fn insert_calculation(&self, c: &CalculationRecord) -> Result<()> {
        check_created_at(c.created_at_us)?;
        let request = to_json_text(&c.request, "request")?;
        let result = to_json_text(&c.result, "result")?;
        // One statement (one round trip instead of five for a transaction of three): the
        // facility row is locked against deletion, the record and its equipment links are
        // inserted together or not at all; no row from the first part means no facility.
        let stored: i64 = sqlx::query_scalar(
            "WITH facility AS (SELECT id FROM facilities WHERE id = $2 FOR KEY SHARE), \
             calculation AS ( \
               INSERT INTO calculations (id, facility_id, period_start_us, period_end_us, \
                 status, efficiency, energy_balance_percent, provenance_hash, input_hash, \
                 method_version, service_version, request, result, failure_reason, \
                 created_at_us, created_at) \
               SELECT $1, facility.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, \
                 $13::json, $14, $15, TIMESTAMPTZ 'epoch' + $15 * INTERVAL '1 microsecond' \
               FROM facility \
               RETURNING id), \
             equipment AS ( \
               INSERT INTO calculation_equipment (calculation_id, equipment_id, position) \
               SELECT calculation.id, t.e, t.p - 1 \
               FROM calculation, unnest($16::text[]) WITH ORDINALITY AS t(e, p)) \
             SELECT count(*) FROM calculation",
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
        .bind(request)
        .bind(result)
        .bind(&c.failure_reason)
        .bind(c.created_at_us)
        .bind(&c.equipment_ids)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            let equipment = matches!(&e, sqlx::Error::Database(db)
                if db.table() == Some("calculation_equipment"));
            map_err_in(
                if equipment {
                    "equipment_ids"
                } else {
                    "calculation"
                },
                e,
            )
        })?;
        if stored == 0 {
            return Err(Error::not_found("facility", &c.facility_id));
        }
        Ok(())
    }

    pub(crate) async fn calculation(&self, id: &str) -> Result<Option<CalculationRecord>> {
        let mut tx = self.read_tx().await?;
        let row: Option<CalculationRow> = sqlx::query_as(
            "SELECT id, facility_id, period_start_us, period_end_us, status, efficiency, \
             energy_balance_percent, provenance_hash, input_hash, method_version, \
             service_version, request::text AS request, result::text AS result, failure_reason, \
             created_at_us FROM calculations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map_err_in("id", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let equipment_ids: Vec<String> = sqlx::query_scalar(
            "SELECT equipment_id FROM calculation_equipment WHERE calculation_id = $1 \
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
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT id, facility_id, period_start_us, period_end_us, status, efficiency, \
             energy_balance_percent, created_at_us FROM calculations WHERE true",
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
                .push(" AND id COLLATE \"C\" < ")
                .push_bind(id)
                .push("))");
        }
        // Byte order of ids, as SQLite compares text, whatever the database's collation.
        q.push(" ORDER BY created_at_us DESC, id COLLATE \"C\" DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows: Vec<SummaryRow> = q
            .build_query_as()
            .fetch_all(&self.pool)
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
             WHERE ce.equipment_id = $1 \
             ORDER BY c.created_at_us DESC, c.id COLLATE \"C\" DESC LIMIT 1",
        )
        .bind(equipment_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map_err_in("equipment_id", e))?;
        match id {
            Some(id) => self.calculation(&id).await,
            None => Ok(None),
        }
    }

    // ---- equipment flags ----

    pub(crate) async fn set_equipment_flag(&self, flag: &EquipmentFlag) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT facility_id FROM facility_equipment WHERE equipment_id = $1 FOR KEY SHARE",
        )
        .bind(&flag.equipment_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map_err_in("equipment_id", e))?;
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
             VALUES ($1, $2, $3, $4, $5) \
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
        let done = sqlx::query("DELETE FROM equipment_flags WHERE equipment_id = $1")
            .bind(equipment_id)
            .execute(&self.pool)
            .await
            .map_err(|e| map_err_in("equipment_id", e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn equipment_flags(&self, facility_id: &str) -> Result<Vec<EquipmentFlag>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT equipment_id, facility_id, reason, flagged_by, flagged_at_us \
             FROM equipment_flags WHERE facility_id = $1 ORDER BY equipment_id COLLATE \"C\"",
        )
        .bind(facility_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map_err_in("facility_id", e))?;
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
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.role.as_str())
        .bind(&t.digest[..])
        .bind(t.created_at_us)
        .bind(t.revoked_at_us)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(|e| map_err_in("token", e))
    }

    pub(crate) async fn token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, name, role, digest, created_at_us, revoked_at_us \
             FROM api_tokens WHERE digest = $1",
        )
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TokenRow::into_record).transpose()
    }

    pub(crate) async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, role, digest, created_at_us, revoked_at_us \
             FROM api_tokens ORDER BY created_at_us, id COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TokenRow::into_record).collect()
    }

    pub(crate) async fn revoke_token(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens \
             SET revoked_at_us = coalesce(revoked_at_us, greatest($2, created_at_us)) \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now_us())
        .execute(&self.pool)
        .await
        .map_err(|e| map_err_in("id", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// A read-only transaction on one snapshot, so multi-statement reads are consistent.
    pub(crate) async fn read_tx(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
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

/// The document as JSON text, stored verbatim in a `json` column.
fn to_json_text(value: &serde_json::Value, field: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::constraint(field, e.to_string()))
}

fn from_json_text(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::database(format!("stored {what} is not valid JSON: {e}")))
}

/// The same bounds as SQLite's text form of `created_at` (years 0 to 9999), so both backends
/// accept the same records.
fn check_created_at(us: i64) -> Result<()> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
        .map(|_| ())
        .ok_or_else(|| Error::constraint("created_at_us", format!("{us} us is not a valid time")))
}

/// Checks that the facility exists and keeps it from being deleted until the transaction ends.
pub(crate) async fn facility_must_exist(conn: &mut PgConnection, id: &str) -> Result<()> {
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM facilities WHERE id = $1 FOR KEY SHARE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| map_err_in("facility_id", e))?;
    match exists {
        Some(_) => Ok(()),
        None => Err(Error::not_found("facility", id)),
    }
}

/// The facility and its equipment ids in one statement (one round trip: every calculation
/// starts with it).
async fn load_facility(conn: &mut PgConnection, id: &str) -> Result<Option<FacilityRecord>> {
    let row: Option<FacilityWithEquipment> = sqlx::query_as(
        "SELECT f.id, f.name, f.time_zone, f.spec::text AS spec, f.updated_at_us, \
           ARRAY(SELECT e.equipment_id FROM facility_equipment AS e \
                 WHERE e.facility_id = f.id ORDER BY e.position) AS equipment_ids \
         FROM facilities AS f WHERE f.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| map_err_in("id", e))?;
    row.map(|r| r.facility.into_record(r.equipment_ids))
        .transpose()
}

/// A facility row with its equipment ids in position order.
#[derive(sqlx::FromRow)]
struct FacilityWithEquipment {
    #[sqlx(flatten)]
    facility: FacilityRow,
    equipment_ids: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct FacilityRow {
    id: String,
    name: String,
    time_zone: String,
    spec: String,
    updated_at_us: i64,
}

impl FacilityRow {
    fn into_record(self, equipment_ids: Vec<String>) -> Result<FacilityRecord> {
        Ok(FacilityRecord {
            spec: from_json_text(&self.spec, "facility spec")?,
            id: self.id,
            name: self.name,
            time_zone: self.time_zone,
            equipment_ids,
            updated_at_us: self.updated_at_us,
        })
    }
}

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
    request: String,
    result: String,
    failure_reason: Option<String>,
    created_at_us: i64,
}

impl CalculationRow {
    pub(crate) fn into_record(self, equipment_ids: Vec<String>) -> Result<CalculationRecord> {
        Ok(CalculationRecord {
            status: parse_status(&self.status)?,
            request: from_json_text(&self.request, "calculation request")?,
            result: from_json_text(&self.result, "calculation result")?,
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

fn migration_error(message: String) -> Error {
    Error::Migration { message }
}

fn map_migrate_err(e: MigrateError) -> Error {
    match e {
        MigrateError::Execute(inner) => map_err(inner),
        other => migration_error(other.to_string()),
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> Error {
    map_err_in("value", e)
}

/// Maps a driver error to the store's vocabulary by SQLSTATE; `field` names what was being
/// written, used when PostgreSQL does not name a constraint.
pub(crate) fn map_err_in(field: &str, e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message().to_owned();
            match db.kind() {
                ErrorKind::CheckViolation => match db.constraint() {
                    Some(name) => Error::constraint(name, message),
                    // Only a row that fits no partition of `readings` has no constraint name:
                    // the partitions are missing, not the value wrong.
                    None => Error::database(message),
                },
                ErrorKind::NotNullViolation => Error::constraint(field, message),
                ErrorKind::UniqueViolation => Error::conflict(format!("{field}: {message}")),
                ErrorKind::ForeignKeyViolation => Error::conflict(format!(
                    "{field}: refers to a missing row or is still referred to ({message})"
                )),
                // Class 22, data exception: a value the column cannot hold (out of range,
                // a NUL character in text, bad encoding).
                _ if code.starts_with("22") => Error::constraint(field, message),
                // Connection failures, too many connections, shutdown, cancelled statements,
                // serialization failures and deadlocks: retrying may succeed.
                _ if code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57")
                    || code.starts_with("40")
                    || code == "55P03" =>
                {
                    Error::Unavailable { message }
                }
                _ => Error::database(format!("{message} (SQLSTATE {code})")),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => Error::Unavailable {
            message: e.to_string(),
        },
        sqlx::Error::Migrate(m) => map_migrate_err(*m),
        other => Error::database(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parameters_split_between_store_sqlx_and_libpq() {
        let (max, for_sqlx, libpq) = parse_url(
            "postgres://ops:s%40cret@db.example:5433/thermaliq?max_connections=4&sslmode=disable",
        )
        .unwrap();
        assert_eq!(max, 4);
        assert_eq!(
            for_sqlx,
            "postgres://ops:s%40cret@db.example:5433/thermaliq?sslmode=disable"
        );
        assert_eq!(
            libpq.url,
            "postgres://ops@db.example:5433/thermaliq?sslmode=disable"
        );
        assert_eq!(libpq.password.as_deref(), Some("s@cret"));
        assert!(!format!("{libpq:?}").contains("s@cret"));

        let (max, for_sqlx, libpq) = parse_url("postgresql://u@h/db").unwrap();
        assert_eq!(max, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(for_sqlx, "postgresql://u@h/db");
        assert_eq!(libpq.password, None);

        for bad in [
            "postgres://h/db?max_connections=0",
            "postgres://h/db?max_connections=x",
            "postgres://[::1/db",
        ] {
            match parse_url(bad) {
                Err(Error::Constraint { field, .. }) => assert_eq!(field, "database_url"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn created_at_bounds_match_sqlite() {
        assert!(check_created_at(0).is_ok());
        assert!(check_created_at(253_402_300_799_999_999).is_ok());
        assert!(check_created_at(253_402_300_800_000_000).is_err());
        assert!(check_created_at(i64::MAX).is_err());
        assert!(check_created_at(i64::MIN).is_err());
    }
}
