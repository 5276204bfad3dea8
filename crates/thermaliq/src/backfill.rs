//! `thermaliq backfill --facility F --from T1 --to T2`: fills a past period from the
//! facility's historian sources, window by window, through the API's ingest path. After each
//! stored window the progress is saved in the store (`backfill_progress`), so the same
//! command run again after an interruption continues where the stored data ends; the ingest
//! is idempotent, so a window stored twice changes nothing.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use connectors::historian::{HistorianSource, Pulled, SourceReader};
use indicatif::{ProgressBar, ProgressStyle};
use server::facility::FacilitySpec;
use server::http::ingest::{self, Checked, IngestReport};
use store::{BackfillProgress, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::failure::{Failure, Outcome};
use crate::ingest::BATCH;

/// Least time between two plain progress lines when standard error is not a terminal.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The command line of `backfill`.
pub struct Request {
    /// Facility id.
    pub facility: String,
    /// Start of the period, RFC 3339 (inclusive).
    pub from: String,
    /// End of the period, RFC 3339 (exclusive).
    pub to: String,
    /// Only this historian source; default: every one.
    pub source: Option<String>,
    /// Time window per query (`15m`, `1h`); default: each source's `chunk_s`.
    pub chunk: Option<String>,
    /// Ignore saved progress and start from `from`.
    pub restart: bool,
}

/// Checked arguments: the period in UTC µs and the window override.
struct Period {
    from_us: i64,
    to_us: i64,
    chunk_us: Option<i64>,
}

/// Refuses bad flags before anything is opened, naming the flag.
fn period(req: &Request) -> Outcome<Period> {
    let from_us = time_us("--from", &req.from)?;
    let to_us = time_us("--to", &req.to)?;
    if to_us <= from_us {
        return Err(Failure::Input(format!(
            "--to: {} is not after --from {}",
            req.to, req.from
        )));
    }
    let chunk_us = req.chunk.as_deref().map(chunk_us).transpose()?;
    Ok(Period {
        from_us,
        to_us,
        chunk_us,
    })
}

fn time_us(flag: &str, text: &str) -> Outcome<i64> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
        Failure::Input(format!(
            "{flag}: {text:?} is not an RFC 3339 time such as 2025-11-01T00:00:00Z ({e})"
        ))
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000)
        .map_err(|_| Failure::Input(format!("{flag}: {text:?} is out of range")))
}

/// A window length: a whole number and ms, s, m, h or d (`15m`, `1h`).
fn chunk_us(text: &str) -> Outcome<i64> {
    let refuse = |why: &str| Failure::Input(format!("--chunk: {text:?} {why}"));
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit_us: i64 = match unit {
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => {
            return Err(refuse(
                "is not a duration (a whole number and ms, s, m, h or d: 15m, 1h)",
            ));
        }
    };
    let n: i64 = number
        .parse()
        .map_err(|_| refuse("needs a whole number before its unit, as in 15m or 1h"))?;
    n.checked_mul(unit_us)
        .filter(|&us| us > 0)
        .ok_or_else(|| refuse("is not a positive duration"))
}

fn format_us(us: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{us} µs"))
}

/// Fills the period from the facility's historian sources (or the one named).
pub async fn backfill(store: &Store, req: &Request) -> Outcome {
    let period = period(req)?;
    let facility_id = req.facility.as_str();
    let record = store
        .facility(facility_id)
        .await?
        .ok_or_else(|| Failure::Input(format!("--facility: facility {facility_id} not found")))?;
    let spec = FacilitySpec::from_json(&record.spec)
        .map_err(|e| Failure::Other(format!("stored spec of {facility_id}: {e}")))?;
    let sources: Vec<HistorianSource> = spec.connectors.map(|c| c.historian).unwrap_or_default();
    if sources.is_empty() {
        return Err(Failure::Input(format!(
            "--facility: facility {facility_id} has no historian source (connectors.historian)"
        )));
    }
    let chosen: Vec<(usize, &HistorianSource)> = match &req.source {
        None => sources.iter().enumerate().collect(),
        Some(name) => {
            let found: Vec<_> = sources
                .iter()
                .enumerate()
                .filter(|(_, s)| &s.name == name)
                .collect();
            if found.is_empty() {
                let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
                return Err(Failure::Input(format!(
                    "--source: {name:?} is not a historian source of {facility_id} (its sources: {})",
                    names.join(", ")
                )));
            }
            found
        }
    };
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    for (index, source) in chosen {
        let reader = SourceReader::new(source, &format!("connectors.historian[{index}]"), &vars)
            .map_err(|e| Failure::Input(e.to_string()))?;
        run_source(store, facility_id, &reader, &period, req.restart).await?;
    }
    Ok(())
}

/// One source's backfill: from the saved progress (or the start) to the end, window by
/// window, reading the next window while the current one is stored.
async fn run_source(
    store: &Store,
    facility_id: &str,
    reader: &SourceReader,
    period: &Period,
    restart: bool,
) -> Outcome {
    let name = reader.source().name.as_str();
    let chunk = period
        .chunk_us
        .unwrap_or_else(|| reader.source().chunk_us());
    let saved = if restart {
        None
    } else {
        store
            .backfill_progress(facility_id, name, period.from_us, period.to_us)
            .await?
    };
    let mut progress = BackfillProgress {
        facility_id: facility_id.to_string(),
        source: name.to_string(),
        from_us: period.from_us,
        to_us: period.to_us,
        done_until_us: saved.map_or(period.from_us, |p| p.done_until_us),
        updated_at_us: store::now_us(),
    };
    let start = progress.done_until_us;
    if start >= period.to_us {
        println!(
            "{name}: already done: {} to {} (--restart reads it again)",
            format_us(period.from_us),
            format_us(period.to_us)
        );
        return Ok(());
    }
    if start > period.from_us {
        println!("{name}: resuming at {}", format_us(start));
    } else {
        // Saved now, so an interruption before the first window still leaves a row to resume.
        store.save_backfill_progress(&progress).await?;
    }
    let mut bar = Progress::new(name, period, start);
    let started = Instant::now();
    let mut report = IngestReport::default();
    let window = |a: i64| (a, a.saturating_add(chunk).min(period.to_us));
    let read = |(a, b): (i64, i64)| async move {
        reader.read(a, b).await.map_err(|e| {
            Failure::Other(format!(
                "{name}: reading {} to {}: {e}; what was stored before stays, the same \
                 command continues from {}",
                format_us(a),
                format_us(b),
                format_us(a)
            ))
        })
    };
    let mut current = window(start);
    let mut pulled = read(current).await?;
    loop {
        let next = (current.1 < period.to_us).then(|| window(current.1));
        let (stored, fetched) = tokio::join!(store_window(store, facility_id, pulled), async {
            match next {
                Some(w) => Some(read(w).await),
                None => None,
            }
        });
        report.add(stored?);
        progress.done_until_us = current.1;
        progress.updated_at_us = store::now_us();
        store.save_backfill_progress(&progress).await?;
        bar.advance(current.1, report.received);
        match (next, fetched) {
            (Some(w), Some(f)) => {
                current = w;
                pulled = f?;
            }
            _ => break,
        }
    }
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{name}: {} readings from {} to {}: {} inserted, {} corrected, {} unchanged, {} \
         refused; {:.1} s, {:.0} readings/min",
        report.received,
        format_us(start),
        format_us(period.to_us),
        report.inserted,
        report.corrected,
        report.unchanged,
        report.rejected,
        seconds,
        if seconds > 0.0 {
            report.received as f64 * 60.0 / seconds
        } else {
            0.0
        }
    );
    Ok(())
}

/// Stores one window's readings through the API's ingest path, in the API's batch size.
async fn store_window(store: &Store, facility_id: &str, pulled: Pulled) -> Outcome<IngestReport> {
    let mut report = IngestReport {
        rejected: pulled.refused.len() as u64,
        received: pulled.refused.len() as u64,
        ..IngestReport::default()
    };
    for batch in pulled.readings.chunks(BATCH) {
        let checked = Checked {
            received: batch.len() as u64,
            readings: batch.to_vec(),
            errors: Vec::new(),
        };
        let stored = ingest::store_checked(store, facility_id, checked, false).await?;
        report.add(stored);
    }
    Ok(report)
}

/// A progress bar on a terminal, else a plain line at most every second.
struct Progress {
    bar: Option<ProgressBar>,
    name: String,
    from_us: i64,
    to_us: i64,
    last_line: Option<Instant>,
}

impl Progress {
    fn new(name: &str, period: &Period, start_us: i64) -> Self {
        let span = u64::try_from(period.to_us - period.from_us).unwrap_or(u64::MAX);
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(span);
            let template = format!("{name:>12} {{bar:40}} {{percent:>3}}% {{msg}} ({{eta}})");
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(u64::try_from(start_us - period.from_us).unwrap_or(0));
            bar
        });
        Self {
            bar,
            name: name.to_string(),
            from_us: period.from_us,
            to_us: period.to_us,
            last_line: None,
        }
    }

    fn advance(&mut self, done_until_us: i64, readings: u64) {
        let done = u64::try_from(done_until_us - self.from_us).unwrap_or(0);
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(format!("{readings} readings"));
            }
            None => {
                let due = self
                    .last_line
                    .is_none_or(|t| t.elapsed() >= PLAIN_PROGRESS_EVERY);
                if due || done_until_us >= self.to_us {
                    self.last_line = Some(Instant::now());
                    let span = (self.to_us - self.from_us) as f64;
                    eprintln!(
                        "{}: stored until {} ({:.0} %), {readings} readings",
                        self.name,
                        format_us(done_until_us),
                        done as f64 * 100.0 / span
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_times_parse_or_are_refused_naming_the_flag() {
        assert_eq!(chunk_us("1h").ok(), Some(3_600_000_000));
        assert_eq!(chunk_us("15m").ok(), Some(900_000_000));
        assert_eq!(chunk_us("250ms").ok(), Some(250_000));
        for bad in ["0h", "h", "1y", "-1h", "1.5h"] {
            match chunk_us(bad) {
                Err(Failure::Input(m)) => assert!(m.starts_with("--chunk:"), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(
            time_us("--from", "2025-01-01T00:00:00Z").ok(),
            Some(1_735_689_600_000_000)
        );
        match time_us("--to", "yesterday") {
            Err(Failure::Input(m)) => assert!(m.starts_with("--to:"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
