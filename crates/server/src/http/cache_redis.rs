//! The Redis variant of the calculation cache, shared by every replica (docs/CACHE.md).
//!
//! Layout: a calculation is a hash `calculation:{facility_id}:v{version}:{input_hash}` with
//! fields `id` and `doc` (the JSON document as served); `calculation-id:{id}` holds that key so
//! `GET /calculations/{id}` finds it; both expire after the cache TTL. Hits and misses are
//! shared counters `calculation-stats:hits` / `calculation-stats:misses`, so every replica
//! reports the same numbers and one invalidation resets them for all. None of the helper keys
//! matches `calculation:*`. The scripts touch keys they do not declare: standalone Redis (or a
//! Sentinel primary), not Redis Cluster.
//!
//! Documents read by id are also held in this process ([`LOCAL_DOC_BYTES`] at most): a stored
//! calculation's document never changes, so a replica that holds it asks Redis only whether
//! the entry is still there (and counts the hit or miss) and gets a few bytes back instead of
//! the whole document. Redis still decides every lookup, so an invalidation through any replica
//! is seen by all at once and the shared counters stay exact.
//!
//! Redis is an accelerator, never a dependency: every round trip has a short timeout, a failed
//! read is a miss and a failed write is skipped, each failure counts in
//! `thermaliq_cache_errors_total{operation}`, and an outage is logged once ("Redis
//! unavailable") and its end once ("Redis reconnected"). The connection manager reconnects by
//! itself; it connects lazily, so start-up never waits for Redis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, ParsingError, RedisError, RedisResult, Script, Value};
use wildmatch::WildMatch;

use super::cache::{CacheError, CacheStats, CachedCalculation};

/// Longest wait for one Redis round trip (connection included): a cache that answers slower
/// than this is no faster than the store behind it.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(300);

/// Prefix of the id → key index entries.
const ID_PREFIX: &str = "calculation-id:";

/// Shared hit counter.
const HITS: &str = "calculation-stats:hits";

/// Shared miss counter.
const MISSES: &str = "calculation-stats:misses";

/// Prefix every cached calculation key has; invalidation never touches other keys.
const KEY_PREFIX: &str = "calculation:";

/// Keys asked for per SCAN step.
const SCAN_COUNT: u64 = 1_000;

/// The entry under KEYS[1], counting a hit (KEYS[2]) or a miss (KEYS[3]) in the same round trip.
static GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local e = redis.call('HMGET', KEYS[1], 'id', 'doc')
if e[1] and e[2] then
  redis.call('INCR', KEYS[2])
  return e
end
redis.call('INCR', KEYS[3])
return false",
    )
});

/// The document of calculation ARGV[1] through its index KEYS[1], counting a hit or a miss; the
/// entry must still be that calculation's (the key may have been replaced since). With ARGV[2]
/// = "1" the caller already holds the document and is answered 1 for a hit instead of the
/// document, which spares Redis copying it into Lua and onto the wire.
static GET_BY_ID: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local key = redis.call('GET', KEYS[1])
if key then
  if ARGV[2] == '1' then
    if redis.call('HGET', key, 'id') == ARGV[1] and redis.call('HEXISTS', key, 'doc') == 1 then
      redis.call('INCR', KEYS[2])
      return 1
    end
  else
    local e = redis.call('HMGET', key, 'id', 'doc')
    if e[1] == ARGV[1] and e[2] then
      redis.call('INCR', KEYS[2])
      return e[2]
    end
  end
end
redis.call('INCR', KEYS[3])
return false",
    )
});

/// Stores entry (id ARGV[1], doc ARGV[2]) under KEYS[1] and its index KEYS[2] for ARGV[3] ms
/// only when KEYS[1] is empty; when KEYS[1] already holds this id, only refreshes the index.
static PUT_IF_ABSENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cur = redis.call('HGET', KEYS[1], 'id')
if not cur then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'doc', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[3])
  return 1
end
if cur == ARGV[1] then
  redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[3])
end
return 0",
    )
});

/// Unlinks the entries KEYS and their index entries (prefix ARGV[1]); answers how many entries.
static UNLINK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local n = 0
for _, key in ipairs(KEYS) do
  local id = redis.call('HGET', key, 'id')
  n = n + redis.call('UNLINK', key)
  if id then redis.call('UNLINK', ARGV[1] .. id) end
end
return n",
    )
});

/// Most document bytes one process holds for lookups by id (about 1 600 documents of 40 KB).
pub const LOCAL_DOC_BYTES: u64 = 64 * 1024 * 1024;

/// What [`GET_BY_ID`] answers.
enum ById {
    /// No entry for the id (or it now holds another calculation): a miss.
    Missing,
    /// The entry is there and the caller holds its document: a hit.
    Held,
    /// The entry's document: a hit.
    Doc(Vec<u8>),
}

impl FromRedisValue for ById {
    fn from_redis_value(v: Value) -> Result<Self, ParsingError> {
        match v {
            Value::Nil => Ok(Self::Missing),
            Value::Int(1) => Ok(Self::Held),
            Value::BulkString(doc) => Ok(Self::Doc(doc)),
            other => Err(format!("calculation lookup answered {other:?}").into()),
        }
    }
}

/// The Redis calculation cache.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    ttl_ms: u64,
    /// Documents by calculation id, served only after Redis confirms their entry.
    docs: moka::future::Cache<String, Bytes>,
    /// Whether the last round trip reached Redis; flips log the outage and its end once.
    reachable: Arc<AtomicBool>,
}

impl RedisCache {
    /// A cache on the Redis at `url` whose entries live `ttl`; connects lazily (on the first
    /// operation), so it never blocks or fails for an unreachable server. Must be called
    /// within a Tokio runtime.
    pub fn new(url: &str, ttl: Duration) -> Result<Self, CacheError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(CacheError::NoRuntime);
        }
        let client = redis::Client::open(url).map_err(|source| CacheError::Url { source })?;
        // No retries inside the manager: a failed connection fails the waiting operations at
        // once (a miss) and the next operation starts a fresh attempt, so recovery is seen on
        // the first request after Redis is back rather than after a backoff.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|source| CacheError::Url { source })?;
        let docs = moka::future::Cache::builder()
            .max_capacity(LOCAL_DOC_BYTES)
            .weigher(|_, doc: &Bytes| u32::try_from(doc.len()).unwrap_or(u32::MAX))
            .time_to_live(ttl)
            .build();
        Ok(Self {
            conn,
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1),
            docs,
            reachable: Arc::new(AtomicBool::new(true)),
        })
    }

    /// One logical operation, bounded by [`REDIS_TIMEOUT`]; a dropped connection is retried
    /// once (the manager reconnects underneath). Failures are counted and logged here.
    async fn run<T, Fut>(
        &self,
        operation: &'static str,
        op: impl Fn(ConnectionManager) -> Fut,
    ) -> Result<T, CacheError>
    where
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempt = async {
            match op(self.conn.clone()).await {
                Err(e) if e.is_connection_dropped() => op(self.conn.clone()).await,
                other => other,
            }
        };
        let result = match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
            Ok(Ok(v)) => {
                self.reached();
                return Ok(v);
            }
            Ok(Err(source)) => CacheError::Redis { operation, source },
            Err(_) => CacheError::Timeout {
                operation,
                after: REDIS_TIMEOUT,
            },
        };
        self.failed(operation, &result);
        Err(result)
    }

    fn reached(&self) {
        if !self.reachable.load(Ordering::Relaxed) && !self.reachable.swap(true, Ordering::Relaxed)
        {
            tracing::info!("Redis reconnected");
        }
    }

    fn failed(&self, operation: &'static str, error: &CacheError) {
        ::metrics::counter!(crate::metrics::CACHE_ERRORS, "operation" => operation).increment(1);
        let outage = match error {
            CacheError::Timeout { .. } => true,
            CacheError::Redis { source, .. } => is_outage(source),
            CacheError::Url { .. } | CacheError::NoRuntime => false,
        };
        if !outage {
            tracing::warn!(operation, error = %error, "Redis cache operation failed");
        } else if self.reachable.swap(false, Ordering::Relaxed) {
            tracing::warn!(operation, error = %error, "Redis unavailable");
        }
    }

    /// One round trip to Redis.
    pub async fn ping(&self) -> Result<(), CacheError> {
        self.run("ping", |mut c| async move {
            redis::cmd("PING").query_async::<()>(&mut c).await
        })
        .await
    }

    /// The entry under `key`, counting a hit or a miss in the shared counters.
    pub async fn get(&self, key: &str) -> Result<Option<CachedCalculation>, CacheError> {
        let found: Option<(String, Vec<u8>)> = self
            .run("get", |mut c| async move {
                GET.key(key)
                    .key(HITS)
                    .key(MISSES)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(found.map(|(id, doc)| CachedCalculation {
            id,
            bytes: Bytes::from(doc),
        }))
    }

    /// The document of calculation `id`, counting a hit or a miss in the shared counters. A
    /// document this process holds is answered once Redis confirms its entry is still there.
    pub async fn get_by_id(&self, id: &str) -> Result<Option<Bytes>, CacheError> {
        let index = &format!("{ID_PREFIX}{id}");
        let held = self.docs.get(id).await;
        let have = if held.is_some() { "1" } else { "0" };
        let found: ById = self
            .run("get_by_id", |mut c| async move {
                GET_BY_ID
                    .key(index)
                    .key(HITS)
                    .key(MISSES)
                    .arg(id)
                    .arg(have)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        match found {
            ById::Missing => {
                if held.is_some() {
                    self.docs.invalidate(id).await;
                }
                Ok(None)
            }
            ById::Held => Ok(held),
            ById::Doc(doc) => {
                let doc = Bytes::from(doc);
                self.docs.insert(id.to_string(), doc.clone()).await;
                Ok(Some(doc))
            }
        }
    }

    /// Stores `entry` under `key` (replacing it) with its index, atomically, and holds its
    /// document here for lookups by id.
    pub async fn put(&self, key: &str, entry: &CachedCalculation) -> Result<(), CacheError> {
        let index = &format!("{ID_PREFIX}{}", entry.id);
        let ttl = self.ttl_ms;
        self.run("put", |mut c| async move {
            redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(key)
                .ignore()
                .cmd("HSET")
                .arg(key)
                .arg("id")
                .arg(&entry.id)
                .arg("doc")
                .arg(entry.bytes.as_ref())
                .ignore()
                .cmd("PEXPIRE")
                .arg(key)
                .arg(ttl)
                .ignore()
                .cmd("SET")
                .arg(index)
                .arg(key)
                .arg("PX")
                .arg(ttl)
                .ignore()
                .exec_async(&mut c)
                .await
        })
        .await?;
        // The request that calculated the document is often followed by reads of it here.
        self.docs
            .insert(entry.id.clone(), entry.bytes.clone())
            .await;
        Ok(())
    }

    /// Stores `entry` under `key` only when nothing is there yet.
    pub async fn put_if_absent(
        &self,
        key: &str,
        entry: &CachedCalculation,
    ) -> Result<(), CacheError> {
        let index = &format!("{ID_PREFIX}{}", entry.id);
        let ttl = self.ttl_ms;
        self.run("put_if_absent", |mut c| async move {
            PUT_IF_ABSENT
                .key(key)
                .key(index)
                .arg(&entry.id)
                .arg(entry.bytes.as_ref())
                .arg(ttl)
                .invoke_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// Unlinks every calculation entry whose key matches the glob `pattern` (the in-process
    /// cache's semantics, see [`scan_pattern`]) and resets the shared counters; SCAN, never KEYS.
    pub async fn invalidate(&self, pattern: &str) -> Result<u64, CacheError> {
        let glob = WildMatch::new(pattern);
        let server_pattern = scan_pattern(pattern);
        let server_pattern = &server_pattern;
        let mut cursor = 0_u64;
        let mut dropped = 0_u64;
        loop {
            let (next, keys) = self.scan("invalidate", cursor, server_pattern).await?;
            let ours: Vec<String> = keys
                .into_iter()
                .filter(|k| k.starts_with(KEY_PREFIX) && glob.matches(k))
                .collect();
            if !ours.is_empty() {
                let ours = &ours;
                let n: u64 = self
                    .run("invalidate", |mut c| async move {
                        let mut call = UNLINK.prepare_invoke();
                        for k in ours {
                            call.key(k);
                        }
                        call.arg(ID_PREFIX).invoke_async(&mut c).await
                    })
                    .await?;
                dropped += n;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        self.run("invalidate", |mut c| async move {
            redis::cmd("DEL")
                .arg(HITS)
                .arg(MISSES)
                .query_async::<()>(&mut c)
                .await
        })
        .await?;
        // Every held document is checked against Redis before use; dropping them here only
        // frees the memory of what this invalidation removed.
        self.docs.invalidate_all();
        Ok(dropped)
    }

    /// Entries (keys matching `calculation:*`, every version) and the shared counters.
    pub async fn stats(&self) -> Result<CacheStats, CacheError> {
        let mut cursor = 0_u64;
        let mut size = 0_u64;
        let all = &format!("{KEY_PREFIX}*");
        loop {
            let (next, keys) = self.scan("stats", cursor, all).await?;
            size += keys.len() as u64;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let (hits, misses): (Option<u64>, Option<u64>) = self
            .run("stats", |mut c| async move {
                redis::cmd("MGET")
                    .arg(HITS)
                    .arg(MISSES)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(CacheStats {
            size,
            hits: hits.unwrap_or(0),
            misses: misses.unwrap_or(0),
        })
    }

    /// One SCAN step; each step has its own timeout so a large keyspace does not fail.
    async fn scan(
        &self,
        operation: &'static str,
        cursor: u64,
        pattern: &str,
    ) -> Result<(u64, Vec<String>), CacheError> {
        self.run(operation, |mut c| async move {
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut c)
                .await
        })
        .await
    }
}

/// Errors that mean Redis cannot be reached (rather than a refused command).
fn is_outage(e: &RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_unrecoverable_error()
}

/// The SCAN MATCH pattern for a cache glob. The cache's globs know only `*` (any run) and `?`
/// (one character), as wildmatch does; Redis also reads `[...]` and `\`, so those are escaped
/// to stand for themselves. Redis's `?` matches one byte, not one character, so it is widened to
/// `*` here and every key SCAN returns is matched again with wildmatch: the result is exactly
/// the in-process cache's.
pub fn scan_pattern(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 8);
    for ch in glob.chars() {
        match ch {
            '?' => out.push('*'),
            '[' | ']' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}
