//! Units of measure: names, dimensions and conversion factors to SI, for the boundary.
//!
//! Every physical input arrives with its unit ("3 MPa", "150 psig", "350 °F", "22000 lb/h",
//! "1000 Nm³/h") and is converted here, once, to the SI unit of its [`Dimension`]; results
//! go back out through [`from_si`]. Unit symbols are case-sensitive, because SI prefixes are
//! (`MW` is a megawatt, `mW` a milliwatt). Spellings that plant practice uses with two
//! meanings (`psi`, `bhp`, `MBtu`, `ton/h`) are refused with a message naming the unambiguous
//! forms, since a silent guess would be an undefendable error in an audit.
//!
//! Factors are those of NIST SP 811 (2008 ed.), Appendix B.8 and B.9; exact definitions are
//! written out so that the derived factors are exact to the last bit of an `f64`. Sources per
//! factor are tabulated in `docs/METHODS.md` (units section). The parser is hand-written
//! because the grammar (number, optional space, unit symbol) is too small to justify a
//! dependency.

use std::fmt;

use crate::error::{Error, Result};
use crate::quantity::{CELSIUS_OFFSET_K, STANDARD_ATMOSPHERE_PA, finite};
use Dimension as D;

/// International avoirdupois pound, kg, exact (NIST SP 811, B.8).
const POUND_KG: f64 = 0.453_592_37;
/// International foot, m, exact (NIST SP 811, B.8).
const FOOT_M: f64 = 0.3048;
/// International inch, m, exact (NIST SP 811, B.8).
const INCH_M: f64 = 0.0254;
/// Standard acceleration of gravity, m/s², exact (NIST SP 811, B.8, footnote to kgf).
const STANDARD_GRAVITY: f64 = 9.806_65;
/// Pound-force per square inch, Pa: lbf / in², from the exact pound, g_n and inch.
const PSI_PA: f64 = POUND_KG * STANDARD_GRAVITY / (INCH_M * INCH_M);
/// Kilogram-force per square centimetre, Pa, exact (NIST SP 811, B.8).
const KGF_PER_CM2_PA: f64 = STANDARD_GRAVITY * 1.0e4;
/// Conventional millimetre of mercury, Pa: 13 595.1 kg/m³ × g_n × 1 mm (NIST SP 811, B.8).
const MM_HG_PA: f64 = 13_595.1 * STANDARD_GRAVITY * 1.0e-3;
/// Conventional inch of mercury, Pa: 13 595.1 kg/m³ × g_n × 1 in (NIST SP 811, B.8).
const IN_HG_PA: f64 = 13_595.1 * STANDARD_GRAVITY * INCH_M;
/// International Table British thermal unit, J, exact by definition (NIST SP 811, B.8).
const BTU_J: f64 = 1_055.055_852_62;
/// International Table calorie, J, exact by definition (NIST SP 811, B.8).
const CALORIE_J: f64 = 4.1868;
/// Mechanical horsepower (550 ft·lbf/s), W, from the exact foot, pound and g_n.
const HORSEPOWER_W: f64 = 550.0 * FOOT_M * POUND_KG * STANDARD_GRAVITY;
/// Boiler horsepower, W (NIST SP 811, B.8: 9.809 50 E+03).
const BOILER_HORSEPOWER_W: f64 = 9_809.50;
/// Size of the Fahrenheit and Rankine degree, K, exact.
const FAHRENHEIT_DEGREE_K: f64 = 5.0 / 9.0;
/// Offset between the Fahrenheit and the Rankine scale, °F, exact.
const RANKINE_OFFSET_F: f64 = 459.67;
/// Minute, hour and day, s (SI Brochure, 9th ed., Table 8).
const MINUTE_S: f64 = 60.0;
/// Hour, s.
const HOUR_S: f64 = 3_600.0;
/// Day, s.
const DAY_S: f64 = 86_400.0;
const GAS_CONSTANT: f64 = crate::species::R_UNIVERSAL;
/// Moles of ideal gas in one normal cubic metre, 0 °C and 101.325 kPa (DIN 1343).
const NORMAL_M3_MOL: f64 = STANDARD_ATMOSPHERE_PA / (GAS_CONSTANT * CELSIUS_OFFSET_K);
/// Moles of ideal gas in one standard cubic metre, 15 °C and 101.325 kPa (ISO 13443).
const STANDARD_M3_MOL: f64 = STANDARD_ATMOSPHERE_PA / (GAS_CONSTANT * (CELSIUS_OFFSET_K + 15.0));
/// Moles of ideal gas in one standard cubic foot, 60 °F and 14.696 psia (GPA 2145 / 2172).
const SCF_MOL: f64 = 14.696 * PSI_PA * FOOT_M * FOOT_M * FOOT_M
    / (GAS_CONSTANT * (60.0 + RANKINE_OFFSET_F) * FAHRENHEIT_DEGREE_K);

/// What a number measures, which fixes its SI unit and the units accepted for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Absolute temperature, K.
    Temperature,
    /// Temperature difference, K.
    TemperatureDifference,
    /// Absolute pressure, Pa; gauge units add the ambient pressure.
    Pressure,
    /// Mass flow rate, kg/s.
    MassFlow,
    /// Gas flow at standard reference conditions, mol/s (ideal gas).
    StandardVolumeFlow,
    /// Power or heat rate, W.
    Power,
    /// Energy or heat, J.
    Energy,
    /// Specific energy (enthalpy, heating value), J/kg.
    SpecificEnergy,
    /// Specific entropy or specific heat capacity, J/(kg K).
    SpecificEntropy,
    /// Specific volume, m³/kg.
    SpecificVolume,
    /// Length, m.
    Length,
    /// Area, m².
    Area,
    /// Velocity, m/s.
    Velocity,
    /// Dimensionless fraction, 1.
    Fraction,
    /// Time, s.
    Time,
    /// Density, kg/m³.
    Density,
    /// An amount per unit of energy (a fuel price, its currency aside), 1/J.
    PerEnergy,
}

impl Dimension {
    /// Every dimension, in declaration order.
    pub const ALL: [Dimension; 17] = [
        Dimension::Temperature,
        Dimension::TemperatureDifference,
        Dimension::Pressure,
        Dimension::MassFlow,
        Dimension::StandardVolumeFlow,
        Dimension::Power,
        Dimension::Energy,
        Dimension::SpecificEnergy,
        Dimension::SpecificEntropy,
        Dimension::SpecificVolume,
        Dimension::Length,
        Dimension::Area,
        Dimension::Velocity,
        Dimension::Fraction,
        Dimension::Time,
        Dimension::Density,
        Dimension::PerEnergy,
    ];

    /// The SI unit every value of this dimension is returned in.
    pub fn si_unit(self) -> &'static str {
        match self {
            Dimension::Temperature | Dimension::TemperatureDifference => "K",
            Dimension::Pressure => "Pa",
            Dimension::MassFlow => "kg/s",
            Dimension::StandardVolumeFlow => "mol/s",
            Dimension::Power => "W",
            Dimension::Energy => "J",
            Dimension::SpecificEnergy => "J/kg",
            Dimension::SpecificEntropy => "J/(kg K)",
            Dimension::SpecificVolume => "m3/kg",
            Dimension::Length => "m",
            Dimension::Area => "m2",
            Dimension::Velocity => "m/s",
            Dimension::Fraction => "1",
            Dimension::Time => "s",
            Dimension::Density => "kg/m3",
            Dimension::PerEnergy => "/J",
        }
    }

    /// A snake_case code, for documents (`temperature_difference`).
    pub fn code(self) -> &'static str {
        match self {
            Dimension::Temperature => "temperature",
            Dimension::TemperatureDifference => "temperature_difference",
            Dimension::Pressure => "pressure",
            Dimension::MassFlow => "mass_flow",
            Dimension::StandardVolumeFlow => "standard_volume_flow",
            Dimension::Power => "power",
            Dimension::Energy => "energy",
            Dimension::SpecificEnergy => "specific_energy",
            Dimension::SpecificEntropy => "specific_entropy",
            Dimension::SpecificVolume => "specific_volume",
            Dimension::Length => "length",
            Dimension::Area => "area",
            Dimension::Velocity => "velocity",
            Dimension::Fraction => "fraction",
            Dimension::Time => "time",
            Dimension::Density => "density",
            Dimension::PerEnergy => "amount_per_energy",
        }
    }

    /// The dimension of a [`Dimension::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }
}

impl fmt::Display for Dimension {
    /// A lower-case English name, for messages (the code with spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code().replace('_', " "))
    }
}

/// How a value in a unit maps to SI.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// SI = value × factor.
    Scale(f64),
    /// SI = (value + offset) × factor: temperature scales with a shifted zero.
    Affine { offset: f64, factor: f64 },
    /// SI = value × factor + ambient pressure: gauge pressure.
    Gauge(f64),
}

/// One accepted unit: its canonical symbol, other spellings, dimension and rule.
struct Unit {
    symbol: &'static str,
    aliases: &'static [&'static str],
    dimension: Dimension,
    rule: Rule,
}

/// A unit that is a plain multiple of the SI unit.
const fn scale(
    dimension: Dimension,
    symbol: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
) -> Unit {
    Unit {
        symbol,
        aliases,
        dimension,
        rule: Rule::Scale(factor),
    }
}

/// A temperature scale whose zero differs from absolute zero.
const fn affine(
    symbol: &'static str,
    aliases: &'static [&'static str],
    offset: f64,
    factor: f64,
) -> Unit {
    Unit {
        symbol,
        aliases,
        dimension: Dimension::Temperature,
        rule: Rule::Affine { offset, factor },
    }
}

/// A gauge pressure unit, read relative to the ambient pressure.
const fn gauge(symbol: &'static str, aliases: &'static [&'static str], factor: f64) -> Unit {
    Unit {
        symbol,
        aliases,
        dimension: Dimension::Pressure,
        rule: Rule::Gauge(factor),
    }
}

/// The unit table; the SI unit of each dimension comes first. Aliases are matched after
/// [`normalize`], so spacing, parentheses, `°`, `deg`, `·` and superscripts need no entries.
static UNITS: &[Unit] = &[
    affine("K", &[], 0.0, 1.0),
    affine("°C", &[], CELSIUS_OFFSET_K, 1.0),
    affine("°F", &[], RANKINE_OFFSET_F, FAHRENHEIT_DEGREE_K),
    affine("°R", &[], 0.0, FAHRENHEIT_DEGREE_K),
    scale(D::TemperatureDifference, "K", &[], 1.0),
    scale(D::TemperatureDifference, "°C", &[], 1.0),
    scale(D::TemperatureDifference, "°F", &[], FAHRENHEIT_DEGREE_K),
    scale(D::TemperatureDifference, "°R", &[], FAHRENHEIT_DEGREE_K),
    scale(D::Pressure, "Pa", &["Pa(a)"], 1.0),
    scale(D::Pressure, "kPa", &["kPa(a)"], 1.0e3),
    scale(D::Pressure, "MPa", &["MPa(a)"], 1.0e6),
    scale(D::Pressure, "bar", &["bar(a)"], 1.0e5),
    scale(D::Pressure, "mbar", &["mbar(a)"], 1.0e2),
    scale(D::Pressure, "atm", &[], STANDARD_ATMOSPHERE_PA),
    scale(D::Pressure, "psia", &["psi(a)"], PSI_PA),
    scale(D::Pressure, "kgf/cm2(a)", &["kg/cm2(a)"], KGF_PER_CM2_PA),
    scale(D::Pressure, "mmHg", &[], MM_HG_PA),
    scale(D::Pressure, "inHg", &[], IN_HG_PA),
    gauge("kPa(g)", &[], 1.0e3),
    gauge("MPa(g)", &[], 1.0e6),
    gauge("bar(g)", &[], 1.0e5),
    gauge("mbar(g)", &[], 1.0e2),
    gauge("psig", &["psi(g)"], PSI_PA),
    gauge("kgf/cm2(g)", &["kg/cm2(g)"], KGF_PER_CM2_PA),
    scale(D::MassFlow, "kg/s", &[], 1.0),
    scale(D::MassFlow, "g/s", &[], 1.0e-3),
    scale(D::MassFlow, "kg/min", &[], 1.0 / MINUTE_S),
    scale(D::MassFlow, "kg/h", &[], 1.0 / HOUR_S),
    scale(D::MassFlow, "t/h", &["tonne/h"], 1.0e3 / HOUR_S),
    scale(D::MassFlow, "t/d", &["tonne/d"], 1.0e3 / DAY_S),
    scale(D::MassFlow, "lb/s", &[], POUND_KG),
    scale(D::MassFlow, "lb/min", &[], POUND_KG / MINUTE_S),
    scale(D::MassFlow, "lb/h", &["pph"], POUND_KG / HOUR_S),
    scale(D::MassFlow, "klb/h", &["kpph"], 1.0e3 * POUND_KG / HOUR_S),
    scale(D::StandardVolumeFlow, "mol/s", &[], 1.0),
    scale(D::StandardVolumeFlow, "kmol/s", &[], 1.0e3),
    scale(D::StandardVolumeFlow, "kmol/h", &[], 1.0e3 / HOUR_S),
    scale(
        D::StandardVolumeFlow,
        "lbmol/h",
        &[],
        1.0e3 * POUND_KG / HOUR_S,
    ),
    scale(D::StandardVolumeFlow, "Nm3/s", &[], NORMAL_M3_MOL),
    scale(D::StandardVolumeFlow, "Nm3/h", &[], NORMAL_M3_MOL / HOUR_S),
    scale(D::StandardVolumeFlow, "Nm3/d", &[], NORMAL_M3_MOL / DAY_S),
    scale(D::StandardVolumeFlow, "Sm3/s", &[], STANDARD_M3_MOL),
    scale(
        D::StandardVolumeFlow,
        "Sm3/h",
        &[],
        STANDARD_M3_MOL / HOUR_S,
    ),
    scale(D::StandardVolumeFlow, "Sm3/d", &[], STANDARD_M3_MOL / DAY_S),
    scale(
        D::StandardVolumeFlow,
        "scf/min",
        &["scfm", "SCFM"],
        SCF_MOL / MINUTE_S,
    ),
    scale(
        D::StandardVolumeFlow,
        "scf/h",
        &["scfh", "SCFH"],
        SCF_MOL / HOUR_S,
    ),
    scale(
        D::StandardVolumeFlow,
        "scf/d",
        &["scfd", "SCFD"],
        SCF_MOL / DAY_S,
    ),
    scale(
        D::StandardVolumeFlow,
        "MMscf/d",
        &["MMscfd", "MMSCFD"],
        1.0e6 * SCF_MOL / DAY_S,
    ),
    scale(D::Power, "W", &[], 1.0),
    scale(D::Power, "kW", &[], 1.0e3),
    scale(D::Power, "MW", &[], 1.0e6),
    scale(D::Power, "GW", &[], 1.0e9),
    scale(D::Power, "kJ/h", &[], 1.0e3 / HOUR_S),
    scale(D::Power, "MJ/h", &[], 1.0e6 / HOUR_S),
    scale(D::Power, "GJ/h", &[], 1.0e9 / HOUR_S),
    scale(D::Power, "Btu/h", &[], BTU_J / HOUR_S),
    scale(D::Power, "kBtu/h", &[], 1.0e3 * BTU_J / HOUR_S),
    scale(D::Power, "MMBtu/h", &[], 1.0e6 * BTU_J / HOUR_S),
    scale(D::Power, "kcal/h", &[], 1.0e3 * CALORIE_J / HOUR_S),
    scale(D::Power, "Mcal/h", &[], 1.0e6 * CALORIE_J / HOUR_S),
    scale(D::Power, "Gcal/h", &[], 1.0e9 * CALORIE_J / HOUR_S),
    scale(D::Power, "hp", &[], HORSEPOWER_W),
    scale(D::Power, "boiler hp", &["BoHP"], BOILER_HORSEPOWER_W),
    scale(D::Energy, "J", &[], 1.0),
    scale(D::Energy, "kJ", &[], 1.0e3),
    scale(D::Energy, "MJ", &[], 1.0e6),
    scale(D::Energy, "GJ", &[], 1.0e9),
    scale(D::Energy, "TJ", &[], 1.0e12),
    scale(D::Energy, "Wh", &[], HOUR_S),
    scale(D::Energy, "kWh", &[], 1.0e3 * HOUR_S),
    scale(D::Energy, "MWh", &[], 1.0e6 * HOUR_S),
    scale(D::Energy, "GWh", &[], 1.0e9 * HOUR_S),
    scale(D::Energy, "Btu", &[], BTU_J),
    scale(D::Energy, "kBtu", &[], 1.0e3 * BTU_J),
    scale(D::Energy, "MMBtu", &[], 1.0e6 * BTU_J),
    scale(D::Energy, "therm", &[], 1.0e5 * BTU_J),
    scale(D::Energy, "kcal", &[], 1.0e3 * CALORIE_J),
    scale(D::Energy, "Mcal", &[], 1.0e6 * CALORIE_J),
    scale(D::Energy, "Gcal", &[], 1.0e9 * CALORIE_J),
    scale(D::SpecificEnergy, "J/kg", &[], 1.0),
    scale(D::SpecificEnergy, "kJ/kg", &[], 1.0e3),
    scale(D::SpecificEnergy, "MJ/kg", &[], 1.0e6),
    scale(D::SpecificEnergy, "kWh/kg", &[], 1.0e3 * HOUR_S),
    scale(D::SpecificEnergy, "Btu/lb", &[], BTU_J / POUND_KG),
    scale(D::SpecificEnergy, "kcal/kg", &[], 1.0e3 * CALORIE_J),
    scale(
        D::SpecificEntropy,
        "J/(kg K)",
        &["J/kg/K", "J/(kg °C)", "J/kg/°C"],
        1.0,
    ),
    scale(
        D::SpecificEntropy,
        "kJ/(kg K)",
        &["kJ/kg/K", "kJ/(kg °C)", "kJ/kg/°C"],
        1.0e3,
    ),
    scale(
        D::SpecificEntropy,
        "Btu/(lb °F)",
        &["Btu/lb/°F", "Btu/(lb °R)", "Btu/lb/°R"],
        BTU_J / (POUND_KG * FAHRENHEIT_DEGREE_K),
    ),
    scale(
        D::SpecificEntropy,
        "kcal/(kg K)",
        &["kcal/kg/K", "kcal/(kg °C)", "kcal/kg/°C"],
        1.0e3 * CALORIE_J,
    ),
    scale(D::SpecificVolume, "m3/kg", &[], 1.0),
    scale(D::SpecificVolume, "L/kg", &["l/kg", "dm3/kg"], 1.0e-3),
    scale(D::SpecificVolume, "cm3/g", &[], 1.0e-3),
    scale(
        D::SpecificVolume,
        "ft3/lb",
        &[],
        FOOT_M * FOOT_M * FOOT_M / POUND_KG,
    ),
    scale(D::Density, "kg/m3", &[], 1.0),
    scale(D::Density, "g/cm3", &[], 1.0e3),
    scale(D::Density, "kg/L", &["kg/l", "kg/dm3"], 1.0e3),
    scale(D::Density, "g/L", &["g/l"], 1.0),
    scale(
        D::Density,
        "lb/ft3",
        &[],
        POUND_KG / (FOOT_M * FOOT_M * FOOT_M),
    ),
    scale(D::PerEnergy, "/J", &["per J"], 1.0),
    scale(D::PerEnergy, "/MJ", &["per MJ"], 1.0e-6),
    scale(D::PerEnergy, "/GJ", &["per GJ"], 1.0e-9),
    scale(D::PerEnergy, "/kWh", &["per kWh"], 1.0 / (1.0e3 * HOUR_S)),
    scale(D::PerEnergy, "/MWh", &["per MWh"], 1.0 / (1.0e6 * HOUR_S)),
    scale(
        D::PerEnergy,
        "/MMBtu",
        &["per MMBtu"],
        1.0 / (1.0e6 * BTU_J),
    ),
    scale(
        D::PerEnergy,
        "/therm",
        &["per therm"],
        1.0 / (1.0e5 * BTU_J),
    ),
    scale(D::Length, "m", &[], 1.0),
    scale(D::Length, "km", &[], 1.0e3),
    scale(D::Length, "cm", &[], 1.0e-2),
    scale(D::Length, "mm", &[], 1.0e-3),
    scale(D::Length, "in", &[], INCH_M),
    scale(D::Length, "ft", &[], FOOT_M),
    scale(D::Area, "m2", &[], 1.0),
    scale(D::Area, "cm2", &[], 1.0e-4),
    scale(D::Area, "mm2", &[], 1.0e-6),
    scale(D::Area, "in2", &["sq in"], INCH_M * INCH_M),
    scale(D::Area, "ft2", &["sq ft"], FOOT_M * FOOT_M),
    scale(D::Velocity, "m/s", &[], 1.0),
    scale(D::Velocity, "m/min", &[], 1.0 / MINUTE_S),
    scale(D::Velocity, "km/h", &[], 1.0e3 / HOUR_S),
    scale(D::Velocity, "ft/s", &["fps"], FOOT_M),
    scale(D::Velocity, "ft/min", &["fpm"], FOOT_M / MINUTE_S),
    scale(D::Fraction, "1", &[""], 1.0),
    scale(D::Fraction, "%", &[], 1.0e-2),
    scale(D::Fraction, "ppm", &[], 1.0e-6),
    scale(D::Time, "s", &[], 1.0),
    scale(D::Time, "min", &[], MINUTE_S),
    scale(D::Time, "h", &[], HOUR_S),
    scale(D::Time, "d", &[], DAY_S),
];

/// Spellings refused because plant practice gives them two meanings, with what to write.
static AMBIGUOUS: &[(&[&str], &str)] = &[
    (
        &["psi"],
        "is ambiguous (absolute or gauge?): write psia or psig",
    ),
    (
        &["kgf/cm2", "kg/cm2"],
        "is ambiguous (absolute or gauge?): write kgf/cm2(a) or kgf/cm2(g)",
    ),
    (
        &[
            "MBtu", "MBtu/h", "MBH", "Mscf/d", "Mscfd", "Mscf/h", "Mscfh", "Mscf/min",
        ],
        "is ambiguous (M is 1000 in US practice but 10^6 in SI): write kBtu, MMBtu or MMscf",
    ),
    (
        &["bhp", "BHP"],
        "is ambiguous (boiler or brake horsepower?): write \"boiler hp\" or hp",
    ),
    (
        &["ton/h", "tons/h", "ton/d", "tons/d", "tph", "TPH"],
        "is ambiguous (metric, short or long ton?): write t/h for tonnes, or lb/h",
    ),
];

/// Reduces a unit spelling to a comparison key: drops spaces, parentheses, degree signs
/// and multiplication dots, turns superscripts into digits and folds common variants
/// (`hr`, `lbs`, `BTU`, `deg`) so "kJ/(kg·K)", "kJ/kg K" and "kJ/kgK" compare equal.
fn normalize(unit: &str) -> String {
    let mut key = String::with_capacity(unit.len());
    for c in unit.chars() {
        match c {
            ' ' | '\t' | '(' | ')' | '°' | 'º' | '·' | '⋅' | '*' | '.' | '-' | '_' | '^' => {}
            '³' => key.push('3'),
            '²' => key.push('2'),
            '℃' => key.push('C'),
            '℉' => key.push('F'),
            other => key.push(other),
        }
    }
    key.replace("BTU", "Btu")
        .replace("btu", "Btu")
        .replace("lbs", "lb")
        .replace("lbm", "lb")
        .replace("hr", "h")
        .replace("sec", "s")
        .replace("deg", "")
}

/// The canonical symbols accepted for `dim`, in table order.
pub fn accepted_units(dim: Dimension) -> Vec<&'static str> {
    UNITS
        .iter()
        .filter(|u| u.dimension == dim)
        .map(|u| u.symbol)
        .collect()
}

fn matches(unit: &Unit, key: &str) -> bool {
    normalize(unit.symbol) == key || unit.aliases.iter().any(|a| normalize(a) == key)
}

/// The dimension of `unit`, the first in table order that accepts it (a temperature scale
/// reads as a temperature, not a difference); `None` for an unknown unit.
pub fn dimension_of(unit: &str) -> Option<Dimension> {
    let key = normalize(unit);
    UNITS.iter().find(|u| matches(u, &key)).map(|u| u.dimension)
}

/// Whether `unit` is a gauge pressure unit (`bar(g)`, `psig`): read relative to the ambient.
pub fn is_gauge(unit: &str) -> bool {
    lookup(unit, Dimension::Pressure).is_ok_and(|u| matches!(u.rule, Rule::Gauge(_)))
}

/// Finds `unit` among the units of `dim`, or explains why it is not there.
fn lookup(unit: &str, dim: Dimension) -> Result<&'static Unit> {
    let key = normalize(unit);
    if let Some(found) = UNITS
        .iter()
        .find(|u| u.dimension == dim && matches(u, &key))
    {
        return Ok(found);
    }
    let accepted = accepted_units(dim).join(", ");
    if key.is_empty() {
        return Err(Error::invalid(
            "unit",
            format!("a {dim} needs a unit; accepted: {accepted}"),
        ));
    }
    if let Some((_, why)) = AMBIGUOUS
        .iter()
        .find(|(names, _)| names.iter().any(|n| normalize(n) == key))
    {
        return Err(Error::invalid("unit", format!("\"{unit}\" {why}")));
    }
    if let Some(other) = UNITS.iter().find(|u| matches(u, &key)) {
        return Err(Error::invalid(
            "unit",
            format!(
                "\"{unit}\" is a unit of {}, but a {dim} is expected; accepted: {accepted}",
                other.dimension
            ),
        ));
    }
    let folded = key.to_lowercase();
    if let Some(near) = UNITS
        .iter()
        .find(|u| u.dimension == dim && normalize(u.symbol).to_lowercase() == folded)
    {
        return Err(Error::invalid(
            "unit",
            format!(
                "unknown {dim} unit \"{unit}\"; did you mean \"{}\"? Unit symbols are \
                 case-sensitive (M is mega, m is milli)",
                near.symbol
            ),
        ));
    }
    Err(Error::invalid(
        "unit",
        format!("unknown {dim} unit \"{unit}\"; accepted: {accepted}"),
    ))
}

fn ambient(ambient_pressure_pa: f64) -> Result<f64> {
    if ambient_pressure_pa.is_finite() && ambient_pressure_pa > 0.0 {
        Ok(ambient_pressure_pa)
    } else {
        Err(Error::invalid(
            "ambient_pressure",
            format!(
                "{ambient_pressure_pa} Pa is not a positive absolute pressure, so a gauge \
                 reading cannot be made absolute"
            ),
        ))
    }
}

/// Refuses SI values that no absolute temperature or pressure can have.
fn physical(dim: Dimension, si: f64, shown: impl fmt::Display) -> Result<f64> {
    let si = finite("value", si)?;
    match dim {
        Dimension::Temperature if si <= 0.0 => Err(Error::invalid(
            "value",
            format!("{shown}: {si} K is at or below absolute zero"),
        )),
        Dimension::Pressure if si <= 0.0 => Err(Error::invalid(
            "value",
            format!("{shown}: {si} Pa is not a positive absolute pressure"),
        )),
        _ => Ok(si),
    }
}

/// A value given in `unit` as SI (the unit of [`Dimension::si_unit`]); gauge pressure units
/// add `ambient_pressure_pa` (Pa, absolute), which is ignored for every other unit.
pub fn convert(value: f64, unit: &str, dim: Dimension, ambient_pressure_pa: f64) -> Result<f64> {
    let value = finite("value", value)?;
    let found = lookup(unit, dim)?;
    let si = match found.rule {
        Rule::Scale(factor) => value * factor,
        Rule::Affine { offset, factor } => (value + offset) * factor,
        Rule::Gauge(factor) => value * factor + ambient(ambient_pressure_pa)?,
    };
    physical(dim, si, format_args!("{value} {}", found.symbol))
}

/// An SI value expressed in `unit`, the inverse of [`convert`]; gauge units subtract
/// `ambient_pressure_pa` (Pa, absolute).
pub fn from_si(value_si: f64, unit: &str, dim: Dimension, ambient_pressure_pa: f64) -> Result<f64> {
    let si = physical(dim, value_si, format_args!("{value_si} {}", dim.si_unit()))?;
    let found = lookup(unit, dim)?;
    let value = match found.rule {
        Rule::Scale(factor) => si / factor,
        Rule::Affine { offset, factor } => si / factor - offset,
        Rule::Gauge(factor) => (si - ambient(ambient_pressure_pa)?) / factor,
    };
    finite("value", value)
}

/// Splits leading text into a decimal number (sign, digits, point, exponent) and the rest.
fn split_number(text: &str) -> Option<(String, &str)> {
    let (sign, body) = if let Some(body) = text.strip_prefix('\u{2212}') {
        ("-", body)
    } else if let Some(body) = text.strip_prefix('-') {
        ("-", body)
    } else {
        ("", text.strip_prefix('+').unwrap_or(text))
    };
    let bytes = body.as_bytes();
    let mut end = 0;
    let mut digits = 0;
    let mut point = false;
    while let Some(&b) = bytes.get(end) {
        if b.is_ascii_digit() {
            digits += 1;
        } else if b == b'.' && !point {
            point = true;
        } else {
            break;
        }
        end += 1;
    }
    if digits == 0 {
        return None;
    }
    end += exponent(&body[end..]).unwrap_or(0);
    Some((format!("{sign}{}", &body[..end]), &body[end..]))
}

/// Length of an exponent (`e-3`, `E+05`) at the start of `rest`, if there is one.
fn exponent(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    if !matches!(bytes.first(), Some(b'e' | b'E')) {
        return None;
    }
    let mut i = 1;
    if matches!(bytes.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    (i > start).then_some(i)
}

/// Parses "number unit" text ("3 MPa", "150psig", "350 °F", "1000 Nm³/h", "3 %") into the
/// SI value of `dim`; gauge units add `ambient_pressure_pa` (Pa, absolute).
pub fn parse_quantity(text: &str, dim: Dimension, ambient_pressure_pa: f64) -> Result<f64> {
    let trimmed = text.trim();
    let Some((number, rest)) = split_number(trimmed) else {
        return Err(Error::invalid(
            "value",
            format!("\"{text}\" does not start with a number"),
        ));
    };
    if rest.starts_with([',', '.']) || rest.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(
            "value",
            format!(
                "\"{text}\" is not a plain number: use '.' as the decimal point and no \
                 thousands separators"
            ),
        ));
    }
    let value: f64 = number.parse().map_err(|_| {
        Error::invalid(
            "value",
            format!("\"{number}\" in \"{text}\" is not a number"),
        )
    })?;
    convert(value, rest.trim(), dim, ambient_pressure_pa)
}
