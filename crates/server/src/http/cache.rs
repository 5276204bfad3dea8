//! The calculation cache. Completed calculation documents are kept as the JSON bytes that were
//! stored, under `calculation:{facility_id}:v{service_version}:{input_hash}` (the runbook's
//! key, so one version's entries can be dropped with `calculation:*:v1.2.3:*`), with an index
//! from calculation id to key so `GET /calculations/{id}` answers without the store and
//! without serializing again. In-process (moka) by default; Redis ([`RedisCache`]) when the
//! settings name a `redis_url`, shared by every replica. docs/CACHE.md says what operators see.
//!
//! Reads and writes never fail the request: with Redis unreachable a read is a miss and a write
//! is skipped (counted and logged by [`RedisCache`]). Invalidation and statistics do report the
//! failure, since an operator acting on them must know they did not happen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use serde::Serialize;
use wildmatch::WildMatch;

pub use super::cache_redis::RedisCache;
use super::error::ApiError;
use crate::settings::{CacheSettings, Settings};

/// Why a cache could not be set up or an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// `redis_url` does not read as a Redis URL.
    #[error("redis_url: {source}")]
    Url {
        /// What the Redis client refused.
        source: redis::RedisError,
    },
    /// The Redis cache was built outside a Tokio runtime (its connection needs one).
    #[error("the Redis cache must be created within a Tokio runtime")]
    NoRuntime,
    /// Redis answered with an error or the connection failed.
    #[error("Redis cache {operation}: {source}")]
    Redis {
        /// The cache operation.
        operation: &'static str,
        /// The client's error.
        source: redis::RedisError,
    },
    /// Redis did not answer in time.
    #[error("Redis cache {operation}: no answer within {} ms", after.as_millis())]
    Timeout {
        /// The cache operation.
        operation: &'static str,
        /// The time waited.
        after: Duration,
    },
}

impl From<CacheError> for ApiError {
    fn from(e: CacheError) -> Self {
        ApiError::unavailable(format!("the calculation cache is unavailable: {e}"))
    }
}

/// The cache key of a calculation: the facility, the service version that computed it and
/// its input hash (the facility provenance hash).
pub fn calculation_key(facility_id: &str, service_version: &str, input_hash: &str) -> String {
    format!("calculation:{facility_id}:v{service_version}:{input_hash}")
}

/// A cached calculation document.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedCalculation {
    /// Calculation id.
    pub id: String,
    /// The document as served, JSON.
    pub bytes: Bytes,
}

/// Entries, hits and misses, as `GET /admin/cache/stats` answers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CacheStats {
    /// Documents cached.
    pub size: u64,
    /// Lookups answered from the cache since the start or the last invalidation.
    pub hits: u64,
    /// Lookups that had to go to the store since the start or the last invalidation.
    pub misses: u64,
}

/// The calculation cache, one variant per backend.
#[derive(Clone)]
pub enum Cache {
    /// In this process's memory (moka).
    InProcess(InProcessCache),
    /// In Redis, shared by every replica.
    Redis(RedisCache),
}

/// The in-process cache.
#[derive(Clone)]
pub struct InProcessCache {
    by_key: moka::future::Cache<String, Arc<CachedCalculation>>,
    key_of_id: moka::future::Cache<String, String>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl Cache {
    /// The cache `settings` ask for: Redis when `redis_url` is set (connecting lazily, so an
    /// unreachable Redis neither delays nor fails the start), else in-process. Refuses a
    /// malformed URL; must be called within a Tokio runtime when the URL is set.
    pub fn from_settings(settings: &Settings) -> Result<Self, CacheError> {
        match &settings.redis_url {
            Some(url) => {
                let cache = RedisCache::new(url, settings.cache.ttl)?;
                // Say at once whether Redis answers, rather than at the first request.
                let probe = cache.clone();
                tokio::spawn(async move {
                    if probe.ping().await.is_ok() {
                        tracing::info!("calculation cache: Redis reachable");
                    }
                });
                Ok(Self::Redis(cache))
            }
            None => Ok(Self::in_process(&settings.cache)),
        }
    }

    /// An in-process cache sized and aged by `settings`.
    pub fn in_process(settings: &CacheSettings) -> Self {
        let by_key = moka::future::Cache::builder()
            .max_capacity(settings.max_entries)
            .time_to_live(settings.ttl)
            .build();
        let key_of_id = moka::future::Cache::builder()
            .max_capacity(settings.max_entries)
            .time_to_live(settings.ttl)
            .build();
        Self::InProcess(InProcessCache {
            by_key,
            key_of_id,
            hits: Arc::new(AtomicU64::new(0)),
            misses: Arc::new(AtomicU64::new(0)),
        })
    }

    fn count(hit: bool, c: &InProcessCache) {
        let counter = if hit { &c.hits } else { &c.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The calculation cached under `key`, counting a hit or a miss; an unreachable Redis is a
    /// miss.
    pub async fn get(&self, key: &str) -> Option<Arc<CachedCalculation>> {
        match self {
            Self::InProcess(c) => {
                let found = c.by_key.get(key).await;
                Self::count(found.is_some(), c);
                found
            }
            Self::Redis(r) => r.get(key).await.ok().flatten().map(Arc::new),
        }
    }

    /// The document of calculation `id`, counting a hit or a miss.
    pub async fn get_by_id(&self, id: &str) -> Option<Bytes> {
        match self {
            Self::InProcess(c) => {
                let found = match c.key_of_id.get(id).await {
                    Some(key) => c.by_key.get(&key).await.filter(|e| e.id == id),
                    None => None,
                };
                Self::count(found.is_some(), c);
                found.map(|e| e.bytes.clone())
            }
            Self::Redis(r) => r.get_by_id(id).await.ok().flatten(),
        }
    }

    /// Caches a calculation document under `key`, replacing what was there; skipped when
    /// Redis is unreachable.
    pub async fn put(&self, key: String, entry: CachedCalculation) {
        // A failed write is counted and logged by the Redis cache; the request goes on.
        let _ = self.try_put(key, entry).await;
    }

    /// Caches a calculation document under `key`, replacing what was there, and says whether
    /// it was stored (`cache warm` must know).
    pub async fn try_put(&self, key: String, entry: CachedCalculation) -> Result<(), CacheError> {
        match self {
            Self::InProcess(c) => {
                c.key_of_id.insert(entry.id.clone(), key.clone()).await;
                c.by_key.insert(key, Arc::new(entry)).await;
                Ok(())
            }
            Self::Redis(r) => r.put(&key, &entry).await,
        }
    }

    /// Caches `entry` under `key` only when nothing is cached there yet (a document read
    /// back from the store must not displace the newer calculation of the same inputs).
    pub async fn put_if_absent(&self, key: String, entry: CachedCalculation) {
        match self {
            Self::InProcess(c) => {
                let id = entry.id.clone();
                let stored = c.by_key.entry(key.clone()).or_insert(Arc::new(entry)).await;
                if stored.value().id == id {
                    c.key_of_id.insert(id, key).await;
                }
            }
            Self::Redis(r) => {
                // A failed write is counted and logged by the Redis cache.
                let _ = r.put_if_absent(&key, &entry).await;
            }
        }
    }

    /// One round trip to the backend (always succeeds in-process).
    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            Self::InProcess(_) => Ok(()),
            Self::Redis(r) => r.ping().await,
        }
    }

    /// Drops every entry whose key matches the glob `pattern` (`*` any run of characters,
    /// `?` one character, every other character itself — in both backends) and resets the hit
    /// and miss counters; returns how many were dropped.
    pub async fn invalidate(&self, pattern: &str) -> Result<u64, CacheError> {
        match self {
            Self::InProcess(c) => {
                let glob = WildMatch::new(pattern);
                let keys: Vec<Arc<String>> = c
                    .by_key
                    .iter()
                    .filter(|(k, _)| glob.matches(k))
                    .map(|(k, _)| k)
                    .collect();
                for key in &keys {
                    if let Some(entry) = c.by_key.remove(key.as_str()).await {
                        c.key_of_id.invalidate(&entry.id).await;
                    }
                }
                c.hits.store(0, Ordering::Relaxed);
                c.misses.store(0, Ordering::Relaxed);
                c.by_key.run_pending_tasks().await;
                c.key_of_id.run_pending_tasks().await;
                Ok(keys.len() as u64)
            }
            Self::Redis(r) => r.invalidate(pattern).await,
        }
    }

    /// Size and counters: of this process in-process, shared by every replica in Redis.
    pub async fn stats(&self) -> Result<CacheStats, CacheError> {
        match self {
            Self::InProcess(c) => {
                c.by_key.run_pending_tasks().await;
                Ok(CacheStats {
                    size: c.by_key.entry_count(),
                    hits: c.hits.load(Ordering::Relaxed),
                    misses: c.misses.load(Ordering::Relaxed),
                })
            }
            Self::Redis(r) => r.stats().await,
        }
    }
}
