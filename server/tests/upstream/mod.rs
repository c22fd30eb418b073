//! A mock upstream API on loopback that records every request it receives.
#![allow(dead_code)] // each test binary uses its own subset of these fixtures

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    shared: Shared,
}

/// While alive, every request is recorded on arrival and then left unanswered; dropping it
/// lets them (and later ones) through.
pub struct Held(tokio::sync::OwnedRwLockWriteGuard<()>);

/// What the handler shares with the test: the requests seen, and the gate `hold` closes.
#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl Upstream {
    /// Answers 200 to everything except paths ending in `/status/<code>`, which answer `<code>`.
    pub async fn start() -> Upstream {
        let shared = Shared::default();
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Upstream { addr, shared }
    }

    /// Holds every answer until the returned guard is dropped: requests in flight, and any that
    /// arrive meanwhile, wait (a way to catch a server with steps under way).
    pub async fn hold(&self) -> Held {
        Held(self.shared.gate.clone().write_owned().await)
    }

    pub fn base_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far, kept (the mock counts by path what it has seen).
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Everything received so far, and forget it.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.shared.seen.lock().unwrap())
    }
}

/// Answers by path:
/// - `…/status/<code>`: that status;
/// - `…/limited`: 429 with `Retry-After: 1` on every odd request to it, 200 on the others;
/// - `…/flaky/<n>`: 503 for the first `n` requests to that path, then 200;
/// - `…/slow/<ms>`: 200 after `ms` milliseconds;
/// - `…/redirect?to=<url>&<rest>`: 302 to `url` with the request's other query parameters
///   (`rest`) added, as a redirect that keeps the query does;
/// - `…/echo`: 200 with a JSON document of the request's headers, query and body;
/// - anything else: 200 with `{"ok": true, "id": "up-1"}`.
async fn record(State(Shared { seen, gate }): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let method = request.method().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_owned()))
        .collect();
    let body = axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let earlier = {
        let mut seen = seen.lock().unwrap();
        let earlier = seen.iter().filter(|s| s.path == path).count();
        seen.push(Seen {
            method,
            path: path.clone(),
            query: query.clone(),
            headers: headers.clone(),
            body: body.clone(),
        });
        earlier
    };
    // Wait while the test holds answers back (see `Upstream::hold`).
    drop(gate.read().await);
    if let Some(code) = path
        .rsplit_once("/status/")
        .and_then(|(_, code)| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
    {
        return code.into_response();
    }
    if path.ends_with("/limited") && earlier % 2 == 0 {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
    }
    if let Some(n) = path
        .rsplit_once("/flaky/")
        .and_then(|(_, n)| n.parse::<usize>().ok())
        && earlier < n
    {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(ms) = path
        .rsplit_once("/slow/")
        .and_then(|(_, n)| n.parse::<u64>().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if path.ends_with("/redirect") {
        let query = query.as_deref().unwrap_or("");
        let (to, rest) = query.split_once('&').unwrap_or((query, ""));
        let mut to = to
            .strip_prefix("to=")
            .map(|t| t.replace("%3A", ":").replace("%2F", "/"))
            .unwrap_or_default();
        if !rest.is_empty() {
            to.push(if to.contains('?') { '&' } else { '?' });
            to.push_str(rest);
        }
        return (StatusCode::FOUND, [("location", to)]).into_response();
    }
    if path.ends_with("/echo") {
        let headers: serde_json::Map<String, serde_json::Value> = headers
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        return axum::Json(serde_json::json!({ "headers": headers, "query": query, "body": body }))
            .into_response();
    }
    axum::Json(serde_json::json!({ "ok": true, "id": "up-1" })).into_response()
}
