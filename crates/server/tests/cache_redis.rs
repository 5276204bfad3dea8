//! The Redis calculation cache against a real `redis-server`: the service serving from it, an
//! outage (answers keep coming from the store, errors are counted) and the recovery on the same
//! port, shared hit/miss counters between two caches (two replicas), documents a replica holds
//! served only while Redis confirms them, and glob invalidation that drops exactly what the
//! in-process cache drops.

mod api_support;

use std::time::{Duration, Instant};

use api_support::redis::RedisServer;
use api_support::{HOUR_US, START_US, TestApp, calc_body, json_of, spawn_with};
use axum::body::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::http::cache::{Cache, CacheError, CachedCalculation};
use server::settings::Settings;

const VERSION: &str = env!("CARGO_PKG_VERSION");

async fn redis_client(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("the test reaches redis-server")
}

async fn exists(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<u64>(conn)
        .await
        .expect("EXISTS")
        == 1
}

/// `thermaliq_cache_errors_total{operation}` summed over operations, from the scrape.
async fn cache_errors(app: &TestApp) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("scrape body");
    text.lines()
        .filter(|l| l.starts_with("thermaliq_cache_errors_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn demo_app(redis_url: String) -> TestApp {
    let app = spawn_with(|s| s.redis_url = Some(redis_url)).await;
    app.put_demo_facility().await;
    app.store_demo_readings(START_US, 3_600, 11).await;
    app
}

async fn calculate(app: &TestApp) -> (String, Value) {
    let r = app
        .call(
            Method::POST,
            "/calculate",
            Some(&app.operator),
            Some(&calc_body(START_US, START_US + HOUR_US)),
        )
        .await;
    let cache = r.headers()["x-thermaliq-cache"]
        .to_str()
        .expect("header")
        .to_string();
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    (cache, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_survives_a_redis_outage_and_uses_redis_again_after_it() {
    let mut redis_server = RedisServer::start();
    let app = demo_app(redis_server.url()).await;
    let mut conn = redis_client(&redis_server).await;

    let (cache, calc) = calculate(&app).await;
    assert_eq!(cache, "miss");
    let id = calc["calculation_id"].as_str().expect("id").to_string();
    let hash = calc["provenance"]["input_hash"].as_str().expect("hash");
    let key = format!("calculation:FAC-DEMO-001:v{VERSION}:{hash}");
    assert!(exists(&mut conn, &key).await, "{key} is in Redis");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("PTTL");
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "TTL {ttl} ms");
    let index: String = redis::cmd("GET")
        .arg(format!("calculation-id:{id}"))
        .query_async(&mut conn)
        .await
        .expect("index");
    assert_eq!(index, key);
    let (cache, again) = calculate(&app).await;
    assert_eq!(cache, "hit");
    assert_eq!(again, calc);
    let (status, got) = app.get(&format!("/calculations/{id}"), &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, calc);
    let (_, stats) = app.get("/admin/cache/stats", &app.admin).await;
    assert_eq!(stats, json!({"size": 1, "hits": 2, "misses": 1}));

    // The outage: every answer still comes, from the store; the failures are counted.
    redis_server.stop();
    let errors_before = cache_errors(&app).await;
    let started = Instant::now();
    let (status, got) = app.get(&format!("/calculations/{id}"), &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, calc);
    let (cache, during) = calculate(&app).await;
    assert_eq!(cache, "miss");
    assert_ne!(during["calculation_id"], calc["calculation_id"]);
    assert_eq!(during["efficiency"], calc["efficiency"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answers during the outage took {:?}",
        started.elapsed()
    );
    let (status, v) = app.get("/admin/cache/stats", &app.admin).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let (status, v) = app
        .post(
            "/admin/cache/invalidate",
            &app.admin,
            &json!({"pattern": "calculation:*"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let errors_during = cache_errors(&app).await;
    assert!(
        errors_during >= errors_before + 5.0,
        "errors {errors_before} -> {errors_during}"
    );

    // Back on the same port, empty: the next reads fill it again.
    redis_server.restart();
    let mut conn = redis_client(&redis_server).await;
    let (status, got) = app.get(&format!("/calculations/{id}"), &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, calc);
    assert!(exists(&mut conn, &key).await, "cached again after recovery");
    let (status, got) = app.get(&format!("/calculations/{id}"), &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, calc);
    let (status, stats) = app.get("/admin/cache/stats", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats, json!({"size": 1, "hits": 1, "misses": 1}));
    let (cache, _) = calculate(&app).await;
    assert_eq!(cache, "hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_starts_while_redis_is_down_and_caches_once_it_is_up() {
    let mut redis_server = RedisServer::start();
    redis_server.stop();
    let started = Instant::now();
    let app = demo_app(redis_server.url()).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let (cache, calc) = calculate(&app).await;
    assert_eq!(cache, "miss");
    let (cache, _) = calculate(&app).await;
    assert_eq!(cache, "miss", "nothing can be cached while Redis is down");

    redis_server.restart();
    let (cache, fresh) = calculate(&app).await;
    assert_eq!(cache, "miss");
    let (cache, again) = calculate(&app).await;
    assert_eq!(cache, "hit");
    assert_eq!(again["calculation_id"], fresh["calculation_id"]);
    assert_eq!(again["efficiency"], calc["efficiency"]);
}

#[tokio::test]
async fn a_malformed_redis_url_is_refused_naming_the_field() {
    let settings = Settings {
        redis_url: Some("http://127.0.0.1:6379".to_string()),
        ..Settings::default()
    };
    match Cache::from_settings(&settings) {
        Err(e @ CacheError::Url { .. }) => {
            assert!(e.to_string().starts_with("redis_url: "), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a malformed URL was accepted"),
    }
}

fn redis_cache(server: &RedisServer) -> Cache {
    let settings = Settings {
        redis_url: Some(server.url()),
        ..Settings::default()
    };
    Cache::from_settings(&settings).expect("Redis cache")
}

fn entry(id: &str) -> CachedCalculation {
    CachedCalculation {
        id: id.to_string(),
        bytes: Bytes::from(format!("{{\"calculation_id\":\"{id}\"}}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_entries_and_counters() {
    let redis_server = RedisServer::start();
    let a = redis_cache(&redis_server);
    let b = redis_cache(&redis_server);
    let key = format!("calculation:FAC-001:v{VERSION}:abc");
    a.put(key.clone(), entry("CALC-1")).await;
    assert_eq!(
        b.get(&key).await.map(|e| e.id.clone()),
        Some("CALC-1".into())
    );
    assert_eq!(
        b.get_by_id("CALC-1").await,
        Some(entry("CALC-1").bytes),
        "the id index is shared"
    );
    assert_eq!(b.get_by_id("CALC-2").await, None);
    assert!(a.get("calculation:FAC-001:v0:none").await.is_none());
    let stats = a.stats().await.expect("stats");
    assert_eq!((stats.size, stats.hits, stats.misses), (1, 2, 2));
    assert_eq!(b.stats().await.expect("stats"), stats);

    // A newer calculation of the same inputs replaces the entry; the old id no longer finds it.
    b.put(key.clone(), entry("CALC-3")).await;
    assert_eq!(a.get_by_id("CALC-1").await, None);
    assert_eq!(a.get_by_id("CALC-3").await, Some(entry("CALC-3").bytes));
    // A document read back from the store does not displace it.
    a.put_if_absent(key.clone(), entry("CALC-1")).await;
    assert_eq!(
        b.get(&key).await.map(|e| e.id.clone()),
        Some("CALC-3".into())
    );

    assert_eq!(b.invalidate("calculation:*").await.expect("invalidate"), 1);
    let zero = a.stats().await.expect("stats");
    assert_eq!((zero.size, zero.hits, zero.misses), (0, 0, 0));
    assert_eq!(a.get_by_id("CALC-3").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_held_by_a_replica_is_served_only_while_redis_holds_its_entry() {
    let mut redis_server = RedisServer::start();
    let a = redis_cache(&redis_server);
    let b = redis_cache(&redis_server);
    let key = format!("calculation:FAC-001:v{VERSION}:held");
    a.put(key.clone(), entry("CALC-1")).await;
    // b fetches the document once, then holds it; every lookup still counts in Redis.
    for _ in 0..3 {
        assert_eq!(b.get_by_id("CALC-1").await, Some(entry("CALC-1").bytes));
    }
    let stats = a.stats().await.expect("stats");
    assert_eq!((stats.size, stats.hits, stats.misses), (1, 3, 0));

    // An invalidation through a reaches b, which holds the document.
    assert_eq!(a.invalidate("calculation:*").await.expect("invalidate"), 1);
    assert_eq!(b.get_by_id("CALC-1").await, None);
    assert_eq!(a.get_by_id("CALC-1").await, None);
    let stats = b.stats().await.expect("stats");
    assert_eq!((stats.size, stats.hits, stats.misses), (0, 0, 2));

    // So does the runbook's FLUSHDB, done behind the service's back.
    a.put(key.clone(), entry("CALC-1")).await;
    assert_eq!(b.get_by_id("CALC-1").await, Some(entry("CALC-1").bytes));
    let mut conn = redis_client(&redis_server).await;
    redis::cmd("FLUSHDB")
        .query_async::<()>(&mut conn)
        .await
        .expect("FLUSHDB");
    assert_eq!(b.get_by_id("CALC-1").await, None);

    // With Redis down a held document is not served either: the caller goes to the store.
    a.put(key.clone(), entry("CALC-1")).await;
    assert_eq!(b.get_by_id("CALC-1").await, Some(entry("CALC-1").bytes));
    redis_server.stop();
    assert_eq!(b.get_by_id("CALC-1").await, None);
}

/// Keys chosen so that a pattern passed to Redis unescaped, or Redis's byte-wise `?`, would
/// give another answer than wildmatch.
fn tricky_keys() -> Vec<&'static str> {
    vec![
        "calculation:FAC-001:v1.2.3:aaa",
        "calculation:FAC-002:v1.2.3:bbb",
        "calculation:FAC-001:v1.2.2:ccc",
        "calculation:FAC-[1]:v1.2.3:ddd",
        "calculation:FAC-\\x:v1.2.3:eee",
        "calculation:FAC-é:v1.2.3:fff",
        "calculation:FAC-1:v1.2.3:ggg",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glob_invalidation_drops_the_same_keys_in_process_and_in_redis() {
    let redis_server = RedisServer::start();
    let mut conn = redis_client(&redis_server).await;
    let cases: [(&str, &[&str]); 10] = [
        (
            "calculation:*:v1.2.3:*",
            &["aaa", "bbb", "ddd", "eee", "fff", "ggg"],
        ),
        ("calculation:FAC-00?:*", &["aaa", "bbb", "ccc"]),
        ("calculation:FAC-[1]:*", &["ddd"]),
        ("calculation:FAC-?:*", &["fff", "ggg"]),
        ("calculation:FAC-\\x:*", &["eee"]),
        ("calculation:FAC-001:v1.2.3:aaa", &["aaa"]),
        ("*", &["aaa", "bbb", "ccc", "ddd", "eee", "fff", "ggg"]),
        ("calculation-id:*", &[]),
        ("calculation:FAC-00?", &[]),
        ("calculation:*:v1.2.?:ccc", &["ccc"]),
    ];
    for (pattern, expected) in cases {
        let local = Cache::in_process(&Default::default());
        let shared = redis_cache(&redis_server);
        redis::cmd("FLUSHDB")
            .query_async::<()>(&mut conn)
            .await
            .expect("FLUSHDB");
        for (i, key) in tricky_keys().into_iter().enumerate() {
            let e = entry(&format!("CALC-{i}"));
            local.put(key.to_string(), e.clone()).await;
            shared.put(key.to_string(), e).await;
        }
        let n_local = local.invalidate(pattern).await.expect("in-process");
        let n_redis = shared.invalidate(pattern).await.expect("redis");
        assert_eq!(n_local, expected.len() as u64, "in-process, {pattern}");
        assert_eq!(n_redis, expected.len() as u64, "redis, {pattern}");
        for key in tricky_keys() {
            let dropped = expected.iter().any(|suffix| key.ends_with(suffix));
            assert_eq!(
                local.get(key).await.is_none(),
                dropped,
                "in-process {key}, {pattern}"
            );
            assert_eq!(
                shared.get(key).await.is_none(),
                dropped,
                "redis {key}, {pattern}"
            );
        }
        // Only calculation entries are touched: the index entries of dropped ones go too.
        let index: u64 = redis::cmd("EXISTS")
            .arg(
                (0..tricky_keys().len())
                    .map(|i| format!("calculation-id:CALC-{i}"))
                    .collect::<Vec<_>>(),
            )
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        assert_eq!(index, (tricky_keys().len() - expected.len()) as u64);
    }
}
