//! Persistence of facilities, readings, calculations, equipment flags and API tokens behind one
//! backend-neutral interface, [`Store`], with reversible migrations.
//!
//! Architecture invariant: only this crate knows SQL. No database driver type appears in the
//! public API, so a PostgreSQL variant can join [`Store`] without changing its callers.
//! Times are UTC microseconds since the Unix epoch (`i64`) throughout.

mod backfill;
mod backup;
mod error;
mod lease;
mod migration_target;
mod model;
mod outbox;
mod postgres;
mod postgres_readings;
mod sqlite;
mod sqlite_checkpoint;
mod sqlite_read;
mod web_session;

use std::path::Path;

pub use backfill::BackfillProgress;
pub use backup::PG_BIN_ENV;
pub use error::{Error, Result};
pub use lease::Lease;
pub use model::{
    CalculationFilter, CalculationRecord, CalculationStatus, CalculationSummary,
    DEFAULT_PAGE_LIMIT, EquipmentFlag, FacilityRecord, IngestCounts, MAX_PAGE_LIMIT,
    MigrateDownTarget, MigrationInfo, MigrationStatus, OutboxClaim, OutboxEntry, OutboxOutcome,
    OutboxStats, Page, PutOutcome, Quality, Reading, Role, Series, TokenRecord, new_calculation_id,
    now_us,
};
pub use postgres::{DEFAULT_MAX_CONNECTIONS, PostgresStore};
pub use sqlite::SqliteStore;
pub use web_session::{WebSession, WebSessionLookup};

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "thermaliq.db";

/// Connections of the store's pools at one instant, for the pool gauges.
///
/// SQLite counts its writer and reader pools together (one writer, up to 16 readers; an
/// in-memory database has the writer only); the rusqlite connections reading series in bulk
/// are kept apart from sqlx's pools and not counted. PostgreSQL has one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open now, idle or in use.
    pub size: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// Open connections lent to a running operation.
    pub in_use: u32,
    /// Most connections the pools may open.
    pub max: u32,
}

/// The store, one variant per database backend; every method behaves the same on each.
#[derive(Debug, Clone)]
pub enum Store {
    /// Embedded SQLite (WAL mode), the default.
    Sqlite(SqliteStore),
    /// PostgreSQL, for replicas sharing one database.
    Postgres(PostgresStore),
}

/// Calls the same method on whichever backend the store wraps.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Opens a store from a URL such as "sqlite:///var/lib/thermaliq/thermaliq.db",
    /// "sqlite::memory:" or "postgres://user@host/db?max_connections=16" (also
    /// "postgresql://"); creates the SQLite file if missing. Does not migrate.
    pub async fn open(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            SqliteStore::open(url).await.map(Store::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PostgresStore::open(url).await.map(Store::Postgres)
        } else {
            Err(Error::Constraint {
                field: "database_url".into(),
                message: format!(
                    "unsupported database URL scheme in {:?}; expected sqlite: or postgres:",
                    url.split(':').next().unwrap_or_default()
                ),
            })
        }
    }

    /// Opens (creating the directory and file if needed) `<data_dir>/thermaliq.db`.
    pub async fn open_in_dir(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|e| Error::Unavailable {
            message: format!("cannot create data directory {}: {e}", data_dir.display()),
        })?;
        SqliteStore::open_file(&data_dir.join(SQLITE_FILE_NAME))
            .await
            .map(Store::Sqlite)
    }

    /// Name of the backend, for health output and logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgresql",
        }
    }

    /// Open, idle and in-use connections now, and the pool limit.
    pub fn pool_stats(&self) -> PoolStats {
        dispatch!(self, s => s.pool_stats())
    }

    /// Applies pending migrations up to `to` (inclusive; `None` = all); returns those applied now.
    pub async fn migrate_up(&self, to: Option<i64>) -> Result<Vec<MigrationInfo>> {
        dispatch!(self, s => s.migrate_up(to).await)
    }

    /// Reverts migrations; returns those reverted now, newest first.
    pub async fn migrate_down(&self, to: MigrateDownTarget) -> Result<Vec<MigrationInfo>> {
        dispatch!(self, s => s.migrate_down(to).await)
    }

    /// Applied, pending and unknown migrations, and whether this binary can serve.
    pub async fn migration_status(&self) -> Result<MigrationStatus> {
        dispatch!(self, s => s.migration_status().await)
    }

    /// Succeeds when the database answers a query (health check).
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, s => s.ping().await)
    }

    /// Creates or replaces a facility; equipment ids must not belong to another facility
    /// (`Error::Conflict`).
    pub async fn put_facility(&self, f: &FacilityRecord) -> Result<PutOutcome> {
        dispatch!(self, s => s.put_facility(f).await)
    }

    /// One facility by id.
    pub async fn facility(&self, id: &str) -> Result<Option<FacilityRecord>> {
        dispatch!(self, s => s.facility(id).await)
    }

    /// All facilities, ordered by id.
    pub async fn facilities(&self) -> Result<Vec<FacilityRecord>> {
        dispatch!(self, s => s.facilities().await)
    }

    /// Deletes a facility (and its equipment flags); `Error::Conflict` while readings or
    /// calculations refer to it; `false` if it did not exist.
    pub async fn delete_facility(&self, id: &str) -> Result<bool> {
        dispatch!(self, s => s.delete_facility(id).await)
    }

    /// Stores a batch in one transaction, committed before return. Idempotent per
    /// (facility, tag, time): a different value or quality replaces the stored one and counts as
    /// corrected; within the batch, items apply in order. A non-finite value refuses the whole
    /// batch (`Error::Constraint`) and nothing is written.
    pub async fn insert_readings(
        &self,
        facility_id: &str,
        readings: &[Reading],
    ) -> Result<IngestCounts> {
        dispatch!(self, s => s.insert_readings(facility_id, readings).await)
    }

    /// Readings of each requested tag in [start_us, end_us), plus the last reading before
    /// `start_us` (for time-weighting), sorted by time; one series per distinct tag, in request
    /// order, empty when the tag has no data. `Error::Constraint` unless `end_us > start_us`.
    pub async fn readings(
        &self,
        facility_id: &str,
        tags: &[&str],
        start_us: i64,
        end_us: i64,
    ) -> Result<Vec<Series>> {
        dispatch!(self, s => s.readings(facility_id, tags, start_us, end_us).await)
    }

    /// Number of readings stored for a facility.
    pub async fn reading_count(&self, facility_id: &str) -> Result<u64> {
        dispatch!(self, s => s.reading_count(facility_id).await)
    }

    /// Stores a calculation; `Error::Constraint` for a corrupt record (efficiency outside
    /// 0-100, balance above 10, status and numbers inconsistent), `Error::Conflict` for a
    /// duplicate id, `Error::NotFound` for an unknown facility.
    pub async fn insert_calculation(&self, c: &CalculationRecord) -> Result<()> {
        dispatch!(self, s => s.insert_calculation(c).await)
    }

    /// One calculation by id.
    pub async fn calculation(&self, id: &str) -> Result<Option<CalculationRecord>> {
        dispatch!(self, s => s.calculation(id).await)
    }

    /// A page of calculation summaries, newest first.
    pub async fn calculations(
        &self,
        filter: &CalculationFilter,
    ) -> Result<Page<CalculationSummary>> {
        dispatch!(self, s => s.calculations(filter).await)
    }

    /// The newest calculation (of any status) that included this equipment unit.
    pub async fn latest_calculation_for_equipment(
        &self,
        equipment_id: &str,
    ) -> Result<Option<CalculationRecord>> {
        dispatch!(self, s => s.latest_calculation_for_equipment(equipment_id).await)
    }

    /// Sets or replaces the flag of an equipment unit, which must belong to `flag.facility_id`.
    pub async fn set_equipment_flag(&self, flag: &EquipmentFlag) -> Result<()> {
        dispatch!(self, s => s.set_equipment_flag(flag).await)
    }

    /// Removes an equipment unit's flag; `false` if it had none.
    pub async fn clear_equipment_flag(&self, equipment_id: &str) -> Result<bool> {
        dispatch!(self, s => s.clear_equipment_flag(equipment_id).await)
    }

    /// Flags of a facility's equipment, ordered by equipment id.
    pub async fn equipment_flags(&self, facility_id: &str) -> Result<Vec<EquipmentFlag>> {
        dispatch!(self, s => s.equipment_flags(facility_id).await)
    }

    /// Stores a token record; `Error::Conflict` if the id or digest exists.
    pub async fn insert_token(&self, t: &TokenRecord) -> Result<()> {
        dispatch!(self, s => s.insert_token(t).await)
    }

    /// The token with this SHA-256 digest, revoked or not (the caller checks `revoked_at_us`).
    pub async fn token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<TokenRecord>> {
        dispatch!(self, s => s.token_by_digest(digest).await)
    }

    /// All tokens, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        dispatch!(self, s => s.tokens().await)
    }

    /// Revokes a token now; `true` if it exists (an earlier revocation time is kept).
    pub async fn revoke_token(&self, id: &str) -> Result<bool> {
        dispatch!(self, s => s.revoke_token(id).await)
    }

    /// Stores a new web session; `Error::Conflict` if the digest exists or the token is
    /// unknown, `Error::Constraint` naming the field for a malformed one.
    pub async fn insert_web_session(&self, session: &WebSession) -> Result<()> {
        dispatch!(self, s => s.insert_web_session(session).await)
    }

    /// The web session with this digest (expired or not: the caller checks) and its token's
    /// name, role and revocation.
    pub async fn web_session(&self, id_digest: &str) -> Result<Option<WebSessionLookup>> {
        dispatch!(self, s => s.web_session(id_digest).await)
    }

    /// Deletes a web session (sign-out); `true` if it existed.
    pub async fn delete_web_session(&self, id_digest: &str) -> Result<bool> {
        dispatch!(self, s => s.delete_web_session(id_digest).await)
    }

    /// Deletes the web sessions expired at `now_us`; returns how many.
    pub async fn delete_expired_web_sessions(&self, now_us: i64) -> Result<u64> {
        dispatch!(self, s => s.delete_expired_web_sessions(now_us).await)
    }

    /// The saved progress of a backfill of [from_us, to_us) of a facility's historian source.
    pub async fn backfill_progress(
        &self,
        facility_id: &str,
        source: &str,
        from_us: i64,
        to_us: i64,
    ) -> Result<Option<BackfillProgress>> {
        dispatch!(self, s => s.backfill_progress(facility_id, source, from_us, to_us).await)
    }

    /// Creates or replaces a backfill's progress; `Error::NotFound` for an unknown facility,
    /// `Error::Constraint` for an empty range or a prefix outside it.
    pub async fn save_backfill_progress(&self, progress: &BackfillProgress) -> Result<()> {
        dispatch!(self, s => s.save_backfill_progress(progress).await)
    }

    /// Claims the ERP outbox row due longest (`next_attempt_at_us <= now_us`, not delivered,
    /// not failed, not claimed by a live lease) until `lease_until_us`, counting the attempt;
    /// `None` when nothing is due. Safe with several workers on one database.
    pub async fn claim_outbox(
        &self,
        now_us: i64,
        lease_until_us: i64,
    ) -> Result<Option<OutboxClaim>> {
        dispatch!(self, s => s.claim_outbox(now_us, lease_until_us).await)
    }

    /// Records the outcome of a claimed delivery at `now_us` and releases the claim; `false`
    /// when the claim was lost (its lease ran out and another worker took the row) and a retry
    /// or failure was therefore not recorded. A delivery is always recorded.
    pub async fn finish_outbox(
        &self,
        claim: &OutboxClaim,
        outcome: &OutboxOutcome,
        now_us: i64,
    ) -> Result<bool> {
        dispatch!(self, s => s.finish_outbox(claim, outcome, now_us).await)
    }

    /// Pending and failed counts of the ERP outbox, its oldest pending row, last delivery and
    /// last error, for the integration status.
    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        dispatch!(self, s => s.outbox_stats().await)
    }

    /// The outbox row of a calculation; `None` when it has none (not completed, created
    /// before the outbox existed, or pruned after delivery).
    pub async fn outbox_entry(&self, calculation_id: &str) -> Result<Option<OutboxEntry>> {
        dispatch!(self, s => s.outbox_entry(calculation_id).await)
    }

    /// Deletes the outbox rows delivered before `delivered_before_us`; returns how many.
    /// Pending and failed rows are never pruned.
    pub async fn prune_outbox(&self, delivered_before_us: i64) -> Result<u64> {
        dispatch!(self, s => s.prune_outbox(delivered_before_us).await)
    }

    /// A page of whole calculation records, oldest first (creation time, then id), with the
    /// filters of [`Store::calculations`]; `next_cursor` continues after the page's last item.
    pub async fn export_calculations(
        &self,
        filter: &CalculationFilter,
    ) -> Result<Page<CalculationRecord>> {
        dispatch!(self, s => s.export_calculations(filter).await)
    }

    /// Closes all connections, waiting for running operations.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}
