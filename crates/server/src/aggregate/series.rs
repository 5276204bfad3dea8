//! One tag's readings over a period: time-weighted mean by sample-and-hold, integral, and data
//! quality (coverage, gaps, excluded readings, flat line), in one pass without allocation per
//! reading.

use serde::Serialize;
use store::Quality;

use crate::facility::Range;

use super::{AggregateError, Options, Period};

/// Microseconds per second.
const US_PER_S: f64 = 1.0e6;

/// A run of identical consecutive readings long enough to suspect a stuck sensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FlatLine {
    /// The repeated value, in the tag's unit.
    pub value: f64,
    /// Consecutive identical readings.
    pub readings: usize,
    /// Time those readings cover within the period, s.
    pub duration_s: f64,
}

/// Aggregate and data quality of one tag over a period. Values are in the tag's unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesStats {
    /// Time-weighted mean of the valid readings over the time they cover; `None` when no
    /// valid reading covers any of the period.
    pub mean: Option<f64>,
    /// Smallest valid reading that covers part of the period.
    pub min: Option<f64>,
    /// Largest valid reading that covers part of the period.
    pub max: Option<f64>,
    /// Integral of the held values over the covered time, tag unit × s (mean × covered time).
    pub integral: f64,
    /// Length of the period, s.
    pub period_s: f64,
    /// Time covered by valid readings, s.
    pub covered_s: f64,
    /// Covered time over the period, 0..1.
    pub coverage: f64,
    /// Covered time held by readings of uncertain quality, s.
    pub uncertain_s: f64,
    /// Readings with a time inside the period.
    pub readings: usize,
    /// Readings inside the period that were used (not excluded).
    pub used: usize,
    /// Readings excluded for bad quality.
    pub bad_quality: usize,
    /// Readings of uncertain quality (used, and lowering the score).
    pub uncertain_quality: usize,
    /// Readings excluded for lying outside the tag's range.
    pub out_of_range: usize,
    /// Readings excluded for a non-finite value.
    pub non_finite: usize,
    /// Median interval between consecutive readings, s; `None` with fewer than two readings.
    pub median_interval_s: Option<f64>,
    /// Longest time one reading stood for, s: the tag's `max_hold`, else the hold factor ×
    /// the median interval.
    pub max_hold_s: f64,
    /// Stretches of the period without any reading for longer than the max hold.
    pub gaps: usize,
    /// Uncovered length of the longest such stretch, s.
    pub longest_gap_s: f64,
    /// The longest flat run, when it reaches the flat-line criteria.
    pub flat_line: Option<FlatLine>,
    /// Quality score 0..1: coverage × (1 − ½ uncertain share) × (½ if flat-lined).
    pub score: f64,
}

/// Reading time, value and quality columns of one tag (a `store::Series` without its name).
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// Times, UTC µs, non-decreasing.
    pub times_us: &'a [i64],
    /// Values in the tag's unit.
    pub values: &'a [f64],
    /// Quality flags.
    pub qualities: &'a [Quality],
}

/// What the tag map says about a tag's readings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TagLimits {
    /// Plausible range in the tag's unit; readings outside are excluded.
    pub range: Option<Range>,
    /// Longest time one reading may stand for, µs; `None` takes the hold factor × the median
    /// sampling interval.
    pub max_hold_us: Option<i64>,
}

/// The run of identical values being followed.
#[derive(Clone, Copy)]
struct Run {
    value: f64,
    readings: usize,
    duration_us: i64,
}

/// Aggregates one tag's readings over the period [start, end).
///
/// Each reading holds its value until the next reading, at most `max_hold` (the tag's, else
/// `options.max_hold_factor` × the median interval); longer stretches are gaps. The last
/// reading before the start counts for the part of its hold inside the period. Readings of
/// bad quality, non-finite or outside `range` are excluded: the time they would hold is not
/// covered. `scratch` is reused between tags for the interval median.
pub fn aggregate(
    tag: &str,
    c: Columns<'_>,
    limits: TagLimits,
    period: Period,
    options: &Options,
    scratch: &mut Vec<i64>,
) -> Result<SeriesStats, AggregateError> {
    let (start_us, end_us) = (period.start_us, period.end_us);
    let TagLimits { range, max_hold_us } = limits;
    let n = c.times_us.len();
    if c.values.len() != n || c.qualities.len() != n {
        return Err(AggregateError::MalformedSeries {
            tag: tag.to_string(),
            reason: format!(
                "{n} times, {} values and {} qualities",
                c.values.len(),
                c.qualities.len()
            ),
        });
    }
    let times = c.times_us;
    // Readings from the last one before the start up to the end.
    let first_in = times.partition_point(|&t| t < start_us);
    let first = first_in.saturating_sub(1);
    let last = times.partition_point(|&t| t < end_us);
    let window = &times[first..last.max(first)];

    scratch.clear();
    scratch.extend(window.windows(2).map(|w| w[1] - w[0]));
    if scratch.iter().any(|&d| d < 0) {
        return Err(AggregateError::MalformedSeries {
            tag: tag.to_string(),
            reason: "reading times are not sorted".to_string(),
        });
    }
    let median_us = if scratch.is_empty() {
        None
    } else {
        let mid = scratch.len() / 2;
        Some(*scratch.select_nth_unstable(mid).1)
    };
    let hold_us = match (max_hold_us, median_us) {
        (Some(h), _) => h,
        (None, Some(m)) => (options.max_hold_factor * m as f64).round() as i64,
        (None, None) => 0,
    };

    let period_us = end_us - start_us;
    let mut covered_us: i64 = 0;
    let mut uncertain_us: i64 = 0;
    let mut weighted = 0.0_f64;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut readings, mut used, mut bad, mut uncertain, mut out, mut non_finite) =
        (0, 0, 0, 0, 0, 0);
    let mut gaps = 0usize;
    let mut longest_gap_us: i64 = 0;
    let mut run: Option<Run> = None;
    let mut longest_run: Option<Run> = None;
    let close_run = |run: Option<Run>, longest: &mut Option<Run>| {
        if let Some(r) = run
            && longest.is_none_or(|l| r.duration_us > l.duration_us)
        {
            *longest = Some(r);
        }
    };
    let mut gap = |from: i64, to: i64| {
        let len = to.min(end_us) - from.max(start_us);
        if len > 0 {
            gaps += 1;
            longest_gap_us = longest_gap_us.max(len);
        }
    };
    match window.first() {
        None => gap(start_us, end_us),
        Some(&t0) if t0 > start_us => gap(start_us, t0),
        Some(_) => {}
    }
    for i in first..last {
        let t = times[i];
        let v = c.values[i];
        let q = c.qualities[i];
        let next = if i + 1 < last { times[i + 1] } else { end_us };
        let hold_end = next.min(t.saturating_add(hold_us));
        if hold_end < next {
            gap(hold_end, next);
        }
        let dur = (hold_end.min(end_us) - t.max(start_us)).max(0);
        let inside = t >= start_us;
        let valid = match q {
            Quality::Bad => {
                bad += usize::from(inside);
                false
            }
            _ if !v.is_finite() => {
                non_finite += usize::from(inside);
                false
            }
            _ if range.is_some_and(|r| !r.contains(v)) => {
                out += usize::from(inside);
                false
            }
            _ => true,
        };
        readings += usize::from(inside);
        if !valid {
            continue;
        }
        used += usize::from(inside);
        if q == Quality::Uncertain {
            uncertain += usize::from(inside);
            uncertain_us += dur;
        }
        if dur > 0 {
            covered_us += dur;
            weighted += v * dur as f64;
            min = min.min(v);
            max = max.max(v);
        }
        match run.as_mut() {
            Some(r) if r.value == v => {
                r.readings += 1;
                r.duration_us += dur;
            }
            _ => {
                close_run(run, &mut longest_run);
                run = Some(Run {
                    value: v,
                    readings: 1,
                    duration_us: dur,
                });
            }
        }
    }
    close_run(run, &mut longest_run);

    let flat_line = longest_run
        .filter(|r| {
            r.readings >= options.flat_line_readings
                && r.duration_us as f64 > options.flat_line_fraction * period_us as f64
        })
        .map(|r| FlatLine {
            value: r.value,
            readings: r.readings,
            duration_s: r.duration_us as f64 / US_PER_S,
        });
    let coverage = covered_us as f64 / period_us as f64;
    let uncertain_share = if covered_us > 0 {
        uncertain_us as f64 / covered_us as f64
    } else {
        0.0
    };
    let flat_factor = if flat_line.is_some() { 0.5 } else { 1.0 };
    let mean = (covered_us > 0).then(|| weighted / covered_us as f64);
    Ok(SeriesStats {
        mean,
        min: mean.map(|_| min),
        max: mean.map(|_| max),
        integral: weighted / US_PER_S,
        period_s: period_us as f64 / US_PER_S,
        covered_s: covered_us as f64 / US_PER_S,
        coverage,
        uncertain_s: uncertain_us as f64 / US_PER_S,
        readings,
        used,
        bad_quality: bad,
        uncertain_quality: uncertain,
        out_of_range: out,
        non_finite,
        median_interval_s: median_us.map(|m| m as f64 / US_PER_S),
        max_hold_s: hold_us as f64 / US_PER_S,
        gaps,
        longest_gap_s: longest_gap_us as f64 / US_PER_S,
        flat_line,
        score: coverage * (1.0 - 0.5 * uncertain_share) * flat_factor,
    })
}
