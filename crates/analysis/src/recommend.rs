//! Recommendations whose savings are computed, not assumed: each measure is applied to the
//! measured inputs and the engineering core is run again.
//!
//! The useful output is held fixed (the plant needs the same steam or heat), so the fuel
//! falls in proportion to the efficiency: Q = η_old F_old = η_new F_new, hence
//! F_new = F_old η_old / η_new. The efficiency is the heat-loss (indirect) one, the only one
//! that responds to a changed stack temperature or excess air when the output is fixed. The
//! casing and blowdown losses are absolute (W), so η_new depends a little on F_new: the new
//! fuel flow is found by fixed-point iteration, F ← Q / η(F), until it changes by less than
//! 1e-12. Condensate return also lowers the boiler duty Q; its fuel is
//! F_new = F_old (Q_new/Q_old) η_old/η_new. Measures are evaluated one at a time against the
//! measured state: their savings are not additive (an economizer and an air preheater cool
//! the same flue gas). Formulas and sources: `docs/ANALYSIS.md`, "Recommendations".

use serde::Serialize;
use thermo::combustion::{self, O2Basis};
use thermo::fired::calculate_fired;
use thermo::inputs::{Blowdown, FiredInputs, SteamOutput, SurfaceLoss, UsefulOutput};
use thermo::phrase;
use thermo::phrase::{Phrase, Quantity, celsius as deg_c, kelvin_difference};
use thermo::results::FiredResult;
use thermo::species::{Composition, Species};
use thermo::units::Dimension;
use thermo::{Fraction, MassFlow, Pressure, Temperature, steam};

use crate::benchmark::FuelClass;
use crate::{Error, J_PER_GJ, Result};

/// Pascal per millimetre of mercury (conventional, 101325/760).
const PA_PER_MMHG: f64 = 101_325.0 / 760.0;

/// Iterations allowed for the fuel-flow fixed point (it converges in 3–5).
const MAX_ITERATIONS: usize = 50;

/// Relative change of the fuel flow at which the fixed point has converged.
const CONVERGED: f64 = 1e-12;

/// Plant economics of the year the savings are counted over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Economics {
    /// Fuel burned per year at the measured state, J (HHV).
    pub annual_fuel_input_j: f64,
    /// Fuel price per GJ (HHV), in the facility's currency.
    pub fuel_price_per_gj: f64,
    /// CO2 emission factor, kg per GJ (HHV).
    pub emission_factor_kg_per_gj: f64,
}

/// Condensate that could be returned instead of going to drain (applies only when the
/// facility states it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CondensateReturn {
    /// Additional condensate returned, as a fraction of the feedwater flow it replaces
    /// make-up water in.
    pub additional_fraction: Fraction,
    /// Temperature of the returned condensate, K.
    pub condensate_temperature: Temperature,
    /// Temperature of the make-up water it replaces, K.
    pub makeup_temperature: Temperature,
}

/// Condensate return as metered over the period (steam boilers whose facility meters the
/// condensate coming back to the feedwater tank).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeteredCondensate {
    /// Mean flow of condensate returned to the feedwater tank.
    pub return_flow: MassFlow,
    /// Mean temperature of the returned condensate.
    pub condensate_temperature: Temperature,
    /// Mean temperature of the make-up water.
    pub makeup_temperature: Temperature,
    /// Return fraction (returned condensate / steam flow) the plant could reach.
    pub target_return_fraction: Fraction,
}

/// The parameters of the measures; every default is stated in the assumptions it produces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Target flue-gas O2, mole fraction on the dry basis; `None` takes the fuel class's
    /// default (gas 2 %, oil 3 %, coal 4.5 %, biomass 5 %).
    pub target_o2_dry: Option<f64>,
    /// Tuning is offered only when the measured O2 exceeds the target by more than this
    /// (mole fraction).
    pub o2_tolerance: f64,
    /// Margin kept above the flue gas's acid or water dew point, K.
    pub dew_point_margin_k: f64,
    /// Share of the fuel sulfur's SO2 oxidised to SO3, for the acid dew point.
    pub so3_fraction_of_so2: f64,
    /// Cold-end approach of an economizer: flue-gas outlet minus water inlet, K.
    pub economizer_approach_k: f64,
    /// Highest combustion-air temperature an air preheater is sized for.
    pub air_preheat_max_air_temperature: Temperature,
    /// Approach of an air preheater at either end, K.
    pub air_preheat_approach_k: f64,
    /// Smallest stack-temperature drop worth recommending heat recovery for, K.
    pub min_stack_drop_k: f64,
    /// Pressure of the blowdown flash tank (usually the deaerator's), absolute.
    pub blowdown_flash_pressure: Pressure,
    /// Temperature of the make-up water the blowdown cooler heats.
    pub makeup_water_temperature: Temperature,
    /// Approach of the blowdown cooler: drain outlet minus make-up inlet, K.
    pub blowdown_cooler_approach_k: f64,
    /// Surface temperature after insulation.
    pub insulated_surface_temperature: Temperature,
    /// Condensate return, when the facility says it applies.
    pub condensate_return: Option<CondensateReturn>,
    /// Condensate return as metered, when the facility meters it (exclusive with
    /// `condensate_return`).
    pub metered_condensate: Option<MeteredCondensate>,
}

fn celsius(c: f64) -> Temperature {
    Temperature::from_celsius(c).expect("option defaults are valid temperatures")
}

impl Default for Options {
    fn default() -> Self {
        Self {
            target_o2_dry: None,
            o2_tolerance: 0.005,
            dew_point_margin_k: 20.0,
            so3_fraction_of_so2: 0.02,
            economizer_approach_k: 30.0,
            air_preheat_max_air_temperature: celsius(200.0),
            air_preheat_approach_k: 50.0,
            min_stack_drop_k: 10.0,
            blowdown_flash_pressure: Pressure::from_pascal(130_000.0)
                .expect("130 kPa is a valid pressure"),
            makeup_water_temperature: celsius(15.0),
            blowdown_cooler_approach_k: 10.0,
            insulated_surface_temperature: celsius(50.0),
            condensate_return: None,
            metered_condensate: None,
        }
    }
}

/// The measures this module evaluates, in the order used to break ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Lower the excess air to a target O2.
    CombustionTuning,
    /// A feedwater (or return-water) economizer.
    Economizer,
    /// A combustion-air preheater.
    AirPreheat,
    /// Flash tank and heat exchanger on the continuous blowdown.
    BlowdownHeatRecovery,
    /// Insulate hot casing surfaces.
    Insulation,
    /// Return more condensate.
    CondensateReturn,
}

/// Efficiency on both heating-value bases, fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Efficiency {
    /// On the HHV basis.
    pub hhv: f64,
    /// On the LHV basis.
    pub lhv: f64,
}

/// One recommendation with its computed effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// Which measure.
    pub measure: Measure,
    /// One-line description.
    pub title: Phrase,
    /// Heat-loss efficiency at the measured state.
    pub efficiency_before: Efficiency,
    /// Heat-loss efficiency with the measure, at the reduced fuel flow.
    pub efficiency_after: Efficiency,
    /// Fuel saved as a fraction of the present fuel.
    pub fuel_saved_fraction: f64,
    /// Fuel saved per year, J (HHV).
    pub fuel_saved_j_per_year: f64,
    /// Fuel saved per year, GJ (HHV).
    pub fuel_saved_gj_per_year: f64,
    /// Cost saved per year, in the currency of the fuel price.
    pub cost_saved_per_year: f64,
    /// CO2 avoided per year, kg.
    pub co2_avoided_kg_per_year: f64,
    /// What was assumed, with the numbers used.
    pub assumptions: Vec<Phrase>,
}

/// A measure applied to the inputs, before its effect is computed.
struct Applied {
    measure: Measure,
    title: Phrase,
    inputs: FiredInputs,
    assumptions: Vec<Phrase>,
}

/// The measured state.
struct Baseline<'a> {
    inputs: &'a FiredInputs,
    result: FiredResult,
    class: FuelClass,
}

/// A mass flow in kg/s, written with `decimals`.
fn kg_per_s(value: f64, decimals: usize) -> Quantity {
    Quantity::new(value, "kg/s", Dimension::MassFlow, decimals)
}

/// A percentage with `decimals`, text in every unit system.
fn pct(fraction: f64, decimals: usize) -> String {
    format!("{:.*} %", decimals, 100.0 * fraction)
}

/// Default target O2 (dry) of a fuel class, with its justification.
fn default_target_o2(class: FuelClass) -> (f64, &'static str) {
    match class {
        FuelClass::Gas => (
            0.02,
            "natural gas: DOE Steam Tip Sheet #4, ~10 % excess air (2.0 % O2) is attainable on \
             well-designed gas-fired systems",
        ),
        FuelClass::Oil => (
            0.03,
            "fuel oil: DOE Steam Tip Sheet #15 states its typical oil-fired efficiencies at \
             3 % O2",
        ),
        FuelClass::Coal => (
            0.045,
            "coal: 4.5 % O2, a default for stoker and pulverized firing; set target_o2_dry \
             for the unit's firing system",
        ),
        FuelClass::Biomass => (
            0.05,
            "biomass: 5 % O2, a default for grate firing; set target_o2_dry for the unit's \
             firing system",
        ),
    }
}

/// Acid dew point of the flue gas, K, by Verhoff & Banchero (1974), Chem. Eng. Prog.
/// 70(8): 1000/T = 2.276 − 0.0294 ln p_H2O − 0.0858 ln p_SO3 + 0.0062 ln p_H2O ln p_SO3,
/// partial pressures in mmHg. `None` without water vapour or SO3.
pub fn acid_dew_point(p_h2o_pa: f64, p_so3_pa: f64) -> Option<f64> {
    if !(p_h2o_pa > 0.0 && p_so3_pa > 0.0) {
        return None;
    }
    let (lw, ls) = ((p_h2o_pa / PA_PER_MMHG).ln(), (p_so3_pa / PA_PER_MMHG).ln());
    let inverse = 2.276 - 0.0294 * lw - 0.0858 * ls + 0.0062 * lw * ls;
    (inverse > 0.0).then(|| 1000.0 / inverse)
}

/// The lowest flue-gas temperature heat recovery may reach: the higher of the water and
/// acid dew points plus the margin, K, with a description.
fn dew_floor(base: &Baseline, options: &Options) -> (f64, Phrase) {
    let comb = &base.result.combustion;
    let p = base.inputs.combustion_air.pressure.pascal();
    let water = comb.water_dew_point;
    let so3 = comb.flue_gas_wet[Species::SO2.index()] * options.so3_fraction_of_so2 * p;
    let acid = acid_dew_point(comb.flue_gas_wet[Species::H2O.index()] * p, so3);
    let (dew, what) = match (water, acid) {
        (Some(w), Some(a)) if a > w => (
            a,
            phrase!(
                "acid dew point {} (Verhoff–Banchero, {} of the SO2 as SO3)",
                deg_c(a, 1),
                pct(options.so3_fraction_of_so2, 0)
            ),
        ),
        (Some(w), _) => (w, phrase!("water dew point {}", deg_c(w, 1))),
        (None, Some(a)) => (a, phrase!("acid dew point {}", deg_c(a, 1))),
        (None, None) => (0.0, Phrase::text("no dew point")),
    };
    (
        dew + options.dew_point_margin_k,
        phrase!(
            "{} + {} margin",
            what,
            kelvin_difference(options.dew_point_margin_k, 0)
        ),
    )
}

fn temperature(field: &str, k: f64) -> Result<Temperature> {
    Temperature::from_kelvin(k).map_err(|e| e.within(field))
}

fn combustion_tuning(base: &Baseline, options: &Options) -> Result<Option<Applied>> {
    let (target_dry, why) = match options.target_o2_dry {
        Some(t) => (t, "target set for this unit"),
        None => default_target_o2(base.class),
    };
    if !(target_dry.is_finite() && target_dry > 0.0 && target_dry < 0.2) {
        return Err(Error::invalid(
            "target_o2_dry",
            "must be a mole fraction between 0 and 0.2",
        ));
    }
    let flue = base.inputs.flue_gas;
    let measured = flue.o2.value();
    let water = base.result.combustion.flue_gas_wet[Species::H2O.index()];
    let (target, basis) = match flue.o2_basis {
        O2Basis::Dry => (target_dry, "dry"),
        O2Basis::Wet => (target_dry * (1.0 - water), "wet"),
    };
    if measured <= target + options.o2_tolerance {
        return Ok(None);
    }
    let mut inputs = base.inputs.clone();
    inputs.flue_gas.o2 = Fraction::new(target)?;
    let mut assumptions = vec![
        Phrase::text(format!(
            "flue-gas O2 lowered from {:.2} % to {:.2} % ({basis} basis); {why}",
            100.0 * measured,
            100.0 * target
        )),
        phrase!(
            "stack temperature held at the measured {} (it usually falls a little with the \
             smaller gas flow: conservative)",
            deg_c(flue.temperature.kelvin(), 1)
        ),
        Phrase::text(format!(
            "CO held at the measured {:.0} ppm (dry); tune with a CO analyser so that it does \
             not rise",
            1e6 * flue.co_dry.value()
        )),
    ];
    if flue.o2_basis == O2Basis::Wet {
        assumptions.push(Phrase::text(format!(
            "wet target = dry target × (1 − {:.3}), the measured flue gas's water fraction",
            water
        )));
    }
    Ok(Some(Applied {
        measure: Measure::CombustionTuning,
        title: Phrase::text(format!(
            "Tune combustion to {:.1} % O2 ({basis})",
            100.0 * target
        )),
        inputs,
        assumptions,
    }))
}

/// The stream an economizer could heat, with its inlet temperature, K.
fn cold_stream(output: &UsefulOutput) -> Option<(&'static str, f64)> {
    match output {
        UsefulOutput::Steam(s) => Some(("feedwater", s.feedwater_temperature.kelvin())),
        UsefulOutput::Water(w) => Some(("return water", w.inlet_temperature.kelvin())),
        UsefulOutput::Liquid(l) => Some(("process fluid inlet", l.inlet_temperature.kelvin())),
        UsefulOutput::Metered(_) => None,
    }
}

fn economizer(base: &Baseline, options: &Options) -> Result<Option<Applied>> {
    let Some((stream, cold)) = cold_stream(&base.inputs.output) else {
        return Ok(None);
    };
    let stack = base.inputs.flue_gas.temperature.kelvin();
    let (dew, dew_text) = dew_floor(base, options);
    let approach = cold + options.economizer_approach_k;
    let target = dew.max(approach);
    if stack - target < options.min_stack_drop_k {
        return Ok(None);
    }
    let mut inputs = base.inputs.clone();
    inputs.flue_gas.temperature = temperature("flue_gas.temperature", target)?;
    let assumptions = vec![
        phrase!(
            "stack lowered from {} to {} = max({} = {}, {} {} + {} approach = {})",
            deg_c(stack, 1),
            deg_c(target, 1),
            dew_text,
            deg_c(dew, 1),
            stream,
            deg_c(cold, 1),
            kelvin_difference(options.economizer_approach_k, 0),
            deg_c(approach, 1)
        ),
        phrase!(
            "the economizer lies inside the boundary: the {} enters it at the measured {}; \
             output, excess air and CO unchanged",
            stream,
            deg_c(cold, 1)
        ),
        Phrase::text("not additive with an air preheater: both cool the same flue gas"),
    ];
    Ok(Some(Applied {
        measure: Measure::Economizer,
        title: phrase!(
            "Install an economizer: stack {} → {}",
            deg_c(stack, 0),
            deg_c(target, 0)
        ),
        inputs,
        assumptions,
    }))
}

/// Flue gas and combustion air of the measured state, mol/s per species.
fn gas_flows(base: &Baseline) -> Result<(Composition, Composition)> {
    let comb = &base.result.combustion;
    let molar_mass: f64 = Species::ALL
        .iter()
        .map(|s| comb.flue_gas_wet[s.index()] * s.molar_mass())
        .sum();
    let n_flue = comb.flue_gas_flow / molar_mass;
    let flue = Composition(comb.flue_gas_wet.map(|x| x * n_flue));
    let air = &base.inputs.combustion_air;
    let humidity =
        combustion::humidity_ratio(air.temperature, air.relative_humidity, air.pressure)?;
    let n_dry = comb.dry_air_flow / combustion::dry_air_molar_mass();
    let mut moles = [0.0; Species::ALL.len()];
    moles[Species::N2.index()] = combustion::AIR_N2 * n_dry;
    moles[Species::O2.index()] = combustion::AIR_O2 * n_dry;
    moles[Species::Ar.index()] = combustion::AIR_AR * n_dry;
    moles[Species::CO2.index()] = combustion::AIR_CO2 * n_dry;
    moles[Species::H2O.index()] = humidity * comb.dry_air_flow / Species::H2O.molar_mass();
    Ok((flue, Composition(moles)))
}

/// The temperature in [lo, hi] at which `gas` has sensible enthalpy `h` above `t_ref`, K
/// (bisection: the enthalpy rises monotonically with temperature).
fn temperature_at(gas: &Composition, h: f64, t_ref: Temperature, lo: f64, hi: f64) -> Result<f64> {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if gas.sensible_enthalpy(temperature("temperature", mid)?, t_ref)? < h {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

fn air_preheat(base: &Baseline, options: &Options) -> Result<Option<Applied>> {
    let air_in = base.inputs.combustion_air.temperature;
    let stack = base.inputs.flue_gas.temperature;
    if air_in.celsius() > 50.0 {
        return Ok(None);
    }
    let approach = options.air_preheat_approach_k;
    let air_max = options
        .air_preheat_max_air_temperature
        .kelvin()
        .min(stack.kelvin() - approach);
    if air_max - air_in.kelvin() < options.min_stack_drop_k {
        return Ok(None);
    }
    let (dew, dew_text) = dew_floor(base, options);
    let floor = dew.max(air_in.kelvin() + approach);
    if stack.kelvin() - floor < options.min_stack_drop_k {
        return Ok(None);
    }
    let (flue, air) = gas_flows(base)?;
    let gas_available = flue.sensible_enthalpy(stack, temperature("floor", floor)?)?;
    let air_capacity = air.sensible_enthalpy(temperature("air", air_max)?, air_in)?;
    let q = gas_available.min(air_capacity);
    let h_stack = flue.sensible_enthalpy(stack, air_in)?;
    let new_stack = temperature_at(&flue, h_stack - q, air_in, floor, stack.kelvin())?;
    let air_out = temperature_at(&air, q, air_in, air_in.kelvin(), air_max)?;
    if stack.kelvin() - new_stack < options.min_stack_drop_k {
        return Ok(None);
    }
    let mut inputs = base.inputs.clone();
    inputs.flue_gas.temperature = temperature("flue_gas.temperature", new_stack)?;
    let molar_flow = |mol_s: f64| Quantity::new(mol_s, "mol/s", Dimension::StandardVolumeFlow, 3);
    let assumptions = vec![
        phrase!(
            "recuperator inside the boundary: air enters at the measured {} and leaves at {} \
             (at most {} and stack − {})",
            deg_c(air_in.kelvin(), 1),
            deg_c(air_out, 1),
            deg_c(options.air_preheat_max_air_temperature.kelvin(), 0),
            kelvin_difference(approach, 0)
        ),
        phrase!(
            "heat balance: the {} the air takes ({} of air) cools {} of flue gas from {} to \
             {}, not below {} = max({}, air inlet + {}); NASA-polynomial enthalpies of each \
             species",
            Quantity::from_si(q, "kW", Dimension::Power, 0),
            molar_flow(air.total()),
            molar_flow(flue.total()),
            deg_c(stack.kelvin(), 1),
            deg_c(new_stack, 1),
            deg_c(floor, 1),
            dew_text,
            kelvin_difference(approach, 0)
        ),
        Phrase::text(
            "hotter air raises flame temperature and NOx; burner suitability not assessed; \
             excess air and CO unchanged",
        ),
        Phrase::text("not additive with an economizer: both cool the same flue gas"),
    ];
    Ok(Some(Applied {
        measure: Measure::AirPreheat,
        title: phrase!(
            "Preheat combustion air to {}: stack {} → {}",
            deg_c(air_out, 0),
            deg_c(stack.kelvin(), 0),
            deg_c(new_stack, 0)
        ),
        inputs,
        assumptions,
    }))
}

fn blowdown_flow(s: &SteamOutput) -> f64 {
    match s.blowdown {
        Blowdown::None => 0.0,
        Blowdown::Flow(m) => m.kg_per_s(),
        Blowdown::FractionOfFeedwater(f) if f.value() < 1.0 => {
            s.steam_flow.kg_per_s() * f.value() / (1.0 - f.value())
        }
        Blowdown::FractionOfFeedwater(_) => 0.0,
    }
}

fn blowdown_recovery(base: &Baseline, options: &Options) -> Result<Option<Applied>> {
    let UsefulOutput::Steam(s) = base.inputs.output else {
        return Ok(None);
    };
    let m_bd = blowdown_flow(&s);
    let flash = options.blowdown_flash_pressure;
    if m_bd <= 0.0 || flash.pascal() >= s.steam_pressure.pascal() {
        return Ok(None);
    }
    let [(h_drum, _), _] = steam::saturation_hs(s.steam_pressure)?;
    let p_fw = s.feedwater_pressure.unwrap_or(s.steam_pressure);
    let h_fw = steam::enthalpy_pt(p_fw, s.feedwater_temperature)?;
    let [(h_f, _), (h_g, _)] = steam::saturation_hs(flash)?;
    let t_flash = steam::saturation_temperature(flash)?;
    let drain = options.makeup_water_temperature.kelvin() + options.blowdown_cooler_approach_k;
    if drain >= t_flash.kelvin() || h_drum <= h_fw {
        return Ok(None);
    }
    let h_drain = steam::enthalpy_pt(flash, temperature("drain", drain)?)?;
    let x = ((h_drum - h_f) / (h_g - h_f)).clamp(0.0, 1.0);
    let recovered = h_drum - x * h_fw - (1.0 - x) * h_drain;
    let counted = h_drum - h_fw;
    let fraction = (recovered / counted).min(1.0);
    if fraction <= 0.0 {
        return Ok(None);
    }
    let mut inputs = base.inputs.clone();
    let remaining = m_bd * (1.0 - fraction);
    if let UsefulOutput::Steam(ref mut out) = inputs.output {
        out.blowdown = if remaining > 0.0 {
            Blowdown::Flow(MassFlow::from_kg_per_s(remaining)?)
        } else {
            Blowdown::None
        };
    }
    let kpa = |p: Pressure| Quantity::from_si(p.pascal(), "kPa", Dimension::Pressure, 0);
    let kj_per_kg = |h: f64| Quantity::from_si(h, "kJ/kg", Dimension::SpecificEnergy, 1);
    let assumptions = vec![
        phrase!(
            "blowdown {} of saturated water at {} ({}) flashes at {}: {} leaves as flash \
             steam to the deaerator and returns as feedwater at {}",
            kg_per_s(m_bd, 3),
            kpa(s.steam_pressure),
            kj_per_kg(h_drum),
            kpa(flash),
            pct(x, 1),
            deg_c(s.feedwater_temperature.kelvin(), 1)
        ),
        phrase!(
            "the flash-tank water heats make-up water from {} and drains at {} ({} approach)",
            deg_c(options.makeup_water_temperature.kelvin(), 1),
            deg_c(drain, 1),
            kelvin_difference(options.blowdown_cooler_approach_k, 0)
        ),
        phrase!(
            "recovered {} of blowdown against {} counted as loss at the boiler boundary \
             (relative to feedwater): {} of the boundary loss recovered; heat beyond it \
             displaces deaerator steam outside the boundary and is not claimed",
            kj_per_kg(recovered),
            kj_per_kg(counted),
            pct(fraction, 1)
        ),
        Phrase::text(
            "modelled in the engineering core as the blowdown flow scaled by the unrecovered \
             share (the boundary loss is proportional to it)",
        ),
    ];
    Ok(Some(Applied {
        measure: Measure::BlowdownHeatRecovery,
        title: Phrase::text("Recover blowdown heat (flash tank and make-up heat exchanger)"),
        inputs,
        assumptions,
    }))
}

fn insulation(base: &Baseline, options: &Options) -> Result<Option<Applied>> {
    let SurfaceLoss::Measured(m) = base.inputs.surface else {
        return Ok(None);
    };
    let target = options.insulated_surface_temperature;
    if m.temperature.kelvin() <= target.kelvin() + 5.0
        || target.kelvin() <= m.ambient_temperature.kelvin()
    {
        return Ok(None);
    }
    let mut inputs = base.inputs.clone();
    let mut insulated = m;
    insulated.temperature = target;
    inputs.surface = SurfaceLoss::Measured(insulated);
    let assumptions = vec![
        phrase!(
            "casing of {} brought from {} to {} by insulation; ambient {}, air velocity {}",
            Quantity::new(m.area, "m²", Dimension::Area, 1),
            deg_c(m.temperature.kelvin(), 1),
            deg_c(target.kelvin(), 1),
            deg_c(m.ambient_temperature.kelvin(), 1),
            Quantity::new(m.air_velocity, "m/s", Dimension::Velocity, 1)
        ),
        Phrase::text(format!(
            "emissivity held at {:.2} (metal cladding is usually lower: conservative)",
            m.emissivity.value()
        )),
    ];
    Ok(Some(Applied {
        measure: Measure::Insulation,
        title: phrase!(
            "Insulate the casing to {} surface temperature",
            deg_c(target.kelvin(), 0)
        ),
        inputs,
        assumptions,
    }))
}

/// A condensate-return case: the additional condensate as a fraction of the feedwater, the
/// condensate and make-up temperatures, the assumptions and the title of the measure.
type CondensateCase = (f64, Temperature, Temperature, Vec<Phrase>, Phrase);

/// The stated case: the facility says how much more could come back.
fn stated_condensate(cr: &CondensateReturn) -> CondensateCase {
    let f = cr.additional_fraction.value();
    (
        f,
        cr.condensate_temperature,
        cr.makeup_temperature,
        vec![phrase!(
            "{} of the feedwater returned as condensate at {} instead of make-up at {}",
            pct(f, 1),
            deg_c(cr.condensate_temperature.kelvin(), 1),
            deg_c(cr.makeup_temperature.kelvin(), 1)
        )],
        Phrase::text(format!("Return {:.0} % more condensate", 100.0 * f)),
    )
}

/// The metered case: the measured return fraction raised to the target; the additional
/// condensate (target − measured) × steam flow replaces as much make-up water in the
/// feedwater (steam + blowdown).
fn metered_condensate(s: &SteamOutput, m: &MeteredCondensate) -> Result<Option<CondensateCase>> {
    let steam = s.steam_flow.kg_per_s();
    if steam <= 0.0 {
        return Ok(None);
    }
    let measured = m.return_flow.kg_per_s() / steam;
    if measured > 1.0 {
        return Err(Error::inconsistent(
            "condensate_return_flow",
            format!(
                "{:.4} kg/s of condensate returned exceeds the steam flow of {steam:.4} kg/s",
                m.return_flow.kg_per_s()
            ),
        ));
    }
    let target = m.target_return_fraction.value();
    if measured >= target {
        return Ok(None);
    }
    let feedwater = steam + blowdown_flow(s);
    let more = (target - measured) * steam;
    let f = more / feedwater;
    let assumptions = vec![
        phrase!(
            "metered over the period: {} of condensate returned against {} of steam, a return \
             fraction of {}; target {} (the facility's condensate_return_target)",
            kg_per_s(m.return_flow.kg_per_s(), 4),
            kg_per_s(steam, 4),
            pct(measured, 1),
            pct(target, 1)
        ),
        phrase!(
            "the additional {} of condensate at the metered {} replaces make-up water at the \
             metered {}: {} of the {} of feedwater (steam + blowdown)",
            kg_per_s(more, 4),
            deg_c(m.condensate_temperature.kelvin(), 1),
            deg_c(m.makeup_temperature.kelvin(), 1),
            pct(f, 1),
            kg_per_s(feedwater, 4)
        ),
        Phrase::text(
            "flow and temperature are those metered at the feedwater tank: flash and line \
             losses upstream of the meters are already in them (DOE Steam Tip Sheet #8, working \
             from the condensate leaving the process, deducts an assumed flash loss instead)",
        ),
    ];
    Ok(Some((
        f,
        m.condensate_temperature,
        m.makeup_temperature,
        assumptions,
        Phrase::text(format!(
            "Return more condensate: {:.0} % → {:.0} % of the steam",
            100.0 * measured,
            100.0 * target
        )),
    )))
}

fn condensate_return(base: &Baseline, options: &Options) -> Result<Option<Applied>> {
    let UsefulOutput::Steam(s) = base.inputs.output else {
        return Ok(None);
    };
    let case = match (&options.condensate_return, &options.metered_condensate) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "condensate_return",
                "give the stated or the metered condensate return, not both",
            ));
        }
        (Some(cr), None) => Some(stated_condensate(cr)),
        (None, Some(m)) => metered_condensate(&s, m)?,
        (None, None) => None,
    };
    let Some((f, hot, cold, mut assumptions, title)) = case else {
        return Ok(None);
    };
    let p_fw = s.feedwater_pressure.unwrap_or(s.steam_pressure);
    let h_cond = steam::enthalpy_pt(p_fw, hot)?;
    let h_makeup = steam::enthalpy_pt(p_fw, cold)?;
    if f <= 0.0 || h_cond <= h_makeup {
        return Ok(None);
    }
    let h_fw = steam::enthalpy_pt(p_fw, s.feedwater_temperature)?;
    let cap = steam::saturation_temperature(p_fw)?.kelvin() - 5.0;
    let h_cap = steam::enthalpy_pt(p_fw, temperature("feedwater", cap)?)?;
    let h_new = (h_fw + f * (h_cond - h_makeup)).min(h_cap);
    if h_new <= h_fw {
        return Ok(None);
    }
    let (mut lo, mut hi) = (s.feedwater_temperature.kelvin(), cap);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if steam::enthalpy_pt(p_fw, temperature("feedwater", mid)?)? < h_new {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t_new = 0.5 * (lo + hi);
    let mut inputs = base.inputs.clone();
    if let UsefulOutput::Steam(ref mut out) = inputs.output {
        out.feedwater_temperature = temperature("feedwater_temperature", t_new)?;
    }
    assumptions.extend([
        phrase!(
            "feedwater enthalpy rises by the mixing balance, h = h_fw + f (h_cond − h_makeup): \
             feedwater {} → {} (no deaerator holding it constant; with one, the saving \
             appears as less deaerator steam instead)",
            deg_c(s.feedwater_temperature.kelvin(), 1),
            deg_c(t_new, 1)
        ),
        Phrase::text(
            "steam flow and conditions unchanged; the boiler duty falls with the hotter \
             feedwater; water and treatment savings not counted",
        ),
    ]);
    if h_new >= h_cap {
        assumptions.push(phrase!(
            "feedwater capped at {}, {} below saturation",
            deg_c(cap, 1),
            kelvin_difference(5.0, 0)
        ));
    }
    Ok(Some(Applied {
        measure: Measure::CondensateReturn,
        title,
        inputs,
        assumptions,
    }))
}

/// Re-runs the engineering core on the applied measure at the fuel flow that delivers the
/// same useful output; returns the result, the new-to-old fuel ratio and that output, W.
fn evaluate(base: &Baseline, applied: &mut Applied) -> Result<(FiredResult, f64, f64)> {
    let old_fuel = base.inputs.fuel_flow.kg_per_s();
    let hhv = base.inputs.fuel.hhv();
    let mut result = calculate_fired(&applied.inputs)?;
    let duty_ratio = result.useful_output / base.result.useful_output;
    let target = base.result.indirect_efficiency.hhv * base.result.fuel_input.hhv * duty_ratio;
    let mut fuel = old_fuel;
    for _ in 0..MAX_ITERATIONS {
        let next = target / (result.indirect_efficiency.hhv * hhv);
        if !(next.is_finite() && next > 0.0) {
            return Err(Error::inconsistent(
                "recommendation",
                "the heat-loss efficiency with the measure is not positive",
            ));
        }
        let converged = (next - fuel).abs() <= CONVERGED * fuel;
        fuel = next;
        applied.inputs.fuel_flow = MassFlow::from_kg_per_s(fuel)?;
        result = calculate_fired(&applied.inputs)?;
        if converged {
            return Ok((result, fuel / old_fuel, target));
        }
    }
    Err(Error::inconsistent(
        "recommendation",
        "the fuel flow for the same output did not converge",
    ))
}

/// Evaluates every measure that applies to the measured `inputs` and returns those that
/// save fuel, largest saving first. The measured state is computed here from `inputs`, so
/// baseline and re-runs come from the same core.
pub fn recommend(
    inputs: &FiredInputs,
    economics: &Economics,
    options: &Options,
) -> Result<Vec<Recommendation>> {
    for (field, value) in [
        ("annual_fuel_input", economics.annual_fuel_input_j),
        ("fuel_price", economics.fuel_price_per_gj),
        ("emission_factor", economics.emission_factor_kg_per_gj),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(Error::invalid(
                field,
                format!("{value} must be a finite number of 0 or more"),
            ));
        }
    }
    let base = Baseline {
        inputs,
        result: calculate_fired(inputs)?,
        class: FuelClass::of(&inputs.fuel),
    };
    let before = Efficiency {
        hhv: base.result.indirect_efficiency.hhv,
        lhv: base.result.indirect_efficiency.lhv,
    };
    let candidates = [
        combustion_tuning(&base, options)?,
        economizer(&base, options)?,
        air_preheat(&base, options)?,
        blowdown_recovery(&base, options)?,
        insulation(&base, options)?,
        condensate_return(&base, options)?,
    ];
    let mut out = Vec::new();
    for mut applied in candidates.into_iter().flatten() {
        let (after, ratio, output) = evaluate(&base, &mut applied)?;
        let saved = 1.0 - ratio;
        if saved <= 0.0 {
            continue;
        }
        let joules = economics.annual_fuel_input_j * saved;
        let gj = joules / J_PER_GJ;
        let mut assumptions = applied.assumptions;
        let kw = |w: f64| Quantity::from_si(w, "kW", Dimension::Power, 1);
        assumptions.push(phrase!(
            "useful output {} as the heat-loss method accounts for it (measured state: {}); \
             fuel flow {} → {}, F_new = F_old (Q_new/Q_old) η_old/η_new",
            kw(output),
            kw(base.result.indirect_efficiency.hhv * base.result.fuel_input.hhv),
            kg_per_s(base.inputs.fuel_flow.kg_per_s(), 5),
            kg_per_s(applied.inputs.fuel_flow.kg_per_s(), 5)
        ));
        out.push(Recommendation {
            measure: applied.measure,
            title: applied.title,
            efficiency_before: before,
            efficiency_after: Efficiency {
                hhv: after.indirect_efficiency.hhv,
                lhv: after.indirect_efficiency.lhv,
            },
            fuel_saved_fraction: saved,
            fuel_saved_j_per_year: joules,
            fuel_saved_gj_per_year: gj,
            cost_saved_per_year: gj * economics.fuel_price_per_gj,
            co2_avoided_kg_per_year: gj * economics.emission_factor_kg_per_gj,
            assumptions,
        });
    }
    out.sort_by(|a, b| b.fuel_saved_j_per_year.total_cmp(&a.fuel_saved_j_per_year));
    Ok(out)
}
