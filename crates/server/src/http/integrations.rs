//! `GET /integrations/status`: the data sources of every facility as this replica sees them
//! (docs/CONNECTORS.md).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::auth::{Auth, Viewer};
use super::routes::ErrorBody;
use super::{ApiResult, AppState};
use connectors::modbus::{Health, SourceStatus};

use super::format_us;
use crate::connectors::FacilityConnectors;

/// The answer of `GET /integrations/status`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IntegrationsStatus {
    /// `healthy` when every source polled here and this process's ERP worker are up (or none
    /// is configured), `degraded` when one is down or could not be started.
    pub status: &'static str,
    /// Each facility with sources: who polls them, buffer, and each source's health.
    #[schema(value_type = Vec<Object>)]
    pub facilities: Vec<FacilityConnectors>,
    /// The export of completed calculations to the ERP.
    pub erp: ErpIntegration,
}

/// The ERP export as `GET /integrations/status` shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErpIntegration {
    /// Whether `erp_url` is configured; without it completed calculations wait in the outbox.
    pub configured: bool,
    /// This process's delivery worker, when configured (every replica runs one).
    #[schema(value_type = Option<Object>)]
    pub worker: Option<SourceStatus>,
    /// Outbox rows waiting for delivery.
    pub pending: u64,
    /// Outbox rows the ERP refused for good (docs/CONNECTORS.md, "ERP export").
    pub failed: u64,
    /// Creation time of the oldest calculation waiting, RFC 3339.
    pub oldest_pending_created_at: Option<String>,
    /// Time of the newest delivery, RFC 3339.
    pub last_delivered_at: Option<String>,
    /// Error of the most recent failed attempt of a row not delivered yet.
    pub last_error: Option<String>,
}

/// The connectors of every facility, as this replica sees them.
#[utoipa::path(get, path = "/integrations/status", tag = "service", security(("bearer" = [])),
    responses((status = 200, body = IntegrationsStatus), (status = 401, body = ErrorBody)))]
pub async fn integrations_status(
    _: Auth<Viewer>,
    State(state): State<AppState>,
) -> ApiResult<Json<IntegrationsStatus>> {
    let facilities = state.connectors.status().await;
    let outbox = state.store.outbox_stats().await?;
    let worker = state.connectors.erp();
    let erp_healthy = worker.as_ref().is_none_or(|w| w.health != Health::Down);
    let healthy = erp_healthy && facilities.iter().all(FacilityConnectors::is_healthy);
    Ok(Json(IntegrationsStatus {
        status: if healthy { "healthy" } else { "degraded" },
        facilities,
        erp: ErpIntegration {
            configured: worker.is_some(),
            worker,
            pending: outbox.pending,
            failed: outbox.failed,
            oldest_pending_created_at: outbox.oldest_pending_created_at_us.map(format_us),
            last_delivered_at: outbox.last_delivered_at_us.map(format_us),
            last_error: outbox.last_error,
        },
    }))
}
