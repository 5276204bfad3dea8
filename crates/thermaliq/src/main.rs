//! The `thermaliq` binary: command-line verbs wiring the crates together.
//!
//! Exit codes: 0 success; 2 the input was refused (bad document, unit, value, state, option or
//! unreadable file), with the field and the reason on stderr; 1 anything else (the output
//! could not be written).

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::calc::{self, RunOptions};
use server::steam::{self, SteamQuery};

/// Exit code of refused input, the same as clap's for a bad command line.
const EXIT_INPUT: u8 = 2;

/// THERMALIQ: thermal-efficiency calculations for industrial plants.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Calculate one equipment from an input document (docs/CALC_INPUT.md) and print the
    /// result as JSON.
    Calc {
        /// The input document; `-` reads standard input.
        file: PathBuf,
        /// Include the canonical text that the provenance hash covers.
        #[arg(long)]
        canonical_inputs: bool,
    },
    /// Print a water/steam state (IAPWS-IF97) from two properties with units, one of the
    /// pairs p t, p h, p s, p x, t x, h s.
    Steam {
        /// Pressure, e.g. 3MPa, 10bar(g), 150psig.
        #[arg(long = "p", allow_hyphen_values = true)]
        p: Option<String>,
        /// Temperature, e.g. 300K, 180°C, 350°F.
        #[arg(long = "t", allow_hyphen_values = true)]
        t: Option<String>,
        /// Specific enthalpy, e.g. 2800kJ/kg.
        #[arg(long = "h", allow_hyphen_values = true)]
        h: Option<String>,
        /// Specific entropy, e.g. 6.5kJ/(kg K).
        #[arg(long = "s", allow_hyphen_values = true)]
        s: Option<String>,
        /// Vapour quality, e.g. 0.95 or 95%.
        #[arg(long = "x", allow_hyphen_values = true)]
        x: Option<String>,
    },
}

/// A refusal of the input: printed as is, exit code 2.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(e: impl std::fmt::Display) -> anyhow::Error {
    Refused(e.to_string()).into()
}

fn read_input(file: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| refused(format!("standard input: cannot read it: {e}")))?;
    } else {
        text = std::fs::read_to_string(file)
            .map_err(|e| refused(format!("{}: cannot read it: {e}", file.display())))?;
    }
    Ok(text)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("writing the result")?;
    writeln!(out).context("writing the result")?;
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Calc {
            file,
            canonical_inputs,
        } => {
            let text = read_input(&file)?;
            let result =
                calc::calculate_json(&text, RunOptions { canonical_inputs }).map_err(refused)?;
            print_json(&result)
        }
        Command::Steam { p, t, h, s, x } => {
            let state = steam::state(&SteamQuery { p, t, h, s, x }).map_err(refused)?;
            print_json(&state)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Refused>() => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INPUT)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
