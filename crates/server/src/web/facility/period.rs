//! The period of the facility page and of its run form: `datetime-local` text (UTC) in,
//! UTC microseconds inside; resolutions and their caps; the default period (the last day
//! with readings).

use thiserror::Error;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::web::WebError;

/// One hour, µs.
pub const HOUR_US: i64 = 3_600_000_000;
/// One day, µs.
pub const DAY_US: i64 = 24 * HOUR_US;
/// Longest period the page shows at hourly resolution: a month of hourly points (744) is
/// about what the chart can still tell apart at 1280 px.
pub const MAX_HOURLY_DAYS: i64 = 31;
/// Longest period the page shows at daily resolution: a year of daily points.
pub const MAX_DAILY_DAYS: i64 = 366;

/// Why a period or resolution is refused; each names its form field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PeriodError {
    /// The text is not a `YYYY-MM-DDTHH:MM` time.
    #[error("{value:?} is not a date and time such as 2025-11-01T00:00 (UTC)")]
    NotATime {
        /// The form field.
        field: &'static str,
        /// What was sent.
        value: String,
    },
    /// The end is not after the start.
    #[error("the end {end} is not after the start {start}")]
    EndNotAfterStart {
        /// The form field of the end.
        field: &'static str,
        /// Start as sent.
        start: String,
        /// End as sent.
        end: String,
    },
    /// The period is longer than the resolution allows.
    #[error("the period is {days:.1} days; {limit} covers at most {max_days} days")]
    TooLong {
        /// The form field of the end.
        field: &'static str,
        /// Length of the period, days.
        days: f64,
        /// What sets the limit (`hourly resolution`, `the hourly split`).
        limit: &'static str,
        /// The cap, days.
        max_days: i64,
    },
    /// The period is not a whole number of steps of the split.
    #[error(
        "the period is not a whole number of {step}s; choose an end a whole number of {step}s after the start"
    )]
    NotWhole {
        /// The form field of the end.
        field: &'static str,
        /// `hour` or `day`.
        step: &'static str,
    },
    /// An unknown choice of a select.
    #[error("{value:?} is not one of {choices}")]
    Choice {
        /// The form field.
        field: &'static str,
        /// What was sent.
        value: String,
        /// The accepted values.
        choices: &'static str,
    },
}

impl PeriodError {
    /// The form field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NotATime { field, .. }
            | Self::EndNotAfterStart { field, .. }
            | Self::TooLong { field, .. }
            | Self::NotWhole { field, .. }
            | Self::Choice { field, .. } => field,
        }
    }
}

impl From<PeriodError> for WebError {
    fn from(e: PeriodError) -> Self {
        WebError::Invalid {
            field: e.field().to_string(),
            message: e.to_string(),
        }
    }
}

/// Which stored calculations the trend shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolution {
    /// Calculations of one hour or less.
    #[default]
    Hourly,
    /// Calculations longer than an hour (daily and whole-period runs).
    Daily,
}

impl Resolution {
    /// The query value (`hourly`, `daily`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
        }
    }

    /// The resolution of a query value; `None` (absent or empty) is hourly.
    pub fn parse(value: Option<&str>) -> Result<Self, PeriodError> {
        match value.unwrap_or_default() {
            "" | "hourly" => Ok(Self::Hourly),
            "daily" => Ok(Self::Daily),
            other => Err(PeriodError::Choice {
                field: "resolution",
                value: other.to_string(),
                choices: "hourly, daily",
            }),
        }
    }

    /// Whether a calculation of `duration_us` belongs to this resolution: every duration
    /// belongs to exactly one, so no stored calculation is hidden from both.
    pub fn includes(self, duration_us: i64) -> bool {
        match self {
            Self::Hourly => duration_us <= HOUR_US,
            Self::Daily => duration_us > HOUR_US,
        }
    }

    /// The longest period shown at this resolution, days.
    pub fn max_days(self) -> i64 {
        match self {
            Self::Hourly => MAX_HOURLY_DAYS,
            Self::Daily => MAX_DAILY_DAYS,
        }
    }
}

/// A checked period, UTC µs, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start, µs.
    pub start_us: i64,
    /// End, µs.
    pub end_us: i64,
}

impl Span {
    /// Length, µs.
    pub fn duration_us(self) -> i64 {
        self.end_us - self.start_us
    }

    /// The UTC day (midnight to midnight) that contains `time_us`.
    pub fn day_of(time_us: i64) -> Self {
        let start_us = time_us.div_euclid(DAY_US) * DAY_US;
        Self {
            start_us,
            end_us: start_us + DAY_US,
        }
    }

    /// The period of `from`..`to` as sent by the form, in fields `from_field`, `to_field`.
    pub fn parse(
        (from_field, from): (&'static str, &str),
        (to_field, to): (&'static str, &str),
    ) -> Result<Self, PeriodError> {
        let start_us = parse_local(from_field, from)?;
        let end_us = parse_local(to_field, to)?;
        if end_us <= start_us {
            return Err(PeriodError::EndNotAfterStart {
                field: to_field,
                start: from.to_string(),
                end: to.to_string(),
            });
        }
        Ok(Self { start_us, end_us })
    }

    /// Refuses a span longer than `max_days`, naming `field` and the limit's `label`.
    pub fn at_most(
        self,
        field: &'static str,
        label: &'static str,
        max_days: i64,
    ) -> Result<Self, PeriodError> {
        if self.duration_us() > max_days.saturating_mul(DAY_US) {
            return Err(PeriodError::TooLong {
                field,
                days: self.duration_us() as f64 / DAY_US as f64,
                limit: label,
                max_days,
            });
        }
        Ok(self)
    }

    /// The span cut into consecutive pieces of `step_us`; refused unless it is a whole
    /// number of them.
    pub fn split(self, step_us: i64, step: &'static str) -> Result<Vec<Self>, PeriodError> {
        if self.duration_us() % step_us != 0 {
            return Err(PeriodError::NotWhole { field: "end", step });
        }
        Ok((self.start_us..self.end_us)
            .step_by(usize::try_from(step_us).unwrap_or(usize::MAX))
            .map(|start_us| Self {
                start_us,
                end_us: start_us + step_us,
            })
            .collect())
    }
}

/// Microseconds of a `datetime-local` value (`YYYY-MM-DDTHH:MM`, seconds optional), read as
/// UTC.
pub fn parse_local(field: &'static str, text: &str) -> Result<i64, PeriodError> {
    let text = text.trim();
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = PrimitiveDateTime::parse(text, minutes)
        .or_else(|_| PrimitiveDateTime::parse(text, seconds))
        .map_err(|_| PeriodError::NotATime {
            field,
            value: text.to_string(),
        })?;
    Ok(t.assume_utc().unix_timestamp() * 1_000_000)
}

/// The `datetime-local` value (`YYYY-MM-DDTHH:MM`, UTC) of a time in µs.
pub fn format_local(time_us: i64) -> String {
    OffsetDateTime::from_unix_timestamp(time_us.div_euclid(1_000_000))
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| format!("{time_us} us"))
}

/// A time in µs for people: `2025-11-01 13:00 UTC`.
pub fn format_human(time_us: i64) -> String {
    format!("{} UTC", format_local(time_us).replace('T', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-01T00:00:00Z, µs.
    const DAY0: i64 = 1_761_955_200_000_000;

    #[test]
    fn reads_datetime_local_as_utc_with_or_without_seconds() {
        assert_eq!(parse_local("from", "2025-11-01T00:00"), Ok(DAY0));
        assert_eq!(
            parse_local("from", "2025-11-01T01:30:15"),
            Ok(DAY0 + 5_415_000_000)
        );
        assert_eq!(format_local(DAY0 + HOUR_US), "2025-11-01T01:00");
        assert_eq!(format_human(DAY0), "2025-11-01 00:00 UTC");
        assert_eq!(
            parse_local("to", "2025-13-01T00:00"),
            Err(PeriodError::NotATime {
                field: "to",
                value: "2025-13-01T00:00".into()
            })
        );
    }

    #[test]
    fn refuses_empty_reversed_and_too_long_periods_naming_the_field() {
        let e = Span::parse(("from", "2025-11-02T00:00"), ("to", "2025-11-01T00:00")).unwrap_err();
        assert_eq!(e.field(), "to");
        let long = Span::parse(("from", "2025-11-01T00:00"), ("to", "2025-12-03T00:00")).unwrap();
        let e = long.at_most("to", "hourly resolution", 31).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the period is 32.0 days; hourly resolution covers at most 31 days"
        );
        let ok = Span::parse(("from", "2025-11-01T00:00"), ("to", "2025-12-02T00:00")).unwrap();
        assert_eq!(
            ok.at_most("to", "hourly resolution", 31)
                .map(Span::duration_us),
            Ok(31 * DAY_US)
        );
        assert_eq!(
            Resolution::parse(Some("weekly")).unwrap_err().field(),
            "resolution"
        );
    }

    #[test]
    fn every_duration_belongs_to_one_resolution() {
        for d in [1, HOUR_US - 1, HOUR_US, HOUR_US + 1, DAY_US, 40 * DAY_US] {
            assert!(
                Resolution::Hourly.includes(d) != Resolution::Daily.includes(d),
                "{d}"
            );
        }
        assert!(Resolution::Hourly.includes(HOUR_US));
    }

    #[test]
    fn splits_into_whole_steps_only() {
        let day = Span::day_of(DAY0 + 5 * HOUR_US + 17);
        assert_eq!(
            day,
            Span {
                start_us: DAY0,
                end_us: DAY0 + DAY_US
            }
        );
        let hours = day.split(HOUR_US, "hour").unwrap();
        assert_eq!(hours.len(), 24);
        assert_eq!(
            hours[23],
            Span {
                start_us: DAY0 + 23 * HOUR_US,
                end_us: DAY0 + DAY_US
            }
        );
        let odd = Span {
            start_us: DAY0,
            end_us: DAY0 + 90 * 60_000_000,
        };
        assert_eq!(
            odd.split(HOUR_US, "hour"),
            Err(PeriodError::NotWhole {
                field: "end",
                step: "hour"
            })
        );
    }
}
