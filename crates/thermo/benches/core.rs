//! Speed of the engineering core's hot paths (targets in docs/PERFORMANCE.md).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
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

criterion_group!(benches, if97, boiler);
criterion_main!(benches);
