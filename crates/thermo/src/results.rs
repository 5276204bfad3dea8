//! Results of one equipment calculation, every figure with its unit and heating-value basis.

use crate::inputs::FiredKind;
use crate::species::Species;

/// Heating-value basis of a fuel input, an efficiency or a loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Higher (gross) heating value: water in the products condensed.
    Hhv,
    /// Lower (net) heating value: water in the products as vapour.
    Lhv,
}

impl Basis {
    /// `"HHV"` or `"LHV"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hhv => "HHV",
            Self::Lhv => "LHV",
        }
    }
}

/// One figure on both heating-value bases.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OnBasis {
    /// On the higher (gross) heating value.
    pub hhv: f64,
    /// On the lower (net) heating value.
    pub lhv: f64,
}

impl OnBasis {
    /// The figure on the given basis.
    pub fn on(&self, basis: Basis) -> f64 {
        match basis {
            Basis::Hhv => self.hhv,
            Basis::Lhv => self.lhv,
        }
    }
}

/// Where energy leaves fired equipment other than as useful output (heat-loss method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Sensible heat of the dry flue gas above the reference temperature.
    DryFlueGas,
    /// Water formed from the fuel's hydrogen (latent heat only on the HHV basis).
    WaterFromHydrogen,
    /// Moisture of the fuel (latent heat only on the HHV basis).
    MoistureInFuel,
    /// Moisture of the combustion air.
    MoistureInAir,
    /// Carbon monoxide (unburned gas) in the flue gas.
    CarbonMonoxide,
    /// Unburned carbon in the refuse.
    UnburnedCarbon,
    /// Radiation and convection from the casing.
    Surface,
    /// Blowdown water.
    Blowdown,
}

impl LossKind {
    /// All loss kinds, in reporting order.
    pub const ALL: [LossKind; 8] = [
        Self::DryFlueGas,
        Self::WaterFromHydrogen,
        Self::MoistureInFuel,
        Self::MoistureInAir,
        Self::CarbonMonoxide,
        Self::UnburnedCarbon,
        Self::Surface,
        Self::Blowdown,
    ];

    /// The stable name used in documents (`dry_flue_gas`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DryFlueGas => "dry_flue_gas",
            Self::WaterFromHydrogen => "water_from_hydrogen",
            Self::MoistureInFuel => "moisture_in_fuel",
            Self::MoistureInAir => "moisture_in_air",
            Self::CarbonMonoxide => "carbon_monoxide",
            Self::UnburnedCarbon => "unburned_carbon",
            Self::Surface => "surface",
            Self::Blowdown => "blowdown",
        }
    }
}

/// One loss of the heat-loss method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loss {
    /// Which loss.
    pub kind: LossKind,
    /// Heat rate lost, W, on each basis.
    pub power: OnBasis,
    /// The loss as a fraction of the fuel input on the same basis.
    pub fraction: OnBasis,
}

/// Energy entering the boundary other than the fuel's heating value (heat-loss method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditKind {
    /// Sensible heat of the combustion air above the reference temperature.
    EnteringAir,
    /// Sensible heat of the fuel above the reference temperature.
    FuelSensibleHeat,
    /// Auxiliary power entering the streams (fans, pumps, mills).
    AuxiliaryPower,
}

impl CreditKind {
    /// All credit kinds, in reporting order.
    pub const ALL: [CreditKind; 3] = [
        Self::EnteringAir,
        Self::FuelSensibleHeat,
        Self::AuxiliaryPower,
    ];

    /// The stable name used in documents (`entering_air`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnteringAir => "entering_air",
            Self::FuelSensibleHeat => "fuel_sensible_heat",
            Self::AuxiliaryPower => "auxiliary_power",
        }
    }
}

/// One credit of the heat-loss method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Credit {
    /// Which credit.
    pub kind: CreditKind,
    /// Heat rate credited, W (the same on both bases).
    pub power: f64,
    /// The credit as a fraction of the fuel input on each basis.
    pub fraction: OnBasis,
}

/// Combustion figures of a fired calculation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CombustionSummary {
    /// Excess air, fraction of stoichiometric (0.15 = 15 %).
    pub excess_air: f64,
    /// Stoichiometric dry air per fuel, kg/kg.
    pub stoichiometric_air_fuel_ratio: f64,
    /// Dry combustion air flow, kg/s.
    pub dry_air_flow: f64,
    /// Wet flue-gas flow, kg/s.
    pub flue_gas_flow: f64,
    /// Wet flue-gas mole fractions, indexed by [`Species::index`].
    pub flue_gas_wet: [f64; Species::ALL.len()],
    /// Dry flue-gas mole fractions, indexed by [`Species::index`] (water is zero).
    pub flue_gas_dry: [f64; Species::ALL.len()],
    /// Water dew point of the flue gas, K (saturation temperature at the partial pressure of
    /// its water vapour); `None` below the triple point.
    pub water_dew_point: Option<f64>,
}

/// Where work potential leaves fired equipment other than with the useful output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExergyLossKind {
    /// Thermomechanical exergy of the flue gas leaving the boundary.
    FlueGas,
    /// Chemical exergy of the carbon monoxide in the flue gas.
    CarbonMonoxide,
    /// Chemical exergy of the unburned carbon.
    UnburnedCarbon,
    /// Exergy of the heat lost from the casing at its surface temperature.
    Surface,
    /// Exergy of the blowdown water.
    Blowdown,
}

impl ExergyLossKind {
    /// All exergy-loss kinds, in reporting order.
    pub const ALL: [ExergyLossKind; 5] = [
        Self::FlueGas,
        Self::CarbonMonoxide,
        Self::UnburnedCarbon,
        Self::Surface,
        Self::Blowdown,
    ];

    /// The stable name used in documents (`flue_gas`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FlueGas => "flue_gas",
            Self::CarbonMonoxide => "carbon_monoxide",
            Self::UnburnedCarbon => "unburned_carbon",
            Self::Surface => "surface",
            Self::Blowdown => "blowdown",
        }
    }
}

/// Second-law (exergy) balance of a fired calculation; all flows in W.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExergyResult {
    /// Chemical exergy of the fuel flow.
    pub fuel: f64,
    /// Thermomechanical exergy of the combustion air entering.
    pub combustion_air: f64,
    /// Auxiliary power (pure work).
    pub auxiliary_power: f64,
    /// Exergy delivered with the useful output.
    pub useful: f64,
    /// Exergy leaving as losses, in the order of [`ExergyLossKind::ALL`].
    pub losses: [(ExergyLossKind, f64); ExergyLossKind::ALL.len()],
    /// Exergy destroyed by irreversibilities (combustion, heat transfer, mixing).
    pub destruction: f64,
    /// Exergy efficiency: useful exergy over fuel exergy.
    pub efficiency: f64,
}

/// A note on the result that does not stop the calculation (a correlation used near the
/// edge of its range, a default assumed).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// Stable machine-readable code (`stack_below_dew_point`, ...).
    pub code: &'static str,
    /// What the engineer should know, with its quantities kept as numbers.
    pub message: crate::phrase::Phrase,
}

/// Complete result of a fired-equipment calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct FiredResult {
    /// Which kind of equipment.
    pub kind: FiredKind,
    /// Fuel energy input (fuel flow times heating value), W.
    pub fuel_input: OnBasis,
    /// Useful heat output, W.
    pub useful_output: f64,
    /// Losses of the heat-loss method, in the order of [`LossKind::ALL`].
    pub losses: [Loss; LossKind::ALL.len()],
    /// Credits of the heat-loss method, in the order of [`CreditKind::ALL`].
    pub credits: [Credit; CreditKind::ALL.len()],
    /// Efficiency by the input–output (direct) method: output over fuel input.
    pub direct_efficiency: OnBasis,
    /// Efficiency by the heat-loss (indirect) method: 1 − losses + credits, per fuel input.
    pub indirect_efficiency: OnBasis,
    /// Fuel input plus credits minus output minus losses, W; positive when the measured
    /// output falls short of what the loss method accounts for.
    pub unaccounted: OnBasis,
    /// Energy-balance closure: unaccounted over fuel input (signed fraction).
    pub closure: OnBasis,
    /// Available heat: fuel input minus the flue-gas losses, over fuel input.
    pub available_heat: OnBasis,
    /// Combustion figures.
    pub combustion: CombustionSummary,
    /// Second-law balance.
    pub exergy: ExergyResult,
    /// Notes for the engineer.
    pub warnings: Vec<Warning>,
}

/// Complete result of a heat-exchanger calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatExchangerResult {
    /// Heat given up by the hot stream, W.
    pub hot_duty: f64,
    /// Heat taken up by the cold stream, W.
    pub cold_duty: f64,
    /// Heat retained: cold duty over hot duty (the exchanger's first-law efficiency).
    pub efficiency: f64,
    /// Heat lost or unaccounted, hot duty minus cold duty, W.
    pub unaccounted: f64,
    /// Effectiveness: mean duty over the maximum possible duty, C_min (T_hot,in − T_cold,in).
    pub effectiveness: f64,
    /// Log-mean temperature difference, K (counter-flow arrangement).
    pub lmtd: f64,
    /// Exergy given up by the hot stream, W.
    pub hot_exergy_drop: f64,
    /// Exergy taken up by the cold stream, W.
    pub cold_exergy_gain: f64,
    /// Exergy destroyed (and lost), W.
    pub exergy_destruction: f64,
    /// Exergy efficiency: cold exergy gain over hot exergy drop.
    pub exergy_efficiency: f64,
    /// Notes for the engineer.
    pub warnings: Vec<Warning>,
}

/// The result of one equipment calculation.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one value per calculation: boxing buys nothing
pub enum EquipmentResult {
    /// Fired equipment.
    Fired(FiredResult),
    /// A heat exchanger.
    HeatExchanger(HeatExchangerResult),
}
