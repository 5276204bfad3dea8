//! Measurement uncertainty: first-order (GUM) propagation and seeded Monte Carlo.
//!
//! Convention, as meter data sheets and ASME PTC 19.1-2018 state uncertainties: every stated
//! input uncertainty is an EXPANDED uncertainty U at about 95 % coverage, coverage factor
//! k = 2 on a normal distribution, so the standard uncertainty is u = U / 2. Results report the
//! combined standard uncertainty u_c and the expanded uncertainty U95 = 2 u_c (JCGM 100:2008,
//! §5.1 and §6.2–6.3). Inputs are taken as uncorrelated (JCGM 100:2008 eq. (10)); correlated
//! inputs (two thermocouples calibrated together) are outside this model.
//!
//! The generic functions [`first_order`] and [`monte_carlo`] work on any model
//! `FnMut(&[f64]) -> Result<[f64; N]>`; [`propagate_fired`] and [`monte_carlo_fired`] apply
//! them to the fired-equipment calculation, its measured inputs named by [`InputId`]. The
//! method and its constants are in `docs/METHODS.md` (uncertainty section).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::fired::calculate_fired;
use crate::inputs::{Blowdown, FiredInputs, SteamCondition, SurfaceLoss, UsefulOutput};
use crate::quantity::{Fraction, MassFlow, Power, Pressure, Temperature};

/// Coverage factor k linking standard and expanded uncertainty (95 %, normal distribution).
pub const COVERAGE_FACTOR: f64 = 2.0;

/// Coverage probability of the expanded uncertainties and Monte Carlo intervals.
pub const COVERAGE_PROBABILITY: f64 = 0.95;

/// Largest fraction of Monte Carlo samples that may be rejected before the run fails.
pub const MAX_REJECTED_FRACTION: f64 = 0.01;

/// Fewest Monte Carlo samples accepted: with fewer, the 2.5 % tail holds under 25 values.
pub const MIN_SAMPLES: usize = 1_000;

/// Most Monte Carlo samples accepted, bounding the buffers at 8 MB per output.
pub const MAX_SAMPLES: usize = 1_000_000;

/// An expanded (95 %, k = 2) uncertainty as stated for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UncertaintySpec {
    /// In the input's own SI unit (K, Pa, kg/s, ...).
    Absolute(f64),
    /// As a fraction of the input's value (0.01 = 1 %).
    Relative(f64),
}

impl UncertaintySpec {
    /// The expanded uncertainty of `value`, in the value's unit.
    pub fn expanded(&self, value: f64) -> f64 {
        match *self {
            Self::Absolute(u) => u,
            Self::Relative(r) => r * value.abs(),
        }
    }

    /// The standard uncertainty of `value` (expanded / k), in the value's unit.
    pub fn standard(&self, value: f64) -> f64 {
        self.expanded(value) / COVERAGE_FACTOR
    }

    /// Refuses a negative or non-finite stated uncertainty, naming `field`.
    pub fn validate(&self, field: &str) -> Result<()> {
        let (amount, what) = match *self {
            Self::Absolute(u) => (u, "absolute"),
            Self::Relative(r) => (r, "relative"),
        };
        if amount.is_finite() && amount >= 0.0 {
            Ok(())
        } else {
            Err(Error::invalid(
                field,
                format!("{what} uncertainty {amount} is not a finite, non-negative number"),
            ))
        }
    }
}

/// Value and uncertainty of one model output by first-order propagation (unit of the output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputEstimate {
    /// The output at the input estimates.
    pub value: f64,
    /// Combined standard uncertainty u_c.
    pub standard_uncertainty: f64,
    /// Expanded uncertainty U95 = k u_c.
    pub expanded_uncertainty: f64,
}

/// How one input acts on one output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputEffect {
    /// Sensitivity coefficient c = ∂f/∂x, output unit per input unit.
    pub sensitivity: f64,
    /// Uncertainty component c u, output unit (signed, as the sensitivity).
    pub contribution: f64,
    /// Share of the output's variance, (c u)² / u_c² (0 when u_c is 0).
    pub variance_share: f64,
}

/// Result of first-order propagation through a model of `N` outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstOrder<const N: usize> {
    /// Each output with its combined and expanded uncertainty.
    pub outputs: [OutputEstimate; N],
    /// Per input (in the order given), its effect on each output.
    pub effects: Vec<[InputEffect; N]>,
}

/// Distribution summary of one output from a Monte Carlo run (unit of the output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonteCarloEstimate {
    /// Mean of the accepted samples.
    pub mean: f64,
    /// Sample standard deviation (divisor M − 1), the standard uncertainty.
    pub standard_deviation: f64,
    /// Lower end of the probabilistically symmetric 95 % interval (2.5 % quantile).
    pub low: f64,
    /// Upper end of that interval (97.5 % quantile).
    pub high: f64,
    /// Half the interval's width, the Monte Carlo U95.
    pub expanded_uncertainty: f64,
}

/// Result of a Monte Carlo run through a model of `N` outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct MonteCarlo<const N: usize> {
    /// Each output's distribution summary over the accepted samples.
    pub outputs: [MonteCarloEstimate; N],
    /// Samples drawn.
    pub samples: usize,
    /// Samples the model refused (non-physical draws); never silently dropped.
    pub rejected: usize,
    /// Why the first rejected sample was refused, for the engineer.
    pub first_rejection: Option<Error>,
    /// Seed of the ChaCha8 generator; the same seed gives the same result bit for bit.
    pub seed: u64,
}

/// Relative step floor of the derivative, used when 10⁻³ u is smaller than 10⁻⁶ |x|.
const RELATIVE_STEP_FLOOR: f64 = 1e-6;

/// Step of the derivative as a fraction of the standard uncertainty.
const STEP_PER_UNCERTAINTY: f64 = 1e-3;

/// Propagates uncorrelated standard uncertainties `u` of inputs `x` through `model` to first
/// order (JCGM 100:2008 eq. (10)), with sensitivities by central differences: 2n + 1 calls.
pub fn first_order<const N: usize, F>(x: &[f64], u: &[f64], model: F) -> Result<FirstOrder<N>>
where
    F: FnMut(&[f64]) -> Result<[f64; N]>,
{
    first_order_labelled(x, u, &|i| format!("inputs[{i}]"), model)
}

/// Draws `samples` normal samples of the inputs (mean `x`, standard deviation `u`) from a
/// ChaCha8 stream seeded by `seed`, evaluates `model` on each and summarises each output
/// (JCGM 101:2008 §7); fails when more than 1 % of the samples are rejected.
pub fn monte_carlo<const N: usize, F>(
    x: &[f64],
    u: &[f64],
    samples: usize,
    seed: u64,
    model: F,
) -> Result<MonteCarlo<N>>
where
    F: FnMut(&[f64]) -> Result<[f64; N]>,
{
    monte_carlo_labelled(x, u, samples, seed, &|i| format!("inputs[{i}]"), model)
}

fn check_inputs(x: &[f64], u: &[f64], label: &dyn Fn(usize) -> String) -> Result<()> {
    if x.len() != u.len() {
        return Err(Error::invalid(
            "uncertainty",
            format!("{} input values but {} uncertainties", x.len(), u.len()),
        ));
    }
    for (i, (&xi, &ui)) in x.iter().zip(u).enumerate() {
        if !xi.is_finite() {
            return Err(Error::invalid(
                label(i),
                format!("value {xi} is not finite"),
            ));
        }
        if !(ui.is_finite() && ui >= 0.0) {
            return Err(Error::invalid(
                label(i),
                format!("standard uncertainty {ui} is not a finite, non-negative number"),
            ));
        }
    }
    Ok(())
}

/// A model evaluation whose outputs are all finite; a non-finite output is a model failure.
fn evaluate<const N: usize, F>(model: &mut F, x: &[f64]) -> Result<[f64; N]>
where
    F: FnMut(&[f64]) -> Result<[f64; N]>,
{
    let y = model(x)?;
    match y.iter().position(|v| !v.is_finite()) {
        None => Ok(y),
        Some(j) => Err(Error::invalid(
            format!("outputs[{j}]"),
            format!("the model returned {}", y[j]),
        )),
    }
}

/// [`first_order`] with errors naming each input by `label`.
pub(crate) fn first_order_labelled<const N: usize, F>(
    x: &[f64],
    u: &[f64],
    label: &dyn Fn(usize) -> String,
    mut model: F,
) -> Result<FirstOrder<N>>
where
    F: FnMut(&[f64]) -> Result<[f64; N]>,
{
    check_inputs(x, u, label)?;
    let y0 = evaluate(&mut model, x)?;
    let mut work = x.to_vec();
    let mut sensitivities = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let xi = x[i];
        let mut h = (STEP_PER_UNCERTAINTY * u[i]).max(RELATIVE_STEP_FLOOR * xi.abs());
        if h == 0.0 {
            h = RELATIVE_STEP_FLOOR;
        }
        work[i] = xi + h;
        let up = evaluate(&mut model, &work);
        work[i] = xi - h;
        let down = evaluate(&mut model, &work);
        work[i] = xi;
        // One-sided differences when the input sits at a physical bound (CO = 0, RH = 1).
        let c: [f64; N] = match (up, down) {
            (Ok(a), Ok(b)) => std::array::from_fn(|j| (a[j] - b[j]) / (2.0 * h)),
            (Ok(a), Err(_)) => std::array::from_fn(|j| (a[j] - y0[j]) / h),
            (Err(_), Ok(b)) => std::array::from_fn(|j| (y0[j] - b[j]) / h),
            (Err(e), Err(_)) => {
                return Err(Error::new(
                    e.kind().clone(),
                    label(i),
                    format!("the model fails on both sides of {xi} ± {h}: {e}"),
                ));
            }
        };
        sensitivities.push(c);
    }
    let mut variance = [0.0; N];
    for (c, &ui) in sensitivities.iter().zip(u) {
        for j in 0..N {
            variance[j] += (c[j] * ui).powi(2);
        }
    }
    let outputs = std::array::from_fn(|j| {
        let uc = variance[j].sqrt();
        OutputEstimate {
            value: y0[j],
            standard_uncertainty: uc,
            expanded_uncertainty: COVERAGE_FACTOR * uc,
        }
    });
    let effects = sensitivities
        .iter()
        .zip(u)
        .map(|(c, &ui)| {
            std::array::from_fn(|j| {
                let contribution = c[j] * ui;
                InputEffect {
                    sensitivity: c[j],
                    contribution,
                    variance_share: if variance[j] > 0.0 {
                        contribution * contribution / variance[j]
                    } else {
                        0.0
                    },
                }
            })
        })
        .collect();
    Ok(FirstOrder { outputs, effects })
}

/// [`monte_carlo`] with errors naming each input by `label`.
pub(crate) fn monte_carlo_labelled<const N: usize, F>(
    x: &[f64],
    u: &[f64],
    samples: usize,
    seed: u64,
    label: &dyn Fn(usize) -> String,
    mut model: F,
) -> Result<MonteCarlo<N>>
where
    F: FnMut(&[f64]) -> Result<[f64; N]>,
{
    check_inputs(x, u, label)?;
    if !(MIN_SAMPLES..=MAX_SAMPLES).contains(&samples) {
        return Err(Error::out_of_range(
            "uncertainty.samples",
            format!("{samples} samples is outside {MIN_SAMPLES}..={MAX_SAMPLES}"),
        ));
    }
    // Rounded down: a run may reject at most this many samples, never a fraction more.
    let max_rejected = (samples as f64 * MAX_REJECTED_FRACTION).floor() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draws: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(samples));
    let mut work = x.to_vec();
    let mut rejected = 0usize;
    let mut first_rejection = None;
    for _ in 0..samples {
        for ((w, &xi), &ui) in work.iter_mut().zip(x).zip(u) {
            let z: f64 = StandardNormal.sample(&mut rng);
            *w = xi + ui * z;
        }
        match evaluate(&mut model, &work) {
            Ok(y) => {
                for (column, v) in draws.iter_mut().zip(y) {
                    column.push(v);
                }
            }
            Err(e) => {
                rejected += 1;
                if rejected > max_rejected {
                    return Err(Error::inconsistent(
                        "uncertainty.monte_carlo",
                        format!(
                            "more than {max_rejected} of {samples} samples (1 %) drew \
                             non-physical inputs; the stated uncertainties are too wide for \
                             these values (first refusal: {})",
                            first_rejection.as_ref().unwrap_or(&e)
                        ),
                    ));
                }
                first_rejection.get_or_insert(e);
            }
        }
    }
    let outputs = std::array::from_fn(|j| summarise(&mut draws[j]));
    Ok(MonteCarlo {
        outputs,
        samples,
        rejected,
        first_rejection,
        seed,
    })
}

/// Mean, standard deviation and the probabilistically symmetric 95 % coverage interval of
/// JCGM 101:2008 §7.7 (sorted values y₍ᵣ₎ and y₍ᵣ₊q₎, q = pM rounded, r = (M − q)/2 rounded up).
fn summarise(values: &mut [f64]) -> MonteCarloEstimate {
    let m = values.len();
    let mean = values.iter().sum::<f64>() / m as f64;
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let standard_deviation = (squares / (m as f64 - 1.0)).sqrt();
    values.sort_unstable_by(f64::total_cmp);
    let q = (COVERAGE_PROBABILITY * m as f64 + 0.5).floor() as usize;
    let r = (m - q).div_ceil(2).max(1);
    let low = values[r - 1];
    let high = values[(r + q - 1).min(m - 1)];
    MonteCarloEstimate {
        mean,
        standard_deviation,
        low,
        high,
        expanded_uncertainty: (high - low) / 2.0,
    }
}

/// A measured scalar of [`FiredInputs`], named by a stable dotted path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputId {
    /// Fuel mass flow, kg/s.
    FuelFlow,
    /// Fuel temperature at the burner, K.
    FuelTemperature,
    /// Gross heating value of the fuel, J/kg (the LHV follows from it).
    FuelHeatingValue,
    /// Flue-gas O2, mole fraction on the analyser's basis.
    FlueGasO2,
    /// Flue-gas temperature, K.
    FlueGasTemperature,
    /// Flue-gas CO, mole fraction of dry gas.
    FlueGasCo,
    /// Combustion-air temperature, K.
    CombustionAirTemperature,
    /// Combustion-air relative humidity, fraction.
    CombustionAirRelativeHumidity,
    /// Barometric pressure, Pa.
    CombustionAirPressure,
    /// Steam flow of a steam boiler, kg/s.
    SteamFlow,
    /// Steam pressure, absolute, Pa.
    SteamPressure,
    /// Superheated-steam temperature, K.
    SteamTemperature,
    /// Feedwater temperature, K.
    FeedwaterTemperature,
    /// Blowdown, kg/s or fraction of feedwater as stated.
    Blowdown,
    /// Flow of a heated water or liquid stream, kg/s.
    OutputFlow,
    /// Inlet temperature of a heated stream, K.
    OutputInletTemperature,
    /// Outlet temperature of a heated stream, K.
    OutputOutletTemperature,
    /// Metered heat duty, W.
    OutputDuty,
    /// Casing surface temperature, K.
    SurfaceTemperature,
    /// Casing surface area, m².
    SurfaceArea,
    /// Air velocity over the casing, m/s.
    SurfaceAirVelocity,
    /// Auxiliary power, W.
    AuxiliaryPower,
    /// Carbon in the refuse, mass fraction.
    CarbonInRefuse,
}

impl InputId {
    /// Every input, in the order of documents and reports.
    pub const ALL: [InputId; 23] = [
        Self::FuelFlow,
        Self::FuelTemperature,
        Self::FuelHeatingValue,
        Self::FlueGasO2,
        Self::FlueGasTemperature,
        Self::FlueGasCo,
        Self::CombustionAirTemperature,
        Self::CombustionAirRelativeHumidity,
        Self::CombustionAirPressure,
        Self::SteamFlow,
        Self::SteamPressure,
        Self::SteamTemperature,
        Self::FeedwaterTemperature,
        Self::Blowdown,
        Self::OutputFlow,
        Self::OutputInletTemperature,
        Self::OutputOutletTemperature,
        Self::OutputDuty,
        Self::SurfaceTemperature,
        Self::SurfaceArea,
        Self::SurfaceAirVelocity,
        Self::AuxiliaryPower,
        Self::CarbonInRefuse,
    ];

    /// The stable dotted name (`flue_gas.o2`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FuelFlow => "fuel_flow",
            Self::FuelTemperature => "fuel_temperature",
            Self::FuelHeatingValue => "fuel.heating_value",
            Self::FlueGasO2 => "flue_gas.o2",
            Self::FlueGasTemperature => "flue_gas.temperature",
            Self::FlueGasCo => "flue_gas.co",
            Self::CombustionAirTemperature => "combustion_air.temperature",
            Self::CombustionAirRelativeHumidity => "combustion_air.relative_humidity",
            Self::CombustionAirPressure => "combustion_air.pressure",
            Self::SteamFlow => "output.steam_flow",
            Self::SteamPressure => "output.steam_pressure",
            Self::SteamTemperature => "output.steam_temperature",
            Self::FeedwaterTemperature => "output.feedwater_temperature",
            Self::Blowdown => "output.blowdown",
            Self::OutputFlow => "output.flow",
            Self::OutputInletTemperature => "output.inlet_temperature",
            Self::OutputOutletTemperature => "output.outlet_temperature",
            Self::OutputDuty => "output.duty",
            Self::SurfaceTemperature => "surface.temperature",
            Self::SurfaceArea => "surface.area",
            Self::SurfaceAirVelocity => "surface.air_velocity",
            Self::AuxiliaryPower => "auxiliary_power",
            Self::CarbonInRefuse => "unburned_carbon.carbon_in_refuse",
        }
    }

    /// Position in [`InputId::ALL`], the canonical order of reports and hashes.
    pub fn position(self) -> usize {
        self as usize
    }

    /// The input of a dotted name; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<InputId> {
        Self::ALL.into_iter().find(|id| id.as_str() == name)
    }

    /// The input's current value in `inputs`, SI; refused when it does not apply to them.
    pub fn get(self, inputs: &FiredInputs) -> Result<f64> {
        let value = match (self, &inputs.output, &inputs.surface) {
            (Self::FuelFlow, ..) => Some(inputs.fuel_flow.kg_per_s()),
            (Self::FuelTemperature, ..) => Some(inputs.fuel_temperature.kelvin()),
            (Self::FuelHeatingValue, ..) => Some(inputs.fuel.hhv()),
            (Self::FlueGasO2, ..) => Some(inputs.flue_gas.o2.value()),
            (Self::FlueGasTemperature, ..) => Some(inputs.flue_gas.temperature.kelvin()),
            (Self::FlueGasCo, ..) => Some(inputs.flue_gas.co_dry.value()),
            (Self::CombustionAirTemperature, ..) => {
                Some(inputs.combustion_air.temperature.kelvin())
            }
            (Self::CombustionAirRelativeHumidity, ..) => {
                Some(inputs.combustion_air.relative_humidity.value())
            }
            (Self::CombustionAirPressure, ..) => Some(inputs.combustion_air.pressure.pascal()),
            (Self::SteamFlow, UsefulOutput::Steam(s), _) => Some(s.steam_flow.kg_per_s()),
            (Self::SteamPressure, UsefulOutput::Steam(s), _) => Some(s.steam_pressure.pascal()),
            (Self::SteamTemperature, UsefulOutput::Steam(s), _) => match s.steam_condition {
                SteamCondition::Superheated(t) => Some(t.kelvin()),
                SteamCondition::Saturated { .. } => None,
            },
            (Self::FeedwaterTemperature, UsefulOutput::Steam(s), _) => {
                Some(s.feedwater_temperature.kelvin())
            }
            (Self::Blowdown, UsefulOutput::Steam(s), _) => match s.blowdown {
                Blowdown::None => None,
                Blowdown::Flow(m) => Some(m.kg_per_s()),
                Blowdown::FractionOfFeedwater(f) => Some(f.value()),
            },
            (Self::OutputFlow, UsefulOutput::Water(w), _) => Some(w.flow.kg_per_s()),
            (Self::OutputFlow, UsefulOutput::Liquid(l), _) => Some(l.flow.kg_per_s()),
            (Self::OutputInletTemperature, UsefulOutput::Water(w), _) => {
                Some(w.inlet_temperature.kelvin())
            }
            (Self::OutputInletTemperature, UsefulOutput::Liquid(l), _) => {
                Some(l.inlet_temperature.kelvin())
            }
            (Self::OutputOutletTemperature, UsefulOutput::Water(w), _) => {
                Some(w.outlet_temperature.kelvin())
            }
            (Self::OutputOutletTemperature, UsefulOutput::Liquid(l), _) => {
                Some(l.outlet_temperature.kelvin())
            }
            (Self::OutputDuty, UsefulOutput::Metered(m), _) => Some(m.duty.watts()),
            (Self::SurfaceTemperature, _, SurfaceLoss::Measured(m)) => Some(m.temperature.kelvin()),
            (Self::SurfaceArea, _, SurfaceLoss::Measured(m)) => Some(m.area),
            (Self::SurfaceAirVelocity, _, SurfaceLoss::Measured(m)) => Some(m.air_velocity),
            (Self::AuxiliaryPower, ..) => Some(inputs.auxiliary_power.watts()),
            (Self::CarbonInRefuse, ..) => {
                inputs.unburned_carbon.map(|u| u.carbon_in_refuse.value())
            }
            _ => None,
        };
        value.ok_or_else(|| self.not_applicable())
    }

    /// Sets the input in `inputs` to `value`, SI, validated as its quantity type; refused when
    /// the input does not apply to them. The fuel's HHV is stated on the fuel as given.
    pub fn set(self, inputs: &mut FiredInputs, value: f64) -> Result<()> {
        let field = self.as_str();
        let kelvin = |v: f64| Temperature::from_kelvin(v).map_err(|e| rename(e, field));
        let kg_per_s = |v: f64| MassFlow::from_kg_per_s(v).map_err(|e| rename(e, field));
        let fraction = |v: f64| Fraction::new(v).map_err(|e| rename(e, field));
        let non_negative = |v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(Error::invalid(
                    field,
                    format!("{v} is not a finite value of 0 or more"),
                ))
            }
        };
        match (self, &mut inputs.output, &mut inputs.surface) {
            (Self::FuelFlow, ..) => inputs.fuel_flow = kg_per_s(value)?,
            (Self::FuelTemperature, ..) => inputs.fuel_temperature = kelvin(value)?,
            (Self::FuelHeatingValue, ..) => {
                inputs.fuel = inputs
                    .fuel
                    .clone()
                    .with_stated_hhv(value)
                    .map_err(|e| rename(e, field))?;
            }
            (Self::FlueGasO2, ..) => inputs.flue_gas.o2 = fraction(value)?,
            (Self::FlueGasTemperature, ..) => inputs.flue_gas.temperature = kelvin(value)?,
            (Self::FlueGasCo, ..) => inputs.flue_gas.co_dry = fraction(value)?,
            (Self::CombustionAirTemperature, ..) => {
                inputs.combustion_air.temperature = kelvin(value)?;
            }
            (Self::CombustionAirRelativeHumidity, ..) => {
                inputs.combustion_air.relative_humidity = fraction(value)?;
            }
            (Self::CombustionAirPressure, ..) => {
                inputs.combustion_air.pressure =
                    Pressure::from_pascal(value).map_err(|e| rename(e, field))?;
            }
            (Self::SteamFlow, UsefulOutput::Steam(s), _) => s.steam_flow = kg_per_s(value)?,
            (Self::SteamPressure, UsefulOutput::Steam(s), _) => {
                s.steam_pressure = Pressure::from_pascal(value).map_err(|e| rename(e, field))?;
            }
            (Self::SteamTemperature, UsefulOutput::Steam(s), _)
                if matches!(s.steam_condition, SteamCondition::Superheated(_)) =>
            {
                s.steam_condition = SteamCondition::Superheated(kelvin(value)?);
            }
            (Self::FeedwaterTemperature, UsefulOutput::Steam(s), _) => {
                s.feedwater_temperature = kelvin(value)?;
            }
            (Self::Blowdown, UsefulOutput::Steam(s), _) => match s.blowdown {
                Blowdown::None => return Err(self.not_applicable()),
                Blowdown::Flow(_) => s.blowdown = Blowdown::Flow(kg_per_s(value)?),
                Blowdown::FractionOfFeedwater(_) => {
                    s.blowdown = Blowdown::FractionOfFeedwater(fraction(value)?);
                }
            },
            (Self::OutputFlow, UsefulOutput::Water(w), _) => w.flow = kg_per_s(value)?,
            (Self::OutputFlow, UsefulOutput::Liquid(l), _) => l.flow = kg_per_s(value)?,
            (Self::OutputInletTemperature, UsefulOutput::Water(w), _) => {
                w.inlet_temperature = kelvin(value)?;
            }
            (Self::OutputInletTemperature, UsefulOutput::Liquid(l), _) => {
                l.inlet_temperature = kelvin(value)?;
            }
            (Self::OutputOutletTemperature, UsefulOutput::Water(w), _) => {
                w.outlet_temperature = kelvin(value)?;
            }
            (Self::OutputOutletTemperature, UsefulOutput::Liquid(l), _) => {
                l.outlet_temperature = kelvin(value)?;
            }
            (Self::OutputDuty, UsefulOutput::Metered(m), _) => {
                m.duty = Power::from_watts(value).map_err(|e| rename(e, field))?;
            }
            (Self::SurfaceTemperature, _, SurfaceLoss::Measured(m)) => {
                m.temperature = kelvin(value)?;
            }
            (Self::SurfaceArea, _, SurfaceLoss::Measured(m)) => m.area = non_negative(value)?,
            (Self::SurfaceAirVelocity, _, SurfaceLoss::Measured(m)) => {
                m.air_velocity = non_negative(value)?;
            }
            (Self::AuxiliaryPower, ..) => {
                inputs.auxiliary_power = Power::from_watts(value).map_err(|e| rename(e, field))?;
            }
            (Self::CarbonInRefuse, ..) => match inputs.unburned_carbon.as_mut() {
                Some(u) => u.carbon_in_refuse = fraction(value)?,
                None => return Err(self.not_applicable()),
            },
            _ => return Err(self.not_applicable()),
        }
        Ok(())
    }

    fn not_applicable(self) -> Error {
        Error::invalid(
            self.as_str(),
            "is not an input of this equipment (its output, surface or fuel is given otherwise)",
        )
    }
}

/// The error of a quantity constructor, renamed to the input it was building.
fn rename(e: Error, field: &str) -> Error {
    Error::new(e.kind().clone(), field, e.reason())
}

/// The stated expanded (95 %, k = 2) uncertainty of one measured input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputUncertainty {
    /// Which input.
    pub input: InputId,
    /// Its expanded uncertainty, absolute (SI) or relative.
    pub expanded: UncertaintySpec,
}

/// A reported figure of a fired calculation whose uncertainty is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    /// Input–output efficiency, HHV basis.
    DirectHhv,
    /// Input–output efficiency, LHV basis.
    DirectLhv,
    /// Heat-loss efficiency, HHV basis.
    IndirectHhv,
    /// Heat-loss efficiency, LHV basis.
    IndirectLhv,
    /// Exergy (second-law) efficiency.
    ExergyEfficiency,
}

impl Figure {
    /// Every figure, in report order.
    pub const ALL: [Figure; 5] = [
        Self::DirectHhv,
        Self::DirectLhv,
        Self::IndirectHhv,
        Self::IndirectLhv,
        Self::ExergyEfficiency,
    ];

    /// The stable name (`direct_hhv`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectHhv => "direct_hhv",
            Self::DirectLhv => "direct_lhv",
            Self::IndirectHhv => "indirect_hhv",
            Self::IndirectLhv => "indirect_lhv",
            Self::ExergyEfficiency => "exergy_efficiency",
        }
    }
}

/// One input's part in a figure's first-order uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputContribution {
    /// Which input.
    pub input: InputId,
    /// The input's value, SI.
    pub value: f64,
    /// The input's standard uncertainty, SI (stated expanded / 2).
    pub standard_uncertainty: f64,
    /// Sensitivity ∂figure/∂input, fraction per SI unit of the input.
    pub sensitivity: f64,
    /// Uncertainty component c u, fraction (signed).
    pub contribution: f64,
    /// Share of the figure's variance, 0–1.
    pub variance_share: f64,
}

/// First-order uncertainty of one figure (all values fractions, 0.85 = 85 %).
#[derive(Debug, Clone, PartialEq)]
pub struct FigureUncertainty {
    /// Which figure.
    pub figure: Figure,
    /// The figure at the stated inputs.
    pub value: f64,
    /// Combined standard uncertainty u_c.
    pub standard_uncertainty: f64,
    /// Expanded uncertainty U95 = 2 u_c.
    pub expanded_uncertainty: f64,
    /// Each input's part, in the order of [`InputId::ALL`].
    pub contributions: Vec<InputContribution>,
}

/// First-order uncertainty of the efficiencies of a fired calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct UncertaintyReport {
    /// The figures in the order of [`Figure::ALL`].
    pub figures: [FigureUncertainty; 5],
}

/// Monte Carlo distribution of one figure (fractions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureMonteCarlo {
    /// Which figure.
    pub figure: Figure,
    /// Mean, standard deviation, 95 % interval and its half-width.
    pub estimate: MonteCarloEstimate,
}

/// Monte Carlo uncertainty of the efficiencies of a fired calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct MonteCarloReport {
    /// The figures in the order of [`Figure::ALL`].
    pub figures: [FigureMonteCarlo; 5],
    /// Samples drawn.
    pub samples: usize,
    /// Samples refused by the calculation (non-physical draws).
    pub rejected: usize,
    /// Why the first refused sample was refused.
    pub first_rejection: Option<Error>,
    /// Seed of the generator.
    pub seed: u64,
}

/// Input values and standard uncertainties of the stated inputs, after checking each applies
/// once to `inputs`, in the order of [`InputId::ALL`] whatever the order given: the sums of
/// the propagation then run in one order, so equal inputs give equal results bit for bit.
fn stated(
    inputs: &FiredInputs,
    u: &[InputUncertainty],
) -> Result<(Vec<InputId>, Vec<f64>, Vec<f64>)> {
    let mut sorted = u.to_vec();
    sorted.sort_by_key(|item| item.input.position());
    let mut ids: Vec<InputId> = Vec::with_capacity(u.len());
    let mut x = Vec::with_capacity(u.len());
    let mut s = Vec::with_capacity(u.len());
    for item in &sorted {
        let name = item.input.as_str();
        if ids.last() == Some(&item.input) {
            return Err(Error::invalid(name, "has its uncertainty stated twice"));
        }
        item.expanded.validate(name)?;
        let value = item.input.get(inputs)?;
        ids.push(item.input);
        x.push(value);
        s.push(item.expanded.standard(value));
    }
    Ok((ids, x, s))
}

/// The fired calculation as a model of the stated inputs: it sets them on a working copy and
/// returns the figures in the order of [`Figure::ALL`].
fn fired_model(inputs: &FiredInputs, ids: &[InputId]) -> impl FnMut(&[f64]) -> Result<[f64; 5]> {
    let base_fuel = inputs.fuel.clone();
    let mut work = inputs.clone();
    move |v: &[f64]| {
        for (&id, &value) in ids.iter().zip(v) {
            if id == InputId::FuelHeatingValue {
                // Restate from the fuel as given, keeping its own LHV at the nominal HHV.
                work.fuel = if value == base_fuel.hhv() {
                    base_fuel.clone()
                } else {
                    base_fuel
                        .clone()
                        .with_stated_hhv(value)
                        .map_err(|e| rename(e, id.as_str()))?
                };
            } else {
                id.set(&mut work, value)?;
            }
        }
        let r = calculate_fired(&work)?;
        Ok([
            r.direct_efficiency.hhv,
            r.direct_efficiency.lhv,
            r.indirect_efficiency.hhv,
            r.indirect_efficiency.lhv,
            r.exergy.efficiency,
        ])
    }
}

/// First-order (GUM) uncertainty of the direct, indirect and exergy efficiencies of fired
/// equipment from the stated expanded uncertainties of its measured inputs.
pub fn propagate_fired(inputs: &FiredInputs, u: &[InputUncertainty]) -> Result<UncertaintyReport> {
    let (ids, x, s) = stated(inputs, u)?;
    let fo = first_order_labelled(
        &x,
        &s,
        &|i| ids[i].as_str().to_string(),
        fired_model(inputs, &ids),
    )?;
    let figures = std::array::from_fn(|j| FigureUncertainty {
        figure: Figure::ALL[j],
        value: fo.outputs[j].value,
        standard_uncertainty: fo.outputs[j].standard_uncertainty,
        expanded_uncertainty: fo.outputs[j].expanded_uncertainty,
        contributions: ids
            .iter()
            .zip(&x)
            .zip(&s)
            .zip(&fo.effects)
            .map(
                |(((&input, &value), &standard_uncertainty), e)| InputContribution {
                    input,
                    value,
                    standard_uncertainty,
                    sensitivity: e[j].sensitivity,
                    contribution: e[j].contribution,
                    variance_share: e[j].variance_share,
                },
            )
            .collect(),
    });
    Ok(UncertaintyReport { figures })
}

/// Seeded Monte Carlo uncertainty of the efficiencies of fired equipment: `samples` normal
/// draws of the stated inputs; fails when more than 1 % of the draws are non-physical.
pub fn monte_carlo_fired(
    inputs: &FiredInputs,
    u: &[InputUncertainty],
    samples: usize,
    seed: u64,
) -> Result<MonteCarloReport> {
    let (ids, x, s) = stated(inputs, u)?;
    let mc = monte_carlo_labelled(
        &x,
        &s,
        samples,
        seed,
        &|i| ids[i].as_str().to_string(),
        fired_model(inputs, &ids),
    )?;
    Ok(MonteCarloReport {
        figures: std::array::from_fn(|j| FigureMonteCarlo {
            figure: Figure::ALL[j],
            estimate: mc.outputs[j],
        }),
        samples: mc.samples,
        rejected: mc.rejected,
        first_rejection: mc.first_rejection,
        seed: mc.seed,
    })
}
