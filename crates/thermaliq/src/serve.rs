//! `thermaliq serve`: opens and migrates the store, sets up the demo when asked, and serves the
//! HTTP API until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use server::demo;
use server::http::{self, Application, demo_setup, format_us};
use server::settings::Settings;
use store::Store;

use crate::failure::{Failure, Outcome, io};

/// Where the store is: a URL, else the SQLite file in the data directory.
pub struct StoreLocation {
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--database-url`.
    pub database_url: Option<String>,
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

/// Starts the JSON-lines log on standard output; the filter comes from `THERMALIQ_LOG`
/// (`RUST_LOG` syntax), default `info`.
pub fn init_json_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("THERMALIQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .init();
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

/// Serves the API on `bind` over the store at `location`; with `demo`, sets up the demo first.
pub async fn serve(location: &StoreLocation, bind: SocketAddr, demo: bool) -> Outcome {
    let store = location.open_migrated().await?;
    let demo_banner = if demo {
        Some(setup_demo(&store).await?)
    } else {
        None
    };
    let settings = Settings {
        bind,
        data_dir: location.data_dir.clone(),
        database_url: location.database_url.clone(),
        ..Settings::default()
    };
    let app = Application::build(settings, store.clone())
        .await
        .map_err(|e| Failure::Other(format!("cannot listen on {bind}: {e}")))?;
    if let Some(banner) = demo_banner {
        println!("{}", banner.text(app.local_addr()));
    }
    let served = app.run_until_stopped(http::shutdown_signal()).await;
    store.close().await;
    served.map_err(|e| io("serving", e))?;
    tracing::info!("stopped");
    Ok(())
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
                "Demo admin token (shown once, stored only as a SHA-256 digest):\n\n  export TOKEN={t}\n"
            ),
            None => "Tokens exist already: create one with\n\n  export TOKEN=$(thermaliq token create --name me --role admin)\n".to_string(),
        };
        format!(
            "\nTHERMALIQ demo: facility {fac} (a steam boiler and a process furnace) with a day of \
             1 Hz meter data from {start}.\n\n{token}\nThen try:\n\n\
             \x20 curl -s {base}/health\n\
             \x20 curl -s -X POST {base}/calculate -H \"Authorization: Bearer $TOKEN\" \
             -H 'Content-Type: application/json' \\\n\
             \x20   -d '{{\"facility_id\":\"{fac}\",\"time_period\":{{\"start\":\"{start}\",\"end\":\"{end}\"}}}}'\n\
             \x20 curl -s {base}/calculations/CALC-... -H \"Authorization: Bearer $TOKEN\"\n\
             \x20 curl -s {base}/calculations?facility_id={fac} -H \"Authorization: Bearer $TOKEN\"\n\
             \x20 API docs: {base}/docs\n",
            fac = demo::FACILITY_ID,
        )
    }
}

async fn setup_demo(store: &Store) -> Outcome<DemoBanner> {
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
    let token = demo_setup::ensure_admin_token(store).await?;
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
