//! Provenance: a SHA-256 over the canonical form of the inputs and the method version.
//!
//! The canonical form is plain text, one `path=value` line per field in a fixed order, so an
//! auditor can read what was hashed. Every number is written with Rust's shortest round-trip
//! formatting (`Display` of `f64`), so two inputs give the same text exactly when their numbers
//! have the same bits; enums are written by stable names and strings quoted with escapes. The
//! fuel is written in full (elemental composition, mole fractions, heating values and their
//! origin), not by its name, so an edited custom fuel gets a new hash.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::combustion::O2Basis;
use crate::fuel::{Fuel, FuelKind, GasComponent, HeatingValueOrigin};
use crate::inputs::{
    Blowdown, DeadState, EquipmentInputs, ExchangerStream, FiredInputs, LiquidStream,
    SteamCondition, SurfaceLoss, UsefulOutput, WaterStream,
};
use crate::uncertainty::{InputUncertainty, UncertaintySpec};

/// Version of the calculation method, the first line of every canonical text.
///
/// Bump rule: any change that can change a reported number for the same inputs (a formula,
/// a constant, a correlation, a property formulation, a default, the order of a sum) or the
/// canonical text itself bumps this version, so a hash never vouches for two different results.
pub const METHOD_VERSION: &str = "thermaliq-method/1";

/// A Monte Carlo run's parameters: its result depends on them, so they are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonteCarloRun {
    /// Number of samples.
    pub samples: usize,
    /// Seed of the random-number generator.
    pub seed: u64,
}

/// Canonical text of one calculation's inputs, stated uncertainties and Monte Carlo run (if
/// any); first line [`METHOD_VERSION`], uncertainties in the order of
/// [`InputId::ALL`](crate::uncertainty::InputId::ALL).
pub fn canonical_text(
    inputs: &EquipmentInputs,
    uncertainties: &[InputUncertainty],
    monte_carlo: Option<MonteCarloRun>,
) -> String {
    let mut t = Canonical(String::with_capacity(4096));
    t.0.push_str(METHOD_VERSION);
    t.0.push('\n');
    match inputs {
        EquipmentInputs::Fired(f) => fired(&mut t, f),
        EquipmentInputs::HeatExchanger(h) => {
            t.text("equipment", "heat_exchanger");
            exchanger_stream(&mut t, "hot", &h.hot);
            exchanger_stream(&mut t, "cold", &h.cold);
            dead_state(&mut t, &h.dead_state);
        }
    }
    let mut sorted = uncertainties.to_vec();
    sorted.sort_by_key(|u| u.input.position());
    for u in &sorted {
        let (kind, amount) = match u.expanded {
            UncertaintySpec::Absolute(a) => ("absolute", a),
            UncertaintySpec::Relative(r) => ("relative", r),
        };
        t.line(
            &format!("uncertainty.{}", u.input.as_str()),
            format_args!("{kind}:{amount}"),
        );
    }
    if let Some(run) = monte_carlo {
        t.line("monte_carlo.samples", format_args!("{}", run.samples));
        t.line("monte_carlo.seed", format_args!("{}", run.seed));
    }
    t.0
}

/// Lowercase hexadecimal SHA-256 (FIPS 180-4) of [`canonical_text`].
pub fn provenance_hash(
    inputs: &EquipmentInputs,
    uncertainties: &[InputUncertainty],
    monte_carlo: Option<MonteCarloRun>,
) -> String {
    sha256_hex(canonical_text(inputs, uncertainties, monte_carlo).as_bytes())
}

/// Lowercase hexadecimal SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The text being built; every write goes through [`Canonical::line`].
struct Canonical(String);

impl Canonical {
    fn line(&mut self, path: &str, value: std::fmt::Arguments<'_>) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.0, "{path}={value}");
    }

    fn num(&mut self, path: &str, value: f64) {
        self.line(path, format_args!("{value}"));
    }

    fn text(&mut self, path: &str, value: &str) {
        self.line(path, format_args!("{value}"));
    }

    fn option(&mut self, path: &str, value: Option<f64>) {
        match value {
            Some(v) => self.num(path, v),
            None => self.text(path, "none"),
        }
    }
}

fn fired(t: &mut Canonical, f: &FiredInputs) {
    t.text("equipment", "fired");
    t.text("kind", f.kind.as_str());
    fuel(t, &f.fuel);
    t.num("fuel_flow", f.fuel_flow.kg_per_s());
    t.num("fuel_temperature", f.fuel_temperature.kelvin());
    t.option("fuel_specific_heat", f.fuel_specific_heat);
    useful_output(t, &f.output);
    t.num("flue_gas.o2", f.flue_gas.o2.value());
    t.text(
        "flue_gas.o2_basis",
        match f.flue_gas.o2_basis {
            O2Basis::Dry => "dry",
            O2Basis::Wet => "wet",
        },
    );
    t.num("flue_gas.temperature", f.flue_gas.temperature.kelvin());
    t.num("flue_gas.co", f.flue_gas.co_dry.value());
    t.num(
        "combustion_air.temperature",
        f.combustion_air.temperature.kelvin(),
    );
    t.num(
        "combustion_air.relative_humidity",
        f.combustion_air.relative_humidity.value(),
    );
    t.num(
        "combustion_air.pressure",
        f.combustion_air.pressure.pascal(),
    );
    t.option(
        "unburned_carbon.carbon_in_refuse",
        f.unburned_carbon.map(|u| u.carbon_in_refuse.value()),
    );
    match f.surface {
        SurfaceLoss::NotAccounted => t.text("surface", "not_accounted"),
        SurfaceLoss::FractionOfRating { fraction, rating } => {
            t.text("surface", "fraction_of_rating");
            t.num("surface.fraction", fraction.value());
            t.num("surface.rating", rating.watts());
        }
        SurfaceLoss::Measured(m) => {
            t.text("surface", "measured");
            t.num("surface.area", m.area);
            t.num("surface.temperature", m.temperature.kelvin());
            t.num(
                "surface.ambient_temperature",
                m.ambient_temperature.kelvin(),
            );
            t.num("surface.air_velocity", m.air_velocity);
            t.num("surface.emissivity", m.emissivity.value());
        }
    }
    t.num("auxiliary_power", f.auxiliary_power.watts());
    dead_state(t, &f.dead_state);
}

fn fuel(t: &mut Canonical, fuel: &Fuel) {
    t.line("fuel.name", format_args!("{:?}", fuel.name()));
    t.text(
        "fuel.kind",
        match fuel.kind() {
            FuelKind::Gas => "gas",
            FuelKind::Liquid => "liquid",
            FuelKind::Solid => "solid",
        },
    );
    let e = fuel.elemental();
    for (name, value) in [
        ("c", e.c),
        ("h", e.h),
        ("o", e.o),
        ("n", e.n),
        ("s", e.s),
        ("moisture", e.moisture),
        ("ash", e.ash),
        ("argon", e.argon),
        ("helium", e.helium),
    ] {
        t.num(&format!("fuel.elemental.{name}"), value);
    }
    if let Some(x) = fuel.mole_fractions() {
        for component in GasComponent::ALL {
            t.num(
                &format!("fuel.mole_fraction.{}", component.name()),
                x[component.index()],
            );
        }
    }
    t.option("fuel.molar_mass", fuel.molar_mass());
    t.num("fuel.hhv", fuel.hhv());
    t.text("fuel.hhv_origin", origin(fuel.hhv_origin()));
    t.num("fuel.lhv", fuel.lhv());
    t.text("fuel.lhv_origin", origin(fuel.lhv_origin()));
}

fn origin(o: HeatingValueOrigin) -> &'static str {
    match o {
        HeatingValueOrigin::ComponentTable => "component_table",
        HeatingValueOrigin::Correlation => "correlation",
        HeatingValueOrigin::Stated => "stated",
        HeatingValueOrigin::FromOtherBasis => "from_other_basis",
    }
}

fn useful_output(t: &mut Canonical, output: &UsefulOutput) {
    match output {
        UsefulOutput::Steam(s) => {
            t.text("output", "steam");
            t.num("output.steam_flow", s.steam_flow.kg_per_s());
            t.num("output.steam_pressure", s.steam_pressure.pascal());
            match s.steam_condition {
                SteamCondition::Superheated(temperature) => {
                    t.text("output.steam_condition", "superheated");
                    t.num("output.steam_temperature", temperature.kelvin());
                }
                SteamCondition::Saturated { quality } => {
                    t.text("output.steam_condition", "saturated");
                    t.num("output.steam_quality", quality.value());
                }
            }
            t.num(
                "output.feedwater_temperature",
                s.feedwater_temperature.kelvin(),
            );
            t.option(
                "output.feedwater_pressure",
                s.feedwater_pressure.map(|p| p.pascal()),
            );
            match s.blowdown {
                Blowdown::None => t.text("output.blowdown", "none"),
                Blowdown::Flow(m) => {
                    t.text("output.blowdown", "flow");
                    t.num("output.blowdown.value", m.kg_per_s());
                }
                Blowdown::FractionOfFeedwater(f) => {
                    t.text("output.blowdown", "fraction_of_feedwater");
                    t.num("output.blowdown.value", f.value());
                }
            }
        }
        UsefulOutput::Water(w) => {
            t.text("output", "water");
            water(t, "output", w);
        }
        UsefulOutput::Liquid(l) => {
            t.text("output", "liquid");
            liquid(t, "output", l);
        }
        UsefulOutput::Metered(m) => {
            t.text("output", "metered");
            t.num("output.duty", m.duty.watts());
            t.num(
                "output.delivery_temperature",
                m.delivery_temperature.kelvin(),
            );
        }
    }
}

fn exchanger_stream(t: &mut Canonical, side: &str, stream: &ExchangerStream) {
    match stream {
        ExchangerStream::Water(w) => {
            t.text(side, "water");
            water(t, side, w);
        }
        ExchangerStream::Liquid(l) => {
            t.text(side, "liquid");
            liquid(t, side, l);
        }
    }
}

fn water(t: &mut Canonical, prefix: &str, w: &WaterStream) {
    t.num(&format!("{prefix}.flow"), w.flow.kg_per_s());
    t.num(
        &format!("{prefix}.inlet_temperature"),
        w.inlet_temperature.kelvin(),
    );
    t.num(
        &format!("{prefix}.outlet_temperature"),
        w.outlet_temperature.kelvin(),
    );
    t.num(&format!("{prefix}.pressure"), w.pressure.pascal());
}

fn liquid(t: &mut Canonical, prefix: &str, l: &LiquidStream) {
    t.num(&format!("{prefix}.flow"), l.flow.kg_per_s());
    t.num(&format!("{prefix}.specific_heat"), l.specific_heat);
    t.num(
        &format!("{prefix}.inlet_temperature"),
        l.inlet_temperature.kelvin(),
    );
    t.num(
        &format!("{prefix}.outlet_temperature"),
        l.outlet_temperature.kelvin(),
    );
}

fn dead_state(t: &mut Canonical, d: &DeadState) {
    t.num("dead_state.temperature", d.temperature.kelvin());
    t.num("dead_state.pressure", d.pressure.pascal());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuel::library::natural_gas;
    use crate::fuel::{StatedHeatingValue, UltimateAnalysis};
    use crate::inputs::{CombustionAir, FiredKind, FlueGasMeasurement, SteamOutput, UsefulOutput};
    use crate::quantity::{Fraction, MassFlow, Power, Pressure, Temperature};
    use crate::uncertainty::InputId;

    #[test]
    fn sha256_of_abc_is_the_fips_180_4_example() {
        // One-block message "abc": FIPS 180-2 (2002) Appendix B.1, the example FIPS 180-4
        // (2015) refers to in NIST's "Examples with Intermediate Values" (SHA256.pdf).
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn boiler() -> FiredInputs {
        FiredInputs {
            kind: FiredKind::SteamBoiler,
            fuel: natural_gas(),
            fuel_flow: MassFlow::from_kg_per_s(0.1).unwrap(),
            fuel_temperature: Temperature::from_kelvin(293.15).unwrap(),
            fuel_specific_heat: None,
            output: UsefulOutput::Steam(SteamOutput {
                steam_flow: MassFlow::from_kg_per_s(1.8).unwrap(),
                steam_pressure: Pressure::from_pascal(1.0e6).unwrap(),
                steam_condition: SteamCondition::Saturated {
                    quality: Fraction::new(1.0).unwrap(),
                },
                feedwater_temperature: Temperature::from_kelvin(378.15).unwrap(),
                feedwater_pressure: None,
                blowdown: Blowdown::None,
            }),
            flue_gas: FlueGasMeasurement {
                o2: Fraction::new(0.03).unwrap(),
                o2_basis: O2Basis::Dry,
                temperature: Temperature::from_kelvin(453.15).unwrap(),
                co_dry: Fraction::new(0.0).unwrap(),
            },
            combustion_air: CombustionAir {
                temperature: Temperature::from_kelvin(298.15).unwrap(),
                relative_humidity: Fraction::new(0.5).unwrap(),
                pressure: Pressure::from_pascal(101_325.0).unwrap(),
            },
            unburned_carbon: None,
            surface: SurfaceLoss::NotAccounted,
            auxiliary_power: Power::from_watts(0.0).unwrap(),
            dead_state: DeadState::standard(),
        }
    }

    fn hash(f: FiredInputs, u: &[InputUncertainty]) -> String {
        provenance_hash(&EquipmentInputs::Fired(f), u, None)
    }

    fn o2_1pct() -> InputUncertainty {
        InputUncertainty {
            input: InputId::FlueGasO2,
            expanded: UncertaintySpec::Relative(0.01),
        }
    }

    fn flow_abs() -> InputUncertainty {
        InputUncertainty {
            input: InputId::FuelFlow,
            expanded: UncertaintySpec::Absolute(0.001),
        }
    }

    #[test]
    fn same_inputs_give_the_same_hash() {
        let a = hash(boiler(), &[o2_1pct(), flow_abs()]);
        assert_eq!(a, hash(boiler(), &[o2_1pct(), flow_abs()]));
        assert_eq!(a, hash(boiler(), &[flow_abs(), o2_1pct()]));
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        let text = canonical_text(&EquipmentInputs::Fired(boiler()), &[], None);
        assert_eq!(text.lines().next(), Some(METHOD_VERSION));
        assert!(text.contains("\nflue_gas.temperature=453.15\n"), "{text}");
    }

    #[test]
    fn any_changed_field_changes_the_hash() {
        let base = hash(boiler(), &[o2_1pct()]);
        let mut changed = Vec::new();

        let mut f = boiler();
        let t = f.flue_gas.temperature.kelvin();
        f.flue_gas.temperature = Temperature::from_kelvin(f64::from_bits(t.to_bits() + 1)).unwrap();
        changed.push(hash(f, &[o2_1pct()]));

        let mut f = boiler();
        f.flue_gas.o2_basis = O2Basis::Wet;
        changed.push(hash(f, &[o2_1pct()]));

        // Same stated heating value, carbon moved to ash: only the composition differs.
        let oil = |carbon: f64, ash: f64| {
            let analysis = UltimateAnalysis {
                carbon,
                hydrogen: 0.125,
                oxygen: 0.0,
                nitrogen: 0.0,
                sulfur: 0.005,
                moisture: 0.0,
                ash,
            };
            let hhv = StatedHeatingValue::Gross(45.5e6);
            Fuel::ultimate_stated("oil", FuelKind::Liquid, analysis, hhv).unwrap()
        };
        let mut f = boiler();
        f.fuel = oil(0.87, 0.0);
        let oil_hash = hash(f, &[o2_1pct()]);
        let mut f = boiler();
        f.fuel = oil(0.869, 0.001);
        assert_ne!(hash(f, &[o2_1pct()]), oil_hash);
        changed.push(oil_hash);

        let mut f = boiler();
        f.fuel = f
            .fuel
            .clone()
            .with_stated_hhv(f.fuel.hhv() * (1.0 + 1e-12))
            .unwrap();
        changed.push(hash(f, &[o2_1pct()]));

        changed.push(hash(boiler(), &[]));
        changed.push(hash(
            boiler(),
            &[InputUncertainty {
                input: InputId::FlueGasO2,
                expanded: UncertaintySpec::Absolute(0.01),
            }],
        ));

        for (i, h) in changed.iter().enumerate() {
            assert_ne!(h, &base, "change {i}");
        }
    }
}
