//! The facility document: a plant's equipment units, their fixed data and reference
//! conditions, and the tag map that says which meter tag gives which quantity, in which unit,
//! with which uncertainty.
//!
//! The same document is read from TOML, YAML or JSON ([`FacilitySpec::parse`]); every object
//! refuses unknown fields and every refusal names the field's path
//! (`equipment[0].tags.steam_flow.unit`). A parsed spec is always validated: required
//! quantities present for the equipment type, units of the right dimension, tags unique within
//! the facility. The format is documented for engineers in `docs/FACILITIES.md`.
//!
//! Values are kept as written (`"25 MW"`, `{"value": 60, "unit": "%"}`): the spec is stored
//! verbatim and diffed as written; units are converted once, when a calculation builds its
//! input document (`crate::aggregate`).

mod diff;
mod validate;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use thermo::units::Dimension;

pub use analysis::benchmark::HeatingBasis;

use crate::calc::{BoundaryError, BoundaryErrorKind};

pub use diff::Change;

/// A facility: a plant site with its equipment units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilitySpec {
    /// Facility id, `[A-Z0-9-]{3,40}` (`FAC-001`).
    pub id: String,
    /// Name for reports.
    pub name: String,
    /// IANA time zone of the site (`Europe/Berlin`); checked by form only.
    pub time_zone: String,
    /// The equipment units, each with its own tag map.
    pub equipment: Vec<Equipment>,
    /// Fuel price and operating hours, for the costs and annual figures of benchmarks and
    /// recommendations; absent: costs are only given for a price in the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub economics: Option<EconomicsSpec>,
    /// The sources `serve` pulls this facility's readings from (docs/CONNECTORS.md); absent:
    /// readings are only pushed through the API or the CLI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectors: Option<connectors::config::ConnectorsConfig>,
}

/// A facility's fuel economics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EconomicsSpec {
    /// ISO 4217 code of the price's currency (`EUR`).
    pub currency: String,
    /// Fuel price per GJ on `fuel_price_basis`.
    pub fuel_price_per_gj: f64,
    /// Heating-value basis of the price: `HHV` or `LHV` (gas is often bought on HHV, oil and
    /// biomass on LHV).
    pub fuel_price_basis: HeatingBasis,
    /// Hours a year the plant runs at the period's mean load; default 8760.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_hours_per_year: Option<f64>,
}

/// Condensate that could come back instead of going to drain (steam boilers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondensateReturnSpec {
    /// Additional condensate that could be returned, as a fraction of the feedwater
    /// (`"20 %"`).
    pub additional_fraction: Amount,
    /// Temperature of the returned condensate (`"80 °C"`).
    pub condensate_temperature: Amount,
    /// Temperature of the make-up water it would replace (`"15 °C"`).
    pub makeup_temperature: Amount,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One equipment unit of a facility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equipment {
    /// Equipment id, `[A-Z0-9-]{3,40}` (`BLR-001`), unique within the facility.
    pub id: String,
    /// Name for reports.
    pub name: String,
    /// The kind of equipment.
    #[serde(rename = "type")]
    pub kind: EquipmentType,
    /// The fuel, written as in the calculation document (`{standard = "natural_gas"}`, or a
    /// composition or ultimate analysis with its name and kind).
    pub fuel: serde_json::Value,
    /// Rated output (`"25 MW"`).
    pub rating: Amount,
    /// Design (guarantee) efficiency, percent on the HHV basis, for comparison in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_efficiency_percent_hhv: Option<f64>,
    /// Radiation and convection from the casing; absent when not accounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<SurfaceSpec>,
    /// Reference conditions and constants that are not metered.
    #[serde(default)]
    pub reference: Reference,
    /// Which tag (or constant) gives each quantity.
    pub tags: BTreeMap<Quantity, Source>,
    /// Whether the unit has a feedwater (or return-water) economizer: it is benchmarked
    /// against units with one, and no economizer is recommended.
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_economizer: bool,
    /// Whether the unit has a combustion-air preheater: benchmarked like an economizer, and
    /// no air preheater is recommended.
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_air_preheater: bool,
    /// More condensate that could be returned (steam boilers): the condensate-return
    /// recommendation is evaluated from this when the return is not metered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condensate_return: Option<CondensateReturnSpec>,
    /// Return fraction (returned condensate / steam flow) the plant could reach, required
    /// with a metered `condensate_return_flow` (`"80 %"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condensate_return_target: Option<Amount>,
}

/// The kinds of fired equipment a facility can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EquipmentType {
    /// Steam boiler: steam raised from feedwater.
    SteamBoiler,
    /// Hot-water boiler: a water stream heated.
    HotWaterBoiler,
    /// Thermal-oil heater: a liquid heated, or a metered duty.
    ThermalOilHeater,
    /// Fired heater of a process stream: a liquid heated, or a metered duty.
    FiredHeater,
    /// Process furnace: a metered duty, or a liquid heated.
    ProcessFurnace,
}

impl EquipmentType {
    /// The stable name (`steam_boiler`, ...), the calculation document's equipment type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SteamBoiler => "steam_boiler",
            Self::HotWaterBoiler => "hot_water_boiler",
            Self::ThermalOilHeater => "thermal_oil_heater",
            Self::FiredHeater => "fired_heater",
            Self::ProcessFurnace => "process_furnace",
        }
    }
}

/// A physical value as written: `"25 MW"`, a bare number for fractions, or
/// `{"value": 60, "unit": "%", "uncertainty": "5 % abs"}`. It is read with the rules of the
/// calculation document once the field says what it measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(pub serde_json::Value);

impl Amount {
    /// A value from its text form (`"25 MW"`).
    pub fn text(text: &str) -> Self {
        Self(serde_json::Value::String(text.to_string()))
    }
}

/// Surface (radiation and convection) loss of a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SurfaceSpec {
    /// A stated fraction of the unit's `rating` (ABMA-style), independent of load (`"0.5 %"`).
    FractionOfRating(Amount),
    /// Computed from the casing; its temperature is the quantity `surface_temperature`.
    Measured(SurfaceCasing),
}

/// The casing of a unit whose surface loss is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceCasing {
    /// Outer surface area (`"120 m2"`).
    pub area: Amount,
    /// Temperature of the surrounding air and walls.
    pub ambient_temperature: Amount,
    /// Mean air velocity over the surface (`"0 m/s"` for still air).
    pub air_velocity: Amount,
    /// Hemispherical total emissivity (0 to 1).
    pub emissivity: Amount,
}

/// Reference conditions and constants of a unit that are not metered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Basis of the flue-gas O2 analyser: `dry` (extractive) or `wet` (in situ). Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o2_basis: Option<O2Basis>,
    /// Barometric pressure, in an absolute unit: gauge readings are added to it and it is the
    /// combustion-air pressure. Default 101.325 kPa.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambient_pressure: Option<Amount>,
    /// Dryness fraction of saturated steam (steam boilers without a steam temperature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steam_quality: Option<Amount>,
    /// Blowdown as a fraction of feedwater, when no `blowdown_flow` is metered (`"3 %"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blowdown_fraction: Option<Amount>,
    /// Mean specific heat of a heated liquid (`"2.3 kJ/(kg K)"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquid_specific_heat: Option<Amount>,
    /// Mean temperature at which a metered duty is delivered, for its exergy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_temperature: Option<Amount>,
    /// Environment of the exergy analysis. Default 25 °C and 101.325 kPa.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_state: Option<DeadStateSpec>,
}

/// Basis of an O2 analyser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum O2Basis {
    /// Fraction of the dry flue gas.
    Dry,
    /// Fraction of the wet flue gas.
    Wet,
}

impl O2Basis {
    /// `"dry"` or `"wet"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dry => "dry",
            Self::Wet => "wet",
        }
    }
}

/// The dead state of the exergy analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadStateSpec {
    /// Dead-state temperature.
    pub temperature: Amount,
    /// Dead-state pressure, in an absolute unit.
    pub pressure: Amount,
}

/// Where a quantity's value comes from: a meter tag, or a constant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Source {
    /// A meter tag whose readings are aggregated over the period.
    Tag(TagSpec),
    /// A fixed value (`combustion_air_humidity = "60 %"`).
    Constant(Amount),
}

impl Source {
    /// The tag, when the value is metered.
    pub fn tag(&self) -> Option<&TagSpec> {
        match self {
            Self::Tag(t) => Some(t),
            Self::Constant(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // An object with `tag` is a meter; anything else is a value as written.
        let value = serde_json::Value::deserialize(deserializer)?;
        match &value {
            serde_json::Value::Object(map) if map.contains_key("tag") => {
                serde_json::from_value(value)
                    .map(Source::Tag)
                    .map_err(de::Error::custom)
            }
            serde_json::Value::Object(map) if !map.contains_key("value") => Err(de::Error::custom(
                "expected a tag {tag, unit, uncertainty?, range?, max_hold?} or a constant \
                     (\"60 %\" or {value, unit, uncertainty?})",
            )),
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Array(_) => {
                Err(de::Error::custom(
                    "expected a tag {tag, unit, ...} or a constant such as \"60 %\"",
                ))
            }
            _ => Ok(Source::Constant(Amount(value))),
        }
    }
}

/// A meter tag feeding one quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSpec {
    /// The tag name as the historian or meter sends it (`FT-101`); unique within the facility.
    pub tag: String,
    /// Unit of the readings (`t/h`, `bar(g)`, `°C`, `%`).
    pub unit: String,
    /// Expanded (95 %, k = 2) uncertainty of the meter: relative (`"1 %"`) or absolute in a
    /// unit of the quantity's dimension (`"2 K"`; fractions: `"0.2 % abs"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<String>,
    /// Plausible range, in the tag's unit: readings outside are excluded and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Longest time one reading may stand for (`"10 min"`); default 3 × the median
    /// sampling interval of the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hold: Option<String>,
}

impl TagSpec {
    /// The meter's stated expanded (95 %) uncertainty, in the tag's unit; `None` when the tag
    /// states none.
    pub fn meter_uncertainty(
        &self,
        q: Quantity,
    ) -> Result<Option<MeterUncertainty>, BoundaryError> {
        validate::meter_uncertainty(q, self)
    }
}

/// A meter's expanded (95 %, k = 2) uncertainty in its tag's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MeterUncertainty {
    /// A fraction of the reading (0.01 = 1 %).
    Relative(f64),
    /// An amount in the tag's unit.
    Absolute(f64),
}

impl MeterUncertainty {
    /// The expanded uncertainty of a reading `value`, in the tag's unit.
    pub fn of(self, value: f64) -> f64 {
        match self {
            Self::Relative(r) => r * value.abs(),
            Self::Absolute(u) => u,
        }
    }
}

/// A closed plausible range of readings, in the tag's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Lowest plausible reading.
    pub min: f64,
    /// Highest plausible reading.
    pub max: f64,
}

impl Range {
    /// Whether `value` lies in the range (bounds included).
    pub fn contains(&self, value: f64) -> bool {
        value >= self.min && value <= self.max
    }
}

/// What a tag or constant measures; the names are stable (documents, APIs, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Fuel flow as fired: mass flow, or standard-volume flow for gases.
    FuelFlow,
    /// Fuel temperature at the burner.
    FuelTemperature,
    /// Steam flow leaving a steam boiler.
    SteamFlow,
    /// Steam pressure (absolute or gauge unit).
    SteamPressure,
    /// Superheated-steam temperature.
    SteamTemperature,
    /// Feedwater temperature.
    FeedwaterTemperature,
    /// Feedwater pressure (absolute or gauge unit).
    FeedwaterPressure,
    /// Metered blowdown flow.
    BlowdownFlow,
    /// Flue-gas O2, on the analyser's basis.
    FlueGasO2,
    /// Flue-gas temperature leaving the boundary.
    FlueGasTemperature,
    /// Flue-gas CO, dry basis.
    FlueGasCo,
    /// Combustion-air temperature entering the boundary.
    CombustionAirTemperature,
    /// Combustion-air relative humidity.
    CombustionAirHumidity,
    /// Mean casing surface temperature.
    SurfaceTemperature,
    /// Water flow of a hot-water boiler.
    WaterFlow,
    /// Water inlet (return) temperature.
    WaterInletTemperature,
    /// Water outlet (supply) temperature.
    WaterOutletTemperature,
    /// Water pressure (absolute or gauge unit).
    WaterPressure,
    /// Flow of a heated liquid (thermal oil, process stream).
    LiquidFlow,
    /// Liquid inlet temperature.
    LiquidInletTemperature,
    /// Liquid outlet temperature.
    LiquidOutletTemperature,
    /// Heat duty measured by a heat meter.
    Duty,
    /// Auxiliary power entering the streams (fans, pumps).
    AuxiliaryPower,
    /// Condensate returned to a steam boiler's feedwater tank (mass flow).
    CondensateReturnFlow,
    /// Temperature of the returned condensate entering the feedwater tank.
    CondensateReturnTemperature,
    /// Temperature of the make-up water entering the feedwater tank.
    MakeupWaterTemperature,
}

impl Quantity {
    /// Every quantity, in document order.
    pub const ALL: [Quantity; 26] = [
        Self::FuelFlow,
        Self::FuelTemperature,
        Self::SteamFlow,
        Self::SteamPressure,
        Self::SteamTemperature,
        Self::FeedwaterTemperature,
        Self::FeedwaterPressure,
        Self::BlowdownFlow,
        Self::FlueGasO2,
        Self::FlueGasTemperature,
        Self::FlueGasCo,
        Self::CombustionAirTemperature,
        Self::CombustionAirHumidity,
        Self::SurfaceTemperature,
        Self::WaterFlow,
        Self::WaterInletTemperature,
        Self::WaterOutletTemperature,
        Self::WaterPressure,
        Self::LiquidFlow,
        Self::LiquidInletTemperature,
        Self::LiquidOutletTemperature,
        Self::Duty,
        Self::AuxiliaryPower,
        Self::CondensateReturnFlow,
        Self::CondensateReturnTemperature,
        Self::MakeupWaterTemperature,
    ];

    /// Position in [`Quantity::ALL`], for tables indexed by quantity.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The stable name (`steam_flow`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FuelFlow => "fuel_flow",
            Self::FuelTemperature => "fuel_temperature",
            Self::SteamFlow => "steam_flow",
            Self::SteamPressure => "steam_pressure",
            Self::SteamTemperature => "steam_temperature",
            Self::FeedwaterTemperature => "feedwater_temperature",
            Self::FeedwaterPressure => "feedwater_pressure",
            Self::BlowdownFlow => "blowdown_flow",
            Self::FlueGasO2 => "flue_gas_o2",
            Self::FlueGasTemperature => "flue_gas_temperature",
            Self::FlueGasCo => "flue_gas_co",
            Self::CombustionAirTemperature => "combustion_air_temperature",
            Self::CombustionAirHumidity => "combustion_air_humidity",
            Self::SurfaceTemperature => "surface_temperature",
            Self::WaterFlow => "water_flow",
            Self::WaterInletTemperature => "water_inlet_temperature",
            Self::WaterOutletTemperature => "water_outlet_temperature",
            Self::WaterPressure => "water_pressure",
            Self::LiquidFlow => "liquid_flow",
            Self::LiquidInletTemperature => "liquid_inlet_temperature",
            Self::LiquidOutletTemperature => "liquid_outlet_temperature",
            Self::Duty => "duty",
            Self::AuxiliaryPower => "auxiliary_power",
            Self::CondensateReturnFlow => "condensate_return_flow",
            Self::CondensateReturnTemperature => "condensate_return_temperature",
            Self::MakeupWaterTemperature => "makeup_water_temperature",
        }
    }

    /// The dimensions a reading may have, the first being the usual one.
    pub fn dimensions(self) -> &'static [Dimension] {
        match self {
            Self::FuelFlow => &[Dimension::MassFlow, Dimension::StandardVolumeFlow],
            Self::SteamFlow
            | Self::BlowdownFlow
            | Self::WaterFlow
            | Self::LiquidFlow
            | Self::CondensateReturnFlow => &[Dimension::MassFlow],
            Self::SteamPressure | Self::FeedwaterPressure | Self::WaterPressure => {
                &[Dimension::Pressure]
            }
            Self::FlueGasO2 | Self::FlueGasCo | Self::CombustionAirHumidity => {
                &[Dimension::Fraction]
            }
            Self::Duty | Self::AuxiliaryPower => &[Dimension::Power],
            Self::FuelTemperature
            | Self::SteamTemperature
            | Self::FeedwaterTemperature
            | Self::FlueGasTemperature
            | Self::CombustionAirTemperature
            | Self::SurfaceTemperature
            | Self::WaterInletTemperature
            | Self::WaterOutletTemperature
            | Self::LiquidInletTemperature
            | Self::LiquidOutletTemperature
            | Self::CondensateReturnTemperature
            | Self::MakeupWaterTemperature => &[Dimension::Temperature],
        }
    }

    /// Whether the quantity is a rate (flow, power) whose integral over time is a total
    /// (mass, moles, energy).
    pub fn is_rate(self) -> bool {
        matches!(self.dimensions()[0], Dimension::MassFlow | Dimension::Power)
    }

    /// Whether a default stands in when the quantity is not available (CO 0, fuel at 25 °C,
    /// no auxiliary power, feedwater at steam pressure); all others are required by the model.
    pub fn has_default(self) -> bool {
        matches!(
            self,
            Self::FuelTemperature
                | Self::FlueGasCo
                | Self::AuxiliaryPower
                | Self::FeedwaterPressure
        )
    }

    /// Whether a stated uncertainty of the quantity is propagated (it is a measured input of
    /// the engineering core); feedwater and water pressures only fix water properties.
    pub fn propagates_uncertainty(self) -> bool {
        !matches!(self, Self::FeedwaterPressure | Self::WaterPressure) && !self.is_extra()
    }

    /// Whether the quantity is kept beside the unit's calculation document instead of in
    /// it: the condensate-return quantities feed the recommendations, not the efficiency.
    pub fn is_extra(self) -> bool {
        matches!(
            self,
            Self::CondensateReturnFlow
                | Self::CondensateReturnTemperature
                | Self::MakeupWaterTemperature
        )
    }
}

/// The stable names of [`Quantity::ALL`], for messages.
const QUANTITY_NAMES: [&str; 26] = [
    "fuel_flow",
    "fuel_temperature",
    "steam_flow",
    "steam_pressure",
    "steam_temperature",
    "feedwater_temperature",
    "feedwater_pressure",
    "blowdown_flow",
    "flue_gas_o2",
    "flue_gas_temperature",
    "flue_gas_co",
    "combustion_air_temperature",
    "combustion_air_humidity",
    "surface_temperature",
    "water_flow",
    "water_inlet_temperature",
    "water_outlet_temperature",
    "water_pressure",
    "liquid_flow",
    "liquid_inlet_temperature",
    "liquid_outlet_temperature",
    "duty",
    "auxiliary_power",
    "condensate_return_flow",
    "condensate_return_temperature",
    "makeup_water_temperature",
];

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as a string, so that an error inside a tag map names the quantity in its path.
        let name = String::deserialize(deserializer)?;
        Quantity::ALL
            .into_iter()
            .find(|q| q.as_str() == name)
            .ok_or_else(|| de::Error::unknown_variant(&name, &QUANTITY_NAMES))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The document formats a facility spec may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file name's extension names, if any.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Self::Toml),
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The format a text's content suggests: JSON when it starts with `{`, TOML when it reads
    /// as TOML, YAML otherwise.
    pub fn guess(text: &str) -> Self {
        if text.trim_start().starts_with('{') {
            Self::Json
        } else if toml::from_str::<toml::Table>(text).is_ok() {
            Self::Toml
        } else {
            Self::Yaml
        }
    }
}

impl FacilitySpec {
    /// Reads and validates a spec written in `format`.
    pub fn parse(text: &str, format: Format) -> Result<Self, BoundaryError> {
        let syntax = |what: &str, e: &dyn fmt::Display| {
            BoundaryError::new(
                BoundaryErrorKind::Syntax,
                "",
                format!("the document is not valid {what}: {e}"),
            )
        };
        let value: serde_json::Value = match format {
            Format::Json => serde_json::from_str(text).map_err(|e| syntax("JSON", &e))?,
            Format::Toml => toml::from_str(text).map_err(|e| syntax("TOML", &e))?,
            Format::Yaml => serde_norway::from_str(text).map_err(|e| syntax("YAML", &e))?,
        };
        Self::from_json(&value)
    }

    /// Reads a spec from a file's name (its extension picks the format, else the content)
    /// and text.
    pub fn parse_file(name: &str, text: &str) -> Result<Self, BoundaryError> {
        let format = Format::from_file_name(name).unwrap_or_else(|| Format::guess(text));
        Self::parse(text, format)
    }

    /// Reads and validates a spec stored as JSON (`store::FacilityRecord::spec`).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, BoundaryError> {
        let spec: Self = serde_path_to_error::deserialize(value).map_err(shape_error)?;
        spec.validate()?;
        Ok(spec)
    }

    /// The spec as JSON, for storage; [`FacilitySpec::from_json`] reads it back unchanged.
    pub fn to_json(&self) -> serde_json::Value {
        // Every field is a plain string, number, map or JSON value: serialization cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Checks the spec; the error names the path of the first field at fault.
    pub fn validate(&self) -> Result<(), BoundaryError> {
        validate::facility(self)
    }

    /// What changed from `old` to `self`, for `thermaliq facility apply`; empty when nothing did.
    pub fn diff(&self, old: &FacilitySpec) -> Vec<Change> {
        diff::diff(old, self)
    }

    /// The equipment unit with the given id.
    pub fn equipment(&self, id: &str) -> Option<&Equipment> {
        self.equipment.iter().find(|e| e.id == id)
    }

    /// The unit, quantity and tag spec a meter tag feeds, for ingest validation.
    pub fn tag(&self, tag: &str) -> Option<(&Equipment, Quantity, &TagSpec)> {
        self.equipment.iter().find_map(|e| {
            e.tags.iter().find_map(|(q, s)| match s {
                Source::Tag(t) if t.tag == tag => Some((e, *q, t)),
                _ => None,
            })
        })
    }

    /// Every tag of the facility, in equipment and quantity order.
    pub fn tag_names(&self) -> Vec<&str> {
        self.equipment
            .iter()
            .flat_map(|e| e.tags.values().filter_map(Source::tag))
            .map(|t| t.tag.as_str())
            .collect()
    }
}

impl Equipment {
    /// The source of a quantity, if the unit has one.
    pub fn source(&self, q: Quantity) -> Option<&Source> {
        self.tags.get(&q)
    }
}

/// A serde error of the spec, its path completed with a missing field's name.
fn shape_error(e: serde_path_to_error::Error<serde_json::Error>) -> BoundaryError {
    let mut path = e.path().to_string();
    // serde_path_to_error writes `?` for a map key it could not read (an unknown quantity).
    if let Some(parent) = path.strip_suffix(".?") {
        path = parent.to_string();
    }
    if path == "." || path == "?" {
        path.clear();
    }
    let message = e.inner().to_string();
    // serde names a missing field in its message but puts the error at the parent.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        path = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
    }
    BoundaryError::new(BoundaryErrorKind::Shape, path, message)
}
