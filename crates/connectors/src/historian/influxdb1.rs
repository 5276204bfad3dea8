//! InfluxDB 1.x over its HTTP API: one `/query` request per time window, carrying one
//! InfluxQL `SELECT` per group of series that share a measurement and tag values, answered
//! in chunked JSON with microsecond timestamps (`epoch=u`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use store::{Quality, Reading};

use super::config::{HistorianSeries, HistorianSource};
use super::{Historian, HistorianError, Pulled};

/// Rows per chunk of a chunked answer: InfluxDB then never truncates an answer to its
/// `max-row-limit`, and each JSON object stays small.
const CHUNK_ROWS: u32 = 10_000;

/// Credentials of an InfluxDB user.
#[derive(Clone)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A password must not reach a log line through a debug print.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Where one configured series is found in the answer of its statement.
#[derive(Debug)]
struct Target {
    /// Index into the source's series.
    series: usize,
    /// Column of the value, counting `time` as column 0.
    value: usize,
    /// Column of the quality field, if any.
    quality: Option<usize>,
}

/// One `SELECT`: the fields of series sharing a measurement and tag values.
#[derive(Debug)]
struct Statement {
    /// The statement without its time condition, ending in `WHERE ` or `AND `.
    head: String,
    /// The selected fields, in column order after `time`.
    fields: Vec<String>,
    targets: Vec<Target>,
}

/// An InfluxDB 1.x database holding a source's series.
#[derive(Debug)]
pub struct InfluxDb1 {
    client: reqwest::Client,
    query_url: reqwest::Url,
    database: String,
    credentials: Option<Credentials>,
    tags: Vec<String>,
    statements: Vec<Statement>,
}

impl InfluxDb1 {
    /// A client for `source` (validated) with an HTTP `client` whose timeout is the
    /// source's.
    pub fn new(
        source: &HistorianSource,
        client: reqwest::Client,
        credentials: Option<Credentials>,
    ) -> Result<Self, HistorianError> {
        let base = reqwest::Url::parse(&source.url)
            .map_err(|e| HistorianError::Protocol(format!("url {:?}: {e}", source.url)))?;
        // A base with a path (behind a reverse proxy) keeps it: `/influx` → `/influx/query`.
        let mut query_url = base.clone();
        query_url.set_path(&format!("{}/query", base.path().trim_end_matches('/')));
        Ok(Self {
            client,
            query_url,
            database: source.database.clone(),
            credentials,
            tags: source.series.iter().map(|s| s.tag.clone()).collect(),
            statements: plan(&source.series),
        })
    }

    /// The InfluxQL text reading [start_us, end_us): one statement per group, `;`-separated.
    pub fn query_text(&self, start_us: i64, end_us: i64) -> String {
        let mut q = String::new();
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                q.push_str("; ");
            }
            // Writing to a String cannot fail.
            let _ = write!(q, "{}time >= {start_us}u AND time < {end_us}u", s.head);
        }
        q
    }

    fn read_answer(&self, body: &[u8], out: &mut Pulled) -> Result<(), HistorianError> {
        for object in serde_json::Deserializer::from_slice(body).into_iter::<Answer>() {
            let answer = object.map_err(|e| {
                HistorianError::Protocol(format!("the answer is not InfluxDB's JSON: {e}"))
            })?;
            if let Some(e) = answer.error {
                return Err(HistorianError::Query(e));
            }
            for result in answer.results {
                if let Some(e) = result.error {
                    return Err(HistorianError::Query(e));
                }
                let statement = self.statements.get(result.statement_id).ok_or_else(|| {
                    HistorianError::Protocol(format!(
                        "an answer to statement {} of {} sent",
                        result.statement_id,
                        self.statements.len()
                    ))
                })?;
                for series in result.series {
                    self.read_series(statement, &series, out)?;
                }
            }
        }
        Ok(())
    }

    fn read_series(
        &self,
        statement: &Statement,
        series: &AnswerSeries,
        out: &mut Pulled,
    ) -> Result<(), HistorianError> {
        let expected = statement.fields.len() + 1;
        if series.columns.len() != expected
            || series.columns.first().map(String::as_str) != Some("time")
        {
            return Err(HistorianError::Protocol(format!(
                "columns {:?} answered, time and {:?} asked",
                series.columns, statement.fields
            )));
        }
        for row in &series.values {
            let Some(time_us) = row.first().and_then(serde_json::Value::as_i64) else {
                return Err(HistorianError::Protocol(format!(
                    "a row without an integer time: {row:?}"
                )));
            };
            for t in &statement.targets {
                let value = match row.get(t.value) {
                    None | Some(serde_json::Value::Null) => continue,
                    Some(v) => v,
                };
                let Some(value) = value.as_f64().filter(|v| v.is_finite()) else {
                    out.refused.push(format!(
                        "{} at {time_us} µs: {value} is not a finite number",
                        self.tags[t.series]
                    ));
                    continue;
                };
                let quality = t
                    .quality
                    .and_then(|c| row.get(c))
                    .map_or(Quality::Good, quality);
                out.readings.push(Reading {
                    tag: self.tags[t.series].clone(),
                    time_us,
                    value,
                    quality,
                });
            }
        }
        Ok(())
    }
}

impl Historian for InfluxDb1 {
    async fn read(&self, start_us: i64, end_us: i64) -> Result<Pulled, HistorianError> {
        let q = self.query_text(start_us, end_us);
        let chunk_size = CHUNK_ROWS.to_string();
        let mut request = self.client.post(self.query_url.clone()).form(&[
            ("db", self.database.as_str()),
            ("q", q.as_str()),
            ("epoch", "u"),
            ("chunked", "true"),
            ("chunk_size", chunk_size.as_str()),
        ]);
        if let Some(c) = &self.credentials {
            request = request.basic_auth(&c.username, Some(&c.password));
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<Answer>(&body)
                .ok()
                .and_then(|a| a.error)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(HistorianError::Http {
                status: status.as_u16(),
                message,
            });
        }
        let mut out = Pulled::default();
        self.read_answer(&body, &mut out)?;
        Ok(out)
    }
}

/// Groups the series by measurement and tag values, one statement per group, so a window
/// costs one statement per measurement rather than one per tag.
fn plan(series: &[HistorianSeries]) -> Vec<Statement> {
    let mut groups: BTreeMap<(&str, &BTreeMap<String, String>), Vec<usize>> = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        groups
            .entry((s.measurement.as_str(), &s.tags))
            .or_default()
            .push(i);
    }
    groups
        .into_iter()
        .map(|((measurement, tags), members)| {
            let mut fields: Vec<String> = Vec::new();
            let mut column = |name: &str| -> usize {
                let at = fields.iter().position(|f| f == name).unwrap_or_else(|| {
                    fields.push(name.to_string());
                    fields.len() - 1
                });
                at + 1
            };
            let targets = members
                .iter()
                .map(|&i| Target {
                    series: i,
                    value: column(&series[i].field),
                    quality: series[i].quality_field.as_deref().map(&mut column),
                })
                .collect();
            let mut head = String::from("SELECT ");
            for (k, f) in fields.iter().enumerate() {
                if k > 0 {
                    head.push(',');
                }
                head.push_str(&identifier(f));
            }
            head.push_str(" FROM ");
            head.push_str(&identifier(measurement));
            head.push_str(" WHERE ");
            for (k, v) in tags {
                head.push_str(&identifier(k));
                head.push('=');
                head.push_str(&literal(v));
                head.push_str(" AND ");
            }
            Statement {
                head,
                fields,
                targets,
            }
        })
        .collect()
}

/// An InfluxQL double-quoted identifier.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An InfluxQL single-quoted string literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A reading's quality from its quality field: an OPC DA quality code (bits 7-6: 11 good,
/// 01 uncertain, else bad), `good`/`uncertain`/`bad` in any case, or a boolean; anything
/// else says the value is not good. No value at that time says nothing: good.
fn quality(value: &serde_json::Value) -> Quality {
    match value {
        serde_json::Value::Null => Quality::Good,
        serde_json::Value::Bool(true) => Quality::Good,
        serde_json::Value::Bool(false) => Quality::Bad,
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(code) if code <= 0xFFFF => match code & 0xC0 {
                0xC0 => Quality::Good,
                0x40 => Quality::Uncertain,
                _ => Quality::Bad,
            },
            _ => Quality::Bad,
        },
        serde_json::Value::String(s) => {
            Quality::parse(&s.to_ascii_lowercase()).unwrap_or(Quality::Bad)
        }
        _ => Quality::Bad,
    }
}

fn transport(e: reqwest::Error) -> HistorianError {
    if e.is_timeout() {
        HistorianError::Timeout(e.to_string())
    } else if e.is_connect() {
        HistorianError::Connection(error_chain(&e))
    } else {
        HistorianError::Transport(error_chain(&e))
    }
}

/// The error and its causes: reqwest's own text ("error sending request") hides the reason.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One JSON object of an answer (a chunked answer is several in a row).
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<AnswerResult>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct AnswerResult {
    #[serde(default)]
    statement_id: usize,
    #[serde(default)]
    series: Vec<AnswerSeries>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct AnswerSeries {
    #[serde(default)]
    columns: Vec<String>,
    #[serde(default)]
    values: Vec<Vec<serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(tag: &str, measurement: &str, field: &str, unit_tag: &str) -> HistorianSeries {
        HistorianSeries {
            tag: tag.into(),
            measurement: measurement.into(),
            field: field.into(),
            tags: BTreeMap::from([("unit".to_string(), unit_tag.to_string())]),
            quality_field: Some("q".into()),
            unit: "kg/h".into(),
        }
    }

    #[test]
    fn series_of_one_measurement_and_tag_values_share_a_statement() {
        let s = vec![
            series("A", "boiler", "fuel", "B1"),
            series("B", "boiler", "steam", "B1"),
            series("C", "boiler", "fuel", "B\"2'"),
        ];
        let st = plan(&s);
        assert_eq!(st.len(), 2);
        let (b1, other) = if st[0].head.contains("'B1'") {
            (&st[0], &st[1])
        } else {
            (&st[1], &st[0])
        };
        assert_eq!(b1.fields, ["fuel", "q", "steam"]);
        assert_eq!(
            b1.head,
            "SELECT \"fuel\",\"q\",\"steam\" FROM \"boiler\" WHERE \"unit\"='B1' AND "
        );
        assert_eq!(b1.targets[1].value, 3);
        assert_eq!(b1.targets[1].quality, Some(2));
        assert_eq!(
            other.head,
            "SELECT \"fuel\",\"q\" FROM \"boiler\" WHERE \"unit\"='B\"2\\'' AND "
        );
    }

    #[test]
    fn quality_codes_follow_opc_da_and_names() {
        use serde_json::json;
        assert_eq!(quality(&json!(192)), Quality::Good);
        assert_eq!(quality(&json!(216)), Quality::Good);
        assert_eq!(quality(&json!(0x44)), Quality::Uncertain);
        assert_eq!(quality(&json!(0)), Quality::Bad);
        assert_eq!(quality(&json!(0x80)), Quality::Bad);
        assert_eq!(quality(&json!(1.5)), Quality::Bad);
        assert_eq!(quality(&json!("Uncertain")), Quality::Uncertain);
        assert_eq!(quality(&json!("GOOD")), Quality::Good);
        assert_eq!(quality(&json!("stale")), Quality::Bad);
        assert_eq!(quality(&json!(false)), Quality::Bad);
        assert_eq!(quality(&serde_json::Value::Null), Quality::Good);
    }
}
