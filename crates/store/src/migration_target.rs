//! Where `migrate down` goes, the same on both backends: a number of steps back or a named
//! version, refused when the newest applied migration belongs to a newer release (this
//! binary has no down script for it; that release's binary must revert it).

use sqlx::migrate::Migrator;

use crate::{Error, MigrateDownTarget, MigrationInfo, Result};

/// The version to revert to (every applied migration above it is reverted), or `None` when
/// there is nothing to do. `applied` is in ascending version order.
pub(crate) fn down_target(
    migrator: &Migrator,
    applied: &[MigrationInfo],
    to: MigrateDownTarget,
) -> Result<Option<i64>> {
    if let Some(newer) = applied
        .iter()
        .rev()
        .find(|m| !migrator.version_exists(m.version))
    {
        return Err(Error::Migration {
            message: format!(
                "migration {} ({}) was applied by a newer release; this binary has no down \
                 script for it: revert it with the binary of that release",
                newer.version, newer.description
            ),
        });
    }
    match to {
        MigrateDownTarget::Steps(0) => Ok(None),
        MigrateDownTarget::Steps(n) => {
            let keep = applied.len().saturating_sub(n as usize);
            Ok(Some(keep.checked_sub(1).map_or(0, |i| applied[i].version)))
        }
        MigrateDownTarget::To(0) => Ok(Some(0)),
        MigrateDownTarget::To(v) if migrator.version_exists(v) => Ok(Some(v)),
        MigrateDownTarget::To(v) => Err(Error::Migration {
            message: format!("unknown migration version {v}"),
        }),
    }
}
