//! `thermaliq serve`: loads the layered configuration (docs/CONFIGURATION.md), opens and
//! migrates the store, sets up the demo when asked, and serves the HTTP API; `SIGHUP` reloads
//! the configuration, Ctrl-C or SIGTERM stops it gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use connectors::erp::{ERP, ErpConfig, ErpExporter};
use server::config::{ConfigSource, Overrides};
use server::demo;
use server::http::{self, Application, ServeError, demo_setup, export, format_us};
use server::settings::{Settings, SharedSettings, TokenPepper};
use store::Store;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::failure::{Failure, Outcome, io};

/// Changes the log filter of the running service.
type LogHandle = reload::Handle<EnvFilter, Registry>;

/// Where the store is: a URL, else the SQLite file in the data directory.
pub struct StoreLocation {
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--database-url`.
    pub database_url: Option<String>,
}

impl From<&Settings> for StoreLocation {
    fn from(settings: &Settings) -> Self {
        Self {
            data_dir: settings.data_dir.clone(),
            database_url: settings.database_url.clone(),
        }
    }
}

impl StoreLocation {
    /// Opens the store (not migrated).
    pub async fn open(&self) -> Outcome<Store> {
        let store = match &self.database_url {
            Some(url) => Store::open(url).await,
            None => Store::open_in_dir(&self.data_dir).await,
        };
        store.map_err(|e| Failure::Other(format!("cannot open the store: {e}")))
    }

    /// Opens the store and applies pending migrations, logging those applied.
    pub async fn open_migrated(&self) -> Outcome<Store> {
        let store = self.open().await?;
        let applied = store
            .migrate_up(None)
            .await
            .map_err(|e| Failure::Other(format!("migrating the store: {e}")))?;
        for m in applied {
            tracing::info!(version = m.version, description = %m.description, "migration applied");
        }
        Ok(store)
    }
}

/// Starts the JSON-lines log on standard output with `filter` (`RUST_LOG` syntax), which a
/// reload may change through the returned handle.
fn init_json_logs(filter: EnvFilter) -> LogHandle {
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(std::io::stdout),
        )
        .init();
    handle
}

/// The log filter of `settings`, refused naming the `log` key.
fn log_filter(settings: &Settings) -> Result<EnvFilter, String> {
    EnvFilter::try_new(&settings.log)
        .map_err(|e| format!("log: {:?} is not a log filter: {e}", settings.log))
}

/// Starts a plain log on standard error for the one-shot verbs; default `warn`.
pub fn init_cli_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("THERMALIQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// `thermaliq serve`: the configuration from `config` (else `THERMALIQ_CONFIG`), the
/// environment and the command-line `overrides`; a configuration that does not validate is
/// refused before anything starts.
pub fn run(config: Option<PathBuf>, overrides: Overrides, demo: bool) -> Outcome {
    let source = ConfigSource::new(config, overrides);
    let settings = source
        .load()
        .map_err(|e| Failure::Input(format!("configuration: {e}")))?;
    let filter = log_filter(&settings).map_err(Failure::Input)?;
    let logs = init_json_logs(filter);
    tracing::info!(file = %source_name(&source), settings = ?settings, "Configuration loaded");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| io("starting the runtime", e))?;
    runtime.block_on(serve(source, settings, logs, demo))
}

/// The configuration file for logs, `none` without one.
fn source_name(source: &ConfigSource) -> String {
    source
        .file
        .as_deref()
        .map_or_else(|| "none".to_string(), |f| f.display().to_string())
}

/// Serves the API with `settings` until a stop signal; with `demo`, sets up the demo first.
async fn serve(source: ConfigSource, settings: Settings, logs: LogHandle, demo: bool) -> Outcome {
    // Before anything else: a signal arriving while the store opens must not kill the process.
    let stop = http::shutdown_signal().map_err(|e| io("listening for stop signals", e))?;
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| io("listening for SIGHUP", e))?;
    let store = StoreLocation::from(&settings).open_migrated().await?;
    let demo_banner = if demo {
        Some(setup_demo(&store, settings.token_pepper.as_ref()).await?)
    } else {
        None
    };
    let bind = settings.bind;
    let app = Application::build(settings, store.clone())
        .await
        .map_err(|e| Failure::Other(format!("cannot listen on {bind}: {e}")))?;
    if let Some(banner) = demo_banner {
        println!("{}", banner.text(app.local_addr()));
    }
    let reloads = tokio::spawn(reload_on_hangup(hangups, source, app.settings(), logs));
    let integrity = tokio::spawn(server::integrity::watch(store.clone(), app.settings()));
    let erp = erp_export(&store, &app.settings().current())?;
    let connectors = app.connectors();
    if let Some(erp) = &erp {
        connectors.set_erp(erp.status_handle());
    }
    let sources = tokio::spawn(connectors.clone().watch(store.clone()));
    let served = app.run_until_stopped(stop).await;
    reloads.abort();
    integrity.abort();
    sources.abort();
    // Before the store closes: what the sources' buffers hold is delivered first.
    connectors.shutdown().await;
    if let Some(erp) = erp {
        erp.shutdown().await;
    }
    match served {
        Ok(()) => {
            store.close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Err(e @ ServeError::GraceExpired(_)) => {
            // Requests still hold store connections: closing the pool would wait for them.
            tracing::error!(error = %e, "stopped without finishing every request");
            Err(Failure::Other(e.to_string()))
        }
        Err(e) => {
            store.close().await;
            Err(io("serving", e))
        }
    }
}

/// Starts the ERP export when `erp_url` is set. Without it nothing is sent: completed
/// calculations wait in the outbox and go out once an endpoint is configured.
fn erp_export(store: &Store, settings: &Settings) -> Outcome<Option<ErpExporter>> {
    let (Some(url), Some(key)) = (&settings.erp_url, &settings.erp_signing_key) else {
        tracing::info!(
            source_kind = ERP,
            "ERP export not configured (no erp_url): completed calculations wait in the outbox"
        );
        return Ok(None);
    };
    let config = ErpConfig {
        url: url.clone(),
        signing_key: key.as_bytes().to_vec(),
        timeout: settings.erp_timeout,
        retry_max: settings.erp_retry_max,
        retention: settings.erp_retention,
    };
    ErpExporter::start(store.clone(), config, Arc::new(export::erp_document))
        .map(Some)
        .map_err(|e| Failure::Input(format!("ERP export: {e}")))
}

/// Reloads the configuration on every `SIGHUP` until the task is aborted.
async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    source: ConfigSource,
    shared: SharedSettings,
    logs: LogHandle,
) {
    while hangups.recv().await.is_some() {
        reload(&source, &shared, &logs);
    }
}

/// Reads the file and environment again and puts the result in force; a configuration that
/// does not validate is refused whole and the running one stays. Restart-only settings keep
/// their running value, each change logged.
fn reload(source: &ConfigSource, shared: &SharedSettings, logs: &LogHandle) {
    let refuse = |error: &str| {
        tracing::error!(
            file = %source_name(source),
            error,
            "configuration refused; the running configuration stays"
        );
    };
    let new = match source.load() {
        Ok(new) => new,
        Err(e) => return refuse(&e.to_string()),
    };
    let filter = match log_filter(&new) {
        Ok(filter) => filter,
        Err(e) => return refuse(&e),
    };
    let running = shared.current();
    let reloaded = running.reload(new);
    for field in &reloaded.requires_restart {
        tracing::warn!(
            field,
            "configuration change requires restart; the running value stays"
        );
    }
    if reloaded.settings.log != running.log
        && let Err(e) = logs.reload(filter)
    {
        return refuse(&format!("log: cannot change the log filter: {e}"));
    }
    tracing::info!(file = %source_name(source), settings = ?reloaded.settings, "Configuration loaded");
    shared.replace(reloaded.settings);
}

/// What the demo banner shows.
struct DemoBanner {
    token: Option<String>,
    day_start_us: i64,
}

impl DemoBanner {
    fn text(&self, addr: SocketAddr) -> String {
        let base = format!("http://{addr}{}", http::BASE_PATH);
        let start = format_us(self.day_start_us);
        let end = format_us(self.day_start_us + 3_600_000_000);
        let token = match &self.token {
            Some(t) => format!(
                "Demo admin token (shown once, stored only as a digest):\n\n  export TOKEN={t}\n"
            ),
            None => "Tokens exist already: create one with\n\n  export TOKEN=$(thermaliq token create --name me --role admin)\n".to_string(),
        };
        format!(
            "\nTHERMALIQ demo: facility {fac} (a steam boiler and a process furnace) with a day of \
             1 Hz meter data from {start}.\n\n{token}\nIn a browser: http://{site}/ (sign in with the token).\n\nThen try:\n\n\
             \x20 curl -s {base}/health\n\
             \x20 curl -s -X POST {base}/calculate -H \"Authorization: Bearer $TOKEN\" \
             -H 'Content-Type: application/json' \\\n\
             \x20   -d '{{\"facility_id\":\"{fac}\",\"time_period\":{{\"start\":\"{start}\",\"end\":\"{end}\"}}}}'\n\
             \x20 curl -s {base}/calculations/CALC-... -H \"Authorization: Bearer $TOKEN\"\n\
             \x20 curl -s {base}/calculations?facility_id={fac} -H \"Authorization: Bearer $TOKEN\"\n\
             \x20 API docs: {base}/docs\n",
            fac = demo::FACILITY_ID,
            site = addr,
        )
    }
}

async fn setup_demo(store: &Store, pepper: Option<&TokenPepper>) -> Outcome<DemoBanner> {
    let day_start_us = demo_setup::yesterday_start_us(store::now_us());
    let bar = indicatif::ProgressBar::new(u64::from(demo_setup::DEMO_SECONDS / 3_600));
    bar.set_style(
        indicatif::ProgressStyle::with_template("demo data {bar:40} {pos}/{len} hours")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let setup = demo_setup::load(store, day_start_us, |done, _| bar.set_position(done)).await;
    bar.finish_and_clear();
    let setup = setup?;
    tracing::info!(
        facility_id = %setup.facility.facility_id,
        outcome = setup.facility.outcome,
        readings_stored = setup.readings_stored,
        "demo facility ready"
    );
    let token = demo_setup::ensure_admin_token(store, pepper).await?;
    // Readings stored by an earlier run may be of another day: show the day that has data.
    let first_day = first_demo_day(store, day_start_us).await?;
    Ok(DemoBanner {
        token,
        day_start_us: first_day,
    })
}

/// The start of the stored demo day: `preferred` when it has readings, else the midnight
/// of the newest demo calculation-ready day found in the last 30 days.
async fn first_demo_day(store: &Store, preferred: i64) -> Outcome<i64> {
    let day = 86_400_000_000;
    let tag = ["FT-101"];
    for k in 0..30 {
        let start = preferred - k * day;
        let series = store
            .readings(demo::FACILITY_ID, &tag, start, start + day)
            .await?;
        if series
            .iter()
            .any(|s| s.times_us.iter().any(|&t| t >= start))
        {
            return Ok(start);
        }
    }
    Ok(preferred)
}
