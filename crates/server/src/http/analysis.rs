//! Analysis of a stored calculation: its Sankey diagram and its benchmark comparison.
//!
//! The stored document keeps each unit's calculation input document; the engineering core is
//! deterministic, so running those documents again gives the stored numbers bit for bit and
//! the thermo results the analysis crate needs, without storing them twice.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{CalculationRecord, CalculationStatus};
use thermo::inputs::{EquipmentInputs, FiredInputs};
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::results::FiredResult;

use analysis::benchmark::{self, Equipment, FuelClass};
use analysis::sankey::{self, SankeyBasis, SvgOptions, UnitResult};

use super::AppState;
use super::calculation::facility_spec;
use super::error::{ApiError, ApiResult};
use crate::calc::{self, quantity::Q, quantity::kind};

/// Width of the rendered diagram, px.
const SANKEY_WIDTH_PX: f64 = 800.0;

/// Hours in the year the annual figures assume the period's mean load for, h.
const HOURS_PER_YEAR: f64 = 8_760.0;

/// Query of `GET /calculations/{id}/sankey`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SankeyQuery {
    /// `svg` (default) or `json` (the model: nodes and links in W).
    pub format: Option<String>,
    /// `HHV` (default), `LHV` or `exergy`.
    pub basis: Option<String>,
}

/// Query of `GET /calculations/{id}/benchmark`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct BenchmarkQuery {
    /// Fuel price per GJ (HHV), in the currency the costs are wanted in; costs are null
    /// without it.
    pub fuel_price_per_gj: Option<String>,
}

/// One unit of a stored calculation, calculated again from its stored input document.
struct Unit {
    id: String,
    name: String,
    inputs: FiredInputs,
    result: FiredResult,
}

/// The stored record of a completed calculation; 404 when unknown, 409 when it failed (a
/// failed calculation has no balance to draw or compare).
async fn completed_record(state: &AppState, id: &str) -> ApiResult<CalculationRecord> {
    let record = state
        .store
        .calculation(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("calculation {id} not found")))?;
    if record.status == CalculationStatus::Failed {
        let reason = record
            .failure_reason
            .as_deref()
            .unwrap_or("no reason stored");
        return Err(ApiError::conflict(format!(
            "calculation {id} failed ({reason}): no balance to draw or compare"
        )));
    }
    Ok(record)
}

/// Runs one stored unit document again through the boundary and the engineering core.
fn rerun(index: usize, unit: &Value) -> Result<Unit, String> {
    let text = |key: &str| unit.get(key).and_then(Value::as_str).map(str::to_string);
    let id = text("equipment_id").ok_or_else(|| format!("equipment[{index}] has no id"))?;
    let name = text("name").unwrap_or_else(|| id.clone());
    let input = unit
        .get("input")
        .ok_or_else(|| format!("{id}: no input document stored"))?;
    let doc = calc::read(&input.to_string()).map_err(|e| format!("{id}: {e}"))?;
    let converted = calc::convert(&doc).map_err(|e| format!("{id}: {e}"))?;
    let EquipmentInputs::Fired(inputs) = &converted.inputs else {
        return Err(format!("{id}: the stored unit is not fired equipment"));
    };
    let result = thermo::fired::calculate_fired(inputs)
        .map_err(|e| format!("{id}: {}", converted.error(&e)))?;
    let inputs = inputs.clone();
    Ok(Unit {
        id,
        name,
        inputs,
        result,
    })
}

/// Every unit of a stored calculation, calculated again off the async threads.
async fn units(record: &CalculationRecord) -> ApiResult<Vec<Unit>> {
    let equipment = record
        .result
        .get("equipment")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| {
            ApiError::internal(format!("calculation {} stores no equipment", record.id))
        })?;
    let id = record.id.clone();
    tokio::task::spawn_blocking(move || {
        equipment
            .iter()
            .enumerate()
            .map(|(i, u)| rerun(i, u))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("stored calculation {id} no longer calculates: {e}")))
}

/// The basis named by `?basis=`, HHV when absent.
fn basis(value: Option<&str>) -> ApiResult<SankeyBasis> {
    match value {
        None => Ok(SankeyBasis::Hhv),
        Some(v) if v.eq_ignore_ascii_case("hhv") => Ok(SankeyBasis::Hhv),
        Some(v) if v.eq_ignore_ascii_case("lhv") => Ok(SankeyBasis::Lhv),
        Some(v) if v.eq_ignore_ascii_case("exergy") => Ok(SankeyBasis::Exergy),
        Some(v) => Err(ApiError::invalid(
            "basis",
            format!("{v:?} is not a basis: HHV, LHV or exergy"),
        )),
    }
}

/// The Sankey diagram of a stored calculation: SVG, or the model as JSON.
pub async fn sankey(state: &AppState, id: &str, query: &SankeyQuery) -> ApiResult<Response> {
    let basis = basis(query.basis.as_deref())?;
    let json = match query.format.as_deref() {
        None | Some("svg") => false,
        Some("json") => true,
        Some(f) => {
            return Err(ApiError::invalid(
                "format",
                format!("{f:?} is not a format: svg or json"),
            ));
        }
    };
    let record = completed_record(state, id).await?;
    let units = units(&record).await?;
    let unit_results: Vec<UnitResult> = units
        .iter()
        .map(|u| UnitResult {
            id: &u.id,
            name: &u.name,
            result: &u.result,
        })
        .collect();
    let model = sankey::build(&unit_results, basis)
        .map_err(|e| ApiError::conflict(format!("calculation {id} has no balance to draw: {e}")))?;
    if json {
        return Ok((StatusCode::OK, axum::Json(model)).into_response());
    }
    let svg = sankey::render_svg(
        &model,
        &SvgOptions {
            width: SANKEY_WIDTH_PX,
        },
    );
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        )],
        svg,
    )
        .into_response())
}

/// The fuel price of `?fuel_price_per_gj=`, refused unless a finite number of 0 or more.
fn fuel_price(value: Option<&str>) -> ApiResult<Option<f64>> {
    value
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "fuel_price_per_gj",
                        format!("{v:?} is not a price: a finite number of 0 or more per GJ"),
                    )
                })
        })
        .transpose()
}

/// The rated output of a unit in the facility's current spec, W; the reason when it has none.
fn rating(spec: &crate::facility::FacilitySpec, equipment_id: &str) -> Result<f64, String> {
    let unit = spec
        .equipment
        .iter()
        .find(|e| e.id == equipment_id)
        .ok_or_else(|| format!("{equipment_id} is no longer in the facility's spec"))?;
    let q: Q<kind::Power> = serde_json::from_value(unit.rating.0.clone())
        .map_err(|e| format!("{equipment_id}: rating does not read: {e}"))?;
    q.si(STANDARD_ATMOSPHERE_PA)
        .map_err(|e| format!("{equipment_id}: rating does not read: {e}"))
}

/// One unit's benchmark answer.
fn unit_benchmark(unit: &Unit, rating_w: Result<f64, String>, price: Option<f64>) -> Value {
    let fuel = &unit.inputs.fuel;
    let class = FuelClass::of(fuel);
    let (factor, factor_source) = match benchmark::emission_factor(class) {
        Some(f) => (f.kg_per_gj_hhv(), f.source.clone()),
        None => (
            benchmark::stoichiometric_emission_factor(fuel),
            "stoichiometric: the fuel's carbon burnt completely to CO2".to_string(),
        ),
    };
    let mean_fuel_w = unit.result.fuel_input.hhv;
    let annual_fuel_j = mean_fuel_w * HOURS_PER_YEAR * 3_600.0;
    let efficiency_hhv = unit.result.direct_efficiency.hhv;
    let mut answer = json!({
        "equipment_id": unit.id,
        "name": unit.name,
        "type": unit.inputs.kind.as_str(),
        "fuel_class": class.as_str(),
        "rating_w": rating_w.as_ref().ok(),
        "efficiency_percent_hhv": 100.0 * efficiency_hhv,
        "mean_fuel_input_w_hhv": mean_fuel_w,
        "emission_factor_kg_per_gj_hhv": factor,
        "emission_factor_source": factor_source,
        "comparison": null,
    });
    let comparison = rating_w.and_then(|rating_w| {
        benchmark::compare(
            Equipment {
                kind: unit.inputs.kind,
                economizer: false,
            },
            fuel,
            rating_w,
            efficiency_hhv,
            annual_fuel_j,
            price.unwrap_or(0.0),
            factor,
        )
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "no benchmark entry covers a {} burning {} at {:.3} MW",
                unit.inputs.kind.as_str(),
                class.as_str(),
                rating_w / 1e6
            )
        })
    });
    match comparison.and_then(|c| serde_json::to_value(&c).map_err(|e| e.to_string())) {
        Ok(mut c) => {
            if price.is_none() {
                for path in [
                    "/annual_fuel_cost",
                    "/gap_to_median/cost_per_year",
                    "/gap_to_best_practice/cost_per_year",
                ] {
                    if let Some(v) = c.pointer_mut(path) {
                        *v = Value::Null;
                    }
                }
            }
            answer["comparison"] = c;
        }
        Err(reason) => answer["reason"] = json!(reason),
    }
    answer
}

/// The benchmark comparison of every unit of a stored calculation.
pub async fn benchmark(state: &AppState, id: &str, query: &BenchmarkQuery) -> ApiResult<Value> {
    let price = fuel_price(query.fuel_price_per_gj.as_deref())?;
    let record = completed_record(state, id).await?;
    let spec = facility_spec(state, &record.facility_id).await?;
    let units = units(&record).await?;
    let answers: Vec<Value> = units
        .iter()
        .map(|u| unit_benchmark(u, rating(&spec, &u.id), price))
        .collect();
    let mut assumptions = vec![
        "annual figures assume the period's mean fuel input (HHV) for 8760 h a year".to_string(),
        "the unit's efficiency is its direct (input-output) efficiency on the HHV basis"
            .to_string(),
        "no unit is taken to have an economizer or air preheater: the facility spec does not \
         record one yet"
            .to_string(),
        "ratings are those of the facility's current spec".to_string(),
    ];
    if price.is_none() {
        assumptions.push("no fuel_price_per_gj was given: every cost is null".to_string());
    }
    Ok(json!({
        "calculation_id": record.id,
        "facility_id": record.facility_id,
        "time_period": record.result.get("time_period"),
        "fuel_price_per_gj": price,
        "assumptions": assumptions,
        "units": answers,
    }))
}
