//! Molar masses of the elements, kg/mol: IUPAC 2013 atomic weights (Meija et al., Pure Appl.
//! Chem. 88 (2016) 265–291), the conventional values for H, C, N, O and S, whose weights IUPAC
//! gives as intervals. Every molar mass of a fuel, of air and of a flue-gas species is built
//! from these, so mass balances close to rounding.

/// Molar mass of carbon, kg/mol (IUPAC 2013 conventional atomic weight 12.011).
pub const M_C: f64 = 12.011e-3;
/// Molar mass of hydrogen, kg/mol (IUPAC 2013 conventional atomic weight 1.008).
pub const M_H: f64 = 1.008e-3;
/// Molar mass of oxygen, kg/mol (IUPAC 2013 conventional atomic weight 15.999).
pub const M_O: f64 = 15.999e-3;
/// Molar mass of nitrogen, kg/mol (IUPAC 2013 conventional atomic weight 14.007).
pub const M_N: f64 = 14.007e-3;
/// Molar mass of sulfur, kg/mol (IUPAC 2013 conventional atomic weight 32.06).
pub const M_S: f64 = 32.06e-3;
/// Molar mass of argon, kg/mol (IUPAC 2013 standard atomic weight 39.948).
pub const M_AR: f64 = 39.948e-3;
/// Molar mass of helium, kg/mol (IUPAC 2013 standard atomic weight 4.002602).
pub const M_HE: f64 = 4.002_602e-3;
/// Molar mass of water, kg/mol, from the atomic weights above.
pub const M_H2O: f64 = 2.0 * M_H + M_O;
