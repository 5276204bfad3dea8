//! `thermaliq cache warm --facilities FAC-001,FAC-002`: after a flush (the runbook's rollback
//! step), recomputes each facility's latest period — the period of its newest calculation —
//! through the same code path as `POST /calculate` and puts the result in the shared Redis
//! cache, so the first users after a rollback are served from it. The in-process cache belongs
//! to each serving process and cannot be filled from here: a Redis URL is required.

use std::path::PathBuf;

use serde::Serialize;
use server::config::{ConfigSource, Overrides};
use server::http::cache::{CachedCalculation, calculation_key};
use server::http::calculation::{self, CalculateRequest, TimePeriod};
use server::http::{AppState, format_us};
use store::{CalculationFilter, CalculationStatus};

use crate::failure::{Failure, Outcome};
use crate::serve::StoreLocation;

/// What `cache warm` was asked.
pub struct WarmRequest {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// The global command-line values (`--data-dir`, `--database-url`).
    pub overrides: Overrides,
    /// `--redis-url`; wins over `THERMALIQ_REDIS_URL` and the file.
    pub redis_url: Option<String>,
    /// `--facilities`, in the order given.
    pub facilities: Vec<String>,
}

/// One facility warmed.
#[derive(Debug, Serialize)]
struct Warmed {
    facility_id: String,
    calculation_id: String,
    period: TimePeriod,
    cache_key: String,
    /// Whether the same inputs were already cached (the entry's lifetime was renewed).
    was_cached: bool,
}

/// One facility that could not be warmed.
#[derive(Debug, Serialize)]
struct Refused {
    facility_id: String,
    error: String,
}

/// The report printed on standard output.
#[derive(Debug, Serialize)]
struct Report {
    warmed: Vec<Warmed>,
    failed: Vec<Refused>,
}

/// Runs `cache warm`: prints a JSON report; fails (naming them) when any facility failed.
pub fn warm(request: WarmRequest) -> Outcome {
    let facilities = facility_ids(&request.facilities)?;
    let mut settings = ConfigSource::new(request.config, request.overrides)
        .load()
        .map_err(|e| Failure::Input(format!("configuration: {e}")))?;
    if let Some(url) = request.redis_url {
        settings.redis_url = Some(url);
    }
    if settings.redis_url.is_none() {
        return Err(Failure::Input(
            "cache warm fills the shared Redis cache, and no Redis URL is configured: set \
             THERMALIQ_REDIS_URL (or redis_url in the configuration file) or pass --redis-url. \
             Without Redis each serving process has its own in-process cache, which another \
             process cannot fill."
                .to_string(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(format!("starting the runtime: {e}")))?;
    runtime.block_on(async {
        let location = StoreLocation {
            data_dir: settings.data_dir.clone(),
            database_url: settings.database_url.clone(),
        };
        let store = location.open().await?;
        let result = warm_all(settings, store.clone(), &facilities).await;
        store.close().await;
        result
    })
}

/// The ids of `--facilities`, trimmed, without repeats; an empty one is refused.
fn facility_ids(given: &[String]) -> Outcome<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    for raw in given {
        let id = raw.trim();
        if id.is_empty() {
            return Err(Failure::Input(
                "--facilities: an empty facility id (use FAC-001,FAC-002)".to_string(),
            ));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(Failure::Input(
            "--facilities: no facility id given (use FAC-001,FAC-002)".to_string(),
        ));
    }
    Ok(ids)
}

async fn warm_all(
    settings: server::settings::Settings,
    store: store::Store,
    facilities: &[String],
) -> Outcome {
    let status = store.migration_status().await?;
    if !status.is_current {
        return Err(Failure::Other(format!(
            "the store's schema is not current ({} pending migrations{}): run `thermaliq \
             migrate up` (or start the service) first",
            status.pending.len(),
            status
                .dirty_version
                .map(|v| format!(", version {v} dirty"))
                .unwrap_or_default()
        )));
    }
    let state = AppState::new(settings, store)
        .map_err(|e| Failure::Input(format!("configuration: {e}")))?;
    state
        .cache
        .ping()
        .await
        .map_err(|e| Failure::Other(format!("the Redis cache cannot be reached: {e}")))?;
    let mut report = Report {
        warmed: Vec::new(),
        failed: Vec::new(),
    };
    for id in facilities {
        match warm_one(&state, id).await {
            Ok(w) => {
                tracing::info!(facility_id = %id, calculation_id = %w.calculation_id,
                    cache_key = %w.cache_key, "Cache warming: facility cached");
                report.warmed.push(w);
            }
            Err(error) => {
                tracing::warn!(facility_id = %id, %error, "Cache warming: facility not cached");
                report.failed.push(Refused {
                    facility_id: id.clone(),
                    error,
                });
            }
        }
    }
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| Failure::Other(format!("writing the report: {e}")))?;
    println!("{text}");
    if report.failed.is_empty() {
        return Ok(());
    }
    let failed: Vec<String> = report
        .failed
        .iter()
        .map(|f| format!("{} ({})", f.facility_id, f.error))
        .collect();
    Err(Failure::Other(format!(
        "cache warm failed for {} of {} facilities: {}",
        failed.len(),
        facilities.len(),
        failed.join("; ")
    )))
}

/// Recomputes the newest calculation's period of `facility_id` as `POST /calculate` does and
/// stores the result in the cache, reporting any refusal as text.
async fn warm_one(state: &AppState, facility_id: &str) -> Result<Warmed, String> {
    if state
        .store
        .facility(facility_id)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("facility {facility_id} not found"));
    }
    let newest = state
        .store
        .calculations(&CalculationFilter {
            facility_id: Some(facility_id.to_string()),
            limit: Some(1),
            ..CalculationFilter::default()
        })
        .await
        .map_err(|e| e.to_string())?
        .items
        .into_iter()
        .next()
        .ok_or_else(|| {
            "it has no calculation yet, so there is no latest period to warm: calculate one \
             first (POST /calculate)"
                .to_string()
        })?;
    let request = CalculateRequest {
        facility_id: facility_id.to_string(),
        time_period: TimePeriod {
            start: format_us(newest.period_start_us),
            end: format_us(newest.period_end_us),
        },
    };
    let calculated = calculation::calculate(state, &request, None)
        .await
        .map_err(|e| match &e.field {
            Some(field) => format!("{field}: {}", e.message),
            None => e.message.clone(),
        })?;
    if calculated.status != CalculationStatus::Completed {
        return Err(format!(
            "the calculation of {} to {} did not complete ({}); see GET /calculations/{}",
            request.time_period.start, request.time_period.end, calculated.status, calculated.id
        ));
    }
    let record = state
        .store
        .calculation(&calculated.id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("calculation {} vanished from the store", calculated.id))?;
    let key = calculation_key(
        &record.facility_id,
        &record.service_version,
        &record.input_hash,
    );
    // Written again even after a cache hit: a warmed entry gets a full lifetime, and a failed
    // write must fail the facility rather than pass silently.
    state
        .cache
        .try_put(
            key.clone(),
            CachedCalculation {
                id: calculated.id.clone(),
                bytes: calculated.bytes.clone(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(Warmed {
        facility_id: facility_id.to_string(),
        calculation_id: calculated.id,
        period: request.time_period,
        cache_key: key,
        was_cached: calculated.from_cache,
    })
}
