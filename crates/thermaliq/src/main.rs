//! The `thermaliq` binary: command-line verbs wiring the crates together.
//!
//! `calc` and `steam` are pure calculations. Every other verb reads one configuration, the
//! one `serve` reads (docs/CONFIGURATION.md): defaults, the `--config` file (else
//! `THERMALIQ_CONFIG`), `THERMALIQ_*` variables with the secrets, then `--data-dir` and
//! `--database-url`; so a Kubernetes Job running `thermaliq migrate up` with the ConfigMap and
//! Secret mounted reaches the database the Deployment serves from. The store is the
//! `database_url`, else `<data_dir>/thermaliq.db`; `token`, `facility`, `ingest` and `serve`
//! migrate it up first.
//!
//! Exit codes: 0 success; 2 the input was refused (bad document, unit, value, state, option or
//! unreadable file), with the field and the reason on stderr; 1 anything else (the output
//! could not be written; `check integrity` found a row breaking a rule).

mod backfill;
mod cache;
mod check;
mod db;
mod failure;
mod ingest;
mod manage;
mod probe;
mod serve;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::calc::{self, RunOptions};
use server::config::ConfigSource;
use server::settings::Settings;
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
    /// Configuration file (TOML, docs/CONFIGURATION.md); else the file named by
    /// THERMALIQ_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Directory of the embedded database (thermaliq.db); wins over the configuration
    /// [default: ./data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL (sqlite:///path/thermaliq.db, postgres://user@host/db); wins over the
    /// configuration and --data-dir.
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
    /// Serve the HTTP API (migrates the store up first); configuration in
    /// docs/CONFIGURATION.md.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Set up the demo facility with a day of meter data and an admin token.
        #[arg(long)]
        demo: bool,
    },
    /// Ask a running server whether it is healthy (GET /v1/thermaliq/health): exit 0 when
    /// it answers "healthy", 1 otherwise; for container health checks and runbooks.
    Health {
        /// The server's base URL [default: the configured bind address, on loopback when it
        /// is a wildcard].
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
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
    /// Fill a past period from the facility's historian sources (connectors.historian),
    /// resumable: the same command run again continues where an interrupted run stopped.
    Backfill {
        /// Facility id.
        #[arg(long)]
        facility: String,
        /// Start of the period, RFC 3339 (2025-11-01T00:00:00Z), inclusive.
        #[arg(long)]
        from: String,
        /// End of the period, RFC 3339, exclusive.
        #[arg(long)]
        to: String,
        /// Only this historian source (its name); default: every one.
        #[arg(long)]
        source: Option<String>,
        /// Time window per query (15m, 1h, 1d); default: each source's chunk_s.
        #[arg(long)]
        chunk: Option<String>,
        /// Ignore the saved progress and start again from --from.
        #[arg(long)]
        restart: bool,
    },
    /// The shared (Redis) calculation cache.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Checks of the stored data.
    Check {
        #[command(subcommand)]
        command: CheckCommand,
    },
    /// Database backup and restore (docs/STORE.md).
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Recompute each facility's latest period (that of its newest calculation) as POST
    /// /calculate does and put the result in the Redis cache (docs/CACHE.md); exit 1 naming
    /// every facility that failed.
    Warm {
        /// Facility ids, comma-separated: FAC-001,FAC-002.
        #[arg(long, value_delimiter = ',', required = true)]
        facilities: Vec<String>,
        /// Redis URL (redis://host:6379/0); else THERMALIQ_REDIS_URL or the configuration file.
        #[arg(long)]
        redis_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Check the calculations created since a time against the rules of a stored calculation
    /// (docs/OPERATIONS.md); print a JSON report; exit 1 when any row breaks one.
    Integrity {
        /// A duration back from now (30m, 1h, 7d) or an RFC 3339 time.
        #[arg(long, default_value = "1h")]
        since: String,
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

/// The configuration every store verb shares with `serve`; one that does not validate is
/// refused (exit 2) naming the key.
fn settings(source: &ConfigSource) -> anyhow::Result<Settings> {
    source
        .load()
        .map_err(|e| refused(format!("configuration: {e}")))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let flags = server::config::Overrides {
        bind: None,
        data_dir: cli.data_dir,
        database_url: cli.database_url,
    };
    let source = ConfigSource::new(cli.config.clone(), flags.clone());
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
        Command::Serve { bind, demo } => lift(serve::run(
            cli.config,
            server::config::Overrides { bind, ..flags },
            demo,
        )),
        Command::Health { url, timeout } => {
            let timeout = Duration::try_from_secs_f64(timeout)
                .ok()
                .filter(|t| !t.is_zero())
                .ok_or_else(|| {
                    refused(format!(
                        "--timeout: {timeout} is not a positive number of seconds"
                    ))
                })?;
            let url = match url {
                Some(url) => url,
                None => probe::local_url(settings(&source)?.bind),
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            lift(runtime.block_on(probe::health(&url, timeout)))
        }
        Command::Migrate { command } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            with_store(
                &serve::StoreLocation::from(&settings),
                false,
                async |store| match command {
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
                },
            )
        }
        Command::Token { command } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            let pepper = settings.token_pepper.as_ref();
            with_store(
                &serve::StoreLocation::from(&settings),
                true,
                async |store| match command {
                    TokenCommand::Create { name, role } => {
                        manage::token_create(store, &name, &role, pepper).await
                    }
                    TokenCommand::List => manage::token_list(store).await,
                    TokenCommand::Revoke { id } => manage::token_revoke(store, &id).await,
                },
            )
        }
        Command::Facility { command } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            with_store(
                &serve::StoreLocation::from(&settings),
                true,
                async |store| match command {
                    FacilityCommand::Apply { file } => manage::facility_apply(store, &file).await,
                    FacilityCommand::List => manage::facility_list(store).await,
                },
            )
        }
        Command::Ingest {
            facility,
            file,
            partial,
        } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            with_store(
                &serve::StoreLocation::from(&settings),
                true,
                async |store| ingest::ingest(store, &facility, &file, partial).await,
            )
        }
        Command::Backfill {
            facility,
            from,
            to,
            source: historian,
            chunk,
            restart,
        } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            let request = backfill::Request {
                facility,
                from,
                to,
                source: historian,
                chunk,
                restart,
            };
            with_store(
                &serve::StoreLocation::from(&settings),
                true,
                async |store| backfill::backfill(store, &request).await,
            )
        }
        Command::Cache {
            command:
                CacheCommand::Warm {
                    facilities,
                    redis_url,
                },
        } => {
            serve::init_cli_logs();
            lift(cache::warm(cache::WarmRequest {
                config: cli.config,
                overrides: flags,
                redis_url,
                facilities,
            }))
        }
        Command::Check {
            command: CheckCommand::Integrity { since },
        } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            let since_us = match check::since(&since) {
                Ok(us) => us,
                Err(e) => return lift(Err(e)),
            };
            with_store(
                &serve::StoreLocation::from(&settings),
                false,
                async |store| check::integrity(store, since_us).await,
            )
        }
        Command::Db { command } => {
            serve::init_cli_logs();
            let settings = settings(&source)?;
            db::run(&serve::StoreLocation::from(&settings), command)
        }
    }
}

fn main() -> ExitCode {
    connectors::install_tls_provider();
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
