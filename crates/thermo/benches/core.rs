//! Speed of the engineering core's hot paths (targets in docs/PERFORMANCE.md).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use thermo::uncertainty::{
    InputId, InputUncertainty, UncertaintySpec, monte_carlo_fired, propagate_fired,
};
use thermo::{Pressure, Temperature, steam};

#[path = "../tests/common/mod.rs"]
mod common;

fn if97(c: &mut Criterion) {
    let p = Pressure::from_pascal(3e6).unwrap();
    let t = Temperature::from_kelvin(500.0).unwrap();
    c.bench_function("if97_enthalpy_pt", |b| {
        b.iter(|| steam::enthalpy_pt(black_box(p), black_box(t)))
    });
}

fn boiler(c: &mut Criterion) {
    let inputs = common::gas_steam_boiler();
    c.bench_function("gas_boiler_complete", |b| {
        b.iter(|| thermo::fired::calculate_fired(black_box(&inputs)))
    });
}

/// A gas boiler with the uncertainties a plant's meters typically carry (expanded, 95 %).
fn metered_uncertainties() -> Vec<InputUncertainty> {
    use UncertaintySpec::{Absolute, Relative};
    [
        (InputId::FuelFlow, Relative(0.01)),
        (InputId::FuelHeatingValue, Relative(0.005)),
        (InputId::FlueGasO2, Absolute(0.002)),
        (InputId::FlueGasTemperature, Absolute(2.0)),
        (InputId::FlueGasCo, Absolute(10e-6)),
        (InputId::CombustionAirTemperature, Absolute(1.0)),
        (InputId::CombustionAirRelativeHumidity, Absolute(0.05)),
        (InputId::SteamFlow, Relative(0.01)),
        (InputId::SteamPressure, Relative(0.005)),
        (InputId::FeedwaterTemperature, Absolute(1.0)),
        (InputId::Blowdown, Relative(0.2)),
    ]
    .into_iter()
    .map(|(input, expanded)| InputUncertainty { input, expanded })
    .collect()
}

fn uncertainty(c: &mut Criterion) {
    let inputs = common::gas_steam_boiler();
    let u = metered_uncertainties();
    c.bench_function("gas_boiler_first_order_uncertainty", |b| {
        b.iter(|| propagate_fired(black_box(&inputs), black_box(&u)))
    });
    let mut group = c.benchmark_group("monte_carlo");
    group.sample_size(10);
    group.bench_function("gas_boiler_10000_samples", |b| {
        b.iter(|| monte_carlo_fired(black_box(&inputs), black_box(&u), 10_000, 42))
    });
    group.finish();
}

criterion_group!(benches, if97, boiler, uncertainty);
criterion_main!(benches);
