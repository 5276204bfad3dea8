//! Sessions of the web application (`web_sessions`): a browser signs in with an API token
//! and gets a session secret; only the secret's SHA-256 digest (hex) is stored, with the
//! token it belongs to, its CSRF token and its expiry. A lookup joins the token, so that a
//! revoked token ends its sessions at the next request.

use crate::error::{Error, Result};
use crate::model::Role;
use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;

/// One stored web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// SHA-256 of the session secret, 64 lowercase hex digits.
    pub id_digest: String,
    /// The API token the user signed in with.
    pub token_id: String,
    /// The session's CSRF token, 64 hex digits.
    pub csrf: String,
    /// Creation time, UTC µs.
    pub created_at_us: i64,
    /// Expiry time, UTC µs; the session is invalid from this instant.
    pub expires_at_us: i64,
}

/// A stored session with what its token says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSessionLookup {
    /// The session.
    pub session: WebSession,
    /// Name the token was created for.
    pub name: String,
    /// The token's role.
    pub role: Role,
    /// When the token was revoked; `None` while it is valid.
    pub token_revoked_at_us: Option<i64>,
}

impl WebSession {
    /// Refuses malformed digests and CSRF tokens and an expiry not after creation, naming
    /// the field, before the database sees them.
    fn check(&self) -> Result<()> {
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex64(&self.id_digest) {
            return Err(Error::constraint("id_digest", "must be 64 hex digits"));
        }
        if !hex64(&self.csrf) {
            return Err(Error::constraint("csrf", "must be 64 hex digits"));
        }
        if self.expires_at_us <= self.created_at_us {
            return Err(Error::constraint(
                "expires_at_us",
                format!(
                    "{} is not after created_at_us {}",
                    self.expires_at_us, self.created_at_us
                ),
            ));
        }
        Ok(())
    }
}

type Row = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    Option<i64>,
);

fn from_row(r: Row) -> Result<WebSessionLookup> {
    Ok(WebSessionLookup {
        role: Role::parse(&r.6)
            .ok_or_else(|| Error::database(format!("stored role {:?} is unknown", r.6)))?,
        session: WebSession {
            id_digest: r.0,
            token_id: r.1,
            csrf: r.2,
            created_at_us: r.3,
            expires_at_us: r.4,
        },
        name: r.5,
        token_revoked_at_us: r.7,
    })
}

/// The lookup query, the same text on both backends but for the placeholder.
macro_rules! select_session {
    ($placeholder:literal) => {
        concat!(
            "SELECT s.id_digest, s.token_id, s.csrf, s.created_at_us, s.expires_at_us, ",
            "t.name, t.role, t.revoked_at_us ",
            "FROM web_sessions s JOIN api_tokens t ON t.id = s.token_id WHERE s.id_digest = ",
            $placeholder
        )
    };
}

impl SqliteStore {
    pub(crate) async fn insert_web_session(&self, s: &WebSession) -> Result<()> {
        s.check()?;
        sqlx::query(
            "INSERT INTO web_sessions (id_digest, token_id, csrf, created_at_us, expires_at_us) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&s.id_digest)
        .bind(&s.token_id)
        .bind(&s.csrf)
        .bind(s.created_at_us)
        .bind(s.expires_at_us)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(|e| crate::sqlite::map_err_in("web_session", e))
    }

    pub(crate) async fn web_session(&self, id_digest: &str) -> Result<Option<WebSessionLookup>> {
        let row: Option<Row> = sqlx::query_as(select_session!("?1"))
            .bind(id_digest)
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| crate::sqlite::map_err_in("web_session", e))?;
        row.map(from_row).transpose()
    }

    pub(crate) async fn delete_web_session(&self, id_digest: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE id_digest = ?1")
            .bind(id_digest)
            .execute(&self.writer)
            .await
            .map_err(|e| crate::sqlite::map_err_in("web_session", e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn delete_expired_web_sessions(&self, now_us: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at_us <= ?1")
            .bind(now_us)
            .execute(&self.writer)
            .await
            .map_err(|e| crate::sqlite::map_err_in("web_session", e))?;
        Ok(done.rows_affected())
    }
}

impl PostgresStore {
    pub(crate) async fn insert_web_session(&self, s: &WebSession) -> Result<()> {
        s.check()?;
        sqlx::query(
            "INSERT INTO web_sessions (id_digest, token_id, csrf, created_at_us, expires_at_us) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id_digest)
        .bind(&s.token_id)
        .bind(&s.csrf)
        .bind(s.created_at_us)
        .bind(s.expires_at_us)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(|e| crate::postgres::map_err_in("web_session", e))
    }

    pub(crate) async fn web_session(&self, id_digest: &str) -> Result<Option<WebSessionLookup>> {
        let row: Option<Row> = sqlx::query_as(select_session!("$1"))
            .bind(id_digest)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| crate::postgres::map_err_in("web_session", e))?;
        row.map(from_row).transpose()
    }

    pub(crate) async fn delete_web_session(&self, id_digest: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE id_digest = $1")
            .bind(id_digest)
            .execute(&self.pool)
            .await
            .map_err(|e| crate::postgres::map_err_in("web_session", e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn delete_expired_web_sessions(&self, now_us: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at_us <= $1")
            .bind(now_us)
            .execute(&self.pool)
            .await
            .map_err(|e| crate::postgres::map_err_in("web_session", e))?;
        Ok(done.rows_affected())
    }
}
