//! Fuels: definitions by gas composition or ultimate analysis, heating values, a library of
//! standard fuels.
//!
//! A [`Fuel`] is reduced to its elemental composition per kg as fired ([`Elemental`]), which is
//! all that combustion needs, plus its gross (HHV) and net (LHV) heating values with their
//! origin: the ISO 6976:2016 component table for gases, the Channiwala–Parikh (2002)
//! correlation for solids and liquids, or a value stated by the user. The net value follows
//! from the gross one by the latent heat of the water formed and carried, so the two bases
//! never disagree. Formulas and sources: `docs/METHODS.md`, "Fuels and combustion".

mod components;
pub mod library;

pub use components::GasComponent;
pub(crate) use components::{M_AR, M_C, M_H, M_H2O, M_HE, M_N, M_O, M_S};
pub use library::{standard, standard_ids};

use crate::error::{Error, Result};
use crate::quantity::Fraction;

/// Enthalpy of vaporization of water at 25 °C, J/kg (IAPWS-95 saturation table at
/// 298.15 K: h'' − h' = 2546.5 − 104.8 kJ/kg; IF97 agrees within 0.01 %).
pub const H_FG_25C: f64 = 2_441_700.0;

/// Tolerance on the sum of ultimate-analysis mass fractions.
const MASS_SUM_TOLERANCE: f64 = 1e-6;
/// Tolerance on the sum of gas mole fractions before normalisation.
const MOLE_SUM_TOLERANCE: f64 = 1e-4;

/// The physical state in which a fuel is fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuelKind {
    /// A gaseous fuel defined by its mole fractions.
    Gas,
    /// A liquid fuel (oils) defined by its ultimate analysis.
    Liquid,
    /// A solid fuel (coal, biomass) defined by its ultimate analysis.
    Solid,
}

/// Where a heating value comes from; reported with every result that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatingValueOrigin {
    /// Summed from the ISO 6976:2016 Table 3 component values (gases).
    ComponentTable,
    /// Estimated from the ultimate analysis by the Channiwala–Parikh (2002) correlation.
    Correlation,
    /// Stated by the user (laboratory or supplier value).
    Stated,
    /// Derived from the other, stated, heating value by the latent heat of water at 25 °C.
    FromOtherBasis,
}

/// Elemental composition of a fuel as fired, kg per kg of fuel. Sums to 1.
///
/// Oxygen is the oxygen bound in the fuel (including that of fuel CO2 and O2 for gases);
/// moisture is free water (liquid for solids and liquids, vapour for gases) and is not
/// counted in `h` or `o`. Argon and helium are the inert monatomic gases of a gaseous fuel.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Elemental {
    /// Carbon, kg/kg fuel.
    pub c: f64,
    /// Hydrogen (excluding that of moisture), kg/kg fuel.
    pub h: f64,
    /// Bound oxygen (excluding that of moisture), kg/kg fuel.
    pub o: f64,
    /// Nitrogen, kg/kg fuel.
    pub n: f64,
    /// Sulfur, kg/kg fuel.
    pub s: f64,
    /// Free water, kg/kg fuel.
    pub moisture: f64,
    /// Ash (incombustible solid residue), kg/kg fuel.
    pub ash: f64,
    /// Argon, kg/kg fuel.
    pub argon: f64,
    /// Helium, kg/kg fuel.
    pub helium: f64,
}

impl Elemental {
    /// Water formed by burning the fuel's hydrogen, kg/kg fuel: h · M_H2O / (2 M_H).
    pub fn water_from_hydrogen(&self) -> f64 {
        self.h * M_H2O / (2.0 * M_H)
    }

    /// All water leaving with the flue gas from the fuel (formed plus moisture), kg/kg fuel.
    pub fn total_water(&self) -> f64 {
        self.water_from_hydrogen() + self.moisture
    }
}

/// Ultimate analysis AS FIRED: mass fractions, kg/kg, summing to 1 within 1e-6.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UltimateAnalysis {
    /// Carbon, kg/kg.
    pub carbon: f64,
    /// Hydrogen (excluding moisture), kg/kg.
    pub hydrogen: f64,
    /// Oxygen (excluding moisture), kg/kg.
    pub oxygen: f64,
    /// Nitrogen, kg/kg.
    pub nitrogen: f64,
    /// Sulfur, kg/kg.
    pub sulfur: f64,
    /// Total moisture, kg/kg.
    pub moisture: f64,
    /// Ash, kg/kg.
    pub ash: f64,
}

/// Ultimate analysis on a DRY basis: mass fractions, kg/kg dry fuel, summing to 1 within 1e-6.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DryAnalysis {
    /// Carbon, kg/kg dry.
    pub carbon: f64,
    /// Hydrogen, kg/kg dry.
    pub hydrogen: f64,
    /// Oxygen, kg/kg dry.
    pub oxygen: f64,
    /// Nitrogen, kg/kg dry.
    pub nitrogen: f64,
    /// Sulfur, kg/kg dry.
    pub sulfur: f64,
    /// Ash, kg/kg dry.
    pub ash: f64,
}

fn check_fraction(field: &str, value: f64) -> Result<f64> {
    if !value.is_finite() || !(0.0..=1.0).contains(&value) {
        return Err(Error::invalid(
            field,
            format!("{value} is not a mass fraction in 0..1"),
        ));
    }
    Ok(value)
}

fn check_sum(sum: f64) -> Result<()> {
    if (sum - 1.0).abs() > MASS_SUM_TOLERANCE {
        return Err(Error::invalid(
            "sum",
            format!("mass fractions sum to {sum}, not 1 (tolerance {MASS_SUM_TOLERANCE})"),
        ));
    }
    Ok(())
}

impl DryAnalysis {
    fn validate(&self) -> Result<()> {
        let parts = [
            ("carbon", self.carbon),
            ("hydrogen", self.hydrogen),
            ("oxygen", self.oxygen),
            ("nitrogen", self.nitrogen),
            ("sulfur", self.sulfur),
            ("ash", self.ash),
        ];
        let mut sum = 0.0;
        for (field, value) in parts {
            sum += check_fraction(field, value)?;
        }
        check_sum(sum)
    }
}

impl UltimateAnalysis {
    /// The as-fired analysis of a dry-basis analysis wetted to `moisture` (kg water/kg as
    /// fired): every dry fraction is scaled by (1 − moisture).
    pub fn from_dry(dry: DryAnalysis, moisture: Fraction) -> Result<Self> {
        dry.validate()?;
        let m = moisture.value();
        if m >= 1.0 {
            return Err(Error::invalid("moisture", "a fuel cannot be all water"));
        }
        let k = 1.0 - m;
        Ok(Self {
            carbon: dry.carbon * k,
            hydrogen: dry.hydrogen * k,
            oxygen: dry.oxygen * k,
            nitrogen: dry.nitrogen * k,
            sulfur: dry.sulfur * k,
            moisture: m,
            ash: dry.ash * k,
        })
    }

    /// Checks every fraction is in 0..1 and that they sum to 1 within 1e-6.
    pub fn validate(&self) -> Result<()> {
        let parts = [
            ("carbon", self.carbon),
            ("hydrogen", self.hydrogen),
            ("oxygen", self.oxygen),
            ("nitrogen", self.nitrogen),
            ("sulfur", self.sulfur),
            ("moisture", self.moisture),
            ("ash", self.ash),
        ];
        let mut sum = 0.0;
        for (field, value) in parts {
            sum += check_fraction(field, value)?;
        }
        check_sum(sum)
    }
}

/// A heating value given by the user, J/kg as fired, on the basis it was measured on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatedHeatingValue {
    /// Gross (higher) heating value, J/kg as fired.
    Gross(f64),
    /// Net (lower) heating value at constant pressure, J/kg as fired.
    Net(f64),
}

/// A fuel ready for combustion calculations. Built only by the constructors, which check it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fuel {
    name: String,
    kind: FuelKind,
    elemental: Elemental,
    hhv: f64,
    lhv: f64,
    hhv_origin: HeatingValueOrigin,
    lhv_origin: HeatingValueOrigin,
    gas: Option<GasMixture>,
}

/// Mole fractions and molar mass of a gaseous fuel.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GasMixture {
    mole_fractions: [f64; GasComponent::COUNT],
    molar_mass: f64,
}

// Channiwala & Parikh (2002), Fuel 81:1051, section 5: validity range of the unified
// correlation, mass % dry basis (carbon, hydrogen, oxygen, nitrogen, sulfur, ash).
const CP_RANGE: [(&str, f64, f64); 6] = [
    ("carbon", 0.0, 92.25),
    ("hydrogen", 0.43, 25.15),
    ("oxygen", 0.0, 50.0),
    ("nitrogen", 0.0, 5.6),
    ("sulfur", 0.0, 94.08),
    ("ash", 0.0, 71.4),
];

/// Channiwala–Parikh HHV, J/kg as fired, applied on the dry basis and scaled by (1 − moisture).
fn channiwala_parikh_hhv(a: &UltimateAnalysis) -> Result<f64> {
    let dry = 1.0 - a.moisture;
    if dry <= 0.0 {
        return Err(Error::invalid("moisture", "a fuel cannot be all water"));
    }
    let pct = |x: f64| 100.0 * x / dry;
    let values = [
        pct(a.carbon),
        pct(a.hydrogen),
        pct(a.oxygen),
        pct(a.nitrogen),
        pct(a.sulfur),
        pct(a.ash),
    ];
    for ((field, lo, hi), v) in CP_RANGE.iter().zip(values) {
        if v < lo - 1e-9 || v > hi + 1e-9 {
            return Err(Error::out_of_range(
                *field,
                format!(
                    "{v:.3} % (dry) is outside the {lo}..{hi} % validity range of the \
                     Channiwala-Parikh correlation; state the heating value instead"
                ),
            ));
        }
    }
    let [c, h, o, n, s, ash] = values;
    let hhv_dry_mj = 0.3491 * c + 1.1783 * h + 0.1005 * s - 0.1034 * o - 0.0151 * n - 0.0211 * ash;
    Ok(hhv_dry_mj * 1e6 * dry)
}

fn check_heating_value(field: &str, value: f64) -> Result<f64> {
    if !value.is_finite() || value <= 0.0 {
        return Err(Error::invalid(
            field,
            format!("{value} J/kg is not a positive heating value"),
        ));
    }
    Ok(value)
}

impl Fuel {
    /// A gaseous fuel from mole fractions; they must sum to 1 within 1e-4 and are normalised.
    /// Heating values are summed from ISO 6976:2016 Table 3 (ideal gas, 25 °C).
    pub fn gas(name: &str, composition: &[(GasComponent, f64)]) -> Result<Fuel> {
        let mut x = [0.0; GasComponent::COUNT];
        let mut listed = [false; GasComponent::COUNT];
        let mut sum = 0.0;
        for &(component, fraction) in composition {
            if !fraction.is_finite() || !(0.0..=1.0).contains(&fraction) {
                return Err(Error::invalid(
                    component.name(),
                    format!("{fraction} is not a mole fraction in 0..1"),
                ));
            }
            let i = component.index();
            if listed[i] {
                return Err(Error::invalid(component.name(), "listed twice"));
            }
            listed[i] = true;
            x[i] = fraction;
            sum += fraction;
        }
        if (sum - 1.0).abs() > MOLE_SUM_TOLERANCE {
            return Err(Error::invalid(
                "sum",
                format!("mole fractions sum to {sum}, not 1 (tolerance {MOLE_SUM_TOLERANCE})"),
            ));
        }
        for xi in &mut x {
            *xi /= sum;
        }

        let mut molar_mass = 0.0;
        let mut gross = 0.0;
        let mut net = 0.0;
        let mut e = Elemental::default();
        for component in GasComponent::ALL {
            let xi = x[component.index()];
            molar_mass += xi * component.molar_mass();
            gross += xi * component.molar_hhv();
            net += xi * component.molar_lhv();
            match component {
                GasComponent::Water => e.moisture += xi * M_H2O,
                GasComponent::Argon => e.argon += xi * M_AR,
                GasComponent::Helium => e.helium += xi * M_HE,
                _ => {
                    let [c, h, o, n, s] = component.atoms();
                    e.c += xi * f64::from(c) * M_C;
                    e.h += xi * f64::from(h) * M_H;
                    e.o += xi * f64::from(o) * M_O;
                    e.n += xi * f64::from(n) * M_N;
                    e.s += xi * f64::from(s) * M_S;
                }
            }
        }
        if gross - x[GasComponent::Water.index()] * GasComponent::Water.molar_hhv() <= 0.0 {
            return Err(Error::invalid(
                "composition",
                "the gas has no combustible component",
            ));
        }
        for v in [
            &mut e.c,
            &mut e.h,
            &mut e.o,
            &mut e.n,
            &mut e.s,
            &mut e.moisture,
            &mut e.argon,
            &mut e.helium,
        ] {
            *v /= molar_mass;
        }
        Ok(Fuel {
            name: name.to_string(),
            kind: FuelKind::Gas,
            elemental: e,
            hhv: gross / molar_mass,
            lhv: net / molar_mass,
            hhv_origin: HeatingValueOrigin::ComponentTable,
            lhv_origin: HeatingValueOrigin::ComponentTable,
            gas: Some(GasMixture {
                mole_fractions: x,
                molar_mass,
            }),
        })
    }

    /// A liquid or solid fuel from its as-fired ultimate analysis; HHV by the
    /// Channiwala–Parikh (2002) correlation (refused outside its validity range: use
    /// [`Fuel::ultimate_stated`] then), LHV from the HHV by the latent heat of water.
    pub fn ultimate(name: &str, kind: FuelKind, analysis: UltimateAnalysis) -> Result<Fuel> {
        let mut fuel = Self::from_analysis(name, kind, analysis)?;
        let hhv = channiwala_parikh_hhv(&analysis)?;
        fuel.set_gross(hhv, HeatingValueOrigin::Correlation)?;
        Ok(fuel)
    }

    /// A liquid or solid fuel from its as-fired ultimate analysis and a stated heating value;
    /// the other basis follows by the latent heat of water at 25 °C.
    pub fn ultimate_stated(
        name: &str,
        kind: FuelKind,
        analysis: UltimateAnalysis,
        heating_value: StatedHeatingValue,
    ) -> Result<Fuel> {
        let fuel = Self::from_analysis(name, kind, analysis)?;
        fuel.with_stated(heating_value)
    }

    /// The same fuel with a stated gross heating value, J/kg as fired; the LHV is derived
    /// from it by the latent heat of the water formed and carried.
    pub fn with_stated_hhv(self, hhv_j_per_kg: f64) -> Result<Fuel> {
        self.with_stated(StatedHeatingValue::Gross(hhv_j_per_kg))
    }

    /// The same fuel with a stated net heating value, J/kg as fired; the HHV is derived
    /// from it by the latent heat of the water formed and carried.
    pub fn with_stated_lhv(self, lhv_j_per_kg: f64) -> Result<Fuel> {
        self.with_stated(StatedHeatingValue::Net(lhv_j_per_kg))
    }

    fn with_stated(mut self, heating_value: StatedHeatingValue) -> Result<Fuel> {
        match heating_value {
            StatedHeatingValue::Gross(hhv) => {
                let hhv = check_heating_value("hhv", hhv)?;
                self.set_gross(hhv, HeatingValueOrigin::Stated)?;
            }
            StatedHeatingValue::Net(lhv) => {
                let lhv = check_heating_value("lhv", lhv)?;
                self.hhv = lhv + H_FG_25C * self.elemental.total_water();
                self.lhv = lhv;
                self.hhv_origin = HeatingValueOrigin::FromOtherBasis;
                self.lhv_origin = HeatingValueOrigin::Stated;
            }
        }
        Ok(self)
    }

    fn set_gross(&mut self, hhv: f64, origin: HeatingValueOrigin) -> Result<()> {
        let lhv = hhv - H_FG_25C * self.elemental.total_water();
        if lhv <= 0.0 {
            return Err(Error::inconsistent(
                "hhv",
                format!(
                    "{hhv} J/kg does not cover the latent heat of the fuel's water; the net \
                     heating value would be {lhv} J/kg"
                ),
            ));
        }
        self.hhv = hhv;
        self.lhv = lhv;
        self.hhv_origin = origin;
        self.lhv_origin = if origin == HeatingValueOrigin::Stated {
            HeatingValueOrigin::FromOtherBasis
        } else {
            origin
        };
        Ok(())
    }

    fn from_analysis(name: &str, kind: FuelKind, a: UltimateAnalysis) -> Result<Fuel> {
        if kind == FuelKind::Gas {
            return Err(Error::invalid(
                "kind",
                "a gaseous fuel is defined by its mole fractions (Fuel::gas)",
            ));
        }
        a.validate()?;
        if a.carbon + a.hydrogen + a.sulfur <= 0.0 {
            return Err(Error::invalid(
                "composition",
                "the fuel has no combustible element",
            ));
        }
        Ok(Fuel {
            name: name.to_string(),
            kind,
            elemental: Elemental {
                c: a.carbon,
                h: a.hydrogen,
                o: a.oxygen,
                n: a.nitrogen,
                s: a.sulfur,
                moisture: a.moisture,
                ash: a.ash,
                argon: 0.0,
                helium: 0.0,
            },
            hhv: 0.0,
            lhv: 0.0,
            hhv_origin: HeatingValueOrigin::Stated,
            lhv_origin: HeatingValueOrigin::Stated,
            gas: None,
        })
    }

    /// The fuel's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gas, liquid or solid.
    pub fn kind(&self) -> FuelKind {
        self.kind
    }

    /// Elemental composition, kg/kg as fired.
    pub fn elemental(&self) -> &Elemental {
        &self.elemental
    }

    /// Gross (higher) heating value, J/kg as fired, at 25 °C.
    pub fn hhv(&self) -> f64 {
        self.hhv
    }

    /// Net (lower) heating value at constant pressure, J/kg as fired, at 25 °C.
    pub fn lhv(&self) -> f64 {
        self.lhv
    }

    /// Where the HHV comes from.
    pub fn hhv_origin(&self) -> HeatingValueOrigin {
        self.hhv_origin
    }

    /// Where the LHV comes from.
    pub fn lhv_origin(&self) -> HeatingValueOrigin {
        self.lhv_origin
    }

    /// Molar mass of a gaseous fuel, kg/mol; `None` for liquids and solids.
    pub fn molar_mass(&self) -> Option<f64> {
        self.gas.map(|g| g.molar_mass)
    }

    /// Normalised mole fractions of a gaseous fuel, indexed by [`GasComponent::index`];
    /// `None` for liquids and solids.
    pub fn mole_fractions(&self) -> Option<&[f64; GasComponent::COUNT]> {
        self.gas.as_ref().map(|g| &g.mole_fractions)
    }

    /// Mole fraction of one component of a gaseous fuel; `None` for liquids and solids.
    pub fn mole_fraction(&self, component: GasComponent) -> Option<f64> {
        self.gas.map(|g| g.mole_fractions[component.index()])
    }
}
