//! Times at the API boundary: RFC 3339 text outside, UTC microseconds inside.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Microseconds since the Unix epoch of an RFC 3339 time (`2025-11-01T00:00:00Z`, any
/// offset); `None` when the text is not one.
pub fn parse_rfc3339_us(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000)).ok()
}

/// RFC 3339 UTC text of a time in microseconds since the Unix epoch.
pub fn format_us(us: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{us} us"))
}
