//! The ERP outbox (table `erp_outbox`, filled by a trigger on `calculations`) and the paged
//! export of whole calculation records, on both backends.
//!
//! Claims are leases: a worker takes one due row and holds it until `claimed_until_us`, so
//! replicas sharing the database never send the same row at once, and a worker that died
//! mid-delivery only delays its row until the lease ends. PostgreSQL takes the row with
//! `FOR UPDATE SKIP LOCKED`; SQLite's single writer makes the claiming UPDATE atomic anyway.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Sqlite};

use crate::error::{Error, Result};
use crate::model::{
    CalculationFilter, CalculationRecord, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, OutboxClaim,
    OutboxEntry, OutboxOutcome, OutboxStats, Page,
};
use crate::{PostgresStore, SqliteStore, postgres, sqlite};

/// Delivered rows deleted per statement when pruning, so SQLite's single writer is never held
/// for long by a large prune.
const PRUNE_BATCH: i64 = 10_000;

/// Condition of a row waiting for delivery.
const PENDING: &str = "delivered_at_us IS NULL AND failed_at_us IS NULL";

/// Columns of a calculation record, in `CalculationRow` order (SQLite: documents as text).
const SQLITE_RECORD_COLUMNS: &str = "SELECT id, facility_id, period_start_us, period_end_us, \
     status, efficiency, energy_balance_percent, provenance_hash, input_hash, method_version, \
     service_version, request, result, failure_reason, created_at_us FROM calculations WHERE 1 = 1";

/// The same columns on PostgreSQL, documents cast to text.
const PG_RECORD_COLUMNS: &str = "SELECT id, facility_id, period_start_us, period_end_us, \
     status, efficiency, energy_balance_percent, provenance_hash, input_hash, method_version, \
     service_version, request::text AS request, result::text AS result, failure_reason, \
     created_at_us FROM calculations WHERE true";

/// Refuses a page size outside 1..=MAX_PAGE_LIMIT, as `calculations` does.
fn page_limit(filter: &CalculationFilter) -> Result<u32> {
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
    if (1..=MAX_PAGE_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::constraint(
            "limit",
            format!("must be between 1 and {MAX_PAGE_LIMIT}, got {limit}"),
        ))
    }
}

/// Cuts a fetched `limit + 1` rows to the page and names the cursor of its last item.
fn into_page(mut items: Vec<CalculationRecord>, limit: u32) -> Page<CalculationRecord> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| format!("{}.{}", last.created_at_us, last.id))
    } else {
        None
    };
    Page { items, next_cursor }
}

/// Stored counters are non-negative by their CHECK; a bad one is a damaged row.
fn attempts(value: i64) -> Result<u32> {
    u32::try_from(value)
        .map_err(|_| Error::database(format!("stored attempts {value} is out of range")))
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Gives each record its equipment ids from (calculation id, equipment id) pairs in position
/// order.
fn attach_equipment(items: &mut [CalculationRecord], pairs: Vec<(String, String)>) {
    let mut by_id = HashMap::<String, Vec<String>>::new();
    for (calculation_id, equipment_id) in pairs {
        by_id.entry(calculation_id).or_default().push(equipment_id);
    }
    for item in items {
        item.equipment_ids = by_id.remove(&item.id).unwrap_or_default();
    }
}

fn claim_token() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

type EntryRow = (
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

fn into_entry(row: EntryRow) -> Result<OutboxEntry> {
    let (
        calculation_id,
        created_at_us,
        n,
        next_attempt_at_us,
        last_attempt_at_us,
        last_error,
        delivered_at_us,
        failed_at_us,
    ) = row;
    Ok(OutboxEntry {
        calculation_id,
        created_at_us,
        attempts: attempts(n)?,
        next_attempt_at_us,
        last_attempt_at_us,
        last_error,
        delivered_at_us,
        failed_at_us,
    })
}

const ENTRY_COLUMNS: &str = "SELECT calculation_id, created_at_us, attempts, next_attempt_at_us, \
     last_attempt_at_us, last_error, delivered_at_us, failed_at_us FROM erp_outbox";

type StatsRow = (i64, i64, Option<i64>, Option<i64>, Option<String>);

fn into_stats((pending, failed, oldest, last_delivered, last_error): StatsRow) -> OutboxStats {
    OutboxStats {
        pending: count(pending),
        failed: count(failed),
        oldest_pending_created_at_us: oldest,
        last_delivered_at_us: last_delivered,
        last_error,
    }
}

/// One statement, so the counts are of one snapshot.
const STATS_SQL: &str = "SELECT \
     COALESCE((SELECT SUM(CASE WHEN failed_at_us IS NULL THEN 1 ELSE 0 END) \
               FROM erp_outbox WHERE delivered_at_us IS NULL), 0), \
     COALESCE((SELECT SUM(CASE WHEN failed_at_us IS NULL THEN 0 ELSE 1 END) \
               FROM erp_outbox WHERE delivered_at_us IS NULL), 0), \
     (SELECT MIN(created_at_us) FROM erp_outbox WHERE delivered_at_us IS NULL AND failed_at_us IS NULL), \
     (SELECT MAX(delivered_at_us) FROM erp_outbox), \
     (SELECT last_error FROM erp_outbox WHERE delivered_at_us IS NULL AND last_error IS NOT NULL \
      ORDER BY last_attempt_at_us DESC LIMIT 1)";

impl SqliteStore {
    pub(crate) async fn claim_outbox(
        &self,
        now_us: i64,
        lease_until_us: i64,
    ) -> Result<Option<OutboxClaim>> {
        // Asked of a reader first: the idle poll of every worker must not take the write lock.
        let due: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM erp_outbox WHERE {PENDING} AND next_attempt_at_us <= ?1 \
             AND (claimed_until_us IS NULL OR claimed_until_us <= ?1))"
        )))
        .bind(now_us)
        .fetch_one(&self.reader)
        .await
        .map_err(|e| sqlite::map_err_in("erp_outbox", e))?;
        if !due {
            return Ok(None);
        }
        let token = claim_token();
        let row: Option<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE erp_outbox SET attempts = attempts + 1, claim_token = ?1, \
             claimed_until_us = ?2, last_attempt_at_us = ?3 \
             WHERE calculation_id = (SELECT calculation_id FROM erp_outbox WHERE {PENDING} \
               AND next_attempt_at_us <= ?3 \
               AND (claimed_until_us IS NULL OR claimed_until_us <= ?3) \
               ORDER BY next_attempt_at_us, calculation_id LIMIT 1) \
             RETURNING calculation_id, attempts"
        )))
        .bind(&token)
        .bind(lease_until_us)
        .bind(now_us)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| sqlite::map_err_in("erp_outbox", e))?;
        row.map(|(calculation_id, n)| {
            Ok(OutboxClaim {
                calculation_id,
                attempt: attempts(n)?,
                claim_token: token,
            })
        })
        .transpose()
    }

    pub(crate) async fn finish_outbox(
        &self,
        claim: &OutboxClaim,
        outcome: &OutboxOutcome,
        now_us: i64,
    ) -> Result<bool> {
        let done = match outcome {
            // Delivered wins over any other worker's state: the ERP has the document.
            OutboxOutcome::Delivered => sqlx::query(
                "UPDATE erp_outbox SET delivered_at_us = ?2, failed_at_us = NULL, \
                 last_error = NULL, claim_token = NULL, claimed_until_us = NULL \
                 WHERE calculation_id = ?1 AND delivered_at_us IS NULL",
            )
            .bind(&claim.calculation_id)
            .bind(now_us),
            OutboxOutcome::Retry {
                error,
                next_attempt_at_us,
            } => sqlx::query(
                "UPDATE erp_outbox SET last_error = ?3, next_attempt_at_us = ?4, \
                 claim_token = NULL, claimed_until_us = NULL \
                 WHERE calculation_id = ?1 AND claim_token = ?2",
            )
            .bind(&claim.calculation_id)
            .bind(&claim.claim_token)
            .bind(error)
            .bind(*next_attempt_at_us),
            OutboxOutcome::Failed { error } => sqlx::query(
                "UPDATE erp_outbox SET last_error = ?3, failed_at_us = ?4, \
                 claim_token = NULL, claimed_until_us = NULL \
                 WHERE calculation_id = ?1 AND claim_token = ?2",
            )
            .bind(&claim.calculation_id)
            .bind(&claim.claim_token)
            .bind(error)
            .bind(now_us),
        }
        .execute(&self.writer)
        .await
        .map_err(|e| sqlite::map_err_in("erp_outbox", e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn outbox_stats(&self) -> Result<OutboxStats> {
        let row: StatsRow = sqlx::query_as(STATS_SQL)
            .fetch_one(&self.reader)
            .await
            .map_err(|e| sqlite::map_err_in("erp_outbox", e))?;
        Ok(into_stats(row))
    }

    pub(crate) async fn outbox_entry(&self, calculation_id: &str) -> Result<Option<OutboxEntry>> {
        let row: Option<EntryRow> = sqlx::query_as(AssertSqlSafe(format!(
            "{ENTRY_COLUMNS} WHERE calculation_id = ?1"
        )))
        .bind(calculation_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| sqlite::map_err_in("erp_outbox", e))?;
        row.map(into_entry).transpose()
    }

    pub(crate) async fn prune_outbox(&self, delivered_before_us: i64) -> Result<u64> {
        let mut pruned = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM erp_outbox WHERE calculation_id IN (SELECT calculation_id \
                 FROM erp_outbox WHERE delivered_at_us < ?1 LIMIT ?2)",
            )
            .bind(delivered_before_us)
            .bind(PRUNE_BATCH)
            .execute(&self.writer)
            .await
            .map_err(|e| sqlite::map_err_in("erp_outbox", e))?;
            pruned += done.rows_affected();
            if done.rows_affected() < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }

    pub(crate) async fn export_calculations(
        &self,
        filter: &CalculationFilter,
    ) -> Result<Page<CalculationRecord>> {
        let limit = page_limit(filter)?;
        let cursor = filter
            .cursor
            .as_deref()
            .map(sqlite::parse_cursor)
            .transpose()?;
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(SQLITE_RECORD_COLUMNS);
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
            q.push(" AND (created_at_us > ")
                .push_bind(created_at_us)
                .push(" OR (created_at_us = ")
                .push_bind(created_at_us)
                .push(" AND id > ")
                .push_bind(id)
                .push("))");
        }
        q.push(" ORDER BY created_at_us, id LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let mut tx = self
            .reader
            .begin()
            .await
            .map_err(|e| sqlite::map_err_in("calculations", e))?;
        let rows: Vec<sqlite::CalculationRow> = q
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| sqlite::map_err_in("calculations", e))?;
        let mut items = rows
            .into_iter()
            .map(|row| row.into_record(Vec::new()))
            .collect::<Result<Vec<_>>>()?;
        if !items.is_empty() {
            let mut eq: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT calculation_id, equipment_id FROM calculation_equipment \
                 WHERE calculation_id IN (",
            );
            let mut ids = eq.separated(", ");
            for item in &items {
                ids.push_bind(item.id.clone());
            }
            eq.push(") ORDER BY calculation_id, position");
            let pairs: Vec<(String, String)> = eq
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| sqlite::map_err_in("calculation_equipment", e))?;
            attach_equipment(&mut items, pairs);
        }
        tx.commit()
            .await
            .map_err(|e| sqlite::map_err_in("calculations", e))?;
        Ok(into_page(items, limit))
    }
}

impl PostgresStore {
    pub(crate) async fn claim_outbox(
        &self,
        now_us: i64,
        lease_until_us: i64,
    ) -> Result<Option<OutboxClaim>> {
        let token = claim_token();
        // SKIP LOCKED: replicas claiming at the same instant take different rows instead of
        // queueing behind each other's row lock.
        let row: Option<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE erp_outbox SET attempts = attempts + 1, claim_token = $1, \
             claimed_until_us = $2, last_attempt_at_us = $3 \
             WHERE calculation_id = (SELECT calculation_id FROM erp_outbox WHERE {PENDING} \
               AND next_attempt_at_us <= $3 \
               AND (claimed_until_us IS NULL OR claimed_until_us <= $3) \
               ORDER BY next_attempt_at_us, calculation_id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING calculation_id, attempts"
        )))
        .bind(&token)
        .bind(lease_until_us)
        .bind(now_us)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| postgres::map_err_in("erp_outbox", e))?;
        row.map(|(calculation_id, n)| {
            Ok(OutboxClaim {
                calculation_id,
                attempt: attempts(n)?,
                claim_token: token,
            })
        })
        .transpose()
    }

    pub(crate) async fn finish_outbox(
        &self,
        claim: &OutboxClaim,
        outcome: &OutboxOutcome,
        now_us: i64,
    ) -> Result<bool> {
        let done = match outcome {
            // Delivered wins over any other worker's state: the ERP has the document.
            OutboxOutcome::Delivered => sqlx::query(
                "UPDATE erp_outbox SET delivered_at_us = $2, failed_at_us = NULL, \
                 last_error = NULL, claim_token = NULL, claimed_until_us = NULL \
                 WHERE calculation_id = $1 AND delivered_at_us IS NULL",
            )
            .bind(&claim.calculation_id)
            .bind(now_us),
            OutboxOutcome::Retry {
                error,
                next_attempt_at_us,
            } => sqlx::query(
                "UPDATE erp_outbox SET last_error = $3, next_attempt_at_us = $4, \
                 claim_token = NULL, claimed_until_us = NULL \
                 WHERE calculation_id = $1 AND claim_token = $2",
            )
            .bind(&claim.calculation_id)
            .bind(&claim.claim_token)
            .bind(error)
            .bind(*next_attempt_at_us),
            OutboxOutcome::Failed { error } => sqlx::query(
                "UPDATE erp_outbox SET last_error = $3, failed_at_us = $4, \
                 claim_token = NULL, claimed_until_us = NULL \
                 WHERE calculation_id = $1 AND claim_token = $2",
            )
            .bind(&claim.calculation_id)
            .bind(&claim.claim_token)
            .bind(error)
            .bind(now_us),
        }
        .execute(&self.pool)
        .await
        .map_err(|e| postgres::map_err_in("erp_outbox", e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn outbox_stats(&self) -> Result<OutboxStats> {
        let row: StatsRow = sqlx::query_as(STATS_SQL)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| postgres::map_err_in("erp_outbox", e))?;
        Ok(into_stats(row))
    }

    pub(crate) async fn outbox_entry(&self, calculation_id: &str) -> Result<Option<OutboxEntry>> {
        let row: Option<EntryRow> = sqlx::query_as(AssertSqlSafe(format!(
            "{ENTRY_COLUMNS} WHERE calculation_id = $1"
        )))
        .bind(calculation_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| postgres::map_err_in("erp_outbox", e))?;
        row.map(into_entry).transpose()
    }

    pub(crate) async fn prune_outbox(&self, delivered_before_us: i64) -> Result<u64> {
        let mut pruned = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM erp_outbox WHERE calculation_id IN (SELECT calculation_id \
                 FROM erp_outbox WHERE delivered_at_us < $1 LIMIT $2)",
            )
            .bind(delivered_before_us)
            .bind(PRUNE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(|e| postgres::map_err_in("erp_outbox", e))?;
            pruned += done.rows_affected();
            if done.rows_affected() < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }

    pub(crate) async fn export_calculations(
        &self,
        filter: &CalculationFilter,
    ) -> Result<Page<CalculationRecord>> {
        let limit = page_limit(filter)?;
        let cursor = filter
            .cursor
            .as_deref()
            .map(postgres::parse_cursor)
            .transpose()?;
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(PG_RECORD_COLUMNS);
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
            q.push(" AND (created_at_us > ")
                .push_bind(created_at_us)
                .push(" OR (created_at_us = ")
                .push_bind(created_at_us)
                .push(" AND id COLLATE \"C\" > ")
                .push_bind(id)
                .push("))");
        }
        // Byte order of ids, as SQLite compares text, whatever the database's collation.
        q.push(" ORDER BY created_at_us, id COLLATE \"C\" LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let mut tx = self.read_tx().await?;
        let rows: Vec<postgres::CalculationRow> = q
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| postgres::map_err_in("calculations", e))?;
        let mut items = rows
            .into_iter()
            .map(|row| row.into_record(Vec::new()))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<String> = items.iter().map(|r| r.id.clone()).collect();
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT calculation_id, equipment_id FROM calculation_equipment \
             WHERE calculation_id = ANY($1) ORDER BY calculation_id, position",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| postgres::map_err_in("calculation_equipment", e))?;
        tx.commit()
            .await
            .map_err(|e| postgres::map_err_in("calculations", e))?;
        attach_equipment(&mut items, pairs);
        Ok(into_page(items, limit))
    }
}
