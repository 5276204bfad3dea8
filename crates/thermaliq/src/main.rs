//! The `thermaliq` binary: command-line verbs wiring the crates together.

use clap::Parser;

/// THERMALIQ: thermal-efficiency calculations for industrial plants.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
