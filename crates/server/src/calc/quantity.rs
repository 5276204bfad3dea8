//! Physical values of the input document: `"180 °C"` or
//! `{"value": 180, "unit": "°C", "uncertainty": "2 K"}`, typed by what they measure.
//!
//! The document is read first and converted second, because a gauge pressure needs the
//! ambient pressure, which is itself a field of the document. So a [`Q`] keeps the text the user
//! wrote, and [`Q::si`] converts it with `thermo::units` once the ambient pressure is known.
//! Only dimensionless kinds accept a bare number: a bare `180` for a temperature is refused
//! while the document is read, so the error carries the field's JSON path.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use thermo::units::{self, Dimension};
use thermo::{Error, Result};

/// What a physical value measures: its dimensions, a worked example and its schema name.
pub trait Kind {
    /// Name of the value's definition in the JSON Schema.
    const NAME: &'static str;
    /// Dimensions accepted for the value, the first being the usual one.
    const DIMENSIONS: &'static [Dimension];
    /// An example written as text, shown in messages and in the schema.
    const EXAMPLE: &'static str;
}

/// The kinds of physical value the document uses.
pub mod kind {
    use super::{Dimension, Kind};

    macro_rules! kinds {
        ($($(#[$doc:meta])* $name:ident: $schema:literal, [$($dim:ident),+], $example:literal;)+) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum $name {}
            impl Kind for $name {
                const NAME: &'static str = $schema;
                const DIMENSIONS: &'static [Dimension] = &[$(Dimension::$dim),+];
                const EXAMPLE: &'static str = $example;
            }
        )+};
    }

    kinds! {
        /// An absolute temperature, K.
        Temperature: "Temperature", [Temperature], "180 °C";
        /// A pressure, absolute or gauge (gauge units add the ambient pressure), Pa.
        Pressure: "Pressure", [Pressure], "10 bar(g)";
        /// A mass flow, kg/s.
        MassFlow: "MassFlow", [MassFlow], "12 t/h";
        /// A fuel flow: a mass flow, or for gaseous fuels a flow at standard conditions.
        FuelFlow: "FuelFlow", [MassFlow, StandardVolumeFlow], "1000 Nm3/h";
        /// A power or heat rate, W.
        Power: "Power", [Power], "5 MW";
        /// A specific energy (heating value), J/kg.
        SpecificEnergy: "SpecificEnergy", [SpecificEnergy], "45.5 MJ/kg";
        /// A specific heat capacity, J/(kg K).
        SpecificHeat: "SpecificHeat", [SpecificEntropy], "2.3 kJ/(kg K)";
        /// An area, m².
        Area: "Area", [Area], "120 m2";
        /// A velocity, m/s.
        Velocity: "Velocity", [Velocity], "1.5 m/s";
        /// A dimensionless fraction (a bare number is a fraction of 1).
        Fraction: "Fraction", [Fraction], "3.5 %";
    }
}

/// What the user wrote for one value.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    /// `"3 MPa"`.
    Text(String),
    /// A bare number (dimensionless kinds only).
    Number(f64),
    /// `{"value": 3, "unit": "MPa", "uncertainty": "1 %"}`.
    Object {
        value: f64,
        unit: String,
        uncertainty: Option<String>,
    },
}

/// A physical value of kind `K` as written in the document.
pub struct Q<K> {
    raw: Raw,
    kind: PhantomData<K>,
}

impl<K> fmt::Debug for Q<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

impl<K> Clone for Q<K> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            kind: PhantomData,
        }
    }
}

/// A stated expanded (95 %) uncertainty, before it is tied to a thermo input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stated {
    /// A fraction of the value (0.01 = 1 %).
    Relative(f64),
    /// An absolute amount in the SI unit of `dimension` (a temperature difference in K for
    /// temperatures, a pressure difference in Pa for pressures).
    Absolute {
        /// The dimension the amount was read in (the value's own one).
        dimension: Dimension,
        /// The amount, SI.
        si: f64,
    },
}

fn is_dimensionless<K: Kind>() -> bool {
    K::DIMENSIONS == [Dimension::Fraction]
}

/// Refuses a non-finite or negative stated uncertainty.
fn non_negative(amount: f64, text: &str) -> Result<f64> {
    if amount.is_finite() && amount >= 0.0 {
        Ok(amount)
    } else {
        Err(Error::invalid(
            "uncertainty",
            format!("\"{text}\" is not a non-negative uncertainty"),
        ))
    }
}

impl<K: Kind> Q<K> {
    /// A value from its text form (`"3 MPa"`), as the command line gives it.
    pub fn text(text: &str) -> Self {
        Self {
            raw: Raw::Text(text.to_string()),
            kind: PhantomData,
        }
    }

    /// The value as written, for messages (`-515 kg/h`).
    pub fn written(&self) -> String {
        match &self.raw {
            Raw::Text(text) => text.trim().to_string(),
            Raw::Number(value) => value.to_string(),
            Raw::Object { value, unit, .. } => format!("{value} {unit}"),
        }
    }

    /// The value in SI, with the dimension it was read in; gauge units add
    /// `ambient_pressure_pa`. Errors name the field `unit` or `value`.
    pub fn si_with_dimension(&self, ambient_pressure_pa: f64) -> Result<(Dimension, f64)> {
        let attempt = |dim: Dimension| match &self.raw {
            Raw::Text(text) => units::parse_quantity(text, dim, ambient_pressure_pa),
            Raw::Number(value) => units::convert(*value, "1", dim, ambient_pressure_pa),
            Raw::Object { value, unit, .. } => {
                units::convert(*value, unit, dim, ambient_pressure_pa)
            }
        };
        let mut first_error = None;
        for &dim in K::DIMENSIONS {
            match attempt(dim) {
                Ok(si) => return Ok((dim, si)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let error = first_error.ok_or_else(|| Error::invalid("unit", "no dimension to read"))?;
        if K::DIMENSIONS.len() > 1 && error.field() == "unit" {
            let accepted: Vec<String> = K::DIMENSIONS
                .iter()
                .map(|d| format!("{d}: {}", units::accepted_units(*d).join(", ")))
                .collect();
            return Err(Error::invalid(
                "unit",
                format!("{}; accepted: {}", self.unit_text(), accepted.join("; ")),
            ));
        }
        Err(error)
    }

    /// The value in the SI unit of its (first) dimension.
    pub fn si(&self, ambient_pressure_pa: f64) -> Result<f64> {
        self.si_with_dimension(ambient_pressure_pa)
            .map(|(_, si)| si)
    }

    fn unit_text(&self) -> String {
        match &self.raw {
            Raw::Text(text) => format!("\"{text}\" has no accepted unit"),
            Raw::Number(value) => format!("{value} needs a unit"),
            Raw::Object { unit, .. } => format!("unknown unit \"{unit}\""),
        }
    }

    /// Whether the value was written with a gauge-pressure unit: the conversion then depends
    /// on the ambient pressure, so two different ambients give two different results.
    pub fn is_gauge(&self) -> bool {
        match (self.si(1.0e5), self.si(2.0e5)) {
            (Ok(a), Ok(b)) => a != b,
            _ => false,
        }
    }

    /// The stated expanded uncertainty, if any.
    ///
    /// `"1 %"` (or `"1 % rel"`) is relative to the value. Any other unit is absolute, in a
    /// unit of the value's dimension; for temperatures it is a temperature difference
    /// (`"2 K"`, `"3.6 °F"`). For dimensionless values `"%"` alone is ambiguous (percent of
    /// the value, or percentage points?) and must be written `"% rel"` or `"% abs"`.
    pub fn uncertainty(&self, ambient_pressure_pa: f64) -> Result<Option<Stated>> {
        let Raw::Object {
            uncertainty: Some(text),
            ..
        } = &self.raw
        else {
            return Ok(None);
        };
        let trimmed = text.trim();
        let fraction = |t: &str| {
            units::parse_quantity(t, Dimension::Fraction, ambient_pressure_pa)
                .and_then(|v| non_negative(v, text))
        };
        if let Some(body) = trimmed.strip_suffix("rel") {
            return Ok(Some(Stated::Relative(fraction(body)?)));
        }
        if is_dimensionless::<K>() {
            if let Some(body) = trimmed.strip_suffix("abs") {
                return Ok(Some(Stated::Absolute {
                    dimension: Dimension::Fraction,
                    si: fraction(body)?,
                }));
            }
            if trimmed.ends_with('%') {
                return Err(Error::invalid(
                    "uncertainty",
                    format!(
                        "\"{text}\" is ambiguous for a value that is itself a fraction: write \
                         \"{body} % rel\" (of the value) or \"{body} % abs\" (percentage points)",
                        body = trimmed.trim_end_matches('%').trim()
                    ),
                ));
            }
            return Ok(Some(Stated::Absolute {
                dimension: Dimension::Fraction,
                si: fraction(trimmed)?,
            }));
        }
        if trimmed.ends_with('%') {
            return Ok(Some(Stated::Relative(fraction(trimmed)?)));
        }
        let mut first_error = None;
        for &dim in K::DIMENSIONS {
            match absolute_amount(trimmed, dim, ambient_pressure_pa) {
                Ok(si) => {
                    return Ok(Some(Stated::Absolute {
                        dimension: dim,
                        si: non_negative(si, text)?,
                    }));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let error = first_error.ok_or_else(|| Error::invalid("uncertainty", "no dimension"))?;
        Err(Error::invalid("uncertainty", error.reason()))
    }
}

/// An absolute uncertainty amount in the SI unit of `dim`: temperatures as differences, gauge
/// pressures without the ambient (an interval does not depend on the zero of its scale).
fn absolute_amount(text: &str, dim: Dimension, ambient_pressure_pa: f64) -> Result<f64> {
    match dim {
        Dimension::Temperature => {
            units::parse_quantity(text, Dimension::TemperatureDifference, ambient_pressure_pa)
        }
        Dimension::Pressure => {
            let at = |ambient: f64| units::parse_quantity(text, dim, ambient);
            let (a, b) = (at(1.0e5)?, at(2.0e5)?);
            // A gauge unit shifts with the ambient; remove the ambient it added.
            Ok(if a == b { a } else { a - 1.0e5 })
        }
        _ => units::parse_quantity(text, dim, ambient_pressure_pa),
    }
}

impl<'de, K: Kind> Deserialize<'de> for Q<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer
            .deserialize_any(QVisitor::<K>(PhantomData))
            .map(|raw| Q {
                raw,
                kind: PhantomData,
            })
    }
}

struct QVisitor<K>(PhantomData<K>);

impl<K: Kind> QVisitor<K> {
    fn number<E: de::Error>(value: f64) -> std::result::Result<Raw, E> {
        if is_dimensionless::<K>() {
            Ok(Raw::Number(value))
        } else {
            Err(E::custom(format!(
                "{value} needs a unit, e.g. \"{}\"",
                K::EXAMPLE
            )))
        }
    }
}

impl<'de, K: Kind> Visitor<'de> for QVisitor<K> {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} as \"<number> <unit>\" (e.g. \"{}\") or {{\"value\", \"unit\", \"uncertainty\"}}",
            K::DIMENSIONS[0],
            K::EXAMPLE
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Raw, E> {
        Ok(Raw::Text(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Raw, E> {
        Self::number(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Raw, E> {
        Self::number(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Raw, E> {
        Self::number(v as f64)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Raw, A::Error> {
        const FIELDS: &[&str] = &["value", "unit", "uncertainty"];
        let (mut value, mut unit, mut uncertainty) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "value" if value.is_some() => return Err(de::Error::duplicate_field("value")),
                "unit" if unit.is_some() => return Err(de::Error::duplicate_field("unit")),
                "uncertainty" if uncertainty.is_some() => {
                    return Err(de::Error::duplicate_field("uncertainty"));
                }
                "value" => value = Some(map.next_value::<f64>()?),
                "unit" => unit = Some(map.next_value::<String>()?),
                "uncertainty" => uncertainty = Some(map.next_value::<String>()?),
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let value = value.ok_or_else(|| de::Error::missing_field("value"))?;
        let unit = unit.ok_or_else(|| {
            de::Error::custom(format!(
                "missing field `unit`: {value} needs a unit, e.g. \"{}\"",
                K::EXAMPLE
            ))
        })?;
        Ok(Raw::Object {
            value,
            unit,
            uncertainty,
        })
    }
}

impl<K: Kind> JsonSchema for Q<K> {
    fn schema_name() -> Cow<'static, str> {
        K::NAME.into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let accepted: Vec<String> = K::DIMENSIONS
            .iter()
            .map(|d| format!("{d}: {}", units::accepted_units(*d).join(", ")))
            .collect();
        let description = format!(
            "A {} written \"<number> <unit>\" (e.g. \"{}\") or as an object with an optional \
             expanded (95 %) uncertainty. Accepted units, {}.",
            K::DIMENSIONS[0],
            K::EXAMPLE,
            accepted.join("; ")
        );
        let text = json_schema!({
            "type": "string",
            "pattern": "^\\s*[+\\-\u{2212}]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+\\-]?[0-9]+)?\\s*\\S",
            "examples": [K::EXAMPLE]
        });
        let object = json_schema!({
            "type": "object",
            "properties": {
                "value": {"type": "number"},
                "unit": {"type": "string"},
                "uncertainty": {
                    "type": "string",
                    "description": "Expanded uncertainty at 95 % (k = 2): relative (\"1 %\") or \
                                    absolute in a unit of the same dimension (\"2 K\")."
                }
            },
            "required": ["value", "unit"],
            "additionalProperties": false
        });
        if is_dimensionless::<K>() {
            let mut text = text;
            // A fraction may be written without a unit ("0.98").
            text.insert(
                "pattern".into(),
                "^\\s*[+\\-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)".into(),
            );
            json_schema!({
                "description": description,
                "oneOf": [{"type": "number"}, text, object]
            })
        } else {
            json_schema!({
                "description": description,
                "oneOf": [text, object]
            })
        }
    }
}
