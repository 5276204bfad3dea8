//! Speed of the analysis paths (targets in docs/PERFORMANCE.md): the Sankey SVG of a
//! three-unit facility under 1 ms, benchmark and recommendations of one calculation under
//! 5 ms.

use std::hint::black_box;

use analysis::benchmark::{self, Equipment};
use analysis::recommend::{self, Economics, Options};
use analysis::sankey::{self, SankeyBasis, SvgOptions, UnitResult};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

fn sankey_svg(c: &mut Criterion) {
    let results = [
        common::run(&common::gas_boiler(0.005)),
        common::run(&common::gas_furnace()),
        common::run(&common::oil_hot_water_boiler()),
    ];
    let units = [
        UnitResult {
            id: "BLR-001",
            name: "Steam boiler 1 (natural gas, 25 MW)",
            result: &results[0],
        },
        UnitResult {
            id: "FUR-001",
            name: "Process furnace 1 (natural gas)",
            result: &results[1],
        },
        UnitResult {
            id: "HWB-001",
            name: "Hot-water boiler (No. 2 oil)",
            result: &results[2],
        },
    ];
    c.bench_function("sankey_svg_3_units", |b| {
        b.iter(|| {
            let model = sankey::build(black_box(&units), SankeyBasis::Hhv).unwrap();
            sankey::render_svg(&model, &SvgOptions::default()).unwrap()
        })
    });
}

fn benchmark_and_recommendations(c: &mut Criterion) {
    let inputs = common::gas_boiler(0.0);
    let result = common::run(&inputs);
    let annual = result.fuel_input.hhv * 8000.0 * 3600.0;
    let economics = Economics {
        annual_fuel_input_j: annual,
        fuel_price_per_gj: 8.0,
        emission_factor_kg_per_gj: 50.29,
    };
    let options = Options::default();
    let equipment = Equipment {
        kind: inputs.kind,
        economizer: false,
    };
    // Parse the embedded data once, as the service does at its first request.
    let _ = benchmark::data();
    c.bench_function("benchmark_and_recommendations", |b| {
        b.iter(|| {
            let comparison = benchmark::compare(
                equipment,
                &inputs.fuel,
                25e6,
                result.direct_efficiency.hhv,
                annual,
                8.0,
                50.29,
            )
            .unwrap();
            let list = recommend::recommend(black_box(&inputs), &economics, &options).unwrap();
            (comparison, list)
        })
    });
}

criterion_group!(benches, sankey_svg, benchmark_and_recommendations);
criterion_main!(benches);
