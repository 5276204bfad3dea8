//! The HTTP API under `/v1/thermaliq` (axum): routes, bearer-token auth, JSON errors, the
//! calculation cache, request ids and the OpenAPI document. [`Application::build`] binds the
//! listener and wires every route in one place ([`router`]); the binary only builds and runs
//! it. The endpoints are documented for users in `docs/API.md`.
//!
//! Layers, outermost first: a request id (`x-request-id`, UUID v7 when absent), a trace span
//! per request carrying that id (so every log line of the request names it; one access line
//! per request at DEBUG level), the id copied to the response, and a panic catcher answering a
//! JSON 500 as the last line of defence.

mod analysis;
pub mod auth;
pub mod cache;
pub mod calculation;
pub mod demo_setup;
mod error;
mod extract;
pub mod facilities;
pub mod ingest;
mod openapi;
mod routes;
mod times;

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
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

use crate::settings::Settings;
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
    /// The settings the service started with.
    pub settings: Arc<Settings>,
}

impl AppState {
    /// The state of a service over `store` with `settings` and an in-process cache.
    pub fn new(settings: Settings, store: Store) -> Self {
        Self {
            cache: Cache::in_process(&settings.cache),
            auth: auth::Authenticator::new(store.clone(), settings.token_cache_ttl),
            store,
            settings: Arc::new(settings),
        }
    }
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::ApiDoc::openapi()
}

/// Every route, under [`BASE_PATH`], with the layers; documents (`/openapi.json`, `/docs`),
/// `/health` and `/ready` need no token.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit;
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
        .route("/calculations/{id}", get(routes::get_calculation))
        .route("/calculations/{id}/sankey", get(routes::calculation_sankey))
        .route(
            "/calculations/{id}/benchmark",
            get(routes::calculation_benchmark),
        )
        .route(
            "/equipment/{id}/latest-calculation",
            get(routes::latest_calculation),
        )
        .route("/equipment/{id}/flag", post(routes::flag_equipment))
        .route("/admin/cache/invalidate", post(routes::invalidate_cache))
        .route("/admin/cache/stats", get(routes::cache_stats))
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    let docs = SwaggerUi::new(format!("{BASE_PATH}/docs"))
        .url(format!("{BASE_PATH}/openapi.json"), openapi());
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .nest(BASE_PATH, api)
        .merge(docs)
        .fallback(routes::not_found)
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
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and wires the routes over `store`,
    /// which must be migrated.
    pub async fn build(settings: Settings, store: Store) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(settings.bind).await?;
        let addr = listener.local_addr()?;
        let router = router(AppState::new(settings, store));
        Ok(Self {
            listener,
            addr,
            router,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Small JSON answers: send them at once rather than waiting to coalesce packets.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        tracing::info!(address = %self.addr, "listening");
        axum::serve(listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Completes on Ctrl-C or SIGTERM (Kubernetes' stop signal).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
