//! First and second law of fired equipment: the input–output (direct) and heat-loss
//! (indirect) methods on both heating-value bases, their closure, and the exergy balance.
//!
//! The heat-loss method follows ASME PTC 4 and EN 12952-15: losses and credits relative to a
//! reference temperature of 25 °C, the temperature at which the heating values are defined, so
//! that the HHV and LHV balances differ only by the latent heat of the water formed and the
//! fuel's moisture and close with the same unaccounted heat rate.

use crate::combustion::{self, CombustionInputs, FlueGas};
use crate::error::{Error, Result};
use crate::exergy::{self, DeadStateWater};
use crate::fuel::{Fuel, FuelKind, GasComponent};
use crate::inputs::{
    Blowdown, FiredInputs, SteamCondition, SteamOutput, SurfaceLoss, SurfaceMeasurement,
    UsefulOutput,
};
use crate::phrase;
use crate::phrase::{Quantity, celsius};
use crate::quantity::{Pressure, Temperature};
use crate::results::{
    CombustionSummary, Credit, CreditKind, ExergyLossKind, ExergyResult, FiredResult, Loss,
    LossKind, OnBasis, Warning,
};
use crate::species::{self, Composition, Species};
use crate::units::Dimension;
use crate::{steam, streams};

/// Reference temperature of the heat-loss method, K: 25 °C, where the heating values are
/// defined (ASME PTC 4-2013 §5-3 uses 77 °F; EN 12952-15 uses 25 °C).
pub const REFERENCE_TEMPERATURE_K: f64 = 298.15;

/// Stefan–Boltzmann constant, W/(m² K⁴) (CODATA 2018, exact from h, c and k).
pub const STEFAN_BOLTZMANN: f64 = 5.670_374_419e-8;

/// Ideal-gas molar heat capacities at 298.15 K, J/(mol K), of the fuel-gas components, used
/// for the sensible heat of gaseous fuel (NIST-JANAF tables, Chase 1998; NIST Chemistry
/// WebBook for the hydrocarbons above ethane).
fn gas_component_cp_298(component: GasComponent) -> f64 {
    use GasComponent as G;
    match component {
        G::Methane => 35.69,
        G::Ethane => 52.49,
        G::Propane => 73.60,
        G::NButane => 98.49,
        G::IsoButane => 96.82,
        G::NPentane => 120.2,
        G::IsoPentane => 118.9,
        G::NHexane => 143.3,
        G::Ethylene => 42.90,
        G::Propylene => 64.32,
        G::Hydrogen => 28.84,
        G::CarbonMonoxide => 29.14,
        G::CarbonDioxide => 37.13,
        G::Nitrogen => 29.12,
        G::Oxygen => 29.38,
        G::HydrogenSulfide => 34.19,
        G::Water => 33.59,
        G::Argon | G::Helium => 20.79,
    }
}

/// Specific heat of fuel oil, J/(kg K): 0.45 Btu/(lb °F), the customary value for fuel oils at
/// burner temperatures (Babcock & Wilcox, *Steam*, 41st ed., ch. 9).
const FUEL_OIL_CP: f64 = 1884.0;

/// Specific heat of dry solid fuel, J/(kg K): 0.30 Btu/(lb °F) for coal and wood
/// (Babcock & Wilcox, *Steam*, 41st ed., ch. 9); moisture is added at the liquid-water value.
const DRY_SOLID_FUEL_CP: f64 = 1256.0;

/// Specific heat of liquid water at 25 °C, J/(kg K) (IAPWS-IF97 region 1 at 0.1 MPa).
const LIQUID_WATER_CP: f64 = 4181.3;

/// Natural-convection coefficient of air over a large vertical surface, W/(m² K^(4/3)):
/// h = 1.31 ΔT^(1/3), turbulent range (Holman, *Heat Transfer*, 10th ed., Table 7-2).
const NATURAL_CONVECTION_COEFF: f64 = 1.31;

/// Wind convection over a plate, h = 5.7 + 3.8 V in W/(m² K) with V in m/s
/// (McAdams, *Heat Transmission*, 3rd ed., 1954; as given by Duffie & Beckman, eq. 3.15.1).
const WIND_CONVECTION: (f64, f64) = (5.7, 3.8);

/// Everything the loss and exergy calculations share for one set of inputs.
struct Combustion {
    flue: FlueGas,
    excess_air: f64,
    unburned_carbon_kg: f64,
    stoichiometric_air: f64,
}

/// Computes both methods, both bases, the closure and the exergy balance of fired equipment.
pub fn calculate_fired(inputs: &FiredInputs) -> Result<FiredResult> {
    let fuel = &inputs.fuel;
    let m_fuel = inputs.fuel_flow.kg_per_s();
    if m_fuel <= 0.0 {
        return Err(Error::invalid(
            "fuel_flow",
            "is zero: no fuel input to relate the output to",
        ));
    }
    let t_ref = reference_temperature();
    let mut warnings = Vec::new();

    let comb = burn(inputs)?;
    let flue = &comb.flue;
    let t_fg = inputs.flue_gas.temperature;
    if t_fg.kelvin() < t_ref.kelvin() {
        return Err(Error::inconsistent(
            "flue_gas.temperature",
            "is below the 25 °C reference temperature of the heat-loss method",
        ));
    }

    // Per kg of fuel as fired, J/kg.
    let dh_fg = species_sensible(t_fg, t_ref)?;
    let dh_water_vapour = dh_fg[Species::H2O.index()] / Species::H2O.molar_mass();
    let dry_gas_loss: f64 = Species::ALL
        .iter()
        .filter(|s| **s != Species::H2O)
        .map(|s| flue.moles.0[s.index()] * dh_fg[s.index()])
        .sum();
    let latent = latent_heat_per_kg_water(fuel, flue, &mut warnings);
    let water_h = flue.water_from_hydrogen_kg;
    let water_m = flue.water_from_fuel_moisture_kg;
    let hydrogen_loss = OnBasis {
        hhv: water_h * (latent + dh_water_vapour),
        lhv: water_h * dh_water_vapour,
    };
    let moisture_loss = OnBasis {
        hhv: water_m * (latent + dh_water_vapour),
        lhv: water_m * dh_water_vapour,
    };
    let air_moisture = flue.air_moisture_kg * dh_water_vapour;
    let co_loss = flue.moles.0[Species::CO.index()] * co_heating_value()?;
    let unburned_carbon_loss = comb.unburned_carbon_kg * carbon_heating_value()?;

    let fuel_input = OnBasis {
        hhv: m_fuel * fuel.hhv(),
        lhv: m_fuel * fuel.lhv(),
    };
    let dead_water = DeadStateWater::new(&inputs.dead_state)?;
    let output = useful_output(&inputs.output, &dead_water)?;
    let surface = surface_loss(&inputs.surface)?;
    let credits_w = credits(inputs, flue, t_ref, &mut warnings)?;

    let per_kg = |x: f64| OnBasis {
        hhv: m_fuel * x,
        lhv: m_fuel * x,
    };
    let scaled = |x: OnBasis| OnBasis {
        hhv: m_fuel * x.hhv,
        lhv: m_fuel * x.lhv,
    };
    let same = |x: f64| OnBasis { hhv: x, lhv: x };
    let loss_powers = [
        per_kg(dry_gas_loss),
        scaled(hydrogen_loss),
        scaled(moisture_loss),
        per_kg(air_moisture),
        per_kg(co_loss),
        per_kg(unburned_carbon_loss),
        same(surface),
        same(output.blowdown_loss),
    ];
    let fraction = |p: OnBasis| OnBasis {
        hhv: p.hhv / fuel_input.hhv,
        lhv: p.lhv / fuel_input.lhv,
    };
    let losses: [Loss; LossKind::ALL.len()] = std::array::from_fn(|i| Loss {
        kind: LossKind::ALL[i],
        power: loss_powers[i],
        fraction: fraction(loss_powers[i]),
    });
    let credits: [Credit; CreditKind::ALL.len()] = std::array::from_fn(|i| Credit {
        kind: CreditKind::ALL[i],
        power: credits_w[i],
        fraction: fraction(same(credits_w[i])),
    });

    let total_credits: f64 = credits_w.iter().sum();
    let total_losses = OnBasis {
        hhv: loss_powers.iter().map(|l| l.hhv).sum(),
        lhv: loss_powers.iter().map(|l| l.lhv).sum(),
    };
    let on_both = |f: &dyn Fn(f64, f64) -> f64| OnBasis {
        hhv: f(fuel_input.hhv, total_losses.hhv),
        lhv: f(fuel_input.lhv, total_losses.lhv),
    };
    let direct_efficiency = on_both(&|input, _| output.heat / input);
    let indirect_efficiency =
        on_both(&|input, losses| 1.0 - losses / input + total_credits / input);
    let unaccounted = on_both(&|input, losses| input + total_credits - output.heat - losses);
    let closure = on_both(&|input, losses| (input + total_credits - output.heat - losses) / input);
    let stack = |b: fn(&OnBasis) -> f64| {
        b(&loss_powers[0]) + b(&loss_powers[1]) + b(&loss_powers[2]) + b(&loss_powers[3])
    };
    let air_and_fuel_credit = credits_w[0] + credits_w[1];
    let available_heat = OnBasis {
        hhv: (fuel_input.hhv + air_and_fuel_credit - stack(|b| b.hhv)) / fuel_input.hhv,
        lhv: (fuel_input.lhv + air_and_fuel_credit - stack(|b| b.lhv)) / fuel_input.lhv,
    };

    let summary = combustion_summary(inputs, &comb, &mut warnings)?;
    let exergy = exergy_balance(inputs, &comb, &output, surface, credits_w[2])?;

    Ok(FiredResult {
        kind: inputs.kind,
        fuel_input,
        useful_output: output.heat,
        losses,
        credits,
        direct_efficiency,
        indirect_efficiency,
        unaccounted,
        closure,
        available_heat,
        combustion: summary,
        exergy,
        warnings,
    })
}

fn reference_temperature() -> Temperature {
    Temperature::from_kelvin(REFERENCE_TEMPERATURE_K).expect("298.15 K is a valid temperature")
}

/// Sensible molar enthalpies of every species between `t` and `t_ref`, J/mol.
fn species_sensible(t: Temperature, t_ref: Temperature) -> Result<[f64; 7]> {
    let mut out = [0.0; 7];
    for s in Species::ALL {
        out[s.index()] =
            species::sensible_enthalpy_molar(s, t, t_ref).map_err(|e| e.within("flue_gas"))?;
    }
    Ok(out)
}

/// Latent heat charged per kg of water formed or evaporated on the HHV basis, J/kg.
///
/// It is taken from the fuel's own HHV − LHV so that the two bases close with the same
/// unaccounted heat, whatever method gave the heating values.
fn latent_heat_per_kg_water(fuel: &Fuel, flue: &FlueGas, warnings: &mut Vec<Warning>) -> f64 {
    let water = flue.water_from_hydrogen_kg + flue.water_from_fuel_moisture_kg;
    if water <= 0.0 {
        return 0.0;
    }
    let latent = (fuel.hhv() - fuel.lhv()) / water;
    let expected = crate::fuel::H_FG_25C;
    if (latent / expected - 1.0).abs() > 0.05 {
        warnings.push(Warning {
            code: "heating_values_inconsistent",
            message: phrase!(
                "HHV − LHV corresponds to {} of water formed, not the {} latent heat at {}: \
                 check the stated heating values",
                Quantity::from_si(latent, "kJ/kg", Dimension::SpecificEnergy, 0),
                Quantity::from_si(expected, "kJ/kg", Dimension::SpecificEnergy, 0),
                celsius(REFERENCE_TEMPERATURE_K, 0)
            ),
        });
    }
    latent
}

/// Heat of combustion of CO to CO2 at 25 °C, J/mol, from the species' enthalpies of formation.
fn co_heating_value() -> Result<f64> {
    let t = reference_temperature();
    Ok(
        species::enthalpy_molar(Species::CO, t)? + 0.5 * species::enthalpy_molar(Species::O2, t)?
            - species::enthalpy_molar(Species::CO2, t)?,
    )
}

/// Heat of combustion of carbon (graphite) to CO2 at 25 °C, J/kg.
fn carbon_heating_value() -> Result<f64> {
    let t = reference_temperature();
    Ok(-species::enthalpy_molar(Species::CO2, t)? / crate::fuel::M_C)
}

/// Excess air, flue gas and unburned carbon of the inputs' combustion.
fn burn(inputs: &FiredInputs) -> Result<Combustion> {
    let fuel = &inputs.fuel;
    let air = &inputs.combustion_air;
    let humidity_ratio =
        combustion::humidity_ratio(air.temperature, air.relative_humidity, air.pressure)
            .map_err(|e| e.within("combustion_air"))?;
    let elemental = fuel.elemental();
    let unburned_carbon_kg = match inputs.unburned_carbon {
        None => 0.0,
        Some(uc) => {
            let c = uc.carbon_in_refuse.value();
            if c >= 1.0 {
                return Err(Error::invalid(
                    "unburned_carbon.carbon_in_refuse",
                    "must be below 1: refuse cannot be pure carbon",
                ));
            }
            if c > 0.0 && elemental.ash <= 0.0 {
                return Err(Error::inconsistent(
                    "unburned_carbon.carbon_in_refuse",
                    "the fuel has no ash to carry unburned carbon",
                ));
            }
            let kg = elemental.ash * c / (1.0 - c);
            if kg >= elemental.c {
                return Err(Error::inconsistent(
                    "unburned_carbon.carbon_in_refuse",
                    "implies more unburned carbon than the fuel contains",
                ));
            }
            kg
        }
    };
    let carbon_burned_fraction = if elemental.c > 0.0 {
        1.0 - unburned_carbon_kg / elemental.c
    } else {
        1.0
    };
    let ci = CombustionInputs {
        fuel,
        humidity_ratio,
        carbon_burned_fraction,
        co_fraction_dry: inputs.flue_gas.co_dry.value(),
    };
    let excess_air =
        combustion::excess_air_from_o2(&ci, inputs.flue_gas.o2, inputs.flue_gas.o2_basis)
            .map_err(|e| e.within("flue_gas"))?;
    let flue = combustion::flue_gas(&ci, excess_air).map_err(|e| e.within("flue_gas"))?;
    let stoichiometric_air = combustion::Stoichiometry::of(fuel)?.dry_air_kg;
    Ok(Combustion {
        flue,
        excess_air,
        unburned_carbon_kg,
        stoichiometric_air,
    })
}

/// Useful output and, for steam boilers, the blowdown loss, with their exergies; W.
struct Output {
    heat: f64,
    exergy: f64,
    blowdown_loss: f64,
    blowdown_exergy: f64,
}

fn useful_output(output: &UsefulOutput, dead: &DeadStateWater) -> Result<Output> {
    let stream = |heat_exergy: Result<(f64, f64)>| {
        let (heat, exergy) = heat_exergy.map_err(|e| e.within("output"))?;
        if heat <= 0.0 {
            return Err(Error::inconsistent(
                "output.outlet_temperature",
                "is not above the inlet temperature: the stream gains no heat",
            ));
        }
        Ok(Output {
            heat,
            exergy,
            blowdown_loss: 0.0,
            blowdown_exergy: 0.0,
        })
    };
    match output {
        UsefulOutput::Steam(s) => steam_output(s, dead).map_err(|e| e.within("output")),
        UsefulOutput::Water(w) => stream(streams::water(w, dead)),
        UsefulOutput::Liquid(l) => stream(streams::liquid(l, dead)),
        UsefulOutput::Metered(m) => {
            let heat = m.duty.watts();
            Ok(Output {
                heat,
                exergy: heat * (1.0 - dead.t0 / m.delivery_temperature.kelvin()),
                blowdown_loss: 0.0,
                blowdown_exergy: 0.0,
            })
        }
    }
}

/// Steam raised from feedwater, and the blowdown leaving as saturated liquid at drum pressure.
fn steam_output(s: &SteamOutput, dead: &DeadStateWater) -> Result<Output> {
    let p = s.steam_pressure;
    let t_sat = steam::saturation_temperature(p).map_err(|e| e.within("steam_pressure"))?;
    let saturation = steam::saturation_hs(p).map_err(|e| e.within("steam_pressure"))?;
    let (h_steam, s_steam) = match s.steam_condition {
        SteamCondition::Superheated(t) => {
            if t.kelvin() <= t_sat.kelvin() {
                return Err(Error::inconsistent(
                    "steam_temperature",
                    format!(
                        "{:.2} K is not above the saturation temperature {:.2} K at the steam \
                         pressure: give the steam as saturated with a quality instead",
                        t.kelvin(),
                        t_sat.kelvin()
                    ),
                ));
            }
            let field = |e: Error| e.within("steam_temperature");
            (
                steam::enthalpy_pt(p, t).map_err(field)?,
                steam::entropy_pt(p, t).map_err(field)?,
            )
        }
        SteamCondition::Saturated { quality } => {
            let [(h_f, s_f), (h_g, s_g)] = saturation;
            let x = quality.value();
            (h_f + x * (h_g - h_f), s_f + x * (s_g - s_f))
        }
    };
    let p_fw = s.feedwater_pressure.unwrap_or(p);
    let t_fw = s.feedwater_temperature;
    let t_sat_fw = if p_fw == p {
        t_sat
    } else {
        steam::saturation_temperature(p_fw).map_err(|e| e.within("feedwater_pressure"))?
    };
    if t_fw.kelvin() >= t_sat_fw.kelvin() {
        return Err(Error::inconsistent(
            "feedwater_temperature",
            format!(
                "{:.2} K is not below the saturation temperature {:.2} K at the feedwater \
                 pressure: feedwater must be liquid",
                t_fw.kelvin(),
                t_sat_fw.kelvin()
            ),
        ));
    }
    let field = |e: Error| e.within("feedwater_temperature");
    let h_fw = steam::enthalpy_pt(p_fw, t_fw).map_err(field)?;
    let ex_fw = dead.flow_exergy(h_fw, steam::entropy_pt(p_fw, t_fw).map_err(field)?);
    let m_steam = s.steam_flow.kg_per_s();
    let m_blowdown = match s.blowdown {
        Blowdown::None => 0.0,
        Blowdown::Flow(m) => m.kg_per_s(),
        Blowdown::FractionOfFeedwater(f) => {
            if f.value() >= 1.0 {
                return Err(Error::invalid(
                    "blowdown",
                    "fraction of feedwater must be below 1",
                ));
            }
            m_steam * f.value() / (1.0 - f.value())
        }
    };
    let (h_drum, s_drum) = saturation[0];
    Ok(Output {
        heat: m_steam * (h_steam - h_fw),
        exergy: m_steam * (dead.flow_exergy(h_steam, s_steam) - ex_fw),
        blowdown_loss: m_blowdown * (h_drum - h_fw),
        blowdown_exergy: m_blowdown * (dead.flow_exergy(h_drum, s_drum) - ex_fw),
    })
}

/// Heat lost from the casing, W.
fn surface_loss(surface: &SurfaceLoss) -> Result<f64> {
    match surface {
        SurfaceLoss::NotAccounted => Ok(0.0),
        SurfaceLoss::FractionOfRating { fraction, rating } => Ok(fraction.value() * rating.watts()),
        SurfaceLoss::Measured(m) => measured_surface_loss(m).map_err(|e| e.within("surface")),
    }
}

/// Radiation (grey body to large surroundings) plus convection, the larger of natural and wind.
fn measured_surface_loss(m: &SurfaceMeasurement) -> Result<f64> {
    if !(m.area.is_finite() && m.area >= 0.0) {
        return Err(Error::invalid(
            "area",
            "must be a finite area of zero or more",
        ));
    }
    if !(m.air_velocity.is_finite() && m.air_velocity >= 0.0) {
        return Err(Error::invalid(
            "air_velocity",
            "must be a finite speed of zero or more",
        ));
    }
    let ts = m.temperature.kelvin();
    let ta = m.ambient_temperature.kelvin();
    let dt = ts - ta;
    if dt < 0.0 {
        return Err(Error::inconsistent(
            "temperature",
            "the casing is colder than its surroundings: no heat is lost",
        ));
    }
    let radiation = m.emissivity.value() * STEFAN_BOLTZMANN * (ts.powi(4) - ta.powi(4));
    let natural = NATURAL_CONVECTION_COEFF * dt.cbrt();
    let wind = if m.air_velocity > 0.0 {
        WIND_CONVECTION.0 + WIND_CONVECTION.1 * m.air_velocity
    } else {
        0.0
    };
    Ok(m.area * (radiation + natural.max(wind) * dt))
}

/// Entering-air, fuel-sensible-heat and auxiliary-power credits, W, in [`CreditKind::ALL`] order.
fn credits(
    inputs: &FiredInputs,
    flue: &FlueGas,
    t_ref: Temperature,
    warnings: &mut Vec<Warning>,
) -> Result<[f64; 3]> {
    let m_fuel = inputs.fuel_flow.kg_per_s();
    let air = air_moles(flue);
    let air_credit = air
        .sensible_enthalpy(inputs.combustion_air.temperature, t_ref)
        .map_err(|e| e.within("combustion_air"))?;
    let cp = match inputs.fuel_specific_heat {
        Some(cp) if cp.is_finite() && cp > 0.0 => cp,
        Some(_) => {
            return Err(Error::invalid(
                "fuel_specific_heat",
                "must be a positive number",
            ));
        }
        None => {
            let cp = default_fuel_specific_heat(&inputs.fuel);
            if (inputs.fuel_temperature.kelvin() - REFERENCE_TEMPERATURE_K).abs() > 5.0 {
                warnings.push(Warning {
                    code: "fuel_specific_heat_assumed",
                    message: phrase!(
                        "fuel sensible heat uses a default specific heat of {} for this fuel; \
                         state fuel_specific_heat if it is known",
                        Quantity::new(cp, "J/(kg K)", Dimension::SpecificEntropy, 0)
                    ),
                });
            }
            cp
        }
    };
    let fuel_credit = cp * (inputs.fuel_temperature.kelvin() - REFERENCE_TEMPERATURE_K);
    Ok([
        m_fuel * air_credit,
        m_fuel * fuel_credit,
        inputs.auxiliary_power.watts(),
    ])
}

/// Specific heat of a fuel as fired when none is stated, J/(kg K).
fn default_fuel_specific_heat(fuel: &Fuel) -> f64 {
    match fuel.kind() {
        FuelKind::Gas => {
            let (mut cp_molar, mut molar_mass) = (0.0, 0.0);
            let fractions = fuel.mole_fractions().unwrap_or(&[0.0; GasComponent::COUNT]);
            for (component, x) in GasComponent::ALL.iter().zip(fractions) {
                cp_molar += x * gas_component_cp_298(*component);
                molar_mass += x * component.molar_mass();
            }
            cp_molar / molar_mass
        }
        FuelKind::Liquid => FUEL_OIL_CP,
        FuelKind::Solid => {
            let moisture = fuel.elemental().moisture;
            (1.0 - moisture) * DRY_SOLID_FUEL_CP + moisture * LIQUID_WATER_CP
        }
    }
}

fn combustion_summary(
    inputs: &FiredInputs,
    comb: &Combustion,
    warnings: &mut Vec<Warning>,
) -> Result<CombustionSummary> {
    let flue = &comb.flue;
    let m_fuel = inputs.fuel_flow.kg_per_s();
    let wet_total = flue.moles.total();
    let dry_total = wet_total - flue.moles.0[Species::H2O.index()];
    let flue_gas_wet = std::array::from_fn(|i| flue.moles.0[i] / wet_total);
    let flue_gas_dry = std::array::from_fn(|i| {
        if i == Species::H2O.index() {
            0.0
        } else {
            flue.moles.0[i] / dry_total
        }
    });
    let p_water = flue_gas_wet[Species::H2O.index()] * inputs.combustion_air.pressure.pascal();
    let water_dew_point = Pressure::from_pascal(p_water)
        .ok()
        .and_then(|p| steam::saturation_temperature(p).ok())
        .map(Temperature::kelvin);
    if let Some(dew) = water_dew_point
        && inputs.flue_gas.temperature.kelvin() < dew
    {
        warnings.push(Warning {
            code: "stack_below_water_dew_point",
            message: phrase!(
                "flue gas at {} is below its water dew point of {}: the moisture losses \
                 assume no condensation and overstate the loss",
                celsius(inputs.flue_gas.temperature.kelvin(), 1),
                celsius(dew, 1)
            ),
        });
    }
    Ok(CombustionSummary {
        excess_air: comb.excess_air,
        stoichiometric_air_fuel_ratio: comb.stoichiometric_air,
        dry_air_flow: m_fuel * flue.dry_air_kg,
        flue_gas_flow: m_fuel * flue.moles.mass(),
        flue_gas_wet,
        flue_gas_dry,
        water_dew_point,
    })
}

/// Exergy balance: fuel, air and auxiliary power in; useful output and losses out; the rest
/// destroyed.
fn exergy_balance(
    inputs: &FiredInputs,
    comb: &Combustion,
    output: &Output,
    surface_heat: f64,
    auxiliary_power: f64,
) -> Result<ExergyResult> {
    let dead = &inputs.dead_state;
    let m_fuel = inputs.fuel_flow.kg_per_s();
    let fuel = m_fuel * exergy::fuel_chemical_exergy(&inputs.fuel, dead)?;
    let air = m_fuel
        * exergy::gas_thermomechanical_exergy(
            &air_moles(&comb.flue),
            inputs.combustion_air.temperature,
            dead,
        )
        .map_err(|e| e.within("combustion_air"))?;
    let flue_gas = m_fuel
        * exergy::gas_thermomechanical_exergy(&comb.flue.moles, inputs.flue_gas.temperature, dead)
            .map_err(|e| e.within("flue_gas"))?;
    let co = m_fuel * comb.flue.moles.0[Species::CO.index()] * exergy::CO_CHEMICAL_EXERGY;
    let carbon =
        m_fuel * comb.unburned_carbon_kg * exergy::CARBON_CHEMICAL_EXERGY / crate::fuel::M_C;
    let surface = match inputs.surface {
        SurfaceLoss::Measured(m) => surface_heat * exergy::carnot_factor(m.temperature, dead),
        SurfaceLoss::NotAccounted | SurfaceLoss::FractionOfRating { .. } => 0.0,
    };
    let losses = [
        (ExergyLossKind::FlueGas, flue_gas),
        (ExergyLossKind::CarbonMonoxide, co),
        (ExergyLossKind::UnburnedCarbon, carbon),
        (ExergyLossKind::Surface, surface),
        (ExergyLossKind::Blowdown, output.blowdown_exergy),
    ];
    let lost: f64 = losses.iter().map(|(_, x)| x).sum();
    let destruction = fuel + air + auxiliary_power - output.exergy - lost;
    Ok(ExergyResult {
        fuel,
        combustion_air: air,
        auxiliary_power,
        useful: output.exergy,
        losses,
        destruction,
        efficiency: output.exergy / fuel,
    })
}

/// The combustion air (dry air and its moisture) per kg of fuel, mol.
fn air_moles(flue: &FlueGas) -> Composition {
    let n = flue.dry_air_mol;
    let mut air = [0.0; 7];
    air[Species::N2.index()] = combustion::AIR_N2 * n;
    air[Species::O2.index()] = combustion::AIR_O2 * n;
    air[Species::Ar.index()] = combustion::AIR_AR * n;
    air[Species::CO2.index()] = combustion::AIR_CO2 * n;
    air[Species::H2O.index()] = flue.air_moisture_kg / Species::H2O.molar_mass();
    Composition(air)
}
