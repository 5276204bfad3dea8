//! SI or US customary on the page. Every physical quantity a page shows is written by
//! [`qty`] as `<span class="qty" data-kind=… data-si=…>NUMBER UNIT</span>`, so switching the
//! system changes every displayed value and nothing else, and a test can recompute each
//! display from its SI value. Factors come from `thermo::units::from_si` only; this module
//! chooses units, never factors. Percentages ([`percent`]) are the same in both systems.
//!
//! `data-si` is the value in `thermo`'s SI unit of the dimension (K, Pa, kg/s, mol/s, W, J,
//! J/kg, J/(kg·K), m², m/s, 1/J; a gauge pressure or a pressure difference in Pa above the
//! ambient), the same numbers the calculation documents carry, written with Rust's shortest
//! round-trip formatting (full precision). Values stored in a unit of their own (inputs,
//! metered tags, the quantities of messages) are converted to SI by [`measured`] first.

use axum::Form;
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::units::{self, Dimension, convert, from_si};

use super::error::{WebError, WebResult};
use super::session::{Session, cookie, safe_next};

/// The cookie holding the chosen system.
pub const UNITS_COOKIE: &str = "thermaliq_units";

/// A unit system of the display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnitSystem {
    /// SI (°C, kPa, kg/h, kW, GJ): the default.
    #[default]
    Si,
    /// US customary (°F, psia, lb/h, MMBtu/h, MMBtu).
    Us,
}

impl UnitSystem {
    /// The system chosen by the request's `thermaliq_units` cookie; SI without one or for a
    /// value other than `us`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        match cookie(headers, UNITS_COOKIE) {
            Some("us") => Self::Us,
            _ => Self::Si,
        }
    }

    /// The cookie and form value (`si`, `us`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Si => "si",
            Self::Us => "us",
        }
    }

    /// The name shown in `#units-current`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Si => "SI",
            Self::Us => "US customary",
        }
    }
}

/// What a displayed quantity measures, which fixes its units in each system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Temperature: °C or °F.
    Temperature,
    /// Temperature difference: K or °F (a difference).
    TemperatureDifference,
    /// Absolute pressure: kPa or psia.
    Pressure,
    /// Gauge pressure, above the ambient: kPa(g) or psig.
    GaugePressure,
    /// Pressure difference (an uncertainty): kPa or psi.
    PressureDifference,
    /// Mass flow: kg/h (t/h from 10 t/h) or lb/h.
    MassFlow,
    /// Gas flow at standard conditions: Nm³/h (0 °C, 101.325 kPa) or scf/h (60 °F,
    /// 14.696 psia).
    StandardVolumeFlow,
    /// Power or heat rate: kW / MW or kBtu/h / MMBtu/h.
    Power,
    /// Energy: MJ / GJ or MMBtu.
    Energy,
    /// Specific energy (heating value, enthalpy): MJ/kg or Btu/lb.
    SpecificEnergy,
    /// Specific entropy or heat capacity: kJ/(kg·K) or Btu/(lb·°F).
    SpecificEntropy,
    /// Area: m² or ft².
    Area,
    /// Velocity: m/s or ft/s.
    Velocity,
    /// An amount per energy (a fuel price): per GJ or per MMBtu.
    PerEnergy,
}

impl Kind {
    /// The `data-kind` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Temperature => "temperature",
            Self::TemperatureDifference => "temperature_difference",
            Self::Pressure => "pressure",
            Self::GaugePressure => "gauge_pressure",
            Self::PressureDifference => "pressure_difference",
            Self::MassFlow => "mass_flow",
            Self::StandardVolumeFlow => "standard_volume_flow",
            Self::Power => "power",
            Self::Energy => "energy",
            Self::SpecificEnergy => "specific_energy",
            Self::SpecificEntropy => "specific_entropy",
            Self::Area => "area",
            Self::Velocity => "velocity",
            Self::PerEnergy => "amount_per_energy",
        }
    }

    /// The dimension of `thermo::units` the SI value is in.
    pub fn dimension(self) -> Dimension {
        match self {
            Self::Temperature => Dimension::Temperature,
            Self::TemperatureDifference => Dimension::TemperatureDifference,
            Self::Pressure | Self::GaugePressure | Self::PressureDifference => Dimension::Pressure,
            Self::MassFlow => Dimension::MassFlow,
            Self::StandardVolumeFlow => Dimension::StandardVolumeFlow,
            Self::Power => Dimension::Power,
            Self::Energy => Dimension::Energy,
            Self::SpecificEnergy => Dimension::SpecificEnergy,
            Self::SpecificEntropy => Dimension::SpecificEntropy,
            Self::Area => Dimension::Area,
            Self::Velocity => Dimension::Velocity,
            Self::PerEnergy => Dimension::PerEnergy,
        }
    }

    /// The kind a value of `dimension` written in `unit` is shown as: a pressure in a gauge
    /// unit stays a gauge pressure; `None` for dimensions shown as written (fractions, times).
    pub fn of(dimension: Dimension, unit: &str) -> Option<Self> {
        Some(match dimension {
            Dimension::Temperature => Self::Temperature,
            Dimension::TemperatureDifference => Self::TemperatureDifference,
            Dimension::Pressure if units::is_gauge(unit) => Self::GaugePressure,
            Dimension::Pressure => Self::Pressure,
            Dimension::MassFlow => Self::MassFlow,
            Dimension::StandardVolumeFlow => Self::StandardVolumeFlow,
            Dimension::Power => Self::Power,
            Dimension::Energy => Self::Energy,
            Dimension::SpecificEnergy => Self::SpecificEnergy,
            Dimension::SpecificEntropy => Self::SpecificEntropy,
            Dimension::Area => Self::Area,
            Dimension::Velocity => Self::Velocity,
            Dimension::PerEnergy => Self::PerEnergy,
            Dimension::SpecificVolume
            | Dimension::Length
            | Dimension::Fraction
            | Dimension::Time
            | Dimension::Density => return None,
        })
    }

    /// The kind of an uncertainty of a value of this kind: a difference for a temperature or
    /// a pressure.
    pub fn difference(self) -> Self {
        match self {
            Self::Temperature => Self::TemperatureDifference,
            Self::Pressure | Self::GaugePressure => Self::PressureDifference,
            other => other,
        }
    }

    /// A value written in `unit` as this kind's SI value ([`qty`]'s `data-si`).
    pub fn si_of(self, value: f64, unit: &str) -> Option<f64> {
        let atm = STANDARD_ATMOSPHERE_PA;
        match self {
            // Relative to any ambient: the ambient added by a gauge unit is taken off again.
            Self::GaugePressure => Some(convert(value, unit, Dimension::Pressure, atm).ok()? - atm),
            // A difference scales without the offset of an absolute or gauge reading.
            Self::PressureDifference => Some(
                convert(value.abs() + 1.0, unit, Dimension::Pressure, atm).ok()?
                    - convert(1.0, unit, Dimension::Pressure, atm).ok()?,
            )
            .map(|d| d.copysign(value)),
            _ => convert(value, unit, self.dimension(), atm).ok(),
        }
    }

    /// The display units in `system`: `(larger, smaller, threshold)`, the larger unit
    /// applying from `threshold` of it (1 MW, 1 GJ, 1 MMBtu/h, 10 t/h); one unit when
    /// `smaller` is `None`. Symbols are `thermo::units` spellings.
    fn units(self, system: UnitSystem) -> (&'static str, Option<&'static str>, f64) {
        match (self, system) {
            (Self::Temperature, UnitSystem::Si) => ("°C", None, 0.0),
            (Self::Temperature, UnitSystem::Us) => ("°F", None, 0.0),
            (Self::TemperatureDifference, UnitSystem::Si) => ("K", None, 0.0),
            (Self::TemperatureDifference, UnitSystem::Us) => ("°F", None, 0.0),
            (Self::Pressure, UnitSystem::Si) => ("kPa", None, 0.0),
            (Self::Pressure, UnitSystem::Us) => ("psia", None, 0.0),
            (Self::GaugePressure, UnitSystem::Si) => ("kPa(g)", None, 0.0),
            (Self::GaugePressure, UnitSystem::Us) => ("psig", None, 0.0),
            (Self::PressureDifference, UnitSystem::Si) => ("kPa", None, 0.0),
            (Self::PressureDifference, UnitSystem::Us) => ("psi", None, 0.0),
            (Self::StandardVolumeFlow, UnitSystem::Si) => ("Nm³/h", None, 0.0),
            (Self::StandardVolumeFlow, UnitSystem::Us) => ("scf/h", None, 0.0),
            (Self::MassFlow, UnitSystem::Si) => ("t/h", Some("kg/h"), 10.0),
            (Self::MassFlow, UnitSystem::Us) => ("lb/h", None, 0.0),
            (Self::Power, UnitSystem::Si) => ("MW", Some("kW"), 1.0),
            (Self::Power, UnitSystem::Us) => ("MMBtu/h", Some("kBtu/h"), 1.0),
            (Self::Energy, UnitSystem::Si) => ("GJ", Some("MJ"), 1.0),
            (Self::Energy, UnitSystem::Us) => ("MMBtu", None, 0.0),
            (Self::SpecificEnergy, UnitSystem::Si) => ("MJ/kg", None, 0.0),
            (Self::SpecificEnergy, UnitSystem::Us) => ("Btu/lb", None, 0.0),
            (Self::SpecificEntropy, UnitSystem::Si) => ("kJ/(kg·K)", None, 0.0),
            (Self::SpecificEntropy, UnitSystem::Us) => ("Btu/(lb·°F)", None, 0.0),
            (Self::Area, UnitSystem::Si) => ("m²", None, 0.0),
            (Self::Area, UnitSystem::Us) => ("ft²", None, 0.0),
            (Self::Velocity, UnitSystem::Si) => ("m/s", None, 0.0),
            (Self::Velocity, UnitSystem::Us) => ("ft/s", None, 0.0),
            (Self::PerEnergy, UnitSystem::Si) => ("per GJ", None, 0.0),
            (Self::PerEnergy, UnitSystem::Us) => ("per MMBtu", None, 0.0),
        }
    }

    /// An SI value in its display unit of `system`: the number and the unit's symbol.
    pub fn display(self, si_value: f64, system: UnitSystem) -> Option<(f64, &'static str)> {
        let (larger, smaller, threshold) = self.units(system);
        let atm = STANDARD_ATMOSPHERE_PA;
        let convert = |unit: &str| match self {
            // Gauge and difference values are relative: shift to an absolute reading and
            // back, and write a difference with the factor of the absolute unit.
            Self::GaugePressure => from_si(si_value + atm, unit, Dimension::Pressure, atm).ok(),
            Self::PressureDifference => {
                let absolute = if unit == "psi" { "psia" } else { unit };
                let f = from_si(atm + si_value.abs(), absolute, Dimension::Pressure, atm).ok()?
                    - from_si(atm, absolute, Dimension::Pressure, atm).ok()?;
                Some(f.copysign(si_value))
            }
            _ => from_si(si_value, unit, self.dimension(), 0.0).ok(),
        };
        let large = convert(larger)?;
        match smaller {
            Some(small) if large.abs() < threshold => Some((convert(small)?, small)),
            _ => Some((large, larger)),
        }
    }
}

/// A quantity in `system`: `<span class="qty" data-kind data-si>NUMBER UNIT</span>`; an em
/// dash (not a quantity) when the value cannot be shown (not finite, below absolute zero).
pub fn qty(kind: Kind, si_value: f64, system: UnitSystem) -> Markup {
    let Some((value, shown)) = kind.display(si_value, system) else {
        return html! { "—" };
    };
    let difference = kind == Kind::TemperatureDifference && system == UnitSystem::Us;
    html! {
        span.qty data-kind=(kind.code()) data-si=(si_value)
            title=[difference.then_some("temperature difference")] {
            (number(value)) " " (shown)
        }
    }
}

/// A value stored in a unit of its own (an input, a metered tag, a quantity of a message) in
/// `system`: a [`qty`] when its dimension (`dimension`, else the unit's) has a displayed
/// kind; `None` when it is shown as written (a fraction, a time, an unknown unit).
pub fn measured(
    value: f64,
    unit: &str,
    dimension: Option<Dimension>,
    system: UnitSystem,
) -> Option<Markup> {
    let dimension = dimension.or_else(|| units::dimension_of(unit))?;
    let kind = Kind::of(dimension, unit)?;
    Some(qty(kind, kind.si_of(value, unit)?, system))
}

/// A value as [`measured`] shows it, or as written (`value unit`) when it has no kind.
pub fn measured_or_written(
    value: f64,
    unit: &str,
    dimension: Option<Dimension>,
    system: UnitSystem,
) -> Markup {
    match measured(value, unit, dimension, system) {
        Some(q) => q,
        None => html! { (value) @if !unit.is_empty() { " " (unit) } },
    }
}

/// A message of a document in `system`: its `*_parts` (strings and `{value, unit,
/// dimension}` quantities, `calc::output::PartOut`) with each quantity converted; the SI
/// `text` when the document has no parts (stored before messages carried them).
pub fn message(parts: Option<&serde_json::Value>, text: &str, system: UnitSystem) -> Markup {
    let Some(parts) = parts.and_then(serde_json::Value::as_array) else {
        return html! { (text) };
    };
    html! {
        @for part in parts {
            @match part {
                serde_json::Value::String(t) => (t),
                q => {
                    @let unit = q["unit"].as_str().unwrap_or("");
                    @let dimension = q["dimension"].as_str().and_then(Dimension::from_code);
                    @match q["value"].as_f64() {
                        Some(v) => (measured_or_written(v, unit, dimension, system)),
                        None => { "—" @if !unit.is_empty() { " " (unit) } },
                    }
                }
            }
        }
    }
}

/// [`qty`] of an optional value; an em dash when absent.
pub fn qty_opt(kind: Kind, si_value: Option<f64>, system: UnitSystem) -> Markup {
    match si_value {
        Some(v) => qty(kind, v, system),
        None => html! { "—" },
    }
}

/// A percentage, identical in both systems: `<span class="pct" data-kind="percent">12.34 %
/// </span>` with two decimals; an em dash when absent or not finite.
pub fn percent(value: Option<f64>) -> Markup {
    match value.filter(|v| v.is_finite()) {
        Some(v) => html! { span.pct data-kind="percent" { (fixed(v, 2)) " %" } },
        None => html! { "—" },
    }
}

/// The one number format of displayed quantities, chosen by magnitude so that at least
/// three significant figures show: 0 decimals from 1000, 1 from 100, 2 from 10, 3 from 1,
/// and below 1 as many as three significant figures need; no thousands separator; never
/// "-0".
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = if magnitude >= 1000.0 {
        0
    } else if magnitude >= 100.0 {
        1
    } else if magnitude >= 10.0 {
        2
    } else if magnitude >= 1.0 || magnitude == 0.0 {
        3
    } else {
        // 0.0123 → floor(log10) = -2 → 4 decimals → "0.0123".
        (2 - magnitude.log10().floor() as i32).clamp(3, 17) as usize
    };
    fixed(value, decimals)
}

/// `value` with `decimals` decimals, without a sign on a value that rounds to zero.
pub fn fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text
        .trim_start_matches('-')
        .bytes()
        .all(|b| b == b'0' || b == b'.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// The form of `POST /units`.
#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    /// `si` or `us`.
    pub units: String,
    /// Where to go back to (a relative path with its query).
    #[serde(default)]
    pub back: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /units`: stores the chosen system in a cookie for a year and goes back.
pub async fn switch(session: Session, Form(form): Form<SwitchForm>) -> WebResult<Response> {
    session.verify_csrf(&form.csrf)?;
    let system = match form.units.as_str() {
        "si" => UnitSystem::Si,
        "us" => UnitSystem::Us,
        other => {
            return Err(WebError::Invalid {
                field: "units".into(),
                message: format!("\"{other}\" is not a unit system; choose si or us"),
            });
        }
    };
    let back = safe_next(&form.back).unwrap_or("/facilities");
    let cookie = format!(
        "{UNITS_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly",
        system.code()
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(back)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_significant_figures_at_every_magnitude() {
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(123.456), "123.5");
        assert_eq!(number(12.3456), "12.35");
        assert_eq!(number(1.23456), "1.235");
        assert_eq!(number(0.0123456), "0.0123");
        assert_eq!(number(0.123456), "0.123");
        assert_eq!(number(0.0), "0.000");
        assert_eq!(number(-0.0001), "-0.000100");
        assert_eq!(fixed(-0.001, 2), "0.00");
    }
}
