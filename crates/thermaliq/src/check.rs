//! `thermaliq check integrity`: the integrity check of the calculations created since a time
//! (`server::integrity`), its JSON report on standard output, exit 1 when a rule is broken.

use server::integrity::{self, IntegrityError};
use store::Store;

use crate::failure::{Failure, Outcome};

/// The start of the window, UTC µs, from the `--since` argument; refused naming the flag.
pub fn since(text: &str) -> Outcome<i64> {
    integrity::parse_since(text, store::now_us()).map_err(|e| match e {
        IntegrityError::InvalidSince { text, reason } => {
            Failure::Input(format!("--since: {text:?} {reason}"))
        }
        IntegrityError::Store(e) => Failure::from(e),
    })
}

/// Checks the calculations created at or after `since_us` and prints the report; fails (exit
/// 1) when any row breaks a rule, after the report is printed.
pub async fn integrity(store: &Store, since_us: i64) -> Outcome {
    // Read-only: a schema this binary does not know yet is reported, not migrated.
    let status = store.migration_status().await?;
    if !status.pending.is_empty() || status.dirty_version.is_some() {
        return Err(Failure::Other(
            "the database schema is not current (see `thermaliq migrate current`); the check \
             reads it as this binary's migrations leave it"
                .to_string(),
        ));
    }
    let report = integrity::check(store, since_us)
        .await
        .map_err(|e| Failure::Other(format!("integrity check: {e}")))?;
    crate::print_json(&report).map_err(|e| Failure::Other(format!("{e:#}")))?;
    if report.ok {
        Ok(())
    } else {
        Err(Failure::Other(format!(
            "integrity check: {} of {} calculations break a rule (see the report)",
            report
                .rows
                .iter()
                .map(|v| v.calculation_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            report.checked
        )))
    }
}
