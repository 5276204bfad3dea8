//! Readings batches: read from JSON (`{"readings":[{"time","tag","value","quality"?}]}`) or
//! CSV (`time,tag,value[,quality]`), every item checked against the facility's tag map, then
//! stored in one transaction. The API and `thermaliq ingest` share this path.
//!
//! A batch with a bad item is refused whole and nothing is stored; in partial mode the good
//! items are stored and the bad ones reported. Items are read field by field (not through a
//! derived struct) so one malformed item names its index and field instead of failing the
//! whole document, and so that strings are borrowed from the body without copying.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use store::{IngestCounts, Quality, Reading, Store};

use super::error::{ApiError, ApiResult};
use super::times::parse_rfc3339_us;
use crate::facility::FacilitySpec;

/// Where a refused item sits in the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Index in the JSON `readings` array, from 0.
    Item(usize),
    /// Line of the CSV text, from 1 (the header is line 1).
    Line(u64),
}

/// One refused item.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    /// Where it is.
    #[serde(flatten)]
    pub position: Position,
    /// The field at fault: `time`, `tag`, `value`, `quality`, or the item itself.
    pub field: String,
    /// Why.
    pub message: String,
}

impl ItemError {
    /// The field's full name (`readings[3].value`, `line 7: value`), for the error's `field`.
    pub fn path(&self) -> String {
        match self.position {
            Position::Item(i) => format!("readings[{i}].{}", self.field),
            Position::Line(n) => format!("line {n}: {}", self.field),
        }
    }
}

/// A checked batch: the good readings and the refusals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checked {
    /// Items read.
    pub received: u64,
    /// The valid readings, in batch order.
    pub readings: Vec<Reading>,
    /// The refused items, in batch order.
    pub errors: Vec<ItemError>,
}

/// What happened to a batch, as the API answers it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Items in the batch.
    pub received: u64,
    /// Readings stored that were new.
    pub inserted: u64,
    /// Readings that replaced a stored value (a later value for the same tag and time).
    pub corrected: u64,
    /// Readings identical to what was stored.
    pub unchanged: u64,
    /// Items refused (not stored).
    pub rejected: u64,
    /// Why each refused item was refused.
    pub errors: Vec<ItemError>,
}

impl IngestReport {
    /// Adds another batch's report (the CLI reports a file as one batch).
    pub fn add(&mut self, other: IngestReport) {
        self.received += other.received;
        self.inserted += other.inserted;
        self.corrected += other.corrected;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.errors.extend(other.errors);
    }
}

/// The tags a facility accepts readings for.
pub struct TagSet<'a>(HashSet<&'a str>);

impl<'a> TagSet<'a> {
    /// Every metered tag of the spec.
    pub fn of(spec: &'a FacilitySpec) -> Self {
        Self(spec.tag_names().into_iter().collect())
    }

    fn check(&self, tag: &str) -> Result<(), String> {
        if self.0.contains(tag) {
            Ok(())
        } else {
            Err(format!("tag {tag:?} is not in the facility's tag map"))
        }
    }
}

/// Why one field was refused.
struct FieldError {
    field: &'static str,
    message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

fn parse_time(text: &str) -> Result<i64, FieldError> {
    parse_rfc3339_us(text.trim()).ok_or_else(|| {
        field_error(
            "time",
            format!("{text:?} is not an RFC 3339 time such as 2025-11-01T00:00:00Z"),
        )
    })
}

fn parse_quality(text: &str) -> Result<Quality, FieldError> {
    Quality::parse(text.trim()).ok_or_else(|| {
        field_error(
            "quality",
            format!("{text:?} is not one of good, uncertain, bad"),
        )
    })
}

fn finite(value: f64) -> Result<f64, FieldError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(field_error(
            "value",
            format!("{value} is not a finite number"),
        ))
    }
}

// ---- JSON ----

/// A JSON scalar as written, strings borrowed from the body when they have no escapes.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    /// Anything else, by the name of its JSON type.
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other("a boolean"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other("null"))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an object"))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl Scalar<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::Num(_) => "a number",
            Self::Other(k) => k,
        }
    }
}

/// A key of a reading object.
enum Key {
    Time,
    Tag,
    Value,
    Quality,
    Unknown(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "time" => Key::Time,
                    "tag" => Key::Tag,
                    "value" => Key::Value,
                    "quality" => Key::Quality,
                    other => Key::Unknown(other.to_string()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// One element of `readings` as written.
enum JsonItem<'a> {
    Object {
        time: Option<Scalar<'a>>,
        tag: Option<Scalar<'a>>,
        value: Option<Scalar<'a>>,
        quality: Option<Scalar<'a>>,
        unknown: Option<String>,
    },
    NotObject(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonItem<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a reading object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut time, mut tag, mut value, mut quality, mut unknown) =
                    (None, None, None, None, None);
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Time => time = Some(map.next_value()?),
                        Key::Tag => tag = Some(map.next_value()?),
                        Key::Value => value = Some(map.next_value()?),
                        Key::Quality => quality = Some(map.next_value()?),
                        Key::Unknown(name) => {
                            map.next_value::<IgnoredAny>()?;
                            unknown.get_or_insert(name);
                        }
                    }
                }
                Ok(JsonItem::Object {
                    time,
                    tag,
                    value,
                    quality,
                    unknown,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonItem::NotObject("an array"))
            }
            fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("a string"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("a string"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("a number"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("a number"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("a boolean"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonItem::NotObject("null"))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBatch<'a> {
    #[serde(borrow)]
    readings: Vec<JsonItem<'a>>,
}

fn string_field<'s>(
    field: &'static str,
    s: &'s Option<Scalar<'_>>,
) -> Result<Option<&'s str>, FieldError> {
    match s {
        None | Some(Scalar::Other("null")) => Ok(None),
        Some(Scalar::Str(v)) => Ok(Some(v)),
        Some(other) => Err(field_error(
            field,
            format!("expected a string, found {}", other.kind()),
        )),
    }
}

fn json_reading(item: &JsonItem<'_>, tags: &TagSet<'_>) -> Result<Reading, FieldError> {
    let (time, tag, value, quality, unknown) = match item {
        JsonItem::NotObject(kind) => {
            return Err(field_error(
                "item",
                format!("expected an object {{time, tag, value, quality?}}, found {kind}"),
            ));
        }
        JsonItem::Object {
            time,
            tag,
            value,
            quality,
            unknown,
        } => (time, tag, value, quality, unknown),
    };
    if let Some(name) = unknown {
        return Err(field_error(
            "item",
            format!("unknown field {name:?}; expected time, tag, value, quality"),
        ));
    }
    let time_us =
        parse_time(string_field("time", time)?.ok_or_else(|| field_error("time", "missing"))?)?;
    let tag = string_field("tag", tag)?.ok_or_else(|| field_error("tag", "missing"))?;
    tags.check(tag).map_err(|m| field_error("tag", m))?;
    let value = match value {
        Some(Scalar::Num(v)) => finite(*v)?,
        None => return Err(field_error("value", "missing")),
        Some(other) => {
            return Err(field_error(
                "value",
                format!("expected a number, found {}", other.kind()),
            ));
        }
    };
    let quality = match string_field("quality", quality)? {
        None => Quality::Good,
        Some(q) => parse_quality(q)?,
    };
    Ok(Reading {
        tag: tag.to_string(),
        time_us,
        value,
        quality,
    })
}

/// Reads and checks a JSON batch: 400 when the body is not JSON, 422 when it is not
/// `{"readings":[...]}`; item errors are collected, not raised.
pub fn check_json(bytes: &[u8], tags: &TagSet<'_>) -> ApiResult<Checked> {
    let batch: JsonBatch<'_> = super::extract::parse_json(bytes)?;
    let mut checked = Checked {
        received: batch.readings.len() as u64,
        readings: Vec::with_capacity(batch.readings.len()),
        errors: Vec::new(),
    };
    for (i, item) in batch.readings.iter().enumerate() {
        match json_reading(item, tags) {
            Ok(r) => checked.readings.push(r),
            Err(e) => checked.errors.push(ItemError {
                position: Position::Item(i),
                field: e.field.to_string(),
                message: e.message,
            }),
        }
    }
    Ok(checked)
}

// ---- CSV ----

/// Columns of a CSV batch, found from its header.
#[derive(Debug, Clone, Copy)]
pub struct CsvColumns {
    time: usize,
    tag: usize,
    value: usize,
    quality: Option<usize>,
    width: usize,
}

impl CsvColumns {
    /// Reads the header `time,tag,value[,quality]` (any order, case-insensitive).
    pub fn from_header(header: &csv::ByteRecord) -> ApiResult<Self> {
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let bad = || {
            ApiError::bad_request(
                "malformed_csv",
                format!(
                    "the CSV header must be time,tag,value[,quality]; found {:?}",
                    names.join(",")
                ),
            )
            .with_field("header")
        };
        if names
            .iter()
            .any(|n| !["time", "tag", "value", "quality"].contains(&n.as_str()))
        {
            return Err(bad());
        }
        Ok(Self {
            time: find("time").ok_or_else(bad)?,
            tag: find("tag").ok_or_else(bad)?,
            value: find("value").ok_or_else(bad)?,
            quality: find("quality"),
            width: names.len(),
        })
    }

    /// Checks one CSV record.
    pub fn reading(
        &self,
        record: &csv::ByteRecord,
        tags: &TagSet<'_>,
    ) -> Result<Reading, ItemError> {
        let line = record.position().map_or(0, |p| p.line());
        self.read(record, tags).map_err(|e| ItemError {
            position: Position::Line(line),
            field: e.field.to_string(),
            message: e.message,
        })
    }

    fn read(&self, record: &csv::ByteRecord, tags: &TagSet<'_>) -> Result<Reading, FieldError> {
        if record.len() != self.width {
            return Err(field_error(
                "line",
                format!("{} fields; the header has {}", record.len(), self.width),
            ));
        }
        let text = |field: &'static str, i: usize| -> Result<&str, FieldError> {
            std::str::from_utf8(&record[i])
                .map(str::trim)
                .map_err(|_| field_error(field, "not UTF-8 text"))
        };
        let time_us = parse_time(text("time", self.time)?)?;
        let tag = text("tag", self.tag)?;
        tags.check(tag).map_err(|m| field_error("tag", m))?;
        let raw = text("value", self.value)?;
        let value = raw
            .parse::<f64>()
            .map_err(|_| field_error("value", format!("{raw:?} is not a number")))
            .and_then(finite)?;
        let quality = match self.quality {
            Some(i) if !text("quality", i)?.is_empty() => parse_quality(text("quality", i)?)?,
            _ => Quality::Good,
        };
        Ok(Reading {
            tag: tag.to_string(),
            time_us,
            value,
            quality,
        })
    }
}

/// A CSV reader configured for readings (header row, any field count so a short line is an
/// item error rather than a failure of the whole text).
pub fn csv_reader<R: std::io::Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input)
}

/// Reads and checks a CSV batch: 400 when it cannot be read as CSV with the header
/// `time,tag,value[,quality]`; item errors are collected, not raised.
pub fn check_csv(bytes: &[u8], tags: &TagSet<'_>) -> ApiResult<Checked> {
    let malformed = |e: csv::Error| {
        ApiError::bad_request("malformed_csv", format!("the body is not valid CSV: {e}"))
    };
    let mut reader = csv_reader(bytes);
    let columns = CsvColumns::from_header(reader.byte_headers().map_err(malformed)?)?;
    let mut checked = Checked::default();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(malformed)? {
        checked.received += 1;
        match columns.reading(&record, tags) {
            Ok(r) => checked.readings.push(r),
            Err(e) => checked.errors.push(e),
        }
    }
    Ok(checked)
}

/// Stores a checked batch: refused whole (422, nothing stored) when an item was refused,
/// unless `partial`, which stores the good readings and reports the bad ones. The store
/// commits before this returns.
pub async fn store_checked(
    store: &Store,
    facility_id: &str,
    checked: Checked,
    partial: bool,
) -> ApiResult<IngestReport> {
    if checked.received == 0 {
        return Err(ApiError::invalid("readings", "the batch holds no readings"));
    }
    if !checked.errors.is_empty() && !partial {
        let first = checked.errors[0].path();
        let message = format!(
            "{} of {} readings refused ({}); nothing was stored. Fix them, or send \
             ?partial=true to store the good ones",
            checked.errors.len(),
            checked.received,
            checked.errors[0].message
        );
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_readings",
            message,
        )
        .with_field(first)
        .with_details(serde_json::json!({
            "received": checked.received,
            "rejected": checked.errors.len(),
            "errors": checked.errors,
        })));
    }
    let counts = if checked.readings.is_empty() {
        IngestCounts::default()
    } else {
        store
            .insert_readings(facility_id, &checked.readings)
            .await?
    };
    Ok(IngestReport {
        received: checked.received,
        inserted: counts.inserted,
        corrected: counts.corrected,
        unchanged: counts.unchanged,
        rejected: checked.errors.len() as u64,
        errors: checked.errors,
    })
}
