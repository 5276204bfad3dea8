//! The HTTP API under `/v1/thermaliq` (axum): routes, bearer-token auth, JSON errors, the
//! calculation cache, request ids and the OpenAPI document. [`Application::build`] binds the
//! listener and wires every route in one place ([`router`]); the binary only builds and runs
//! it. The endpoints are documented for users in `docs/API.md`.
//!
//! Layers, outermost first: a request id (`x-request-id`, UUID v7 when absent), a trace span
//! per request carrying that id (so every log line of the request names it; one access line
//! per request at DEBUG level), the id copied to the response, and a panic catcher answering a
//! JSON 500 as the last line of defence.

pub(crate) mod analysis;
pub mod auth;
pub mod cache;
mod cache_redis;
pub mod calculation;
pub mod demo_setup;
mod error;
pub mod export;
mod extract;
pub mod facilities;
pub mod ingest;
mod integrations;
mod openapi;
pub(crate) mod report;
pub(crate) mod routes;
mod times;

use std::any::Any;
use std::future::Future;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use store::Store;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ApiResult};
pub use times::{format_us, parse_rfc3339_us};

use crate::metrics;
use crate::settings::{Settings, SharedSettings};
use cache::Cache;

/// Base path of every route.
pub const BASE_PATH: &str = "/v1/thermaliq";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The calculation cache.
    pub cache: Cache,
    /// Token verification.
    pub auth: auth::Authenticator,
    /// The settings in force (replaced whole by a configuration reload).
    pub settings: SharedSettings,
    /// Whether the service is stopping.
    pub lifecycle: Lifecycle,
    /// The facilities' data sources polled by this process.
    pub connectors: crate::connectors::Connectors,
}

/// Whether the service is stopping: set at the stop signal, read by the readiness probe so
/// that load balancers stop routing here while requests in flight finish.
#[derive(Clone, Default)]
pub struct Lifecycle(Arc<AtomicBool>);

impl Lifecycle {
    /// Whether a stop signal has been received.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Marks the service as stopping.
    pub fn begin_draining(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl AppState {
    /// The state of a service over `store` with `settings`; the cache is Redis when
    /// `settings.redis_url` is set (connected lazily), else in-process. Refuses a malformed
    /// Redis URL.
    pub fn new(settings: Settings, store: Store) -> Result<Self, cache::CacheError> {
        Ok(Self {
            cache: Cache::from_settings(&settings)?,
            auth: auth::Authenticator::new(
                store.clone(),
                settings.token_cache_ttl,
                settings.token_pepper.clone(),
            ),
            store,
            settings: SharedSettings::new(settings),
            lifecycle: Lifecycle::default(),
            connectors: crate::connectors::Connectors::default(),
        })
    }
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::ApiDoc::openapi()
}

/// Every route, under [`BASE_PATH`], with the layers; documents (`/openapi.json`, `/docs`),
/// `/health`, `/ready` and the Prometheus scrape (`/metrics`, also under [`BASE_PATH`]) need
/// no token.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.current().body_limit;
    let store = state.store.clone();
    let state_for_web = state.clone();
    let api = Router::new()
        .route("/health", get(routes::health))
        .route("/ready", get(routes::ready))
        .route("/facilities", get(routes::list_facilities))
        .route(
            "/facilities/{id}",
            get(routes::get_facility)
                .put(routes::put_facility)
                .delete(routes::delete_facility),
        )
        .route("/facilities/{id}/readings", post(routes::post_readings))
        .route("/calculate", post(routes::calculate))
        .route("/recalculate", post(routes::recalculate))
        .route("/calculations", get(routes::list_calculations))
        // A static segment: matched before `/calculations/{id}`, whatever the order here.
        .route("/calculations/export", get(export::export_calculations))
        .route("/calculations/{id}", get(routes::get_calculation))
        .route("/calculations/{id}/sankey", get(routes::calculation_sankey))
        .route(
            "/calculations/{id}/benchmark",
            get(routes::calculation_benchmark),
        )
        .route(
            "/calculations/{id}/recommendations",
            get(analysis::calculation_recommendations),
        )
        .route("/calculations/{id}/report", get(report::calculation_report))
        .route("/benchmarks", get(analysis::list_benchmarks))
        .route(
            "/equipment/{id}/latest-calculation",
            get(routes::latest_calculation),
        )
        .route("/equipment/{id}/flag", post(routes::flag_equipment))
        .route("/admin/cache/invalidate", post(routes::invalidate_cache))
        .route("/admin/cache/stats", get(routes::cache_stats))
        .route(
            "/integrations/status",
            get(integrations::integrations_status),
        )
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    let docs = SwaggerUi::new(format!("{BASE_PATH}/docs"))
        .url(format!("{BASE_PATH}/openapi.json"), openapi());
    let request_id = HeaderName::from_static("x-request-id");
    let scrape = Router::new()
        .route("/metrics", get(scrape_metrics))
        .route(&format!("{BASE_PATH}/metrics"), get(scrape_metrics))
        .with_state((metrics::install(), store));
    Router::new()
        .nest(BASE_PATH, api)
        .merge(docs)
        .merge(scrape)
        .merge(crate::web::router(state_for_web))
        .fallback(crate::web::fallback)
        .layer(axum::middleware::from_fn(metrics::track_http))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), RequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            tracing::info_span!(
                                "request",
                                method = %req.method(),
                                path = %req.uri().path(),
                                request_id = %id,
                            )
                        })
                        .on_request(())
                        // One line per request costs a third of the throughput of the hot
                        // GET path: access lines are opt-in (`THERMALIQ_LOG=info,tower_http=debug`);
                        // failures (5xx) are logged at ERROR by the layer's default.
                        .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(panic_response)),
        )
}

/// `GET /metrics`: the Prometheus text format, with the store pool gauges read now; 500
/// naming the reason when this process's recorder could not be installed.
async fn scrape_metrics(
    axum::extract::State((recorder, store)): axum::extract::State<(
        Result<metrics_exporter_prometheus::PrometheusHandle, metrics::MetricsError>,
        Store,
    )>,
) -> Response<axum::body::Body> {
    match recorder {
        Ok(handle) => {
            metrics::record_store_pool(store.pool_stats());
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                )],
                handle.render(),
            )
                .into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// UUID v7 request ids: unique across replicas and sortable by time.
#[derive(Clone, Copy)]
struct RequestUuid;

impl MakeRequestId for RequestUuid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::now_v7().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// A JSON 500 for a handler that panicked; the panic message goes to the log only.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<axum::body::Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let error = ApiError::internal(format!("handler panicked: {message}"));
    let mut response = Response::new(axum::body::Body::from(error.body()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The service, bound and ready to run.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: Router,
    settings: SharedSettings,
    lifecycle: Lifecycle,
    connectors: crate::connectors::Connectors,
}

/// Why serving ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// Requests were still in flight when the shutdown grace ran out.
    #[error("requests still in flight when the shutdown grace of {} s ran out", .0.as_secs_f64())]
    GraceExpired(Duration),
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and wires the routes over `store`,
    /// which must be migrated.
    pub async fn build(settings: Settings, store: Store) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(settings.bind).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(settings, store)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let settings = state.settings.clone();
        let lifecycle = state.lifecycle.clone();
        let connectors = state.connectors.clone();
        let router = router(state);
        Ok(Self {
            listener,
            addr,
            router,
            settings,
            lifecycle,
            connectors,
        })
    }

    /// The facilities' data sources, for `serve` to keep in step with the stored specs.
    pub fn connectors(&self) -> crate::connectors::Connectors {
        self.connectors.clone()
    }

    /// The settings in force, for a configuration reload to replace.
    pub fn settings(&self) -> SharedSettings {
        self.settings.clone()
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then stops: readiness answers 503 at once, the
    /// listener keeps accepting for `shutdown_drain` (so load balancers notice), then closes,
    /// and the requests in flight finish. Both phases together may take `shutdown_grace`
    /// (the values in force at the signal); after it, [`ServeError::GraceExpired`].
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        // Small JSON answers: send them at once rather than waiting to coalesce packets.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        tracing::info!(address = %self.addr, "listening");
        let (stopping, stopped) = tokio::sync::oneshot::channel::<Duration>();
        let lifecycle = self.lifecycle.clone();
        let settings = self.settings.clone();
        let close_listener = async move {
            shutdown.await;
            lifecycle.begin_draining();
            let now = settings.current();
            let _ = stopping.send(now.shutdown_grace);
            tracing::info!(
                drain_s = now.shutdown_drain.as_secs_f64(),
                grace_s = now.shutdown_grace.as_secs_f64(),
                "stopping: readiness answers 503"
            );
            tokio::time::sleep(now.shutdown_drain).await;
            tracing::info!("listener closed; finishing requests in flight");
        };
        let server = axum::serve(listener, self.router)
            .with_graceful_shutdown(close_listener)
            .into_future();
        tokio::pin!(server);
        let grace = tokio::select! {
            served = &mut server => return served.map_err(ServeError::Io),
            Ok(grace) = stopped => grace,
        };
        match tokio::time::timeout(grace, &mut server).await {
            Ok(served) => served.map_err(ServeError::Io),
            Err(_) => Err(ServeError::GraceExpired(grace)),
        }
    }
}

/// A future completing on Ctrl-C (SIGINT) or SIGTERM (Kubernetes' stop signal). The handlers
/// are installed now, not at the first poll, so a signal arriving before serving starts is
/// not lost (nor does it kill the process the default way).
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutdown signal received");
    })
}
