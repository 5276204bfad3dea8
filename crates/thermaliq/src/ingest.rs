//! `thermaliq ingest --facility F FILE.csv`: the API's validation and store path over a file,
//! in batches of 10 000 readings, with a progress bar. The whole file is checked first, so a
//! bad line refuses the file before anything is stored (unless `--partial`).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use server::facility::FacilitySpec;
use server::http::ingest::{self, Checked, CsvColumns, IngestReport, ItemError, TagSet};
use store::Store;

use crate::failure::{Failure, Outcome, io};

/// Readings per stored batch, as an API client would send them.
pub const BATCH: usize = 10_000;

/// Refused lines printed before the rest are only counted.
const SHOWN_ERRORS: usize = 20;

fn progress(bytes: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(bytes);
    let template = format!("{what:>9} {{bar:40}} {{bytes}}/{{total_bytes}} ({{eta}})");
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn open(file: &Path) -> Outcome<(csv::Reader<BufReader<File>>, CsvColumns, u64)> {
    let f = File::open(file)
        .map_err(|e| Failure::Input(format!("{}: cannot read it: {e}", file.display())))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = ingest::csv_reader(BufReader::new(f));
    let header = reader
        .byte_headers()
        .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?;
    let columns = CsvColumns::from_header(header)?;
    Ok((reader, columns, size))
}

/// Calls `each` with every line's reading or refusal, advancing `bar`.
fn for_each_line(
    file: &Path,
    tags: &TagSet<'_>,
    bar: &ProgressBar,
    mut each: impl FnMut(Result<store::Reading, ItemError>) -> Outcome,
) -> Outcome {
    let (mut reader, columns, _) = open(file)?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0u64;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?;
        if !more {
            break;
        }
        each(columns.reading(&record, tags))?;
        n += 1;
        if n.is_multiple_of(BATCH as u64) {
            bar.set_position(record.position().map_or(0, |p| p.byte()));
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// Ingests `file` into facility `facility_id`.
pub async fn ingest(store: &Store, facility_id: &str, file: &Path, partial: bool) -> Outcome {
    let record = store
        .facility(facility_id)
        .await?
        .ok_or_else(|| Failure::Input(format!("--facility: facility {facility_id} not found")))?;
    let spec = FacilitySpec::from_json(&record.spec)
        .map_err(|e| Failure::Other(format!("stored spec of {facility_id}: {e}")))?;
    let tags = TagSet::of(&spec);
    let (_, _, size) = open(file)?;

    let mut errors = Vec::new();
    let mut received = 0u64;
    let bar = progress(size, "checking");
    for_each_line(file, &tags, &bar, |line| {
        received += 1;
        if let Err(e) = line {
            errors.push(e);
        }
        Ok(())
    })?;
    if received == 0 {
        return Err(Failure::Input(format!("{}: no readings", file.display())));
    }
    if !errors.is_empty() {
        for e in errors.iter().take(SHOWN_ERRORS) {
            eprintln!("{}: {}: {}", file.display(), e.path(), e.message);
        }
        if errors.len() > SHOWN_ERRORS {
            eprintln!("... and {} more", errors.len() - SHOWN_ERRORS);
        }
        if !partial {
            return Err(Failure::Input(format!(
                "{} of {received} lines refused; nothing was stored (--partial stores the good ones)",
                errors.len()
            )));
        }
    }

    let mut report = IngestReport::default();
    let bar = progress(size, "storing");
    let mut batch = Vec::with_capacity(BATCH);
    let mut pending = Vec::new();
    // The store is async and the CSV reader is not: collect a batch, store it, go on.
    let rt = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        for_each_line(file, &tags, &bar, |line| {
            if let Ok(r) = line {
                batch.push(r);
            }
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                pending.push(rt.block_on(store_batch(store, facility_id, full))?);
            }
            Ok(())
        })
    })?;
    if !batch.is_empty() {
        pending.push(store_batch(store, facility_id, batch).await?);
    }
    for r in pending {
        report.add(r);
    }
    report.received = received;
    report.rejected = errors.len() as u64;
    println!(
        "{}: {} readings: {} inserted, {} corrected, {} unchanged, {} rejected",
        file.display(),
        report.received,
        report.inserted,
        report.corrected,
        report.unchanged,
        report.rejected
    );
    Ok(())
}

async fn store_batch(
    store: &Store,
    facility_id: &str,
    readings: Vec<store::Reading>,
) -> Outcome<IngestReport> {
    let checked = Checked {
        received: readings.len() as u64,
        readings,
        errors: Vec::new(),
    };
    ingest::store_checked(store, facility_id, checked, false)
        .await
        .map_err(|e| match Failure::from(e) {
            Failure::Input(m) => Failure::Input(m),
            Failure::Other(m) => io("storing readings", m),
        })
}
