//! The one-shot management verbs: migrations, API tokens, facilities.

use std::path::Path;

use server::facility::FacilitySpec;
use server::http::{auth, facilities, format_us};
use server::settings::TokenPepper;
use store::{MigrateDownTarget, MigrationInfo, Role, Store};

use crate::failure::{Failure, Outcome};

fn installed(m: &MigrationInfo) -> String {
    m.installed_on_us
        .map_or_else(|| "pending".to_string(), format_us)
}

/// `migrate current`: the applied version and whether the binary can serve.
pub async fn migrate_current(store: &Store) -> Outcome {
    let s = store.migration_status().await?;
    let version = s
        .current_version
        .map_or_else(|| "none".to_string(), |v| v.to_string());
    println!("current version: {version}");
    println!(
        "latest known:    {}",
        s.latest_known_version
            .map_or_else(|| "none".to_string(), |v| v.to_string())
    );
    println!("pending:         {}", s.pending.len());
    if let Some(v) = s.dirty_version {
        println!("dirty:           {v} (needs manual repair)");
    }
    if !s.unknown.is_empty() {
        println!(
            "unknown:         {} (applied by a newer release)",
            s.unknown.len()
        );
    }
    println!(
        "status:          {}",
        if s.is_current {
            "current"
        } else {
            "not current"
        }
    );
    Ok(())
}

/// `migrate history`: every applied and pending migration, oldest first.
pub async fn migrate_history(store: &Store) -> Outcome {
    let s = store.migration_status().await?;
    for m in s.applied.iter().chain(&s.unknown) {
        println!(
            "{}  applied  {}  {}",
            m.version,
            installed(m),
            m.description
        );
    }
    for m in &s.pending {
        println!("{}  pending  {}", m.version, m.description);
    }
    Ok(())
}

/// `migrate up [--to V]`.
pub async fn migrate_up(store: &Store, to: Option<i64>) -> Outcome {
    let applied = store.migrate_up(to).await?;
    if applied.is_empty() {
        println!("nothing to apply");
    }
    for m in applied {
        println!("applied {}  {}", m.version, m.description);
    }
    Ok(())
}

/// `migrate down --steps N | --to V`.
pub async fn migrate_down(store: &Store, target: MigrateDownTarget) -> Outcome {
    let reverted = store.migrate_down(target).await?;
    if reverted.is_empty() {
        println!("nothing to revert");
    }
    for m in reverted {
        println!("reverted {}  {}", m.version, m.description);
    }
    Ok(())
}

/// `token create`: stores the digest (keyed by `pepper`, the serving configuration's) and
/// prints the secret, once, alone on standard output.
pub async fn token_create(
    store: &Store,
    name: &str,
    role: &str,
    pepper: Option<&TokenPepper>,
) -> Outcome {
    let role = Role::parse(role).ok_or_else(|| {
        Failure::Input(format!("--role: {role:?} is not viewer, operator or admin"))
    })?;
    if name.trim().is_empty() {
        return Err(Failure::Input("--name: the name is empty".to_string()));
    }
    let (secret, record) = auth::new_token(name.trim(), role, pepper);
    store.insert_token(&record).await?;
    println!("{secret}");
    eprintln!(
        "token {} ({role}) for {} created; the secret above is shown only now",
        record.id, record.name
    );
    Ok(())
}

/// `token list`.
pub async fn token_list(store: &Store) -> Outcome {
    for t in store.tokens().await? {
        let state = t.revoked_at_us.map_or_else(
            || "active".to_string(),
            |r| format!("revoked {}", format_us(r)),
        );
        println!(
            "{}  {:8}  {}  created {}  {state}",
            t.id,
            t.role.as_str(),
            t.name,
            format_us(t.created_at_us)
        );
    }
    Ok(())
}

/// `token revoke ID`.
pub async fn token_revoke(store: &Store, id: &str) -> Outcome {
    if store.revoke_token(id).await? {
        println!("revoked {id}");
        Ok(())
    } else {
        Err(Failure::Input(format!("no token {id}")))
    }
}

/// `facility apply FILE`: validates the spec and stores it, printing what changed.
pub async fn facility_apply(store: &Store, file: &Path) -> Outcome {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::Input(format!("{}: cannot read it: {e}", file.display())))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spec = FacilitySpec::parse_file(&name, &text)
        .map_err(|e| Failure::Input(format!("{}: {e}", file.display())))?;
    let applied = facilities::apply(store, &spec).await?;
    println!("facility {} {}", applied.facility_id, applied.outcome);
    for change in &applied.changes {
        println!("  {change}");
    }
    Ok(())
}

/// `facility list`.
pub async fn facility_list(store: &Store) -> Outcome {
    for f in store.facilities().await? {
        println!(
            "{}  {}  ({})  equipment: {}",
            f.id,
            f.name,
            f.time_zone,
            f.equipment_ids.join(", ")
        );
    }
    Ok(())
}
