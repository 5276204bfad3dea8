//! Readings on PostgreSQL: monthly partitions of `readings` created before a batch needs them,
//! ingest with array parameters (`unnest`), and range reads.

use std::collections::{HashMap, HashSet};

use sqlx::error::ErrorKind;
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Postgres};

use crate::error::{Error, Result};
use crate::model::{IngestCounts, Quality, Reading, Series};
use crate::postgres::{PostgresStore, facility_must_exist, map_err, map_err_in};

/// First month with its own partition: January 1970 (month index year * 12 + month - 1).
/// Earlier times go to `readings_before_1970` (created by the migration).
const FIRST_MONTH: i32 = 1970 * 12;

/// One past the last month with its own partition: January 2100. Later times go to
/// `readings_from_2100`.
const END_MONTH: i32 = 2100 * 12;

/// Months created ahead of the current one at start-up and migration, so that ingest at a
/// month boundary does not wait for DDL.
const MONTHS_AHEAD: i32 = 3;

/// Advisory lock key serialising partition creation across processes ("THRMLIQP").
const PARTITION_LOCK_KEY: i64 = 0x5448_524D_4C49_5150;

/// Month index (year * 12 + month - 1) of a UTC time, or `None` outside the monthly span.
pub(crate) fn month_of(time_us: i64) -> Option<i32> {
    let t = time::OffsetDateTime::from_unix_timestamp(time_us.div_euclid(1_000_000)).ok()?;
    let month = t.year() * 12 + i32::from(u8::from(t.month())) - 1;
    (FIRST_MONTH..END_MONTH).contains(&month).then_some(month)
}

/// Start of a month, UTC microseconds.
fn month_start_us(month: i32) -> Result<i64> {
    let m = u8::try_from(month.rem_euclid(12) + 1)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(|| Error::database(format!("month index {month} is invalid")))?;
    let date = time::Date::from_calendar_date(month.div_euclid(12), m, 1)
        .map_err(|e| Error::database(format!("month index {month}: {e}")))?;
    Ok(date.midnight().assume_utc().unix_timestamp() * 1_000_000)
}

/// Name of a month's partition, e.g. `readings_p2025_11`.
pub(crate) fn partition_name(month: i32) -> String {
    format!(
        "readings_p{:04}_{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// One distinct (series, time) key of a batch: its first and last value, and how its later
/// occurrences in the batch compare with the one before (items apply in order).
struct Key {
    series_id: i64,
    time_us: i64,
    first: (f64, Quality),
    last: (f64, Quality),
    /// Occurrences after the first that differ from the one before: corrections.
    changes: i64,
}

impl PostgresStore {
    /// Creates the partitions of this month and the next few, if `readings` exists.
    pub(crate) async fn create_partitions_ahead(&self) -> Result<()> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('readings') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if !exists {
            return Ok(());
        }
        let Some(now) = month_of(crate::model::now_us()) else {
            return Ok(());
        };
        let months: Vec<i32> = (now..=now + MONTHS_AHEAD)
            .filter(|m| *m < END_MONTH)
            .collect();
        self.ensure_partitions(months).await
    }

    /// Forgets which partitions exist (after a migration, which may drop `readings`).
    pub(crate) fn forget_partitions(&self) {
        if let Ok(mut known) = self.partitions.lock() {
            known.clear();
        }
    }

    /// Makes sure the partitions of these months exist. Each is created in its own short
    /// transaction under an advisory lock, so concurrent creators (other replicas, other
    /// batches) wait for each other and then find the table instead of failing.
    async fn ensure_partitions(&self, months: impl IntoIterator<Item = i32>) -> Result<()> {
        let missing: Vec<i32> = {
            let known = self
                .partitions
                .lock()
                .map_err(|_| Error::database("partition cache poisoned"))?;
            let mut missing: Vec<i32> = months.into_iter().filter(|m| !known.contains(m)).collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        for month in missing {
            let from = month_start_us(month)?;
            let to = month_start_us(month + 1)?;
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PARTITION_LOCK_KEY)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            // Only integers and a name derived from them are interpolated.
            let ddl = format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF readings FOR VALUES FROM ({from}) TO ({to})",
                partition_name(month)
            );
            sqlx::query(AssertSqlSafe(ddl))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            if let Ok(mut known) = self.partitions.lock() {
                known.insert(month);
            }
        }
        Ok(())
    }

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
        let mut months = HashSet::new();
        let mut last: Option<(i64, i64)> = None;
        for r in readings {
            // Consecutive readings mostly share a month: skip the calendar arithmetic then.
            if last.is_some_and(|(from, to)| (from..to).contains(&r.time_us)) {
                continue;
            }
            if let Some(month) = month_of(r.time_us) {
                months.insert(month);
                last = Some((month_start_us(month)?, month_start_us(month + 1)?));
            }
        }
        self.ensure_partitions(months).await?;
        let mut conn = CloseIfAbandoned::new(self.pool.acquire().await.map_err(map_err)?);
        let stored = conn
            .run(async |conn| {
                let mut tx = conn.begin().await.map_err(map_err)?;
                let mut counts = ingest(&mut tx, facility_id, readings, Path::Optimistic).await;
                if let Ok(None) = counts {
                    // Another batch stored one of these keys after the check: start again on
                    // the path that locks and compares existing rows.
                    tx.rollback().await.map_err(map_err)?;
                    tx = conn.begin().await.map_err(map_err)?;
                    counts = ingest(&mut tx, facility_id, readings, Path::Exact).await;
                }
                let counts = counts?.ok_or_else(|| Error::Unavailable {
                    message: "concurrent batches kept storing the same readings; retry".into(),
                })?;
                tx.commit().await.map_err(map_err)?;
                Ok(counts)
            })
            .await;
        match stored {
            Ok(counts) => Ok(counts),
            Err(e) => {
                // A partition dropped behind our back (a migration by another process) shows
                // up here; the next batch checks the catalog again.
                if matches!(e, Error::Database { .. }) {
                    self.forget_partitions();
                }
                Err(e)
            }
        }
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
        let mut seen = HashSet::new();
        let distinct: Vec<&str> = tags.iter().copied().filter(|t| seen.insert(*t)).collect();
        let mut first = self.pool.acquire().await.map_err(map_err)?;
        // A second connection only when one is idle right now (the pool keeps two): waiting
        // for it while holding the first could deadlock a full pool.
        let second = if distinct.len() >= 2 {
            self.pool.try_acquire()
        } else {
            None
        };
        let rows = match second {
            None => read_columns(&mut first, facility_id, &distinct, start_us, end_us).await?,
            Some(second) => {
                read_split(first, second, facility_id, &distinct, start_us, end_us).await?
            }
        };
        let mut out: Vec<Series> = distinct
            .iter()
            .map(|tag| Series {
                tag: (*tag).to_owned(),
                ..Series::default()
            })
            .collect();
        for (ord, times, values, qualities) in rows {
            let series = usize::try_from(ord - 1)
                .ok()
                .and_then(|i| out.get_mut(i))
                .ok_or_else(|| Error::database(format!("read returned tag ordinal {ord}")))?;
            let tag = series.tag.as_str();
            let (mut times, mut values, mut qualities) = (
                decode::<8, i64>(tag, "time", times.as_deref(), i64::from_be_bytes)?,
                decode::<8, f64>(tag, "value", values.as_deref(), f64::from_be_bytes)?,
                decode::<2, i16>(tag, "quality", qualities.as_deref(), i16::from_be_bytes)?,
            );
            if values.len() != times.len() || qualities.len() != times.len() {
                return Err(Error::database(format!(
                    "read of tag {} returned columns of different lengths",
                    series.tag
                )));
            }
            if !times.is_sorted() {
                (times, values, qualities) = in_time_order(&times, &values, &qualities);
            }
            series.qualities = qualities
                .into_iter()
                .map(|code| {
                    Quality::from_code(i64::from(code)).ok_or_else(|| {
                        Error::database(format!("stored quality code {code} is unknown"))
                    })
                })
                .collect::<Result<_>>()?;
            series.times_us = times;
            series.values = values;
        }
        Ok(out)
    }

    pub(crate) async fn reading_count(&self, facility_id: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM readings \
             WHERE series_id IN (SELECT id FROM reading_series WHERE facility_id = $1)",
        )
        .bind(facility_id)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_err_in("facility_id", e))?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}

/// How `ingest` stores keys when none of them is stored yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// A plain `COPY` ([`copy_in`]) after checking that the batch's time range is empty in
    /// every series: half the index work of `ON CONFLICT`, which probes each key before
    /// inserting it. A concurrent batch that stores one of the keys meanwhile makes the copy
    /// fail with a unique violation, reported as `Ok(None)`; the transaction must then be
    /// rolled back.
    Optimistic,
    /// Always the `ON CONFLICT` statements below.
    Exact,
}

/// The body of `insert_readings` inside its transaction; `None` when the optimistic path lost
/// a race (see [`Path::Optimistic`]).
///
/// PostgreSQL refuses an `ON CONFLICT DO UPDATE` that touches a row twice, and cannot return a
/// row's previous value, so the batch is collapsed to distinct keys here and applied in three
/// array statements: insert the new keys (`DO NOTHING`, which waits for a concurrent inserter
/// of the same key and then sees its row), lock and read the keys that already existed, and
/// update those that change. The counts are then exact, as with SQLite's serialised writer.
async fn ingest(
    conn: &mut PgConnection,
    facility_id: &str,
    readings: &[Reading],
    path: Path,
) -> Result<Option<IngestCounts>> {
    facility_must_exist(conn, facility_id).await?;
    if readings.is_empty() {
        return Ok(Some(IngestCounts::default()));
    }
    let series = ensure_series(conn, facility_id, readings).await?;

    let mut counts = IngestCounts::default();
    let mut keys: Vec<Key> = Vec::new();
    let mut index: HashMap<(i64, i64), usize> = HashMap::with_capacity(readings.len());
    for r in readings {
        let series_id = series
            .get(r.tag.as_str())
            .copied()
            .ok_or_else(|| Error::database(format!("series of tag {} was not created", r.tag)))?;
        let item = (r.value, r.quality);
        match index.get(&(series_id, r.time_us)) {
            Some(&k) => {
                let key = &mut keys[k];
                if same(key.last, item) {
                    counts.unchanged += 1;
                } else {
                    counts.corrected += 1;
                    key.changes += 1;
                }
                key.last = item;
            }
            None => {
                index.insert((series_id, r.time_us), keys.len());
                keys.push(Key {
                    series_id,
                    time_us: r.time_us,
                    first: item,
                    last: item,
                    changes: 0,
                });
            }
        }
    }
    // One lock order for every batch, so concurrent batches cannot deadlock on shared keys.
    keys.sort_unstable_by_key(|k| (k.series_id, k.time_us));

    if path == Path::Optimistic && !any_stored(conn, &keys).await? {
        return match copy_in(conn, &keys).await {
            Ok(()) => {
                counts.inserted = keys.len() as u64;
                Ok(Some(counts))
            }
            Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => Ok(None),
            Err(e) => Err(map_err_in("readings", e)),
        };
    }

    let inserted: HashSet<(i64, i64)> = sqlx::query_as::<_, (i64, i64)>(
        "INSERT INTO readings (series_id, time_us, value, quality, revision) \
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::smallint[], $5::bigint[]) \
         ON CONFLICT (series_id, time_us) DO NOTHING \
         RETURNING series_id, time_us",
    )
    .bind(keys.iter().map(|k| k.series_id).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.time_us).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.last.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| quality_code(k.last.1)).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.changes).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| map_err_in("readings", e))?
    .into_iter()
    .collect();
    counts.inserted = inserted.len() as u64;
    if inserted.len() == keys.len() {
        return Ok(Some(counts));
    }

    let existing: Vec<&Key> = keys
        .iter()
        .filter(|k| !inserted.contains(&(k.series_id, k.time_us)))
        .collect();
    let stored: HashMap<(i64, i64), (f64, i16)> = sqlx::query_as::<_, (i64, i64, f64, i16)>(
        "SELECT r.series_id, r.time_us, r.value, r.quality \
         FROM readings AS r \
         JOIN unnest($1::bigint[], $2::bigint[]) AS k(series_id, time_us) \
           ON r.series_id = k.series_id AND r.time_us = k.time_us \
         ORDER BY r.series_id, r.time_us \
         FOR UPDATE OF r",
    )
    .bind(existing.iter().map(|k| k.series_id).collect::<Vec<_>>())
    .bind(existing.iter().map(|k| k.time_us).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| map_err_in("readings", e))?
    .into_iter()
    .map(|(series_id, time_us, value, quality)| ((series_id, time_us), (value, quality)))
    .collect();

    let mut updates: Vec<(&Key, i64)> = Vec::new();
    for key in existing {
        let Some(&(value, code)) = stored.get(&(key.series_id, key.time_us)) else {
            return Err(Error::Unavailable {
                message: format!(
                    "reading at {} us was removed while this batch was stored; retry",
                    key.time_us
                ),
            });
        };
        let stored_quality = Quality::from_code(i64::from(code))
            .ok_or_else(|| Error::database(format!("stored quality code {code} is unknown")))?;
        let mut increment = key.changes;
        if same((value, stored_quality), key.first) {
            counts.unchanged += 1;
        } else {
            counts.corrected += 1;
            increment += 1;
        }
        if increment > 0 {
            updates.push((key, increment));
        }
    }
    if !updates.is_empty() {
        sqlx::query(
            "UPDATE readings AS r \
             SET value = u.value, quality = u.quality, revision = r.revision + u.increment \
             FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::smallint[], $5::bigint[]) \
               AS u(series_id, time_us, value, quality, increment) \
             WHERE r.series_id = u.series_id AND r.time_us = u.time_us",
        )
        .bind(updates.iter().map(|(k, _)| k.series_id).collect::<Vec<_>>())
        .bind(updates.iter().map(|(k, _)| k.time_us).collect::<Vec<_>>())
        .bind(updates.iter().map(|(k, _)| k.last.0).collect::<Vec<_>>())
        .bind(
            updates
                .iter()
                .map(|(k, _)| quality_code(k.last.1))
                .collect::<Vec<_>>(),
        )
        .bind(updates.iter().map(|(_, n)| *n).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(|e| map_err_in("readings", e))?;
    }
    Ok(Some(counts))
}

/// Stores new keys with a binary `COPY … FROM STDIN`: PostgreSQL adds them to the heap a page
/// at a time (one WAL record per heap page instead of one per row; index entries are still
/// one per row) and reads each value straight from the wire, where `INSERT … SELECT FROM
/// unnest(…)` first parses five arrays and materialises their rows. Measured: see
/// docs/PERFORMANCE.md.
async fn copy_in(conn: &mut PgConnection, keys: &[Key]) -> std::result::Result<(), sqlx::Error> {
    let mut copy = conn
        .copy_in_raw(
            "COPY readings (series_id, time_us, value, quality, revision) \
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    if let Err(e) = copy.send(copy_data(keys)).await {
        // Leave the connection ready for the rollback that follows the error.
        copy.abort(e.to_string()).await?;
        return Err(e);
    }
    copy.finish().await.map(drop)
}

/// Keys in PostgreSQL's binary `COPY` format: a signature and two zero words, then per row the
/// field count and each field as its length and its big-endian binary form, then -1.
fn copy_data(keys: &[Key]) -> Vec<u8> {
    /// Bytes of one row: field count, then five (length, value) pairs.
    const ROW: usize = 2 + (4 + 8) + (4 + 8) + (4 + 8) + (4 + 2) + (4 + 8);
    let mut out = Vec::with_capacity(19 + keys.len() * ROW + 2);
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0_i32.to_be_bytes());
    out.extend_from_slice(&0_i32.to_be_bytes());
    for key in keys {
        out.extend_from_slice(&5_i16.to_be_bytes());
        for field in [key.series_id, key.time_us] {
            out.extend_from_slice(&8_i32.to_be_bytes());
            out.extend_from_slice(&field.to_be_bytes());
        }
        out.extend_from_slice(&8_i32.to_be_bytes());
        out.extend_from_slice(&key.last.0.to_be_bytes());
        out.extend_from_slice(&2_i32.to_be_bytes());
        out.extend_from_slice(&quality_code(key.last.1).to_be_bytes());
        out.extend_from_slice(&8_i32.to_be_bytes());
        out.extend_from_slice(&key.changes.to_be_bytes());
    }
    out.extend_from_slice(&(-1_i16).to_be_bytes());
    out
}

/// Whether any series of the (sorted) keys has a stored reading between the batch's first and
/// last time in it: one index probe per series instead of one per key.
async fn any_stored(conn: &mut PgConnection, keys: &[Key]) -> Result<bool> {
    let mut series: Vec<i64> = Vec::new();
    let mut first: Vec<i64> = Vec::new();
    let mut last: Vec<i64> = Vec::new();
    for key in keys {
        match (series.last(), last.last_mut()) {
            (Some(&s), Some(to)) if s == key.series_id => *to = key.time_us,
            _ => {
                series.push(key.series_id);
                first.push(key.time_us);
                last.push(key.time_us);
            }
        }
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) \
           AS b(series_id, first_us, last_us) \
         WHERE EXISTS (SELECT 1 FROM readings AS r WHERE r.series_id = b.series_id \
           AND r.time_us BETWEEN b.first_us AND b.last_us))",
    )
    .bind(&series)
    .bind(&first)
    .bind(&last)
    // Planned at every call, never from a cached generic plan: a generic plan made while a new
    // month's partition was nearly empty scanned that partition sequentially for every probe
    // as it filled (until autovacuum analysed it), and ingest fell from 360 000 to 40 000
    // readings/s (docs/PERFORMANCE.md).
    .persistent(false)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| map_err_in("readings", e))
}

/// One row per series found: its ordinal in `tags` (from 1) and its times, values and quality
/// codes, each as the concatenated binary send forms of the column.
type Columns = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);

/// Reads a window of `tags` in one statement, so every series comes from the same snapshot.
///
/// The reading before the window and the window itself are two separate index reads, so the
/// window's bounds stay plain constants the planner estimates well. Each column comes back as
/// one `bytea` of its values' binary send forms (big-endian, exact) concatenated: as arrays,
/// PostgreSQL's per-element output and the driver's per-element decoding took over half the
/// time of a facility-hour (measured from the client: p50 25–29 ms as arrays, 17–22 ms as
/// bytea). The values are aggregated in scan order, without a sort in the server (an ordered
/// aggregate sorted each column apart); the caller puts them in time order.
async fn read_columns(
    conn: &mut PgConnection,
    facility_id: &str,
    tags: &[&str],
    start_us: i64,
    end_us: i64,
) -> Result<Vec<Columns>> {
    sqlx::query_as(
        "SELECT t.ord, r.times, r.vals, r.qualities \
         FROM unnest($2::text[]) WITH ORDINALITY AS t(tag, ord) \
         JOIN reading_series AS s ON s.facility_id = $1 AND s.tag = t.tag \
         CROSS JOIN LATERAL ( \
           SELECT string_agg(int8send(x.time_us), ''::bytea) AS times, \
                  string_agg(float8send(x.value), ''::bytea) AS vals, \
                  string_agg(int2send(x.quality), ''::bytea) AS qualities \
           FROM ( \
             (SELECT time_us, value, quality FROM readings \
              WHERE series_id = s.id AND time_us < $3 ORDER BY time_us DESC LIMIT 1) \
             UNION ALL \
             (SELECT time_us, value, quality FROM readings \
              WHERE series_id = s.id AND time_us >= $3 AND time_us < $4) \
           ) AS x \
         ) AS r",
    )
    .bind(facility_id)
    .bind(tags)
    .bind(start_us)
    .bind(end_us)
    .fetch_all(conn)
    .await
    .map_err(|e| map_err_in("tags", e))
}

/// Reads the first half of `tags` on `first` and the second half on `second` at the same
/// time, both in one snapshot (exported by `first`, imported by `second`), so the series are
/// as consistent as from one statement. The work is the server's (scanning and packing the
/// readings, about 15 ms of one core for a facility-hour of 15 tags): two backends use both
/// cores of a small server. Measured: docs/PERFORMANCE.md.
async fn read_split(
    first: PoolConnection<Postgres>,
    second: PoolConnection<Postgres>,
    facility_id: &str,
    tags: &[&str],
    start_us: i64,
    end_us: i64,
) -> Result<Vec<Columns>> {
    let mut second = CloseIfAbandoned::new(second);
    CloseIfAbandoned::new(first)
        .run(async |first| {
            second
                .run(async |second| {
                    read_halves(first, second, facility_id, tags, start_us, end_us).await
                })
                .await
        })
        .await
}

/// The body of [`read_split`], on its two connections.
async fn read_halves(
    first: &mut PgConnection,
    second: &mut PgConnection,
    facility_id: &str,
    tags: &[&str],
    start_us: i64,
    end_us: i64,
) -> Result<Vec<Columns>> {
    let export = async {
        let mut tx = first.begin_with(READ_ONLY_SNAPSHOT).await?;
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        Ok::<_, sqlx::Error>((tx, snapshot))
    };
    // The second transaction begins while the first exports its snapshot.
    let ((mut exporter, snapshot), mut importer) =
        tokio::try_join!(export, second.begin_with(READ_ONLY_SNAPSHOT)).map_err(map_err)?;
    // The identifier is interpolated below: accept only what PostgreSQL makes (hex and '-').
    if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(Error::database(format!(
            "exported snapshot id {snapshot:?} is not one PostgreSQL makes"
        )));
    }
    let (mine, theirs) = tags.split_at(tags.len().div_ceil(2));
    let offset = i64::try_from(mine.len())
        .map_err(|_| Error::constraint("tags", "too many tags in one read"))?;
    let import = async {
        // `SET TRANSACTION SNAPSHOT` is a statement of its own inside the transaction, so that
        // its failure (the exporter gone) rolls the transaction back like any other.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SET TRANSACTION SNAPSHOT '{snapshot}'"
        )))
        .execute(&mut *importer)
        .await
        .map_err(map_err)?;
        let mut rows = read_columns(&mut importer, facility_id, theirs, start_us, end_us).await?;
        for row in &mut rows {
            row.0 += offset;
        }
        Ok::<_, Error>(rows)
    };
    // Both halves in this task: abandoning the read drops both transactions together, and
    // the exporting one ends only after the other has imported its snapshot.
    let (mut rows, theirs) = tokio::try_join!(
        read_columns(&mut exporter, facility_id, mine, start_us, end_us),
        import
    )?;
    tokio::try_join!(importer.commit(), exporter.commit()).map_err(map_err)?;
    rows.extend(theirs);
    Ok(rows)
}

/// How both halves of a split read begin: one consistent, read-only view.
const READ_ONLY_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// A pooled connection that is closed instead of returned to the pool when the work [`run`] on
/// it is abandoned midway (its request dropped by a client going away). sqlx 0.9.0 then leaves some
/// connections unusable and returns them all the same: a `COPY` dropped midway leaves an
/// answer in the stream that the next statement takes for its own ("expected ParseComplete,
/// got ReadyForQuery"), and a transaction dropped during its `BEGIN` stays open with no
/// guard to roll it back (sqlx counts it only once `BEGIN` has answered; sqlx issue #4393).
///
/// [`run`]: CloseIfAbandoned::run
struct CloseIfAbandoned {
    conn: PoolConnection<Postgres>,
    kept: bool,
}

impl CloseIfAbandoned {
    fn new(conn: PoolConnection<Postgres>) -> Self {
        Self { conn, kept: false }
    }

    /// Runs `work` on the connection; once `work` has finished, successfully or not, the
    /// connection is in a known state and goes back to the pool when dropped.
    async fn run<T>(&mut self, work: impl AsyncFnOnce(&mut PgConnection) -> T) -> T {
        let out = work(&mut self.conn).await;
        self.kept = true;
        out
    }
}

impl Drop for CloseIfAbandoned {
    fn drop(&mut self) {
        if !self.kept {
            self.conn.close_on_drop();
        }
    }
}

/// One column of a series read as the concatenated binary send forms of its values, `N`
/// bytes each (`None`: the series has no rows in the window).
fn decode<const N: usize, T>(
    tag: &str,
    column: &str,
    bytes: Option<&[u8]>,
    from: fn([u8; N]) -> T,
) -> Result<Vec<T>> {
    let bytes = bytes.unwrap_or_default();
    let (values, rest) = bytes.as_chunks::<N>();
    if !rest.is_empty() {
        return Err(Error::database(format!(
            "read of tag {tag} returned a {column} column of {} bytes",
            bytes.len()
        )));
    }
    Ok(values.iter().map(|chunk| from(*chunk)).collect())
}

/// The three columns of a series reordered by time (times are distinct: the primary key).
fn in_time_order(
    times: &[i64],
    values: &[f64],
    qualities: &[i16],
) -> (Vec<i64>, Vec<f64>, Vec<i16>) {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_unstable_by_key(|&i| times[i]);
    (
        order.iter().map(|&i| times[i]).collect(),
        order.iter().map(|&i| values[i]).collect(),
        order.iter().map(|&i| qualities[i]).collect(),
    )
}

/// Equal as SQLite's `IS NOT` sees it: numerically equal values (0.0 and -0.0 alike), same
/// quality.
fn same(a: (f64, Quality), b: (f64, Quality)) -> bool {
    a.0 == b.0 && a.1 == b.1
}

fn quality_code(q: Quality) -> i16 {
    match q {
        Quality::Good => 0,
        Quality::Uncertain => 1,
        Quality::Bad => 2,
    }
}

/// Series ids of the batch's tags, creating the missing series.
async fn ensure_series<'r>(
    conn: &mut PgConnection,
    facility_id: &str,
    readings: &'r [Reading],
) -> Result<HashMap<&'r str, i64>> {
    let mut seen = HashSet::new();
    let tags: Vec<&str> = readings
        .iter()
        .map(|r| r.tag.as_str())
        .filter(|t| seen.insert(*t))
        .collect();
    sqlx::query(
        "INSERT INTO reading_series (facility_id, tag) \
         SELECT $1, t FROM unnest($2::text[]) AS t \
         ON CONFLICT (facility_id, tag) DO NOTHING",
    )
    .bind(facility_id)
    .bind(&tags)
    .execute(&mut *conn)
    .await
    .map_err(|e| map_err_in("tag", e))?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tag, id FROM reading_series WHERE facility_id = $1 AND tag = ANY($2)",
    )
    .bind(facility_id)
    .bind(&tags)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    let by_name: HashMap<String, i64> = rows.into_iter().collect();
    Ok(tags
        .into_iter()
        .filter_map(|tag| by_name.get(tag).map(|&id| (tag, id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_bounds() {
        // 1761955200 s is 2025-11-01T00:00:00Z (GNU `date -u -d @1761955200`).
        let nov_2025 = 2025 * 12 + 10;
        assert_eq!(month_of(1_761_955_200_000_000), Some(nov_2025));
        assert_eq!(month_of(1_761_955_200_000_000 - 1), Some(nov_2025 - 1));
        assert_eq!(month_start_us(nov_2025).unwrap(), 1_761_955_200_000_000);
        // 1764547200 s is 2025-12-01T00:00:00Z.
        assert_eq!(month_start_us(nov_2025 + 1).unwrap(), 1_764_547_200_000_000);
        assert_eq!(partition_name(nov_2025), "readings_p2025_11");
        assert_eq!(partition_name(nov_2025 + 2), "readings_p2026_01");
        // The span's edges match the open-ended partitions of the migration.
        assert_eq!(month_of(0), Some(FIRST_MONTH));
        assert_eq!(month_of(-1), None);
        assert_eq!(month_start_us(END_MONTH).unwrap(), 4_102_444_800_000_000);
        assert_eq!(month_of(4_102_444_800_000_000), None);
        assert_eq!(month_of(4_102_444_800_000_000 - 1), Some(END_MONTH - 1));
        assert_eq!(month_of(i64::MIN), None);
        assert_eq!(month_of(i64::MAX), None);
    }

    #[test]
    fn copy_data_is_the_binary_copy_format() {
        let key = Key {
            series_id: 7,
            time_us: -2,
            first: (0.0, Quality::Good),
            last: (1.5, Quality::Bad),
            changes: 3,
        };
        let data = copy_data(&[key]);
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&[0, 5]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 0, 0, 2, 0, 2]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(data, expected);
    }

    #[test]
    fn packed_columns_decode_and_sort() {
        let bytes: Vec<u8> = [3_i64, -1, 2]
            .iter()
            .flat_map(|t| t.to_be_bytes())
            .collect();
        let times = decode::<8, i64>("X", "time", Some(&bytes), i64::from_be_bytes).unwrap();
        assert_eq!(times, vec![3, -1, 2]);
        assert!(decode::<8, i64>("X", "time", Some(&bytes[1..]), i64::from_be_bytes).is_err());
        assert!(
            decode::<2, i16>("X", "quality", None, i16::from_be_bytes)
                .unwrap()
                .is_empty()
        );
        let one = 0.1_f64.to_be_bytes();
        let values = decode::<8, f64>("X", "value", Some(&one), f64::from_be_bytes).unwrap();
        assert_eq!(values[0].to_bits(), 0.1_f64.to_bits());
        let sorted = in_time_order(&times, &[30.0, -10.0, 20.0], &[0, 1, 2]);
        assert_eq!(
            sorted,
            (vec![-1, 2, 3], vec![-10.0, 20.0, 30.0], vec![1, 2, 0])
        );
    }
}
