//! Water and steam properties by IAPWS-IF97 (IAPWS R7-97(2012)), in SI units.
//!
//! A typed layer over the `seuif97` crate, which evaluates the IF97 equations in MPa, °C and
//! kJ/kg and signals trouble with sentinel numbers or NaN. Here every input is a checked
//! quantity, every validity limit is enforced before `seuif97` is called, and every number it
//! returns is checked again, so no NaN and no sentinel reaches a caller.
//!
//! Units of every result: J/kg (h, u), J/(kg K) (s, cp), m³/kg (v), m/s (w), Pa, K.
//!
//! Validity (R7-97 section 1): 273.15 K ≤ T ≤ 1073.15 K for p ≤ 100 MPa and
//! 1073.15 K < T ≤ 2273.15 K for p ≤ 50 MPa. The lower pressure limit used here is
//! 611.213 Pa, the IF97 saturation pressure at 273.15 K, below which `seuif97` refuses states.
//!
//! Two decisions, explained in `docs/METHODS.md` (steam part):
//! - A state given by (p, T) exactly on the saturation line is returned as saturated LIQUID
//!   (IF97 assigns `p = p_s(T)` to region 1); the vapour side is [`saturated_vapour`] or
//!   [`state_px`] with x = 1.
//! - [`state_ph`], [`state_ps`] and [`state_hs`] return states refined against the forward
//!   equations (h(p, T) reproduces the given h to 1e-9 relative), not the raw IF97 backward
//!   equations, whose temperatures differ by up to ~25 mK. Energy balances computed with h from
//!   (p, T) and T from (p, h) then close exactly. The raw backward equations stay available for
//!   verification as [`backward_t_ph_raw`] and [`backward_t_ps_raw`].
//!
//! In region 3 the IF97 basic equation is f(ρ, T); the density for a given (p, T) is solved by
//! Newton's method on p(ρ, T) = p, started from the `seuif97` backward equation v(p, T) of
//! IAPWS SR5-05, so region-3 states are consistent with the basic equation too.

use seuif97::{OCP, OH, OKT, OP, OR, OS, OT, OU, OV, OW, hs, ph, ps, pt, px, tv, tx};

use crate::error::{Error, Result};
use crate::quantity::{CELSIUS_OFFSET_K, Fraction, Pressure, Temperature, finite};

/// Critical temperature of water, K (IAPWS R7-97(2012), Eq. 3).
pub const CRITICAL_TEMPERATURE_K: f64 = 647.096;

/// Critical pressure of water, Pa (IAPWS R7-97(2012), Eq. 4).
pub const CRITICAL_PRESSURE_PA: f64 = 22.064e6;

/// Specific gas constant of water used by IF97, J/(kg K) (IAPWS R7-97(2012), Eq. 1).
const R_WATER: f64 = 461.526;

const T_MIN_K: f64 = 273.15;
const T_MAX_K: f64 = 1073.15;
const T_MAX_R5_K: f64 = 2273.15;
const T_13_K: f64 = 623.15;
const T_B23_MAX_K: f64 = 863.15;
const P_MAX_MPA: f64 = 100.0;
const P_MAX_R5_MPA: f64 = 50.0;
const PC_MPA: f64 = 22.064;
/// p_s(273.15 K), MPa: `seuif97`'s lower pressure bound.
const P_MIN_MPA: f64 = 0.000_611_212_677_444;
/// p_s(623.15 K), MPa: above it saturation lies in region 3.
const P_S623_MPA: f64 = 16.529_164_252_604_5;
/// Region 2 / region 5 limit of the metastable-vapour equation, MPa (R7-97 section 6.2).
const P_MAX_METASTABLE_MPA: f64 = 10.0;

/// `seuif97` sentinels are integers ≤ -1000 returned as f64; no IF97 h, s or u comes near.
const SENTINEL_CEILING: f64 = -999.0;
const MAX_NEWTON: usize = 60;
/// Convergence of the refinement, relative to max(|target|, scale).
const REFINE_TOL: f64 = 1e-12;
/// Acceptance of a refined state, relative (the documented promise).
const ACCEPT_TOL: f64 = 1e-9;

/// B23 boundary coefficients n1..n5 (IAPWS R7-97(2012), Table 1).
const B23_N: [f64; 5] = [
    0.348_051_856_289_69e3,
    -0.116_718_598_799_75e1,
    0.101_929_700_393_26e-2,
    0.572_544_598_627_46e3,
    0.139_188_397_788_70e2,
];

/// IF97 region of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// Compressed liquid, T ≤ 623.15 K.
    R1,
    /// Superheated vapour and supercritical steam below the B23 line and up to 1073.15 K.
    R2,
    /// Near-critical and supercritical states between 623.15 K and the B23 line.
    R3,
    /// Two-phase mixture and saturation line.
    R4,
    /// High-temperature steam, 1073.15 K < T ≤ 2273.15 K, p ≤ 50 MPa.
    R5,
}

impl Region {
    /// The region number used in IAPWS R7-97 (1..=5).
    pub fn number(self) -> u8 {
        match self {
            Region::R1 => 1,
            Region::R2 => 2,
            Region::R3 => 3,
            Region::R4 => 4,
            Region::R5 => 5,
        }
    }

    fn seuif97_id(self) -> i32 {
        i32::from(self.number())
    }
}

/// Physical phase of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Liquid: below the critical temperature and at or above the saturation pressure.
    Liquid,
    /// Vapour (gas): below the saturation pressure, or above T_c below p_c.
    Vapour,
    /// Both T ≥ T_c and p ≥ p_c.
    Supercritical,
    /// Saturated mixture of liquid and vapour (including its x = 0 and x = 1 ends).
    TwoPhase,
}

impl Phase {
    /// Stable lower-case name for reports and APIs ("liquid", "vapour", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Liquid => "liquid",
            Phase::Vapour => "vapour",
            Phase::Supercritical => "supercritical",
            Phase::TwoPhase => "two_phase",
        }
    }
}

/// A complete water/steam state by IF97; all values SI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteamState {
    /// Absolute pressure.
    pub pressure: Pressure,
    /// Temperature.
    pub temperature: Temperature,
    /// Specific enthalpy, J/kg.
    pub h: f64,
    /// Specific entropy, J/(kg K).
    pub s: f64,
    /// Specific volume, m³/kg.
    pub v: f64,
    /// Specific internal energy, J/kg.
    pub u: f64,
    /// Isobaric heat capacity, J/(kg K); None strictly inside the two-phase dome and where it
    /// diverges (the critical point).
    pub cp: Option<f64>,
    /// Speed of sound, m/s; None strictly inside the two-phase dome and at the critical point.
    pub w: Option<f64>,
    /// Vapour mass fraction (quality), kg/kg, for region-4 states; None otherwise.
    pub x: Option<f64>,
    /// IF97 region.
    pub region: Region,
    /// Physical phase.
    pub phase: Phase,
}

impl SteamState {
    /// The same state reporting the caller's pressure exactly, not its round trip through
    /// megapascal.
    fn at(mut self, p: Pressure) -> Self {
        self.pressure = p;
        self
    }
}

/// Single-phase properties in `seuif97` units (MPa, K, kJ/kg, kJ/(kg K), m³/kg, m/s); cp and w
/// unchecked because they diverge at the critical point, see [`physical`].
#[derive(Debug, Clone, Copy)]
struct Props {
    v: f64,
    h: f64,
    s: f64,
    u: f64,
    cp: f64,
    w: f64,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Enthalpy,
    Entropy,
}

impl Target {
    fn field(self) -> &'static str {
        match self {
            Target::Enthalpy => "enthalpy",
            Target::Entropy => "entropy",
        }
    }

    fn of(self, props: &Props) -> f64 {
        match self {
            Target::Enthalpy => props.h,
            Target::Entropy => props.s,
        }
    }

    /// (∂h/∂T)_p = cp and (∂s/∂T)_p = cp/T.
    fn slope(self, props: &Props, t_k: f64) -> f64 {
        match self {
            Target::Enthalpy => props.cp,
            Target::Entropy => props.cp / t_k,
        }
    }

    /// Scale below which the tolerance is absolute (kJ/kg or kJ/(kg K)).
    fn scale(self) -> f64 {
        match self {
            Target::Enthalpy => 100.0,
            Target::Entropy => 1.0,
        }
    }
}

fn celsius(t_k: f64) -> f64 {
    t_k - CELSIUS_OFFSET_K
}

/// A value from `seuif97`, refused if it is NaN, infinite or one of its sentinels.
fn checked(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > SENTINEL_CEILING {
        Ok(value)
    } else {
        Err(Error::out_of_range(
            field,
            format!(
                "IF97 evaluation gave no valid value ({value}); the state is outside the formulation"
            ),
        ))
    }
}

/// A value that must be strictly positive (v, cp, w, ρ).
fn positive(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::out_of_range(
            field,
            format!("IF97 evaluation gave a non-physical value ({value})"),
        ))
    }
}

/// cp or w when finite and positive; None where the equation gives no physical value.
fn physical(value: f64) -> Option<f64> {
    (value.is_finite() && value > 0.0).then_some(value)
}

fn check_pressure(p_mpa: f64) -> Result<()> {
    if p_mpa < P_MIN_MPA {
        return Err(Error::out_of_range(
            "pressure",
            format!(
                "{} Pa is below 611.213 Pa (IF97 saturation pressure at 273.15 K); valid range 611.213 Pa..100 MPa",
                p_mpa * 1e6
            ),
        ));
    }
    if p_mpa > P_MAX_MPA {
        return Err(Error::out_of_range(
            "pressure",
            format!("{} MPa is above 100 MPa, the IF97 upper limit", p_mpa),
        ));
    }
    Ok(())
}

/// IF97 validity of a (p, T) pair (R7-97 section 1).
fn check_pt(p_mpa: f64, t_k: f64) -> Result<()> {
    check_pressure(p_mpa)?;
    if !(T_MIN_K..=T_MAX_R5_K).contains(&t_k) {
        return Err(Error::out_of_range(
            "temperature",
            format!("{t_k} K is outside the IF97 range 273.15 K..2273.15 K"),
        ));
    }
    if t_k > T_MAX_K && p_mpa > P_MAX_R5_MPA {
        return Err(Error::out_of_range(
            "pressure",
            format!(
                "{p_mpa} MPa is above 50 MPa, the IF97 limit for 1073.15 K < T <= 2273.15 K (region 5); T = {t_k} K"
            ),
        ));
    }
    Ok(())
}

fn check_saturation_pressure(p_mpa: f64) -> Result<()> {
    if !(P_MIN_MPA..=PC_MPA).contains(&p_mpa) {
        return Err(Error::out_of_range(
            "pressure",
            format!(
                "{} Pa: saturation exists only from 611.213 Pa to the critical pressure 22.064 MPa",
                p_mpa * 1e6
            ),
        ));
    }
    Ok(())
}

fn check_saturation_temperature(t_k: f64) -> Result<()> {
    if !(T_MIN_K..=CRITICAL_TEMPERATURE_K).contains(&t_k) {
        return Err(Error::out_of_range(
            "temperature",
            format!(
                "{t_k} K: IF97 saturation is defined from 273.15 K to the critical temperature 647.096 K"
            ),
        ));
    }
    Ok(())
}

/// B23 pressure in MPa for T in K (R7-97 Eq. 5); written here because `seuif97` keeps its
/// boundary functions private.
fn b23_p_mpa(t_k: f64) -> f64 {
    B23_N[0] + B23_N[1] * t_k + B23_N[2] * t_k * t_k
}

/// B23 temperature in K for p in MPa (R7-97 Eq. 6).
fn b23_t_k(p_mpa: f64) -> f64 {
    B23_N[3] + ((p_mpa - B23_N[4]) / B23_N[2]).sqrt()
}

fn p_sat_mpa(t_k: f64) -> Result<f64> {
    positive("pressure", tx(celsius(t_k), 0.0, OP))
}

fn t_sat_k(p_mpa: f64) -> Result<f64> {
    positive(
        "temperature",
        checked("temperature", px(p_mpa, 0.0, OT))? + CELSIUS_OFFSET_K,
    )
}

/// Region of a valid (p, T): a state on the saturation line goes to the liquid side.
fn region_pt(p_mpa: f64, t_k: f64) -> Result<Region> {
    match pt(p_mpa, celsius(t_k), OR) as i32 {
        1 => Ok(Region::R1),
        2 => Ok(Region::R2),
        3 => Ok(Region::R3),
        4 if t_k <= T_13_K => Ok(Region::R1),
        4 => Ok(Region::R3),
        5 => Ok(Region::R5),
        code => Err(Error::out_of_range(
            "temperature",
            format!("IF97 has no region for p = {p_mpa} MPa, T = {t_k} K (code {code})"),
        )),
    }
}

/// Region-3 density (kg/m³) with p(ρ, T) = p, Newton from `rho_guess`; keeps the best iterate
/// so a step that fails near the critical point never makes the result worse than the guess.
fn region3_density(p_mpa: f64, t_k: f64, rho_guess: f64) -> Result<f64> {
    let t_c = celsius(t_k);
    let mut rho = positive("density", rho_guess)?;
    let mut best = (f64::INFINITY, rho);
    // The slope is refreshed only while far from the root: the SR5-05 guess is usually within
    // 1e-6 relative, where a fixed slope converges as fast and saves a call per step.
    let mut dp_drho = f64::NAN;
    for _ in 0..MAX_NEWTON {
        let v = 1.0 / rho;
        let residual = tv(t_c, v, (OP, 3)) - p_mpa;
        if !residual.is_finite() {
            break;
        }
        if residual.abs() < best.0 {
            best = (residual.abs(), rho);
        } else {
            break;
        }
        if residual.abs() <= 1e-14 * p_mpa {
            break;
        }
        if dp_drho.is_nan() || residual.abs() > 1e-6 * p_mpa {
            dp_drho = 1.0 / (rho * tv(t_c, v, (OKT, 3)));
        }
        if !(dp_drho.is_finite() && dp_drho > 0.0) {
            break;
        }
        rho -= (residual / dp_drho).clamp(-0.05 * rho, 0.05 * rho);
    }
    positive("density", best.1)
}

fn region3_props(t_k: f64, rho: f64) -> Result<Props> {
    let t_c = celsius(t_k);
    let v = 1.0 / rho;
    Ok(Props {
        v,
        h: checked("enthalpy", tv(t_c, v, (OH, 3)))?,
        s: checked("entropy", tv(t_c, v, (OS, 3)))?,
        u: checked("internal_energy", tv(t_c, v, (OU, 3)))?,
        cp: tv(t_c, v, (OCP, 3)),
        w: tv(t_c, v, (OW, 3)),
    })
}

/// Properties of (p, T) by the equation of `region`; for region 3 also the density, solved
/// from `rho_hint` or from the SR5-05 backward v(p, T).
fn eval(p_mpa: f64, t_k: f64, region: Region, rho_hint: Option<f64>) -> Result<(Props, f64)> {
    let t_c = celsius(t_k);
    if region == Region::R3 {
        let guess = match rho_hint {
            Some(rho) => rho,
            None => 1.0 / positive("specific_volume", pt(p_mpa, t_c, (OV, 3)))?,
        };
        let rho = region3_density(p_mpa, t_k, guess)?;
        return Ok((region3_props(t_k, rho)?, rho));
    }
    let id = region.seuif97_id();
    let v = positive("specific_volume", pt(p_mpa, t_c, (OV, id)))?;
    let props = Props {
        v,
        h: checked("enthalpy", pt(p_mpa, t_c, (OH, id)))?,
        s: checked("entropy", pt(p_mpa, t_c, (OS, id)))?,
        u: checked("internal_energy", pt(p_mpa, t_c, (OU, id)))?,
        cp: pt(p_mpa, t_c, (OCP, id)),
        w: pt(p_mpa, t_c, (OW, id)),
    };
    Ok((props, 1.0 / v))
}

/// Phase of a single-phase state from its region and position relative to the critical point.
fn phase_of(p_mpa: f64, t_k: f64, region: Region) -> Result<Phase> {
    let supercritical_t = t_k >= CRITICAL_TEMPERATURE_K;
    let supercritical_p = p_mpa >= PC_MPA;
    Ok(match region {
        Region::R1 => Phase::Liquid,
        Region::R4 => Phase::TwoPhase,
        _ if supercritical_t && supercritical_p => Phase::Supercritical,
        Region::R2 | Region::R5 => Phase::Vapour,
        Region::R3 if supercritical_t => Phase::Vapour,
        Region::R3 if supercritical_p || p_mpa >= p_sat_mpa(t_k)? => Phase::Liquid,
        Region::R3 => Phase::Vapour,
    })
}

fn build_single(p_mpa: f64, t_k: f64, region: Region, props: &Props) -> Result<SteamState> {
    Ok(SteamState {
        pressure: Pressure::from_pascal(p_mpa * 1e6)?,
        temperature: Temperature::from_kelvin(t_k)?,
        h: props.h * 1e3,
        s: props.s * 1e3,
        v: props.v,
        u: props.u * 1e3,
        cp: physical(props.cp).map(|cp| cp * 1e3),
        w: physical(props.w),
        x: None,
        region,
        phase: phase_of(p_mpa, t_k, region)?,
    })
}

/// Saturated liquid and vapour at (p, T_s); region-3 densities solved from SR5-05 guesses.
fn saturation_props(p_mpa: f64, t_k: f64) -> Result<(Props, Props)> {
    if p_mpa <= P_S623_MPA {
        let (liquid, _) = eval(p_mpa, t_k, Region::R1, None)?;
        let (vapour, _) = eval(p_mpa, t_k, Region::R2, None)?;
        return Ok((liquid, vapour));
    }
    let rho_f = region3_density(p_mpa, t_k, 1.0 / px(p_mpa, 0.0, OV))?;
    let rho_g = region3_density(p_mpa, t_k, 1.0 / px(p_mpa, 1.0, OV))?;
    Ok((region3_props(t_k, rho_f)?, region3_props(t_k, rho_g)?))
}

fn build_two_phase(p_mpa: f64, t_k: f64, x: f64) -> Result<SteamState> {
    let (f, g) = saturation_props(p_mpa, t_k)?;
    let mix = |a: f64, b: f64| a + x * (b - a);
    // The ends of the dome keep the heat capacity and sound speed of the saturated phase.
    let (cp, w) = if x <= 0.0 {
        (physical(f.cp).map(|cp| cp * 1e3), physical(f.w))
    } else if x >= 1.0 {
        (physical(g.cp).map(|cp| cp * 1e3), physical(g.w))
    } else {
        (None, None)
    };
    Ok(SteamState {
        pressure: Pressure::from_pascal(p_mpa * 1e6)?,
        temperature: Temperature::from_kelvin(t_k)?,
        h: mix(f.h, g.h) * 1e3,
        s: mix(f.s, g.s) * 1e3,
        v: mix(f.v, g.v),
        u: mix(f.u, g.u) * 1e3,
        cp,
        w,
        x: Some(x),
        region: Region::R4,
        phase: Phase::TwoPhase,
    })
}

/// State at (p, T) by the forward equations. A state exactly on the saturation line is the
/// saturated liquid (IF97 puts p = p_s(T) in region 1); use [`saturated_vapour`] for the other
/// side. Errors (OutOfRange) outside the IF97 validity range.
pub fn state_pt(p: Pressure, t: Temperature) -> Result<SteamState> {
    let (p_mpa, t_k) = (p.megapascal(), t.kelvin());
    check_pt(p_mpa, t_k)?;
    let region = region_pt(p_mpa, t_k)?;
    let (props, _) = eval(p_mpa, t_k, region, None)?;
    build_single(p_mpa, t_k, region, &props).map(|state| state.at(p))
}

/// h or s (kJ units) of a valid (p, T) in one `seuif97` call where region 3 is impossible, so
/// the hot paths cost what `seuif97` costs; region 3 (density solved) and the saturation line
/// (which `seuif97` leaves undefined) take the general path.
fn fast_pt(p_mpa: f64, t_k: f64, target: Target) -> Result<f64> {
    let id = match target {
        Target::Enthalpy => OH,
        Target::Entropy => OS,
    };
    let maybe_region3 = t_k > T_13_K && t_k <= T_B23_MAX_K && p_mpa > P_S623_MPA;
    if !maybe_region3 {
        let value = pt(p_mpa, celsius(t_k), id);
        if value.is_finite() && value > SENTINEL_CEILING {
            return Ok(value);
        }
    }
    let value = match region_pt(p_mpa, t_k)? {
        Region::R3 => target.of(&eval(p_mpa, t_k, Region::R3, None)?.0),
        region => pt(p_mpa, celsius(t_k), (id, region.seuif97_id())),
    };
    checked(target.field(), value)
}

/// Specific enthalpy at (p, T), J/kg, without building a state (hot loops).
pub fn enthalpy_pt(p: Pressure, t: Temperature) -> Result<f64> {
    let (p_mpa, t_k) = (p.megapascal(), t.kelvin());
    check_pt(p_mpa, t_k)?;
    Ok(fast_pt(p_mpa, t_k, Target::Enthalpy)? * 1e3)
}

/// Specific entropy at (p, T), J/(kg K), without building a state (hot loops).
pub fn entropy_pt(p: Pressure, t: Temperature) -> Result<f64> {
    let (p_mpa, t_k) = (p.megapascal(), t.kelvin());
    check_pt(p_mpa, t_k)?;
    Ok(fast_pt(p_mpa, t_k, Target::Entropy)? * 1e3)
}

/// Saturation pressure at T (IF97 Eq. 30), valid 273.15 K..647.096 K.
pub fn saturation_pressure(t: Temperature) -> Result<Pressure> {
    check_saturation_temperature(t.kelvin())?;
    Pressure::from_pascal(p_sat_mpa(t.kelvin())? * 1e6)
}

/// Saturation temperature at p (IF97 Eq. 31), valid 611.213 Pa..22.064 MPa.
pub fn saturation_temperature(p: Pressure) -> Result<Temperature> {
    check_saturation_pressure(p.megapascal())?;
    Temperature::from_kelvin(t_sat_k(p.megapascal())?)
}

/// Saturated liquid (x = 0) at p; cp and w are those of the liquid.
pub fn saturated_liquid(p: Pressure) -> Result<SteamState> {
    state_px(p, Fraction::new(0.0)?)
}

/// Saturated vapour (x = 1) at p; cp and w are those of the vapour.
pub fn saturated_vapour(p: Pressure) -> Result<SteamState> {
    state_px(p, Fraction::new(1.0)?)
}

/// Two-phase state at pressure p and quality x (kg vapour/kg mixture).
pub fn state_px(p: Pressure, x: Fraction) -> Result<SteamState> {
    let p_mpa = p.megapascal();
    check_saturation_pressure(p_mpa)?;
    build_two_phase(p_mpa, t_sat_k(p_mpa)?, x.value()).map(|state| state.at(p))
}

/// Enthalpy, J/kg, and entropy, J/(kg K), of saturated liquid and saturated vapour at p,
/// `[(h', s'), (h'', s'')]`, without building states (hot loops). Below 623.15 K four
/// `seuif97` calls; above, through the region-3 density solve.
pub fn saturation_hs(p: Pressure) -> Result<[(f64, f64); 2]> {
    let p_mpa = p.megapascal();
    check_saturation_pressure(p_mpa)?;
    let t_k = t_sat_k(p_mpa)?;
    let (f, g) = if p_mpa > P_S623_MPA {
        let (f, g) = saturation_props(p_mpa, t_k)?;
        ((f.h, f.s), (g.h, g.s))
    } else {
        let t_c = celsius(t_k);
        let value = |field, id| checked(field, pt(p_mpa, t_c, id));
        (
            (value("enthalpy", (OH, 1))?, value("entropy", (OS, 1))?),
            (value("enthalpy", (OH, 2))?, value("entropy", (OS, 2))?),
        )
    };
    Ok([(f.0 * 1e3, f.1 * 1e3), (g.0 * 1e3, g.1 * 1e3)])
}

/// Enthalpy, J/kg, and entropy, J/(kg K), of the two-phase state at p and quality x, without
/// building a state (hot loops).
pub fn hs_px(p: Pressure, x: Fraction) -> Result<(f64, f64)> {
    let [(h_f, s_f), (h_g, s_g)] = saturation_hs(p)?;
    let x = x.value();
    Ok((h_f + x * (h_g - h_f), s_f + x * (s_g - s_f)))
}

/// Two-phase state at temperature t and quality x (kg vapour/kg mixture).
pub fn state_tx(t: Temperature, x: Fraction) -> Result<SteamState> {
    let t_k = t.kelvin();
    check_saturation_temperature(t_k)?;
    build_two_phase(p_sat_mpa(t_k)?, t_k, x.value())
}

/// Pressure on the region 2/3 boundary B23 at T (IF97 Eq. 5), valid 623.15 K..863.15 K.
pub fn b23_pressure(t: Temperature) -> Result<Pressure> {
    let t_k = t.kelvin();
    if !(T_13_K..=T_B23_MAX_K).contains(&t_k) {
        return Err(Error::out_of_range(
            "temperature",
            format!("{t_k} K: the B23 boundary is defined from 623.15 K to 863.15 K"),
        ));
    }
    Pressure::from_pascal(b23_p_mpa(t_k) * 1e6)
}

/// Temperature on the region 2/3 boundary B23 at p (IF97 Eq. 6), valid 16.5292 MPa..100 MPa.
pub fn b23_temperature(p: Pressure) -> Result<Temperature> {
    let p_mpa = p.megapascal();
    let p_low = b23_p_mpa(T_13_K);
    if !(p_low..=P_MAX_MPA).contains(&p_mpa) {
        return Err(Error::out_of_range(
            "pressure",
            format!("{p_mpa} MPa: the B23 boundary is defined from {p_low:.7} MPa to 100 MPa"),
        ));
    }
    Temperature::from_kelvin(b23_t_k(p_mpa))
}

/// Temperature interval searched by the refinement in each region, K.
fn refine_bounds(p_mpa: f64, region: Region, liquid_side: bool) -> Result<(f64, f64)> {
    Ok(match region {
        Region::R1 => (T_MIN_K, T_13_K),
        Region::R2 => (T_MIN_K, T_MAX_K),
        Region::R5 => (T_MAX_K, T_MAX_R5_K),
        Region::R3 if p_mpa >= PC_MPA => (T_13_K, b23_t_k(p_mpa).min(T_B23_MAX_K)),
        Region::R3 if liquid_side => (T_13_K, t_sat_k(p_mpa)?),
        Region::R3 => (t_sat_k(p_mpa)?, b23_t_k(p_mpa).min(T_B23_MAX_K)),
        Region::R4 => {
            return Err(Error::inconsistent(
                "region",
                "two-phase states are not refined in temperature",
            ));
        }
    })
}

/// Temperature at which the forward equation of `region` gives `target` = `value`, by
/// Newton's method from the backward-equation guess, kept inside the region.
fn refine(
    p_mpa: f64,
    region: Region,
    target: Target,
    value: f64,
    t_guess: f64,
    rho_guess: Option<f64>,
    liquid_side: bool,
) -> Result<(f64, Props)> {
    let (lo, hi) = refine_bounds(p_mpa, region, liquid_side)?;
    let scale = value.abs().max(target.scale());
    let mut t_k = if t_guess.is_finite() {
        t_guess.clamp(lo, hi)
    } else {
        0.5 * (lo + hi)
    };
    let mut rho = rho_guess;
    for _ in 0..MAX_NEWTON {
        let (props, rho_now) = eval(p_mpa, t_k, region, rho)?;
        rho = Some(rho_now);
        let residual = target.of(&props) - value;
        if residual.abs() <= REFINE_TOL * scale {
            return Ok((t_k, props));
        }
        let slope = target.slope(&props, t_k);
        if !(slope.is_finite() && slope > 0.0) {
            break;
        }
        let next = (t_k - residual / slope).clamp(lo, hi);
        if next == t_k {
            break;
        }
        t_k = next;
    }
    let (props, _) = eval(p_mpa, t_k, region, rho)?;
    if (target.of(&props) - value).abs() <= ACCEPT_TOL * scale {
        return Ok((t_k, props));
    }
    Err(Error::out_of_range(
        target.field(),
        format!(
            "no IF97 state at p = {p_mpa} MPa with {} = {value} (kJ/kg or kJ/(kg K)) inside region {} (T {lo} K..{hi} K)",
            target.field(),
            region.number()
        ),
    ))
}

/// Explains why a (p, h) or (p, s) pair has no IF97 state.
fn pair_out_of_range(p_mpa: f64, target: Target, value: f64) -> Result<Error> {
    let t_top = if p_mpa <= P_MAX_R5_MPA {
        T_MAX_R5_K
    } else {
        T_MAX_K
    };
    let low = Temperature::from_kelvin(T_MIN_K)?;
    let high = Temperature::from_kelvin(t_top)?;
    let p = Pressure::from_pascal(p_mpa * 1e6)?;
    // `seuif97` also refuses h < 0 and s < 0 (states below the triple point at low pressure).
    let (a, b, unit) = match target {
        Target::Enthalpy => (enthalpy_pt(p, low)?.max(0.0), enthalpy_pt(p, high)?, "J/kg"),
        Target::Entropy => (
            entropy_pt(p, low)?.max(0.0),
            entropy_pt(p, high)?,
            "J/(kg K)",
        ),
    };
    Ok(Error::out_of_range(
        target.field(),
        format!(
            "{} {unit} is outside the IF97 range at {p_mpa} MPa: {a:.6} {unit} (273.15 K or 0) .. {b:.6} {unit} ({t_top} K)",
            value * 1e3
        ),
    ))
}

/// State from p and h or s, refined to the forward equations.
fn state_p_y(p: Pressure, target: Target, value_si: f64) -> Result<SteamState> {
    let p_mpa = p.megapascal();
    check_pressure(p_mpa)?;
    let value = finite(target.field(), value_si)? * 1e-3;
    let (code, t_raw, v_raw) = match target {
        Target::Enthalpy => (
            ph(p_mpa, value, OR),
            ph(p_mpa, value, OT),
            ph(p_mpa, value, OV),
        ),
        Target::Entropy => (
            ps(p_mpa, value, OR),
            ps(p_mpa, value, OT),
            ps(p_mpa, value, OV),
        ),
    };
    let t_guess = t_raw + CELSIUS_OFFSET_K;
    let region = match code as i32 {
        1 => Region::R1,
        2 => Region::R2,
        3 => Region::R3,
        4 => Region::R4,
        5 => Region::R5,
        _ => return Err(pair_out_of_range(p_mpa, target, value)?),
    };
    // Near saturation the phase is decided with the saturated states of the forward equations,
    // so that the dome edges are the same ones state_px reports.
    let mut liquid_side = false;
    if matches!(region, Region::R3 | Region::R4) && p_mpa < PC_MPA {
        let t_s = t_sat_k(p_mpa)?;
        let (f, g) = saturation_props(p_mpa, t_s)?;
        let (yf, yg) = (target.of(&f), target.of(&g));
        if value >= yf && value <= yg {
            return build_two_phase(p_mpa, t_s, (value - yf) / (yg - yf));
        }
        liquid_side = value < yf;
        let side = if p_mpa <= P_S623_MPA {
            if liquid_side { Region::R1 } else { Region::R2 }
        } else {
            Region::R3
        };
        let start = if liquid_side { f } else { g };
        let rho = (side == Region::R3).then_some(1.0 / start.v);
        let (t_k, props) = refine(p_mpa, side, target, value, t_s, rho, liquid_side)?;
        return build_single(p_mpa, t_k, side, &props);
    }
    let rho = (region == Region::R3 && v_raw.is_finite() && v_raw > 0.0).then_some(1.0 / v_raw);
    let (t_k, props) = refine(p_mpa, region, target, value, t_guess, rho, liquid_side)?;
    build_single(p_mpa, t_k, region, &props)
}

/// State from pressure and specific enthalpy h (J/kg), refined so that h(p, T) of the forward
/// equations equals h to 1e-9 relative; two-phase states get their quality x.
pub fn state_ph(p: Pressure, h_j_kg: f64) -> Result<SteamState> {
    state_p_y(p, Target::Enthalpy, h_j_kg).map(|state| state.at(p))
}

/// State from pressure and specific entropy s (J/(kg K)), refined like [`state_ph`].
pub fn state_ps(p: Pressure, s_j_kg_k: f64) -> Result<SteamState> {
    state_p_y(p, Target::Entropy, s_j_kg_k).map(|state| state.at(p))
}

/// State from specific enthalpy (J/kg) and entropy (J/(kg K)): pressure from the IAPWS
/// SR2-01/SR4-04 backward equations in `seuif97`, then Newton on p with (∂h/∂p)_s = v so that
/// the refined [`state_ps`] reproduces h to 1e-9 relative.
pub fn state_hs(h_j_kg: f64, s_j_kg_k: f64) -> Result<SteamState> {
    let h = finite("enthalpy", h_j_kg)? * 1e-3;
    let s = finite("entropy", s_j_kg_k)? * 1e-3;
    if !(1..=5).contains(&(hs(h, s, OR) as i32)) {
        return Err(Error::out_of_range(
            "enthalpy",
            format!("no IF97 state with h = {h_j_kg} J/kg and s = {s_j_kg_k} J/(kg K)"),
        ));
    }
    let mut p_mpa = checked("pressure", hs(h, s, OP))?.clamp(P_MIN_MPA, P_MAX_MPA);
    let scale = h.abs().max(Target::Enthalpy.scale());
    for _ in 0..MAX_NEWTON {
        let state = state_ps(Pressure::from_pascal(p_mpa * 1e6)?, s_j_kg_k)?;
        let residual = state.h * 1e-3 - h;
        if residual.abs() <= ACCEPT_TOL * scale {
            return Ok(state);
        }
        // dh = v dp at constant s; v in m³/kg times MPa gives kJ/kg after the factor 1e3.
        let next = (p_mpa - residual / (state.v * 1e3)).clamp(P_MIN_MPA, P_MAX_MPA);
        if next == p_mpa {
            break;
        }
        p_mpa = next;
    }
    Err(Error::out_of_range(
        "enthalpy",
        format!(
            "no IF97 state with h = {h_j_kg} J/kg and s = {s_j_kg_k} J/(kg K) within 611.213 Pa..100 MPa"
        ),
    ))
}

/// Verification only: region-3 state from T and density ρ (kg/m³) by the IF97 basic equation
/// f(ρ, T) (R7-97 Eq. 28), for 623.15 K ≤ T ≤ 863.15 K and p_B23(T) ≤ p ≤ 100 MPa, outside
/// the two-phase dome.
pub fn state_t_rho(t: Temperature, rho_kg_m3: f64) -> Result<SteamState> {
    let t_k = t.kelvin();
    let rho = finite("density", rho_kg_m3)?;
    if rho <= 0.0 {
        return Err(Error::invalid(
            "density",
            format!("{rho} kg/m3 is not positive"),
        ));
    }
    if !(T_13_K..=T_B23_MAX_K).contains(&t_k) {
        return Err(Error::out_of_range(
            "temperature",
            format!("{t_k} K: region 3 spans 623.15 K..863.15 K"),
        ));
    }
    let props = region3_props(t_k, rho)?;
    let p_mpa = positive("pressure", tv(celsius(t_k), 1.0 / rho, (OP, 3)))?;
    let p_low = b23_p_mpa(t_k);
    if !(p_low..=P_MAX_MPA).contains(&p_mpa) {
        return Err(Error::out_of_range(
            "density",
            format!(
                "{rho} kg/m3 at {t_k} K gives {p_mpa} MPa, outside region 3 ({p_low:.6} MPa..100 MPa)"
            ),
        ));
    }
    if t_k < CRITICAL_TEMPERATURE_K {
        let p_s = p_sat_mpa(t_k)?;
        let (f, g) = saturation_props(p_s, t_k)?;
        if rho < 1.0 / f.v && rho > 1.0 / g.v {
            return Err(Error::out_of_range(
                "density",
                format!(
                    "{rho} kg/m3 at {t_k} K lies inside the two-phase dome ({:.4}..{:.4} kg/m3)",
                    1.0 / g.v,
                    1.0 / f.v
                ),
            ));
        }
    }
    build_single(p_mpa, t_k, Region::R3, &props)
}

/// Verification only: the raw IF97 backward equation T(p, h) (R7-97 Eqs. 11, 22-24; SR3-03
/// in region 3), without refinement; in region 4 the saturation temperature. Errors in
/// region 5, for which IF97 publishes no backward equation.
pub fn backward_t_ph_raw(p: Pressure, h_j_kg: f64) -> Result<Temperature> {
    backward_raw(p, Target::Enthalpy, h_j_kg)
}

/// Verification only: the raw IF97 backward equation T(p, s) (R7-97 Eqs. 13, 25-27; SR3-03
/// in region 3), like [`backward_t_ph_raw`].
pub fn backward_t_ps_raw(p: Pressure, s_j_kg_k: f64) -> Result<Temperature> {
    backward_raw(p, Target::Entropy, s_j_kg_k)
}

fn backward_raw(p: Pressure, target: Target, value_si: f64) -> Result<Temperature> {
    let p_mpa = p.megapascal();
    check_pressure(p_mpa)?;
    let value = finite(target.field(), value_si)? * 1e-3;
    let code = match target {
        Target::Enthalpy => ph(p_mpa, value, OR),
        Target::Entropy => ps(p_mpa, value, OR),
    };
    let t_c = match code as i32 {
        region @ (1..=3) => match target {
            Target::Enthalpy => ph(p_mpa, value, (OT, region)),
            Target::Entropy => ps(p_mpa, value, (OT, region)),
        },
        4 => return saturation_temperature(p),
        5 => {
            return Err(Error::out_of_range(
                target.field(),
                "IF97 publishes no backward equation for region 5 (1073.15 K < T <= 2273.15 K)",
            ));
        }
        _ => return Err(pair_out_of_range(p_mpa, target, value)?),
    };
    Temperature::from_kelvin(checked("temperature", t_c)? + CELSIUS_OFFSET_K)
}

/// Ideal-gas part of the metastable-vapour equation: (J°, n°) (R7-97(2012) Table 10 with n°1,
/// n°2 readjusted per section 6.2, Eq. 19).
const META_IDEAL: [(i32, f64); 9] = [
    (0, -0.969_372_683_930_49e1),
    (1, 0.100_872_759_700_06e2),
    (-5, -0.560_879_112_830_20e-2),
    (-4, 0.714_527_380_814_55e-1),
    (-3, -0.407_104_982_239_28),
    (-2, 0.142_408_191_714_44e1),
    (-1, -0.438_395_113_194_50e1),
    (2, -0.284_086_324_607_72),
    (3, 0.212_684_637_533_07e-1),
];

/// Residual part of the metastable-vapour equation: (I, J, n) (R7-97(2012) Table 16).
const META_RESIDUAL: [(i32, i32, f64); 13] = [
    (1, 0, -0.733_622_601_865_06e-2),
    (1, 2, -0.882_238_319_431_46e-1),
    (1, 5, -0.723_345_552_132_45e-1),
    (1, 11, -0.408_131_785_344_55e-2),
    (2, 1, 0.200_978_033_802_07e-2),
    (2, 7, -0.530_459_218_986_42e-1),
    (2, 16, -0.761_904_090_869_70e-2),
    (3, 4, -0.634_980_376_573_13e-2),
    (3, 16, -0.860_430_930_285_88e-1),
    (4, 7, 0.753_215_815_227_70e-2),
    (4, 10, -0.792_383_754_461_39e-2),
    (5, 9, -0.228_881_607_784_47e-3),
    (5, 10, -0.264_565_014_828_10e-2),
];

/// Verification only: the IF97 supplementary equation for the metastable-vapour region
/// (R7-97(2012) section 6.2, Eq. 18), i.e. subcooled vapour where the stable state is liquid.
/// Written here because `seuif97` does not implement it. Valid for p ≤ 10 MPa from the
/// saturated-vapour line down to the 5 % equilibrium-moisture line; outside: OutOfRange.
pub fn metastable_vapour_pt(p: Pressure, t: Temperature) -> Result<SteamState> {
    let (p_mpa, t_k) = (p.megapascal(), t.kelvin());
    check_pt(p_mpa, t_k)?;
    if p_mpa > P_MAX_METASTABLE_MPA {
        return Err(Error::out_of_range(
            "pressure",
            format!("{p_mpa} MPa: the metastable-vapour equation is valid up to 10 MPa"),
        ));
    }
    let t_s = t_sat_k(p_mpa)?;
    if t_k > t_s {
        return Err(Error::out_of_range(
            "temperature",
            format!("{t_k} K is above T_s = {t_s} K: the vapour is stable there, use state_pt"),
        ));
    }
    let pi = p_mpa;
    let tau = 540.0 / t_k;
    let (mut g0, mut g0_t, mut g0_tt) = (pi.ln(), 0.0, 0.0);
    for &(j, n) in &META_IDEAL {
        let jf = f64::from(j);
        g0 += n * tau.powi(j);
        g0_t += n * jf * tau.powi(j - 1);
        g0_tt += n * jf * (jf - 1.0) * tau.powi(j - 2);
    }
    let tt = tau - 0.5;
    let (mut gr, mut gr_p, mut gr_pp, mut gr_t, mut gr_tt, mut gr_pt) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &(i, j, n) in &META_RESIDUAL {
        let (fi, fj) = (f64::from(i), f64::from(j));
        gr += n * pi.powi(i) * tt.powi(j);
        gr_p += n * fi * pi.powi(i - 1) * tt.powi(j);
        gr_pp += n * fi * (fi - 1.0) * pi.powi(i - 2) * tt.powi(j);
        gr_t += n * pi.powi(i) * fj * tt.powi(j - 1);
        gr_tt += n * pi.powi(i) * fj * (fj - 1.0) * tt.powi(j - 2);
        gr_pt += n * fi * pi.powi(i - 1) * fj * tt.powi(j - 1);
    }
    let rt = R_WATER * t_k;
    let pi_g_p = 1.0 + pi * gr_p;
    let tau_g_t = tau * (g0_t + gr_t);
    let w2 = rt * (1.0 + 2.0 * pi * gr_p + pi * pi * gr_p * gr_p)
        / ((1.0 - pi * pi * gr_pp)
            + (1.0 + pi * gr_p - tau * pi * gr_pt).powi(2) / (tau * tau * (g0_tt + gr_tt)));
    let props = Props {
        v: positive("specific_volume", rt / (p_mpa * 1e6) * pi_g_p)?,
        h: checked("enthalpy", rt * tau_g_t * 1e-3)?,
        s: checked("entropy", R_WATER * (tau_g_t - (g0 + gr)) * 1e-3)?,
        u: checked("internal_energy", rt * (tau_g_t - pi_g_p) * 1e-3)?,
        cp: -R_WATER * tau * tau * (g0_tt + gr_tt) * 1e-3,
        w: w2.sqrt(),
    };
    let (f, g) = saturation_props(p_mpa, t_s)?;
    let h_wet_limit = f.h + 0.95 * (g.h - f.h);
    if props.h < h_wet_limit {
        return Err(Error::out_of_range(
            "temperature",
            format!(
                "{t_k} K at {p_mpa} MPa is beyond the 5 % equilibrium-moisture line (h = {:.1} J/kg < {:.1} J/kg)",
                props.h * 1e3,
                h_wet_limit * 1e3
            ),
        ));
    }
    build_single(p_mpa, t_k, Region::R2, &props)
}
