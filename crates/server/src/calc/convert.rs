//! The input document converted, once, into `thermo`'s SI inputs and stated uncertainties.

use thermo::combustion::O2Basis as ThermoO2Basis;
use thermo::fuel::{
    self, DryAnalysis, Fuel, FuelKind as ThermoFuelKind, GasComponent, StatedHeatingValue,
};
use thermo::inputs::{
    Blowdown as ThermoBlowdown, CombustionAir as ThermoCombustionAir, DeadState as ThermoDeadState,
    EquipmentInputs, ExchangerStream, FiredInputs, FiredKind, FlueGasMeasurement,
    HeatExchangerInputs, LiquidStream as ThermoLiquid, MeteredHeat as ThermoMetered,
    SteamCondition, SteamOutput as ThermoSteam, SurfaceLoss, SurfaceMeasurement,
    UnburnedCarbon as ThermoUnburned, UsefulOutput, WaterStream as ThermoWater,
};
use thermo::phrase;
use thermo::phrase::{Phrase, celsius};
use thermo::quantity::STANDARD_ATMOSPHERE_PA;
use thermo::uncertainty::{InputId, InputUncertainty, UncertaintySpec};
use thermo::units::Dimension;
use thermo::{Fraction, MassFlow, Power, Pressure, Temperature};

use super::error::BoundaryError;
use super::input::{
    AnalysisBasis, Blowdown, CalculationInput, CombustionAir, DeadState, EquipmentType, FlueGas,
    FuelKind, FuelSpec, LiquidStream, O2Basis, Output, Stream, Surface, UltimateAnalysis,
    UncertaintyMethod, WaterStream,
};
use super::quantity::{Kind, Q, Stated, kind};

/// Monte Carlo samples when the document names none.
pub const DEFAULT_SAMPLES: u64 = 10_000;
/// Monte Carlo seed when the document names none.
pub const DEFAULT_SEED: u64 = 1;
/// Fuel temperature when the document names none, K: the 25 °C reference of the heat-loss
/// method, so that no sensible-heat credit is taken.
const DEFAULT_FUEL_TEMPERATURE_K: f64 = 298.15;

/// A note of the boundary on the result: a default it assumed, a loss it did not account.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What the engineer should know.
    pub message: Phrase,
}

/// One input whose uncertainty the document states.
#[derive(Debug, Clone, PartialEq)]
pub struct StatedInput {
    /// The thermo input and its expanded uncertainty (SI or relative).
    pub uncertainty: InputUncertainty,
    /// The field of the document it was stated on.
    pub path: String,
}

/// How the stated uncertainties are to be propagated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// First-order propagation requested.
    pub first_order: bool,
    /// Monte Carlo samples and seed, when requested.
    pub monte_carlo: Option<(usize, u64)>,
}

/// A validated calculation, ready for `thermo::calculate`.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The kind of equipment as the document names it.
    pub equipment: EquipmentType,
    /// The equipment's name, if given.
    pub name: Option<String>,
    /// The inputs in SI.
    pub inputs: EquipmentInputs,
    /// Stated uncertainties, in document order.
    pub stated: Vec<StatedInput>,
    /// Propagation plan; `None` when no uncertainty is stated.
    pub plan: Option<Plan>,
    /// Notes of the boundary (defaults assumed, losses not accounted).
    pub notes: Vec<Note>,
    /// Thermo field prefixes and the document paths they come from, for error messages.
    renames: Vec<(&'static str, String)>,
}

impl Converted {
    /// The document path of a thermo field (`output.steam_pressure` → `output.steam.pressure`).
    pub fn document_path(&self, thermo_field: &str) -> String {
        for (prefix, path) in &self.renames {
            if thermo_field == *prefix {
                return path.clone();
            }
            if let Some(rest) = thermo_field
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('.'))
            {
                return format!("{path}.{rest}");
            }
        }
        thermo_field.to_string()
    }

    /// A thermo error of the calculation, its field renamed to the document's path.
    pub fn error(&self, e: &thermo::Error) -> BoundaryError {
        BoundaryError::within("", e).with_path(self.document_path(e.field()))
    }
}

/// Reads values of the document into SI, collecting their stated uncertainties.
struct Reader {
    ambient: f64,
    stated: Vec<StatedInput>,
}

impl Reader {
    /// The value at `path` in SI (of the dimension it was read in, scaled by `to_si`), its
    /// uncertainty recorded against `id`.
    fn read_scaled<K: Kind>(
        &mut self,
        q: &Q<K>,
        path: &str,
        id: Option<InputId>,
        to_si: &dyn Fn(Dimension, f64) -> Result<f64, BoundaryError>,
    ) -> Result<f64, BoundaryError> {
        let (dim, si) = q
            .si_with_dimension(self.ambient)
            .map_err(|e| BoundaryError::at(path, &e))?;
        let value = to_si(dim, si)?;
        let stated = q.uncertainty(self.ambient).map_err(|e| {
            let at = BoundaryError::at(path, &e);
            BoundaryError::new(at.kind(), path, format!("uncertainty: {}", e.reason()))
        })?;
        if let Some(stated) = stated {
            let Some(input) = id else {
                return Err(BoundaryError::invalid(
                    path,
                    "an uncertainty is stated, but this value is not among the measured inputs \
                     whose uncertainty is propagated (see docs/CALC_INPUT.md)",
                ));
            };
            let expanded = match stated {
                Stated::Relative(r) => UncertaintySpec::Relative(r),
                Stated::Absolute { dimension, si } => {
                    UncertaintySpec::Absolute(to_si(dimension, si)?)
                }
            };
            self.stated.push(StatedInput {
                uncertainty: InputUncertainty { input, expanded },
                path: path.to_string(),
            });
        }
        Ok(value)
    }

    fn read<K: Kind>(
        &mut self,
        q: &Q<K>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<f64, BoundaryError> {
        self.read_scaled(q, path, id, &|_, si| Ok(si))
    }

    fn temperature(
        &mut self,
        q: &Q<kind::Temperature>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<Temperature, BoundaryError> {
        let si = self.read(q, path, id)?;
        Temperature::from_kelvin(si).map_err(|e| refused(q, path, &e))
    }

    fn pressure(
        &mut self,
        q: &Q<kind::Pressure>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<Pressure, BoundaryError> {
        let si = self.read(q, path, id)?;
        Pressure::from_pascal(si).map_err(|e| refused(q, path, &e))
    }

    fn mass_flow(
        &mut self,
        q: &Q<kind::MassFlow>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<MassFlow, BoundaryError> {
        let si = self.read(q, path, id)?;
        MassFlow::from_kg_per_s(si).map_err(|e| refused(q, path, &e))
    }

    fn power(
        &mut self,
        q: &Q<kind::Power>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<Power, BoundaryError> {
        let si = self.read(q, path, id)?;
        Power::from_watts(si).map_err(|e| refused(q, path, &e))
    }

    fn fraction(
        &mut self,
        q: &Q<kind::Fraction>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<Fraction, BoundaryError> {
        let si = self.read(q, path, id)?;
        Fraction::new(si).map_err(|e| {
            let hint = if si > 1.0 && si <= 100.0 {
                format!("; if {si} is meant in percent, write \"{si} %\"")
            } else {
                String::new()
            };
            refused(q, path, &e).with_reason_suffix(&hint)
        })
    }

    /// A positive finite SI value (area, velocity, specific heat), refused otherwise.
    fn positive_or_zero<K: Kind>(
        &mut self,
        q: &Q<K>,
        path: &str,
        id: Option<InputId>,
    ) -> Result<f64, BoundaryError> {
        let si = self.read(q, path, id)?;
        if si.is_finite() && si >= 0.0 {
            Ok(si)
        } else {
            Err(BoundaryError::invalid(
                path,
                format!("{si} {} is negative", K::DIMENSIONS[0].si_unit()),
            ))
        }
    }

    fn specific_heat(
        &mut self,
        q: &Q<kind::SpecificHeat>,
        path: &str,
    ) -> Result<f64, BoundaryError> {
        let si = self.read(q, path, None)?;
        if si.is_finite() && si > 0.0 {
            Ok(si)
        } else {
            Err(BoundaryError::invalid(
                path,
                format!("{si} J/(kg K) is not a positive specific heat"),
            ))
        }
    }
}

/// A value refused by a quantity constructor, shown as the user wrote it.
fn refused<K: Kind>(q: &Q<K>, path: &str, e: &thermo::Error) -> BoundaryError {
    BoundaryError::new(
        BoundaryError::at(path, e).kind(),
        path,
        format!("{}: {}", q.written(), e.reason()),
    )
}

fn required<'a, T>(
    value: &'a Option<T>,
    path: &str,
    equipment: EquipmentType,
) -> Result<&'a T, BoundaryError> {
    value.as_ref().ok_or_else(|| {
        BoundaryError::invalid(path, format!("is required for a {}", equipment.as_str()))
    })
}

fn absent<T>(value: &Option<T>, path: &str, equipment: EquipmentType) -> Result<(), BoundaryError> {
    match value {
        Some(_) => Err(BoundaryError::invalid(
            path,
            format!("does not apply to a {}", equipment.as_str()),
        )),
        None => Ok(()),
    }
}

/// Converts the document into thermo inputs, checking every value and naming the field of
/// every refusal.
pub fn convert(doc: &CalculationInput) -> Result<Converted, BoundaryError> {
    let equipment = doc.equipment.kind;
    let ambient = ambient_pressure(doc)?;
    let mut reader = Reader {
        ambient,
        stated: Vec::new(),
    };
    let dead_state = match &doc.dead_state {
        None => ThermoDeadState::standard(),
        Some(d) => dead_state(&mut reader, d)?,
    };
    let mut notes = Vec::new();
    let (inputs, renames) = if equipment == EquipmentType::HeatExchanger {
        for (present, path) in [
            (doc.fuel.is_some(), "fuel"),
            (doc.fuel_flow.is_some(), "fuel_flow"),
            (doc.output.is_some(), "output"),
            (doc.flue_gas.is_some(), "flue_gas"),
            (doc.combustion_air.is_some(), "combustion_air"),
            (doc.unburned_carbon.is_some(), "unburned_carbon"),
            (doc.surface.is_some(), "surface"),
            (doc.auxiliary_power.is_some(), "auxiliary_power"),
        ] {
            if present {
                return Err(BoundaryError::invalid(
                    path,
                    "does not apply to a heat_exchanger",
                ));
            }
        }
        let hot = required(&doc.hot, "hot", equipment)?;
        let cold = required(&doc.cold, "cold", equipment)?;
        let inputs = HeatExchangerInputs {
            hot: stream(&mut reader, hot, "hot")?,
            cold: stream(&mut reader, cold, "cold")?,
            dead_state,
        };
        if let Some(first) = reader.stated.first() {
            return Err(BoundaryError::invalid(
                first.path.clone(),
                "uncertainty propagation is available for fired equipment only",
            ));
        }
        let renames = vec![
            ("hot.dead_state", "dead_state".to_string()),
            ("cold.dead_state", "dead_state".to_string()),
            ("hot", format!("hot.{}", stream_name(hot))),
            ("cold", format!("cold.{}", stream_name(cold))),
        ];
        (EquipmentInputs::HeatExchanger(inputs), renames)
    } else {
        absent(&doc.hot, "hot", equipment)?;
        absent(&doc.cold, "cold", equipment)?;
        let (fired, renames) = fired(&mut reader, doc, equipment, dead_state, &mut notes)?;
        (EquipmentInputs::Fired(fired), renames)
    };
    let plan = plan(doc, &reader.stated)?;
    Ok(Converted {
        equipment,
        name: doc.equipment.name.clone(),
        inputs,
        stated: reader.stated,
        plan,
        notes,
        renames,
    })
}

/// The ambient pressure for gauge readings: stated, else the barometric pressure of the
/// combustion air, else the standard atmosphere. Both must be written in absolute units.
fn ambient_pressure(doc: &CalculationInput) -> Result<f64, BoundaryError> {
    let absolute = |q: &Q<kind::Pressure>, path: &str| -> Result<f64, BoundaryError> {
        if q.is_gauge() {
            return Err(BoundaryError::invalid(
                path,
                "is a barometric pressure: write it in an absolute unit (kPa, bar, psia, inHg)",
            ));
        }
        let si = q
            .si(STANDARD_ATMOSPHERE_PA)
            .map_err(|e| BoundaryError::at(path, &e))?;
        Pressure::from_pascal(si).map_err(|e| refused(q, path, &e))?;
        Ok(si)
    };
    if let Some(q) = &doc.ambient_pressure {
        return absolute(q, "ambient_pressure");
    }
    match doc
        .combustion_air
        .as_ref()
        .and_then(|a| a.pressure.as_ref())
    {
        Some(q) => absolute(q, "combustion_air.pressure"),
        None => Ok(STANDARD_ATMOSPHERE_PA),
    }
}

fn dead_state(reader: &mut Reader, d: &DeadState) -> Result<ThermoDeadState, BoundaryError> {
    if d.pressure.is_gauge() {
        return Err(BoundaryError::invalid(
            "dead_state.pressure",
            "write the dead-state pressure in an absolute unit",
        ));
    }
    Ok(ThermoDeadState {
        temperature: reader.temperature(&d.temperature, "dead_state.temperature", None)?,
        pressure: reader.pressure(&d.pressure, "dead_state.pressure", None)?,
    })
}

fn stream_name(s: &Stream) -> &'static str {
    match s {
        Stream::Water(_) => "water",
        Stream::Liquid(_) => "liquid",
    }
}

fn stream(reader: &mut Reader, s: &Stream, side: &str) -> Result<ExchangerStream, BoundaryError> {
    Ok(match s {
        Stream::Water(w) => {
            ExchangerStream::Water(water(reader, w, &format!("{side}.water"), false)?)
        }
        Stream::Liquid(l) => {
            ExchangerStream::Liquid(liquid(reader, l, &format!("{side}.liquid"), false)?)
        }
    })
}

/// A water stream; `measured` ties its uncertainties to the output-stream inputs of thermo.
fn water(
    reader: &mut Reader,
    w: &WaterStream,
    path: &str,
    measured: bool,
) -> Result<ThermoWater, BoundaryError> {
    let id = |i: InputId| measured.then_some(i);
    Ok(ThermoWater {
        flow: reader.mass_flow(&w.flow, &format!("{path}.flow"), id(InputId::OutputFlow))?,
        inlet_temperature: reader.temperature(
            &w.inlet_temperature,
            &format!("{path}.inlet_temperature"),
            id(InputId::OutputInletTemperature),
        )?,
        outlet_temperature: reader.temperature(
            &w.outlet_temperature,
            &format!("{path}.outlet_temperature"),
            id(InputId::OutputOutletTemperature),
        )?,
        pressure: reader.pressure(&w.pressure, &format!("{path}.pressure"), None)?,
    })
}

fn liquid(
    reader: &mut Reader,
    l: &LiquidStream,
    path: &str,
    measured: bool,
) -> Result<ThermoLiquid, BoundaryError> {
    let id = |i: InputId| measured.then_some(i);
    Ok(ThermoLiquid {
        flow: reader.mass_flow(&l.flow, &format!("{path}.flow"), id(InputId::OutputFlow))?,
        specific_heat: reader.specific_heat(&l.specific_heat, &format!("{path}.specific_heat"))?,
        inlet_temperature: reader.temperature(
            &l.inlet_temperature,
            &format!("{path}.inlet_temperature"),
            id(InputId::OutputInletTemperature),
        )?,
        outlet_temperature: reader.temperature(
            &l.outlet_temperature,
            &format!("{path}.outlet_temperature"),
            id(InputId::OutputOutletTemperature),
        )?,
    })
}

type Renames = Vec<(&'static str, String)>;

fn fired(
    reader: &mut Reader,
    doc: &CalculationInput,
    equipment: EquipmentType,
    dead_state: ThermoDeadState,
    notes: &mut Vec<Note>,
) -> Result<(FiredInputs, Renames), BoundaryError> {
    let kind = match equipment {
        EquipmentType::SteamBoiler => FiredKind::SteamBoiler,
        EquipmentType::HotWaterBoiler => FiredKind::HotWaterBoiler,
        EquipmentType::ThermalOilHeater => FiredKind::ThermalOilHeater,
        EquipmentType::FiredHeater => FiredKind::FiredHeater,
        EquipmentType::ProcessFurnace => FiredKind::ProcessFurnace,
        EquipmentType::HeatExchanger => {
            return Err(BoundaryError::invalid(
                "equipment.type",
                "a heat exchanger burns no fuel",
            ));
        }
    };
    let spec = required(&doc.fuel, "fuel", equipment)?;
    let (fuel, heating_value_path) = fuel(reader, spec)?;
    let fuel_flow = fuel_flow(
        reader,
        required(&doc.fuel_flow, "fuel_flow", equipment)?,
        &fuel,
    )?;
    let fuel_temperature = match &spec.temperature {
        Some(q) => reader.temperature(q, "fuel.temperature", Some(InputId::FuelTemperature))?,
        None => {
            notes.push(Note {
                code: "fuel_temperature_assumed",
                message: phrase!(
                    "fuel.temperature not given: taken as {}, the reference temperature, so \
                     no fuel sensible-heat credit is counted",
                    celsius(DEFAULT_FUEL_TEMPERATURE_K, 0)
                ),
            });
            Temperature::from_kelvin(DEFAULT_FUEL_TEMPERATURE_K)
                .map_err(|e| BoundaryError::at("fuel.temperature", &e))?
        }
    };
    let fuel_specific_heat = spec
        .specific_heat
        .as_ref()
        .map(|q| reader.specific_heat(q, "fuel.specific_heat"))
        .transpose()?;
    let output_doc = required(&doc.output, "output", equipment)?;
    let (output, output_name) = output(reader, output_doc)?;
    let flue_gas = flue_gas(reader, required(&doc.flue_gas, "flue_gas", equipment)?)?;
    let combustion_air = combustion_air(
        reader,
        required(&doc.combustion_air, "combustion_air", equipment)?,
    )?;
    let unburned_carbon = doc
        .unburned_carbon
        .as_ref()
        .map(|u| {
            reader
                .fraction(
                    &u.carbon_in_refuse,
                    "unburned_carbon.carbon_in_refuse",
                    Some(InputId::CarbonInRefuse),
                )
                .map(|carbon_in_refuse| ThermoUnburned { carbon_in_refuse })
        })
        .transpose()?;
    let (surface, surface_name) = match &doc.surface {
        None => {
            notes.push(Note {
                code: "surface_loss_not_accounted",
                message: Phrase::text(
                    "no surface (radiation and convection) loss given: it is not accounted, so \
                     it shows up in the unaccounted heat and the heat-loss efficiency is \
                     overstated by it",
                ),
            });
            (SurfaceLoss::NotAccounted, "surface")
        }
        Some(Surface::FractionOfRating(s)) => (
            SurfaceLoss::FractionOfRating {
                fraction: reader.fraction(
                    &s.fraction,
                    "surface.fraction_of_rating.fraction",
                    None,
                )?,
                rating: reader.power(&s.rating, "surface.fraction_of_rating.rating", None)?,
            },
            "surface.fraction_of_rating",
        ),
        Some(Surface::Measured(m)) => {
            let p = "surface.measured";
            (
                SurfaceLoss::Measured(SurfaceMeasurement {
                    area: reader.positive_or_zero(
                        &m.area,
                        &format!("{p}.area"),
                        Some(InputId::SurfaceArea),
                    )?,
                    temperature: reader.temperature(
                        &m.temperature,
                        &format!("{p}.temperature"),
                        Some(InputId::SurfaceTemperature),
                    )?,
                    ambient_temperature: reader.temperature(
                        &m.ambient_temperature,
                        &format!("{p}.ambient_temperature"),
                        None,
                    )?,
                    air_velocity: reader.positive_or_zero(
                        &m.air_velocity,
                        &format!("{p}.air_velocity"),
                        Some(InputId::SurfaceAirVelocity),
                    )?,
                    emissivity: reader.fraction(&m.emissivity, &format!("{p}.emissivity"), None)?,
                }),
                p,
            )
        }
    };
    let auxiliary_power = match &doc.auxiliary_power {
        Some(q) => reader.power(q, "auxiliary_power", Some(InputId::AuxiliaryPower))?,
        None => Power::from_watts(0.0).map_err(|e| BoundaryError::at("auxiliary_power", &e))?,
    };
    let steam = |field: &str| format!("output.steam.{field}");
    let out = format!("output.{output_name}");
    let renames: Renames = vec![
        ("fuel_specific_heat", "fuel.specific_heat".to_string()),
        ("fuel_temperature", "fuel.temperature".to_string()),
        ("fuel.heating_value", heating_value_path.to_string()),
        ("flue_gas.co_fraction_dry", "flue_gas.co_dry".to_string()),
        ("flue_gas.co", "flue_gas.co_dry".to_string()),
        (
            "combustion_air.t_air",
            "combustion_air.temperature".to_string(),
        ),
        ("output.dead_state", "dead_state".to_string()),
        ("output.steam_flow", steam("flow")),
        ("output.steam_pressure", steam("pressure")),
        ("output.steam_temperature", steam("temperature")),
        ("output.steam_quality", steam("quality")),
        (
            "output.feedwater_temperature",
            steam("feedwater_temperature"),
        ),
        ("output.feedwater_pressure", steam("feedwater_pressure")),
        ("output.blowdown", steam("blowdown")),
        ("output", out),
        ("surface", surface_name.to_string()),
    ];
    Ok((
        FiredInputs {
            kind,
            fuel,
            fuel_flow,
            fuel_temperature,
            fuel_specific_heat,
            output,
            flue_gas,
            combustion_air,
            unburned_carbon,
            surface,
            auxiliary_power,
            dead_state,
        },
        renames,
    ))
}

/// The fuel, and the document path of its heating value (for uncertainty messages).
fn fuel(reader: &mut Reader, spec: &FuelSpec) -> Result<(Fuel, &'static str), BoundaryError> {
    let stated = match (&spec.hhv, &spec.lhv) {
        (Some(_), Some(_)) => {
            return Err(BoundaryError::invalid(
                "fuel.lhv",
                "state one heating value: the other follows from the latent heat of the water \
                 the fuel forms and carries",
            ));
        }
        (Some(q), None) => Some(StatedHeatingValue::Gross(reader.read(
            q,
            "fuel.hhv",
            Some(InputId::FuelHeatingValue),
        )?)),
        (None, Some(q)) => {
            let lhv = reader.read(q, "fuel.lhv", Some(InputId::FuelHeatingValue))?;
            // Thermo varies the HHV; the LHV's absolute uncertainty is the HHV's, since the
            // two differ by the fixed latent heat of the fuel's water.
            if let Some(last) = reader.stated.last_mut()
                && let (InputId::FuelHeatingValue, UncertaintySpec::Relative(r)) =
                    (last.uncertainty.input, last.uncertainty.expanded)
            {
                last.uncertainty.expanded = UncertaintySpec::Absolute(r * lhv);
            }
            Some(StatedHeatingValue::Net(lhv))
        }
        (None, None) => None,
    };
    let path = match stated {
        Some(StatedHeatingValue::Net(_)) => "fuel.lhv",
        _ => "fuel.hhv",
    };
    let with_stated = |fuel: Fuel| match stated {
        None => Ok(fuel),
        Some(StatedHeatingValue::Gross(v)) => fuel.with_stated_hhv(v),
        Some(StatedHeatingValue::Net(v)) => fuel.with_stated_lhv(v),
    };
    let fuel = match (&spec.standard, spec.kind) {
        (Some(_), Some(_)) => {
            return Err(BoundaryError::invalid(
                "fuel.kind",
                "a standard fuel has its own kind: give `standard` or a custom fuel, not both",
            ));
        }
        (Some(standard), None) => {
            for (present, field) in [
                (spec.name.is_some(), "fuel.name"),
                (
                    spec.composition_mol_percent.is_some(),
                    "fuel.composition_mol_percent",
                ),
                (
                    spec.ultimate_analysis_mass_percent.is_some(),
                    "fuel.ultimate_analysis_mass_percent",
                ),
                (spec.basis.is_some(), "fuel.basis"),
                (spec.moisture.is_some(), "fuel.moisture"),
            ] {
                if present {
                    return Err(BoundaryError::invalid(
                        field,
                        "does not apply to a standard fuel, whose name and composition are fixed",
                    ));
                }
            }
            let fuel = fuel::standard(standard.id()).ok_or_else(|| {
                BoundaryError::invalid(
                    "fuel.standard",
                    format!("\"{}\" is not in the fuel library", standard.id()),
                )
            })?;
            with_stated(fuel).map_err(|e| BoundaryError::at(path, &e))?
        }
        (None, None) => {
            return Err(BoundaryError::invalid(
                "fuel.kind",
                "is required for a custom fuel (gas, liquid or solid); or name a `standard` fuel",
            ));
        }
        (None, Some(FuelKind::Gas)) => {
            let gas = gas_fuel(spec)?;
            with_stated(gas).map_err(|e| BoundaryError::at(path, &e))?
        }
        (None, Some(kind)) => analysed_fuel(reader, spec, kind, stated)?,
    };
    Ok((fuel, path))
}

fn fuel_name(spec: &FuelSpec) -> Result<&str, BoundaryError> {
    spec.name
        .as_deref()
        .ok_or_else(|| BoundaryError::invalid("fuel.name", "is required for a custom fuel"))
}

fn gas_fuel(spec: &FuelSpec) -> Result<Fuel, BoundaryError> {
    let name = fuel_name(spec)?;
    for (present, path) in [
        (
            spec.ultimate_analysis_mass_percent.is_some(),
            "fuel.ultimate_analysis_mass_percent",
        ),
        (spec.basis.is_some(), "fuel.basis"),
        (spec.moisture.is_some(), "fuel.moisture"),
    ] {
        if present {
            return Err(BoundaryError::invalid(
                path,
                "does not apply to a gas, which is defined by composition_mol_percent",
            ));
        }
    }
    let composition = spec.composition_mol_percent.as_ref().ok_or_else(|| {
        BoundaryError::invalid(
            "fuel.composition_mol_percent",
            "is required for a gaseous fuel",
        )
    })?;
    let mut fractions = Vec::new();
    for ((name, percent), component) in composition.entries().into_iter().zip(GasComponent::ALL) {
        if let Some(p) = percent {
            if !(p.is_finite() && (0.0..=100.0).contains(&p)) {
                return Err(BoundaryError::invalid(
                    format!("fuel.composition_mol_percent.{name}"),
                    format!("{p} is not a mole percentage in 0..100"),
                ));
            }
            fractions.push((component, p / 100.0));
        }
    }
    Fuel::gas(name, &fractions)
        .map_err(|e| BoundaryError::within("fuel.composition_mol_percent", &e))
}

fn analysed_fuel(
    reader: &mut Reader,
    spec: &FuelSpec,
    kind: FuelKind,
    stated: Option<StatedHeatingValue>,
) -> Result<Fuel, BoundaryError> {
    let name = fuel_name(spec)?;
    if spec.composition_mol_percent.is_some() {
        return Err(BoundaryError::invalid(
            "fuel.composition_mol_percent",
            "does not apply to a liquid or solid fuel, defined by its ultimate analysis",
        ));
    }
    let path = "fuel.ultimate_analysis_mass_percent";
    let ua = spec
        .ultimate_analysis_mass_percent
        .as_ref()
        .ok_or_else(|| BoundaryError::invalid(path, "is required for a liquid or solid fuel"))?;
    let basis = spec.basis.ok_or_else(|| {
        BoundaryError::invalid(
            "fuel.basis",
            "is required with an ultimate analysis: as_fired or dry",
        )
    })?;
    let analysis = analysis(reader, ua, basis, spec.moisture.as_ref())?;
    let thermo_kind = if kind == FuelKind::Liquid {
        ThermoFuelKind::Liquid
    } else {
        ThermoFuelKind::Solid
    };
    match stated {
        // A stated value replaces the correlation, whose validity range then does not matter.
        Some(v) => Fuel::ultimate_stated(name, thermo_kind, analysis, v).map_err(|e| {
            let at = if matches!(v, StatedHeatingValue::Net(_)) {
                "fuel.lhv"
            } else {
                "fuel.hhv"
            };
            if matches!(e.field(), "hhv" | "lhv") {
                BoundaryError::at(at, &e)
            } else {
                BoundaryError::within(path, &e)
            }
        }),
        None => {
            Fuel::ultimate(name, thermo_kind, analysis).map_err(|e| BoundaryError::within(path, &e))
        }
    }
}

fn analysis(
    reader: &mut Reader,
    ua: &UltimateAnalysis,
    basis: AnalysisBasis,
    moisture: Option<&Q<kind::Fraction>>,
) -> Result<fuel::UltimateAnalysis, BoundaryError> {
    let path = "fuel.ultimate_analysis_mass_percent";
    let parts = [
        ("carbon", ua.carbon),
        ("hydrogen", ua.hydrogen),
        ("oxygen", ua.oxygen),
        ("nitrogen", ua.nitrogen),
        ("sulfur", ua.sulfur),
        ("moisture", ua.moisture.unwrap_or(0.0)),
        ("ash", ua.ash),
    ];
    for (name, value) in parts {
        if !(value.is_finite() && (0.0..=100.0).contains(&value)) {
            return Err(BoundaryError::invalid(
                format!("{path}.{name}"),
                format!("{value} is not a mass percentage in 0..100"),
            ));
        }
    }
    let f = |x: f64| x / 100.0;
    match basis {
        AnalysisBasis::AsFired => {
            if moisture.is_some() {
                return Err(BoundaryError::invalid(
                    "fuel.moisture",
                    "applies to a dry analysis only; an as-fired analysis includes its moisture",
                ));
            }
            let a = fuel::UltimateAnalysis {
                carbon: f(ua.carbon),
                hydrogen: f(ua.hydrogen),
                oxygen: f(ua.oxygen),
                nitrogen: f(ua.nitrogen),
                sulfur: f(ua.sulfur),
                moisture: f(ua.moisture.unwrap_or(0.0)),
                ash: f(ua.ash),
            };
            a.validate().map_err(|e| BoundaryError::within(path, &e))?;
            Ok(a)
        }
        AnalysisBasis::Dry => {
            if ua.moisture.is_some() {
                return Err(BoundaryError::invalid(
                    format!("{path}.moisture"),
                    "a dry analysis has no moisture: give the as-fired moisture as fuel.moisture",
                ));
            }
            let m = moisture.ok_or_else(|| {
                BoundaryError::invalid(
                    "fuel.moisture",
                    "is required with a dry analysis (moisture as fired)",
                )
            })?;
            let moisture = reader.fraction(m, "fuel.moisture", None)?;
            let dry = DryAnalysis {
                carbon: f(ua.carbon),
                hydrogen: f(ua.hydrogen),
                oxygen: f(ua.oxygen),
                nitrogen: f(ua.nitrogen),
                sulfur: f(ua.sulfur),
                ash: f(ua.ash),
            };
            fuel::UltimateAnalysis::from_dry(dry, moisture).map_err(|e| {
                let at = if e.field() == "moisture" {
                    "fuel"
                } else {
                    path
                };
                BoundaryError::within(at, &e)
            })
        }
    }
}

/// Fuel mass flow; a standard-volume flow of a gas is converted with its molar mass.
fn fuel_flow(
    reader: &mut Reader,
    q: &Q<kind::FuelFlow>,
    fuel: &Fuel,
) -> Result<MassFlow, BoundaryError> {
    let path = "fuel_flow";
    let molar_mass = fuel.molar_mass();
    let to_kg_per_s = |dim: Dimension, si: f64| match (dim, molar_mass) {
        (Dimension::StandardVolumeFlow, Some(m)) => Ok(si * m),
        (Dimension::StandardVolumeFlow, None) => Err(BoundaryError::invalid(
            path,
            "a flow at standard conditions applies to gaseous fuels only; give a liquid or solid \
             fuel's flow as a mass flow (kg/h, t/h, lb/h)",
        )),
        _ => Ok(si),
    };
    let si = reader.read_scaled(q, path, Some(InputId::FuelFlow), &to_kg_per_s)?;
    MassFlow::from_kg_per_s(si).map_err(|e| refused(q, path, &e))
}

fn output(
    reader: &mut Reader,
    output: &Output,
) -> Result<(UsefulOutput, &'static str), BoundaryError> {
    Ok(match output {
        Output::Steam(s) => {
            let p = |f: &str| format!("output.steam.{f}");
            let steam_condition = match (&s.temperature, &s.quality) {
                (Some(t), None) => SteamCondition::Superheated(reader.temperature(
                    t,
                    &p("temperature"),
                    Some(InputId::SteamTemperature),
                )?),
                (None, Some(x)) => SteamCondition::Saturated {
                    quality: reader.fraction(x, &p("quality"), None)?,
                },
                (Some(_), Some(_)) => {
                    return Err(BoundaryError::invalid(
                        p("quality"),
                        "give the steam temperature (superheated) or its quality (saturated), \
                         not both",
                    ));
                }
                (None, None) => {
                    return Err(BoundaryError::invalid(
                        p("temperature"),
                        "is required for superheated steam; for saturated steam give \
                         `quality` (1 for dry saturated) instead",
                    ));
                }
            };
            let blowdown = match &s.blowdown {
                None => ThermoBlowdown::None,
                Some(Blowdown::FractionOfFeedwater(q)) => {
                    ThermoBlowdown::FractionOfFeedwater(reader.fraction(
                        q,
                        &p("blowdown.fraction_of_feedwater"),
                        Some(InputId::Blowdown),
                    )?)
                }
                Some(Blowdown::Flow(q)) => ThermoBlowdown::Flow(reader.mass_flow(
                    q,
                    &p("blowdown.flow"),
                    Some(InputId::Blowdown),
                )?),
            };
            let steam = ThermoSteam {
                steam_flow: reader.mass_flow(&s.flow, &p("flow"), Some(InputId::SteamFlow))?,
                steam_pressure: reader.pressure(
                    &s.pressure,
                    &p("pressure"),
                    Some(InputId::SteamPressure),
                )?,
                steam_condition,
                feedwater_temperature: reader.temperature(
                    &s.feedwater_temperature,
                    &p("feedwater_temperature"),
                    Some(InputId::FeedwaterTemperature),
                )?,
                feedwater_pressure: s
                    .feedwater_pressure
                    .as_ref()
                    .map(|q| reader.pressure(q, &p("feedwater_pressure"), None))
                    .transpose()?,
                blowdown,
            };
            (UsefulOutput::Steam(steam), "steam")
        }
        Output::Water(w) => (
            UsefulOutput::Water(water(reader, w, "output.water", true)?),
            "water",
        ),
        Output::Liquid(l) => (
            UsefulOutput::Liquid(liquid(reader, l, "output.liquid", true)?),
            "liquid",
        ),
        Output::Metered(m) => (
            UsefulOutput::Metered(ThermoMetered {
                duty: reader.power(&m.duty, "output.metered.duty", Some(InputId::OutputDuty))?,
                delivery_temperature: reader.temperature(
                    &m.delivery_temperature,
                    "output.metered.delivery_temperature",
                    None,
                )?,
            }),
            "metered",
        ),
    })
}

fn flue_gas(reader: &mut Reader, f: &FlueGas) -> Result<FlueGasMeasurement, BoundaryError> {
    let co_dry = match &f.co_dry {
        Some(q) => reader.fraction(q, "flue_gas.co_dry", Some(InputId::FlueGasCo))?,
        None => Fraction::new(0.0).map_err(|e| BoundaryError::at("flue_gas.co_dry", &e))?,
    };
    Ok(FlueGasMeasurement {
        o2: reader.fraction(&f.o2, "flue_gas.o2", Some(InputId::FlueGasO2))?,
        o2_basis: match f.o2_basis {
            O2Basis::Dry => ThermoO2Basis::Dry,
            O2Basis::Wet => ThermoO2Basis::Wet,
        },
        temperature: reader.temperature(
            &f.temperature,
            "flue_gas.temperature",
            Some(InputId::FlueGasTemperature),
        )?,
        co_dry,
    })
}

fn combustion_air(
    reader: &mut Reader,
    a: &CombustionAir,
) -> Result<ThermoCombustionAir, BoundaryError> {
    let pressure = match &a.pressure {
        Some(q) => reader.pressure(
            q,
            "combustion_air.pressure",
            Some(InputId::CombustionAirPressure),
        )?,
        None => Pressure::from_pascal(reader.ambient)
            .map_err(|e| BoundaryError::at("combustion_air.pressure", &e))?,
    };
    Ok(ThermoCombustionAir {
        temperature: reader.temperature(
            &a.temperature,
            "combustion_air.temperature",
            Some(InputId::CombustionAirTemperature),
        )?,
        relative_humidity: reader.fraction(
            &a.relative_humidity,
            "combustion_air.relative_humidity",
            Some(InputId::CombustionAirRelativeHumidity),
        )?,
        pressure,
    })
}

fn plan(doc: &CalculationInput, stated: &[StatedInput]) -> Result<Option<Plan>, BoundaryError> {
    let Some(options) = &doc.uncertainty else {
        return Ok((!stated.is_empty()).then_some(Plan {
            first_order: true,
            monte_carlo: None,
        }));
    };
    if stated.is_empty() {
        return Err(BoundaryError::invalid(
            "uncertainty",
            "no value states an uncertainty: write values as {\"value\", \"unit\", \"uncertainty\"}",
        ));
    }
    let monte_carlo = matches!(
        options.method,
        UncertaintyMethod::MonteCarlo | UncertaintyMethod::Both
    );
    if !monte_carlo {
        for (present, path) in [
            (options.samples.is_some(), "uncertainty.samples"),
            (options.seed.is_some(), "uncertainty.seed"),
        ] {
            if present {
                return Err(BoundaryError::invalid(
                    path,
                    "applies to the Monte Carlo method only",
                ));
            }
        }
    }
    let samples = options.samples.unwrap_or(DEFAULT_SAMPLES);
    let samples = usize::try_from(samples).map_err(|_| {
        BoundaryError::invalid("uncertainty.samples", format!("{samples} is too large"))
    })?;
    Ok(Some(Plan {
        first_order: matches!(
            options.method,
            UncertaintyMethod::FirstOrder | UncertaintyMethod::Both
        ),
        monte_carlo: monte_carlo.then_some((samples, options.seed.unwrap_or(DEFAULT_SEED))),
    }))
}
