//! Second law: chemical exergy of fuels, exergy of water and steam, of gas mixtures and of
//! heat, against a stated dead state.
//!
//! Standard chemical exergies are those of Szargut, Morris & Steward (1988), *Exergy Analysis
//! of Thermal, Chemical and Metallurgical Processes*, Table I (reference environment at
//! 298.15 K and 101.325 kPa). Fuels given by ultimate analysis use the correlations of
//! Szargut & Styrylska (1964) for the ratio φ of chemical exergy to net heating value, in the
//! form given by Kotas (1985), *The Exergy Method of Thermal Plant Analysis*, §A.3.

use crate::error::{Error, Result};
use crate::fuel::{Fuel, FuelKind, GasComponent, H_FG_25C};
use crate::inputs::DeadState;
use crate::quantity::{Pressure, Temperature};
use crate::species::{Composition, R_UNIVERSAL};
use crate::steam;

/// Standard chemical exergy of carbon monoxide, J/mol (Szargut et al. 1988, Table I).
pub const CO_CHEMICAL_EXERGY: f64 = 275_100.0;

/// Standard chemical exergy of carbon (graphite), J/mol (Szargut et al. 1988, Table I).
pub const CARBON_CHEMICAL_EXERGY: f64 = 410_260.0;

/// Chemical exergy of sulfur less its net heating value, J/kg, the sulfur term of the
/// solid-fuel formula (Kotas 1985, eq. A.26).
const SULFUR_EXERGY_EXCESS: f64 = 9_417e3;

/// Standard chemical exergy of a fuel-gas component, J/mol (Szargut et al. 1988, Table I;
/// the branched isomers from the normal ones and the difference of their Gibbs energies of
/// formation, NIST-JANAF / API 44 tables).
fn component_chemical_exergy(component: GasComponent) -> f64 {
    use GasComponent as G;
    1e3 * match component {
        G::Methane => 831.65,
        G::Ethane => 1495.84,
        G::Propane => 2154.0,
        G::NButane => 2805.8,
        G::IsoButane => 2801.9,
        G::NPentane => 3463.3,
        G::IsoPentane => 3456.5,
        G::NHexane => 4118.5,
        G::Ethylene => 1361.1,
        G::Propylene => 2003.9,
        G::Hydrogen => 236.09,
        G::CarbonMonoxide => 275.10,
        G::CarbonDioxide => 19.87,
        G::Nitrogen => 0.72,
        G::Oxygen => 3.97,
        G::HydrogenSulfide => 812.0,
        G::Water => 9.5,
        G::Argon => 11.69,
        G::Helium => 30.37,
    }
}

/// Chemical exergy of a fuel as fired, J/kg.
///
/// Gases: the mole-weighted standard chemical exergies of the components plus the ideal
/// mixing term R T0 Σ x ln x. Liquids and solids: φ · (LHV + moisture · h_fg) with the
/// Szargut–Styrylska φ for the fuel's dry composition, plus the sulfur term for solids.
/// The standard exergies refer to 298.15 K; the dead state's temperature is used in the
/// mixing term only.
pub fn fuel_chemical_exergy(fuel: &Fuel, dead: &DeadState) -> Result<f64> {
    match fuel.kind() {
        FuelKind::Gas => {
            let t0 = dead.temperature.kelvin();
            let (mut per_mol, mut molar_mass) = (0.0, 0.0);
            let fractions = fuel.mole_fractions().unwrap_or(&[0.0; GasComponent::COUNT]);
            for (component, x) in GasComponent::ALL.iter().zip(fractions) {
                if *x > 0.0 {
                    per_mol +=
                        x * (component_chemical_exergy(*component) + R_UNIVERSAL * t0 * x.ln());
                    molar_mass += x * component.molar_mass();
                }
            }
            Ok(per_mol / molar_mass)
        }
        FuelKind::Liquid | FuelKind::Solid => {
            let e = fuel.elemental();
            if e.c <= 0.0 {
                return Err(Error::invalid(
                    "fuel",
                    "a liquid or solid fuel without carbon has no exergy correlation",
                ));
            }
            let (h, o, n, s) = (e.h / e.c, e.o / e.c, e.n / e.c, e.s / e.c);
            let phi = match fuel.kind() {
                FuelKind::Liquid => {
                    1.0401 + 0.1728 * h + 0.0432 * o + 0.2169 * s * (1.0 - 2.0628 * h)
                }
                _ if o <= 0.667 => 1.0437 + 0.1882 * h + 0.0610 * o + 0.0404 * n,
                _ if o <= 2.67 => {
                    (1.0438 + 0.1882 * h - 0.2509 * (1.0 + 0.7256 * h) * o + 0.0383 * n)
                        / (1.0 - 0.3035 * o)
                }
                _ => {
                    return Err(Error::out_of_range(
                        "fuel",
                        format!(
                            "oxygen/carbon mass ratio {o:.2} is above 2.67, the range of the Szargut–Styrylska correlation"
                        ),
                    ));
                }
            };
            let sulfur = if fuel.kind() == FuelKind::Solid {
                SULFUR_EXERGY_EXCESS * e.s
            } else {
                0.0
            };
            Ok(phi * (fuel.lhv() + e.moisture * H_FG_25C) + sulfur)
        }
    }
}

/// Liquid water at the dead state, the zero of the flow exergy of water and steam.
#[derive(Debug, Clone, Copy)]
pub struct DeadStateWater {
    /// Dead-state temperature, K.
    pub t0: f64,
    h0: f64,
    s0: f64,
}

impl DeadStateWater {
    /// Liquid water at the dead state's temperature and pressure (IF97).
    pub fn new(dead: &DeadState) -> Result<Self> {
        let p = dead.pressure;
        let t = dead.temperature;
        let field = |e: Error| e.within("dead_state");
        Ok(Self {
            t0: t.kelvin(),
            h0: steam::enthalpy_pt(p, t).map_err(field)?,
            s0: steam::entropy_pt(p, t).map_err(field)?,
        })
    }

    /// Flow exergy of water or steam of enthalpy `h`, J/kg, and entropy `s`, J/(kg K):
    /// (h − h0) − T0 (s − s0), J/kg.
    pub fn flow_exergy(&self, h: f64, s: f64) -> f64 {
        (h - self.h0) - self.t0 * (s - self.s0)
    }
}

/// Thermomechanical exergy of an ideal-gas mixture at `t` and the dead-state pressure, J:
/// Σ n_i [(h_i(T) − h_i(T0)) − T0 (s_i(T) − s_i(T0))]. The chemical exergy of the mixture
/// against the environment's composition is not counted: it is not recoverable in plant.
pub fn gas_thermomechanical_exergy(
    gas: &Composition,
    t: Temperature,
    dead: &DeadState,
) -> Result<f64> {
    let t0 = dead.temperature;
    let p0 = dead.pressure;
    let p_std = Pressure::from_pascal(crate::species::STANDARD_PRESSURE_PA)
        .expect("1 bar is a valid pressure");
    let dh = gas.sensible_enthalpy(t, t0)?;
    let ds = gas.entropy(t, p0, p_std)? - gas.entropy(t0, p0, p_std)?;
    Ok(dh - t0.kelvin() * ds)
}

/// Carnot factor 1 − T0/T of heat delivered or lost at temperature `t`.
pub fn carnot_factor(t: Temperature, dead: &DeadState) -> f64 {
    1.0 - dead.temperature.kelvin() / t.kelvin()
}
