//! The input document of one equipment calculation, as read from JSON.
//!
//! Field names are the contract of `docs/CALC_INPUT.md` and of the committed JSON Schema
//! `docs/schema/calculation-input.schema.json`; every object refuses unknown fields, so a
//! misspelt field is an error, never a silently ignored measurement.

use schemars::JsonSchema;
use serde::Deserialize;

use super::quantity::{Q, kind};

/// One equipment calculation: fired equipment (boilers, heaters, furnaces) or a heat exchanger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "THERMALIQ calculation input")]
pub struct CalculationInput {
    /// Which equipment, and its name for reports.
    pub equipment: Equipment,
    /// Ambient (barometric) pressure, absolute, that gauge readings (`bar(g)`, `psig`) are
    /// added to. Default: `combustion_air.pressure`, else 101.325 kPa.
    pub ambient_pressure: Option<Q<kind::Pressure>>,
    /// The fuel burned (fired equipment only).
    pub fuel: Option<FuelSpec>,
    /// Fuel flow as fired: a mass flow, or for gaseous fuels a flow at standard conditions
    /// (`Nm3/h`, `scf/h`), converted with the gas's molar mass (fired equipment only).
    pub fuel_flow: Option<Q<kind::FuelFlow>>,
    /// What the equipment delivers (fired equipment only).
    pub output: Option<Output>,
    /// Flue gas measured at the equipment boundary (fired equipment only).
    pub flue_gas: Option<FlueGas>,
    /// Combustion air entering the boundary (fired equipment only).
    pub combustion_air: Option<CombustionAir>,
    /// Carbon left in the refuse (solid fuels); absent when all carbon burns.
    pub unburned_carbon: Option<UnburnedCarbon>,
    /// Radiation and convection from the casing; absent when not accounted (it then shows up
    /// in the unaccounted heat, and the output says so).
    pub surface: Option<Surface>,
    /// Power of fans, pumps and mills whose energy enters the streams inside the boundary: a
    /// credit of the heat-loss method. Default 0 W.
    pub auxiliary_power: Option<Q<kind::Power>>,
    /// The stream that gives heat (heat exchangers only).
    pub hot: Option<Stream>,
    /// The stream that takes heat (heat exchangers only).
    pub cold: Option<Stream>,
    /// Environment of the exergy analysis. Default 25 °C and 101.325 kPa.
    pub dead_state: Option<DeadState>,
    /// How to propagate the uncertainties stated on the values. Default, when any value
    /// states an uncertainty: first order.
    pub uncertainty: Option<UncertaintyOptions>,
}

/// The equipment calculated.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Equipment {
    /// The kind of equipment.
    #[serde(rename = "type")]
    pub kind: EquipmentType,
    /// A name for reports (tag number, description).
    pub name: Option<String>,
}

/// The kinds of equipment THERMALIQ calculates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EquipmentType {
    /// Steam boiler.
    SteamBoiler,
    /// Hot-water boiler.
    HotWaterBoiler,
    /// Thermal-oil (thermal-fluid) heater.
    ThermalOilHeater,
    /// Fired heater of a process stream.
    FiredHeater,
    /// Process furnace heating a load.
    ProcessFurnace,
    /// Heat exchanger between two streams (no fuel).
    HeatExchanger,
}

impl EquipmentType {
    /// The name used in the document (`steam_boiler`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SteamBoiler => "steam_boiler",
            Self::HotWaterBoiler => "hot_water_boiler",
            Self::ThermalOilHeater => "thermal_oil_heater",
            Self::FiredHeater => "fired_heater",
            Self::ProcessFurnace => "process_furnace",
            Self::HeatExchanger => "heat_exchanger",
        }
    }
}

/// A fuel: a standard one by name, a gas by composition, or a liquid or solid by ultimate
/// analysis; heating values may be stated (laboratory or supplier values).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FuelSpec {
    /// A fuel of THERMALIQ's library; excludes `kind` and the compositions.
    pub standard: Option<StandardFuel>,
    /// A name for reports (required for a custom fuel).
    pub name: Option<String>,
    /// Gas, liquid or solid (required for a custom fuel).
    pub kind: Option<FuelKind>,
    /// Composition of a gaseous fuel, mol % (sums to 100 within 0.01).
    pub composition_mol_percent: Option<GasComposition>,
    /// Ultimate analysis of a liquid or solid fuel, mass % on the stated `basis`.
    pub ultimate_analysis_mass_percent: Option<UltimateAnalysis>,
    /// Basis of the ultimate analysis: `as_fired` (includes moisture) or `dry` (then the
    /// as-fired `moisture` is required).
    pub basis: Option<AnalysisBasis>,
    /// Moisture of the fuel as fired, kg water per kg fuel as fired, with a `dry` analysis.
    pub moisture: Option<Q<kind::Fraction>>,
    /// Stated gross (higher) heating value, per kg as fired; the LHV follows from it.
    pub hhv: Option<Q<kind::SpecificEnergy>>,
    /// Stated net (lower) heating value, per kg as fired; the HHV follows from it.
    pub lhv: Option<Q<kind::SpecificEnergy>>,
    /// Fuel temperature at the burner. Default 25 °C, the reference temperature (no
    /// sensible-heat credit).
    pub temperature: Option<Q<kind::Temperature>>,
    /// Specific heat of the fuel as fired. Default: by fuel kind (see the methods).
    pub specific_heat: Option<Q<kind::SpecificHeat>>,
}

/// The fuels of THERMALIQ's library (compositions and sources in `docs/METHODS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StandardFuel {
    /// Pipeline natural gas (AGA Report No. 8 "Gulf Coast" gas).
    NaturalGas,
    /// Pure methane.
    Methane,
    /// Pure propane.
    Propane,
    /// Pure hydrogen.
    Hydrogen,
    /// No. 2 distillate fuel oil.
    FuelOilNo2,
    /// No. 6 residual fuel oil.
    FuelOilNo6,
    /// Illinois No. 6 bituminous coal as received.
    BituminousCoal,
    /// Powder River Basin subbituminous coal as received.
    SubbituminousCoal,
    /// Wood at 30 % moisture.
    Wood,
    /// Oven-dry wood.
    WoodDry,
}

impl StandardFuel {
    /// Every standard fuel.
    pub const ALL: [StandardFuel; 10] = [
        Self::NaturalGas,
        Self::Methane,
        Self::Propane,
        Self::Hydrogen,
        Self::FuelOilNo2,
        Self::FuelOilNo6,
        Self::BituminousCoal,
        Self::SubbituminousCoal,
        Self::Wood,
        Self::WoodDry,
    ];

    /// The id of the fuel in `thermo::fuel::standard`.
    pub fn id(self) -> &'static str {
        match self {
            Self::NaturalGas => "natural_gas",
            Self::Methane => "methane",
            Self::Propane => "propane",
            Self::Hydrogen => "hydrogen",
            Self::FuelOilNo2 => "fuel_oil_no2",
            Self::FuelOilNo6 => "fuel_oil_no6",
            Self::BituminousCoal => "bituminous_coal",
            Self::SubbituminousCoal => "subbituminous_coal",
            Self::Wood => "wood",
            Self::WoodDry => "wood_dry",
        }
    }
}

/// The physical state a fuel is fired in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FuelKind {
    /// Gaseous fuel, defined by `composition_mol_percent`.
    Gas,
    /// Liquid fuel, defined by `ultimate_analysis_mass_percent`.
    Liquid,
    /// Solid fuel, defined by `ultimate_analysis_mass_percent`.
    Solid,
}

/// The basis of an ultimate analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisBasis {
    /// As fired (as received): the analysis includes the moisture.
    AsFired,
    /// Dry: the analysis excludes moisture, given separately as `moisture`.
    Dry,
}

/// Mole percent of each component of a gaseous fuel; omitted components are 0.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GasComposition {
    /// Methane, CH4, mol %.
    pub methane: Option<f64>,
    /// Ethane, C2H6, mol %.
    pub ethane: Option<f64>,
    /// Propane, C3H8, mol %.
    pub propane: Option<f64>,
    /// n-Butane, n-C4H10, mol %.
    pub n_butane: Option<f64>,
    /// Isobutane, i-C4H10, mol %.
    pub isobutane: Option<f64>,
    /// n-Pentane, n-C5H12, mol %.
    pub n_pentane: Option<f64>,
    /// Isopentane, i-C5H12, mol %.
    pub isopentane: Option<f64>,
    /// n-Hexane, n-C6H14, mol %.
    pub n_hexane: Option<f64>,
    /// Ethylene, C2H4, mol %.
    pub ethylene: Option<f64>,
    /// Propylene, C3H6, mol %.
    pub propylene: Option<f64>,
    /// Hydrogen, H2, mol %.
    pub hydrogen: Option<f64>,
    /// Carbon monoxide, CO, mol %.
    pub carbon_monoxide: Option<f64>,
    /// Carbon dioxide, CO2, mol %.
    pub carbon_dioxide: Option<f64>,
    /// Nitrogen, N2, mol %.
    pub nitrogen: Option<f64>,
    /// Oxygen, O2, mol %.
    pub oxygen: Option<f64>,
    /// Hydrogen sulfide, H2S, mol %.
    pub hydrogen_sulfide: Option<f64>,
    /// Water vapour, H2O, mol %.
    pub water: Option<f64>,
    /// Argon, Ar, mol %.
    pub argon: Option<f64>,
    /// Helium, He, mol %.
    pub helium: Option<f64>,
}

impl GasComposition {
    /// Every component with its stated mol %, in the order of `GasComponent::ALL`; the
    /// names are those of `GasComponent::name`.
    pub fn entries(&self) -> [(&'static str, Option<f64>); 19] {
        [
            ("methane", self.methane),
            ("ethane", self.ethane),
            ("propane", self.propane),
            ("n_butane", self.n_butane),
            ("isobutane", self.isobutane),
            ("n_pentane", self.n_pentane),
            ("isopentane", self.isopentane),
            ("n_hexane", self.n_hexane),
            ("ethylene", self.ethylene),
            ("propylene", self.propylene),
            ("hydrogen", self.hydrogen),
            ("carbon_monoxide", self.carbon_monoxide),
            ("carbon_dioxide", self.carbon_dioxide),
            ("nitrogen", self.nitrogen),
            ("oxygen", self.oxygen),
            ("hydrogen_sulfide", self.hydrogen_sulfide),
            ("water", self.water),
            ("argon", self.argon),
            ("helium", self.helium),
        ]
    }
}

/// Ultimate analysis, mass %; components other than carbon and hydrogen default to 0, and the
/// stated ones must sum to 100 within 1e-4.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UltimateAnalysis {
    /// Carbon, mass %.
    pub carbon: f64,
    /// Hydrogen (excluding that of moisture), mass %.
    pub hydrogen: f64,
    /// Oxygen (excluding that of moisture), mass %.
    #[serde(default)]
    pub oxygen: f64,
    /// Nitrogen, mass %.
    #[serde(default)]
    pub nitrogen: f64,
    /// Sulfur, mass %.
    #[serde(default)]
    pub sulfur: f64,
    /// Total moisture, mass % (as-fired basis only; with a dry basis give `fuel.moisture`).
    pub moisture: Option<f64>,
    /// Ash, mass %.
    #[serde(default)]
    pub ash: f64,
}

/// What fired equipment delivers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Output {
    /// Steam raised from feedwater (steam boilers).
    Steam(SteamOutput),
    /// A water stream heated, properties by IAPWS-IF97 (hot-water boilers).
    Water(WaterStream),
    /// A liquid of stated mean specific heat heated (thermal oil, process fluids).
    Liquid(LiquidStream),
    /// Heat measured by a heat meter.
    Metered(MeteredHeat),
}

/// Steam side of a steam boiler.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SteamOutput {
    /// Steam flow leaving the boiler.
    pub flow: Q<kind::MassFlow>,
    /// Steam pressure at the outlet (absolute or gauge unit).
    pub pressure: Q<kind::Pressure>,
    /// Temperature of superheated steam; give this or `quality`.
    pub temperature: Option<Q<kind::Temperature>>,
    /// Dryness fraction of saturated steam (1 = dry saturated); give this or `temperature`.
    pub quality: Option<Q<kind::Fraction>>,
    /// Feedwater temperature entering the boundary.
    pub feedwater_temperature: Q<kind::Temperature>,
    /// Feedwater pressure. Default: the steam pressure.
    pub feedwater_pressure: Option<Q<kind::Pressure>>,
    /// Continuous blowdown, leaving as saturated liquid at steam pressure. Default: none.
    pub blowdown: Option<Blowdown>,
}

/// Continuous blowdown of a steam boiler.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Blowdown {
    /// Blowdown as a fraction of the feedwater flow (`"4 %"`).
    FractionOfFeedwater(Q<kind::Fraction>),
    /// Measured blowdown flow.
    Flow(Q<kind::MassFlow>),
}

/// A water stream heated or cooled between an inlet and an outlet temperature.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaterStream {
    /// Water flow.
    pub flow: Q<kind::MassFlow>,
    /// Inlet temperature.
    pub inlet_temperature: Q<kind::Temperature>,
    /// Outlet temperature.
    pub outlet_temperature: Q<kind::Temperature>,
    /// Water pressure (absolute or gauge unit); it must keep the water liquid.
    pub pressure: Q<kind::Pressure>,
}

/// A liquid of stated mean specific heat heated or cooled between two temperatures.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidStream {
    /// Liquid flow.
    pub flow: Q<kind::MassFlow>,
    /// Mean specific heat over the temperature range.
    pub specific_heat: Q<kind::SpecificHeat>,
    /// Inlet temperature.
    pub inlet_temperature: Q<kind::Temperature>,
    /// Outlet temperature.
    pub outlet_temperature: Q<kind::Temperature>,
}

/// Heat measured by a heat meter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeteredHeat {
    /// Heat rate delivered.
    pub duty: Q<kind::Power>,
    /// Thermodynamic mean temperature at which the heat is delivered (for its exergy).
    pub delivery_temperature: Q<kind::Temperature>,
}

/// Flue gas measured at the equipment boundary (economizer or air-heater outlet).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlueGas {
    /// Oxygen, mole (volume) fraction as the analyser reports it.
    pub o2: Q<kind::Fraction>,
    /// Whether the analyser reports O2 on a dry (extractive, chilled sample) or wet (in situ)
    /// basis. Required: the two differ by the flue gas's water content.
    pub o2_basis: O2Basis,
    /// Flue-gas temperature leaving the boundary.
    pub temperature: Q<kind::Temperature>,
    /// Carbon monoxide, mole fraction of DRY flue gas (`"50 ppm"`). Default 0.
    pub co_dry: Option<Q<kind::Fraction>>,
}

/// Basis of an O2 reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum O2Basis {
    /// Fraction of the dry flue gas.
    Dry,
    /// Fraction of the wet flue gas.
    Wet,
}

/// Combustion air entering the boundary.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CombustionAir {
    /// Dry-bulb temperature.
    pub temperature: Q<kind::Temperature>,
    /// Relative humidity (`"60 %"`).
    pub relative_humidity: Q<kind::Fraction>,
    /// Barometric pressure, in an absolute unit. Default: `ambient_pressure`, else 101.325 kPa.
    pub pressure: Option<Q<kind::Pressure>>,
}

/// Carbon in the refuse of a solid fuel.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnburnedCarbon {
    /// Mass fraction of carbon in the refuse (ash plus unburned carbon) as collected.
    pub carbon_in_refuse: Q<kind::Fraction>,
}

/// Surface (radiation and convection) loss: stated or computed from a measured casing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Surface {
    /// A stated fraction of the rated output (ABMA-style curve value), independent of load.
    FractionOfRating(SurfaceFraction),
    /// Computed from the casing's area and measured temperature.
    Measured(SurfaceMeasured),
}

/// A stated surface loss.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurfaceFraction {
    /// Fraction of the rated output lost from the casing (`"0.5 %"`).
    pub fraction: Q<kind::Fraction>,
    /// Rated output of the equipment.
    pub rating: Q<kind::Power>,
}

/// A measured casing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurfaceMeasured {
    /// Outer surface area.
    pub area: Q<kind::Area>,
    /// Mean outer surface temperature.
    pub temperature: Q<kind::Temperature>,
    /// Temperature of the surrounding air and walls.
    pub ambient_temperature: Q<kind::Temperature>,
    /// Mean air velocity over the surface (`"0 m/s"` for still air).
    pub air_velocity: Q<kind::Velocity>,
    /// Hemispherical total emissivity of the surface (0 to 1).
    pub emissivity: Q<kind::Fraction>,
}

/// One side of a heat exchanger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Stream {
    /// Liquid water, properties by IAPWS-IF97 at the stated pressure.
    Water(WaterStream),
    /// A fluid of stated mean specific heat.
    Liquid(LiquidStream),
}

/// The environment of the exergy analysis.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadState {
    /// Dead-state temperature.
    pub temperature: Q<kind::Temperature>,
    /// Dead-state pressure, in an absolute unit.
    pub pressure: Q<kind::Pressure>,
}

/// How stated uncertainties are propagated to the efficiencies.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UncertaintyOptions {
    /// First-order (GUM) propagation, seeded Monte Carlo, or both.
    pub method: UncertaintyMethod,
    /// Monte Carlo samples. Default 10 000.
    pub samples: Option<u64>,
    /// Seed of the Monte Carlo generator; the same seed gives the same result bit for bit.
    /// Default 1.
    pub seed: Option<u64>,
}

/// Uncertainty propagation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UncertaintyMethod {
    /// First-order propagation with numerical sensitivities (JCGM 100:2008).
    FirstOrder,
    /// Monte Carlo propagation (JCGM 101:2008).
    MonteCarlo,
    /// Both methods.
    Both,
}
