//! The demo facility and its meter data, generated from the engineering core's forward model
//! so that the true efficiency of any period is known.
//!
//! The forward model picks the true plant state once a minute (load as a daily sinusoid plus
//! an Ornstein–Uhlenbeck random walk, weather as daily sinusoids, O2, stack temperature,
//! pressures and feedwater temperature around their setpoints), then asks thermo what the
//! unit delivers: the steam flow (boiler) or the duty (furnace) at which the heat-loss balance
//! closes exactly, so the input–output and heat-loss methods agree for the true state. The
//! 1 Hz readings interpolate the true state linearly between the minutes and add meter error:
//! a calibration bias per meter drawn once, N(0, (U/4)²), and white noise per reading,
//! N(0, (U/2)²), U being the tag's stated expanded uncertainty; one reading in 10 000 is sent
//! with bad quality. Every draw comes from a ChaCha8 generator seeded by the caller, so the
//! same seed gives the same data bit for bit. Pure: no I/O, no clock.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use store::{Quality, Reading};
use thermo::inputs::{EquipmentInputs, FiredInputs};
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::uncertainty::InputId;
use thermo::units;

use crate::aggregate::{Period, unit_document};
use crate::calc;
use crate::facility::{
    Equipment, EquipmentType, FacilitySpec, Format, MeterUncertainty, Quantity, Source,
};

/// Id of the demo facility.
pub const FACILITY_ID: &str = "FAC-DEMO-001";

/// The demo facility spec, as TOML.
pub const SPEC_TOML: &str = include_str!("demo/facility.toml");

/// Seconds between two true states of the forward model.
const KNOT_S: i64 = 60;

/// Seconds per day, for the daily cycles.
const DAY_S: f64 = 86_400.0;

/// Share of readings sent with bad quality.
const BAD_READING_RATE: f64 = 1.0e-4;

/// Readings generated per noise block: a block's noise depends only on the seed and the
/// block's index, so blocks can be generated one at a time.
const BLOCK_S: i64 = 3_600;

/// The demo facility: a natural-gas steam boiler and a process furnace with a metered duty.
pub fn facility_spec() -> FacilitySpec {
    FacilitySpec::parse(SPEC_TOML, Format::Toml)
        .expect("the embedded demo facility is a valid spec (tested)")
}

/// Why the forward model could not produce the demo data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("demo forward model, {equipment_id} at {second} s: {reason}")]
pub struct DemoError {
    /// The unit.
    pub equipment_id: String,
    /// Seconds since the start of the data.
    pub second: i64,
    /// What the engineering core refused.
    pub reason: String,
}

/// The true efficiency over a period, input–output on both bases, percent.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueEfficiency {
    /// Facility: Σ true useful output / Σ true fuel input, HHV.
    pub facility_hhv_percent: f64,
    /// Facility, LHV.
    pub facility_lhv_percent: f64,
    /// Each unit: (equipment id, HHV percent, LHV percent).
    pub units: Vec<(String, f64, f64)>,
}

/// The true state of one unit at one knot.
#[derive(Debug, Clone, Copy)]
struct Knot {
    /// True meter values in the tags' units, by quantity index; NaN where the unit has no tag.
    values: [f64; Quantity::ALL.len()],
    /// True fuel input, W, HHV.
    fuel_hhv: f64,
    /// True fuel input, W, LHV.
    fuel_lhv: f64,
    /// True useful output, W.
    useful: f64,
}

/// One metered tag of the demo.
struct Meter {
    unit: usize,
    quantity: Quantity,
    tag: String,
    /// The tag's stated uncertainty (none: an exact meter).
    uncertainty: Option<MeterUncertainty>,
    /// Calibration bias in multiples of U/4, drawn once.
    bias_z: f64,
}

/// The demo data of `seconds` seconds from `start_us`, with its true state.
pub struct Demo {
    spec: FacilitySpec,
    start_us: i64,
    seconds: i64,
    seed: u64,
    /// Knots per unit, every [`KNOT_S`] from the start, covering `seconds`.
    knots: Vec<Vec<Knot>>,
    meters: Vec<Meter>,
}

/// An Ornstein–Uhlenbeck process sampled every [`KNOT_S`]: mean 0, stationary standard
/// deviation `sigma`, correlation time `tau_s`.
struct Walk {
    x: f64,
    decay: f64,
    step: f64,
}

impl Walk {
    fn new(sigma: f64, tau_s: f64) -> Self {
        let decay = (-(KNOT_S as f64) / tau_s).exp();
        Self {
            x: 0.0,
            decay,
            step: sigma * (1.0 - decay * decay).sqrt(),
        }
    }

    fn next(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        self.x = self.x * self.decay + self.step * z;
        self.x
    }
}

fn sine(day_fraction: f64, phase: f64) -> f64 {
    (std::f64::consts::TAU * (day_fraction - phase)).sin()
}

/// The true meter values of the boiler and the furnace at one knot (before the output is
/// solved for), from the walks' current values.
struct States {
    boiler: [Walk; 6],
    furnace: [Walk; 3],
}

impl States {
    fn new() -> Self {
        Self {
            boiler: [
                Walk::new(0.04, 1_200.0), // load
                Walk::new(0.15, 600.0),   // O2, %
                Walk::new(2.0, 900.0),    // stack, K
                Walk::new(6.0, 300.0),    // CO, ppm
                Walk::new(0.08, 300.0),   // steam pressure, bar
                Walk::new(0.8, 1_800.0),  // feedwater, K
            ],
            furnace: [
                Walk::new(0.05, 1_800.0), // load
                Walk::new(0.2, 600.0),    // O2, %
                Walk::new(4.0, 900.0),    // stack, K
            ],
        }
    }

    /// Values for `e` at `day_fraction` (UTC time of day), in the demo spec's units.
    fn values(
        &mut self,
        e: &Equipment,
        day_fraction: f64,
        rng: &mut ChaCha8Rng,
    ) -> [f64; Quantity::ALL.len()] {
        let mut v = [f64::NAN; Quantity::ALL.len()];
        let mut set = |q: Quantity, x: f64| v[q.index()] = x;
        let air = 14.0 + 6.0 * sine(day_fraction, 0.375);
        match e.kind {
            EquipmentType::SteamBoiler => {
                let w: [f64; 6] = std::array::from_fn(|i| self.boiler[i].next(rng));
                let load = (0.78 + 0.12 * sine(day_fraction, 0.3) + w[0]).clamp(0.45, 1.0);
                set(Quantity::FuelFlow, 2_100.0 * load);
                set(
                    Quantity::FuelTemperature,
                    12.0 + 4.0 * sine(day_fraction, 0.35),
                );
                set(
                    Quantity::FlueGasO2,
                    (2.6 + 1.6 * (1.0 - load) + w[1]).clamp(1.0, 8.0),
                );
                set(
                    Quantity::FlueGasTemperature,
                    135.0 + 45.0 * load + 0.3 * (air - 14.0) + w[2],
                );
                set(Quantity::FlueGasCo, (25.0 + w[3]).max(2.0));
                set(Quantity::CombustionAirTemperature, air);
                set(
                    Quantity::CombustionAirHumidity,
                    70.0 - 15.0 * sine(day_fraction, 0.375),
                );
                set(Quantity::SteamPressure, 10.0 + w[4]);
                set(Quantity::FeedwaterTemperature, 105.0 + w[5]);
            }
            _ => {
                let w: [f64; 3] = std::array::from_fn(|i| self.furnace[i].next(rng));
                let load = (0.8 + 0.1 * sine(day_fraction, 0.25) + w[0]).clamp(0.5, 1.0);
                set(Quantity::FuelFlow, 950.0 * load);
                set(Quantity::FlueGasO2, (3.5 + w[1]).clamp(1.5, 8.0));
                set(Quantity::FlueGasTemperature, 430.0 + 70.0 * load + w[2]);
                set(Quantity::CombustionAirTemperature, air);
            }
        }
        v
    }
}

/// The quantity a unit's output is solved for, and its thermo input.
fn output_of(e: &Equipment) -> (Quantity, InputId) {
    match e.kind {
        EquipmentType::SteamBoiler => (Quantity::SteamFlow, InputId::SteamFlow),
        _ => (Quantity::Duty, InputId::OutputDuty),
    }
}

/// Solves the true state of `e` for the output at which the heat-loss balance closes, and
/// returns the knot.
fn solve(
    e: &Equipment,
    mut values: [f64; Quantity::ALL.len()],
    second: i64,
) -> Result<Knot, DemoError> {
    let fail = |reason: String| DemoError {
        equipment_id: e.id.clone(),
        second,
        reason,
    };
    let (out_q, out_id) = output_of(e);
    let Some(Source::Tag(out_tag)) = e.source(out_q) else {
        return Err(fail(format!("{out_q} is not metered")));
    };
    // A placeholder output of 1 in the tag's unit; the balance is linear in the output.
    values[out_q.index()] = 1.0;
    let doc = unit_document(e, &|q| Some(values[q.index()]).filter(|v| v.is_finite()));
    let converted = calc::read(&doc.to_string())
        .and_then(|d| calc::convert(&d))
        .map_err(|err| fail(err.to_string()))?;
    let EquipmentInputs::Fired(mut inputs) = converted.inputs else {
        return Err(fail("not fired equipment".to_string()));
    };
    let unaccounted =
        |inputs: &mut FiredInputs, x: f64| -> Result<thermo::results::FiredResult, DemoError> {
            out_id.set(inputs, x).map_err(|err| fail(err.to_string()))?;
            thermo::fired::calculate_fired(inputs).map_err(|err| fail(err.to_string()))
        };
    let x1 = out_id.get(&inputs).map_err(|err| fail(err.to_string()))?;
    let x2 = 2.0 * x1;
    let u1 = unaccounted(&mut inputs, x1)?.unaccounted.hhv;
    let u2 = unaccounted(&mut inputs, x2)?.unaccounted.hhv;
    if u1 == u2 {
        return Err(fail(
            "the balance does not depend on the output".to_string(),
        ));
    }
    let x = x1 - u1 * (x2 - x1) / (u2 - u1);
    let r = unaccounted(&mut inputs, x)?;
    if r.closure.hhv.abs() > 1e-9 {
        return Err(fail(format!(
            "the balance closes to {} only",
            r.closure.hhv
        )));
    }
    let dim = out_q.dimensions()[0];
    values[out_q.index()] = units::from_si(x, &out_tag.unit, dim, STANDARD_ATMOSPHERE_PA)
        .map_err(|err| fail(err.to_string()))?;
    Ok(Knot {
        values,
        fuel_hhv: r.fuel_input.hhv,
        fuel_lhv: r.fuel_input.lhv,
        useful: r.useful_output,
    })
}

impl Demo {
    /// The true state of the demo facility for `seconds` seconds from `start_us` (UTC µs),
    /// from the random walks seeded by `seed`.
    pub fn new(start_us: i64, seconds: u32, seed: u64) -> Result<Self, DemoError> {
        let spec = facility_spec();
        let seconds = i64::from(seconds);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let mut states = States::new();
        let n_knots = seconds / KNOT_S + 2;
        let mut knots = vec![Vec::with_capacity(n_knots as usize); spec.equipment.len()];
        for k in 0..n_knots {
            let second = k * KNOT_S;
            let day_fraction =
                (start_us.div_euclid(1_000_000) + second).rem_euclid(DAY_S as i64) as f64 / DAY_S;
            for (e, unit_knots) in spec.equipment.iter().zip(&mut knots) {
                let values = states.values(e, day_fraction, &mut rng);
                unit_knots.push(solve(e, values, second)?);
            }
        }
        let mut bias_rng = ChaCha8Rng::seed_from_u64(seed);
        bias_rng.set_stream(2);
        let mut meters = Vec::new();
        for (unit, e) in spec.equipment.iter().enumerate() {
            for (&quantity, source) in &e.tags {
                if let Source::Tag(t) = source {
                    let uncertainty = t.meter_uncertainty(quantity).map_err(|err| DemoError {
                        equipment_id: e.id.clone(),
                        second: 0,
                        reason: err.to_string(),
                    })?;
                    meters.push(Meter {
                        unit,
                        quantity,
                        tag: t.tag.clone(),
                        uncertainty,
                        bias_z: StandardNormal.sample(&mut bias_rng),
                    });
                }
            }
        }
        Ok(Self {
            spec,
            start_us,
            seconds,
            seed,
            knots,
            meters,
        })
    }

    /// The facility spec the data belongs to.
    pub fn spec(&self) -> &FacilitySpec {
        &self.spec
    }

    /// The true knot values of unit `unit` at `second`, interpolated linearly.
    fn state(&self, unit: usize, second: f64) -> (f64, f64, f64, [f64; Quantity::ALL.len()]) {
        let knots = &self.knots[unit];
        let k = ((second / KNOT_S as f64).floor() as usize).min(knots.len() - 2);
        let f = second / KNOT_S as f64 - k as f64;
        let (a, b) = (&knots[k], &knots[k + 1]);
        let lerp = |x: f64, y: f64| x + (y - x) * f;
        (
            lerp(a.fuel_hhv, b.fuel_hhv),
            lerp(a.fuel_lhv, b.fuel_lhv),
            lerp(a.useful, b.useful),
            std::array::from_fn(|i| lerp(a.values[i], b.values[i])),
        )
    }

    /// Every reading, 1 Hz for every tag, in time order; refused when a reading's time
    /// would not fit in i64 µs.
    pub fn readings(&self) -> Result<Vec<Reading>, DemoError> {
        let mut out = Vec::with_capacity(self.seconds as usize * self.meters.len());
        for block in 0..self.blocks() {
            self.block_into(block, &mut out)?;
        }
        Ok(out)
    }

    /// The readings of one hour-long block (block 0 starts at the start), in time order.
    pub fn block(&self, block: i64) -> Result<Vec<Reading>, DemoError> {
        let mut out = Vec::with_capacity(BLOCK_S as usize * self.meters.len());
        self.block_into(block, &mut out)?;
        Ok(out)
    }

    /// Number of hour-long blocks.
    pub fn blocks(&self) -> i64 {
        (self.seconds + BLOCK_S - 1) / BLOCK_S
    }

    fn block_into(&self, block: i64, out: &mut Vec<Reading>) -> Result<(), DemoError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(1_000 + block.unsigned_abs());
        let from = block.saturating_mul(BLOCK_S).clamp(0, self.seconds);
        let to = block
            .saturating_add(1)
            .saturating_mul(BLOCK_S)
            .clamp(0, self.seconds);
        let mut states: Vec<[f64; Quantity::ALL.len()]> =
            vec![[0.0; Quantity::ALL.len()]; self.knots.len()];
        for second in from..to {
            let time_us = second
                .checked_mul(1_000_000)
                .and_then(|us| self.start_us.checked_add(us))
                .ok_or_else(|| DemoError {
                    equipment_id: String::new(),
                    second,
                    reason: format!(
                        "{} µs + {second} s is not a representable time",
                        self.start_us
                    ),
                })?;
            for (unit, s) in states.iter_mut().enumerate() {
                *s = self.state(unit, second as f64).3;
            }
            for m in &self.meters {
                let truth = states[m.unit][m.quantity.index()];
                let u = m.uncertainty.map_or(0.0, |u| u.of(truth));
                let z: f64 = StandardNormal.sample(&mut rng);
                let bad = rng.random::<f64>() < BAD_READING_RATE;
                out.push(Reading {
                    tag: m.tag.clone(),
                    time_us,
                    value: if bad {
                        0.0
                    } else {
                        truth + u * (m.bias_z / 4.0 + z / 2.0)
                    },
                    quality: if bad { Quality::Bad } else { Quality::Good },
                });
            }
        }
        Ok(())
    }

    /// The true input–output efficiency over `period` (clipped to the data): energy-weighted,
    /// Σ useful / Σ fuel input over its seconds.
    pub fn true_efficiency(&self, period: Period) -> TrueEfficiency {
        let second = |us: i64| {
            us.saturating_sub(self.start_us)
                .div_euclid(1_000_000)
                .clamp(0, self.seconds)
        };
        let (from, to) = (second(period.start_us), second(period.end_us));
        let mut sums = vec![(0.0, 0.0, 0.0); self.knots.len()];
        for second in from..to {
            for (unit, sum) in sums.iter_mut().enumerate() {
                let (hhv, lhv, useful, _) = self.state(unit, second as f64);
                sum.0 += hhv;
                sum.1 += lhv;
                sum.2 += useful;
            }
        }
        let pct = |num: f64, den: f64| if den > 0.0 { 100.0 * num / den } else { 0.0 };
        let total = sums
            .iter()
            .fold((0.0, 0.0, 0.0), |t, s| (t.0 + s.0, t.1 + s.1, t.2 + s.2));
        TrueEfficiency {
            facility_hhv_percent: pct(total.2, total.0),
            facility_lhv_percent: pct(total.2, total.1),
            units: self
                .spec
                .equipment
                .iter()
                .zip(&sums)
                .map(|(e, s)| (e.id.clone(), pct(s.2, s.0), pct(s.2, s.1)))
                .collect(),
        }
    }
}

/// 1 Hz readings of every demo tag for `seconds` seconds from `start_us`, seeded by `seed`.
pub fn readings(start_us: i64, seconds: u32, seed: u64) -> Result<Vec<Reading>, DemoError> {
    Demo::new(start_us, seconds, seed)?.readings()
}

/// The true efficiency of the demo data `(start_us, seconds, seed)` over `period`.
pub fn true_efficiency(
    start_us: i64,
    seconds: u32,
    seed: u64,
    period: Period,
) -> Result<TrueEfficiency, DemoError> {
    Ok(Demo::new(start_us, seconds, seed)?.true_efficiency(period))
}
