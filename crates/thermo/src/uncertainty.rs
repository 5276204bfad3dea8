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
//! `FnMut(&[f64]) -> Result<[f64; N]>`; the method and its constants are in `docs/METHODS.md`
//! (uncertainty section).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};

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
    // Integer form of "rejected > 1 % of samples" so the limit has no rounding ambiguity.
    let max_rejected = samples / 100;
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
