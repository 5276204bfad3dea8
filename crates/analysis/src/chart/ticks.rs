//! Axis ticks: "nice" numbers (1, 2 or 5 × 10ⁿ steps, after Heckbert, "Nice numbers for
//! graph labels", Graphics Gems, 1990) for values, and whole clock or calendar steps for UTC time.

use time::OffsetDateTime;

use super::ChartError;

/// Evenly spaced value ticks that enclose a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    values: Vec<f64>,
    labels: Vec<String>,
    step: f64,
}

impl Ticks {
    /// The tick values, ascending; the first and last are the axis limits.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The tick labels, with as many decimals as the step needs.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Distance between two ticks.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// Lower axis limit.
    pub fn min(&self) -> f64 {
        self.values[0]
    }

    /// Upper axis limit.
    pub fn max(&self) -> f64 {
        self.values[self.values.len() - 1]
    }
}

/// The nice number near `x` > 0: rounded to the nearest of 1, 2, 5, 10 × 10ⁿ, or the
/// smallest of them not below `x`.
fn nice(x: f64, round: bool) -> f64 {
    let exp = x.log10().floor();
    let base = 10f64.powf(exp);
    let f = x / base;
    let nf = if round {
        if f < 1.5 {
            1.0
        } else if f < 3.0 {
            2.0
        } else if f < 7.0 {
            5.0
        } else {
            10.0
        }
    } else if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nf * base
}

/// About `target` (at least 2) nice ticks enclosing `min`..`max`, which must be finite.
/// A range of zero width is widened by 5 % of the value (or ±1 around zero) so that the
/// axis still has an extent.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Ticks {
    let (mut lo, mut hi) = if min <= max { (min, max) } else { (max, min) };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()) {
        let d = if lo == 0.0 { 1.0 } else { 0.05 * lo.abs() };
        lo -= d;
        hi += d;
    }
    let target = target.max(2);
    let range = nice(hi - lo, false);
    let step = nice(range / (target - 1) as f64, true);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let values: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    // k × step with k = 0 is +0.0, so no label reads "-0".
    let labels = values.iter().map(|v| format!("{v:.decimals$}")).collect();
    Ticks {
        values,
        labels,
        step,
    }
}

/// One tick of a time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeTick {
    /// Unix seconds.
    pub time: i64,
    /// `HH:MM` for sub-day steps, `YYYY-MM-DD` otherwise.
    pub label: String,
    /// For sub-day steps, the date under the first tick and under each midnight.
    pub date: Option<String>,
}

/// Tick steps, s: clock steps up to half a day, then whole days.
const TIME_STEPS: [i64; 16] = [
    60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    1_209_600, 2_419_200, 7_862_400,
];

/// A UTC date and time of Unix seconds `t`.
fn utc(t: i64) -> Result<OffsetDateTime, ChartError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|_| ChartError::TimeOutOfRange(t))
}

/// `YYYY-MM-DD` of Unix seconds `t`, UTC.
pub fn date_label(t: i64) -> Result<String, ChartError> {
    let d = utc(t)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

/// `HH:MM` of Unix seconds `t`, UTC.
pub fn clock_label(t: i64) -> Result<String, ChartError> {
    let d = utc(t)?;
    Ok(format!("{:02}:{:02}", d.hour(), d.minute()))
}

/// Ticks at whole multiples of the smallest step in [`TIME_STEPS`] that gives at most
/// `max_ticks` (at least 2) ticks in `start..=end`; the ends themselves when no multiple falls
/// inside. Multiples of a day fall on UTC midnight.
pub fn time_ticks(start: i64, end: i64, max_ticks: usize) -> Result<Vec<TimeTick>, ChartError> {
    super::check_range(start, end)?;
    let max_ticks = max_ticks.max(2) as i64;
    let count = |step: i64| end.div_euclid(step) - (start + step - 1).div_euclid(step) + 1;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|&s| count(s) <= max_ticks)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1]);
    let first = (start + step - 1).div_euclid(step);
    let last = end.div_euclid(step);
    let times: Vec<i64> = if first > last {
        vec![start, end]
    } else {
        (first..=last).map(|k| k * step).collect()
    };
    times
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            if step >= 86_400 {
                Ok(TimeTick {
                    time: t,
                    label: date_label(t)?,
                    date: None,
                })
            } else {
                let date = (k == 0 || t.rem_euclid(86_400) == 0)
                    .then(|| date_label(t))
                    .transpose()?;
                Ok(TimeTick {
                    time: t,
                    label: clock_label(t)?,
                    date,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-01T00:00:00Z (20 393 days after the epoch).
    const DAY0: i64 = 20_393 * 86_400;

    #[test]
    fn nice_ticks_enclose_the_data_on_round_steps() {
        // Range 5.0 → nice range 5, step nice(5/4 = 1.25) = 1; limits floor(82.5), ceil(87.5).
        let t = nice_ticks(82.5, 87.5, 5);
        assert_eq!(t.step(), 1.0);
        assert_eq!(t.values(), &[82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0]);
        assert_eq!(t.labels()[0], "82");
        // Range 0.37 → nice range 0.5, step nice(0.125) = 0.1.
        let t = nice_ticks(0.81, 1.18, 5);
        assert!((t.step() - 0.1).abs() < 1e-15);
        assert_eq!(t.labels(), &["0.8", "0.9", "1.0", "1.1", "1.2"]);
        // Range 730 → nice range 1000, step nice(250) = 200.
        let t = nice_ticks(-30.0, 700.0, 5);
        assert_eq!(t.step(), 200.0);
        assert_eq!(t.min(), -200.0);
        assert_eq!(t.max(), 800.0);
    }

    #[test]
    fn nice_ticks_widen_a_single_value_and_cross_zero_cleanly() {
        let t = nice_ticks(85.0, 85.0, 5);
        assert!(t.min() < 85.0 && t.max() > 85.0);
        let t = nice_ticks(0.0, 0.0, 5);
        assert!(t.min() <= -1.0 && t.max() >= 1.0);
        // Range 0.3 → nice range 0.5, step nice(0.5 / 3) = 0.2.
        let t = nice_ticks(-0.04, 0.26, 4);
        assert_eq!(t.labels(), &["-0.2", "0.0", "0.2", "0.4"]);
    }

    #[test]
    fn time_ticks_of_one_day_fall_on_whole_hours() {
        // 24 h with at most 6 ticks: 3 h gives 9, 6 h gives 5 ticks (0, 6, 12, 18, 24 h).
        let t = time_ticks(DAY0, DAY0 + 86_400, 6).unwrap();
        let times: Vec<i64> = t.iter().map(|t| t.time - DAY0).collect();
        assert_eq!(times, [0, 21_600, 43_200, 64_800, 86_400]);
        assert_eq!(t[1].label, "06:00");
        assert_eq!(t[0].date.as_deref(), Some("2025-11-01"));
        assert_eq!(t[1].date, None);
        assert_eq!(t[4].date.as_deref(), Some("2025-11-02"));
    }

    #[test]
    fn time_ticks_of_a_month_are_dates() {
        let t = time_ticks(DAY0, DAY0 + 30 * 86_400, 8).unwrap();
        // One week: 2025-11-06 is the first multiple of 604 800 s after DAY0 (epoch was a Thursday).
        assert_eq!(t[0].label, "2025-11-06");
        assert!(t.iter().all(|t| t.date.is_none() && t.time % 604_800 == 0));
        assert!(t.len() <= 8);
    }

    #[test]
    fn time_ticks_refuse_an_empty_range_and_fall_back_to_the_ends() {
        assert_eq!(
            time_ticks(DAY0, DAY0, 5),
            Err(ChartError::EmptyTimeRange {
                start: DAY0,
                end: DAY0
            })
        );
        let t = time_ticks(DAY0 + 1, DAY0 + 30, 5).unwrap();
        assert_eq!(
            t.iter().map(|t| t.time).collect::<Vec<_>>(),
            [DAY0 + 1, DAY0 + 30]
        );
    }
}
