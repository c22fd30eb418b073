//! HTTP wiring: the Leptos app, health probes and the tower layers around them.

use std::sync::Arc;

use app::auth::service::Services;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos::reactive::computed::ScopedFuture;
use leptos::reactive::owner::Owner;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use secrecy::SecretString;
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::access::Access;
use crate::connectors::Connectors;
use crate::gate::gate;
use crate::outbound::Outbound;
use crate::runs::{RunnerConfig, Runs};
use crate::storage::Store;
use crate::triggers::{TriggerConfig, Triggers};
use crate::vault::Vault;
use crate::workflows::Workflows;

/// Everything a request handler or server function may need, passed down as router state.
/// Cloned for every request (and by every layer that takes it): one reference count, not one
/// per service and setting (those clones and drops were 4-5 % of the server's CPU under load).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub access: Access,
    pub connectors: Connectors,
    pub workflows: Workflows,
    pub runs: Runs,
    pub triggers: Triggers,
    /// The URL people use to reach the server, when configured (`--public-url`).
    pub public_url: Option<String>,
    /// Read the client address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// The bearer token `/metrics` asks for, when set (`SWITCHBOARD_METRICS_TOKEN`).
    pub metrics_token: Option<SecretString>,
}

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        store: Store,
        vault: Vault,
        outbound: Outbound,
        public_url: Option<String>,
        runner: RunnerConfig,
        triggers: TriggerConfig,
    ) -> AppState {
        let secure_cookies = public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        let connectors = Connectors::new(store.clone(), vault.clone(), outbound);
        let runs = Runs::new(store.clone(), connectors.clone(), runner);
        let triggers = Triggers::new(
            store.clone(),
            vault,
            runs.clone(),
            TriggerConfig {
                public_url: public_url.clone(),
                ..triggers
            },
        );
        AppState(Arc::new(AppStateInner {
            access: Access::new(store.clone(), secure_cookies),
            runs,
            triggers,
            connectors,
            workflows: Workflows::new(store.clone()),
            leptos_options,
            store,
            public_url,
            trust_forwarded_for: false,
            metrics_token: None,
        }))
    }

    pub fn trusting_forwarded_for(mut self, trust: bool) -> AppState {
        self.configure().trust_forwarded_for = trust;
        self
    }

    pub fn with_metrics_token(mut self, token: Option<SecretString>) -> AppState {
        self.configure().metrics_token = token;
        self
    }

    /// The settings, while the state is being built (before the router shares it).
    fn configure(&mut self) -> &mut AppStateInner {
        Arc::get_mut(&mut self.0).expect("AppState is configured before it is shared")
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    // Installed before anything is counted.
    crate::metrics::handle();
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    // The built files (`/pkg/…`), else the app's 404 page. Served here rather than by Leptos's
    // `file_and_error_handler` alone, which drops a request's conditional headers and sends any
    // answer but a 200 (a 304, say) as the 404 page.
    let not_found = file_and_error_handler::<AppState, _>(shell).with_state(state.clone());
    let files = ServiceBuilder::new()
        // The chunks' names stay the same from build to build: a browser asks again whether its
        // copy is current (a 304 when it is), so an upgrade never mixes old chunks with new.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // A file may be sent as its Brotli or gzip copy: caches must key on the encoding asked
        // for. (The compression layer says so only for what it compresses itself.)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .service(
            ServeDir::new(&*options.site_root)
                .precompressed_gzip()
                .precompressed_br()
                .call_fallback_on_method_not_allowed(true)
                .fallback(not_found),
        );
    let services = Services {
        access: Arc::new(state.access.clone()),
        connectors: Arc::new(state.connectors.clone()),
        workflows: Arc::new(state.workflows.clone()),
        runs: Arc::new(state.runs.clone()),
        triggers: Arc::new(state.triggers.clone()),
    };

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
        .merge(crate::api::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || shell(options.clone()),
        )
        .fallback_service(files)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CompressionLayer::new()),
        )
        // Outside the gate, so a request's time includes it; route layers see the matched path.
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(axum::middleware::from_fn(own_reactive_root))
        .with_state(state)
}

/// Runs each request under a reactive root of its own. Leptos can leave a finished request's
/// reactive owner current on a worker thread, and its handlers make their owners children of
/// the current one: a server function or file answer started next on that thread would read
/// that request's response options (its status, say) and be cleaned up when it ended.
async fn own_reactive_root(request: Request<Body>, next: Next) -> Response {
    ScopedFuture {
        owner: Owner::new_root(None),
        observer: None,
        fut: next.run(request),
    }
    .await
}

/// One span per request carrying its id, so every log line of a request can be found together.
/// Only the path is recorded: query strings may carry tokens.
fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = loggable_path(request.uri().path());
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %path,
        request_id = %request_id,
    )
}

/// A path as logged. A webhook's path is its credential: what follows a `hooks` segment is
/// logged as `{token}`, wherever the segment is (a sender that joins `https://host/` and
/// `/hooks/…` calls `//hooks/…`, a 404 that still names a valid token), and so is any other
/// segment of 32 or more hexadecimal digits (a token sent to a mistyped route).
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let token_like =
        |segment: &str| segment.len() >= 32 && segment.bytes().all(|b| b.is_ascii_hexdigit());
    // Nearly every request's path is left as it is: tell so without allocating.
    let hook = path
        .split('/')
        .position(|s| s.eq_ignore_ascii_case("hooks"));
    if hook.is_none() && !path.split('/').any(token_like) {
        return path.into();
    }
    let mut shown = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        let part = match hook {
            Some(at) if i == at + 1 => "{token}",
            Some(at) if i > at + 1 => continue,
            _ if token_like(segment) => "{token}",
            _ => segment,
        };
        if i > 0 {
            shown.push('/');
        }
        shown.push_str(part);
    }
    shown.into()
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.readiness().await {
        Ok(r) if r.is_ready() => {
            (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response()
        }
        Ok(r) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "migrations pending", "pending": r.pending_migrations })),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "database unreachable" })),
            )
                .into_response()
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests can finish before the process exits.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
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
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn webhook_tokens_are_not_logged_wherever_they_are() {
        let token = "0123456789abcdef".repeat(4);
        for (path, logged) in [
            (format!("/hooks/{token}"), "/hooks/{token}"),
            (format!("//hooks/{token}"), "//hooks/{token}"),
            (format!("/hooks/{token}/extra/"), "/hooks/{token}"),
            (format!("/HOOKS/{token}"), "/HOOKS/{token}"),
            (format!("/hook/{token}"), "/hook/{token}"),
            (format!("/api/v1/{token}"), "/api/v1/{token}"),
        ] {
            assert_eq!(loggable_path(&path), logged, "{path}");
        }
        // Run ids and other paths are logged as they are.
        let run = "/runs/0193a7c2-5b1e-7c3d-9a2f-1234567890ab";
        assert_eq!(loggable_path(run), run);
        assert_eq!(
            loggable_path("/settings/connectors"),
            "/settings/connectors"
        );
        // ... and without a copy of the path (a regression check; the allocation the fast path
        // saves, a Vec of its segments, is not visible here).
        assert!(matches!(loggable_path(run), std::borrow::Cow::Borrowed(_)));
    }
}
