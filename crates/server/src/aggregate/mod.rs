//! A facility's calculation for a period: each equipment unit's meter readings aggregated
//! (time-weighted means by sample-and-hold, integrals of flows), their data quality judged,
//! the unit calculated by the engineering core, and the units rolled up to the facility.
//!
//! Pure: readings come in as `store::Series`, the answer goes out as a serializable document;
//! no I/O, no clock. The unit's calculation goes through the calculation document
//! ([`unit_document`], then `crate::calc`), so a facility calculation converts units, checks
//! values and propagates uncertainty exactly as a single calculation does, and each unit's
//! input document is kept with the result, enough to recalculate it. Formulas and the quality
//! score are documented in `docs/FACILITIES.md`.

mod document;
mod rollup;
mod series;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use store::Series;
use thermo::phrase;
use thermo::phrase::{Phrase, Quantity as PhraseQuantity};
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::units::{self, Dimension};

use crate::calc::output::{FiredDocument, OutputDocument, PartOut, phrase_parts};
use crate::calc::{self, BoundaryError, RunOptions};
use crate::facility::{Equipment, FacilitySpec, Quantity, Source, TagSpec};

pub use document::{ExtraValue, metered_extras, unit_document};
pub use rollup::{
    FacilityProvenance, FacilitySummary, RollupFigure, RollupUncertainty, UnitHash, extras_hash,
    facility_hash, summarize,
};
pub use series::{Columns, FlatLine, SeriesStats, TagLimits, aggregate as aggregate_series};

/// Coverage below which a required tag refuses the calculation, unless configured otherwise.
pub const DEFAULT_MIN_COVERAGE: f64 = 0.8;

/// Largest energy-balance closure, percent of the fuel input (HHV), of a result that may be
/// stored as completed (the runbook's corruption limit).
pub const MAX_CLOSURE_PERCENT: f64 = 10.0;

/// Parameters of the aggregation and its data-quality checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Coverage (0..1) a required tag must reach; below it the calculation is refused.
    pub min_coverage: f64,
    /// Max hold as a multiple of the median sampling interval.
    pub max_hold_factor: f64,
    /// Fewest consecutive identical readings that can make a flat line.
    pub flat_line_readings: usize,
    /// Share of the period (0..1) a flat run must exceed to be flagged.
    pub flat_line_fraction: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            min_coverage: DEFAULT_MIN_COVERAGE,
            max_hold_factor: 3.0,
            flat_line_readings: 10,
            flat_line_fraction: 0.1,
        }
    }
}

impl Options {
    /// Refuses parameters outside their ranges, naming the parameter.
    pub fn validate(&self) -> Result<(), AggregateError> {
        let bad = |field: &'static str, reason: String| {
            Err(AggregateError::InvalidOptions { field, reason })
        };
        if !(0.0..=1.0).contains(&self.min_coverage) {
            return bad(
                "min_coverage",
                format!("{} is outside 0..1", self.min_coverage),
            );
        }
        if !(self.max_hold_factor.is_finite() && self.max_hold_factor >= 1.0) {
            return bad(
                "max_hold_factor",
                format!(
                    "{} is not a finite factor of 1 or more",
                    self.max_hold_factor
                ),
            );
        }
        if self.flat_line_readings < 2 {
            return bad(
                "flat_line_readings",
                "a flat line needs at least 2 readings".to_string(),
            );
        }
        if !(0.0..=1.0).contains(&self.flat_line_fraction) {
            return bad(
                "flat_line_fraction",
                format!("{} is outside 0..1", self.flat_line_fraction),
            );
        }
        Ok(())
    }
}

/// A half-open period [start, end), UTC microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    /// Start, inclusive, µs since the Unix epoch.
    pub start_us: i64,
    /// End, exclusive, µs since the Unix epoch.
    pub end_us: i64,
}

impl Period {
    /// A period; refuses an end at or before the start.
    pub fn new(start_us: i64, end_us: i64) -> Result<Self, AggregateError> {
        if end_us <= start_us {
            return Err(AggregateError::InvalidPeriod {
                reason: format!("end ({end_us} µs) is not after start ({start_us} µs)"),
            });
        }
        Ok(Self { start_us, end_us })
    }

    /// Length, s.
    pub fn duration_s(&self) -> f64 {
        (self.end_us - self.start_us) as f64 * 1e-6
    }
}

/// One required tag whose coverage is too low.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shortfall {
    /// The equipment unit.
    pub equipment_id: String,
    /// The quantity the tag feeds.
    pub quantity: Quantity,
    /// The tag.
    pub tag: String,
    /// Its coverage, 0..1.
    pub coverage: f64,
}

/// Why a facility calculation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AggregateError {
    /// The period is empty or reversed.
    #[error("time_period: {reason}")]
    InvalidPeriod {
        /// Why.
        reason: String,
    },
    /// An aggregation parameter is out of range.
    #[error("{field}: {reason}")]
    InvalidOptions {
        /// The parameter.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Required tags cover too little of the period to calculate.
    #[error("{}", shortfall_message(*threshold, shortfalls))]
    InsufficientCoverage {
        /// The coverage required, 0..1.
        threshold: f64,
        /// Every required tag below it.
        shortfalls: Vec<Shortfall>,
    },
    /// A series handed in is inconsistent (column lengths, unsorted times).
    #[error("readings of tag {tag}: {reason}")]
    MalformedSeries {
        /// The tag.
        tag: String,
        /// What is wrong.
        reason: String,
    },
    /// The engineering core or the calculation document refused a unit's values.
    #[error("{equipment_id}: {}{error}", source_note(quantity, tag))]
    Calculation {
        /// The unit.
        equipment_id: String,
        /// The quantity at fault, when the refusal names one.
        quantity: Option<Quantity>,
        /// Its tag, when it is metered.
        tag: Option<String>,
        /// The refusal, its path in the unit's calculation document.
        error: BoundaryError,
    },
}

fn shortfall_message(threshold: f64, shortfalls: &[Shortfall]) -> String {
    let list: Vec<String> = shortfalls
        .iter()
        .map(|s| {
            format!(
                "{} {} (tag {}) covers {:.1} %",
                s.equipment_id,
                s.quantity,
                s.tag,
                100.0 * s.coverage
            )
        })
        .collect();
    format!(
        "coverage below the required {:.1} % of the period: {}",
        100.0 * threshold,
        list.join("; ")
    )
}

fn source_note(quantity: &Option<Quantity>, tag: &Option<String>) -> String {
    match (quantity, tag) {
        (Some(q), Some(t)) => format!("{q} (tag {t}): "),
        (Some(q), None) => format!("{q} (constant): "),
        _ => String::new(),
    }
}

impl AggregateError {
    /// The field or parameter at fault, for an API error body.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::InvalidPeriod { .. } => Some("time_period".to_string()),
            Self::InvalidOptions { field, .. } => Some((*field).to_string()),
            Self::InsufficientCoverage { shortfalls, .. } => shortfalls
                .first()
                .map(|s| format!("{}.tags.{}", s.equipment_id, s.quantity)),
            Self::MalformedSeries { tag, .. } => Some(tag.clone()),
            Self::Calculation {
                equipment_id,
                quantity,
                error,
                ..
            } => Some(match quantity {
                Some(q) => format!("{equipment_id}.tags.{q}"),
                None => format!("{equipment_id}.{}", error.path()),
            }),
        }
    }
}

/// A total over the covered time of a rate, in SI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Total {
    /// Mean rate (SI) × covered time.
    pub value: f64,
    /// `kg`, `mol` (gas at standard conditions) or `J`.
    pub unit: &'static str,
}

/// One tag's aggregate and data quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagAggregate {
    /// The quantity it feeds.
    pub quantity: Quantity,
    /// The tag.
    pub tag: String,
    /// Its unit (of `stats`' values).
    pub unit: String,
    /// Whether its mean entered the calculation (an optional tag below the coverage
    /// threshold is left out and its default used).
    pub used: bool,
    /// For rates (flows, power): mean × covered time, SI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Total>,
    /// Mean, coverage, gaps, excluded readings, flat line, score.
    #[serde(flatten)]
    pub stats: SeriesStats,
}

/// Data quality of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquipmentQuality {
    /// The lowest score of the tags used (1 when every value is a constant).
    pub score: f64,
    /// The tag that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weakest_tag: Option<String>,
    /// Every tag of the unit.
    pub tags: Vec<TagAggregate>,
}

/// A data-quality finding that does not stop the calculation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityWarning {
    /// Stable code: `flat_line`, `readings_excluded`, `gaps`, `uncertain_readings`,
    /// `tag_not_used`.
    pub code: &'static str,
    /// The unit.
    pub equipment_id: String,
    /// The quantity.
    pub quantity: Quantity,
    /// The tag.
    pub tag: String,
    /// What the engineer should know, with values in the tag's unit.
    pub message: String,
    /// The message as text and quantities, for a display in other units.
    pub message_parts: Vec<PartOut>,
}

impl QualityWarning {
    /// A warning on `tag` of `equipment_id`'s `quantity`.
    fn new(
        code: &'static str,
        e: &Equipment,
        quantity: Quantity,
        tag: &str,
        message: Phrase,
    ) -> Self {
        Self {
            code,
            equipment_id: e.id.clone(),
            quantity,
            tag: tag.to_string(),
            message: message.to_string(),
            message_parts: phrase_parts(&message),
        }
    }
}

/// Data quality of the whole calculation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataQuality {
    /// The lowest unit score, 0..1.
    pub score: f64,
    /// The coverage a required tag had to reach.
    pub min_coverage: f64,
    /// Findings, unit by unit.
    pub warnings: Vec<QualityWarning>,
}

/// One unit's calculation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitCalculation {
    /// Equipment id.
    pub equipment_id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Design efficiency, percent HHV, when the spec states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_efficiency_percent_hhv: Option<f64>,
    /// Its data quality.
    pub data_quality: EquipmentQuality,
    /// The calculation document built from the aggregates (values in the tags' units):
    /// enough to recalculate the unit alone.
    pub input: Value,
    /// The complete result of the engineering core.
    pub result: Box<FiredDocument>,
    /// Quantities kept beside `input` for the analysis (condensate return), each as the
    /// document would take it; covered by the unit's `extras_sha256` in the provenance.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metered_extras: BTreeMap<Quantity, ExtraValue>,
}

/// The period as calculated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodOut {
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End (exclusive), RFC 3339 UTC.
    pub end: String,
    /// Length, s.
    pub duration_s: f64,
}

/// A facility's calculation for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityCalculation {
    /// Facility id.
    pub facility_id: String,
    /// Facility name.
    pub facility_name: String,
    /// The period.
    pub period: PeriodOut,
    /// The facility roll-up.
    pub summary: FacilitySummary,
    /// Each unit, in spec order.
    pub equipment: Vec<UnitCalculation>,
    /// Data quality.
    pub data_quality: DataQuality,
    /// Provenance: per unit and for the facility.
    pub provenance: FacilityProvenance,
}

impl FacilityCalculation {
    /// The headline efficiency: facility input–output efficiency, percent, HHV basis.
    pub fn efficiency_percent_hhv(&self) -> f64 {
        self.summary.efficiency_percent.direct.hhv
    }

    /// Facility energy-balance closure, |percent| of the fuel input, HHV basis.
    pub fn energy_balance_percent(&self) -> f64 {
        self.summary.energy_balance_percent
    }

    /// Why the result may not be stored as completed: a closure (facility or unit) above
    /// `max_closure_percent`, or an efficiency outside 0–100 %; `None` when it may.
    pub fn failure_reason(&self, max_closure_percent: f64) -> Option<String> {
        let eff = self.efficiency_percent_hhv();
        if !(0.0..=100.0).contains(&eff) {
            return Some(format!(
                "facility efficiency {eff:.2} % (HHV) is outside 0-100 %: the metered output \
                 and fuel input contradict each other"
            ));
        }
        let closure = self.energy_balance_percent();
        if closure > max_closure_percent {
            return Some(format!(
                "facility energy balance does not close: {closure:.2} % of the fuel input \
                 (HHV) is unaccounted, above the {max_closure_percent} % limit"
            ));
        }
        self.equipment.iter().find_map(|u| {
            let c = u.result.energy_balance.closure_percent.hhv;
            (c.abs() > max_closure_percent).then(|| {
                format!(
                    "{}: energy balance does not close: {c:.2} % of the fuel input (HHV) is \
                     unaccounted, above the {max_closure_percent} % limit",
                    u.equipment_id
                )
            })
        })
    }
}

/// Calculates a facility for a period from its readings.
///
/// `series` holds each tag's readings in [start, end) plus the last one before the start,
/// sorted by time (as `store::Store::readings` returns them); a missing tag has no readings.
/// Refuses with [`AggregateError::InsufficientCoverage`] naming every required tag below
/// `options.min_coverage`.
pub fn calculate(
    spec: &FacilitySpec,
    series: &[Series],
    period: Period,
    options: &Options,
) -> Result<FacilityCalculation, AggregateError> {
    options.validate()?;
    Period::new(period.start_us, period.end_us)?;
    let period_out = PeriodOut {
        start: rfc3339(period.start_us)?,
        end: rfc3339(period.end_us)?,
        duration_s: period.duration_s(),
    };
    let by_tag: HashMap<&str, &Series> = series.iter().map(|s| (s.tag.as_str(), s)).collect();
    let mut scratch = Vec::new();
    let mut shortfalls = Vec::new();
    let mut warnings = Vec::new();
    let mut prepared = Vec::with_capacity(spec.equipment.len());
    for e in &spec.equipment {
        let mut means = [None; Quantity::ALL.len()];
        let mut tags = Vec::new();
        for (&q, source) in &e.tags {
            let Source::Tag(t) = source else { continue };
            let stats = tag_stats(t, by_tag.get(t.tag.as_str()), period, options, &mut scratch)?;
            let used = stats.coverage >= options.min_coverage && stats.mean.is_some();
            if !used {
                if q.is_extra() {
                    warnings.push(QualityWarning::new(
                        "tag_not_used",
                        e,
                        q,
                        &t.tag,
                        Phrase::text(format!(
                            "coverage {:.1} % is below the required {:.1} %: the tag is left \
                             out and no metered condensate-return advice is given",
                            100.0 * stats.coverage,
                            100.0 * options.min_coverage
                        )),
                    ));
                } else if q.has_default() {
                    warnings.push(QualityWarning::new(
                        "tag_not_used",
                        e,
                        q,
                        &t.tag,
                        Phrase::text(format!(
                            "coverage {:.1} % is below the required {:.1} %: the tag is left \
                             out and the quantity's default is used",
                            100.0 * stats.coverage,
                            100.0 * options.min_coverage
                        )),
                    ));
                } else {
                    shortfalls.push(Shortfall {
                        equipment_id: e.id.clone(),
                        quantity: q,
                        tag: t.tag.clone(),
                        coverage: stats.coverage,
                    });
                }
            }
            if used {
                means[q.index()] = stats.mean;
            }
            quality_warnings(e, q, t, &stats, &mut warnings);
            tags.push(TagAggregate {
                quantity: q,
                tag: t.tag.clone(),
                unit: t.unit.clone(),
                used,
                total: total(q, t, &stats),
                stats,
            });
        }
        prepared.push((e, means, tags));
    }
    if !shortfalls.is_empty() {
        return Err(AggregateError::InsufficientCoverage {
            threshold: options.min_coverage,
            shortfalls,
        });
    }
    let mut units = Vec::with_capacity(prepared.len());
    for (e, means, tags) in prepared {
        let input = unit_document(e, &|q| means[q.index()]);
        let result = run_unit(e, &input)?;
        let metered_extras = metered_extras(e, &|q| means[q.index()]);
        let (score, weakest_tag) = tags
            .iter()
            .filter(|t| t.used)
            .map(|t| (t.stats.score, Some(t.tag.clone())))
            .fold((1.0, None), |best, t| if t.0 < best.0 { t } else { best });
        units.push(UnitCalculation {
            equipment_id: e.id.clone(),
            name: e.name.clone(),
            kind: e.kind.as_str(),
            design_efficiency_percent_hhv: e.design_efficiency_percent_hhv,
            data_quality: EquipmentQuality {
                score,
                weakest_tag,
                tags,
            },
            input,
            result,
            metered_extras,
        });
    }
    let score = units
        .iter()
        .map(|u| u.data_quality.score)
        .fold(1.0, f64::min);
    let results: Vec<&FiredDocument> = units.iter().map(|u| &*u.result).collect();
    let summary = rollup::summarize(&results, score);
    let provenance = rollup::provenance(&spec.id, period, &units);
    Ok(FacilityCalculation {
        facility_id: spec.id.clone(),
        facility_name: spec.name.clone(),
        period: period_out,
        summary,
        equipment: units,
        data_quality: DataQuality {
            score,
            min_coverage: options.min_coverage,
            warnings,
        },
        provenance,
    })
}

fn rfc3339(us: i64) -> Result<String, AggregateError> {
    let bad = |what: &dyn fmt::Display| AggregateError::InvalidPeriod {
        reason: format!("{us} µs is not a representable time: {what}"),
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|e| bad(&e))?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| bad(&e))
}

fn tag_stats(
    t: &TagSpec,
    series: Option<&&Series>,
    period: Period,
    options: &Options,
    scratch: &mut Vec<i64>,
) -> Result<SeriesStats, AggregateError> {
    let max_hold_us = match &t.max_hold {
        None => None,
        Some(text) => {
            let s = units::parse_quantity(text, Dimension::Time, STANDARD_ATMOSPHERE_PA).map_err(
                |e| AggregateError::MalformedSeries {
                    tag: t.tag.clone(),
                    reason: format!("max_hold: {}", e.reason()),
                },
            )?;
            Some((s * 1e6).round() as i64)
        }
    };
    let limits = TagLimits {
        range: t.range,
        max_hold_us,
    };
    let columns = match series {
        Some(s) => Columns {
            times_us: &s.times_us,
            values: &s.values,
            qualities: &s.qualities,
        },
        None => Columns {
            times_us: &[],
            values: &[],
            qualities: &[],
        },
    };
    series::aggregate(&t.tag, columns, limits, period, options, scratch)
}

/// The SI total of a rate over the covered time: the mean converted to SI × covered seconds.
fn total(q: Quantity, t: &TagSpec, stats: &SeriesStats) -> Option<Total> {
    if !q.is_rate() {
        return None;
    }
    let mean = stats.mean?;
    q.dimensions().iter().find_map(|&dim| {
        let si = units::convert(mean, &t.unit, dim, STANDARD_ATMOSPHERE_PA).ok()?;
        let unit = match dim {
            Dimension::MassFlow => "kg",
            Dimension::StandardVolumeFlow => "mol",
            _ => "J",
        };
        Some(Total {
            value: si * stats.covered_s,
            unit,
        })
    })
}

fn quality_warnings(
    e: &Equipment,
    q: Quantity,
    t: &TagSpec,
    s: &SeriesStats,
    warnings: &mut Vec<QualityWarning>,
) {
    let mut warn = |code: &'static str, message: Phrase| {
        warnings.push(QualityWarning::new(code, e, q, &t.tag, message));
    };
    if let Some(f) = &s.flat_line {
        warn(
            "flat_line",
            phrase!(
                "{} identical readings of {} over {} ({} of the period): the sensor may be stuck",
                f.readings.to_string(),
                as_metered(q, t, f.value),
                format!("{:.0} s", f.duration_s),
                format!("{:.1} %", 100.0 * f.duration_s / s.period_s)
            ),
        );
    }
    let excluded = s.bad_quality + s.out_of_range + s.non_finite;
    if excluded > 0 {
        let range = t.range.map_or(Phrase::default(), |r| {
            phrase!(
                " [{}, {}]",
                as_metered(q, t, r.min),
                as_metered(q, t, r.max)
            )
        });
        warn(
            "readings_excluded",
            phrase!(
                "{} of {} readings excluded: {} of bad quality, {} out of range{}, {} non-finite",
                excluded.to_string(),
                s.readings.to_string(),
                s.bad_quality.to_string(),
                s.out_of_range.to_string(),
                range,
                s.non_finite.to_string()
            ),
        );
    }
    if s.uncertain_quality > 0 {
        warn(
            "uncertain_readings",
            Phrase::text(format!(
                "{} readings of uncertain quality were used",
                s.uncertain_quality
            )),
        );
    }
    if s.gaps > 0 {
        warn(
            "gaps",
            Phrase::text(format!(
                "{} stretch(es) without readings for longer than the max hold of {} s; the \
                 longest leaves {:.0} s uncovered",
                s.gaps, s.max_hold_s, s.longest_gap_s
            )),
        );
    }
}

/// A value in the tag's unit, as metered: a quantity of the first of `q`'s dimensions the
/// unit belongs to, written in full.
fn as_metered(q: Quantity, t: &TagSpec, value: f64) -> PhraseQuantity {
    let dimension = q
        .dimensions()
        .iter()
        .copied()
        .find(|&d| units::convert(1.0, &t.unit, d, STANDARD_ATMOSPHERE_PA).is_ok())
        .or_else(|| units::dimension_of(&t.unit))
        // A spec's tag units are checked when it is loaded; a fraction is shown as written.
        .unwrap_or(Dimension::Fraction);
    PhraseQuantity::exact(value, t.unit.clone(), dimension)
}

/// Reads and calculates a unit's document, naming the quantity and tag of a refusal.
fn run_unit(e: &Equipment, input: &Value) -> Result<Box<FiredDocument>, AggregateError> {
    let refused = |error: BoundaryError| {
        let quantity = document::quantity_at(error.path());
        let tag = quantity
            .and_then(|q| e.source(q))
            .and_then(Source::tag)
            .map(|t| t.tag.clone());
        AggregateError::Calculation {
            equipment_id: e.id.clone(),
            quantity,
            tag,
            error,
        }
    };
    let doc = calc::read(&input.to_string()).map_err(refused)?;
    match calc::run(&doc, RunOptions::default()).map_err(refused)? {
        OutputDocument::Fired(d) => Ok(d),
        OutputDocument::HeatExchanger(_) => Err(refused(BoundaryError::invalid(
            "equipment.type",
            "a facility unit is fired equipment",
        ))),
    }
}
