//! The route handlers, each stating its least role in its signature (`Auth<Operator>`).
//! Every path is relative to `/v1/thermaliq`; the router is built in `super::router`.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use store::{CalculationFilter, CalculationStatus, CalculationSummary, EquipmentFlag};

use super::AppState;
use super::analysis::{self, BenchmarkQuery, SankeyQuery};
use super::auth::{Admin, Auth, Operator, Viewer};
use super::cache::CacheStats;
use super::calculation::{self, CalculateRequest, RecalculateRequest, SERVICE_VERSION, TimePeriod};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery, MediaType, RawBody};
use super::facilities::{self, Applied, FacilitySummary};
use super::ingest::{self, IngestReport, TagSet};
use super::times::{format_us, parse_rfc3339_us};
use crate::facility::{FacilitySpec, Format};

/// Longest time a health or readiness probe waits for the store.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A JSON answer from bytes that are already JSON (stored documents are served as stored).
fn json_bytes(status: StatusCode, bytes: Bytes) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// The API's error body, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The fields of an error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code.
    #[schema(example = "invalid_field")]
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The request field at fault.
    #[schema(example = "time_period.end")]
    pub field: Option<String>,
    /// Structured detail (refused readings, tags short of coverage).
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// `GET /health`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `healthy` or `unhealthy`.
    #[schema(example = "healthy")]
    pub status: &'static str,
    /// Service version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// `ok` or `unavailable`.
    pub store: &'static str,
    /// Store backend (`sqlite`).
    pub backend: &'static str,
    /// Why the store check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Liveness and the store check; 503 when the store does not answer.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await;
    let error = match ping {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("the store did not answer within 2 s".to_string()),
    };
    let status = if error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if error.is_none() {
            "healthy"
        } else {
            "unhealthy"
        },
        version: SERVICE_VERSION,
        store: if error.is_none() { "ok" } else { "unavailable" },
        backend: state.store.backend(),
        error,
    };
    (status, Json(body)).into_response()
}

/// `GET /ready`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Highest applied migration.
    pub migration_version: Option<i64>,
    /// Migrations this binary has that the database lacks.
    pub pending_migrations: usize,
    /// Why the service is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Readiness: 200 only when the store answers, its migrations are current and the service
/// is not shutting down.
#[utoipa::path(get, path = "/ready", tag = "service",
    responses((status = 200, body = Ready), (status = 503, body = Ready)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.lifecycle.is_draining() {
        let body = not_ready("the service is shutting down".into());
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let status = tokio::time::timeout(PROBE_TIMEOUT, async {
        state.store.ping().await?;
        state.store.migration_status().await
    })
    .await;
    let (ok, body) = match status {
        Ok(Ok(m)) => {
            let reason = (!m.is_current).then(|| match m.dirty_version {
                Some(v) => format!("migration {v} is dirty"),
                None => format!("{} migration(s) pending", m.pending.len()),
            });
            (
                m.is_current,
                Ready {
                    status: if m.is_current { "ready" } else { "not_ready" },
                    migration_version: m.current_version,
                    pending_migrations: m.pending.len(),
                    reason,
                },
            )
        }
        Ok(Err(e)) => (false, not_ready(e.to_string())),
        Err(_) => (
            false,
            not_ready("the store did not answer within 2 s".into()),
        ),
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

fn not_ready(reason: String) -> Ready {
    Ready {
        status: "not_ready",
        migration_version: None,
        pending_migrations: 0,
        reason: Some(reason),
    }
}

// ---- facilities ----

/// Every facility.
#[utoipa::path(get, path = "/facilities", tag = "facilities", security(("bearer" = [])),
    responses((status = 200, body = Vec<FacilitySummary>), (status = 401, body = ErrorBody)))]
pub async fn list_facilities(
    _: Auth<Viewer>,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<FacilitySummary>>> {
    let all = state.store.facilities().await?;
    Ok(Json(all.iter().map(FacilitySummary::from).collect()))
}

/// A facility with its spec.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FacilityOut {
    /// The listing fields.
    #[serde(flatten)]
    pub summary: FacilitySummary,
    /// The spec document (docs/FACILITIES.md).
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

/// One facility and its spec.
#[utoipa::path(get, path = "/facilities/{id}", tag = "facilities", security(("bearer" = [])),
    params(("id" = String, Path, description = "Facility id")),
    responses((status = 200, body = FacilityOut), (status = 404, body = ErrorBody)))]
pub async fn get_facility(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<FacilityOut>> {
    let record = state
        .store
        .facility(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("facility {id} not found")))?;
    Ok(Json(FacilityOut {
        summary: FacilitySummary::from(&record),
        spec: record.spec,
    }))
}

/// Creates or replaces a facility from its spec (JSON, TOML or YAML by Content-Type);
/// answers what changed. 201 when created.
#[utoipa::path(put, path = "/facilities/{id}", tag = "facilities", security(("bearer" = [])),
    params(("id" = String, Path, description = "Facility id; must equal the spec's id")),
    request_body(content = Object, description = "Facility spec (docs/FACILITIES.md)"),
    responses((status = 200, body = Applied), (status = 201, body = Applied),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_facility(
    _: Auth<Operator>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: RawBody,
) -> ApiResult<Response> {
    let format = match body.media_type {
        MediaType::Json => Format::Json,
        MediaType::Toml => Format::Toml,
        MediaType::Yaml => Format::Yaml,
        MediaType::Csv => {
            return Err(ApiError::bad_request(
                "unsupported_media_type",
                "a facility spec is JSON, TOML or YAML",
            ));
        }
    };
    let text = std::str::from_utf8(&body.bytes)
        .map_err(|_| ApiError::bad_request("malformed_body", "the body is not UTF-8 text"))?;
    let spec = FacilitySpec::parse(text, format)?;
    if spec.id != id {
        return Err(ApiError::invalid(
            "id",
            format!("the spec's id {} differs from the path's {id}", spec.id),
        ));
    }
    let applied = facilities::apply(&state.store, &spec).await?;
    state.connectors.nudge();
    let status = if applied.outcome == "created" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(applied)).into_response())
}

/// `DELETE /facilities/{id}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Deleted {
    /// The deleted facility.
    pub deleted: String,
}

/// Deletes a facility without readings or calculations (409 otherwise).
#[utoipa::path(delete, path = "/facilities/{id}", tag = "facilities", security(("bearer" = [])),
    params(("id" = String, Path, description = "Facility id")),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete_facility(
    _: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    if !state.store.delete_facility(&id).await? {
        return Err(ApiError::not_found(format!("facility {id} not found")));
    }
    state.connectors.nudge();
    // The facility is gone either way; a cache failure is counted and logged by the cache.
    let _ = state.cache.invalidate(&format!("calculation:{id}:*")).await;
    Ok(Json(Deleted { deleted: id }))
}

// ---- readings ----

/// Query of `POST /facilities/{id}/readings`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReadingsQuery {
    /// `true`: store the good readings of a batch with bad ones and report the bad ones.
    pub partial: Option<String>,
}

fn flag(name: &str, value: Option<&str>) -> ApiResult<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes" | "") => Ok(true),
        Some(other) => Err(ApiError::invalid(
            name,
            format!("{other:?} is not true or false"),
        )),
    }
}

/// Stores a batch of readings (JSON or CSV); a batch with a bad item is refused whole unless
/// `?partial=true`. Committed before the answer.
#[utoipa::path(post, path = "/facilities/{id}/readings", tag = "readings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Facility id"), ReadingsQuery),
    request_body(content = Object, description = "{\"readings\":[{\"time\",\"tag\",\"value\",\"quality\"?}]} as application/json, or text/csv with the header time,tag,value[,quality]"),
    responses((status = 200, body = IngestReport), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn post_readings(
    _: Auth<Operator>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReadingsQuery>,
    body: RawBody,
) -> ApiResult<Json<IngestReport>> {
    let started = std::time::Instant::now();
    let partial = flag("partial", query.partial.as_deref())?;
    let spec = calculation::facility_spec(&state, &id).await?;
    let tags = TagSet::of(&spec);
    let checked = match body.media_type {
        MediaType::Json => ingest::check_json(&body.bytes, &tags)?,
        MediaType::Csv => ingest::check_csv(&body.bytes, &tags)?,
        MediaType::Toml | MediaType::Yaml => {
            return Err(ApiError::bad_request(
                "unsupported_media_type",
                "readings are application/json or text/csv",
            ));
        }
    };
    let checked_in = started.elapsed();
    let report = ingest::store_checked(&state.store, &id, checked, partial).await?;
    tracing::debug!(
        readings = report.received,
        check_ms = checked_in.as_secs_f64() * 1e3,
        store_ms = (started.elapsed() - checked_in).as_secs_f64() * 1e3,
        "readings batch timings"
    );
    Ok(Json(report))
}

// ---- calculations ----

fn calculated(c: calculation::Calculated) -> Response {
    let mut response = json_bytes(StatusCode::OK, c.bytes);
    response.headers_mut().insert(
        "x-thermaliq-cache",
        HeaderValue::from_static(if c.from_cache { "hit" } else { "miss" }),
    );
    response
}

/// Calculates a facility over a period and stores the result. Same inputs calculated before
/// by this version: the cached calculation (same id) is answered. A closure above 10 % is
/// stored and answered (200) with `status: "failed"` and `failure_reason`.
#[utoipa::path(post, path = "/calculate", tag = "calculations", security(("bearer" = [])),
    request_body = CalculateRequest,
    responses((status = 200, description = "The calculation document", body = Object),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn calculate(
    _: Auth<Operator>,
    State(state): State<AppState>,
    body: Result<ApiJson<CalculateRequest>, ApiError>,
) -> ApiResult<Response> {
    let started = std::time::Instant::now();
    // A refused body is a failed calculation request too: the error rate must see it.
    let outcome = match body {
        Ok(ApiJson(req)) => calculation::calculate(&state, &req, None).await,
        Err(e) => Err(e),
    };
    record_calculation(&outcome, started);
    Ok(calculated(outcome?))
}

/// Counts and times a calculation request by its outcome.
pub(crate) fn record_calculation(
    outcome: &ApiResult<calculation::Calculated>,
    started: std::time::Instant,
) {
    let completed = outcome
        .as_ref()
        .map(|c| c.status == CalculationStatus::Completed);
    crate::metrics::record_calculation(completed, started.elapsed());
}

/// Calculates the facility and period of a stored calculation again from the readings stored
/// now; a new calculation referring to the original. Nothing changed: same numbers, same hash.
#[utoipa::path(post, path = "/recalculate", tag = "calculations", security(("bearer" = [])),
    request_body = RecalculateRequest,
    responses((status = 200, description = "The new calculation document", body = Object),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn recalculate(
    _: Auth<Operator>,
    State(state): State<AppState>,
    body: Result<ApiJson<RecalculateRequest>, ApiError>,
) -> ApiResult<Response> {
    let started = std::time::Instant::now();
    let outcome = async {
        let ApiJson(req) = body?;
        recalculated(&state, &req).await
    }
    .await;
    record_calculation(&outcome, started);
    Ok(calculated(outcome?))
}

/// The calculation of `req`'s original facility and period again.
async fn recalculated(
    state: &AppState,
    req: &RecalculateRequest,
) -> ApiResult<calculation::Calculated> {
    let original = state
        .store
        .calculation(&req.original_calculation_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "calculation {} not found",
                req.original_calculation_id
            ))
            .with_field("original_calculation_id")
        })?;
    let again = CalculateRequest {
        facility_id: original.facility_id.clone(),
        time_period: TimePeriod {
            start: format_us(original.period_start_us),
            end: format_us(original.period_end_us),
        },
    };
    calculation::calculate(state, &again, Some(&original)).await
}

/// The complete stored calculation document, efficiency included.
#[utoipa::path(get, path = "/calculations/{id}", tag = "calculations", security(("bearer" = [])),
    params(("id" = String, Path, description = "Calculation id (CALC-...)")),
    responses((status = 200, description = "The calculation document", body = Object),
        (status = 404, body = ErrorBody)))]
pub async fn get_calculation(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(json_bytes(
        StatusCode::OK,
        calculation::document(&state, &id).await?,
    ))
}

/// The Sankey diagram of a stored calculation: `image/svg+xml` (800 px wide), or with
/// `?format=json` the balanced model (nodes and links, W).
#[utoipa::path(get, path = "/calculations/{id}/sankey", tag = "calculations", security(("bearer" = [])),
    params(("id" = String, Path, description = "Calculation id (CALC-...)"), SankeyQuery),
    responses((status = 200, description = "The diagram", content_type = "image/svg+xml", body = String),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn calculation_sankey(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SankeyQuery>,
) -> ApiResult<Response> {
    analysis::sankey(&state, &id, &q).await
}

/// Each unit of a stored calculation against its published efficiency benchmark.
#[utoipa::path(get, path = "/calculations/{id}/benchmark", tag = "calculations", security(("bearer" = [])),
    params(("id" = String, Path, description = "Calculation id (CALC-...)"), BenchmarkQuery),
    responses((status = 200, description = "Per-unit comparison", body = Object),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn calculation_benchmark(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<BenchmarkQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(analysis::benchmark(&state, &id, &q).await?))
}

/// Query of `GET /calculations`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only this facility.
    pub facility_id: Option<String>,
    /// `completed` or `failed`.
    pub status: Option<String>,
    /// Only periods ending after this time (RFC 3339).
    pub from: Option<String>,
    /// Only periods starting before this time (RFC 3339).
    pub to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A listed calculation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CalculationItem {
    /// Id.
    pub calculation_id: String,
    /// Facility.
    pub facility_id: String,
    /// Period.
    pub time_period: TimePeriod,
    /// `completed` or `failed`.
    pub status: &'static str,
    /// Efficiency, percent HHV (null when failed).
    pub efficiency: Option<f64>,
    /// Energy-balance closure, percent (null when failed).
    pub energy_balance_percent: Option<f64>,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

impl From<&CalculationSummary> for CalculationItem {
    fn from(s: &CalculationSummary) -> Self {
        Self {
            calculation_id: s.id.clone(),
            facility_id: s.facility_id.clone(),
            time_period: TimePeriod {
                start: format_us(s.period_start_us),
                end: format_us(s.period_end_us),
            },
            status: s.status.as_str(),
            efficiency: s.efficiency,
            energy_balance_percent: s.energy_balance_percent,
            created_at: format_us(s.created_at_us),
        }
    }
}

/// A page of calculations, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CalculationPage {
    /// The calculations.
    pub items: Vec<CalculationItem>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

fn time_param(name: &str, value: Option<&String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            parse_rfc3339_us(v)
                .ok_or_else(|| ApiError::invalid(name, format!("{v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

/// Calculations, newest first, filtered by facility, status and period, paged by cursor.
#[utoipa::path(get, path = "/calculations", tag = "calculations", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = CalculationPage), (status = 422, body = ErrorBody)))]
pub async fn list_calculations(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<CalculationPage>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CalculationStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", format!("{s:?} is not completed or failed"))
            })
        })
        .transpose()?;
    let limit = q
        .limit
        .as_deref()
        .map(|l| {
            l.parse::<u32>()
                .ok()
                .filter(|n| (1..=store::MAX_PAGE_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        format!(
                            "{l:?} is not a whole number from 1 to {}",
                            store::MAX_PAGE_LIMIT
                        ),
                    )
                })
        })
        .transpose()?;
    let filter = CalculationFilter {
        facility_id: q.facility_id.clone(),
        status,
        period_from_us: time_param("from", q.from.as_ref())?,
        period_to_us: time_param("to", q.to.as_ref())?,
        limit,
        cursor: q.cursor.clone(),
    };
    let page = state
        .store
        .calculations(&filter)
        .await
        .map_err(|e| match e {
            store::Error::Constraint { message, .. } => ApiError::invalid("cursor", message),
            other => ApiError::from(other),
        })?;
    Ok(Json(CalculationPage {
        items: page.items.iter().map(CalculationItem::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

// ---- equipment ----

/// The facility an equipment unit belongs to; 404 when none.
async fn owner(state: &AppState, equipment_id: &str) -> ApiResult<String> {
    state
        .store
        .facilities()
        .await?
        .into_iter()
        .find(|f| f.equipment_ids.iter().any(|e| e == equipment_id))
        .map(|f| f.id)
        .ok_or_else(|| ApiError::not_found(format!("equipment {equipment_id} not found")))
}

/// The newest calculation that included an equipment unit.
#[utoipa::path(get, path = "/equipment/{id}/latest-calculation", tag = "equipment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Equipment id")),
    responses((status = 200, description = "The calculation document", body = Object),
        (status = 404, body = ErrorBody)))]
pub async fn latest_calculation(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    match state.store.latest_calculation_for_equipment(&id).await? {
        Some(record) => Ok(json_bytes(
            StatusCode::OK,
            calculation::cache_record(&state, &record).await,
        )),
        None => {
            owner(&state, &id).await?;
            Err(ApiError::not_found(format!(
                "equipment {id} has no calculation yet"
            )))
        }
    }
}

/// `POST /equipment/{id}/flag`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagRequest {
    /// Why the unit is suspect (required when flagging).
    #[schema(example = "O2 analyser drifting, recalibration booked")]
    pub reason: Option<String>,
    /// `true` (default) flags, `false` clears the flag.
    pub flagged: Option<bool>,
}

/// The flag state of a unit.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FlagOut {
    /// The unit.
    pub equipment_id: String,
    /// Its facility.
    pub facility_id: String,
    /// Whether it is flagged now.
    pub flagged: bool,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Token name of who flagged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_by: Option<String>,
    /// When, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_at: Option<String>,
}

/// Flags (or clears the flag of) an equipment unit; later calculations mark it. The facility's
/// cached calculations are dropped so the next one shows the flag.
#[utoipa::path(post, path = "/equipment/{id}/flag", tag = "equipment", security(("bearer" = [])),
    params(("id" = String, Path, description = "Equipment id")),
    request_body = FlagRequest,
    responses((status = 200, body = FlagOut), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn flag_equipment(
    auth: Auth<Operator>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<FlagRequest>,
) -> ApiResult<Json<FlagOut>> {
    let facility_id = owner(&state, &id).await?;
    let flagged = req.flagged.unwrap_or(true);
    let out = if flagged {
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::invalid("reason", "a reason is required to flag a unit"))?;
        let flag = EquipmentFlag {
            equipment_id: id.clone(),
            facility_id: facility_id.clone(),
            reason: reason.to_string(),
            flagged_by: auth.caller.name.clone(),
            flagged_at_us: store::now_us(),
        };
        state.store.set_equipment_flag(&flag).await?;
        FlagOut {
            equipment_id: id,
            facility_id: facility_id.clone(),
            flagged: true,
            reason: Some(flag.reason),
            flagged_by: Some(flag.flagged_by),
            flagged_at: Some(format_us(flag.flagged_at_us)),
        }
    } else {
        state.store.clear_equipment_flag(&id).await?;
        FlagOut {
            equipment_id: id,
            facility_id: facility_id.clone(),
            flagged: false,
            reason: None,
            flagged_by: None,
            flagged_at: None,
        }
    };
    // The flag is stored either way; a cache failure is counted and logged by the cache.
    let _ = state
        .cache
        .invalidate(&format!("calculation:{facility_id}:*"))
        .await;
    Ok(Json(out))
}

// ---- admin ----

/// `POST /admin/cache/invalidate`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvalidateRequest {
    /// Glob over cache keys: `*` any run of characters, `?` one character.
    #[schema(example = "calculation:*")]
    pub pattern: String,
}

/// What an invalidation dropped.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Invalidated {
    /// Entries dropped.
    pub invalidated: u64,
}

/// Drops cached calculations whose key matches a glob, and resets the hit/miss counters.
#[utoipa::path(post, path = "/admin/cache/invalidate", tag = "admin", security(("bearer" = [])),
    request_body = InvalidateRequest,
    responses((status = 200, body = Invalidated), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn invalidate_cache(
    _: Auth<Admin>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<InvalidateRequest>,
) -> ApiResult<Json<Invalidated>> {
    if req.pattern.is_empty() {
        return Err(ApiError::invalid(
            "pattern",
            "the pattern is empty; use calculation:*",
        ));
    }
    let invalidated = state.cache.invalidate(&req.pattern).await?;
    tracing::info!(pattern = %req.pattern, invalidated, "cache invalidated");
    Ok(Json(Invalidated { invalidated }))
}

/// Cache size, hits and misses.
#[utoipa::path(get, path = "/admin/cache/stats", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = CacheStats), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn cache_stats(
    _: Auth<Admin>,
    State(state): State<AppState>,
) -> ApiResult<Json<CacheStats>> {
    Ok(Json(state.cache.stats().await?))
}

/// Unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /v1/thermaliq/docs")
}

/// Known paths with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method; see /v1/thermaliq/docs",
    )
}
