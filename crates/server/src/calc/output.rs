//! The output document: the complete result, every figure with its unit in its key and its
//! heating-value basis named. Key order is the order of the struct fields, so the document is
//! stable from run to run.
// Keys carry SI unit symbols (`_W`, `_K`, `_J_kg`), whose case is part of their meaning.
#![allow(non_snake_case)]

use serde::Serialize;
use thermo::fuel::{FuelKind, HeatingValueOrigin};
use thermo::inputs::{DeadState, FiredInputs, HeatExchangerInputs, SurfaceLoss};
use thermo::phrase::{Part, Phrase};
use thermo::results::{FiredResult, HeatExchangerResult, OnBasis};
use thermo::species::Species;
use thermo::uncertainty::{MonteCarloReport, UncertaintyReport};

use super::convert::{Converted, Note, StatedInput};

/// Percent of a fraction.
fn pct(x: f64) -> f64 {
    100.0 * x
}

/// A figure on both heating-value bases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bases {
    /// On the higher (gross) heating value.
    #[serde(rename = "HHV")]
    pub hhv: f64,
    /// On the lower (net) heating value.
    #[serde(rename = "LHV")]
    pub lhv: f64,
}

impl Bases {
    fn of(x: OnBasis) -> Self {
        Self {
            hhv: x.hhv,
            lhv: x.lhv,
        }
    }

    fn percent(x: OnBasis) -> Self {
        Self {
            hhv: pct(x.hhv),
            lhv: pct(x.lhv),
        }
    }
}

/// The result of one calculation, fired equipment or heat exchanger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OutputDocument {
    /// A boiler, heater or furnace.
    Fired(Box<FiredDocument>),
    /// A heat exchanger.
    HeatExchanger(Box<ExchangerDocument>),
}

/// Which equipment was calculated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquipmentOut {
    /// The document's equipment type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its name, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A note for the engineer (thermo's warnings and the boundary's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarningOut {
    /// Stable machine-readable code.
    pub code: String,
    /// What the engineer should know, in SI.
    pub message: String,
    /// The message as text and quantities, for a display in other units.
    pub message_parts: Vec<PartOut>,
}

/// A piece of a message as documents carry it: text as a string, a quantity as its value,
/// unit and dimension (so a display can convert it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PartOut {
    /// Text.
    Text(String),
    /// A quantity: `value` in `unit`, a `thermo::units` symbol of `dimension`.
    Quantity {
        /// The value in `unit`.
        value: f64,
        /// The unit symbol.
        unit: String,
        /// The dimension's code (`temperature`, `temperature_difference`, ...).
        dimension: &'static str,
    },
}

/// The parts of a phrase, for a document.
pub fn phrase_parts(phrase: &Phrase) -> Vec<PartOut> {
    phrase
        .parts()
        .iter()
        .map(|p| match p {
            Part::Text(t) => PartOut::Text(t.to_string()),
            Part::Quantity(q) => PartOut::Quantity {
                value: q.value,
                unit: q.unit.to_string(),
                dimension: q.dimension.code(),
            },
        })
        .collect()
}

/// Where the numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// SHA-256 of the canonical inputs (lowercase hex).
    pub sha256: String,
    /// Version of the calculation method.
    pub method_version: &'static str,
    /// The canonical text that was hashed, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_inputs: Option<String>,
}

/// The complete result of fired equipment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredDocument {
    /// THERMALIQ version that computed it.
    pub thermaliq_version: &'static str,
    /// The equipment.
    pub equipment: EquipmentOut,
    /// The fuel as it entered the calculation.
    pub fuel: FuelOut,
    /// Efficiencies, percent.
    pub efficiency_percent: Efficiencies,
    /// First-law balance of the heat-loss method.
    pub energy_balance: EnergyBalance,
    /// Available heat: fuel input plus air and fuel credits minus the flue-gas losses, percent
    /// of the fuel input.
    pub available_heat_percent: Bases,
    /// Combustion figures.
    pub combustion: CombustionOut,
    /// Second-law balance.
    pub exergy: ExergyOut,
    /// Uncertainty of the efficiencies, when values state uncertainties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<UncertaintyOut>,
    /// Notes for the engineer.
    pub warnings: Vec<WarningOut>,
    /// Provenance of the result.
    pub provenance: Provenance,
}

/// The fuel as it entered the calculation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FuelOut {
    /// Its name.
    pub name: String,
    /// `gas`, `liquid` or `solid`.
    pub kind: &'static str,
    /// Gross heating value, J/kg as fired, at 25 °C.
    pub hhv_J_kg: f64,
    /// Net heating value, J/kg as fired, at 25 °C.
    pub lhv_J_kg: f64,
    /// Where the HHV comes from.
    pub hhv_origin: &'static str,
    /// Where the LHV comes from.
    pub lhv_origin: &'static str,
    /// Molar mass of a gas, kg/mol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub molar_mass_kg_mol: Option<f64>,
    /// Fuel mass flow as fired, kg/s.
    pub flow_kg_s: f64,
    /// Fuel temperature at the burner, K.
    pub temperature_K: f64,
}

/// Efficiencies, percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Efficiencies {
    /// Input–output (direct) method.
    pub direct: Bases,
    /// Heat-loss (indirect) method.
    pub indirect: Bases,
    /// Exergy (second-law) efficiency: useful exergy over fuel exergy.
    pub exergy: f64,
}

/// First-law balance; heat rates in W.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyBalance {
    /// Reference temperature of losses and credits, K (25 °C, where the heating values are
    /// defined).
    pub reference_temperature_K: f64,
    /// Fuel flow times heating value.
    pub fuel_input_W: Bases,
    /// Heat delivered.
    pub useful_output_W: f64,
    /// Losses of the heat-loss method.
    pub losses: Vec<LossOut>,
    /// Credits of the heat-loss method.
    pub credits: Vec<CreditOut>,
    /// Fuel input plus credits minus output minus losses: positive when the measured output
    /// falls short of what the losses account for.
    pub unaccounted_W: Bases,
    /// Unaccounted heat, percent of the fuel input (signed).
    pub closure_percent: Bases,
}

/// One loss.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossOut {
    /// Stable name (`dry_flue_gas`, ...).
    pub name: &'static str,
    /// Heat rate lost, W.
    pub W: Bases,
    /// Percent of the fuel input on the same basis.
    pub percent_of_input: Bases,
}

/// One credit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreditOut {
    /// Stable name (`entering_air`, ...).
    pub name: &'static str,
    /// Heat rate credited, W (the same on both bases).
    pub W: f64,
    /// Percent of the fuel input.
    pub percent_of_input: Bases,
}

/// Mole percent of each flue-gas species.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeciesPercent {
    /// Nitrogen.
    pub N2: f64,
    /// Oxygen.
    pub O2: f64,
    /// Argon.
    pub Ar: f64,
    /// Carbon dioxide.
    pub CO2: f64,
    /// Water vapour.
    pub H2O: f64,
    /// Sulfur dioxide.
    pub SO2: f64,
    /// Carbon monoxide.
    pub CO: f64,
}

impl SpeciesPercent {
    fn of(x: &[f64; Species::ALL.len()]) -> Self {
        let at = |s: Species| pct(x[s.index()]);
        Self {
            N2: at(Species::N2),
            O2: at(Species::O2),
            Ar: at(Species::Ar),
            CO2: at(Species::CO2),
            H2O: at(Species::H2O),
            SO2: at(Species::SO2),
            CO: at(Species::CO),
        }
    }
}

/// Combustion figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CombustionOut {
    /// Excess air, percent of stoichiometric.
    pub excess_air_percent: f64,
    /// Stoichiometric dry air per fuel as fired, kg/kg.
    pub stoichiometric_air_fuel_ratio_kg_kg: f64,
    /// Dry combustion air flow, kg/s.
    pub dry_air_flow_kg_s: f64,
    /// Wet flue-gas flow, kg/s.
    pub flue_gas_flow_kg_s: f64,
    /// Wet flue-gas composition, mol %.
    pub flue_gas_wet_mol_percent: SpeciesPercent,
    /// Dry flue-gas composition, mol %.
    pub flue_gas_dry_mol_percent: SpeciesPercent,
    /// Water dew point of the flue gas, K; null below the triple point.
    pub water_dew_point_K: Option<f64>,
}

/// Second-law balance; exergy rates in W.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExergyOut {
    /// Dead state the exergies are measured against.
    pub dead_state: DeadStateOut,
    /// Chemical exergy of the fuel flow.
    pub fuel_W: f64,
    /// Thermomechanical exergy of the combustion air.
    pub combustion_air_W: f64,
    /// Auxiliary power (pure work).
    pub auxiliary_power_W: f64,
    /// Exergy delivered with the useful output.
    pub useful_W: f64,
    /// Exergy leaving as losses.
    pub losses: Vec<ExergyLossOut>,
    /// Exergy destroyed by irreversibilities.
    pub destruction_W: f64,
    /// Useful exergy over fuel exergy, percent.
    pub efficiency_percent: f64,
}

/// One exergy loss.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExergyLossOut {
    /// Stable name (`flue_gas`, ...).
    pub name: &'static str,
    /// Exergy rate lost, W.
    pub W: f64,
}

/// A dead state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadStateOut {
    /// Temperature, K.
    pub temperature_K: f64,
    /// Pressure, Pa.
    pub pressure_Pa: f64,
}

impl DeadStateOut {
    fn of(d: &DeadState) -> Self {
        Self {
            temperature_K: d.temperature.kelvin(),
            pressure_Pa: d.pressure.pascal(),
        }
    }
}

/// Uncertainty of the efficiencies: expanded at 95 % (k = 2), in percentage points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintyOut {
    /// Coverage of every expanded uncertainty.
    pub coverage: &'static str,
    /// The inputs whose uncertainty was stated.
    pub inputs: Vec<StatedOut>,
    /// First-order (GUM, JCGM 100:2008) propagation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_order: Option<Vec<FigureOut>>,
    /// Monte Carlo (JCGM 101:2008) propagation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<MonteCarloOut>,
}

/// A stated input uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatedOut {
    /// The document's field.
    pub field: String,
    /// Thermo's name of the input.
    pub input: &'static str,
    /// Relative expanded uncertainty, percent of the value (when stated relative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded_relative_percent: Option<f64>,
    /// Absolute expanded uncertainty in the input's SI unit (when stated absolute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded_absolute_SI: Option<f64>,
}

/// First-order uncertainty of one efficiency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureOut {
    /// `direct_hhv`, `direct_lhv`, `indirect_hhv`, `indirect_lhv` or `exergy_efficiency`.
    pub figure: &'static str,
    /// The efficiency, percent.
    pub value_percent: f64,
    /// Combined standard uncertainty, percentage points.
    pub standard_uncertainty_percent_points: f64,
    /// Expanded uncertainty U95, percentage points.
    pub expanded_uncertainty_percent_points: f64,
    /// Each input's part.
    pub contributions: Vec<ContributionOut>,
}

/// One input's part in an efficiency's uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContributionOut {
    /// The document's field.
    pub field: String,
    /// The input's value, SI.
    pub value_SI: f64,
    /// Its standard uncertainty, SI.
    pub standard_uncertainty_SI: f64,
    /// Sensitivity, percentage points of efficiency per SI unit of the input.
    pub sensitivity_percent_points_per_SI: f64,
    /// Uncertainty component, percentage points (signed).
    pub contribution_percent_points: f64,
    /// Share of the efficiency's variance, percent.
    pub variance_share_percent: f64,
}

/// Monte Carlo uncertainty of the efficiencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonteCarloOut {
    /// Samples drawn.
    pub samples: usize,
    /// Samples refused as non-physical draws.
    pub rejected: usize,
    /// Why the first refused sample was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_rejection: Option<String>,
    /// Seed of the generator (ChaCha8).
    pub seed: u64,
    /// The efficiencies' distributions.
    pub figures: Vec<MonteCarloFigureOut>,
}

/// Monte Carlo distribution of one efficiency, percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonteCarloFigureOut {
    /// Which efficiency.
    pub figure: &'static str,
    /// Mean, percent.
    pub mean_percent: f64,
    /// Standard deviation, percentage points.
    pub standard_deviation_percent_points: f64,
    /// Lower end of the 95 % interval, percent.
    pub low_percent: f64,
    /// Upper end of the 95 % interval, percent.
    pub high_percent: f64,
    /// Half-width of the interval, percentage points.
    pub expanded_uncertainty_percent_points: f64,
}

/// The complete result of a heat exchanger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangerDocument {
    /// THERMALIQ version that computed it.
    pub thermaliq_version: &'static str,
    /// The equipment.
    pub equipment: EquipmentOut,
    /// Heat rates, W.
    pub duty_W: Duties,
    /// Efficiencies, percent.
    pub efficiency_percent: ExchangerEfficiencies,
    /// Effectiveness: mean duty over the maximum possible duty, percent.
    pub effectiveness_percent: f64,
    /// Counter-flow log-mean temperature difference, K.
    pub lmtd_K: f64,
    /// Hot duty minus cold duty, W.
    pub unaccounted_W: f64,
    /// Second-law balance.
    pub exergy: ExchangerExergy,
    /// Notes for the engineer.
    pub warnings: Vec<WarningOut>,
    /// Provenance of the result.
    pub provenance: Provenance,
}

/// Duties of the two sides, W.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duties {
    /// Heat given up by the hot stream.
    pub hot: f64,
    /// Heat taken up by the cold stream.
    pub cold: f64,
}

/// Heat-exchanger efficiencies, percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangerEfficiencies {
    /// Heat retained: cold duty over hot duty.
    pub heat_retained: f64,
    /// Exergy efficiency: cold exergy gain over hot exergy drop.
    pub exergy: f64,
}

/// Exergy balance of a heat exchanger, W.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangerExergy {
    /// Dead state the exergies are measured against.
    pub dead_state: DeadStateOut,
    /// Exergy given up by the hot stream.
    pub hot_drop_W: f64,
    /// Exergy taken up by the cold stream.
    pub cold_gain_W: f64,
    /// Exergy destroyed (and lost).
    pub destruction_W: f64,
}

fn warnings(thermo: &[thermo::results::Warning], notes: &[Note]) -> Vec<WarningOut> {
    notes
        .iter()
        .map(|n| (n.code, &n.message))
        .chain(thermo.iter().map(|w| (w.code, &w.message)))
        .map(|(code, message)| WarningOut {
            code: code.to_string(),
            message: message.to_string(),
            message_parts: phrase_parts(message),
        })
        .collect()
}

fn origin(o: HeatingValueOrigin) -> &'static str {
    match o {
        HeatingValueOrigin::ComponentTable => "ISO 6976:2016 component table",
        HeatingValueOrigin::Correlation => "Channiwala-Parikh (2002) correlation",
        HeatingValueOrigin::Stated => "stated",
        HeatingValueOrigin::FromOtherBasis => "from the other basis by the latent heat of water",
    }
}

fn equipment(c: &Converted) -> EquipmentOut {
    EquipmentOut {
        kind: c.equipment.as_str(),
        name: c.name.clone(),
    }
}

/// The output document of fired equipment.
pub fn fired_document(
    c: &Converted,
    inputs: &FiredInputs,
    r: &FiredResult,
    uncertainty: Option<UncertaintyOut>,
    provenance: Provenance,
) -> FiredDocument {
    let fuel = &inputs.fuel;
    let combustion = &r.combustion;
    let e = &r.exergy;
    FiredDocument {
        thermaliq_version: env!("CARGO_PKG_VERSION"),
        equipment: equipment(c),
        fuel: FuelOut {
            name: fuel.name().to_string(),
            kind: match fuel.kind() {
                FuelKind::Gas => "gas",
                FuelKind::Liquid => "liquid",
                FuelKind::Solid => "solid",
            },
            hhv_J_kg: fuel.hhv(),
            lhv_J_kg: fuel.lhv(),
            hhv_origin: origin(fuel.hhv_origin()),
            lhv_origin: origin(fuel.lhv_origin()),
            molar_mass_kg_mol: fuel.molar_mass(),
            flow_kg_s: inputs.fuel_flow.kg_per_s(),
            temperature_K: inputs.fuel_temperature.kelvin(),
        },
        efficiency_percent: Efficiencies {
            direct: Bases::percent(r.direct_efficiency),
            indirect: Bases::percent(r.indirect_efficiency),
            exergy: pct(e.efficiency),
        },
        energy_balance: EnergyBalance {
            reference_temperature_K: thermo::fired::REFERENCE_TEMPERATURE_K,
            fuel_input_W: Bases::of(r.fuel_input),
            useful_output_W: r.useful_output,
            losses: r
                .losses
                .iter()
                .filter(|l| {
                    l.kind != thermo::results::LossKind::Surface
                        || !matches!(inputs.surface, SurfaceLoss::NotAccounted)
                })
                .map(|l| LossOut {
                    name: l.kind.as_str(),
                    W: Bases::of(l.power),
                    percent_of_input: Bases::percent(l.fraction),
                })
                .collect(),
            credits: r
                .credits
                .iter()
                .map(|c| CreditOut {
                    name: c.kind.as_str(),
                    W: c.power,
                    percent_of_input: Bases::percent(c.fraction),
                })
                .collect(),
            unaccounted_W: Bases::of(r.unaccounted),
            closure_percent: Bases::percent(r.closure),
        },
        available_heat_percent: Bases::percent(r.available_heat),
        combustion: CombustionOut {
            excess_air_percent: pct(combustion.excess_air),
            stoichiometric_air_fuel_ratio_kg_kg: combustion.stoichiometric_air_fuel_ratio,
            dry_air_flow_kg_s: combustion.dry_air_flow,
            flue_gas_flow_kg_s: combustion.flue_gas_flow,
            flue_gas_wet_mol_percent: SpeciesPercent::of(&combustion.flue_gas_wet),
            flue_gas_dry_mol_percent: SpeciesPercent::of(&combustion.flue_gas_dry),
            water_dew_point_K: combustion.water_dew_point,
        },
        exergy: ExergyOut {
            dead_state: DeadStateOut::of(&inputs.dead_state),
            fuel_W: e.fuel,
            combustion_air_W: e.combustion_air,
            auxiliary_power_W: e.auxiliary_power,
            useful_W: e.useful,
            losses: e
                .losses
                .iter()
                .map(|(kind, w)| ExergyLossOut {
                    name: kind.as_str(),
                    W: *w,
                })
                .collect(),
            destruction_W: e.destruction,
            efficiency_percent: pct(e.efficiency),
        },
        uncertainty,
        warnings: warnings(&r.warnings, &c.notes),
        provenance,
    }
}

/// The output document of a heat exchanger.
pub fn exchanger_document(
    c: &Converted,
    inputs: &HeatExchangerInputs,
    r: &HeatExchangerResult,
    provenance: Provenance,
) -> ExchangerDocument {
    ExchangerDocument {
        thermaliq_version: env!("CARGO_PKG_VERSION"),
        equipment: equipment(c),
        duty_W: Duties {
            hot: r.hot_duty,
            cold: r.cold_duty,
        },
        efficiency_percent: ExchangerEfficiencies {
            heat_retained: pct(r.efficiency),
            exergy: pct(r.exergy_efficiency),
        },
        effectiveness_percent: pct(r.effectiveness),
        lmtd_K: r.lmtd,
        unaccounted_W: r.unaccounted,
        exergy: ExchangerExergy {
            dead_state: DeadStateOut::of(&inputs.dead_state),
            hot_drop_W: r.hot_exergy_drop,
            cold_gain_W: r.cold_exergy_gain,
            destruction_W: r.exergy_destruction,
        },
        warnings: warnings(&r.warnings, &c.notes),
        provenance,
    }
}

/// The uncertainty section from thermo's reports.
pub fn uncertainty_document(
    stated: &[StatedInput],
    first_order: Option<&UncertaintyReport>,
    monte_carlo: Option<&MonteCarloReport>,
) -> UncertaintyOut {
    use thermo::uncertainty::UncertaintySpec;
    let field_of = |input: thermo::uncertainty::InputId| {
        stated
            .iter()
            .find(|s| s.uncertainty.input == input)
            .map_or_else(|| input.as_str().to_string(), |s| s.path.clone())
    };
    UncertaintyOut {
        coverage: "95 % (k = 2, normal distribution)",
        inputs: stated
            .iter()
            .map(|s| {
                let (rel, abs) = match s.uncertainty.expanded {
                    UncertaintySpec::Relative(r) => (Some(pct(r)), None),
                    UncertaintySpec::Absolute(a) => (None, Some(a)),
                };
                StatedOut {
                    field: s.path.clone(),
                    input: s.uncertainty.input.as_str(),
                    expanded_relative_percent: rel,
                    expanded_absolute_SI: abs,
                }
            })
            .collect(),
        first_order: first_order.map(|report| {
            report
                .figures
                .iter()
                .map(|f| FigureOut {
                    figure: f.figure.as_str(),
                    value_percent: pct(f.value),
                    standard_uncertainty_percent_points: pct(f.standard_uncertainty),
                    expanded_uncertainty_percent_points: pct(f.expanded_uncertainty),
                    contributions: f
                        .contributions
                        .iter()
                        .map(|c| ContributionOut {
                            field: field_of(c.input),
                            value_SI: c.value,
                            standard_uncertainty_SI: c.standard_uncertainty,
                            sensitivity_percent_points_per_SI: pct(c.sensitivity),
                            contribution_percent_points: pct(c.contribution),
                            variance_share_percent: pct(c.variance_share),
                        })
                        .collect(),
                })
                .collect()
        }),
        monte_carlo: monte_carlo.map(|mc| MonteCarloOut {
            samples: mc.samples,
            rejected: mc.rejected,
            first_rejection: mc.first_rejection.as_ref().map(ToString::to_string),
            seed: mc.seed,
            figures: mc
                .figures
                .iter()
                .map(|f| MonteCarloFigureOut {
                    figure: f.figure.as_str(),
                    mean_percent: pct(f.estimate.mean),
                    standard_deviation_percent_points: pct(f.estimate.standard_deviation),
                    low_percent: pct(f.estimate.low),
                    high_percent: pct(f.estimate.high),
                    expanded_uncertainty_percent_points: pct(f.estimate.expanded_uncertainty),
                })
                .collect(),
        }),
    }
}
