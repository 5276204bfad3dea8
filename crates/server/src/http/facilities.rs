//! Facilities applied declaratively: the API's `PUT /facilities/{id}` and
//! `thermaliq facility apply` share [`apply`], idempotent like `kubectl apply`, answering
//! what changed.

use serde::Serialize;
use store::{FacilityRecord, PutOutcome, Store};

use super::error::ApiResult;
use super::times::format_us;
use crate::facility::{Change, FacilitySpec};

/// What applying a spec did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Applied {
    /// Facility id.
    pub facility_id: String,
    /// `created`, `updated` or `unchanged`.
    pub outcome: &'static str,
    /// Every change from the stored spec (for a new facility: its units as added).
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Change>,
}

/// A facility's listing entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FacilitySummary {
    /// Facility id.
    pub id: String,
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Ids of its equipment units.
    pub equipment_ids: Vec<String>,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

impl From<&FacilityRecord> for FacilitySummary {
    fn from(r: &FacilityRecord) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            time_zone: r.time_zone.clone(),
            equipment_ids: r.equipment_ids.clone(),
            updated_at: format_us(r.updated_at_us),
        }
    }
}

/// Stores a validated spec, creating or replacing the facility; `Conflict` when one of its
/// equipment ids belongs to another facility.
pub async fn apply(store: &Store, spec: &FacilitySpec) -> ApiResult<Applied> {
    let record = FacilityRecord {
        id: spec.id.clone(),
        name: spec.name.clone(),
        time_zone: spec.time_zone.clone(),
        spec: spec.to_json(),
        equipment_ids: spec.equipment.iter().map(|e| e.id.clone()).collect(),
        updated_at_us: store::now_us(),
    };
    let (outcome, changes) = match store.put_facility(&record).await? {
        PutOutcome::Created => {
            let empty = FacilitySpec {
                equipment: Vec::new(),
                ..spec.clone()
            };
            ("created", spec.diff(&empty))
        }
        PutOutcome::Updated { previous } => {
            let changes = match FacilitySpec::from_json(&previous.spec) {
                Ok(old) => spec.diff(&old),
                // A spec stored by an older release that no longer reads: everything changed.
                Err(_) => Vec::new(),
            };
            ("updated", changes)
        }
        PutOutcome::Unchanged => ("unchanged", Vec::new()),
    };
    Ok(Applied {
        facility_id: spec.id.clone(),
        outcome,
        changes,
    })
}
