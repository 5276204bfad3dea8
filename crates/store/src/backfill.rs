//! Progress of a historian backfill (`thermaliq backfill`), one row per facility, source and
//! requested range, so a re-run after an interruption continues from where the stored prefix
//! ends instead of from the start.

use crate::error::{Error, Result};
use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;

/// How far a backfill of the half-open range [`from_us`, `to_us`) of one source has been
/// stored: every reading before `done_until_us` is committed.
///
/// [`from_us`]: BackfillProgress::from_us
/// [`to_us`]: BackfillProgress::to_us
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillProgress {
    /// The facility the readings belong to.
    pub facility_id: String,
    /// The historian source's name in the facility's connectors section.
    pub source: String,
    /// Start of the requested range, UTC µs (inclusive).
    pub from_us: i64,
    /// End of the requested range, UTC µs (exclusive).
    pub to_us: i64,
    /// End of the stored prefix, from `from_us` up to `to_us` (done).
    pub done_until_us: i64,
    /// When the row was last written, UTC µs.
    pub updated_at_us: i64,
}

impl BackfillProgress {
    /// Refuses a range that is empty or a prefix outside it, naming the field.
    fn check(&self) -> Result<()> {
        if self.source.is_empty() {
            return Err(Error::constraint("source", "must not be empty"));
        }
        if self.to_us <= self.from_us {
            return Err(Error::constraint(
                "to_us",
                format!("{} is not after from_us {}", self.to_us, self.from_us),
            ));
        }
        if !(self.from_us..=self.to_us).contains(&self.done_until_us) {
            return Err(Error::constraint(
                "done_until_us",
                format!(
                    "{} is outside the range {}..{}",
                    self.done_until_us, self.from_us, self.to_us
                ),
            ));
        }
        Ok(())
    }
}

type Row = (String, String, i64, i64, i64, i64);

fn from_row(r: Row) -> BackfillProgress {
    BackfillProgress {
        facility_id: r.0,
        source: r.1,
        from_us: r.2,
        to_us: r.3,
        done_until_us: r.4,
        updated_at_us: r.5,
    }
}

impl SqliteStore {
    pub(crate) async fn backfill_progress(
        &self,
        facility_id: &str,
        source: &str,
        from_us: i64,
        to_us: i64,
    ) -> Result<Option<BackfillProgress>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT facility_id, source, from_us, to_us, done_until_us, updated_at_us \
             FROM backfill_progress \
             WHERE facility_id = ?1 AND source = ?2 AND from_us = ?3 AND to_us = ?4",
        )
        .bind(facility_id)
        .bind(source)
        .bind(from_us)
        .bind(to_us)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| crate::sqlite::map_err_in("backfill_progress", e))?;
        Ok(row.map(from_row))
    }

    pub(crate) async fn save_backfill_progress(&self, p: &BackfillProgress) -> Result<()> {
        p.check()?;
        let mut tx = self.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM facilities WHERE id = ?1")
            .bind(&p.facility_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| crate::sqlite::map_err_in("facility_id", e))?;
        if known.is_none() {
            return Err(Error::not_found("facility", &p.facility_id));
        }
        sqlx::query(
            "INSERT INTO backfill_progress \
             (facility_id, source, from_us, to_us, done_until_us, updated_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (facility_id, source, from_us, to_us) DO UPDATE SET \
             done_until_us = excluded.done_until_us, updated_at_us = excluded.updated_at_us",
        )
        .bind(&p.facility_id)
        .bind(&p.source)
        .bind(p.from_us)
        .bind(p.to_us)
        .bind(p.done_until_us)
        .bind(p.updated_at_us)
        .execute(&mut *tx)
        .await
        .map_err(|e| crate::sqlite::map_err_in("backfill_progress", e))?;
        tx.commit()
            .await
            .map_err(|e| crate::sqlite::map_err_in("backfill_progress", e))
    }
}

impl PostgresStore {
    pub(crate) async fn backfill_progress(
        &self,
        facility_id: &str,
        source: &str,
        from_us: i64,
        to_us: i64,
    ) -> Result<Option<BackfillProgress>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT facility_id, source, from_us, to_us, done_until_us, updated_at_us \
             FROM backfill_progress \
             WHERE facility_id = $1 AND source = $2 AND from_us = $3 AND to_us = $4",
        )
        .bind(facility_id)
        .bind(source)
        .bind(from_us)
        .bind(to_us)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| crate::postgres::map_err_in("backfill_progress", e))?;
        Ok(row.map(from_row))
    }

    pub(crate) async fn save_backfill_progress(&self, p: &BackfillProgress) -> Result<()> {
        p.check()?;
        let mut tx = self.pool.begin().await.map_err(crate::postgres::map_err)?;
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM facilities WHERE id = $1")
            .bind(&p.facility_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| crate::postgres::map_err_in("facility_id", e))?;
        if known.is_none() {
            return Err(Error::not_found("facility", &p.facility_id));
        }
        sqlx::query(
            "INSERT INTO backfill_progress \
             (facility_id, source, from_us, to_us, done_until_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (facility_id, source, from_us, to_us) DO UPDATE SET \
             done_until_us = EXCLUDED.done_until_us, updated_at_us = EXCLUDED.updated_at_us",
        )
        .bind(&p.facility_id)
        .bind(&p.source)
        .bind(p.from_us)
        .bind(p.to_us)
        .bind(p.done_until_us)
        .bind(p.updated_at_us)
        .execute(&mut *tx)
        .await
        .map_err(|e| crate::postgres::map_err_in("backfill_progress", e))?;
        tx.commit().await.map_err(crate::postgres::map_err)
    }
}
