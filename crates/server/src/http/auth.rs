//! Bearer tokens with roles. A token is `tq_` followed by 32 random bytes in hex; only its
//! digest is stored (`store::TokenRecord::digest`): SHA-256 of the token, or HMAC-SHA256 keyed
//! by the token pepper (`Settings::token_pepper`) when one is configured, so that the stored
//! digests alone do not let anyone test guessed tokens. A request's token is hashed the same
//! way, the record found by digest, and the digests compared in constant time. Verified
//! records are kept in memory for `Settings::token_cache_ttl`, so the hot path does not touch
//! the store; a revocation takes effect within that time.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use store::{Role, Store, TokenRecord};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::settings::TokenPepper;

/// Prefix of every token, so that a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "tq_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A new token secret: `tq_` and 32 bytes from the operating system's CSPRNG, in hex.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a token secret: HMAC-SHA256 keyed by `pepper` when there is one, else
/// plain SHA-256. Issuing and verifying must use the same pepper.
pub fn digest(secret: &str, pepper: Option<&TokenPepper>) -> [u8; 32] {
    match pepper {
        Some(pepper) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(pepper.as_bytes())
                .expect("HMAC accepts a key of any length");
            mac.update(secret.as_bytes());
            mac.finalize().into_bytes().into()
        }
        None => Sha256::digest(secret.as_bytes()).into(),
    }
}

/// A new token for `name` with `role`, its digest keyed by `pepper`: the secret (shown once)
/// and the record to store.
pub fn new_token(name: &str, role: Role, pepper: Option<&TokenPepper>) -> (String, TokenRecord) {
    let secret = generate_secret();
    let record = TokenRecord {
        id: format!(
            "TOK-{}",
            uuid::Uuid::now_v7()
                .simple()
                .encode_upper(&mut uuid::Uuid::encode_buffer())
        ),
        name: name.to_string(),
        role,
        digest: digest(&secret, pepper),
        created_at_us: store::now_us(),
        revoked_at_us: None,
    };
    (secret, record)
}

/// Whether a string has the form of a token (prefix and 64 hex digits).
fn well_formed(secret: &str) -> bool {
    secret.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == 2 * TOKEN_BYTES && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// Token id.
    pub token_id: String,
    /// Name the token was created for.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// Verifies bearer tokens against the store, remembering verified ones briefly.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    pepper: Option<TokenPepper>,
    verified: Option<moka::future::Cache<[u8; 32], Arc<TokenRecord>>>,
}

impl Authenticator {
    /// An authenticator over `store` for tokens issued with `pepper`; `ttl` zero asks the
    /// store for every request.
    pub fn new(store: Store, ttl: Duration, pepper: Option<TokenPepper>) -> Self {
        let verified = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build()
        });
        Self {
            store,
            pepper,
            verified,
        }
    }

    /// The caller of an `Authorization` header value; 401 when it is missing, malformed,
    /// unknown or revoked, 503 when the store does not answer.
    pub async fn authenticate(&self, authorization: Option<&str>) -> ApiResult<Caller> {
        let Some(value) = authorization else {
            return Err(ApiError::unauthorized(
                "missing bearer token: send Authorization: Bearer tq_...",
            ));
        };
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized("the Authorization header is not Bearer"))?;
        if !well_formed(secret) {
            return Err(ApiError::unauthorized("invalid token"));
        }
        let digest = digest(secret, self.pepper.as_ref());
        let record = match &self.verified {
            Some(cache) => match cache.get(&digest).await {
                Some(r) => r,
                None => {
                    let r = self.lookup(&digest).await?;
                    cache.insert(digest, Arc::clone(&r)).await;
                    r
                }
            },
            None => self.lookup(&digest).await?,
        };
        if !bool::from(record.digest.ct_eq(&digest)) {
            return Err(ApiError::unauthorized("invalid token"));
        }
        Ok(Caller {
            token_id: record.id.clone(),
            name: record.name.clone(),
            role: record.role,
        })
    }

    /// The valid (not revoked) record of a digest from the store.
    async fn lookup(&self, digest: &[u8; 32]) -> ApiResult<Arc<TokenRecord>> {
        match self.store.token_by_digest(digest).await? {
            Some(r) if r.revoked_at_us.is_some() => {
                Err(ApiError::unauthorized("the token has been revoked"))
            }
            Some(r) => Ok(Arc::new(r)),
            None => Err(ApiError::unauthorized("invalid token")),
        }
    }
}

/// The least role a route needs, as a type, so a handler's signature states it.
pub trait MinRole: Send + Sync + 'static {
    /// The role.
    const ROLE: Role;
}

/// Read-only routes.
pub struct Viewer;
/// Routes that write data.
pub struct Operator;
/// Administration routes.
pub struct Admin;

impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Operator {
    const ROLE: Role = Role::Operator;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// An authenticated caller with at least role `R`; extracting it answers 401 or 403 before
/// the body is read.
pub struct Auth<R: MinRole> {
    /// The caller.
    pub caller: Caller,
    role: PhantomData<R>,
}

impl<R: MinRole> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| ApiError::unauthorized("invalid token"))?,
            ),
        };
        let caller = state.auth.authenticate(header).await?;
        if caller.role < R::ROLE {
            return Err(ApiError::forbidden(format!(
                "this route needs the {} role; the token has {}",
                R::ROLE,
                caller.role
            )));
        }
        Ok(Self {
            caller,
            role: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_published_test_vectors() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(
            hex::encode(digest("abc", None)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231, test case 2: HMAC-SHA256 with key "Jefe".
        assert_eq!(
            hex::encode(digest(
                "what do ya want for nothing?",
                Some(&TokenPepper::new("Jefe"))
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 4231, test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(digest(
                "Test Using Larger Than Block-Size Key - Hash Key First",
                Some(&TokenPepper::new(vec![0xaa; 131]))
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_token_issued_with_a_pepper_has_that_peppers_digest() {
        let pepper = TokenPepper::new("0123456789abcdef0123456789abcdef");
        let (secret, record) = new_token("ops", Role::Operator, Some(&pepper));
        assert!(well_formed(&secret), "{secret}");
        assert_eq!(record.digest, digest(&secret, Some(&pepper)));
        assert_ne!(record.digest, digest(&secret, None));
        let other = TokenPepper::new("0123456789abcdef0123456789abcdeF");
        assert_ne!(record.digest, digest(&secret, Some(&other)));
    }
}
