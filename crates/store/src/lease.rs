//! Leases: at most one process at a time holds a named lease, so work that must not run twice
//! (polling a facility's meters) runs in one replica while every replica serves the API.
//!
//! PostgreSQL: a session advisory lock held by a connection taken out of the pool; it is
//! released when the lease is dropped (the connection closes) or when the database loses the
//! session, which [`Lease::check`] notices. SQLite: one process owns the database, so a lease
//! is always granted.

use sqlx::{Connection, PgConnection};
use tokio::sync::Mutex;

use crate::postgres::map_err;
use crate::{Result, Store};

/// A held lease; dropping it releases it.
#[derive(Debug)]
pub struct Lease {
    name: String,
    holder: Holder,
}

#[derive(Debug)]
enum Holder {
    /// The embedded database has one process.
    Local,
    /// The connection holding the advisory lock.
    Postgres(Mutex<PgConnection>),
}

impl Lease {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lease is still held: false once the database has lost the holding session
    /// (then the lock is free, and another replica may already hold it).
    pub async fn check(&self) -> bool {
        match &self.holder {
            Holder::Local => true,
            Holder::Postgres(conn) => conn.lock().await.ping().await.is_ok(),
        }
    }

    /// Releases the lease now rather than at drop.
    pub async fn release(self) {
        if let Holder::Postgres(conn) = self.holder {
            // Closing the session releases its advisory locks; a failed close has lost it anyway.
            let _ = conn.into_inner().close().await;
        }
    }
}

impl Store {
    /// Takes the lease `name` if no other process holds it; `None` when another does.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>> {
        match self {
            Store::Sqlite(_) => Ok(Some(Lease {
                name: name.to_string(),
                holder: Holder::Local,
            })),
            Store::Postgres(s) => {
                let mut conn = s.pool.acquire().await.map_err(map_err)?.detach();
                // A 64-bit key from the name; a collision would only make two leases exclusive.
                let held: bool =
                    sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                        .bind(name)
                        .fetch_one(&mut conn)
                        .await
                        .map_err(map_err)?;
                if held {
                    Ok(Some(Lease {
                        name: name.to_string(),
                        holder: Holder::Postgres(Mutex::new(conn)),
                    }))
                } else {
                    let _ = conn.close().await;
                    Ok(None)
                }
            }
        }
    }
}
