//! Validation of a facility spec: every refusal names the path of the field at fault.

use std::collections::HashMap;

use serde_json::json;
use thermo::inputs::EquipmentInputs;
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::units::{self, Dimension};

use super::{
    Amount, EconomicsSpec, Equipment, EquipmentType, FacilitySpec, MeterUncertainty, Quantity,
    Source, SurfaceSpec, TagSpec,
};
use crate::calc::quantity::{Kind, Q, Stated, kind};
use crate::calc::{self, BoundaryError, BoundaryErrorKind};

/// Longest tag name accepted, characters.
const MAX_TAG_LEN: usize = 200;

pub(super) fn facility(spec: &FacilitySpec) -> Result<(), BoundaryError> {
    identifier(&spec.id, "id")?;
    if spec.name.trim().is_empty() {
        return Err(BoundaryError::invalid("name", "must not be empty"));
    }
    if !is_time_zone(&spec.time_zone) {
        return Err(BoundaryError::invalid(
            "time_zone",
            format!(
                "\"{}\" is not an IANA time-zone name such as \"UTC\" or \"Europe/Berlin\"",
                spec.time_zone
            ),
        ));
    }
    if spec.equipment.is_empty() {
        return Err(BoundaryError::invalid(
            "equipment",
            "a facility needs at least one equipment unit",
        ));
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut tags: HashMap<&str, String> = HashMap::new();
    for (i, e) in spec.equipment.iter().enumerate() {
        let at = format!("equipment[{i}]");
        identifier(&e.id, &format!("{at}.id"))?;
        if let Some(first) = ids.insert(&e.id, i) {
            return Err(BoundaryError::invalid(
                format!("{at}.id"),
                format!("\"{}\" is already the id of equipment[{first}]", e.id),
            ));
        }
        equipment(e, &at)?;
        for (q, source) in &e.tags {
            if let Source::Tag(t) = source {
                let here = format!("{}.{}", e.id, q.as_str());
                if let Some(other) = tags.insert(&t.tag, here) {
                    return Err(BoundaryError::invalid(
                        format!("{at}.tags.{q}.tag"),
                        format!(
                            "tag \"{}\" already feeds {other}: a tag feeds one quantity",
                            t.tag
                        ),
                    ));
                }
            }
        }
    }
    if let Some(e) = &spec.economics {
        economics(e)?;
    }
    if let Some(c) = &spec.connectors {
        sources(spec, c)?;
    }
    Ok(())
}

/// Checks the connectors section: its own rules, then that every tag a source feeds is a
/// metered tag of the facility and arrives in the tag map's unit. A reading is stored as a
/// number and read in the tag map's unit, so a source in another unit would be a unit slip.
fn sources(
    spec: &FacilitySpec,
    config: &connectors::config::ConnectorsConfig,
) -> Result<(), BoundaryError> {
    config
        .validate()
        .map_err(|e| BoundaryError::invalid(e.field, e.reason))?;
    for fed in config.tags() {
        let Some((_, q, t)) = spec.tag(fed.tag) else {
            return Err(BoundaryError::invalid(
                format!("{}.tag", fed.field),
                format!(
                    "tag \"{}\" is not a metered tag of the facility's tag map",
                    fed.tag
                ),
            ));
        };
        if !same_unit(q, fed.unit, &t.unit) {
            return Err(BoundaryError::invalid(
                format!("{}.unit", fed.field),
                format!(
                    "\"{}\" is not the unit the tag map declares for \"{}\" (\"{}\"); readings \
                     are stored in the tag map's unit, so the source must deliver that unit \
                     (a Modbus or OPC UA point converts with its scale and offset)",
                    fed.unit, fed.tag, t.unit
                ),
            ));
        }
    }
    Ok(())
}

/// Whether two unit spellings denote the same unit of one of `q`'s dimensions: equal
/// conversions of 0 and 1 (so an offset counts, °C is not K) at standard atmosphere.
fn same_unit(q: Quantity, a: &str, b: &str) -> bool {
    if a.trim() == b.trim() {
        return true;
    }
    let same = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0);
    q.dimensions().iter().any(|&dim| {
        [0.0, 1.0].iter().all(|&v| {
            match (
                units::convert(v, a, dim, STANDARD_ATMOSPHERE_PA),
                units::convert(v, b, dim, STANDARD_ATMOSPHERE_PA),
            ) {
                (Ok(x), Ok(y)) => same(x, y),
                _ => false,
            }
        })
    })
}

/// Hours in a leap year: the most a plant can run in one.
const MAX_HOURS_PER_YEAR: f64 = 8_784.0;

fn economics(e: &EconomicsSpec) -> Result<(), BoundaryError> {
    if !(e.currency.len() == 3 && e.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(BoundaryError::invalid(
            "economics.currency",
            format!(
                "\"{}\" is not an ISO 4217 currency code such as \"EUR\" or \"USD\"",
                e.currency
            ),
        ));
    }
    if !(e.fuel_price_per_gj.is_finite() && e.fuel_price_per_gj >= 0.0) {
        return Err(BoundaryError::invalid(
            "economics.fuel_price_per_gj",
            format!(
                "{} is not a price: a finite number of 0 or more per GJ",
                e.fuel_price_per_gj
            ),
        ));
    }
    if let Some(h) = e.operating_hours_per_year
        && !(h.is_finite() && h > 0.0 && h <= MAX_HOURS_PER_YEAR)
    {
        return Err(BoundaryError::invalid(
            "economics.operating_hours_per_year",
            format!(
                "{h} is not a number of hours in a year: above 0, at most {MAX_HOURS_PER_YEAR}"
            ),
        ));
    }
    Ok(())
}

/// `[A-Z0-9-]{3,40}`.
fn identifier(id: &str, path: &str) -> Result<(), BoundaryError> {
    let ok = (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(BoundaryError::invalid(
            path,
            format!("\"{id}\" is not 3 to 40 characters of A-Z, 0-9 and '-' (e.g. \"FAC-001\")"),
        ))
    }
}

/// An IANA zone name by form: `UTC`, or `Area/Location[/Sub]` of letters, digits, `_+-`.
fn is_time_zone(tz: &str) -> bool {
    if tz == "UTC" {
        return true;
    }
    let parts: Vec<&str> = tz.split('/').collect();
    tz.len() <= 64
        && parts.len() >= 2
        && parts.iter().all(|p| {
            p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
        })
}

/// Which quantities a unit needs and which it may have, from its type and configuration.
struct Applicable {
    required: Vec<Quantity>,
    allowed: Vec<Quantity>,
}

fn applicable(e: &Equipment, at: &str) -> Result<Applicable, BoundaryError> {
    use Quantity as Qt;
    let mut required = vec![
        Qt::FuelFlow,
        Qt::FlueGasO2,
        Qt::FlueGasTemperature,
        Qt::CombustionAirTemperature,
        Qt::CombustionAirHumidity,
    ];
    let mut allowed = vec![Qt::FuelTemperature, Qt::FlueGasCo, Qt::AuxiliaryPower];
    if matches!(e.surface, Some(SurfaceSpec::Measured(_))) {
        required.push(Qt::SurfaceTemperature);
    }
    let r = &e.reference;
    let reference = |field: &str| format!("{at}.reference.{field}");
    let refuse = |present: bool, field: &str, why: &str| {
        if present {
            Err(BoundaryError::invalid(reference(field), why.to_string()))
        } else {
            Ok(())
        }
    };
    let not_for = format!("does not apply to a {}", e.kind.as_str());
    if e.kind != EquipmentType::SteamBoiler {
        refuse(r.steam_quality.is_some(), "steam_quality", &not_for)?;
        refuse(r.blowdown_fraction.is_some(), "blowdown_fraction", &not_for)?;
    }
    match e.kind {
        EquipmentType::SteamBoiler => {
            required.extend([Qt::SteamFlow, Qt::SteamPressure, Qt::FeedwaterTemperature]);
            allowed.push(Qt::FeedwaterPressure);
            match (e.tags.contains_key(&Qt::SteamTemperature), &r.steam_quality) {
                (true, Some(_)) => {
                    return Err(BoundaryError::invalid(
                        reference("steam_quality"),
                        "give steam_temperature (superheated) or steam_quality (saturated), not both",
                    ));
                }
                (false, None) => {
                    return Err(BoundaryError::invalid(
                        format!("{at}.tags.steam_temperature"),
                        "is required for superheated steam; for saturated steam give \
                         reference.steam_quality (1 for dry saturated) instead",
                    ));
                }
                (true, None) => required.push(Qt::SteamTemperature),
                (false, Some(_)) => {}
            }
            if e.tags.contains_key(&Qt::CondensateReturnFlow) {
                required.extend([Qt::CondensateReturnTemperature, Qt::MakeupWaterTemperature]);
            }
            allowed.extend([
                Qt::CondensateReturnFlow,
                Qt::CondensateReturnTemperature,
                Qt::MakeupWaterTemperature,
            ]);
            if e.tags.contains_key(&Qt::BlowdownFlow) {
                refuse(
                    r.blowdown_fraction.is_some(),
                    "blowdown_fraction",
                    "give a metered blowdown_flow or a blowdown_fraction, not both",
                )?;
                required.push(Qt::BlowdownFlow);
            }
            refuse(
                r.liquid_specific_heat.is_some(),
                "liquid_specific_heat",
                &not_for,
            )?;
            refuse(
                r.delivery_temperature.is_some(),
                "delivery_temperature",
                &not_for,
            )?;
        }
        EquipmentType::HotWaterBoiler => {
            required.extend([
                Qt::WaterFlow,
                Qt::WaterInletTemperature,
                Qt::WaterOutletTemperature,
                Qt::WaterPressure,
            ]);
            refuse(
                r.liquid_specific_heat.is_some(),
                "liquid_specific_heat",
                &not_for,
            )?;
            refuse(
                r.delivery_temperature.is_some(),
                "delivery_temperature",
                &not_for,
            )?;
        }
        EquipmentType::ThermalOilHeater
        | EquipmentType::FiredHeater
        | EquipmentType::ProcessFurnace => {
            if e.tags.contains_key(&Qt::Duty) {
                required.push(Qt::Duty);
                if r.delivery_temperature.is_none() {
                    return Err(BoundaryError::invalid(
                        reference("delivery_temperature"),
                        "is required with a metered duty (the mean temperature the heat is \
                         delivered at, for its exergy)",
                    ));
                }
                refuse(
                    r.liquid_specific_heat.is_some(),
                    "liquid_specific_heat",
                    "applies to a heated liquid, not to a metered duty",
                )?;
            } else {
                required.extend([
                    Qt::LiquidFlow,
                    Qt::LiquidInletTemperature,
                    Qt::LiquidOutletTemperature,
                ]);
                if r.liquid_specific_heat.is_none() {
                    return Err(BoundaryError::invalid(
                        reference("liquid_specific_heat"),
                        format!(
                            "is required for a {} heating a liquid (or meter its `duty`)",
                            e.kind.as_str()
                        ),
                    ));
                }
                refuse(
                    r.delivery_temperature.is_some(),
                    "delivery_temperature",
                    "applies to a metered duty, not to a heated liquid",
                )?;
            }
        }
    }
    allowed.extend(required.iter().copied());
    Ok(Applicable { required, allowed })
}

fn equipment(e: &Equipment, at: &str) -> Result<(), BoundaryError> {
    if e.name.trim().is_empty() {
        return Err(BoundaryError::invalid(
            format!("{at}.name"),
            "must not be empty",
        ));
    }
    let r = &e.reference;
    let reference = |field: &str| format!("{at}.reference.{field}");
    if r.o2_basis.is_none() {
        return Err(BoundaryError::invalid(
            reference("o2_basis"),
            "is required: `dry` (extractive analyser) or `wet` (in situ)",
        ));
    }
    let ambient = match &r.ambient_pressure {
        None => STANDARD_ATMOSPHERE_PA,
        Some(a) => {
            let path = reference("ambient_pressure");
            absolute_pressure(a, &path)?;
            amount::<kind::Pressure>(a, &path, STANDARD_ATMOSPHERE_PA, false)?
        }
    };
    let rating = amount::<kind::Power>(&e.rating, &format!("{at}.rating"), ambient, false)?;
    if rating <= 0.0 {
        return Err(BoundaryError::invalid(
            format!("{at}.rating"),
            "must be a positive power",
        ));
    }
    if let Some(eff) = e.design_efficiency_percent_hhv
        && !(eff.is_finite() && eff > 0.0 && eff <= 100.0)
    {
        return Err(BoundaryError::invalid(
            format!("{at}.design_efficiency_percent_hhv"),
            format!("{eff} is not a percentage in (0, 100]"),
        ));
    }
    match &e.surface {
        None => {}
        Some(SurfaceSpec::FractionOfRating(f)) => {
            amount::<kind::Fraction>(
                f,
                &format!("{at}.surface.fraction_of_rating"),
                ambient,
                false,
            )?;
        }
        Some(SurfaceSpec::Measured(c)) => {
            let p = |f: &str| format!("{at}.surface.measured.{f}");
            amount::<kind::Area>(&c.area, &p("area"), ambient, false)?;
            amount::<kind::Temperature>(
                &c.ambient_temperature,
                &p("ambient_temperature"),
                ambient,
                false,
            )?;
            amount::<kind::Velocity>(&c.air_velocity, &p("air_velocity"), ambient, false)?;
            amount::<kind::Fraction>(&c.emissivity, &p("emissivity"), ambient, false)?;
        }
    }
    if let Some(x) = &r.steam_quality {
        amount::<kind::Fraction>(x, &reference("steam_quality"), ambient, false)?;
    }
    if let Some(x) = &r.blowdown_fraction {
        amount::<kind::Fraction>(x, &reference("blowdown_fraction"), ambient, true)?;
    }
    if let Some(x) = &r.liquid_specific_heat {
        amount::<kind::SpecificHeat>(x, &reference("liquid_specific_heat"), ambient, false)?;
    }
    if let Some(x) = &r.delivery_temperature {
        amount::<kind::Temperature>(x, &reference("delivery_temperature"), ambient, false)?;
    }
    if let Some(d) = &r.dead_state {
        amount::<kind::Temperature>(
            &d.temperature,
            &reference("dead_state.temperature"),
            ambient,
            false,
        )?;
        let path = reference("dead_state.pressure");
        absolute_pressure(&d.pressure, &path)?;
        amount::<kind::Pressure>(&d.pressure, &path, ambient, false)?;
    }
    if let Some(cr) = &e.condensate_return {
        let p = |f: &str| format!("{at}.condensate_return.{f}");
        if e.kind != EquipmentType::SteamBoiler {
            return Err(BoundaryError::invalid(
                format!("{at}.condensate_return"),
                format!("applies to a steam boiler, not to a {}", e.kind.as_str()),
            ));
        }
        let fraction = amount::<kind::Fraction>(
            &cr.additional_fraction,
            &p("additional_fraction"),
            ambient,
            false,
        )?;
        if fraction <= 0.0 {
            return Err(BoundaryError::invalid(
                p("additional_fraction"),
                "must be above 0 (leave condensate_return out when no more can come back)",
            ));
        }
        let hot = amount::<kind::Temperature>(
            &cr.condensate_temperature,
            &p("condensate_temperature"),
            ambient,
            false,
        )?;
        let cold = amount::<kind::Temperature>(
            &cr.makeup_temperature,
            &p("makeup_temperature"),
            ambient,
            false,
        )?;
        if hot <= cold {
            return Err(BoundaryError::invalid(
                p("condensate_temperature"),
                "must be above makeup_temperature: colder condensate saves nothing",
            ));
        }
    }
    condensate(e, at, ambient)?;
    let applicable = applicable(e, at)?;
    for q in &applicable.required {
        if !e.tags.contains_key(q) {
            return Err(BoundaryError::invalid(
                format!("{at}.tags.{q}"),
                format!(
                    "is required for this {}: give a tag {{tag, unit, ...}} or a constant",
                    e.kind.as_str()
                ),
            ));
        }
    }
    for (q, source) in &e.tags {
        let path = format!("{at}.tags.{q}");
        if !applicable.allowed.contains(q) {
            return Err(BoundaryError::invalid(
                path,
                format!(
                    "does not apply to this {} as configured (its output, surface and \
                     reference conditions)",
                    e.kind.as_str()
                ),
            ));
        }
        match source {
            Source::Constant(a) => {
                quantity_value(*q, &a.0, &path, ambient)?;
            }
            Source::Tag(t) => tag(*q, t, &path, ambient)?,
        }
    }
    fuel(e, at)
}

/// The condensate-return quantities and target: steam boilers only; a metered return needs
/// its temperatures (required in `applicable`) and a target, and replaces the stated
/// `condensate_return`.
fn condensate(e: &Equipment, at: &str, ambient: f64) -> Result<(), BoundaryError> {
    use Quantity as Qt;
    let extras = [
        Qt::CondensateReturnFlow,
        Qt::CondensateReturnTemperature,
        Qt::MakeupWaterTemperature,
    ];
    if e.kind != EquipmentType::SteamBoiler {
        if let Some(q) = extras.iter().find(|q| e.tags.contains_key(q)) {
            return Err(BoundaryError::invalid(
                format!("{at}.tags.{q}"),
                format!("applies to a steam boiler, not to a {}", e.kind.as_str()),
            ));
        }
        if e.condensate_return_target.is_some() {
            return Err(BoundaryError::invalid(
                format!("{at}.condensate_return_target"),
                format!("applies to a steam boiler, not to a {}", e.kind.as_str()),
            ));
        }
        return Ok(());
    }
    let metered = e.tags.contains_key(&Qt::CondensateReturnFlow);
    if !metered && e.tags.contains_key(&Qt::CondensateReturnTemperature) {
        return Err(BoundaryError::invalid(
            format!("{at}.tags.condensate_return_temperature"),
            "needs the condensate_return_flow it is the temperature of",
        ));
    }
    let target_path = format!("{at}.condensate_return_target");
    match (&e.condensate_return_target, metered) {
        (None, true) => {
            return Err(BoundaryError::invalid(
                target_path,
                "is required with a metered condensate_return_flow: the return fraction \
                 (returned condensate / steam flow) the plant could reach, such as \"80 %\"",
            ));
        }
        (Some(_), false) => {
            return Err(BoundaryError::invalid(
                target_path,
                "applies to a metered condensate_return_flow, which this unit has not",
            ));
        }
        (Some(t), true) => {
            let target = amount::<kind::Fraction>(t, &target_path, ambient, false)?;
            if target <= 0.0 {
                return Err(BoundaryError::invalid(
                    target_path,
                    "must be above 0 (the share of the steam flow that could come back)",
                ));
            }
        }
        (None, false) => {}
    }
    if metered && e.condensate_return.is_some() {
        return Err(BoundaryError::invalid(
            format!("{at}.condensate_return"),
            "give the stated condensate_return or a metered condensate_return_flow, not both",
        ));
    }
    Ok(())
}

/// Refuses a gauge unit for a barometric or dead-state pressure.
fn absolute_pressure(a: &Amount, path: &str) -> Result<(), BoundaryError> {
    let q: Q<kind::Pressure> = read_q(&a.0, path)?;
    if q.is_gauge() {
        return Err(BoundaryError::invalid(
            path,
            "write this pressure in an absolute unit (kPa, bar, psia, inHg)",
        ));
    }
    Ok(())
}

fn read_q<K: Kind>(value: &serde_json::Value, path: &str) -> Result<Q<K>, BoundaryError> {
    serde_json::from_value(value.clone())
        .map_err(|e| BoundaryError::new(BoundaryErrorKind::Shape, path, e))
}

/// Reads a value as kind `K` into SI; a stated uncertainty is read too, and refused unless
/// `uncertainty_allowed`.
fn amount<K: Kind>(
    a: &Amount,
    path: &str,
    ambient: f64,
    uncertainty_allowed: bool,
) -> Result<f64, BoundaryError> {
    let q: Q<K> = read_q(&a.0, path)?;
    let si = q.si(ambient).map_err(|e| BoundaryError::at(path, &e))?;
    match K::DIMENSIONS[0] {
        Dimension::Fraction if !(0.0..=1.0).contains(&si) => {
            return Err(BoundaryError::invalid(
                path,
                format!(
                    "{} is not a fraction between 0 and 1 (0 % to 100 %)",
                    q.written()
                ),
            ));
        }
        Dimension::Temperature | Dimension::Pressure | Dimension::Fraction => {}
        _ if si < 0.0 => {
            return Err(BoundaryError::invalid(
                path,
                format!("{} is negative", q.written()),
            ));
        }
        _ => {}
    }
    let stated = q
        .uncertainty(ambient)
        .map_err(|e| BoundaryError::invalid(path, format!("uncertainty: {}", e.reason())))?;
    if stated.is_some() && !uncertainty_allowed {
        return Err(BoundaryError::invalid(
            path,
            "an uncertainty is stated, but this value is not a measured input whose \
             uncertainty is propagated",
        ));
    }
    Ok(si)
}

/// Reads a quantity's value (constant, or a probe of a tag's unit) with the kind its
/// dimension calls for.
fn quantity_value(
    q: Quantity,
    value: &serde_json::Value,
    path: &str,
    ambient: f64,
) -> Result<f64, BoundaryError> {
    let a = Amount(value.clone());
    let u = q.propagates_uncertainty();
    match q.dimensions()[0] {
        Dimension::MassFlow if q == Quantity::FuelFlow => {
            amount::<kind::FuelFlow>(&a, path, ambient, u)
        }
        Dimension::MassFlow => amount::<kind::MassFlow>(&a, path, ambient, u),
        Dimension::Pressure => amount::<kind::Pressure>(&a, path, ambient, u),
        Dimension::Fraction => amount::<kind::Fraction>(&a, path, ambient, u),
        Dimension::Power => amount::<kind::Power>(&a, path, ambient, u),
        _ => amount::<kind::Temperature>(&a, path, ambient, u),
    }
}

fn tag(q: Quantity, t: &TagSpec, path: &str, ambient: f64) -> Result<(), BoundaryError> {
    let name = t.tag.as_str();
    if name.is_empty()
        || name.chars().count() > MAX_TAG_LEN
        || name.trim() != name
        || name.chars().any(char::is_control)
    {
        return Err(BoundaryError::invalid(
            format!("{path}.tag"),
            format!(
                "\"{name}\" is not a tag name: 1 to {MAX_TAG_LEN} characters, no surrounding \
                 spaces, no control characters"
            ),
        ));
    }
    // A probe value of 1 in the tag's unit checks the unit's dimension, then the
    // uncertainty's form; 1 is a valid reading in every accepted unit (1 K, 1 Pa, 1 %).
    let probe = json!({"value": 1.0, "unit": t.unit});
    quantity_value(q, &probe, path, ambient)
        .map_err(|e| BoundaryError::new(e.kind(), format!("{path}.unit"), e.reason()))?;
    if let Some(u) = &t.uncertainty {
        let probe = json!({"value": 1.0, "unit": t.unit, "uncertainty": u});
        quantity_value(q, &probe, path, ambient)
            .map_err(|e| BoundaryError::new(e.kind(), format!("{path}.uncertainty"), e.reason()))?;
    }
    if let Some(r) = &t.range
        && !(r.min.is_finite() && r.max.is_finite() && r.min < r.max)
    {
        return Err(BoundaryError::invalid(
            format!("{path}.range"),
            format!("min {} must be below max {}, both finite", r.min, r.max),
        ));
    }
    if let Some(h) = &t.max_hold {
        let s = units::parse_quantity(h, Dimension::Time, ambient)
            .map_err(|e| BoundaryError::invalid(format!("{path}.max_hold"), e.reason()))?;
        if s <= 0.0 {
            return Err(BoundaryError::invalid(
                format!("{path}.max_hold"),
                "must be a positive time (\"10 min\")",
            ));
        }
    }
    Ok(())
}

/// Checks the fuel with the calculation document's own rules, on a probe document whose
/// other values are plausible constants; only errors about the fuel (and a standard-volume
/// fuel flow of a fuel that is not a gas) are the spec's.
fn fuel(e: &Equipment, at: &str) -> Result<(), BoundaryError> {
    let path = format!("{at}.fuel");
    if e.fuel.get("temperature").is_some() {
        return Err(BoundaryError::invalid(
            format!("{path}.temperature"),
            "give the fuel temperature as the quantity tags.fuel_temperature (a tag or a \
             constant)",
        ));
    }
    let probe = json!({
        "equipment": {"type": "process_furnace"},
        "fuel": e.fuel,
        "fuel_flow": "1 kg/s",
        "output": {"metered": {"duty": "1 MW", "delivery_temperature": "500 K"}},
        "flue_gas": {"o2": "3 %", "o2_basis": "dry", "temperature": "450 K"},
        "combustion_air": {"temperature": "298.15 K", "relative_humidity": "50 %"},
    });
    let fuel_error = |err: BoundaryError| {
        if err.path() == "fuel" || err.path().starts_with("fuel.") {
            let rest = &err.path()["fuel".len()..];
            Err(BoundaryError::new(
                err.kind(),
                format!("{path}{rest}"),
                err.reason(),
            ))
        } else {
            Ok(None)
        }
    };
    let converted = match calc::read(&probe.to_string()).and_then(|d| calc::convert(&d)) {
        Ok(c) => Some(c),
        Err(err) => fuel_error(err)?,
    };
    let is_gas = match converted.as_ref().map(|c| &c.inputs) {
        Some(EquipmentInputs::Fired(f)) => f.fuel.molar_mass().is_some(),
        _ => true,
    };
    if let Some(Source::Tag(t)) = e.tags.get(&Quantity::FuelFlow)
        && !is_gas
        && units::convert(
            1.0,
            &t.unit,
            Dimension::StandardVolumeFlow,
            STANDARD_ATMOSPHERE_PA,
        )
        .is_ok()
    {
        return Err(BoundaryError::invalid(
            format!("{at}.tags.fuel_flow.unit"),
            format!(
                "\"{}\" is a flow at standard conditions, which applies to gaseous fuels only; \
                 meter a liquid or solid fuel as a mass flow (kg/h, t/h, lb/h)",
                t.unit
            ),
        ));
    }
    Ok(())
}

/// A stated uncertainty read with the kind its quantity's dimension calls for.
fn stated_of(
    q: Quantity,
    value: &serde_json::Value,
    path: &str,
) -> Result<Option<Stated>, BoundaryError> {
    fn read<K: Kind>(
        value: &serde_json::Value,
        path: &str,
    ) -> Result<Option<Stated>, BoundaryError> {
        let q: Q<K> = read_q(value, path)?;
        q.uncertainty(STANDARD_ATMOSPHERE_PA)
            .map_err(|e| BoundaryError::invalid(path, format!("uncertainty: {}", e.reason())))
    }
    match q.dimensions()[0] {
        Dimension::MassFlow if q == Quantity::FuelFlow => read::<kind::FuelFlow>(value, path),
        Dimension::MassFlow => read::<kind::MassFlow>(value, path),
        Dimension::Pressure => read::<kind::Pressure>(value, path),
        Dimension::Fraction => read::<kind::Fraction>(value, path),
        Dimension::Power => read::<kind::Power>(value, path),
        _ => read::<kind::Temperature>(value, path),
    }
}

/// The meter's expanded uncertainty of quantity `q`, in the tag's unit.
pub(super) fn meter_uncertainty(
    q: Quantity,
    t: &TagSpec,
) -> Result<Option<MeterUncertainty>, BoundaryError> {
    let Some(u) = &t.uncertainty else {
        return Ok(None);
    };
    let path = format!("tags.{q}.uncertainty");
    // The form does not depend on the value: 1 is a valid reading in every accepted unit.
    let probe = json!({"value": 1.0, "unit": t.unit, "uncertainty": u});
    Ok(match stated_of(q, &probe, &path)? {
        None => None,
        Some(Stated::Relative(r)) => Some(MeterUncertainty::Relative(r)),
        Some(Stated::Absolute { dimension, si }) => {
            // Every accepted unit is linear in SI: its size is the SI step of one unit.
            let at = |x: f64| units::convert(x, &t.unit, dimension, STANDARD_ATMOSPHERE_PA);
            let size = at(2.0).and_then(|b| at(1.0).map(|a| b - a));
            let size = size.map_err(|e| BoundaryError::at(&path, &e))?;
            Some(MeterUncertainty::Absolute(si / size))
        }
    })
}
