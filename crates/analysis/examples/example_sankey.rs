//! Renders the example Sankey of the documentation: the demo facility's natural-gas steam
//! boiler (crates/server/src/demo/facility.toml, BLR-001 at 78 % load) with a 0.8 % energy
//! balance residual, on the HHV basis.
//!
//! `cargo run -p analysis --example example_sankey -- docs/images/example-sankey.svg`
//! (`--exergy` renders the exergy diagram, `--facility` the three-unit facility of the
//! tests and bench). Writes to the given path, or to standard output without one.

#[path = "../tests/common/mod.rs"]
mod common;

use analysis::sankey::{self, SankeyBasis, SvgOptions, UnitResult, render_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let basis = if args.iter().any(|a| a == "--exergy") {
        SankeyBasis::Exergy
    } else {
        SankeyBasis::Hhv
    };
    let boiler = common::run(&common::gas_boiler(0.008));
    let furnace = common::run(&common::gas_furnace());
    let hot_water = common::run(&common::oil_hot_water_boiler());
    let mut units = vec![UnitResult {
        id: "BLR-001",
        name: "Steam boiler 1 (natural gas, 25 MW)",
        result: &boiler,
    }];
    if args.iter().any(|a| a == "--facility") {
        units.push(UnitResult {
            id: "FUR-001",
            name: "Process furnace 1 (natural gas)",
            result: &furnace,
        });
        units.push(UnitResult {
            id: "HWB-001",
            name: "Hot-water boiler (No. 2 oil)",
            result: &hot_water,
        });
    }
    let model = sankey::build(&units, basis)?;
    let svg = render_svg(&model, &SvgOptions::default())?;
    match args.iter().find(|a| !a.starts_with("--")) {
        Some(path) => std::fs::write(path, svg)?,
        None => print!("{svg}"),
    }
    Ok(())
}
