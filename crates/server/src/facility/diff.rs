//! What changed between two versions of a facility spec, for `thermaliq facility apply`.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{Equipment, FacilitySpec, Quantity};

/// One change from the stored spec to the applied one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A facility field (`id`, `name`, `time_zone`, `economics`, `connectors`) changed.
    FacilityChanged {
        /// The field.
        field: &'static str,
        /// The old value.
        from: Value,
        /// The new value.
        to: Value,
    },
    /// An equipment unit was added.
    EquipmentAdded {
        /// Its id.
        equipment_id: String,
    },
    /// An equipment unit was removed.
    EquipmentRemoved {
        /// Its id.
        equipment_id: String,
    },
    /// A field of an equipment unit other than its tags changed (`rating`, `fuel`, ...).
    EquipmentChanged {
        /// The unit.
        equipment_id: String,
        /// The field, as in the document.
        field: String,
        /// The old value (null when absent).
        from: Value,
        /// The new value (null when absent).
        to: Value,
    },
    /// A quantity got a tag or constant.
    TagAdded {
        /// The unit.
        equipment_id: String,
        /// The quantity.
        quantity: Quantity,
        /// Its new source.
        source: Value,
    },
    /// A quantity lost its tag or constant.
    TagRemoved {
        /// The unit.
        equipment_id: String,
        /// The quantity.
        quantity: Quantity,
        /// Its old source.
        source: Value,
    },
    /// A quantity's tag or constant changed.
    TagChanged {
        /// The unit.
        equipment_id: String,
        /// The quantity.
        quantity: Quantity,
        /// The old source.
        from: Value,
        /// The new source.
        to: Value,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FacilityChanged { field, from, to } => write!(f, "~ {field}: {from} -> {to}"),
            Self::EquipmentAdded { equipment_id } => write!(f, "+ equipment {equipment_id}"),
            Self::EquipmentRemoved { equipment_id } => write!(f, "- equipment {equipment_id}"),
            Self::EquipmentChanged {
                equipment_id,
                field,
                from,
                to,
            } => write!(f, "~ {equipment_id}.{field}: {from} -> {to}"),
            Self::TagAdded {
                equipment_id,
                quantity,
                source,
            } => write!(f, "+ {equipment_id}.tags.{quantity}: {source}"),
            Self::TagRemoved {
                equipment_id,
                quantity,
                source,
            } => write!(f, "- {equipment_id}.tags.{quantity}: {source}"),
            Self::TagChanged {
                equipment_id,
                quantity,
                from,
                to,
            } => write!(f, "~ {equipment_id}.tags.{quantity}: {from} -> {to}"),
        }
    }
}

fn json<T: Serialize>(value: &T) -> Value {
    // Spec values are strings, numbers, maps and JSON values: serialization cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(super) fn diff(old: &FacilitySpec, new: &FacilitySpec) -> Vec<Change> {
    let mut changes = Vec::new();
    for (field, a, b) in [
        ("id", &old.id, &new.id),
        ("name", &old.name, &new.name),
        ("time_zone", &old.time_zone, &new.time_zone),
    ] {
        if a != b {
            changes.push(Change::FacilityChanged {
                field,
                from: json(a),
                to: json(b),
            });
        }
    }
    if old.economics != new.economics {
        changes.push(Change::FacilityChanged {
            field: "economics",
            from: json(&old.economics),
            to: json(&new.economics),
        });
    }
    if old.connectors != new.connectors {
        changes.push(Change::FacilityChanged {
            field: "connectors",
            from: json(&old.connectors),
            to: json(&new.connectors),
        });
    }
    for e in &old.equipment {
        if new.equipment(&e.id).is_none() {
            changes.push(Change::EquipmentRemoved {
                equipment_id: e.id.clone(),
            });
        }
    }
    for e in &new.equipment {
        match old.equipment(&e.id) {
            None => changes.push(Change::EquipmentAdded {
                equipment_id: e.id.clone(),
            }),
            Some(before) => equipment(before, e, &mut changes),
        }
    }
    changes
}

fn equipment(old: &Equipment, new: &Equipment, changes: &mut Vec<Change>) {
    let (Value::Object(mut a), Value::Object(mut b)) = (json(old), json(new)) else {
        return;
    };
    for skip in ["id", "tags"] {
        a.remove(skip);
        b.remove(skip);
    }
    let mut fields: Vec<&String> = a.keys().chain(b.keys()).collect();
    fields.sort();
    fields.dedup();
    for field in fields {
        let from = a.get(field).cloned().unwrap_or(Value::Null);
        let to = b.get(field).cloned().unwrap_or(Value::Null);
        if from != to {
            changes.push(Change::EquipmentChanged {
                equipment_id: new.id.clone(),
                field: field.clone(),
                from,
                to,
            });
        }
    }
    for q in Quantity::ALL {
        let equipment_id = || new.id.clone();
        match (old.tags.get(&q), new.tags.get(&q)) {
            (None, None) => {}
            (None, Some(s)) => changes.push(Change::TagAdded {
                equipment_id: equipment_id(),
                quantity: q,
                source: json(s),
            }),
            (Some(s), None) => changes.push(Change::TagRemoved {
                equipment_id: equipment_id(),
                quantity: q,
                source: json(s),
            }),
            (Some(a), Some(b)) if a != b => changes.push(Change::TagChanged {
                equipment_id: equipment_id(),
                quantity: q,
                from: json(a),
                to: json(b),
            }),
            _ => {}
        }
    }
}
