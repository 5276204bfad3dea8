//! Records the store keeps, independent of the database behind it.

use std::fmt;

/// A facility as stored: identity plus the spec document, kept verbatim (the server owns its shape).
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityRecord {
    /// Facility id, e.g. "FAC-001".
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// IANA time zone name, e.g. "Europe/Berlin".
    pub time_zone: String,
    /// The facility spec document (equipment, tag map), stored verbatim.
    pub spec: serde_json::Value,
    /// Ids of the facility's equipment units; unique across all facilities.
    pub equipment_ids: Vec<String>,
    /// Last change, UTC microseconds since the Unix epoch.
    pub updated_at_us: i64,
}

/// What `put_facility` did.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    /// The facility did not exist and was created.
    Created,
    /// The facility existed with different content; `previous` is what was replaced.
    Updated {
        /// The record before the update.
        previous: FacilityRecord,
    },
    /// The facility existed with the same content; nothing was written.
    Unchanged,
}

/// Data quality a meter reports with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quality {
    /// Trusted measurement.
    Good = 0,
    /// Measurement of doubtful quality (e.g. sensor out of calibration window).
    Uncertain = 1,
    /// Measurement known to be wrong.
    Bad = 2,
}

impl Quality {
    /// Lower-case name used at the API boundary.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Uncertain => "uncertain",
            Self::Bad => "bad",
        }
    }

    /// Parses the lower-case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "good" => Some(Self::Good),
            "uncertain" => Some(Self::Uncertain),
            "bad" => Some(Self::Bad),
            _ => None,
        }
    }

    /// Stored integer code (0 good, 1 uncertain, 2 bad).
    pub fn code(self) -> i64 {
        self as i64
    }

    /// Inverse of [`Quality::code`]; `None` for an unknown code.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Good),
            1 => Some(Self::Uncertain),
            2 => Some(Self::Bad),
            _ => None,
        }
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One meter reading of one tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Meter tag as named in the facility's tag map.
    pub tag: String,
    /// Measurement time, UTC microseconds since the Unix epoch.
    pub time_us: i64,
    /// Value in the unit the tag map declares for the tag; must be finite.
    pub value: f64,
    /// Quality flag sent by the meter.
    pub quality: Quality,
}

/// The readings of one tag, column-wise and sorted by time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Meter tag.
    pub tag: String,
    /// Times, UTC microseconds, strictly increasing.
    pub times_us: Vec<i64>,
    /// Values, same length as `times_us`.
    pub values: Vec<f64>,
    /// Qualities, same length as `times_us`.
    pub qualities: Vec<Quality>,
}

/// How an ingested batch was absorbed; the three counts add up to the batch length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestCounts {
    /// Readings whose (tag, time) was new.
    pub inserted: u64,
    /// Readings that replaced a stored reading with a different value or quality.
    pub corrected: u64,
    /// Readings identical to what was stored.
    pub unchanged: u64,
}

/// Outcome of a calculation as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalculationStatus {
    /// Numbers are valid; efficiency and balance are present.
    Completed,
    /// No valid result (e.g. energy balance closure above 10 %); `failure_reason` says why.
    Failed,
}

impl CalculationStatus {
    /// Lower-case name used in the table and at the API boundary.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses the lower-case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for CalculationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calculation and everything needed to defend or repeat it.
#[derive(Debug, Clone, PartialEq)]
pub struct CalculationRecord {
    /// "CALC-" followed by an id unique across the store (see [`new_calculation_id`]).
    pub id: String,
    /// Facility the calculation is for.
    pub facility_id: String,
    /// Period start (inclusive), UTC microseconds.
    pub period_start_us: i64,
    /// Period end (exclusive), UTC microseconds.
    pub period_end_us: i64,
    /// Completed or failed.
    pub status: CalculationStatus,
    /// Facility roll-up efficiency, percent, HHV basis, 0..=100; `Some` iff completed.
    pub efficiency: Option<f64>,
    /// Energy balance closure error magnitude, percent, 0..=10; `Some` iff completed.
    pub energy_balance_percent: Option<f64>,
    /// SHA-256 (hex) over canonical inputs and method version.
    pub provenance_hash: String,
    /// Hash of the aggregated inputs (cache key component).
    pub input_hash: String,
    /// Version of the calculation method.
    pub method_version: String,
    /// Version of the service that computed it.
    pub service_version: String,
    /// Equipment units included in the calculation.
    pub equipment_ids: Vec<String>,
    /// The request body plus aggregated inputs: enough to recalculate.
    pub request: serde_json::Value,
    /// The complete answer document.
    pub result: serde_json::Value,
    /// Why a failed calculation failed; `None` when completed.
    pub failure_reason: Option<String>,
    /// Creation time, UTC microseconds.
    pub created_at_us: i64,
}

/// The listing view of a calculation (no documents).
#[derive(Debug, Clone, PartialEq)]
pub struct CalculationSummary {
    /// Calculation id.
    pub id: String,
    /// Facility id.
    pub facility_id: String,
    /// Period start (inclusive), UTC microseconds.
    pub period_start_us: i64,
    /// Period end (exclusive), UTC microseconds.
    pub period_end_us: i64,
    /// Completed or failed.
    pub status: CalculationStatus,
    /// Efficiency, percent, HHV basis.
    pub efficiency: Option<f64>,
    /// Energy balance closure error, percent.
    pub energy_balance_percent: Option<f64>,
    /// Creation time, UTC microseconds.
    pub created_at_us: i64,
}

/// Largest page `calculations` returns.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// Page size when the filter does not set one.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// Which calculations to list; all fields optional, combined with AND.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CalculationFilter {
    /// Only this facility.
    pub facility_id: Option<String>,
    /// Only this status.
    pub status: Option<CalculationStatus>,
    /// Only calculations whose period overlaps [from, to): start before `to`, end after `from`;
    /// UTC microseconds.
    pub period_from_us: Option<i64>,
    /// Upper bound of the overlap window, UTC microseconds (exclusive).
    pub period_to_us: Option<i64>,
    /// Page size, 1..=500; `None` means [`DEFAULT_PAGE_LIMIT`].
    pub limit: Option<u32>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One page of a newest-first listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A marker that an equipment unit is suspect; results for it carry the flag.
#[derive(Debug, Clone, PartialEq)]
pub struct EquipmentFlag {
    /// Flagged equipment unit.
    pub equipment_id: String,
    /// Facility the unit belongs to.
    pub facility_id: String,
    /// Why it was flagged.
    pub reason: String,
    /// Who flagged it (token name).
    pub flagged_by: String,
    /// When, UTC microseconds.
    pub flagged_at_us: i64,
}

/// What an API token may do; ordered so that `role >= Role::Operator` reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Read-only.
    Viewer,
    /// Read and write data.
    Operator,
    /// Everything, including admin routes.
    Admin,
}

impl Role {
    /// Lower-case name used in the table and at the API boundary.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// Parses the lower-case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API token; the secret itself is never stored, only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// Token id (public, used to list and revoke).
    pub id: String,
    /// Name of the user or system holding the token.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// SHA-256 of the secret.
    pub digest: [u8; 32],
    /// Creation time, UTC microseconds.
    pub created_at_us: i64,
    /// Revocation time, UTC microseconds; `None` while valid.
    pub revoked_at_us: Option<i64>,
}

/// One migration known to this binary or recorded in the database.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationInfo {
    /// Version, a UTC timestamp like 20261126000001.
    pub version: i64,
    /// What the migration does.
    pub description: String,
    /// When it was applied, UTC microseconds (second resolution); `None` if pending.
    pub installed_on_us: Option<i64>,
}

/// Where the database schema stands relative to this binary's migrations.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationStatus {
    /// Highest applied version; `None` on an empty database.
    pub current_version: Option<i64>,
    /// Latest version this binary knows.
    pub latest_known_version: Option<i64>,
    /// Applied migrations, oldest first.
    pub applied: Vec<MigrationInfo>,
    /// Known migrations not applied yet, oldest first.
    pub pending: Vec<MigrationInfo>,
    /// Applied migrations this binary does not know (the database was migrated by a newer
    /// release); compatible by the expand/contract rule, but this binary cannot revert them.
    pub unknown: Vec<MigrationInfo>,
    /// A migration that started but did not finish; the schema needs manual repair.
    pub dirty_version: Option<i64>,
    /// Nothing pending and nothing dirty: this binary can serve.
    pub is_current: bool,
}

/// How far `migrate_down` goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateDownTarget {
    /// Revert the last `n` applied migrations.
    Steps(u32),
    /// Revert every migration newer than this version (which stays applied); 0 reverts all.
    To(i64),
}

/// An ERP outbox row claimed by one worker until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxClaim {
    /// The calculation to deliver; also the delivery's idempotency key.
    pub calculation_id: String,
    /// Which attempt this is, counting from 1 (a claim counts, delivered or not).
    pub attempt: u32,
    /// Proves the claim when its outcome is recorded: a worker whose lease ran out and whose
    /// row another worker claimed cannot overwrite that worker's state.
    pub claim_token: String,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The ERP accepted the document.
    Delivered,
    /// A transient failure; the row is due again at `next_attempt_at_us` (UTC µs).
    Retry {
        /// Why the attempt failed.
        error: String,
        /// When the row is due again, UTC microseconds.
        next_attempt_at_us: i64,
    },
    /// The ERP refused the document for good; the row stays, failed, until an operator acts.
    Failed {
        /// Why the ERP refused it.
        error: String,
    },
}

/// The delivery state of one calculation in the ERP outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The calculation, and the idempotency key.
    pub calculation_id: String,
    /// When the calculation was created, UTC microseconds.
    pub created_at_us: i64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the row is due, UTC microseconds.
    pub next_attempt_at_us: i64,
    /// When the last attempt started, UTC microseconds.
    pub last_attempt_at_us: Option<i64>,
    /// Why the last attempt failed; `None` after a success.
    pub last_error: Option<String>,
    /// When the ERP accepted it, UTC microseconds.
    pub delivered_at_us: Option<i64>,
    /// When the ERP refused it for good, UTC microseconds.
    pub failed_at_us: Option<i64>,
}

/// Counts of the ERP outbox for the integration status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Rows waiting for delivery (never delivered, not failed for good).
    pub pending: u64,
    /// Rows the ERP refused for good.
    pub failed: u64,
    /// Creation time of the oldest pending calculation, UTC microseconds.
    pub oldest_pending_created_at_us: Option<i64>,
    /// Time of the newest delivery, UTC microseconds.
    pub last_delivered_at_us: Option<i64>,
    /// Error of the most recent failed attempt of a row not delivered yet.
    pub last_error: Option<String>,
}

/// A new calculation id: "CALC-" and a UUID v7 as 32 upper-case hex digits, so ids sort by
/// creation time and never collide across replicas.
pub fn new_calculation_id() -> String {
    format!(
        "CALC-{}",
        uuid::Uuid::now_v7()
            .simple()
            .encode_upper(&mut uuid::Uuid::encode_buffer())
    )
}

/// Current time, UTC microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}
