//! A facility calculation as the API runs it: the period checked, the readings read, the
//! aggregation and engineering core run off the async threads, the document written, the
//! record stored, and completed documents cached under the runbook's key.

use std::collections::HashMap;

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{CalculationRecord, CalculationStatus, EquipmentFlag};

use super::AppState;
use super::cache::{CachedCalculation, calculation_key};
use super::error::{ApiError, ApiResult};
use super::times::{format_us, parse_rfc3339_us};
use crate::aggregate::{self, FacilityCalculation, MAX_CLOSURE_PERCENT, Options, Period};
use crate::facility::FacilitySpec;

/// Version of this service, part of every cache key and calculation record.
pub const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `POST /calculate`: a facility and a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateRequest {
    /// Facility id (`FAC-001`).
    #[schema(example = "FAC-DEMO-001")]
    pub facility_id: String,
    /// The period, start inclusive, end exclusive.
    pub time_period: TimePeriod,
}

/// A period in RFC 3339 times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimePeriod {
    /// Start (inclusive), RFC 3339.
    #[schema(example = "2025-11-01T00:00:00Z")]
    pub start: String,
    /// End (exclusive), RFC 3339.
    #[schema(example = "2025-11-01T01:00:00Z")]
    pub end: String,
}

/// `POST /recalculate`: the calculation to repeat.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecalculateRequest {
    /// Id of the calculation whose facility and period are calculated again.
    #[schema(example = "CALC-0196F0A1B2C3D4E5F60718293A4B5C6D")]
    pub original_calculation_id: String,
}

/// A calculation answered: its id, status and document bytes.
#[derive(Debug, Clone)]
pub struct Calculated {
    /// Calculation id.
    pub id: String,
    /// Completed or failed.
    pub status: CalculationStatus,
    /// The document, JSON.
    pub bytes: Bytes,
    /// Whether the document came from the cache (same inputs calculated before).
    pub from_cache: bool,
}

/// The period of a request, refused naming `time_period.start`, `time_period.end` or
/// `time_period` (longer than `max_period`).
pub fn period(tp: &TimePeriod, max_period: std::time::Duration) -> ApiResult<Period> {
    let start = parse_rfc3339_us(&tp.start).ok_or_else(|| {
        ApiError::invalid(
            "time_period.start",
            format!(
                "{:?} is not an RFC 3339 time such as 2025-11-01T00:00:00Z",
                tp.start
            ),
        )
    })?;
    let end = parse_rfc3339_us(&tp.end).ok_or_else(|| {
        ApiError::invalid(
            "time_period.end",
            format!(
                "{:?} is not an RFC 3339 time such as 2025-11-01T01:00:00Z",
                tp.end
            ),
        )
    })?;
    if end <= start {
        return Err(ApiError::invalid(
            "time_period.end",
            format!("the end {} is not after the start {}", tp.end, tp.start),
        ));
    }
    let max_us = i64::try_from(max_period.as_micros()).unwrap_or(i64::MAX);
    if end - start > max_us {
        return Err(ApiError::invalid(
            "time_period",
            format!(
                "the period is {:.1} days, longer than the allowed {:.1} days",
                (end - start) as f64 / 86_400e6,
                max_us as f64 / 86_400e6
            ),
        ));
    }
    Period::new(start, end).map_err(ApiError::from)
}

/// The facility's spec as stored; 404 naming `facility_id` when there is none.
pub async fn facility_spec(state: &AppState, facility_id: &str) -> ApiResult<FacilitySpec> {
    let record = state.store.facility(facility_id).await?.ok_or_else(|| {
        ApiError::not_found(format!("facility {facility_id} not found")).with_field("facility_id")
    })?;
    FacilitySpec::from_json(&record.spec).map_err(|e| {
        ApiError::internal(format!(
            "stored spec of facility {facility_id} no longer reads: {e}"
        ))
    })
}

/// Runs `req`: from the cache when the same inputs were calculated by this version (unless
/// `original` is given, which always calculates anew and refers to the original).
pub async fn calculate(
    state: &AppState,
    req: &CalculateRequest,
    original: Option<&CalculationRecord>,
) -> ApiResult<Calculated> {
    let started = std::time::Instant::now();
    // One snapshot for the whole calculation, whatever a reload does meanwhile.
    let settings = state.settings.current();
    let period = period(&req.time_period, settings.max_period)?;
    let spec = facility_spec(state, &req.facility_id).await?;
    let tags: Vec<&str> = spec.tag_names();
    let series = state
        .store
        .readings(&spec.id, &tags, period.start_us, period.end_us)
        .await?;
    let options = Options {
        min_coverage: settings.min_coverage,
        ..Options::default()
    };
    let read = started.elapsed();
    let calc_spec = spec.clone();
    let facility = tokio::task::spawn_blocking(move || {
        aggregate::calculate(&calc_spec, &series, period, &options)
    })
    .await
    .map_err(ApiError::internal)??;
    let computed = started.elapsed();
    crate::metrics::record_facility(&facility);
    let input_hash = facility.provenance.sha256.clone();
    let key = calculation_key(&spec.id, SERVICE_VERSION, &input_hash);
    if original.is_none() {
        let cached = state.cache.get(&key).await;
        crate::metrics::record_cache_lookup(cached.is_some());
        if let Some(hit) = cached {
            return Ok(Calculated {
                id: hit.id.clone(),
                status: CalculationStatus::Completed,
                bytes: hit.bytes.clone(),
                from_cache: true,
            });
        }
    }
    let flags = state.store.equipment_flags(&spec.id).await?;
    let record = record(
        req,
        &facility,
        period,
        &flags,
        original,
        options.min_coverage,
    )?;
    state.store.insert_calculation(&record).await?;
    let bytes = Bytes::from(serde_json::to_vec(&record.result).map_err(ApiError::internal)?);
    if record.status == CalculationStatus::Completed {
        state
            .cache
            .put(
                key,
                CachedCalculation {
                    id: record.id.clone(),
                    bytes: bytes.clone(),
                },
            )
            .await;
    }
    tracing::debug!(
        read_ms = read.as_secs_f64() * 1e3,
        compute_ms = (computed - read).as_secs_f64() * 1e3,
        store_ms = (started.elapsed() - computed).as_secs_f64() * 1e3,
        "calculation timings"
    );
    tracing::info!(
        calculation_id = %record.id,
        facility_id = %record.facility_id,
        status = %record.status,
        efficiency = record.efficiency,
        "calculation stored"
    );
    Ok(Calculated {
        id: record.id,
        status: record.status,
        bytes,
        from_cache: false,
    })
}

/// The stored record and answer document of a facility calculation.
fn record(
    req: &CalculateRequest,
    facility: &FacilityCalculation,
    period: Period,
    flags: &[EquipmentFlag],
    original: Option<&CalculationRecord>,
    min_coverage: f64,
) -> ApiResult<CalculationRecord> {
    let id = store::new_calculation_id();
    let created_at_us = store::now_us();
    let failure_reason = facility.failure_reason(MAX_CLOSURE_PERCENT);
    let status = if failure_reason.is_some() {
        CalculationStatus::Failed
    } else {
        CalculationStatus::Completed
    };
    let completed = status == CalculationStatus::Completed;
    let efficiency = completed.then(|| facility.efficiency_percent_hhv());
    let energy_balance_percent = completed.then(|| facility.energy_balance_percent());
    let flags: HashMap<&str, &EquipmentFlag> =
        flags.iter().map(|f| (f.equipment_id.as_str(), f)).collect();
    let mut equipment = serde_json::to_value(&facility.equipment).map_err(ApiError::internal)?;
    let mut flagged = Vec::new();
    if let Value::Array(units) = &mut equipment {
        for unit in units {
            let id = unit
                .get("equipment_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            let flag = id.as_deref().and_then(|id| flags.get(id));
            if let (Value::Object(map), Some(f)) = (unit, flag) {
                flagged.push(f.equipment_id.clone());
                map.insert(
                    "flag".to_string(),
                    json!({
                        "flagged": true,
                        "reason": f.reason,
                        "flagged_by": f.flagged_by,
                        "flagged_at": format_us(f.flagged_at_us),
                    }),
                );
            }
        }
    }
    let mut doc = json!({
        "calculation_id": id,
        "status": status.as_str(),
        "facility_id": facility.facility_id,
        "facility_name": facility.facility_name,
        "time_period": {
            "start": facility.period.start,
            "end": facility.period.end,
            "duration_s": facility.period.duration_s,
        },
        "efficiency": efficiency,
        "efficiency_basis": "HHV, input-output method, facility roll-up, percent",
        "energy_balance_percent": energy_balance_percent,
        "summary": facility.summary,
        "equipment": equipment,
        "flagged_equipment": flagged,
        "data_quality": facility.data_quality,
        "provenance": {
            "sha256": facility.provenance.sha256,
            "input_hash": facility.provenance.sha256,
            "method_version": facility.provenance.method_version,
            "service_version": SERVICE_VERSION,
            "units": facility.provenance.units,
        },
        "created_at": format_us(created_at_us),
    });
    if let Value::Object(map) = &mut doc {
        if let Some(reason) = &failure_reason {
            map.insert("failure_reason".to_string(), json!(reason));
        }
        if let Some(o) = original {
            map.insert(
                "recalculated_from".to_string(),
                json!({
                    "calculation_id": o.id,
                    "provenance_hash": o.provenance_hash,
                    "same_inputs": o.provenance_hash == facility.provenance.sha256,
                }),
            );
        }
    }
    Ok(CalculationRecord {
        id,
        facility_id: facility.facility_id.clone(),
        period_start_us: period.start_us,
        period_end_us: period.end_us,
        status,
        efficiency,
        energy_balance_percent,
        provenance_hash: facility.provenance.sha256.clone(),
        input_hash: facility.provenance.sha256.clone(),
        method_version: facility.provenance.method_version.to_string(),
        service_version: SERVICE_VERSION.to_string(),
        equipment_ids: facility
            .equipment
            .iter()
            .map(|u| u.equipment_id.clone())
            .collect(),
        request: json!({
            "facility_id": req.facility_id,
            "time_period": req.time_period,
            "min_coverage": min_coverage,
            "recalculated_from": original.map(|o| o.id.clone()),
        }),
        result: doc,
        failure_reason,
        created_at_us,
    })
}

/// The document of a stored calculation, served from the cache when it is there; a completed
/// document read from the store is cached for the next request.
pub async fn document(state: &AppState, id: &str) -> ApiResult<Bytes> {
    let cached = state.cache.get_by_id(id).await;
    crate::metrics::record_cache_lookup(cached.is_some());
    if let Some(bytes) = cached {
        return Ok(bytes);
    }
    let record = state
        .store
        .calculation(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("calculation {id} not found")))?;
    Ok(cache_record(state, &record).await)
}

/// The document bytes of a record, cached when it is completed.
pub async fn cache_record(state: &AppState, record: &CalculationRecord) -> Bytes {
    let bytes = Bytes::from(serde_json::to_vec(&record.result).unwrap_or_default());
    if record.status == CalculationStatus::Completed {
        let key = calculation_key(
            &record.facility_id,
            &record.service_version,
            &record.input_hash,
        );
        state
            .cache
            .put_if_absent(
                key,
                CachedCalculation {
                    id: record.id.clone(),
                    bytes: bytes.clone(),
                },
            )
            .await;
    }
    bytes
}
