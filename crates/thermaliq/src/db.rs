//! `db backup` and `db restore`: a copy of the whole database (docs/STORE.md, "Backup and
//! restore") with a SHA-256 sidecar file, checked before a restore touches anything.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use sha2::{Digest, Sha256};
use store::Store;

use crate::failure::{Failure, Outcome, io};
use crate::serve::StoreLocation;

/// Database backup and restore.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Write a consistent backup of the running database to FILE (SQLite: a database file;
    /// PostgreSQL: a pg_dump custom-format archive) and its SHA-256 to FILE.sha256.
    Backup {
        /// The backup file; must not exist.
        file: PathBuf,
    },
    /// Restore FILE into an empty, unmigrated database, after checking it against
    /// FILE.sha256.
    Restore {
        /// A file written by `db backup`, next to its FILE.sha256.
        file: PathBuf,
    },
}

/// Runs a `db` verb.
pub fn run(location: &StoreLocation, command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Backup { file } => {
            crate::with_store(location, false, async |store| backup(store, &file).await)
        }
        DbCommand::Restore { file } => {
            // Before the store is even opened: a damaged or altered backup touches nothing.
            crate::lift(verify(&file))?;
            crate::with_store(location, false, async |store| restore(store, &file).await)
        }
    }
}

/// `FILE.sha256`.
fn sidecar(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// SHA-256 of a file as lower-case hex.
fn sha256_hex(file: &Path) -> std::io::Result<String> {
    let mut reader = std::fs::File::open(file)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

async fn backup(store: &Store, file: &Path) -> Outcome {
    store.backup_to(file).await?;
    let digest =
        sha256_hex(file).map_err(|e| io(format!("{}: reading it back", file.display()), e))?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    // The format of `sha256sum`, so `sha256sum -c FILE.sha256` checks it too.
    let sum = sidecar(file);
    std::fs::write(&sum, format!("{digest}  {name}\n"))
        .map_err(|e| io(format!("{}: cannot write it", sum.display()), e))?;
    println!(
        "backup of the {} database written to {}",
        store.backend(),
        file.display()
    );
    println!("sha256 {digest} in {}", sum.display());
    Ok(())
}

/// Checks FILE against FILE.sha256; any doubt refuses the restore.
fn verify(file: &Path) -> Outcome {
    let sum = sidecar(file);
    let text = std::fs::read_to_string(&sum).map_err(|e| {
        Failure::Input(format!(
            "{}: cannot read it ({e}); a restore needs the checksum file written by `db backup`",
            sum.display()
        ))
    })?;
    let expected = text
        .split_whitespace()
        .next()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            Failure::Input(format!(
                "{}: does not start with a SHA-256 in hex",
                sum.display()
            ))
        })?
        .to_ascii_lowercase();
    let actual = sha256_hex(file)
        .map_err(|e| Failure::Input(format!("{}: cannot read it: {e}", file.display())))?;
    if actual == expected {
        Ok(())
    } else {
        Err(Failure::Input(format!(
            "{}: SHA-256 is {actual} but {} says {expected}; the backup is damaged or was \
             changed, nothing was restored",
            file.display(),
            sum.display()
        )))
    }
}

async fn restore(store: &Store, file: &Path) -> Outcome {
    store.restore_from(file).await?;
    let status = store.migration_status().await?;
    println!(
        "restored {} into the {} database; schema version {}{}",
        file.display(),
        store.backend(),
        status
            .current_version
            .map_or_else(|| "none".to_owned(), |v| v.to_string()),
        if status.is_current {
            ""
        } else {
            " (not current: run `migrate up`)"
        }
    );
    Ok(())
}
