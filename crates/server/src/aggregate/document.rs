//! The calculation document of one equipment unit, built from its spec and one value per
//! metered quantity (in the tag's unit): the same document a user would send to the single
//! calculation, so the conversion to SI and the checks are the calculation document's own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::facility::{Equipment, EquipmentType, Quantity, Source, SurfaceSpec};

/// Where each quantity sits in the calculation document, for naming a refused value's tag.
pub(crate) const PATHS: [(Quantity, &str); 23] = [
    (Quantity::FuelFlow, "fuel_flow"),
    (Quantity::FuelTemperature, "fuel.temperature"),
    (Quantity::SteamFlow, "output.steam.flow"),
    (Quantity::SteamPressure, "output.steam.pressure"),
    (Quantity::SteamTemperature, "output.steam.temperature"),
    (
        Quantity::FeedwaterTemperature,
        "output.steam.feedwater_temperature",
    ),
    (
        Quantity::FeedwaterPressure,
        "output.steam.feedwater_pressure",
    ),
    (Quantity::BlowdownFlow, "output.steam.blowdown.flow"),
    (Quantity::FlueGasO2, "flue_gas.o2"),
    (Quantity::FlueGasTemperature, "flue_gas.temperature"),
    (Quantity::FlueGasCo, "flue_gas.co_dry"),
    (
        Quantity::CombustionAirTemperature,
        "combustion_air.temperature",
    ),
    (
        Quantity::CombustionAirHumidity,
        "combustion_air.relative_humidity",
    ),
    (Quantity::SurfaceTemperature, "surface.measured.temperature"),
    (Quantity::WaterFlow, "output.water.flow"),
    (
        Quantity::WaterInletTemperature,
        "output.water.inlet_temperature",
    ),
    (
        Quantity::WaterOutletTemperature,
        "output.water.outlet_temperature",
    ),
    (Quantity::WaterPressure, "output.water.pressure"),
    (Quantity::LiquidFlow, "output.liquid.flow"),
    (
        Quantity::LiquidInletTemperature,
        "output.liquid.inlet_temperature",
    ),
    (
        Quantity::LiquidOutletTemperature,
        "output.liquid.outlet_temperature",
    ),
    (Quantity::Duty, "output.metered.duty"),
    (Quantity::AuxiliaryPower, "auxiliary_power"),
];

/// The quantity whose value sits at (or above) a calculation-document path.
pub(crate) fn quantity_at(path: &str) -> Option<Quantity> {
    PATHS
        .iter()
        .find(|(_, p)| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
        .map(|(q, _)| *q)
}

/// A quantity's value as the calculation document takes it: a constant as written, or a
/// tag's value in its unit with the meter's stated uncertainty; `None` when not available.
fn source_value(
    e: &Equipment,
    q: Quantity,
    value: &dyn Fn(Quantity) -> Option<f64>,
) -> Option<Value> {
    match e.source(q)? {
        Source::Constant(a) => Some(a.0.clone()),
        Source::Tag(t) => {
            let v = value(q)?;
            let mut m = Map::new();
            m.insert("value".into(), json!(v));
            m.insert("unit".into(), json!(t.unit));
            if let Some(u) = &t.uncertainty {
                m.insert("uncertainty".into(), json!(u));
            }
            Some(Value::Object(m))
        }
    }
}

/// One quantity kept beside a unit's calculation document ([`Quantity::is_extra`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraValue {
    /// The meter tag it was aggregated from; absent for a constant of the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The period mean in the tag's unit (`{value, unit, uncertainty?}`), or the constant as
    /// written.
    pub value: Value,
}

/// The quantities of `e` that are not inputs of the engineering core, with the values
/// available (`value` as for [`unit_document`]); a tag left out for low coverage is absent.
pub fn metered_extras(
    e: &Equipment,
    value: &dyn Fn(Quantity) -> Option<f64>,
) -> BTreeMap<Quantity, ExtraValue> {
    e.tags
        .iter()
        .filter(|(q, _)| q.is_extra())
        .filter_map(|(&q, source)| {
            Some((
                q,
                ExtraValue {
                    tag: source.tag().map(|t| t.tag.clone()),
                    value: source_value(e, q, value)?,
                },
            ))
        })
        .collect()
}

/// Builds the calculation document of `e`. `value(q)` gives a metered quantity's value in its
/// tag's unit (`None` when not available: a quantity with a default then takes it); constants
/// are taken as written in the spec, with their uncertainty; tags carry their meter's
/// stated uncertainty.
pub fn unit_document(e: &Equipment, value: &dyn Fn(Quantity) -> Option<f64>) -> Value {
    let get = |q: Quantity| source_value(e, q, value);
    let put = |m: &mut Map<String, Value>, key: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(key.to_string(), v);
        }
    };
    let r = &e.reference;
    let mut doc = Map::new();
    doc.insert(
        "equipment".into(),
        json!({"type": e.kind.as_str(), "name": e.name}),
    );
    put(
        &mut doc,
        "ambient_pressure",
        r.ambient_pressure.as_ref().map(|a| a.0.clone()),
    );
    let mut fuel = match &e.fuel {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    put(&mut fuel, "temperature", get(Quantity::FuelTemperature));
    doc.insert("fuel".into(), Value::Object(fuel));
    put(&mut doc, "fuel_flow", get(Quantity::FuelFlow));

    let mut out = Map::new();
    let output = match e.kind {
        EquipmentType::SteamBoiler => {
            put(&mut out, "flow", get(Quantity::SteamFlow));
            put(&mut out, "pressure", get(Quantity::SteamPressure));
            put(&mut out, "temperature", get(Quantity::SteamTemperature));
            put(
                &mut out,
                "quality",
                r.steam_quality.as_ref().map(|a| a.0.clone()),
            );
            put(
                &mut out,
                "feedwater_temperature",
                get(Quantity::FeedwaterTemperature),
            );
            put(
                &mut out,
                "feedwater_pressure",
                get(Quantity::FeedwaterPressure),
            );
            if let Some(flow) = get(Quantity::BlowdownFlow) {
                out.insert("blowdown".into(), json!({"flow": flow}));
            } else if let Some(f) = &r.blowdown_fraction {
                out.insert("blowdown".into(), json!({"fraction_of_feedwater": f.0}));
            }
            "steam"
        }
        EquipmentType::HotWaterBoiler => {
            put(&mut out, "flow", get(Quantity::WaterFlow));
            put(
                &mut out,
                "inlet_temperature",
                get(Quantity::WaterInletTemperature),
            );
            put(
                &mut out,
                "outlet_temperature",
                get(Quantity::WaterOutletTemperature),
            );
            put(&mut out, "pressure", get(Quantity::WaterPressure));
            "water"
        }
        _ if e.source(Quantity::Duty).is_some() => {
            put(&mut out, "duty", get(Quantity::Duty));
            put(
                &mut out,
                "delivery_temperature",
                r.delivery_temperature.as_ref().map(|a| a.0.clone()),
            );
            "metered"
        }
        _ => {
            put(&mut out, "flow", get(Quantity::LiquidFlow));
            put(
                &mut out,
                "specific_heat",
                r.liquid_specific_heat.as_ref().map(|a| a.0.clone()),
            );
            put(
                &mut out,
                "inlet_temperature",
                get(Quantity::LiquidInletTemperature),
            );
            put(
                &mut out,
                "outlet_temperature",
                get(Quantity::LiquidOutletTemperature),
            );
            "liquid"
        }
    };
    let mut wrapped = Map::new();
    wrapped.insert(output.into(), Value::Object(out));
    doc.insert("output".into(), Value::Object(wrapped));

    let mut flue = Map::new();
    put(&mut flue, "o2", get(Quantity::FlueGasO2));
    if let Some(b) = r.o2_basis {
        flue.insert("o2_basis".into(), json!(b.as_str()));
    }
    put(&mut flue, "temperature", get(Quantity::FlueGasTemperature));
    put(&mut flue, "co_dry", get(Quantity::FlueGasCo));
    doc.insert("flue_gas".into(), Value::Object(flue));

    let mut air = Map::new();
    put(
        &mut air,
        "temperature",
        get(Quantity::CombustionAirTemperature),
    );
    put(
        &mut air,
        "relative_humidity",
        get(Quantity::CombustionAirHumidity),
    );
    doc.insert("combustion_air".into(), Value::Object(air));

    match &e.surface {
        None => {}
        Some(SurfaceSpec::FractionOfRating(f)) => {
            doc.insert(
                "surface".into(),
                json!({"fraction_of_rating": {"fraction": f.0, "rating": e.rating.0}}),
            );
        }
        Some(SurfaceSpec::Measured(c)) => {
            let mut m = Map::new();
            m.insert("area".into(), c.area.0.clone());
            put(&mut m, "temperature", get(Quantity::SurfaceTemperature));
            m.insert(
                "ambient_temperature".into(),
                c.ambient_temperature.0.clone(),
            );
            m.insert("air_velocity".into(), c.air_velocity.0.clone());
            m.insert("emissivity".into(), c.emissivity.0.clone());
            doc.insert("surface".into(), json!({"measured": m}));
        }
    }
    put(&mut doc, "auxiliary_power", get(Quantity::AuxiliaryPower));
    if let Some(d) = &r.dead_state {
        doc.insert(
            "dead_state".into(),
            json!({"temperature": d.temperature.0, "pressure": d.pressure.0}),
        );
    }
    Value::Object(doc)
}
