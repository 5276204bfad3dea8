//! Combustion: stoichiometric air, excess air from measured O2, flue-gas composition,
//! humidity of air.
//!
//! Everything is per kg of fuel as fired and in mol or kg. The flue-gas amounts are linear
//! in the dry-air amount, so the excess air that matches a measured O2 is found in closed
//! form for the actual fuel (its N2, CO2, H2O, inert gases), the air's argon, CO2 and
//! humidity, unburned carbon and measured CO: no iteration, no allocation. Formulas and
//! sources: `docs/METHODS.md`, "Fuels and combustion".

use crate::error::{Error, Result};
use crate::fuel::{Fuel, M_AR, M_C, M_H, M_H2O, M_HE, M_N, M_O, M_S};
use crate::quantity::{Fraction, Pressure, Temperature};
use crate::species::{Composition, Species};
use crate::steam;

/// Dry-air mole fraction of O2: CIPM-2007 air composition (Picard et al., Metrologia 45
/// (2008) 149, Table 1).
pub const AIR_O2: f64 = 0.209_390;
/// Dry-air mole fraction of CO2 (CIPM-2007 reference value, 400 µmol/mol).
pub const AIR_CO2: f64 = 0.000_400;
/// Dry-air mole fraction of argon, with Ne, He, Kr and Xe lumped in (CIPM-2007: Ar 0.009332
/// + Ne 18.18e-6 + He 5.24e-6 + Kr 1.14e-6 + Xe 0.087e-6); all are inert and monatomic.
pub const AIR_AR: f64 = 0.009_332 + 18.18e-6 + 5.24e-6 + 1.14e-6 + 0.087e-6;
/// Dry-air mole fraction of N2, the balance (CIPM-2007 0.780848 plus the trace CH4, H2,
/// N2O, CO, 5.4 µmol/mol, which burn or stay inert in negligible amounts).
pub const AIR_N2: f64 = 1.0 - AIR_O2 - AIR_CO2 - AIR_AR;

/// Molar mass of the dry air above, kg/mol, from the IUPAC 2013 atomic weights.
pub fn dry_air_molar_mass() -> f64 {
    AIR_N2 * Species::N2.molar_mass()
        + AIR_O2 * Species::O2.molar_mass()
        + AIR_AR * Species::Ar.molar_mass()
        + AIR_CO2 * Species::CO2.molar_mass()
}

// IAPWS R14-08(2011), Eq. (6): sublimation pressure of ice Ih, valid 50 K..273.16 K.
const TRIPLE_T: f64 = 273.16;
const TRIPLE_P: f64 = 611.657;
const SUBLIMATION_A: [f64; 3] = [-0.212_144_006e2, 0.273_203_819e2, -0.610_598_130e1];
const SUBLIMATION_B: [f64; 3] = [0.333_333_333e-2, 0.120_666_667e1, 0.170_333_333e1];
/// Lowest air temperature accepted, K: the lower limit of the sublimation equation.
const SUBLIMATION_T_MIN: f64 = 50.0;

/// Saturation pressure of water vapour over liquid water (IF97, T ≥ 273.15 K) or over ice
/// (IAPWS 2011 sublimation equation, below), Pa.
fn vapour_saturation_pressure(t: Temperature) -> Result<f64> {
    let k = t.kelvin();
    if k >= 273.15 {
        return Ok(steam::saturation_pressure(t)?.pascal());
    }
    if k < SUBLIMATION_T_MIN {
        return Err(Error::out_of_range(
            "t_air",
            format!("{k} K is below the {SUBLIMATION_T_MIN} K limit of the sublimation equation"),
        ));
    }
    let theta = k / TRIPLE_T;
    let sum: f64 = SUBLIMATION_A
        .iter()
        .zip(SUBLIMATION_B)
        .map(|(a, b)| a * theta.powf(b))
        .sum();
    Ok(TRIPLE_P * (sum / theta).exp())
}

/// Humidity ratio of moist air, kg H2O per kg dry air: (M_w / M_a) · p_v / (p − p_v), with
/// p_v = RH · p_sat(T) (over water from 0 °C up, over ice below).
pub fn humidity_ratio(t_air: Temperature, relative_humidity: Fraction, p: Pressure) -> Result<f64> {
    let p_v = relative_humidity.value() * vapour_saturation_pressure(t_air)?;
    let p_total = p.pascal();
    if p_v >= p_total {
        return Err(Error::inconsistent(
            "relative_humidity",
            format!("vapour pressure {p_v} Pa reaches the total pressure {p_total} Pa"),
        ));
    }
    Ok(M_H2O / dry_air_molar_mass() * p_v / (p_total - p_v))
}

/// Which gas the O2 analyser sees: dried sample (extractive with chiller) or wet (in situ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum O2Basis {
    /// Mole fraction of the dry flue gas.
    Dry,
    /// Mole fraction of the wet flue gas.
    Wet,
}

/// What combustion needs besides the fuel.
#[derive(Debug, Clone, Copy)]
pub struct CombustionInputs<'a> {
    /// The fuel fired.
    pub fuel: &'a Fuel,
    /// Moisture of the combustion air, kg H2O per kg dry air (see [`humidity_ratio`]).
    pub humidity_ratio: f64,
    /// Fraction of the fuel carbon that burns, 1 − unburned carbon / fuel carbon (1.0 when
    /// there is no refuse).
    pub carbon_burned_fraction: f64,
    /// Measured CO, mole fraction of the dry flue gas; 0 when not measured.
    pub co_fraction_dry: f64,
}

/// Fuel amounts per kg as fired, mol/kg, after the inputs are checked.
#[derive(Debug, Clone, Copy)]
struct Basis {
    /// Burned carbon.
    c_burned: f64,
    /// H2 from fuel hydrogen.
    h2: f64,
    s: f64,
    n2: f64,
    /// Water from fuel moisture.
    moisture: f64,
    /// Ar and He of the fuel, lumped as Ar by amount.
    inert: f64,
    helium: f64,
    /// O2 for complete combustion of the burned fuel, net of fuel oxygen.
    o2_required: f64,
    /// Measured CO, dry mole fraction.
    x_co: f64,
    /// Water vapour carried per mol of dry air.
    air_water_per_mol: f64,
    /// Unburned carbon, kg/kg fuel.
    unburned_carbon_kg: f64,
}

impl Basis {
    fn new(inputs: &CombustionInputs) -> Result<Basis> {
        let w = inputs.humidity_ratio;
        if !w.is_finite() || !(0.0..1.0).contains(&w) {
            return Err(Error::invalid(
                "humidity_ratio",
                format!("{w} kg/kg is not a humidity ratio in 0..1"),
            ));
        }
        let burned = inputs.carbon_burned_fraction;
        if !burned.is_finite() || burned <= 0.0 || burned > 1.0 {
            return Err(Error::invalid(
                "carbon_burned_fraction",
                format!("{burned} is not in (0, 1]"),
            ));
        }
        let x_co = inputs.co_fraction_dry;
        if !x_co.is_finite() || !(0.0..1.0).contains(&x_co) {
            return Err(Error::invalid(
                "co_fraction_dry",
                format!("{x_co} is not a mole fraction in 0..1"),
            ));
        }
        let e = inputs.fuel.elemental();
        let c_burned = e.c * burned / M_C;
        let h2 = e.h / (2.0 * M_H);
        let s = e.s / M_S;
        let o2_required = c_burned + 0.5 * h2 + s - e.o / (2.0 * M_O);
        if o2_required <= 0.0 {
            return Err(Error::inconsistent(
                "fuel",
                "the fuel's own oxygen covers its combustion; no air is needed",
            ));
        }
        Ok(Basis {
            c_burned,
            h2,
            s,
            n2: e.n / (2.0 * M_N),
            moisture: e.moisture / M_H2O,
            inert: e.argon / M_AR + e.helium / M_HE,
            helium: e.helium / M_HE,
            o2_required,
            x_co,
            air_water_per_mol: w * dry_air_molar_mass() / M_H2O,
            unburned_carbon_kg: e.c * (1.0 - burned),
        })
    }

    /// K in D = (A + K)/(1 − x_CO/2): dry flue gas minus dry air, before the CO correction.
    fn k(&self) -> f64 {
        self.c_burned + self.s + self.n2 + self.inert - self.o2_required
    }

    /// 1 / (1 − x_CO/2).
    fn q(&self) -> f64 {
        1.0 / (1.0 - 0.5 * self.x_co)
    }
}

/// Theoretical (stoichiometric) combustion of a fuel with dry air, all carbon burned to CO2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stoichiometry {
    /// O2 required, mol per kg fuel.
    pub o2_mol: f64,
    /// Dry air required, mol per kg fuel.
    pub dry_air_mol: f64,
    /// Dry air required, kg per kg fuel (the stoichiometric air-fuel ratio).
    pub dry_air_kg: f64,
    /// Products with that dry air, mol per kg fuel (wet; water from the fuel only).
    pub products: Composition,
}

impl Stoichiometry {
    /// The stoichiometry of `fuel` with the dry air of this module.
    pub fn of(fuel: &Fuel) -> Result<Stoichiometry> {
        let inputs = CombustionInputs {
            fuel,
            humidity_ratio: 0.0,
            carbon_burned_fraction: 1.0,
            co_fraction_dry: 0.0,
        };
        let gas = flue_gas(&inputs, 0.0)?;
        Ok(Stoichiometry {
            o2_mol: gas.dry_air_mol * AIR_O2,
            dry_air_mol: gas.dry_air_mol,
            dry_air_kg: gas.dry_air_kg,
            products: gas.moles,
        })
    }
}

/// Excess air fraction (0.15 = 15 %) that gives the measured O2, by exact stoichiometry of
/// the fuel. Excess air is relative to the air for complete combustion of the burned fuel.
/// With measured CO the result may be slightly negative (down to the point where free O2
/// vanishes); O2 at or above what air alone can give is refused as inconsistent.
pub fn excess_air_from_o2(inputs: &CombustionInputs, o2: Fraction, basis: O2Basis) -> Result<f64> {
    let b = Basis::new(inputs)?;
    let x = o2.value();
    let q = b.q();
    let k = b.k();
    let x_eff = q * (x - 0.5 * b.x_co);
    // a_O2·A − O2_req + (x_CO q/2)(A + K) = x·[q(A + K) + H_f + w·A], H_f and w zero when dry.
    let (water_fuel, water_air) = match basis {
        O2Basis::Dry => (0.0, 0.0),
        O2Basis::Wet => (b.h2 + b.moisture, b.air_water_per_mol),
    };
    let denominator = AIR_O2 - x_eff - x * water_air;
    let numerator = b.o2_required + k * x_eff + x * water_fuel;
    let limit = match basis {
        O2Basis::Dry => AIR_O2 / q + 0.5 * b.x_co,
        O2Basis::Wet => (AIR_O2 + 0.5 * q * b.x_co) / (q + water_air),
    };
    if denominator <= 0.0 || numerator <= 0.0 {
        return Err(Error::inconsistent(
            "o2",
            format!(
                "measured O2 {x} is at or above the {limit:.5} the combustion air alone would \
                 show on this basis"
            ),
        ));
    }
    let dry_air_mol = numerator / denominator;
    let excess = dry_air_mol * AIR_O2 / b.o2_required - 1.0;
    check_state(&b, dry_air_mol)?;
    Ok(excess)
}

/// Checks a dry-air amount gives a physical flue gas: CO not above the burned carbon, free
/// O2 not negative. Returns the dry flue-gas amount and the CO amount, mol/kg.
fn check_state(b: &Basis, dry_air_mol: f64) -> Result<(f64, f64)> {
    let dry = (dry_air_mol + b.k()) * b.q();
    let co = b.x_co * dry;
    if co > b.c_burned {
        return Err(Error::inconsistent(
            "co_fraction_dry",
            format!(
                "{} mol/kg of CO would need more carbon than the {} mol/kg burned",
                co, b.c_burned
            ),
        ));
    }
    let free_o2 = AIR_O2 * dry_air_mol - b.o2_required + 0.5 * co;
    if free_o2 < -1e-9 * b.o2_required {
        return Err(Error::out_of_range(
            "excess_air",
            "below the stoichiometric point: the air cannot burn the fuel to the measured CO",
        ));
    }
    Ok((dry, co))
}

/// Flue gas and its origins, per kg of fuel as fired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlueGas {
    /// Amounts of each species, mol per kg fuel, wet. Fuel He is counted as Ar here.
    pub moles: Composition,
    /// Excess air fraction this gas was computed for.
    pub excess_air: f64,
    /// Dry air supplied, mol per kg fuel.
    pub dry_air_mol: f64,
    /// Dry air supplied, kg per kg fuel.
    pub dry_air_kg: f64,
    /// Water vapour carried by the air, kg per kg fuel.
    pub air_moisture_kg: f64,
    /// Water formed from the fuel's hydrogen, kg per kg fuel.
    pub water_from_hydrogen_kg: f64,
    /// Water from the fuel's moisture, kg per kg fuel.
    pub water_from_fuel_moisture_kg: f64,
    /// Carbon leaving unburned with the refuse, kg per kg fuel.
    pub unburned_carbon_kg: f64,
    /// Ash leaving with the refuse, kg per kg fuel.
    pub ash_kg: f64,
    /// Fuel helium counted in `moles` as Ar, mol per kg fuel (for the mass correction).
    pub helium_mol: f64,
}

impl FlueGas {
    /// Total wet flue gas, mol per kg fuel.
    pub fn wet_moles(&self) -> f64 {
        self.moles.total()
    }

    /// Total dry flue gas, mol per kg fuel.
    pub fn dry_moles(&self) -> f64 {
        self.moles.total() - self.moles.0[Species::H2O.index()]
    }

    /// Mole fraction of a species in the wet flue gas.
    pub fn wet_mole_fraction(&self, species: Species) -> f64 {
        self.moles.0[species.index()] / self.wet_moles()
    }

    /// Mole fraction of a species in the dry flue gas (0 for H2O).
    pub fn dry_mole_fraction(&self, species: Species) -> f64 {
        if species == Species::H2O {
            0.0
        } else {
            self.moles.0[species.index()] / self.dry_moles()
        }
    }

    /// Mass of one species, kg per kg fuel (Ar includes fuel He at its own molar mass).
    pub fn species_mass(&self, species: Species) -> f64 {
        let m = self.moles.0[species.index()] * species.molar_mass();
        if species == Species::Ar {
            m - self.helium_mol * (M_AR - M_HE)
        } else {
            m
        }
    }

    /// Mass of the wet flue gas, kg per kg fuel.
    pub fn wet_mass(&self) -> f64 {
        self.moles.mass() - self.helium_mol * (M_AR - M_HE)
    }

    /// Mass of the dry flue gas, kg per kg fuel.
    pub fn dry_mass(&self) -> f64 {
        self.wet_mass() - self.species_mass(Species::H2O)
    }

    /// Mass of wet combustion air, kg per kg fuel.
    pub fn wet_air_kg(&self) -> f64 {
        self.dry_air_kg + self.air_moisture_kg
    }
}

/// The flue gas for a given excess air fraction (0.15 = 15 %). Burned carbon goes to CO2
/// except the part that forms the measured CO; unburned carbon and ash leave as refuse;
/// sulfur to SO2; fuel N to N2; fuel Ar and He leave as Ar.
pub fn flue_gas(inputs: &CombustionInputs, excess_air: f64) -> Result<FlueGas> {
    if !excess_air.is_finite() || excess_air <= -1.0 {
        return Err(Error::invalid(
            "excess_air",
            format!("{excess_air} is not an excess air fraction above -1"),
        ));
    }
    let b = Basis::new(inputs)?;
    let dry_air_mol = (1.0 + excess_air) * b.o2_required / AIR_O2;
    let (_, co) = check_state(&b, dry_air_mol)?;
    let free_o2 = (AIR_O2 * dry_air_mol - b.o2_required + 0.5 * co).max(0.0);
    let air_water = b.air_water_per_mol * dry_air_mol;

    let mut n = [0.0; 7];
    n[Species::N2.index()] = b.n2 + AIR_N2 * dry_air_mol;
    n[Species::O2.index()] = free_o2;
    n[Species::Ar.index()] = b.inert + AIR_AR * dry_air_mol;
    n[Species::CO2.index()] = b.c_burned - co + AIR_CO2 * dry_air_mol;
    n[Species::H2O.index()] = b.h2 + b.moisture + air_water;
    n[Species::SO2.index()] = b.s;
    n[Species::CO.index()] = co;

    let e = inputs.fuel.elemental();
    let dry_air_kg = dry_air_mol * dry_air_molar_mass();
    Ok(FlueGas {
        moles: Composition(n),
        excess_air,
        dry_air_mol,
        dry_air_kg,
        air_moisture_kg: inputs.humidity_ratio * dry_air_kg,
        water_from_hydrogen_kg: e.water_from_hydrogen(),
        water_from_fuel_moisture_kg: e.moisture,
        unburned_carbon_kg: b.unburned_carbon_kg,
        ash_kg: e.ash,
        helium_mol: b.helium,
    })
}
