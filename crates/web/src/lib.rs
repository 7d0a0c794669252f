//! The HTTP edge: axum routes (each registered with its access policy in
//! [`routes`]), the portal and console pages, the OIDC provider, federated
//! login, problem+json errors and request metrics.

// The edge: requests are where time comes from (clippy.toml forbids clock reads elsewhere).
#![allow(clippy::disallowed_methods)]

mod api;
mod api_doc;
pub mod application_pages;
pub mod auth;
pub mod bounds;
pub mod bundle_pages;
pub mod bundles;
pub mod case_pages;
pub mod case_staff;
pub mod cases;
pub mod catalog;
pub mod catalog_pages;
pub mod charts;
pub mod edge;
mod error;
pub mod exchange;
pub mod exchange_async;
pub mod federation;
mod identity_api;
pub mod indicators;
pub mod integration;
pub mod licenses;
pub mod machine_clients;
pub mod messaging;
pub mod notices;
pub mod oidc;
pub mod openapi;
pub mod outbound;
pub mod pages;
pub mod personal;
pub mod rating_channels;
pub mod ratings;
pub mod routes;
pub mod security;
pub mod settings;
pub mod setup;
pub mod shared_materials;
pub mod sharing;
pub mod statistics;
pub mod supervision;
pub mod supervision_orders;
pub mod supervision_public;
pub mod wallet;
pub mod workbench_pages;
pub mod workflow;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use yiwang_store::Store;

pub use error::{ApiError, WebError};
pub use security::{SecurityRuntime, SecuritySettings};
pub use settings::{IdentityRuntime, IdentitySettings, TrustedProvider};
pub(crate) use yiwang_store::ts;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    identity: Arc<IdentityRuntime>,
    catalog: catalog::CatalogRuntime,
    /// Service-task handlers: deployment checks models against them.
    handlers: yiwang_store::Handlers,
    metrics: PrometheusHandle,
    started: Instant,
    /// The node master key, if configured: without it the node cannot sign
    /// (SD-JWT exports, status lists, issuing) but still verifies.
    master: OnceLock<yiwang_crypto::seal::MasterKey>,
    /// The `[security]` settings: levels, proxies, metrics, outbound, quotas.
    security: SecurityRuntime,
    /// The node's part in the exchange, if `[exchange]` gives it one.
    exchange: Option<Arc<exchange::ExchangeRuntime>>,
    /// 监察结果公开's figures, computed at most every five minutes.
    public_figures: supervision_public::PublicCache,
    /// The evaluation indicators' weights (`[supervision.indicators]`).
    indicator_weights: yiwang_supervision::indicators::Weights,
    /// The indicators' counts per period, computed at most every five minutes.
    indicator_cache: indicators::IndicatorCache,
    /// A 差评's loop deadlines (`[supervision.rating_loop]`).
    rating_loop: yiwang_supervision::ratings::LoopSettings,
    /// 好差评's levels and reasons, versioned (`[supervision] rating_content_file`).
    rating_content: yiwang_supervision::ratings::Content,
}

impl AppState {
    pub fn new(store: Store, identity: Arc<IdentityRuntime>) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store,
                identity,
                catalog: catalog::CatalogRuntime::new(),
                handlers: workflow::builtin_handlers(),
                metrics: metrics_handle(),
                started: Instant::now(),
                master: OnceLock::new(),
                security: SecurityRuntime::default(),
                exchange: None,
                public_figures: Default::default(),
                indicator_weights: Default::default(),
                indicator_cache: Default::default(),
                rating_loop: Default::default(),
                rating_content: yiwang_supervision::ratings::Content::builtin(),
            }),
        }
    }

    /// Give the node its master key (once; a second call is ignored). Call it
    /// before the state is shared: it also registers the `issue_license`
    /// service-task handler, which seals with the key.
    pub fn with_master_key(mut self, key: yiwang_crypto::seal::MasterKey) -> Self {
        match (Arc::get_mut(&mut self.inner), workflow::IssueLicense::new(&key)) {
            (Some(inner), Ok(handler)) => {
                inner.handlers.register("issue_license", handler);
            }
            _ => tracing::warn!("the issue_license handler is not registered (the state was already shared)"),
        }
        // The OIDC signing keys are wrapped under the same key.
        self.inner.identity.set_master_key(key.clone());
        let _ = self.inner.master.set(key);
        self
    }

    /// Give the node its `[security]` settings. Call it before the state is
    /// shared (a later call is ignored, with a warning).
    pub fn with_security(mut self, security: SecurityRuntime) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.security = security,
            None => tracing::warn!("the security settings were not applied (the state was already shared)"),
        }
        self
    }

    /// Give the node its exchange runtime (`[exchange]`). Call it before the
    /// state is shared (a later call is ignored, with a warning).
    pub fn with_exchange(mut self, exchange: Arc<exchange::ExchangeRuntime>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.exchange = Some(exchange),
            None => tracing::warn!("the exchange settings were not applied (the state was already shared)"),
        }
        self
    }

    /// Give the node its indicator weights (`[supervision.indicators]`), checked
    /// by the caller. Call it before the state is shared (a later call is
    /// ignored, with a warning).
    pub fn with_indicator_weights(mut self, weights: yiwang_supervision::indicators::Weights) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.indicator_weights = weights,
            None => tracing::warn!("the indicator weights were not applied (the state was already shared)"),
        }
        self
    }

    /// Give the node its 差评 loop deadlines (`[supervision.rating_loop]`),
    /// checked by the caller. Call it before the state is shared.
    pub fn with_rating_loop(mut self, settings: yiwang_supervision::ratings::LoopSettings) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.rating_loop = settings,
            None => tracing::warn!("the rating loop settings were not applied (the state was already shared)"),
        }
        self
    }

    /// Give the node its rating content (checked by the caller). Call it
    /// before the state is shared.
    pub fn with_rating_content(mut self, content: yiwang_supervision::ratings::Content) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.rating_content = content,
            None => tracing::warn!("the rating content was not applied (the state was already shared)"),
        }
        self
    }

    /// The rating content ratings are given under now.
    pub fn rating_content(&self) -> &yiwang_supervision::ratings::Content {
        &self.inner.rating_content
    }

    pub fn rating_loop(&self) -> yiwang_supervision::ratings::LoopSettings {
        self.inner.rating_loop
    }

    pub fn indicator_weights(&self) -> &yiwang_supervision::indicators::Weights {
        &self.inner.indicator_weights
    }

    pub(crate) fn indicator_cache(&self) -> &indicators::IndicatorCache {
        &self.inner.indicator_cache
    }

    pub fn exchange(&self) -> Option<&exchange::ExchangeRuntime> {
        self.inner.exchange.as_deref()
    }

    pub fn security(&self) -> &SecurityRuntime {
        &self.inner.security
    }

    /// The master key, or 503 when this node was started without one.
    pub fn master_key(&self) -> Result<&yiwang_crypto::seal::MasterKey, ApiError> {
        self.inner.master.get().ok_or_else(|| ApiError::new(&WebError::NoMasterKey))
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn public_figures(&self) -> &supervision_public::PublicCache {
        &self.inner.public_figures
    }

    pub fn handlers(&self) -> &yiwang_store::Handlers {
        &self.inner.handlers
    }

    pub fn identity(&self) -> &IdentityRuntime {
        &self.inner.identity
    }

    pub fn catalog(&self) -> &catalog::CatalogRuntime {
        &self.inner.catalog
    }
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then our handle just renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            metrics::describe_counter!("yiwang_http_requests_total", "HTTP requests by route, method and status");
            metrics::describe_histogram!("yiwang_http_request_duration_seconds", "HTTP request latency by route");
            handle
        })
        .clone()
}

pub fn router(state: AppState) -> Router {
    routes::build(&state)
        .fallback(not_found)
        .layer(middleware::from_fn(track_metrics))
        .layer(CatchPanicLayer::custom(|_| ApiError::new(&WebError::Panic).into_response()))
        .layer(middleware::from_fn(edge::edge))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

pub(crate) async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let started = Instant::now();
    state.store().ping().await?;
    Ok(axum::Json(serde_json::json!({
        "status": "ready",
        "database": state.store().backend(),
        "db_ping_ms": started.elapsed().as_secs_f64() * 1000.0,
        "uptime_s": state.inner.started.elapsed().as_secs(),
    })))
}

/// `GET /metrics` on the public listener: only with the configured bearer token
/// (`[security] metrics_token`); without one configured, as if absent. Route
/// names, rates and pool sizes tell an attacker what the node runs and when.
pub(crate) async fn metrics_text(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(token) = state.security().metrics_token.as_deref() else {
        return ApiError::new(&WebError::NotFound("/metrics".into())).into_response();
    };
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| yiwang_identity::ct_eq(p.trim().as_bytes(), token.as_bytes())) {
        let mut resp = ApiError::new(&yiwang_identity::IdentityError::Unauthenticated).into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer realm=\"metrics\""));
        return resp;
    }
    metrics_body(&state).into_response()
}

/// The Prometheus text, for the public route (with its token) and the separate
/// metrics listener (`metrics_router`).
fn metrics_body(state: &AppState) -> impl IntoResponse + use<> {
    let pool = state.store().pool();
    metrics::gauge!("yiwang_db_pool_connections").set(f64::from(pool.size()));
    metrics::gauge!("yiwang_db_pool_idle").set(pool.num_idle() as f64);
    metrics::gauge!("yiwang_uptime_seconds").set(state.inner.started.elapsed().as_secs_f64());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.inner.metrics.render())
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(&WebError::NotFound(req.uri().path().to_string()))
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route template, not the raw path, keeps label cardinality bounded.
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    metrics::counter!("yiwang_http_requests_total", "route" => route.clone(), "method" => method, "status" => status.as_u16().to_string())
        .increment(1);
    metrics::histogram!("yiwang_http_request_duration_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        metrics::counter!("yiwang_http_server_errors_total").increment(1);
    }
    resp
}

/// A router serving `/metrics` alone, without a token, for the separate
/// management address (`[security] metrics_listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(|State(s): State<AppState>| async move { metrics_body(&s) })).with_state(state)
}

/// Serve until `shutdown` resolves; in-flight requests are drained first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
