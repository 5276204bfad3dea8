//! A water or steam state by IAPWS-IF97 from two properties written with units
//! (`p = "3MPa"`, `t = "300 K"`), as the `thermaliq steam` command asks for it.

#![allow(non_snake_case)] // Keys carry SI unit symbols (`T_K`, `p_Pa`), whose case matters.

use serde::Serialize;
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::steam::{self, SteamState};
use thermo::{Fraction, Pressure, Temperature};

use crate::calc::quantity::{Kind, Q, kind};
use crate::calc::{BoundaryError, BoundaryErrorKind};

/// The properties given, each as text with its unit; exactly two of them, in one of the
/// pairs (p, t), (p, h), (p, s), (p, x), (t, x), (h, s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SteamQuery {
    /// Pressure (gauge units are read against 101.325 kPa).
    pub p: Option<String>,
    /// Temperature.
    pub t: Option<String>,
    /// Specific enthalpy.
    pub h: Option<String>,
    /// Specific entropy.
    pub s: Option<String>,
    /// Vapour quality (dryness fraction): a bare number 0..1 or a percentage.
    pub x: Option<String>,
}

/// A water or steam state, SI units in the keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SteamDocument {
    /// Temperature, K.
    pub T_K: f64,
    /// Absolute pressure, Pa.
    pub p_Pa: f64,
    /// Specific enthalpy, J/kg.
    pub h_J_kg: f64,
    /// Specific entropy, J/(kg K).
    pub s_J_kgK: f64,
    /// Specific volume, m³/kg.
    pub v_m3_kg: f64,
    /// Specific internal energy, J/kg.
    pub u_J_kg: f64,
    /// Isobaric heat capacity, J/(kg K); null inside the two-phase dome.
    pub cp_J_kgK: Option<f64>,
    /// Speed of sound, m/s; null inside the two-phase dome.
    pub w_m_s: Option<f64>,
    /// Vapour quality, kg/kg, for two-phase states only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// IAPWS-IF97 region (1 to 5).
    pub region: u8,
    /// `liquid`, `vapour`, `supercritical` or `two_phase`.
    pub phase: &'static str,
    /// The formulation.
    pub formulation: &'static str,
}

impl SteamDocument {
    fn of(s: &SteamState) -> Self {
        Self {
            T_K: s.temperature.kelvin(),
            p_Pa: s.pressure.pascal(),
            h_J_kg: s.h,
            s_J_kgK: s.s,
            v_m3_kg: s.v,
            u_J_kg: s.u,
            cp_J_kgK: s.cp,
            w_m_s: s.w,
            x: s.x,
            region: s.region.number(),
            phase: s.phase.as_str(),
            formulation: "IAPWS-IF97",
        }
    }
}

fn value<K: Kind>(text: &str, option: &str) -> Result<f64, BoundaryError> {
    Q::<K>::text(text)
        .si(STANDARD_ATMOSPHERE_PA)
        .map_err(|e| BoundaryError::at(option, &e))
}

/// The option a thermo field of the steam functions came from.
fn option_of(field: &str) -> &str {
    match field {
        "pressure" => "--p",
        "temperature" => "--t",
        "enthalpy" => "--h",
        "entropy" => "--s",
        "quality" | "fraction" => "--x",
        other => other,
    }
}

/// The state of the two given properties.
pub fn state(q: &SteamQuery) -> Result<SteamDocument, BoundaryError> {
    let thermo = |e: thermo::Error| BoundaryError::within("", &e).with_path(option_of(e.field()));
    let p = |text: &str| {
        Pressure::from_pascal(value::<kind::Pressure>(text, "--p")?)
            .map_err(|e| BoundaryError::at("--p", &e))
    };
    let t = |text: &str| {
        Temperature::from_kelvin(value::<kind::Temperature>(text, "--t")?)
            .map_err(|e| BoundaryError::at("--t", &e))
    };
    let h = |text: &str| value::<kind::SpecificEnergy>(text, "--h");
    let s = |text: &str| value::<kind::SpecificHeat>(text, "--s");
    let x = |text: &str| {
        Fraction::new(value::<kind::Fraction>(text, "--x")?)
            .map_err(|e| BoundaryError::at("--x", &e))
    };
    let state = match (&q.p, &q.t, &q.h, &q.s, &q.x) {
        (Some(pv), Some(tv), None, None, None) => steam::state_pt(p(pv)?, t(tv)?),
        (Some(pv), None, Some(hv), None, None) => steam::state_ph(p(pv)?, h(hv)?),
        (Some(pv), None, None, Some(sv), None) => steam::state_ps(p(pv)?, s(sv)?),
        (Some(pv), None, None, None, Some(xv)) => steam::state_px(p(pv)?, x(xv)?),
        (None, Some(tv), None, None, Some(xv)) => steam::state_tx(t(tv)?, x(xv)?),
        (None, None, Some(hv), Some(sv), None) => steam::state_hs(h(hv)?, s(sv)?),
        _ => {
            let given: Vec<&str> = [
                ("--p", &q.p),
                ("--t", &q.t),
                ("--h", &q.h),
                ("--s", &q.s),
                ("--x", &q.x),
            ]
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(name, _)| *name)
            .collect();
            let given = if given.is_empty() {
                "none".to_string()
            } else {
                given.join(" ")
            };
            return Err(BoundaryError::new(
                BoundaryErrorKind::Shape,
                "options",
                format!(
                    "give exactly two properties, one of the pairs --p --t, --p --h, --p --s, \
                     --p --x, --t --x, --h --s (given: {given})"
                ),
            ));
        }
    };
    state.map(|s| SteamDocument::of(&s)).map_err(thermo)
}
