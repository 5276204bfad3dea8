//! From an OPC UA `DataValue` to a reading: the number, its quality from the status code, its
//! time from the source or server timestamp.

use connectors::opcua_config::OpcUaNode;
use connectors::{Quality, Reading};
use opcua::types::{DataValue, DateTime, StatusCode, Variant};

/// OPC UA ticks (100 ns since 1601-01-01) at 1970-01-01.
const UNIX_EPOCH_TICKS: i64 = 116_444_736_000_000_000;
/// Largest integer magnitude an f64 holds exactly (2^53).
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Why a data value yields no reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// The server reports the node unreadable and sends no value (e.g. `BadNodeIdUnknown`).
    #[error("the server answered {status} without a value")]
    NoValue {
        /// The status code the server sent.
        status: StatusCode,
    },
    /// The value is not a number (a string, a structure, an array).
    #[error("{0}")]
    NotANumber(String),
}

impl ValueError {
    /// The `error_type` label of the failure: `node` for what the server says about the node,
    /// `decode` for a value this connector cannot turn into a number.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoValue { .. } => "node",
            Self::NotANumber(_) => "decode",
        }
    }
}

/// The reading a data value gives `node`. Good, uncertain and bad status codes become the
/// reading's quality; a bad value is kept (marked bad) because it is what the server said,
/// and the calculation leaves bad readings out. Its time is the source timestamp, else the
/// server timestamp, else `received_us`.
pub fn reading(
    node: &OpcUaNode,
    value: &DataValue,
    received_us: i64,
) -> Result<Reading, ValueError> {
    let status = value.status();
    let raw = match &value.value {
        None | Some(Variant::Empty) => return Err(ValueError::NoValue { status }),
        Some(v) => number(v)?,
    };
    let scaled = raw * node.scale + node.offset;
    if !scaled.is_finite() {
        return Err(ValueError::NotANumber(format!(
            "{raw} × {} + {} is not a finite number",
            node.scale, node.offset
        )));
    }
    let time_us = [value.source_timestamp, value.server_timestamp]
        .into_iter()
        .flatten()
        .find_map(|t| unix_us(&t))
        .unwrap_or(received_us);
    Ok(Reading {
        tag: node.tag.clone(),
        time_us,
        value: scaled,
        quality: quality(status),
    })
}

/// The quality a status code's severity means.
pub fn quality(status: StatusCode) -> Quality {
    if status.is_good() {
        Quality::Good
    } else if status.is_uncertain() {
        Quality::Uncertain
    } else {
        Quality::Bad
    }
}

/// A numeric scalar as f64, refused when the conversion would change it.
fn number(v: &Variant) -> Result<f64, ValueError> {
    let exact_u = |x: u64| {
        if x <= MAX_EXACT_INTEGER {
            // At most 2^53: the conversion is exact.
            Ok(x as f64)
        } else {
            Err(ValueError::NotANumber(format!(
                "{x} has no exact f64 (beyond 2^53)"
            )))
        }
    };
    let value = match v {
        Variant::Double(x) => *x,
        Variant::Float(x) => f64::from(*x),
        Variant::SByte(x) => f64::from(*x),
        Variant::Byte(x) => f64::from(*x),
        Variant::Int16(x) => f64::from(*x),
        Variant::UInt16(x) => f64::from(*x),
        Variant::Int32(x) => f64::from(*x),
        Variant::UInt32(x) => f64::from(*x),
        Variant::Int64(x) => {
            let magnitude = exact_u(x.unsigned_abs())?;
            if *x < 0 { -magnitude } else { magnitude }
        }
        Variant::UInt64(x) => exact_u(*x)?,
        other => {
            return Err(ValueError::NotANumber(format!(
                "a {:?} is not a number",
                other.type_id()
            )));
        }
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ValueError::NotANumber(format!(
            "{value} is not a finite number"
        )))
    }
}

/// A timestamp as µs since 1970; `None` for the null timestamp (1601), which means "not set".
fn unix_us(t: &DateTime) -> Option<i64> {
    let ticks = t.checked_ticks();
    if ticks == 0 || ticks == i64::MAX {
        return None;
    }
    Some((ticks - UNIX_EPOCH_TICKS).div_euclid(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(scale: f64, offset: f64) -> OpcUaNode {
        OpcUaNode {
            node_id: "ns=2;s=X".into(),
            tag: "FI-1".into(),
            scale,
            offset,
            unit: "kg/h".into(),
        }
    }

    fn value(v: Variant, status: StatusCode) -> DataValue {
        DataValue {
            value: Some(v),
            status: Some(status),
            ..DataValue::null()
        }
    }

    #[test]
    fn status_severity_is_the_quality() {
        assert_eq!(quality(StatusCode::Good), Quality::Good);
        assert_eq!(
            quality(StatusCode::UncertainLastUsableValue),
            Quality::Uncertain
        );
        assert_eq!(quality(StatusCode::BadSensorFailure), Quality::Bad);
    }

    #[test]
    fn a_bad_value_is_kept_as_bad_and_no_value_is_no_reading() {
        let r = reading(
            &node(1.0, 0.0),
            &value(Variant::Double(3.5), StatusCode::BadSensorFailure),
            7,
        )
        .expect("a reading");
        assert_eq!((r.value, r.quality), (3.5, Quality::Bad));
        let none = DataValue {
            status: Some(StatusCode::BadNodeIdUnknown),
            ..DataValue::null()
        };
        let e = reading(&node(1.0, 0.0), &none, 7).expect_err("no value");
        assert_eq!(e.kind(), "node");
        assert!(e.to_string().contains("BadNodeIdUnknown"), "{e}");
    }

    #[test]
    fn timestamps_source_then_server_then_receipt() {
        // 2025-01-01T00:00:00.123456Z in µs, and the same instant as OPC UA ticks.
        let us = 1_735_689_600_123_456_i64;
        let dt = |us: i64| DateTime::from(ticks_of(us));
        let mut v = value(Variant::Int32(-4), StatusCode::Good);
        v.source_timestamp = Some(dt(us));
        v.server_timestamp = Some(dt(us + 5));
        assert_eq!(
            reading(&node(1.0, 0.0), &v, 1).expect("reading").time_us,
            us
        );
        v.source_timestamp = None;
        assert_eq!(
            reading(&node(1.0, 0.0), &v, 1).expect("reading").time_us,
            us + 5
        );
        v.server_timestamp = Some(DateTime::null());
        assert_eq!(reading(&node(1.0, 0.0), &v, 1).expect("reading").time_us, 1);
    }

    /// The OPC UA ticks of `us` µs after 1970.
    fn ticks_of(us: i64) -> i64 {
        us * 10 + UNIX_EPOCH_TICKS
    }

    #[test]
    fn numbers_are_exact_or_refused() {
        let n = node(2.0, -1.0);
        let r = |v| reading(&n, &value(v, StatusCode::Good), 0).map(|r| r.value);
        assert_eq!(r(Variant::Float(0.1)), Ok(f64::from(0.1f32) * 2.0 - 1.0));
        assert_eq!(r(Variant::UInt16(65_535)), Ok(131_069.0));
        assert_eq!(r(Variant::Int64(-(1 << 53))), Ok(-(2.0f64.powi(54)) - 1.0));
        for bad in [
            Variant::Int64((1 << 53) + 1),
            Variant::UInt64(u64::MAX),
            Variant::Double(f64::NAN),
            Variant::from("12.5"),
            Variant::Boolean(true),
        ] {
            let e = r(bad.clone()).expect_err("refused");
            assert_eq!(e.kind(), "decode", "{bad:?}");
        }
    }
}
