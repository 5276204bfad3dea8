//! Prometheus metrics, served at `GET /metrics` in the text format. The names are the
//! runbook's contract (alerts and rollback decisions read them); `docs/API.md` lists them.
//!
//! One recorder per process ([`install`], idempotent: tests build many services in one
//! process); the rest of the crate records through the `metrics` macros. Histograms get
//! explicit buckets so they render as real Prometheus histograms (`_bucket` series, usable by
//! `histogram_quantile`) rather than summaries.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::aggregate::FacilityCalculation;
use crate::http::ApiError;
use crate::integrity::Rule;

/// Calculation requests received (`POST /calculate`, `POST /recalculate`).
pub const CALCULATION_REQUESTS: &str = "thermaliq_calculation_requests_total";
/// Calculation requests that did not produce a completed calculation, by `error_type`.
pub const CALCULATION_ERRORS: &str = "thermaliq_calculation_errors_total";
/// Time to answer a calculation request, seconds.
pub const CALCULATION_DURATION: &str = "thermaliq_calculation_duration_seconds";
/// HTTP requests answered, by `route`, `method` and `status`.
pub const HTTP_REQUESTS: &str = "thermaliq_http_requests_total";
/// Time to answer an HTTP request, seconds, by `route` and `method`.
pub const HTTP_DURATION: &str = "thermaliq_http_request_duration_seconds";
/// Calculation cache lookups, by `result` (`hit`, `miss`).
pub const CACHE_REQUESTS: &str = "thermaliq_cache_requests_total";
/// Cache backend failures, by `operation` (recorded by the cache itself).
pub const CACHE_ERRORS: &str = "thermaliq_cache_errors_total";
/// Store connections by `state` (`idle`, `in_use`).
pub const STORE_POOL_CONNECTIONS: &str = "thermaliq_store_pool_connections";
/// Most store connections this process may open.
pub const STORE_POOL_MAX: &str = "thermaliq_store_pool_connections_max";
/// Store failures seen by the API, by `kind`.
pub const STORE_ERRORS: &str = "thermaliq_store_errors_total";
/// Energy-balance closure of the last calculation of each unit, percent of fuel input (HHV).
pub const HEAT_BALANCE_CLOSURE: &str = "thermaliq_heat_balance_closure_percent";
/// Data-quality score of the last calculation of each facility, 0..1.
pub const DATA_QUALITY_SCORE: &str = "thermaliq_data_quality_score";
/// Facility input–output efficiency of the last calculation, percent, HHV basis.
pub const EFFICIENCY: &str = "thermaliq_efficiency_percent";
/// Calculations breaking each integrity rule, as the last background check found them.
pub const INTEGRITY_VIOLATIONS: &str = "thermaliq_integrity_violations";
/// When the last background integrity check finished, Unix seconds.
pub const INTEGRITY_CHECK_TIMESTAMP: &str = "thermaliq_integrity_check_timestamp_seconds";
/// Always 1, labelled with the running `version`.
pub const BUILD_INFO: &str = "thermaliq_build_info";

/// Calculation latency buckets, seconds: from a cached answer (ms) to a month of 1 Hz data;
/// the runbook's p95 threshold (15 s) is a bucket bound.
const CALCULATION_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0,
];

/// HTTP latency buckets, seconds.
const HTTP_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram windows and idle series are maintained.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder could not be installed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

static RECORDER: OnceLock<Result<PrometheusHandle, MetricsError>> = OnceLock::new();

/// Installs the process's Prometheus recorder on the first call (describing every metric
/// and starting its upkeep thread) and returns its handle; later calls return the same
/// handle. Fails when another recorder was installed first.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(CALCULATION_DURATION.into()),
                    &CALCULATION_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(connectors::telemetry::REQUEST_DURATION.into()),
                        &connectors::telemetry::REQUEST_DURATION_BUCKETS,
                    )
                })
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| MetricsError(e.to_string()))?;
            describe();
            connectors::telemetry::describe_metrics();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| MetricsError(format!("cannot start the upkeep thread: {e}")))?;
            Ok(handle)
        })
        .clone()
}

/// HELP text (with the unit) of every metric, and the build-info series.
fn describe() {
    describe_counter!(
        CALCULATION_REQUESTS,
        Unit::Count,
        "Calculation requests received (POST /calculate and /recalculate), requests."
    );
    describe_counter!(
        CALCULATION_ERRORS,
        Unit::Count,
        "Calculation requests that did not produce a completed calculation, requests, by \
         error_type (validation, not_found, insufficient_data, calculation, balance, store, \
         internal)."
    );
    describe_histogram!(
        CALCULATION_DURATION,
        Unit::Seconds,
        "Time to answer a calculation request, seconds."
    );
    describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "HTTP requests answered, requests, by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, seconds, by route template and method."
    );
    describe_counter!(
        CACHE_REQUESTS,
        Unit::Count,
        "Calculation cache lookups, lookups, by result (hit, miss)."
    );
    describe_counter!(
        CACHE_ERRORS,
        Unit::Count,
        "Cache backend failures (each answered from the store instead), failures, by operation."
    );
    describe_gauge!(
        STORE_POOL_CONNECTIONS,
        Unit::Count,
        "Store connections, connections, by state (idle, in_use)."
    );
    describe_gauge!(
        STORE_POOL_MAX,
        Unit::Count,
        "Most store connections this process may open, connections."
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Store failures seen by the API, failures, by kind (unavailable, database, migration)."
    );
    describe_gauge!(
        HEAT_BALANCE_CLOSURE,
        Unit::Percent,
        "Energy-balance closure of the last calculation of each unit, percent of the fuel \
         input (HHV)."
    );
    describe_gauge!(
        DATA_QUALITY_SCORE,
        "Data-quality score of the last calculation of each facility, ratio 0 to 1."
    );
    describe_gauge!(
        EFFICIENCY,
        Unit::Percent,
        "Facility input-output efficiency of the last calculation of each facility, percent, \
         by basis (hhv)."
    );
    describe_gauge!(
        INTEGRITY_VIOLATIONS,
        Unit::Count,
        "Calculations created within the integrity-check window that break a rule, \
         calculations, by rule, as the last background check found them."
    );
    describe_gauge!(
        INTEGRITY_CHECK_TIMESTAMP,
        Unit::Seconds,
        "When the last background integrity check finished, Unix time in seconds."
    );
    describe_gauge!(
        BUILD_INFO,
        "Build information, constant 1 (dimensionless), labelled with the running version."
    );
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The error class of a calculation request that failed, for `error_type`.
pub fn error_type(e: &ApiError) -> &'static str {
    match e.code {
        "not_found" => "not_found",
        "insufficient_coverage" | "malformed_readings" => "insufficient_data",
        "calculation_refused" => "calculation",
        "unavailable" => "store",
        "internal" => "internal",
        _ if e.status.is_client_error() => "validation",
        _ => "internal",
    }
}

/// Records one calculation request: counted, timed, and counted as an error of its class
/// when it failed or was stored as failed (`balance`, a closure above the limit).
pub fn record_calculation(outcome: Result<bool, &ApiError>, elapsed: Duration) {
    counter!(CALCULATION_REQUESTS).increment(1);
    histogram!(CALCULATION_DURATION).record(elapsed.as_secs_f64());
    let error_type = match outcome {
        Ok(true) => return,
        Ok(false) => "balance",
        Err(e) => error_type(e),
    };
    counter!(CALCULATION_ERRORS, "error_type" => error_type).increment(1);
}

/// Sets the closure and data-quality gauges from a facility calculation just made.
pub fn record_facility(facility: &FacilityCalculation) {
    for unit in &facility.equipment {
        gauge!(
            HEAT_BALANCE_CLOSURE,
            "facility_id" => facility.facility_id.clone(),
            "equipment_id" => unit.equipment_id.clone(),
        )
        .set(unit.result.energy_balance.closure_percent.hhv);
    }
    gauge!(DATA_QUALITY_SCORE, "facility_id" => facility.facility_id.clone())
        .set(facility.data_quality.score);
    gauge!(EFFICIENCY, "facility_id" => facility.facility_id.clone(), "basis" => "hhv")
        .set(facility.efficiency_percent_hhv());
}

/// Publishes the counts of a background integrity check, one gauge per rule, and its time.
pub fn record_integrity(violations: &BTreeMap<Rule, u64>) {
    for rule in Rule::ALL {
        let count = violations.get(&rule).copied().unwrap_or(0);
        gauge!(INTEGRITY_VIOLATIONS, "rule" => rule.name()).set(count as f64);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    gauge!(INTEGRITY_CHECK_TIMESTAMP).set(now);
}

/// Counts one calculation cache lookup.
pub fn record_cache_lookup(hit: bool) {
    counter!(CACHE_REQUESTS, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

/// Sets the store pool gauges; called at each scrape, so they show the pool at that instant.
pub fn record_store_pool(stats: store::PoolStats) {
    gauge!(STORE_POOL_CONNECTIONS, "state" => "idle").set(stats.idle);
    gauge!(STORE_POOL_CONNECTIONS, "state" => "in_use").set(stats.in_use);
    gauge!(STORE_POOL_MAX).set(stats.max);
}

/// Counts one store failure of `kind`.
pub fn record_store_error(kind: &'static str) {
    counter!(STORE_ERRORS, "kind" => kind).increment(1);
}

/// A method label from a bounded set: clients may send any token as a method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware counting and timing every request by its route template
/// (`/v1/thermaliq/calculations/{id}`, never the raw path, so ids do not multiply series);
/// a path no route matches is `unmatched`.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    histogram!(HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}
