//! Validated inputs of one equipment calculation.
//!
//! These are the domain form of what a user, a meter or a facility's aggregated readings
//! declare: every quantity already in SI, every choice explicit. The boundary (CLI, HTTP API)
//! builds them from its own documents; the calculations take nothing else.

use crate::combustion::O2Basis;
use crate::fuel::Fuel;
use crate::quantity::{Fraction, MassFlow, Power, Pressure, Temperature};

/// What a calculation is about: fired equipment (with fuel) or an unfired heat exchanger.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one value per calculation: boxing buys nothing
pub enum EquipmentInputs {
    /// A boiler, heater or furnace that burns fuel.
    Fired(FiredInputs),
    /// A heat exchanger between two streams.
    HeatExchanger(HeatExchangerInputs),
}

/// The kind of fired equipment; it names the equipment for benchmarks and reports, the
/// [`UsefulOutput`] decides how its output is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiredKind {
    /// Steam boiler: useful output is steam raised from feedwater.
    SteamBoiler,
    /// Hot-water boiler: useful output is the heat given to a water stream.
    HotWaterBoiler,
    /// Thermal-oil (thermal-fluid) heater.
    ThermalOilHeater,
    /// Fired heater of a process stream (refinery and chemical heaters).
    FiredHeater,
    /// Process furnace heating a load (metal, glass, kilns).
    ProcessFurnace,
}

impl FiredKind {
    /// The stable name used in documents and benchmarks (`steam_boiler`, ...).
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

/// Inputs of a fired-equipment calculation (both methods, both bases, exergy).
#[derive(Debug, Clone)]
pub struct FiredInputs {
    /// Which kind of equipment this is.
    pub kind: FiredKind,
    /// The fuel burned, with its heating values.
    pub fuel: Fuel,
    /// Fuel mass flow as fired, kg/s.
    pub fuel_flow: MassFlow,
    /// Fuel temperature at the burner, K (for the sensible-heat credit).
    pub fuel_temperature: Temperature,
    /// Specific heat of the fuel as fired, J/(kg K); `None` takes the default of its kind.
    pub fuel_specific_heat: Option<f64>,
    /// What the equipment delivers (direct, input–output method).
    pub output: UsefulOutput,
    /// Flue-gas measurements at the boundary of the equipment (economizer or air-heater outlet).
    pub flue_gas: FlueGasMeasurement,
    /// State of the combustion air entering the equipment boundary.
    pub combustion_air: CombustionAir,
    /// Carbon left in the refuse (solid fuels); `None` when all carbon burns.
    pub unburned_carbon: Option<UnburnedCarbon>,
    /// Radiation and convection from the casing.
    pub surface: SurfaceLoss,
    /// Power of auxiliaries whose energy enters the streams inside the boundary (fans, pumps,
    /// mills), W: a credit of the heat-loss method.
    pub auxiliary_power: Power,
    /// Dead state (environment) of the exergy analysis.
    pub dead_state: DeadState,
}

/// Measured flue-gas state.
#[derive(Debug, Clone, Copy)]
pub struct FlueGasMeasurement {
    /// Oxygen mole (volume) fraction as measured.
    pub o2: Fraction,
    /// Whether the analyser reports O2 on a dry or a wet basis.
    pub o2_basis: O2Basis,
    /// Flue-gas temperature leaving the boundary, K.
    pub temperature: Temperature,
    /// Carbon monoxide, mole fraction of dry flue gas (0 when not measured).
    pub co_dry: Fraction,
}

/// Combustion air entering the boundary.
#[derive(Debug, Clone, Copy)]
pub struct CombustionAir {
    /// Dry-bulb temperature, K.
    pub temperature: Temperature,
    /// Relative humidity (0–1).
    pub relative_humidity: Fraction,
    /// Barometric (absolute) pressure, Pa.
    pub pressure: Pressure,
}

/// Unburned carbon in the solid residue.
#[derive(Debug, Clone, Copy)]
pub struct UnburnedCarbon {
    /// Mass fraction of carbon in the refuse (ash plus unburned carbon) as collected.
    pub carbon_in_refuse: Fraction,
}

/// Surface (radiation and convection) loss, computed or stated.
#[derive(Debug, Clone, Copy)]
pub enum SurfaceLoss {
    /// No surface loss is accounted (it then shows up as unaccounted).
    NotAccounted,
    /// A stated fraction of the rated output (ABMA-style), independent of the load.
    FractionOfRating {
        /// Fraction of the rated output lost from the casing.
        fraction: Fraction,
        /// Rated output of the equipment, W.
        rating: Power,
    },
    /// Computed from the casing's area and temperature.
    Measured(SurfaceMeasurement),
}

/// A casing surface with its measured temperature.
#[derive(Debug, Clone, Copy)]
pub struct SurfaceMeasurement {
    /// Outer surface area, m².
    pub area: f64,
    /// Mean outer surface temperature, K.
    pub temperature: Temperature,
    /// Temperature of the surrounding air and walls, K.
    pub ambient_temperature: Temperature,
    /// Mean air velocity over the surface, m/s (0 for still air).
    pub air_velocity: f64,
    /// Hemispherical total emissivity of the surface (0–1).
    pub emissivity: Fraction,
}

/// What fired equipment delivers.
#[derive(Debug, Clone, Copy)]
pub enum UsefulOutput {
    /// Steam raised from feedwater (steam boilers).
    Steam(SteamOutput),
    /// Heat given to a water stream, properties by IF97 (hot-water boilers).
    Water(WaterStream),
    /// Heat given to a liquid of stated specific heat (thermal oil, process fluids).
    Liquid(LiquidStream),
    /// Heat measured by a heat meter, delivered at a stated mean temperature.
    Metered(MeteredHeat),
}

/// Steam side of a steam boiler.
#[derive(Debug, Clone, Copy)]
pub struct SteamOutput {
    /// Steam mass flow leaving the boiler, kg/s.
    pub steam_flow: MassFlow,
    /// Steam pressure at the outlet, absolute, Pa.
    pub steam_pressure: Pressure,
    /// Steam condition at the outlet.
    pub steam_condition: SteamCondition,
    /// Feedwater temperature entering the boundary, K.
    pub feedwater_temperature: Temperature,
    /// Feedwater pressure, absolute, Pa; `None` takes the steam pressure.
    pub feedwater_pressure: Option<Pressure>,
    /// Continuous blowdown leaving as saturated liquid at drum (steam) pressure.
    pub blowdown: Blowdown,
}

/// Condition of the steam leaving a boiler.
#[derive(Debug, Clone, Copy)]
pub enum SteamCondition {
    /// Superheated steam at a measured temperature, K.
    Superheated(Temperature),
    /// Saturated steam of the stated dryness fraction (1 = dry saturated).
    Saturated {
        /// Dryness fraction (quality), 0–1.
        quality: Fraction,
    },
}

/// Continuous blowdown of a steam boiler.
#[derive(Debug, Clone, Copy)]
pub enum Blowdown {
    /// No blowdown.
    None,
    /// Measured blowdown flow, kg/s.
    Flow(MassFlow),
    /// Blowdown as a fraction of the feedwater flow.
    FractionOfFeedwater(Fraction),
}

/// A water stream heated from an inlet to an outlet temperature.
#[derive(Debug, Clone, Copy)]
pub struct WaterStream {
    /// Water mass flow, kg/s.
    pub flow: MassFlow,
    /// Inlet (return) temperature, K.
    pub inlet_temperature: Temperature,
    /// Outlet (supply) temperature, K.
    pub outlet_temperature: Temperature,
    /// Water pressure, absolute, Pa.
    pub pressure: Pressure,
}

/// A liquid of stated mean specific heat heated from an inlet to an outlet temperature.
#[derive(Debug, Clone, Copy)]
pub struct LiquidStream {
    /// Mass flow, kg/s.
    pub flow: MassFlow,
    /// Mean specific heat over the temperature range, J/(kg K).
    pub specific_heat: f64,
    /// Inlet temperature, K.
    pub inlet_temperature: Temperature,
    /// Outlet temperature, K.
    pub outlet_temperature: Temperature,
}

/// Heat measured by a heat meter.
#[derive(Debug, Clone, Copy)]
pub struct MeteredHeat {
    /// Heat rate delivered, W.
    pub duty: Power,
    /// Thermodynamic mean temperature at which the heat is delivered, K (for its exergy).
    pub delivery_temperature: Temperature,
}

/// The environment against which exergy is measured.
#[derive(Debug, Clone, Copy)]
pub struct DeadState {
    /// Dead-state temperature, K.
    pub temperature: Temperature,
    /// Dead-state pressure, absolute, Pa.
    pub pressure: Pressure,
}

impl DeadState {
    /// The conventional dead state: 25 °C and 101.325 kPa.
    pub fn standard() -> Self {
        Self {
            temperature: Temperature::from_kelvin(298.15).expect("298.15 K is a valid temperature"),
            pressure: Pressure::from_pascal(crate::quantity::STANDARD_ATMOSPHERE_PA)
                .expect("101325 Pa is a valid pressure"),
        }
    }
}

/// Inputs of a heat-exchanger calculation.
#[derive(Debug, Clone, Copy)]
pub struct HeatExchangerInputs {
    /// The stream that gives heat.
    pub hot: ExchangerStream,
    /// The stream that takes heat.
    pub cold: ExchangerStream,
    /// Dead state of the exergy analysis.
    pub dead_state: DeadState,
}

/// One side of a heat exchanger.
#[derive(Debug, Clone, Copy)]
pub enum ExchangerStream {
    /// Liquid water (or steam without phase change) by IF97 at a stated pressure.
    Water(WaterStream),
    /// A fluid of stated mean specific heat.
    Liquid(LiquidStream),
}
