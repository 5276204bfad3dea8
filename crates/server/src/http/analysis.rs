//! Analysis of a stored calculation: its Sankey diagram, its benchmark comparison, the
//! recommendations with their computed savings, and the benchmark data itself.
//!
//! The stored document keeps each unit's calculation input document; the engineering core is
//! deterministic, so running those documents again gives the stored numbers bit for bit and
//! the thermo results the analysis crate needs, without storing them twice.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{CalculationRecord, CalculationStatus};
use thermo::fuel::Fuel;
use thermo::inputs::{EquipmentInputs, FiredInputs, UsefulOutput};
use thermo::phrase;
use thermo::phrase::{Phrase, Quantity as PhraseQuantity};
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::results::FiredResult;
use thermo::units::Dimension;
use thermo::{Fraction, MassFlow, Temperature};

use analysis::benchmark::{self, Equipment, FuelClass, HeatingBasis};
use analysis::recommend::{
    self, CondensateReturn, Measure, MeteredCondensate, Options, Recommendation,
};
use analysis::sankey::{self, PowerUnits, SankeyBasis, SvgOptions, UnitResult};

use super::AppState;
use super::auth::{Auth, Viewer};
use super::calculation::facility_spec;
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::routes::ErrorBody;
use crate::aggregate::ExtraValue;
use crate::calc::output::{PartOut, phrase_parts};
use crate::calc::{self, quantity::Kind, quantity::Q, quantity::kind};
use crate::facility::{self, FacilitySpec, Quantity};

/// Width of the rendered diagram, px.
const SANKEY_WIDTH_PX: f64 = 800.0;

/// Hours in the year the annual figures assume the period's mean load for when the facility
/// states none, h.
const HOURS_PER_YEAR: f64 = 8_760.0;

/// Seconds per hour.
const S_PER_H: f64 = 3_600.0;

/// Query of `GET /calculations/{id}/sankey`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SankeyQuery {
    /// `svg` (default) or `json` (the model: nodes and links in W).
    pub format: Option<String>,
    /// `HHV` (default), `LHV` or `exergy`.
    pub basis: Option<String>,
}

/// Query of `GET /calculations/{id}/benchmark`, `/recommendations` and `/report`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct BenchmarkQuery {
    /// Fuel price per GJ (HHV), in the currency the costs are wanted in; without it the
    /// facility's `economics` price is used, and costs are null when it has none.
    pub fuel_price_per_gj: Option<String>,
}

/// One unit of a stored calculation, calculated again from its stored input document.
struct Unit {
    id: String,
    name: String,
    inputs: FiredInputs,
    result: FiredResult,
    /// The stored `metered_extras` (condensate return).
    extras: BTreeMap<Quantity, ExtraValue>,
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
    let extras = match unit.get("metered_extras") {
        None => BTreeMap::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("{id}: metered_extras do not read: {e}"))?,
    };
    Ok(Unit {
        id,
        name,
        inputs,
        result,
        extras,
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
            units: PowerUnits::Si,
        },
    )
    .map_err(|e| ApiError::conflict(format!("calculation {id} has no balance to draw: {e}")))?;
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
fn rating(unit: Option<&facility::Equipment>, equipment_id: &str) -> Result<f64, String> {
    let unit = unit.ok_or_else(|| format!("{equipment_id} is no longer in the facility's spec"))?;
    let q: Q<kind::Power> = serde_json::from_value(unit.rating.0.clone())
        .map_err(|e| format!("{equipment_id}: rating does not read: {e}"))?;
    q.si(STANDARD_ATMOSPHERE_PA)
        .map_err(|e| format!("{equipment_id}: rating does not read: {e}"))
}

/// The fuel price and operating hours the annual figures use, and where they come from.
struct Pricing {
    /// Price per GJ on `basis`; `None`: costs are null.
    price: Option<f64>,
    /// Basis of `price`.
    basis: HeatingBasis,
    /// Currency of `price`, when the facility states it.
    currency: Option<String>,
    /// Operating hours a year.
    hours: f64,
    /// Whether the facility states the hours.
    hours_stated: bool,
    /// `query`, `facility` or `none`.
    source: &'static str,
}

impl Pricing {
    /// The request's price (HHV) when given, else the facility's economics.
    fn new(query: Option<f64>, spec: &FacilitySpec) -> Self {
        let economics = spec.economics.as_ref();
        let stated = economics.and_then(|e| e.operating_hours_per_year);
        let hours = stated.unwrap_or(HOURS_PER_YEAR);
        let hours_stated = stated.is_some();
        match (query, economics) {
            (Some(price), _) => Self {
                price: Some(price),
                basis: HeatingBasis::Hhv,
                currency: None,
                hours,
                hours_stated,
                source: "query",
            },
            (None, Some(e)) => Self {
                price: Some(e.fuel_price_per_gj),
                basis: e.fuel_price_basis,
                currency: Some(e.currency.clone()),
                hours,
                hours_stated,
                source: "facility",
            },
            (None, None) => Self {
                price: None,
                basis: HeatingBasis::Hhv,
                currency: None,
                hours,
                hours_stated,
                source: "none",
            },
        }
    }

    /// The price per GJ of `fuel` on the HHV basis: a fuel bought at P per GJ LHV costs
    /// P · LHV/HHV per GJ HHV (the same mass carries HHV/LHV times more GJ on HHV).
    fn per_gj_hhv(&self, fuel: &Fuel) -> Option<f64> {
        self.price.map(|p| match self.basis {
            HeatingBasis::Hhv => p,
            HeatingBasis::Lhv => p * fuel.lhv() / fuel.hhv(),
        })
    }

    /// Annual fuel input of a unit burning `mean_fuel_w` (HHV) on average, J.
    fn annual_fuel_j(&self, mean_fuel_w: f64) -> f64 {
        mean_fuel_w * self.hours * S_PER_H
    }

    fn json(&self) -> Value {
        json!({
            "source": self.source,
            "fuel_price_per_gj": self.price,
            "fuel_price_basis": self.basis,
            "currency": self.currency,
            "operating_hours_per_year": self.hours,
        })
    }

    fn assumptions(&self) -> Vec<Phrase> {
        let hours = if self.hours_stated {
            format!("{} h a year (the facility's economics)", self.hours)
        } else {
            format!(
                "{} h a year (the facility states no operating hours)",
                self.hours
            )
        };
        let mut out = vec![Phrase::text(format!(
            "annual figures assume the period's mean fuel input (HHV) for {hours}"
        ))];
        let per_gj = |p: f64| PhraseQuantity::exact(p, "/GJ", Dimension::PerEnergy);
        out.push(match (self.source, self.price, &self.currency) {
            ("query", Some(p), _) => phrase!(
                "fuel price {} (HHV) from the request, in the currency it was meant in",
                per_gj(p)
            ),
            (_, Some(p), Some(c)) => phrase!(
                "fuel price {} in {} on the {} basis (the facility's economics); units burning \
                 it are costed on the HHV basis at price × LHV/HHV of their fuel when the price \
                 is on LHV",
                per_gj(p),
                c.clone(),
                basis_name(self.basis)
            ),
            _ => Phrase::text("no fuel price (request or facility economics): every cost is null"),
        });
        out
    }
}

fn basis_name(basis: HeatingBasis) -> &'static str {
    match basis {
        HeatingBasis::Hhv => "HHV",
        HeatingBasis::Lhv => "LHV",
    }
}

/// The CO2 emission factor of a fuel, kg per GJ HHV, and its source.
fn emission(fuel: &Fuel) -> (f64, String) {
    match benchmark::emission_factor(FuelClass::of(fuel)) {
        Some(f) => (f.kg_per_gj_hhv(), f.source.clone()),
        None => (
            benchmark::stoichiometric_emission_factor(fuel),
            "stoichiometric: the fuel's carbon burnt completely to CO2".to_string(),
        ),
    }
}

/// A stored calculation ready for analysis: the record, its facility's current spec and
/// its units calculated again.
pub(crate) struct Analysed {
    /// The stored record.
    pub record: CalculationRecord,
    /// The facility's spec as it is now (ratings, economics, heat-recovery flags).
    pub spec: FacilitySpec,
    units: Vec<Unit>,
}

impl Analysed {
    /// The completed calculation `id` with its spec and units; 404 unknown, 409 failed.
    pub async fn load(state: &AppState, id: &str) -> ApiResult<Self> {
        let record = completed_record(state, id).await?;
        let spec = facility_spec(state, &record.facility_id).await?;
        let units = units(&record).await?;
        Ok(Self {
            record,
            spec,
            units,
        })
    }

    /// The HHV Sankey diagram of the units as SVG, powers in `units`.
    pub fn sankey_svg(&self, units: PowerUnits) -> ApiResult<String> {
        self.sankey_svg_on(SankeyBasis::Hhv, units)
    }

    /// The Sankey diagram of the units on `basis` as SVG, powers in `units` (the calculation
    /// page shows HHV and exergy in the user's system; the report stays SI).
    pub fn sankey_svg_on(&self, basis: SankeyBasis, units: PowerUnits) -> ApiResult<String> {
        let unit_results: Vec<UnitResult> = self
            .units
            .iter()
            .map(|u| UnitResult {
                id: &u.id,
                name: &u.name,
                result: &u.result,
            })
            .collect();
        let no_balance = |e| {
            ApiError::conflict(format!(
                "calculation {} has no balance to draw: {e}",
                self.record.id
            ))
        };
        let model = sankey::build(&unit_results, basis).map_err(no_balance)?;
        sankey::render_svg(
            &model,
            &SvgOptions {
                width: SANKEY_WIDTH_PX,
                units,
            },
        )
        .map_err(no_balance)
    }

    /// The benchmark answer, with the request's fuel price if any.
    pub fn benchmark(&self, query_price: Option<f64>) -> Value {
        let pricing = Pricing::new(query_price, &self.spec);
        let answers: Vec<Value> = self
            .units
            .iter()
            .map(|u| unit_benchmark(u, self.spec.equipment(&u.id), &pricing))
            .collect();
        let mut assumptions = pricing.assumptions();
        assumptions.extend(
            [
                "the unit's efficiency is its direct (input-output) efficiency on the HHV basis",
                "a unit the facility spec marks has_economizer or has_air_preheater is compared \
                 with units with an economizer, every other unit with units without one",
                "ratings are those of the facility's current spec",
            ]
            .map(Phrase::text),
        );
        json!({
            "calculation_id": self.record.id,
            "facility_id": self.record.facility_id,
            "time_period": self.record.result.get("time_period"),
            "fuel_price_per_gj": pricing.price,
            "economics": pricing.json(),
            "assumptions": texts(&assumptions),
            "assumption_parts": parts(&assumptions),
            "units": answers,
        })
    }

    /// The recommendations answer, with the request's fuel price if any.
    pub fn recommendations(&self, query_price: Option<f64>) -> Value {
        let pricing = Pricing::new(query_price, &self.spec);
        let answers: Vec<(Value, Vec<Value>)> = self
            .units
            .iter()
            .map(|u| unit_recommendations(u, self.spec.equipment(&u.id), &pricing))
            .collect();
        let mut ranking: Vec<Value> = answers.iter().flat_map(|(_, r)| r.clone()).collect();
        ranking.sort_by(|a, b| {
            let saved = |v: &Value| v["fuel_saved_gj_per_year"].as_f64().unwrap_or(0.0);
            saved(b).total_cmp(&saved(a))
        });
        for (rank, item) in ranking.iter_mut().enumerate() {
            item["rank"] = json!(rank + 1);
        }
        let mut assumptions = pricing.assumptions();
        assumptions.extend(
            [
                "each measure is computed by re-running the engineering core on the unit's \
                 measured (aggregated) inputs with the measure applied, at the fuel flow that \
                 delivers the same useful output",
                "efficiencies are the heat-loss (indirect) efficiencies, the ones that respond \
                 to a changed stack temperature or excess air",
                "measures are evaluated one at a time: their savings are not additive",
            ]
            .map(Phrase::text),
        );
        json!({
            "calculation_id": self.record.id,
            "facility_id": self.record.facility_id,
            "time_period": self.record.result.get("time_period"),
            "fuel_price_per_gj": pricing.price,
            "economics": pricing.json(),
            "assumptions": texts(&assumptions),
            "assumption_parts": parts(&assumptions),
            "units": answers.into_iter().map(|(u, _)| u).collect::<Vec<_>>(),
            "ranking": ranking,
        })
    }
}

/// One unit's benchmark answer.
fn unit_benchmark(unit: &Unit, spec: Option<&facility::Equipment>, pricing: &Pricing) -> Value {
    let fuel = &unit.inputs.fuel;
    let class = FuelClass::of(fuel);
    let (factor, factor_source) = emission(fuel);
    let price = pricing.per_gj_hhv(fuel);
    let mean_fuel_w = unit.result.fuel_input.hhv;
    let annual_fuel_j = pricing.annual_fuel_j(mean_fuel_w);
    let efficiency_hhv = unit.result.direct_efficiency.hhv;
    let heat_recovery = spec.is_some_and(|e| e.has_economizer || e.has_air_preheater);
    let rating_w = rating(spec, &unit.id);
    let mut answer = json!({
        "equipment_id": unit.id,
        "name": unit.name,
        "type": unit.inputs.kind.as_str(),
        "fuel_class": class.as_str(),
        "rating_w": rating_w.as_ref().ok(),
        "has_economizer_or_air_preheater": heat_recovery,
        "efficiency_percent_hhv": 100.0 * efficiency_hhv,
        "mean_fuel_input_w_hhv": mean_fuel_w,
        "fuel_price_per_gj_hhv": price,
        "emission_factor_kg_per_gj_hhv": factor,
        "emission_factor_source": factor_source,
        "comparison": null,
    });
    let comparison = rating_w.map_err(Phrase::from).and_then(|rating_w| {
        benchmark::compare(
            Equipment {
                kind: unit.inputs.kind,
                economizer: heat_recovery,
            },
            fuel,
            rating_w,
            efficiency_hhv,
            annual_fuel_j,
            price.unwrap_or(0.0),
            factor,
        )
        .map_err(|e| Phrase::text(e.to_string()))?
        .ok_or_else(|| {
            phrase!(
                "no benchmark entry covers a {} burning {} at {}",
                unit.inputs.kind.as_str(),
                class.as_str(),
                PhraseQuantity::from_si(rating_w, "MW", Dimension::Power, 3)
            )
        })
    });
    match comparison.and_then(|c| serde_json::to_value(&c).map_err(|e| Phrase::text(e.to_string())))
    {
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
        Err(reason) => {
            answer["reason"] = json!(reason.to_string());
            answer["reason_parts"] = json!(phrase_parts(&reason));
        }
    }
    answer
}

/// A stored extra quantity in SI, with where it came from (`tag FT-301` or `constant`).
fn extra_si<K: Kind>(unit: &Unit, q: Quantity) -> Option<Result<(f64, String), String>> {
    let extra = unit.extras.get(&q)?;
    let read = |e: &dyn std::fmt::Display| format!("metered_extras.{q}: {e}");
    let si = serde_json::from_value::<Q<K>>(extra.value.clone())
        .map_err(|e| read(&e))
        .and_then(|v| v.si(STANDARD_ATMOSPHERE_PA).map_err(|e| read(&e)));
    let from = match &extra.tag {
        Some(t) => format!("{q} tag {t}, mean over the period"),
        None => format!("{q} a constant of the facility spec"),
    };
    Some(si.map(|v| (v, from)))
}

/// The metered condensate return of a unit with the sources of its values, when the stored
/// calculation carries it; `Ok(None)` with a note when it cannot be used.
fn metered(
    unit: &Unit,
    spec: Option<&facility::Equipment>,
    notes: &mut Vec<Phrase>,
) -> Result<Option<(MeteredCondensate, Vec<Phrase>)>, String> {
    let Some(flow) = extra_si::<kind::MassFlow>(unit, Quantity::CondensateReturnFlow) else {
        return Ok(None);
    };
    let hot = extra_si::<kind::Temperature>(unit, Quantity::CondensateReturnTemperature);
    let cold = extra_si::<kind::Temperature>(unit, Quantity::MakeupWaterTemperature);
    let (Some(hot), Some(cold)) = (hot, cold) else {
        notes.push(Phrase::text(
            "the condensate return was metered, but its temperature or the make-up water \
             temperature was not available over the period: no condensate-return advice",
        ));
        return Ok(None);
    };
    let Some(target) = spec.and_then(|e| e.condensate_return_target.as_ref()) else {
        notes.push(Phrase::text(
            "the condensate return was metered, but the facility spec states no \
             condensate_return_target: no condensate-return advice",
        ));
        return Ok(None);
    };
    let target = serde_json::from_value::<Q<kind::Fraction>>(target.0.clone())
        .map_err(|e| e.to_string())
        .and_then(|q| q.si(STANDARD_ATMOSPHERE_PA).map_err(|e| e.to_string()))
        .and_then(|f| Fraction::new(f).map_err(|e| e.to_string()))
        .map_err(|e| format!("condensate_return_target: {e}"))?;
    let ((flow, flow_from), (hot, hot_from), (cold, cold_from)) = (flow?, hot?, cold?);
    if let UsefulOutput::Steam(s) = &unit.inputs.output
        && flow > s.steam_flow.kg_per_s()
    {
        let kg_per_s = |m: f64| PhraseQuantity::new(m, "kg/s", Dimension::MassFlow, 4);
        notes.push(phrase!(
            "the metered condensate return ({}) exceeds the steam flow ({}): check the tag; no \
             condensate-return advice",
            kg_per_s(flow),
            kg_per_s(s.steam_flow.kg_per_s())
        ));
        return Ok(None);
    }
    let kelvin = |k: f64, q: Quantity| {
        Temperature::from_kelvin(k).map_err(|e| format!("metered_extras.{q}: {e}"))
    };
    let metered = MeteredCondensate {
        return_flow: MassFlow::from_kg_per_s(flow)
            .map_err(|e| format!("metered_extras.condensate_return_flow: {e}"))?,
        condensate_temperature: kelvin(hot, Quantity::CondensateReturnTemperature)?,
        makeup_temperature: kelvin(cold, Quantity::MakeupWaterTemperature)?,
        target_return_fraction: target,
    };
    Ok(Some((
        metered,
        vec![Phrase::text(format!(
            "measured values: {flow_from}; {hot_from}; {cold_from}; target \
             condensate_return_target from the facility's current spec"
        ))],
    )))
}

/// The recommendation options of a unit: the defaults, with the condensate return the
/// stored calculation metered (and its make-up temperature for the blowdown cooler), or
/// else the one the facility spec states; the assumptions of the metered values' sources.
fn options(
    unit: &Unit,
    spec: Option<&facility::Equipment>,
    notes: &mut Vec<Phrase>,
) -> Result<(Options, Vec<Phrase>), String> {
    let mut options = Options::default();
    if let Some(cold) = extra_si::<kind::Temperature>(unit, Quantity::MakeupWaterTemperature) {
        let (k, _) = cold?;
        options.makeup_water_temperature = Temperature::from_kelvin(k)
            .map_err(|e| format!("metered_extras.makeup_water_temperature: {e}"))?;
    }
    if let Some((m, sources)) = metered(unit, spec, notes)? {
        options.metered_condensate = Some(m);
        return Ok((options, sources));
    }
    let Some(cr) = spec.and_then(|e| e.condensate_return.as_ref()) else {
        return Ok((options, Vec::new()));
    };
    let si = |a: &facility::Amount, field: &str, temperature: bool| -> Result<f64, String> {
        let read = |e: &dyn std::fmt::Display| format!("condensate_return.{field}: {e}");
        if temperature {
            let q: Q<kind::Temperature> =
                serde_json::from_value(a.0.clone()).map_err(|e| read(&e))?;
            q.si(STANDARD_ATMOSPHERE_PA).map_err(|e| read(&e))
        } else {
            let q: Q<kind::Fraction> = serde_json::from_value(a.0.clone()).map_err(|e| read(&e))?;
            q.si(STANDARD_ATMOSPHERE_PA).map_err(|e| read(&e))
        }
    };
    let kelvin = |a, field| {
        si(a, field, true).and_then(|k| {
            Temperature::from_kelvin(k).map_err(|e| format!("condensate_return.{field}: {e}"))
        })
    };
    options.condensate_return = Some(CondensateReturn {
        additional_fraction: Fraction::new(si(
            &cr.additional_fraction,
            "additional_fraction",
            false,
        )?)
        .map_err(|e| format!("condensate_return.additional_fraction: {e}"))?,
        condensate_temperature: kelvin(&cr.condensate_temperature, "condensate_temperature")?,
        makeup_temperature: kelvin(&cr.makeup_temperature, "makeup_temperature")?,
    });
    Ok((options, Vec::new()))
}

/// The SI sentences of phrases, for a list of texts of an answer.
fn texts(phrases: &[Phrase]) -> Vec<String> {
    phrases.iter().map(ToString::to_string).collect()
}

/// The parts of phrases, for the `*_parts` list beside [`texts`].
fn parts(phrases: &[Phrase]) -> Vec<Vec<PartOut>> {
    phrases.iter().map(phrase_parts).collect()
}

/// One recommendation as answered: percent efficiencies with their basis named.
fn recommendation_json(r: &Recommendation, priced: bool) -> Value {
    let percent = |e: recommend::Efficiency| json!({"HHV": 100.0 * e.hhv, "LHV": 100.0 * e.lhv});
    json!({
        "measure": r.measure,
        "title": r.title.to_string(),
        "title_parts": phrase_parts(&r.title),
        "efficiency_method": "indirect (heat-loss)",
        "efficiency_percent_before": percent(r.efficiency_before),
        "efficiency_percent_after": percent(r.efficiency_after),
        "fuel_saved_fraction": r.fuel_saved_fraction,
        "fuel_saved_gj_per_year": r.fuel_saved_gj_per_year,
        "cost_saved_per_year": priced.then_some(r.cost_saved_per_year),
        "co2_avoided_kg_per_year": r.co2_avoided_kg_per_year,
        "assumptions": texts(&r.assumptions),
        "assumption_parts": parts(&r.assumptions),
    })
}

/// One unit's recommendations answer, and its entries for the facility ranking.
fn unit_recommendations(
    unit: &Unit,
    spec: Option<&facility::Equipment>,
    pricing: &Pricing,
) -> (Value, Vec<Value>) {
    let fuel = &unit.inputs.fuel;
    let (factor, factor_source) = emission(fuel);
    let price = pricing.per_gj_hhv(fuel);
    let annual_fuel_j = pricing.annual_fuel_j(unit.result.fuel_input.hhv);
    let mut notes = Vec::new();
    let (has_economizer, has_air_preheater) = match spec {
        Some(e) => (e.has_economizer, e.has_air_preheater),
        None => {
            notes.push(Phrase::text(format!(
                "{} is no longer in the facility's spec: no heat-recovery equipment or \
                 condensate return is known for it",
                unit.id
            )));
            (false, false)
        }
    };
    if has_economizer {
        notes.push(Phrase::text(
            "the facility spec says the unit has an economizer: none is offered",
        ));
    }
    if has_air_preheater {
        notes.push(Phrase::text(
            "the facility spec says the unit has an air preheater: none is offered",
        ));
    }
    let mut answer = json!({
        "equipment_id": unit.id,
        "name": unit.name,
        "type": unit.inputs.kind.as_str(),
        "fuel_class": FuelClass::of(fuel).as_str(),
        "mean_fuel_input_w_hhv": unit.result.fuel_input.hhv,
        "annual_fuel_gj": annual_fuel_j / analysis::J_PER_GJ,
        "fuel_price_per_gj_hhv": price,
        "emission_factor_kg_per_gj_hhv": factor,
        "emission_factor_source": factor_source,
        "has_economizer": has_economizer,
        "has_air_preheater": has_air_preheater,
        "recommendations": [],
    });
    let economics = recommend::Economics {
        annual_fuel_input_j: annual_fuel_j,
        fuel_price_per_gj: price.unwrap_or(0.0),
        emission_factor_kg_per_gj: factor,
    };
    let list = options(unit, spec, &mut notes).and_then(|(o, sources)| {
        recommend::recommend(&unit.inputs, &economics, &o)
            .map(|list| (list, sources))
            .map_err(|e| e.to_string())
    });
    answer["notes"] = json!(texts(&notes));
    answer["note_parts"] = json!(parts(&notes));
    let (mut list, sources) = match list {
        Ok(list) => list,
        Err(reason) => {
            answer["reason"] = json!(format!("{}: {reason}", unit.id));
            return (answer, Vec::new());
        }
    };
    for r in list
        .iter_mut()
        .filter(|r| r.measure == Measure::CondensateReturn)
    {
        let mut assumptions = sources.clone();
        assumptions.append(&mut r.assumptions);
        r.assumptions = assumptions;
    }
    let kept: Vec<&Recommendation> = list
        .iter()
        .filter(|r| match r.measure {
            Measure::Economizer => !has_economizer,
            Measure::AirPreheat => !has_air_preheater,
            _ => true,
        })
        .collect();
    let ranked = kept
        .iter()
        .map(|r| {
            json!({
                "equipment_id": unit.id,
                "measure": r.measure,
                "title": r.title.to_string(),
                "title_parts": phrase_parts(&r.title),
                "fuel_saved_gj_per_year": r.fuel_saved_gj_per_year,
                "cost_saved_per_year": price.is_some().then_some(r.cost_saved_per_year),
                "co2_avoided_kg_per_year": r.co2_avoided_kg_per_year,
            })
        })
        .collect();
    answer["recommendations"] = kept
        .iter()
        .map(|r| recommendation_json(r, price.is_some()))
        .collect();
    (answer, ranked)
}

/// The benchmark comparison of every unit of a stored calculation.
pub async fn benchmark(state: &AppState, id: &str, query: &BenchmarkQuery) -> ApiResult<Value> {
    let price = fuel_price(query.fuel_price_per_gj.as_deref())?;
    Ok(Analysed::load(state, id).await?.benchmark(price))
}

/// The request's fuel price, refused unless a finite number of 0 or more.
pub(super) fn query_price(query: &BenchmarkQuery) -> ApiResult<Option<f64>> {
    fuel_price(query.fuel_price_per_gj.as_deref())
}

/// What fuel to save first: each unit's measures, computed by re-running the engineering
/// core on its measured inputs, ranked by fuel saved, with cost and CO2 per year.
#[utoipa::path(get, path = "/calculations/{id}/recommendations", tag = "calculations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Calculation id (CALC-...)"), BenchmarkQuery),
    responses((status = 200, description = "Per-unit recommendations and the facility ranking", body = Object),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn calculation_recommendations(
    _: Auth<Viewer>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<BenchmarkQuery>,
) -> ApiResult<Json<Value>> {
    let price = query_price(&q)?;
    Ok(Json(
        Analysed::load(&state, &id).await?.recommendations(price),
    ))
}

/// The benchmark data: every distribution with its cited sources and basis, and the CO2
/// emission factors with theirs.
#[utoipa::path(get, path = "/benchmarks", tag = "calculations", security(("bearer" = [])),
    responses((status = 200, description = "Benchmark entries, sources and emission factors", body = Object),
        (status = 401, body = ErrorBody)))]
pub async fn list_benchmarks(_: Auth<Viewer>) -> Json<Value> {
    Json(benchmark_data())
}

/// The embedded benchmark data with every source id resolved to its citation.
fn benchmark_data() -> Value {
    let cited = |ids: &[&String]| -> Vec<Value> {
        ids.iter()
            .map(|id| match benchmark::source(id) {
                Some(s) => json!(s),
                None => json!({"id": id, "citation": null}),
            })
            .collect()
    };
    let entries: Vec<Value> = benchmark::entries()
        .iter()
        .map(|e| {
            let mut v = json!(e);
            v["cited_sources"] = json!(cited(&e.sources.iter().collect::<Vec<_>>()));
            v
        })
        .collect();
    let factors: Vec<Value> = benchmark::data()
        .emission_factors
        .iter()
        .map(|f| {
            let mut v = json!(f);
            v["kg_co2_per_gj_hhv"] = json!(f.kg_per_gj_hhv());
            v["cited_sources"] = json!(cited(&[&f.source, &f.ipcc_source]));
            v
        })
        .collect();
    json!({
        "data_file": "crates/analysis/data/benchmarks.toml",
        "percentile_rule": "normal_from_range: a source's typical range [low, high] is taken as \
                            the 10th-90th percentile of a normal distribution (docs/ANALYSIS.md)",
        "sources": benchmark::sources(),
        "entries": entries,
        "emission_factors": factors,
    })
}
