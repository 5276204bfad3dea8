//! The `thermaliq` binary: command-line verbs wiring the crates together.
//!
//! `calc` and `steam` are pure calculations; `serve`, `migrate`, `token`, `facility` and
//! `ingest` work on the store named by `--database-url`, else `<--data-dir>/thermaliq.db`
//! (default `./data`), migrating it up first (except `migrate` itself).
//!
//! Exit codes: 0 success; 2 the input was refused (bad document, unit, value, state, option or
//! unreadable file), with the field and the reason on stderr; 1 anything else (the output
//! could not be written).

mod failure;
mod ingest;
mod manage;
mod serve;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::calc::{self, RunOptions};
use server::steam::{self, SteamQuery};
use store::MigrateDownTarget;

/// Exit code of refused input, the same as clap's for a bad command line.
const EXIT_INPUT: u8 = 2;

/// THERMALIQ: thermal-efficiency calculations for industrial plants.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Directory of the embedded database (thermaliq.db).
    #[arg(long, global = true, default_value = "./data")]
    data_dir: PathBuf,
    /// Database URL (sqlite:///path/thermaliq.db); wins over --data-dir.
    #[arg(long, global = true)]
    database_url: Option<String>,
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
    /// Serve the HTTP API (migrates the store up first).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Set up the demo facility with a day of meter data and an admin token.
        #[arg(long)]
        demo: bool,
    },
    /// Database schema migrations.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Facilities.
    Facility {
        #[command(subcommand)]
        command: FacilityCommand,
    },
    /// Store a CSV file of readings (time,tag,value[,quality]) for a facility.
    Ingest {
        /// Facility id.
        #[arg(long)]
        facility: String,
        /// The CSV file.
        file: PathBuf,
        /// Store the good lines of a file with bad ones (default: refuse the file).
        #[arg(long)]
        partial: bool,
    },
}

#[derive(Subcommand)]
enum MigrateCommand {
    /// The applied version and whether it is current.
    Current,
    /// Every applied and pending migration.
    History,
    /// Apply pending migrations.
    Up {
        /// Stop at this version (inclusive).
        #[arg(long)]
        to: Option<i64>,
    },
    /// Revert migrations: one step by default.
    Down {
        /// Revert this many migrations.
        #[arg(long, conflicts_with = "to")]
        steps: Option<u32>,
        /// Revert every migration newer than this version (0 reverts all).
        #[arg(long)]
        to: Option<i64>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (once).
    Create {
        /// Who or what holds the token.
        #[arg(long)]
        name: String,
        /// viewer, operator or admin.
        #[arg(long)]
        role: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// Token id (TOK-...).
        id: String,
    },
}

#[derive(Subcommand)]
enum FacilityCommand {
    /// Create or update a facility from a spec file (TOML, YAML or JSON); prints the diff.
    Apply {
        /// The spec file.
        file: PathBuf,
    },
    /// List facilities.
    List,
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

/// Runs a store verb on a multi-threaded runtime, mapping its failure to the exit codes.
fn with_store(
    location: &serve::StoreLocation,
    migrate: bool,
    verb: impl AsyncFnOnce(&store::Store) -> failure::Outcome,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(async {
        let store = if migrate {
            location.open_migrated().await?
        } else {
            location.open().await?
        };
        let result = verb(&store).await;
        store.close().await;
        result
    });
    lift(result)
}

fn lift(result: failure::Outcome) -> anyhow::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(failure::Failure::Input(m)) => Err(refused(m)),
        Err(failure::Failure::Other(m)) => Err(anyhow::anyhow!(m)),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let location = serve::StoreLocation {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
    };
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
        Command::Serve { bind, demo } => {
            serve::init_json_logs();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            lift(runtime.block_on(serve::serve(&location, bind, demo)))
        }
        Command::Migrate { command } => {
            serve::init_cli_logs();
            with_store(&location, false, async |store| match command {
                MigrateCommand::Current => manage::migrate_current(store).await,
                MigrateCommand::History => manage::migrate_history(store).await,
                MigrateCommand::Up { to } => manage::migrate_up(store, to).await,
                MigrateCommand::Down { steps, to } => {
                    let target = match to {
                        Some(v) => MigrateDownTarget::To(v),
                        None => MigrateDownTarget::Steps(steps.unwrap_or(1)),
                    };
                    manage::migrate_down(store, target).await
                }
            })
        }
        Command::Token { command } => {
            serve::init_cli_logs();
            with_store(&location, true, async |store| match command {
                TokenCommand::Create { name, role } => {
                    manage::token_create(store, &name, &role).await
                }
                TokenCommand::List => manage::token_list(store).await,
                TokenCommand::Revoke { id } => manage::token_revoke(store, &id).await,
            })
        }
        Command::Facility { command } => {
            serve::init_cli_logs();
            with_store(&location, true, async |store| match command {
                FacilityCommand::Apply { file } => manage::facility_apply(store, &file).await,
                FacilityCommand::List => manage::facility_list(store).await,
            })
        }
        Command::Ingest {
            facility,
            file,
            partial,
        } => {
            serve::init_cli_logs();
            with_store(&location, true, async |store| {
                ingest::ingest(store, &facility, &file, partial).await
            })
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
