//! The demo of `thermaliq serve --demo`: the demo facility applied, a day of its 1 Hz meter
//! data stored when it has none, and an admin token created when the store has no token.

use store::{Role, Store};

use super::auth;
use super::error::{ApiError, ApiResult};
use super::facilities::{self, Applied};
use crate::demo::{self, Demo};
use crate::settings::TokenPepper;

/// Seed of the demo data, fixed so every installation shows the same numbers.
pub const DEMO_SEED: u64 = 20_251_101;

/// Length of the demo data, s: one day.
pub const DEMO_SECONDS: u32 = 86_400;

/// What setting up the demo did.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSetup {
    /// Applying the demo facility.
    pub facility: Applied,
    /// Start of the stored day, UTC µs (midnight).
    pub day_start_us: i64,
    /// Readings stored now (0 when the facility had readings already).
    pub readings_stored: u64,
}

/// Midnight UTC of yesterday, µs.
pub fn yesterday_start_us(now_us: i64) -> i64 {
    let day_us = 86_400_000_000;
    now_us.div_euclid(day_us) * day_us - day_us
}

/// Applies the demo facility and, when it has no readings yet, stores `DEMO_SECONDS` of 1 Hz
/// readings from `day_start_us`, hour by hour; `progress(done, total)` is called after each
/// hour.
pub async fn load(
    store: &Store,
    day_start_us: i64,
    mut progress: impl FnMut(u64, u64),
) -> ApiResult<DemoSetup> {
    let facility = facilities::apply(store, &demo::facility_spec()).await?;
    if store.reading_count(demo::FACILITY_ID).await? > 0 {
        return Ok(DemoSetup {
            facility,
            day_start_us,
            readings_stored: 0,
        });
    }
    let data =
        tokio::task::spawn_blocking(move || Demo::new(day_start_us, DEMO_SECONDS, DEMO_SEED))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    let data = std::sync::Arc::new(data);
    let blocks = data.blocks();
    let mut stored = 0;
    for block in 0..blocks {
        let d = std::sync::Arc::clone(&data);
        let readings = tokio::task::spawn_blocking(move || d.block(block))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let counts = store.insert_readings(demo::FACILITY_ID, &readings).await?;
        stored += counts.inserted + counts.corrected;
        progress(block.unsigned_abs() + 1, blocks.unsigned_abs());
    }
    Ok(DemoSetup {
        facility,
        day_start_us,
        readings_stored: stored,
    })
}

/// Creates an admin token named `demo-admin` (its digest keyed by `pepper`) when the store
/// holds no token at all; returns its secret (shown once), or `None` when tokens exist.
pub async fn ensure_admin_token(
    store: &Store,
    pepper: Option<&TokenPepper>,
) -> ApiResult<Option<String>> {
    if !store.tokens().await?.is_empty() {
        return Ok(None);
    }
    let (secret, record) = auth::new_token("demo-admin", Role::Admin, pepper);
    store.insert_token(&record).await?;
    Ok(Some(secret))
}
