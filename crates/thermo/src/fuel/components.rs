//! Pure gaseous fuel components: formula, molar mass and ISO 6976:2016 heating values.

pub use crate::elements::{M_AR, M_C, M_H, M_H2O, M_HE, M_N, M_O, M_S};

/// A component of a gaseous fuel, as listed in ISO 6976:2016 Table 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GasComponent {
    /// CH4.
    Methane,
    /// C2H6.
    Ethane,
    /// C3H8.
    Propane,
    /// n-C4H10.
    NButane,
    /// i-C4H10 (2-methylpropane).
    IsoButane,
    /// n-C5H12.
    NPentane,
    /// i-C5H12 (2-methylbutane).
    IsoPentane,
    /// n-C6H14.
    NHexane,
    /// C2H4.
    Ethylene,
    /// C3H6.
    Propylene,
    /// H2.
    Hydrogen,
    /// CO.
    CarbonMonoxide,
    /// CO2 (no heating value).
    CarbonDioxide,
    /// N2 (no heating value).
    Nitrogen,
    /// O2 (no heating value; consumes fuel in combustion).
    Oxygen,
    /// H2S (burns to SO2 and H2O).
    HydrogenSulfide,
    /// H2O vapour (gross value = its enthalpy of condensation, ISO 6976:2016).
    Water,
    /// Ar (inert).
    Argon,
    /// He (inert).
    Helium,
}

/// Atoms per molecule (C, H, O, N, S) and molar gross and net heating values, J/mol, ideal
/// gas, combustion reference 25 °C.
struct Data {
    atoms: [u8; 5],
    gross: f64,
    net: f64,
}

impl GasComponent {
    /// Number of components.
    pub const COUNT: usize = 19;

    /// Every component, in the order used by [`GasComponent::index`].
    pub const ALL: [GasComponent; Self::COUNT] = [
        Self::Methane,
        Self::Ethane,
        Self::Propane,
        Self::NButane,
        Self::IsoButane,
        Self::NPentane,
        Self::IsoPentane,
        Self::NHexane,
        Self::Ethylene,
        Self::Propylene,
        Self::Hydrogen,
        Self::CarbonMonoxide,
        Self::CarbonDioxide,
        Self::Nitrogen,
        Self::Oxygen,
        Self::HydrogenSulfide,
        Self::Water,
        Self::Argon,
        Self::Helium,
    ];

    /// Position of the component in [`GasComponent::ALL`] and in mole-fraction arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    // ISO 6976:2016 Table 3, "ideal-gas molar gross and net calorific values at 25 °C" (kJ/mol
    // here written in J/mol). Water's gross value is its enthalpy of condensation at 25 °C.
    fn data(self) -> Data {
        let d = |atoms: [u8; 5], gross_kj: f64, net_kj: f64| Data {
            atoms,
            gross: gross_kj * 1e3,
            net: net_kj * 1e3,
        };
        match self {
            Self::Methane => d([1, 4, 0, 0, 0], 890.58, 802.60),
            Self::Ethane => d([2, 6, 0, 0, 0], 1560.69, 1428.64),
            Self::Propane => d([3, 8, 0, 0, 0], 2219.17, 2043.11),
            Self::NButane => d([4, 10, 0, 0, 0], 2877.40, 2657.32),
            Self::IsoButane => d([4, 10, 0, 0, 0], 2868.20, 2648.12),
            Self::NPentane => d([5, 12, 0, 0, 0], 3535.77, 3271.67),
            Self::IsoPentane => d([5, 12, 0, 0, 0], 3528.83, 3264.73),
            Self::NHexane => d([6, 14, 0, 0, 0], 4194.95, 3886.84),
            Self::Ethylene => d([2, 4, 0, 0, 0], 1411.18, 1323.15),
            Self::Propylene => d([3, 6, 0, 0, 0], 2058.02, 1925.97),
            Self::Hydrogen => d([0, 2, 0, 0, 0], 285.83, 241.81),
            Self::CarbonMonoxide => d([1, 0, 1, 0, 0], 282.98, 282.98),
            Self::CarbonDioxide => d([1, 0, 2, 0, 0], 0.0, 0.0),
            Self::Nitrogen => d([0, 0, 0, 2, 0], 0.0, 0.0),
            Self::Oxygen => d([0, 0, 2, 0, 0], 0.0, 0.0),
            Self::HydrogenSulfide => d([0, 2, 0, 0, 1], 562.01, 517.99),
            Self::Water => d([0, 2, 1, 0, 0], 44.013, 0.0),
            Self::Argon | Self::Helium => d([0, 0, 0, 0, 0], 0.0, 0.0),
        }
    }

    /// Atoms of C, H, O, N and S in one molecule.
    pub fn atoms(self) -> [u8; 5] {
        self.data().atoms
    }

    /// Molar mass, kg/mol, from the formula and the IUPAC 2013 conventional atomic weights.
    pub fn molar_mass(self) -> f64 {
        match self {
            Self::Argon => M_AR,
            Self::Helium => M_HE,
            _ => {
                let [c, h, o, n, s] = self.atoms();
                f64::from(c) * M_C
                    + f64::from(h) * M_H
                    + f64::from(o) * M_O
                    + f64::from(n) * M_N
                    + f64::from(s) * M_S
            }
        }
    }

    /// Molar gross (higher) heating value, J/mol, ideal gas, 25 °C (ISO 6976:2016 Table 3).
    pub fn molar_hhv(self) -> f64 {
        self.data().gross
    }

    /// Molar net (lower) heating value, J/mol, ideal gas, 25 °C (ISO 6976:2016 Table 3).
    pub fn molar_lhv(self) -> f64 {
        self.data().net
    }

    /// Short name used in error messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Methane => "methane",
            Self::Ethane => "ethane",
            Self::Propane => "propane",
            Self::NButane => "n_butane",
            Self::IsoButane => "isobutane",
            Self::NPentane => "n_pentane",
            Self::IsoPentane => "isopentane",
            Self::NHexane => "n_hexane",
            Self::Ethylene => "ethylene",
            Self::Propylene => "propylene",
            Self::Hydrogen => "hydrogen",
            Self::CarbonMonoxide => "carbon_monoxide",
            Self::CarbonDioxide => "carbon_dioxide",
            Self::Nitrogen => "nitrogen",
            Self::Oxygen => "oxygen",
            Self::HydrogenSulfide => "hydrogen_sulfide",
            Self::Water => "water",
            Self::Argon => "argon",
            Self::Helium => "helium",
        }
    }
}
