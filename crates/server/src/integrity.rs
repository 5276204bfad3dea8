//! The integrity check behind `thermaliq check integrity`: every calculation created since a
//! time is read back and tested against the rules a stored calculation must keep — its numbers
//! in range and consistent with its status, its documents readable and agreeing with its
//! columns, and its provenance hashes equal to a recomputation from the inputs it stores.
//!
//! The recomputation goes through the service's own functions: each unit's stored input
//! document is calculated again by [`calc::run`], and the facility hash is rebuilt by
//! [`aggregate::facility_hash`]; no reading is read again. A hash is plain SHA-256, not a
//! signature: the check finds rows altered by hand or by a fault, not a forger who also
//! recomputes every hash. Operators read about it in `docs/OPERATIONS.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{CalculationFilter, CalculationRecord, CalculationStatus, MAX_PAGE_LIMIT, Store};
use thermo::provenance::METHOD_VERSION;

use crate::aggregate::{self, MAX_CLOSURE_PERCENT, Period, UnitHash};
use crate::calc::output::FiredDocument;
use crate::calc::{self, CalculationInput, OutputDocument, RunOptions};
use crate::http::calculation::TimePeriod;
use crate::http::{format_us, parse_rfc3339_us};
use crate::settings::SharedSettings;

/// Relative difference below which two stored numbers count as equal: a number read back
/// from a JSON document may differ from the computed one in its last bits.
const RELATIVE_TOLERANCE: f64 = 1e-12;

/// A rule a stored calculation must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `efficiency` is outside 0–100 % (HHV) or not a number.
    EfficiencyOutOfRange,
    /// `energy_balance_percent` is above the 10 % limit, negative or not a number.
    ClosureAboveLimit,
    /// Status and numbers contradict: a completed row without efficiency or closure or with a
    /// failure reason, a failed row with numbers or without a reason.
    StatusInconsistent,
    /// A provenance hash differs from the one recomputed from the stored inputs, or a stored
    /// input no longer reads.
    ProvenanceMismatch,
    /// The result document does not read, disagrees with the row's columns, or its numbers
    /// differ from a recalculation from its stored inputs.
    ResultMismatch,
    /// The request document does not read or disagrees with the row's facility and period.
    RequestMismatch,
    /// The row could not be read back from the store or checked.
    Unreadable,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 7] = [
        Rule::EfficiencyOutOfRange,
        Rule::ClosureAboveLimit,
        Rule::StatusInconsistent,
        Rule::ProvenanceMismatch,
        Rule::ResultMismatch,
        Rule::RequestMismatch,
        Rule::Unreadable,
    ];

    /// The rule's name in reports and metric labels (`efficiency_out_of_range`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::EfficiencyOutOfRange => "efficiency_out_of_range",
            Rule::ClosureAboveLimit => "closure_above_limit",
            Rule::StatusInconsistent => "status_inconsistent",
            Rule::ProvenanceMismatch => "provenance_mismatch",
            Rule::ResultMismatch => "result_mismatch",
            Rule::RequestMismatch => "request_mismatch",
            Rule::Unreadable => "unreadable",
        }
    }
}

/// One rule broken by one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The calculation.
    pub calculation_id: String,
    /// The rule it breaks.
    pub rule: Rule,
    /// What exactly is wrong.
    pub detail: String,
}

/// A row whose inputs could not be recomputed by this binary (not a violation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotRecomputed {
    /// The calculation.
    pub calculation_id: String,
    /// Why its provenance and numbers were not recomputed.
    pub reason: String,
}

/// The outcome of an integrity check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntegrityReport {
    /// Start of the window checked (creation time), RFC 3339 UTC.
    pub since: String,
    /// Rows created since then that were checked.
    pub checked: u64,
    /// Number of rows breaking each rule; every rule is listed.
    pub violations: BTreeMap<Rule, u64>,
    /// Each rule broken, row by row, newest row first.
    pub rows: Vec<Violation>,
    /// Rows whose provenance was not recomputed (another method version).
    pub not_recomputed: Vec<NotRecomputed>,
    /// No rule is broken.
    pub ok: bool,
}

/// Why the check could not run.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// The start of the window is neither a duration nor an RFC 3339 time.
    #[error("since: {text:?} {reason}")]
    InvalidSince {
        /// The text given.
        text: String,
        /// Why it was refused.
        reason: String,
    },
    /// The store failed while listing calculations.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The start of the window, UTC µs: `text` is a duration before `now_us` (`45s`, `30m`, `1h`,
/// `7d`, `2w`: a positive whole number and one unit) or an RFC 3339 time.
pub fn parse_since(text: &str, now_us: i64) -> Result<i64, IntegrityError> {
    let refuse = |reason: &str| IntegrityError::InvalidSince {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    if let Some(us) = parse_rfc3339_us(t) {
        return Ok(us);
    }
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit_us: i64 = match unit {
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        "w" => 604_800_000_000,
        _ => {
            return Err(refuse(
                "is neither a duration (a whole number and s, m, h, d or w: 30m, 1h, 7d) nor an \
                 RFC 3339 time (2025-11-01T00:00:00Z)",
            ));
        }
    };
    let n: i64 = number
        .parse()
        .map_err(|_| refuse("needs a whole number before its unit, as in 30m, 1h or 7d"))?;
    if n == 0 {
        return Err(refuse("is not a positive duration"));
    }
    n.checked_mul(unit_us)
        .and_then(|d| now_us.checked_sub(d))
        .filter(|&us| parse_rfc3339_us(&format_us(us)).is_some())
        .ok_or_else(|| refuse("reaches before any representable time"))
}

/// Checks every calculation created at or after `since_us` (UTC µs), of any status.
pub async fn check(store: &Store, since_us: i64) -> Result<IntegrityReport, IntegrityError> {
    let mut report = IntegrityReport {
        since: format_us(since_us),
        checked: 0,
        violations: Rule::ALL.iter().map(|&r| (r, 0)).collect(),
        rows: Vec::new(),
        not_recomputed: Vec::new(),
        ok: true,
    };
    let mut filter = CalculationFilter {
        limit: Some(MAX_PAGE_LIMIT),
        ..CalculationFilter::default()
    };
    'pages: loop {
        let page = store.calculations(&filter).await?;
        for summary in page.items {
            // Newest first: the first row older than the window ends it.
            if summary.created_at_us < since_us {
                break 'pages;
            }
            report.checked += 1;
            let outcome = match store.calculation(&summary.id).await {
                Ok(Some(record)) => tokio::task::spawn_blocking(move || check_record(&record))
                    .await
                    .unwrap_or_else(|e| {
                        RowCheck::unreadable(&summary.id, format!("checking the row failed: {e}"))
                    }),
                Ok(None) => RowCheck::unreadable(
                    &summary.id,
                    "the row was listed, then not found".to_string(),
                ),
                Err(e) => {
                    RowCheck::unreadable(&summary.id, format!("the store cannot read the row: {e}"))
                }
            };
            report.add(outcome);
        }
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => break,
        }
    }
    report.ok = report.rows.is_empty();
    Ok(report)
}

impl IntegrityReport {
    fn add(&mut self, outcome: RowCheck) {
        for v in &outcome.violations {
            *self.violations.entry(v.rule).or_default() += 1;
        }
        self.rows.extend(outcome.violations);
        self.not_recomputed.extend(outcome.not_recomputed);
    }
}

/// What checking one row found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowCheck {
    /// The rules it breaks, each once.
    pub violations: Vec<Violation>,
    /// Set when its provenance could not be recomputed.
    pub not_recomputed: Option<NotRecomputed>,
}

impl RowCheck {
    fn unreadable(id: &str, detail: String) -> Self {
        Self {
            violations: vec![Violation {
                calculation_id: id.to_string(),
                rule: Rule::Unreadable,
                detail,
            }],
            not_recomputed: None,
        }
    }
}

/// Findings of one row, gathered per rule so each rule is reported once with every reason.
struct Findings(BTreeMap<Rule, Vec<String>>);

impl Findings {
    fn add(&mut self, rule: Rule, detail: impl Into<String>) {
        self.0.entry(rule).or_default().push(detail.into());
    }
}

/// Checks one stored calculation against every rule; pure apart from the CPU time of the
/// recalculation of its units.
pub fn check_record(record: &CalculationRecord) -> RowCheck {
    let mut f = Findings(BTreeMap::new());
    check_columns(record, &mut f);
    let request = check_request(record, &mut f);
    let mut not_recomputed = None;
    match serde_path_to_error::deserialize::<_, StoredResult>(record.result.clone()) {
        Err(e) => f.add(
            Rule::ResultMismatch,
            format!(
                "the result document does not read: {}: {}",
                e.path(),
                e.inner()
            ),
        ),
        Ok(result) => {
            check_result_columns(record, &result, &mut f);
            if record.method_version == METHOD_VERSION {
                recompute(record, request.as_ref(), &result, &mut f);
            } else {
                not_recomputed = Some(NotRecomputed {
                    calculation_id: record.id.clone(),
                    reason: format!(
                        "calculated by method {}, this binary implements {METHOD_VERSION}",
                        record.method_version
                    ),
                });
            }
        }
    }
    RowCheck {
        violations: f
            .0
            .into_iter()
            .map(|(rule, details)| Violation {
                calculation_id: record.id.clone(),
                rule,
                detail: details.join("; "),
            })
            .collect(),
        not_recomputed,
    }
}

fn check_columns(r: &CalculationRecord, f: &mut Findings) {
    if let Some(e) = r.efficiency
        && !(0.0..=100.0).contains(&e)
    {
        f.add(
            Rule::EfficiencyOutOfRange,
            format!("efficiency {e} % (HHV) is outside 0-100 %"),
        );
    }
    if let Some(b) = r.energy_balance_percent
        && !(0.0..=MAX_CLOSURE_PERCENT).contains(&b)
    {
        f.add(
            Rule::ClosureAboveLimit,
            format!("energy_balance_percent {b} is outside 0-{MAX_CLOSURE_PERCENT} %"),
        );
    }
    let completed = r.status == CalculationStatus::Completed;
    let mut wrong = Vec::new();
    if completed == r.efficiency.is_none() {
        wrong.push("efficiency");
    }
    if completed == r.energy_balance_percent.is_none() {
        wrong.push("energy_balance_percent");
    }
    if completed != r.failure_reason.is_none() {
        wrong.push("failure_reason");
    }
    if !wrong.is_empty() {
        let rule = if completed {
            "a completed row has efficiency and energy_balance_percent and no failure_reason"
        } else {
            "a failed row has a failure_reason and neither efficiency nor energy_balance_percent"
        };
        f.add(
            Rule::StatusInconsistent,
            format!("status {} with {}: {rule}", r.status, wrong.join(", ")),
        );
    }
}

/// The part of the stored request the check reads.
#[derive(Debug, Deserialize)]
struct StoredRequest {
    facility_id: String,
    time_period: TimePeriod,
    min_coverage: f64,
}

/// The stored request's facility, period and coverage, when it reads.
struct RequestInputs {
    facility_id: String,
    period: Period,
    min_coverage: f64,
}

fn check_request(r: &CalculationRecord, f: &mut Findings) -> Option<RequestInputs> {
    let req = match serde_path_to_error::deserialize::<_, StoredRequest>(r.request.clone()) {
        Ok(req) => req,
        Err(e) => {
            f.add(
                Rule::RequestMismatch,
                format!(
                    "the request document does not read: {}: {}",
                    e.path(),
                    e.inner()
                ),
            );
            return None;
        }
    };
    let start = parse_rfc3339_us(&req.time_period.start);
    let end = parse_rfc3339_us(&req.time_period.end);
    let period = match (start, end) {
        (Some(s), Some(e)) => Period::new(s, e).ok(),
        _ => None,
    };
    let Some(period) = period else {
        f.add(
            Rule::RequestMismatch,
            format!(
                "request.time_period {} to {} is not a period of RFC 3339 times",
                req.time_period.start, req.time_period.end
            ),
        );
        return None;
    };
    if req.facility_id != r.facility_id {
        f.add(
            Rule::RequestMismatch,
            format!(
                "request.facility_id {} differs from the row's {}",
                req.facility_id, r.facility_id
            ),
        );
    }
    if (period.start_us, period.end_us) != (r.period_start_us, r.period_end_us) {
        f.add(
            Rule::RequestMismatch,
            format!(
                "request.time_period {} to {} differs from the row's {} to {}",
                req.time_period.start,
                req.time_period.end,
                format_us(r.period_start_us),
                format_us(r.period_end_us)
            ),
        );
    }
    Some(RequestInputs {
        facility_id: req.facility_id,
        period,
        min_coverage: req.min_coverage,
    })
}

/// The part of the stored result document the check reads.
#[derive(Debug, Deserialize)]
struct StoredResult {
    calculation_id: String,
    status: String,
    facility_id: String,
    efficiency: Option<f64>,
    energy_balance_percent: Option<f64>,
    summary: Value,
    equipment: Vec<StoredUnit>,
    data_quality: StoredQuality,
    provenance: StoredProvenance,
}

#[derive(Debug, Deserialize)]
struct StoredUnit {
    equipment_id: String,
    input: Value,
    result: Value,
    #[serde(default)]
    metered_extras: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct StoredQuality {
    min_coverage: f64,
    score: f64,
}

#[derive(Debug, Deserialize)]
struct StoredProvenance {
    sha256: String,
    method_version: String,
    units: Vec<StoredUnitHash>,
}

#[derive(Debug, Deserialize)]
struct StoredUnitHash {
    equipment_id: String,
    sha256: String,
}

fn check_result_columns(r: &CalculationRecord, doc: &StoredResult, f: &mut Findings) {
    let mut differ = |what: &str, stored: &dyn std::fmt::Debug, column: &dyn std::fmt::Debug| {
        f.add(
            Rule::ResultMismatch,
            format!("result.{what} {stored:?} differs from the row's {column:?}"),
        );
    };
    if doc.calculation_id != r.id {
        differ("calculation_id", &doc.calculation_id, &r.id);
    }
    if doc.status != r.status.as_str() {
        differ("status", &doc.status, &r.status.as_str());
    }
    if doc.facility_id != r.facility_id {
        differ("facility_id", &doc.facility_id, &r.facility_id);
    }
    if !same_option(doc.efficiency, r.efficiency) {
        differ("efficiency", &doc.efficiency, &r.efficiency);
    }
    if !same_option(doc.energy_balance_percent, r.energy_balance_percent) {
        differ(
            "energy_balance_percent",
            &doc.energy_balance_percent,
            &r.energy_balance_percent,
        );
    }
    if doc.provenance.method_version != r.method_version {
        differ(
            "provenance.method_version",
            &doc.provenance.method_version,
            &r.method_version,
        );
    }
    let units: Vec<&str> = doc
        .equipment
        .iter()
        .map(|u| u.equipment_id.as_str())
        .collect();
    if units != r.equipment_ids {
        differ("equipment ids", &units, &r.equipment_ids);
    }
}

/// Recalculates each unit from its stored input and compares hashes and numbers.
fn recompute(
    r: &CalculationRecord,
    request: Option<&RequestInputs>,
    doc: &StoredResult,
    f: &mut Findings,
) {
    let mut hashes = Vec::with_capacity(doc.equipment.len());
    let mut units = Vec::with_capacity(doc.equipment.len());
    for unit in &doc.equipment {
        let id = &unit.equipment_id;
        let Some(d) = recalculate(unit, f) else {
            continue;
        };
        let sha = d.provenance.sha256.clone();
        let stored = doc
            .provenance
            .units
            .iter()
            .find(|u| &u.equipment_id == id)
            .map(|u| u.sha256.as_str());
        if stored != Some(sha.as_str()) {
            f.add(
                Rule::ProvenanceMismatch,
                format!(
                    "unit {id}: its stored input hashes to {sha}, result.provenance.units \
                     holds {}",
                    stored.unwrap_or("no hash")
                ),
            );
        }
        compare_unit_result(id, &unit.result, &d, f);
        hashes.push(UnitHash {
            equipment_id: id.clone(),
            sha256: sha,
            extras_sha256: unit.metered_extras.as_ref().map(aggregate::extras_hash),
        });
        units.push(d);
    }
    if units.len() != doc.equipment.len() {
        return;
    }
    if let Some(req) = request {
        let facility = aggregate::facility_hash(&req.facility_id, req.period, &hashes);
        let stored = [
            ("provenance_hash", &r.provenance_hash),
            ("input_hash", &r.input_hash),
            ("result.provenance.sha256", &doc.provenance.sha256),
        ];
        let differing: Vec<String> = stored
            .iter()
            .filter(|(_, hash)| **hash != facility)
            .map(|(what, hash)| format!("{what} {hash}"))
            .collect();
        if !differing.is_empty() {
            f.add(
                Rule::ProvenanceMismatch,
                format!(
                    "the stored request and unit inputs hash to {facility}; stored: {}",
                    differing.join(", ")
                ),
            );
        }
        if !same(req.min_coverage, doc.data_quality.min_coverage) {
            f.add(
                Rule::RequestMismatch,
                format!(
                    "request.min_coverage {} differs from result.data_quality.min_coverage {}",
                    req.min_coverage, doc.data_quality.min_coverage
                ),
            );
        }
    }
    compare_summary(r, doc, &units, f);
}

/// The unit's result recalculated from its stored input; `None` (and a finding) when the
/// input no longer reads or is refused.
fn recalculate(unit: &StoredUnit, f: &mut Findings) -> Option<Box<FiredDocument>> {
    let id = &unit.equipment_id;
    // From the value itself: the numbers are the ones the service read from this document.
    let input: CalculationInput = match serde_path_to_error::deserialize(unit.input.clone()) {
        Ok(input) => input,
        Err(e) => {
            f.add(
                Rule::ProvenanceMismatch,
                format!(
                    "unit {id}: its stored input does not read: {}: {}",
                    e.path(),
                    e.inner()
                ),
            );
            return None;
        }
    };
    match calc::run(&input, RunOptions::default()) {
        Ok(OutputDocument::Fired(d)) => Some(d),
        Ok(OutputDocument::HeatExchanger(_)) => {
            f.add(
                Rule::ProvenanceMismatch,
                format!("unit {id}: its stored input is a heat exchanger, not fired equipment"),
            );
            None
        }
        Err(e) => {
            f.add(
                Rule::ProvenanceMismatch,
                format!("unit {id}: its stored input is refused: {e}"),
            );
            None
        }
    }
}

fn compare_unit_result(id: &str, stored: &Value, recomputed: &FiredDocument, f: &mut Findings) {
    let fresh = match serde_json::to_value(recomputed) {
        Ok(v) => v,
        Err(e) => {
            f.add(
                Rule::ResultMismatch,
                format!("unit {id}: the recalculated result does not serialize: {e}"),
            );
            return;
        }
    };
    let (Value::Object(stored), Value::Object(fresh)) = (stored, fresh) else {
        f.add(
            Rule::ResultMismatch,
            format!("unit {id}: its stored result is not an object"),
        );
        return;
    };
    // The version of the service that computed a unit is not one of its numbers.
    let keys = stored
        .keys()
        .chain(fresh.keys())
        .filter(|k| *k != "thermaliq_version");
    for key in keys {
        let path = format!("equipment[{id}].result.{key}");
        if let Some(d) = first_difference(&path, stored.get(key), fresh.get(key)) {
            f.add(
                Rule::ResultMismatch,
                format!("unit {id}: its stored result differs from a recalculation from its stored input at {d}"),
            );
            return;
        }
    }
}

/// The path and values of the first difference between two documents, numbers compared
/// within [`RELATIVE_TOLERANCE`].
fn first_difference(path: &str, a: Option<&Value>, b: Option<&Value>) -> Option<String> {
    let show = |v: Option<&Value>| v.map_or_else(|| "absent".to_string(), Value::to_string);
    let differs = || {
        Some(format!(
            "{path} (stored {}, recalculated {})",
            show(a),
            show(b)
        ))
    };
    let (Some(x), Some(y)) = (a, b) else {
        return if a.is_none() && b.is_none() {
            None
        } else {
            differs()
        };
    };
    match (x, y) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if same(x, y) => None,
            _ if x == y => None,
            _ => differs(),
        },
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return differs();
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), Some(x), Some(y)))
        }
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys())
            .find_map(|k| first_difference(&format!("{path}.{k}"), x.get(k), y.get(k))),
        (x, y) if x == y => None,
        _ => differs(),
    }
}

/// The stored roll-up and the row's figures against the roll-up of the recalculated units,
/// built by the service's own [`aggregate::summarize`].
fn compare_summary(
    r: &CalculationRecord,
    doc: &StoredResult,
    units: &[Box<FiredDocument>],
    f: &mut Findings,
) {
    let results: Vec<&FiredDocument> = units.iter().map(|u| &**u).collect();
    let summary = aggregate::summarize(&results, doc.data_quality.score);
    match serde_json::to_value(&summary) {
        Ok(fresh) => {
            if let Some(d) = first_difference("summary", Some(&doc.summary), Some(&fresh)) {
                f.add(
                    Rule::ResultMismatch,
                    format!(
                        "result.summary differs from the roll-up of the units recalculated \
                         from their stored inputs at {d}"
                    ),
                );
            }
        }
        Err(e) => f.add(
            Rule::ResultMismatch,
            format!("the recalculated roll-up does not serialize: {e}"),
        ),
    }
    if r.status != CalculationStatus::Completed {
        return;
    }
    for (column, stored, fresh) in [
        (
            "efficiency",
            r.efficiency,
            summary.efficiency_percent.direct.hhv,
        ),
        (
            "energy_balance_percent",
            r.energy_balance_percent,
            summary.energy_balance_percent,
        ),
    ] {
        if let Some(stored) = stored
            && !same(stored, fresh)
        {
            f.add(
                Rule::ResultMismatch,
                format!("the row's {column} {stored} differs from {fresh} recalculated from the stored inputs"),
            );
        }
    }
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= RELATIVE_TOLERANCE * a.abs().max(b.abs())
}

fn same_option(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// How long a disabled background check waits before reading the settings again, so that a
/// reload turning it on takes effect.
const DISABLED_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the calculations created within `integrity_check.window` every
/// `integrity_check.interval` (read from the settings in force, so a reload applies) and
/// publishes the counts as the `thermaliq_integrity_violations` gauges the corruption alert
/// reads; runs until its task is aborted. The first check runs at once, so a replica reports
/// from its start.
pub async fn watch(store: Store, settings: SharedSettings) {
    loop {
        let config = settings.current().integrity_check;
        if config.interval.is_zero() {
            tokio::time::sleep(DISABLED_RECHECK).await;
            continue;
        }
        let window_us = i64::try_from(config.window.as_micros()).unwrap_or(i64::MAX);
        let since_us = store::now_us().saturating_sub(window_us);
        match check(&store, since_us).await {
            Ok(report) => {
                crate::metrics::record_integrity(&report.violations);
                let broken = report.violations.values().sum::<u64>();
                if broken > 0 {
                    tracing::error!(
                        checked = report.checked,
                        violations = broken,
                        since = %report.since,
                        "integrity check found rows breaking a rule; run `thermaliq check integrity --since` for the rows"
                    );
                } else {
                    tracing::debug!(checked = report.checked, "integrity check passed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "integrity check could not run"),
        }
        tokio::time::sleep(config.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-01T12:00:00Z, µs.
    const NOW: i64 = 1_761_998_400_000_000;

    fn refused(text: &str) -> String {
        match parse_since(text, NOW) {
            Err(e @ IntegrityError::InvalidSince { .. }) => e.to_string(),
            other => panic!("{text:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(parse_since("45s", NOW).unwrap(), NOW - 45_000_000);
        assert_eq!(parse_since("30m", NOW).unwrap(), NOW - 1_800_000_000);
        assert_eq!(parse_since("1h", NOW).unwrap(), NOW - 3_600_000_000);
        assert_eq!(parse_since(" 7d ", NOW).unwrap(), NOW - 604_800_000_000);
        assert_eq!(parse_since("2w", NOW).unwrap(), NOW - 1_209_600_000_000);
    }

    #[test]
    fn rfc3339_times_are_taken_as_they_are() {
        assert_eq!(
            parse_since("2025-11-01T11:00:00Z", NOW).unwrap(),
            NOW - 3_600_000_000
        );
        assert_eq!(
            parse_since("2025-11-01T12:30:00.000001+01:00", NOW).unwrap(),
            NOW - 1_800_000_000 + 1
        );
    }

    #[test]
    fn anything_else_is_refused_naming_since() {
        for text in [
            "banana", "", "h", "1", "1.5h", "-1h", "1 h", "1H", "1y", "1h30m",
        ] {
            let message = refused(text);
            assert!(message.starts_with("since: "), "{message}");
        }
        assert!(refused("0m").contains("not a positive duration"));
        assert!(refused("99999999999999999999d").contains("whole number"));
        assert!(refused("9999999999w").contains("representable"));
    }
}
