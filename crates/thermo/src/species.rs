//! Ideal-gas properties of the flue-gas species from NASA 7-coefficient polynomials.
//!
//! Every species is an ideal gas in the NASA convention: enthalpy includes the enthalpy of
//! formation at 298.15 K (elements in their reference states have zero enthalpy there), and
//! the standard entropy is the absolute (third-law) entropy at p° = 1 bar. Coefficient sets,
//! ranges and their sources are listed in `docs/METHODS.md` (species section).
//!
//! For a given temperature each polynomial is evaluated once, without allocation, because the
//! boiler calculation calls the mixture helpers of [`Composition`] in its inner loop.

use crate::error::{Error, Result};
use crate::quantity::{Pressure, Temperature};

/// Universal (molar) gas constant, J/(mol K): exact since the 2019 SI redefinition
/// (CODATA 2018, N_A × k).
pub const R_UNIVERSAL: f64 = 8.314462618;

/// Standard-state pressure p° of the NASA and JANAF tables, Pa (1 bar).
pub const STANDARD_PRESSURE_PA: f64 = 100_000.0;

/// A flue-gas species.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Species {
    /// Nitrogen, N2.
    N2,
    /// Oxygen, O2.
    O2,
    /// Argon, Ar.
    Ar,
    /// Carbon dioxide, CO2.
    CO2,
    /// Water vapour, H2O (ideal gas).
    H2O,
    /// Sulphur dioxide, SO2.
    SO2,
    /// Carbon monoxide, CO.
    CO,
}

impl Species {
    /// All species, in the order of [`Species::index`].
    pub const ALL: [Species; 7] = [
        Species::N2,
        Species::O2,
        Species::Ar,
        Species::CO2,
        Species::H2O,
        Species::SO2,
        Species::CO,
    ];

    /// Molar mass, kg/mol, from the IUPAC 2013 standard atomic weights.
    pub fn molar_mass(self) -> f64 {
        use crate::elements::{M_AR as AR, M_C as C, M_H as H, M_N as N, M_O as O, M_S as S};
        match self {
            Species::N2 => 2.0 * N,
            Species::O2 => 2.0 * O,
            Species::Ar => AR,
            Species::CO2 => C + 2.0 * O,
            Species::H2O => 2.0 * H + O,
            Species::SO2 => S + 2.0 * O,
            Species::CO => C + O,
        }
    }

    /// The chemical formula, as used in reports ("CO2").
    pub fn name(self) -> &'static str {
        match self {
            Species::N2 => "N2",
            Species::O2 => "O2",
            Species::Ar => "Ar",
            Species::CO2 => "CO2",
            Species::H2O => "H2O",
            Species::SO2 => "SO2",
            Species::CO => "CO",
        }
    }

    /// Position of the species in [`Species::ALL`] and in [`Composition`].
    pub fn index(self) -> usize {
        match self {
            Species::N2 => 0,
            Species::O2 => 1,
            Species::Ar => 2,
            Species::CO2 => 3,
            Species::H2O => 4,
            Species::SO2 => 5,
            Species::CO => 6,
        }
    }

    fn polynomial(self) -> &'static Nasa7 {
        &NASA7[self.index()]
    }
}

/// One NASA 7-coefficient set: `low` applies on [t_min, t_mid], `high` on (t_mid, t_max].
/// Coefficients a1..a7 give cp/R = a1 + a2 T + a3 T² + a4 T³ + a5 T⁴, with a6 and a7 the
/// enthalpy and entropy integration constants.
struct Nasa7 {
    t_min: f64,
    t_mid: f64,
    t_max: f64,
    low: [f64; 7],
    high: [f64; 7],
}

/// Coefficients in the order of [`Species::ALL`]. N2, O2, Ar, CO2, H2O and CO: McBride,
/// Gordon & Reno, NASA TM-4513 (1993), 200–1000–6000 K. SO2: the 200–1000–6000 K set of the
/// Burcat–Ruscic Third Millennium database (ANL-05/20, 2005), because the TM-4513 SO2 set starts
/// at 300 K and ambient reference temperatures go below that. Sources and checks against
/// JANAF are in `docs/METHODS.md`.
#[rustfmt::skip]
static NASA7: [Nasa7; 7] = [
    // N2
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [3.53100528, -1.23660987e-4, -5.02999437e-7, 2.43530612e-9, -1.40881235e-12,
              -1046.97628, 2.96747468],
        high: [2.95257626, 1.39690057e-3, -4.92631691e-7, 7.86010367e-11, -4.60755321e-15,
               -923.948645, 5.87189252] },
    // O2
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [3.78245636, -2.99673415e-3, 9.847302e-6, -9.68129508e-9, 3.24372836e-12,
              -1063.94356, 3.65767573],
        high: [3.66096083, 6.56365523e-4, -1.41149485e-7, 2.05797658e-11, -1.29913248e-15,
               -1215.97725, 3.41536184] },
    // Ar
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [2.5, 0.0, 0.0, 0.0, 0.0, -745.375, 4.37967491],
        high: [2.5, 0.0, 0.0, 0.0, 0.0, -745.375, 4.37967491] },
    // CO2
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [2.35677352, 8.98459677e-3, -7.12356269e-6, 2.45919022e-9, -1.43699548e-13,
              -48371.9697, 9.90105222],
        high: [4.63659493, 2.74131991e-3, -9.95828531e-7, 1.60373011e-10, -9.16103468e-15,
               -49024.9341, -1.93534855] },
    // H2O
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [4.19864056, -2.0364341e-3, 6.52040211e-6, -5.48797062e-9, 1.77197817e-12,
              -30293.7267, -0.849032208],
        high: [2.67703787, 2.97318329e-3, -7.7376969e-7, 9.44336689e-11, -4.26900959e-15,
               -29885.8938, 6.88255571] },
    // SO2
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [3.67480752, 2.28302107e-3, 8.46893049e-6, -1.36562039e-8, 5.76271873e-12,
              -36945.5073, 7.96866430],
        high: [5.38423482, 1.67930560e-3, -6.32062944e-7, 1.08465348e-10, -6.66890336e-15,
               -37606.7022, -1.83130517] },
    // CO
    Nasa7 { t_min: 200.0, t_mid: 1000.0, t_max: 6000.0,
        low: [3.57953347, -6.1035368e-4, 1.01681433e-6, 9.07005884e-10, -9.04424499e-13,
              -14344.086, 3.50840928],
        high: [3.04848583, 1.35172818e-3, -4.85794075e-7, 7.88536486e-11, -4.69807489e-15,
               -14266.1171, 6.0170979] },
];

impl Nasa7 {
    /// The coefficient interval for `t`, K, or an out-of-range error naming the species.
    fn coefficients(&self, species: Species, t: f64) -> Result<&[f64; 7]> {
        if !(self.t_min..=self.t_max).contains(&t) {
            return Err(Error::out_of_range(
                "temperature",
                format!(
                    "{t} K is outside {}..{} K, the validity range of the NASA polynomial for {}",
                    self.t_min,
                    self.t_max,
                    species.name()
                ),
            ));
        }
        Ok(if t <= self.t_mid {
            &self.low
        } else {
            &self.high
        })
    }
}

fn cp_over_r(a: &[f64; 7], t: f64) -> f64 {
    a[0] + t * (a[1] + t * (a[2] + t * (a[3] + t * a[4])))
}

fn h_over_r(a: &[f64; 7], t: f64) -> f64 {
    t * (a[0] + t * (a[1] / 2.0 + t * (a[2] / 3.0 + t * (a[3] / 4.0 + t * a[4] / 5.0)))) + a[5]
}

fn s_over_r(a: &[f64; 7], t: f64) -> f64 {
    a[0] * t.ln() + t * (a[1] + t * (a[2] / 2.0 + t * (a[3] / 3.0 + t * a[4] / 4.0))) + a[6]
}

/// Ideal-gas isobaric molar heat capacity cp°, J/(mol K).
pub fn cp_molar(sp: Species, t: Temperature) -> Result<f64> {
    let t = t.kelvin();
    let a = sp.polynomial().coefficients(sp, t)?;
    Ok(R_UNIVERSAL * cp_over_r(a, t))
}

/// Molar enthalpy, J/mol, including the enthalpy of formation at 298.15 K (NASA convention).
pub fn enthalpy_molar(sp: Species, t: Temperature) -> Result<f64> {
    let t = t.kelvin();
    let a = sp.polynomial().coefficients(sp, t)?;
    Ok(R_UNIVERSAL * h_over_r(a, t))
}

/// Sensible enthalpy h(t) − h(t_ref), J/mol.
pub fn sensible_enthalpy_molar(sp: Species, t: Temperature, t_ref: Temperature) -> Result<f64> {
    Ok(enthalpy_molar(sp, t)? - enthalpy_molar(sp, t_ref)?)
}

/// Standard molar entropy s°(t) at p° = 1 bar, J/(mol K) (absolute, third-law).
pub fn entropy_molar_standard(sp: Species, t: Temperature) -> Result<f64> {
    let t = t.kelvin();
    let a = sp.polynomial().coefficients(sp, t)?;
    Ok(R_UNIVERSAL * s_over_r(a, t))
}

/// Amounts of each species in an ideal-gas mixture, mol, indexed by [`Species::index`].
///
/// Plain data on the stack: the mixture sums below allocate nothing and evaluate each
/// present species' polynomial once per temperature.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Composition(pub [f64; 7]);

impl Composition {
    /// Total amount Σ n_i, mol.
    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }

    /// Total mass Σ n_i M_i, kg.
    pub fn mass(&self) -> f64 {
        Species::ALL
            .iter()
            .map(|sp| self.0[sp.index()] * sp.molar_mass())
            .sum()
    }

    /// Sensible enthalpy Σ n_i (h_i(t) − h_i(t_ref)), J.
    pub fn sensible_enthalpy(&self, t: Temperature, t_ref: Temperature) -> Result<f64> {
        self.check_amounts()?;
        let (t, t_ref) = (t.kelvin(), t_ref.kelvin());
        let mut sum = 0.0;
        for sp in Species::ALL {
            let n = self.0[sp.index()];
            if n == 0.0 {
                continue;
            }
            let poly = sp.polynomial();
            let h = h_over_r(poly.coefficients(sp, t)?, t);
            let h_ref = h_over_r(poly.coefficients(sp, t_ref)?, t_ref);
            sum += n * (h - h_ref);
        }
        Ok(R_UNIVERSAL * sum)
    }

    /// Heat capacity at constant pressure Σ n_i cp_i(t), J/K.
    pub fn cp(&self, t: Temperature) -> Result<f64> {
        self.check_amounts()?;
        let t = t.kelvin();
        let mut sum = 0.0;
        for sp in Species::ALL {
            let n = self.0[sp.index()];
            if n == 0.0 {
                continue;
            }
            sum += n * cp_over_r(sp.polynomial().coefficients(sp, t)?, t);
        }
        Ok(R_UNIVERSAL * sum)
    }

    /// Ideal-mixture entropy Σ n_i (s_i°(t) − R ln(x_i p / p0)) over species with x_i > 0, J/K.
    ///
    /// s_i° is the 1 bar standard entropy, so `p0` = 100 kPa ([`STANDARD_PRESSURE_PA`]) gives
    /// absolute entropy; another `p0` shifts the pressure reference (for a dead state).
    pub fn entropy(&self, t: Temperature, p: Pressure, p0: Pressure) -> Result<f64> {
        self.check_amounts()?;
        let total = self.total();
        if total <= 0.0 {
            return Err(Error::invalid(
                "composition",
                "the mixture is empty, so mole fractions are undefined",
            ));
        }
        let t = t.kelvin();
        let ln_p = (p.pascal() / p0.pascal()).ln();
        let mut sum = 0.0;
        for sp in Species::ALL {
            let n = self.0[sp.index()];
            if n == 0.0 {
                continue;
            }
            let x = n / total;
            let s = s_over_r(sp.polynomial().coefficients(sp, t)?, t);
            sum += n * (s - x.ln() - ln_p);
        }
        Ok(R_UNIVERSAL * sum)
    }

    /// Refuses negative or non-finite amounts, which have no physical meaning.
    fn check_amounts(&self) -> Result<()> {
        for sp in Species::ALL {
            let n = self.0[sp.index()];
            if !n.is_finite() || n < 0.0 {
                return Err(Error::invalid(
                    format!("composition.{}", sp.name()),
                    format!("{n} mol is not a non-negative finite amount"),
                ));
            }
        }
        Ok(())
    }
}
