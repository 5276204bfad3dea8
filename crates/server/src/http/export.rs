//! `GET /calculations/export`: stored calculations as CSV or JSON, filtered like
//! `GET /calculations`, oldest first, streamed page by page so that a large export never sits
//! in memory whole. Also the export document of one calculation ([`export_document`]), which
//! is what the ERP export delivers: the JSON export is an array of the same documents, and a
//! CSV row is the same document flattened (columns in [`CSV_COLUMNS`], docs/CONNECTORS.md, "ERP export").

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{CalculationFilter, CalculationRecord, CalculationStatus, Page};
use thermo::results::LossKind;

use super::AppState;
use super::auth::{Auth, Viewer};
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::times::{format_us, parse_rfc3339_us};

/// Name of the export document's format, sent in every document.
pub const EXPORT_SCHEMA: &str = "thermaliq.calculation-export.v1";

/// Records read per page: a page's documents (several kB each) are what the export holds in
/// memory at once.
const PAGE_SIZE: u32 = 100;

/// Columns of the CSV export, in order; the `loss_*` columns follow `LossKind::ALL`.
pub const CSV_COLUMNS: [&str; 23] = [
    "calculation_id",
    "facility_id",
    "period_start",
    "period_end",
    "status",
    "efficiency_percent_hhv",
    "energy_balance_percent",
    "fuel_input_W_hhv",
    "useful_output_W",
    "loss_dry_flue_gas_percent_hhv",
    "loss_water_from_hydrogen_percent_hhv",
    "loss_moisture_in_fuel_percent_hhv",
    "loss_moisture_in_air_percent_hhv",
    "loss_carbon_monoxide_percent_hhv",
    "loss_unburned_carbon_percent_hhv",
    "loss_surface_percent_hhv",
    "loss_blowdown_percent_hhv",
    "unaccounted_percent_hhv",
    "provenance_hash",
    "method_version",
    "service_version",
    "created_at",
    "failure_reason",
];

/// A calculation as exported: identity, period, the HHV efficiency with its basis, the
/// facility's losses, and provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportDocument {
    /// [`EXPORT_SCHEMA`].
    pub schema: &'static str,
    /// Calculation id; the ERP delivery's idempotency key.
    pub calculation_id: String,
    /// Facility id.
    pub facility_id: String,
    /// The period calculated.
    pub period: ExportPeriod,
    /// `completed` or `failed`.
    pub status: &'static str,
    /// The facility's efficiency.
    pub efficiency: ExportEfficiency,
    /// Energy-balance closure error, percent of the fuel input, HHV; null when failed.
    pub energy_balance_percent: Option<f64>,
    /// Fuel input, W, HHV basis; null when the document has none.
    #[serde(rename = "fuel_input_W_hhv")]
    pub fuel_input_w_hhv: Option<f64>,
    /// Useful heat output, W.
    #[serde(rename = "useful_output_W")]
    pub useful_output_w: Option<f64>,
    /// The losses of the heat-loss method, summed over the facility's units.
    pub losses: ExportLosses,
    /// SHA-256 over the canonical inputs and method version.
    pub provenance_hash: String,
    /// Version of the calculation method.
    pub method_version: String,
    /// Version of the service that calculated.
    pub service_version: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Why a failed calculation failed.
    pub failure_reason: Option<String>,
}

/// A period, RFC 3339 UTC, end exclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportPeriod {
    /// Start.
    pub start: String,
    /// End (exclusive).
    pub end: String,
}

/// An efficiency with the basis and method that define it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportEfficiency {
    /// Percent; null when the calculation failed.
    pub value_percent: Option<f64>,
    /// `HHV`: percent of the fuel's higher (gross) heating value.
    pub basis: &'static str,
    /// `input-output`: useful output over fuel input, facility roll-up.
    pub method: &'static str,
}

/// The facility's losses on one basis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportLosses {
    /// `HHV`.
    pub basis: &'static str,
    /// Each loss present in the units' documents, in reporting order.
    pub items: Vec<ExportLoss>,
    /// Heat neither delivered nor explained by a loss, percent of the fuel input (signed).
    pub unaccounted_percent_of_fuel_input: Option<f64>,
}

/// One loss summed over the facility's units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportLoss {
    /// Stable name (`dry_flue_gas`, ...).
    pub name: &'static str,
    /// Heat rate lost, W.
    #[serde(rename = "heat_rate_W")]
    pub heat_rate_w: f64,
    /// Percent of the facility's fuel input.
    pub percent_of_fuel_input: Option<f64>,
}

/// The export document of a stored calculation. Figures the stored result does not hold
/// (a failed calculation, a document of another shape) are null, never made up.
pub fn export_document(record: &CalculationRecord) -> ExportDocument {
    let result = &record.result;
    let summary = &result["summary"];
    let fuel_input = summary["fuel_input_W"]["HHV"].as_f64();
    let mut items = Vec::new();
    for kind in LossKind::ALL {
        let mut total = None;
        for unit in result["equipment"].as_array().into_iter().flatten() {
            for loss in unit["result"]["energy_balance"]["losses"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if loss["name"] == kind.as_str()
                    && let Some(w) = loss["W"]["HHV"].as_f64()
                {
                    total = Some(total.unwrap_or(0.0) + w);
                }
            }
        }
        if let Some(heat_rate_w) = total {
            items.push(ExportLoss {
                name: kind.as_str(),
                heat_rate_w,
                percent_of_fuel_input: fuel_input
                    .filter(|f| *f > 0.0)
                    .map(|f| 100.0 * heat_rate_w / f),
            });
        }
    }
    ExportDocument {
        schema: EXPORT_SCHEMA,
        calculation_id: record.id.clone(),
        facility_id: record.facility_id.clone(),
        period: ExportPeriod {
            start: format_us(record.period_start_us),
            end: format_us(record.period_end_us),
        },
        status: record.status.as_str(),
        efficiency: ExportEfficiency {
            value_percent: record.efficiency,
            basis: "HHV",
            method: "input-output",
        },
        energy_balance_percent: record.energy_balance_percent,
        fuel_input_w_hhv: fuel_input,
        useful_output_w: summary["useful_output_W"].as_f64(),
        losses: ExportLosses {
            basis: "HHV",
            items,
            unaccounted_percent_of_fuel_input: summary["closure_percent"]["HHV"].as_f64(),
        },
        provenance_hash: record.provenance_hash.clone(),
        method_version: record.method_version.clone(),
        service_version: record.service_version.clone(),
        created_at: format_us(record.created_at_us),
        failure_reason: record.failure_reason.clone(),
    }
}

/// [`export_document`] as JSON, the body the ERP export sends.
pub fn erp_document(record: &CalculationRecord) -> Value {
    serde_json::to_value(export_document(record)).unwrap_or(Value::Null)
}

/// The CSV fields of a document, in [`CSV_COLUMNS`] order; an absent figure is empty.
fn csv_fields(doc: &ExportDocument) -> Vec<String> {
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    let mut fields = vec![
        doc.calculation_id.clone(),
        doc.facility_id.clone(),
        doc.period.start.clone(),
        doc.period.end.clone(),
        doc.status.to_string(),
        number(doc.efficiency.value_percent),
        number(doc.energy_balance_percent),
        number(doc.fuel_input_w_hhv),
        number(doc.useful_output_w),
    ];
    for kind in LossKind::ALL {
        let loss = doc.losses.items.iter().find(|l| l.name == kind.as_str());
        fields.push(number(loss.and_then(|l| l.percent_of_fuel_input)));
    }
    fields.push(number(doc.losses.unaccounted_percent_of_fuel_input));
    fields.push(doc.provenance_hash.clone());
    fields.push(doc.method_version.clone());
    fields.push(doc.service_version.clone());
    fields.push(doc.created_at.clone());
    fields.push(doc.failure_reason.clone().unwrap_or_default());
    fields
}

/// Query of `GET /calculations/export`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `csv` or `json` (default `json`).
    pub format: Option<String>,
    /// Only this facility.
    pub facility_id: Option<String>,
    /// `completed` or `failed`.
    pub status: Option<String>,
    /// Only periods ending after this time (RFC 3339): the period overlaps [from, to).
    pub from: Option<String>,
    /// Only periods starting before this time (RFC 3339).
    pub to: Option<String>,
}

/// The two export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

impl Format {
    /// The chunk that opens the body.
    fn head(self) -> Bytes {
        match self {
            Self::Csv => Bytes::from(format!("{}\r\n", CSV_COLUMNS.join(","))),
            Self::Json => Bytes::from_static(b"["),
        }
    }

    /// The chunk of one page; `first` tells whether a document came before.
    fn page(self, items: &[CalculationRecord], mut first: bool) -> Result<Bytes, String> {
        match self {
            Self::Csv => {
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(Vec::new());
                for record in items {
                    writer
                        .write_record(csv_fields(&export_document(record)))
                        .map_err(|e| e.to_string())?;
                }
                writer
                    .into_inner()
                    .map(Bytes::from)
                    .map_err(|e| e.to_string())
            }
            Self::Json => {
                let mut out = Vec::new();
                for record in items {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    serde_json::to_writer(&mut out, &export_document(record))
                        .map_err(|e| e.to_string())?;
                }
                Ok(Bytes::from(out))
            }
        }
    }

    /// The chunk that closes the body.
    fn tail(self) -> Bytes {
        match self {
            Self::Csv => Bytes::new(),
            Self::Json => Bytes::from_static(b"]"),
        }
    }
}

/// One calculation as CSV: the export's header row and its row (the web application's
/// download of one calculation).
pub fn csv_document(record: &CalculationRecord) -> Result<Bytes, String> {
    let mut out = Format::Csv.head().to_vec();
    out.extend_from_slice(&Format::Csv.page(std::slice::from_ref(record), true)?);
    Ok(Bytes::from(out))
}

fn time_param(name: &str, value: Option<&String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            parse_rfc3339_us(v)
                .ok_or_else(|| ApiError::invalid(name, format!("{v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

/// Where the stream stands between pages.
struct Cursor {
    filter: CalculationFilter,
    /// The page read before streaming started (so that its errors are JSON answers).
    ready: Option<Page<CalculationRecord>>,
    /// Whether the opening chunk has been written.
    started: bool,
    /// Whether no document has been written yet.
    first: bool,
    /// Whether the closing chunk has been written.
    closed: bool,
}

/// Calculations as CSV or JSON, oldest first, filtered by facility, status and period.
#[utoipa::path(get, path = "/calculations/export", tag = "calculations",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "A JSON array of export documents, or CSV with a header \
            row (columns in docs/CONNECTORS.md)", content_type = "text/csv", body = String),
        (status = 401, body = super::routes::ErrorBody),
        (status = 422, description = "A parameter is not acceptable; `field` names it",
            body = super::routes::ErrorBody)))]
pub async fn export_calculations(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("{other:?} is not csv or json"),
            ));
        }
    };
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CalculationStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", format!("{s:?} is not completed or failed"))
            })
        })
        .transpose()?;
    let from = time_param("from", q.from.as_ref())?;
    let to = time_param("to", q.to.as_ref())?;
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let filter = CalculationFilter {
        facility_id: q.facility_id.clone(),
        status,
        period_from_us: from,
        period_to_us: to,
        limit: Some(PAGE_SIZE),
        cursor: None,
    };
    let first_page = state.store.export_calculations(&filter).await?;
    let store = state.store.clone();
    let start = Cursor {
        filter,
        ready: Some(first_page),
        started: false,
        first: true,
        closed: false,
    };
    let chunks = futures_util::stream::try_unfold(start, move |mut at| {
        let store = store.clone();
        async move {
            if at.closed {
                return Ok(None);
            }
            let page = match at.ready.take() {
                Some(page) => page,
                None => match at.filter.cursor {
                    Some(_) => store.export_calculations(&at.filter).await.map_err(|e| {
                        tracing::error!(error = %e, "export stopped: the store failed mid-stream");
                        std::io::Error::other(e.to_string())
                    })?,
                    None => {
                        at.closed = true;
                        return Ok(Some((format.tail(), at)));
                    }
                },
            };
            let mut chunk = Vec::new();
            if !at.started {
                chunk.extend_from_slice(&format.head());
                at.started = true;
            }
            chunk.extend_from_slice(
                &format
                    .page(&page.items, at.first)
                    .map_err(std::io::Error::other)?,
            );
            at.first &= page.items.is_empty();
            at.filter.cursor = page.next_cursor;
            Ok::<_, std::io::Error>(Some((Bytes::from(chunk), at)))
        }
    });
    let (content_type, disposition) = match format {
        Format::Csv => (
            "text/csv; charset=utf-8",
            "attachment; filename=\"thermaliq-calculations.csv\"",
        ),
        Format::Json => ("application/json", "inline"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static(disposition),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(result: Value) -> CalculationRecord {
        CalculationRecord {
            id: "CALC-0001".into(),
            facility_id: "FAC-1".into(),
            period_start_us: 1_761_955_200_000_000,
            period_end_us: 1_761_958_800_000_000,
            status: CalculationStatus::Completed,
            efficiency: Some(84.0),
            energy_balance_percent: Some(2.0),
            provenance_hash: "ab".repeat(32),
            input_hash: "ab".repeat(32),
            method_version: "1.0.0".into(),
            service_version: "0.1.0".into(),
            equipment_ids: vec!["B-1".into(), "B-2".into()],
            request: json!({}),
            result,
            failure_reason: None,
            created_at_us: 1_761_958_801_000_000,
        }
    }

    #[test]
    fn losses_are_summed_over_units_as_percent_of_the_facility_fuel_input() {
        let unit = |dry: f64, surface: f64| {
            json!({"result": {"energy_balance": {"losses": [
                {"name": "dry_flue_gas", "W": {"HHV": dry, "LHV": 0.0}},
                {"name": "surface", "W": {"HHV": surface, "LHV": 0.0}},
            ]}}})
        };
        let doc = export_document(&record(json!({
            "summary": {"fuel_input_W": {"HHV": 2.0e6}, "useful_output_W": 1.68e6,
                        "closure_percent": {"HHV": -0.5}},
            "equipment": [unit(1.0e5, 1.0e4), unit(5.0e4, 1.0e4)],
        })));
        let names: Vec<&str> = doc.losses.items.iter().map(|l| l.name).collect();
        assert_eq!(names, ["dry_flue_gas", "surface"]);
        assert_eq!(doc.losses.items[0].heat_rate_w, 1.5e5);
        assert_eq!(doc.losses.items[0].percent_of_fuel_input, Some(7.5));
        assert_eq!(doc.losses.items[1].percent_of_fuel_input, Some(1.0));
        let fields = csv_fields(&doc);
        assert_eq!(fields.len(), CSV_COLUMNS.len());
        let column = |name: &str| &fields[CSV_COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(column("efficiency_percent_hhv"), "84");
        assert_eq!(column("loss_dry_flue_gas_percent_hhv"), "7.5");
        assert_eq!(column("loss_blowdown_percent_hhv"), "");
        assert_eq!(column("unaccounted_percent_hhv"), "-0.5");
        assert_eq!(column("period_start"), "2025-11-01T00:00:00Z");
    }

    #[test]
    fn a_document_without_figures_exports_nulls_not_numbers() {
        let doc = export_document(&record(json!({})));
        assert!(doc.losses.items.is_empty());
        assert_eq!((doc.fuel_input_w_hhv, doc.useful_output_w), (None, None));
        let value = erp_document(&record(json!({})));
        assert_eq!(value["efficiency"]["basis"], "HHV");
        assert_eq!(value["efficiency"]["value_percent"], 84.0);
        assert_eq!(value["fuel_input_W_hhv"], Value::Null);
    }

    #[test]
    fn the_loss_columns_follow_the_loss_kinds() {
        let loss_columns: Vec<String> = LossKind::ALL
            .iter()
            .map(|k| format!("loss_{}_percent_hhv", k.as_str()))
            .collect();
        assert_eq!(CSV_COLUMNS[9..17], loss_columns[..]);
    }
}
