//! Prometheus metrics: one recorder per process, rendered by `GET /metrics`.
//!
//! Labels hold only bounded, non-secret values: trigger kinds, run and step outcomes, route
//! templates (`/hooks/{token}`, never the token), HTTP methods and statuses, and connector names.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::http::AppState;

/// Histogram buckets in seconds, from a fast loopback call to a step's longest timeout.
const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. When another recorder was installed first
/// (only a test harness would), metrics go there and `/metrics` shows none.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        "switchboard_runs_started_total",
        "Runs queued, by trigger (manual, webhook, event, schedule)."
    );
    describe_counter!(
        "switchboard_runs_finished_total",
        "Runs finished by this process, by status (succeeded, failed)."
    );
    describe_gauge!(
        "switchboard_run_queue_depth",
        "Runs waiting for a worker, across every replica (read from the database at scrape time)."
    );
    describe_histogram!(
        "switchboard_step_duration_seconds",
        metrics::Unit::Seconds,
        "Time to send a step's request, retries and their waits included (not the wait for the connector's concurrency limit), by connector and outcome."
    );
    describe_counter!(
        "switchboard_step_retries_total",
        "Step requests sent again after a failure, by connector."
    );
    describe_counter!(
        "switchboard_webhook_rejections_total",
        "Webhook calls refused, by reason."
    );
    describe_histogram!(
        "switchboard_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
}

/// Drains histogram samples into their buckets now and then, so memory stays flat between scrapes.
pub fn start_upkeep() -> tokio::task::JoinHandle<()> {
    let handle = handle();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    })
}

/// A run was queued.
pub fn run_started(trigger: &'static str, count: usize) {
    counter!("switchboard_runs_started_total", "trigger" => trigger).increment(count as u64);
}

/// A run ended with `status` (`succeeded` or `failed`).
pub fn run_finished(status: &'static str) {
    counter!("switchboard_runs_finished_total", "status" => status).increment(1);
}

/// A step's request(s) took `elapsed`.
pub fn step_finished(connector: &str, ok: bool, elapsed: Duration) {
    let outcome = if ok { "succeeded" } else { "failed" };
    histogram!(
        "switchboard_step_duration_seconds",
        "connector" => connector.to_owned(),
        "outcome" => outcome
    )
    .record(elapsed.as_secs_f64());
}

/// A step's request is about to be sent again.
pub fn step_retried(connector: &str) {
    counter!("switchboard_step_retries_total", "connector" => connector.to_owned()).increment(1);
}

/// A webhook call was answered `status` (4xx or 5xx).
pub fn webhook_rejected(status: StatusCode) {
    let reason = match status.as_u16() {
        401 => "signature",
        404 => "not_found",
        413 => "too_large",
        422 => "idempotency_conflict",
        400 => "bad_request",
        500..=599 => "server_error",
        _ => "other",
    };
    counter!("switchboard_webhook_rejections_total", "reason" => reason).increment(1);
}

/// Middleware: times every request, labelled by its route template, not its path.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = method_label(request.method());
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None if request.uri().path().starts_with("/pkg/") => "/pkg/*".to_owned(),
        None => "(unmatched)".to_owned(),
    };
    let response = next.run(request).await;
    histogram!(
        "switchboard_http_request_duration_seconds",
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: HTTP allows any token as a method, and each new label value would be
/// a new series kept for the life of the process.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the Prometheus text format. With `SWITCHBOARD_METRICS_TOKEN` set, only callers that send
/// it as a bearer token get an answer.
pub async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token
        && !bearer_matches(&headers, token.expose_secret())
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "Send the metrics token: Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>.\n",
        )
            .into_response();
    }
    match state.store.queued_runs().await {
        Ok(depth) => gauge!("switchboard_run_queue_depth").set(depth as f64),
        Err(error) => tracing::warn!(%error, "metrics: reading the queue depth failed"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        Body::from(handle().render()),
    )
        .into_response()
}

/// Compares digests, so the time taken says nothing about the token.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(sent) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(sent.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_token_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret-token"));
        headers.insert(
            header::AUTHORIZATION,
            "Bearer s3cret-token".parse().unwrap(),
        );
        assert!(bearer_matches(&headers, "s3cret-token"));
        assert!(!bearer_matches(&headers, "s3cret-token2"));
        headers.insert(header::AUTHORIZATION, "Basic s3cret-token".parse().unwrap());
        assert!(!bearer_matches(&headers, "s3cret-token"));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
        let invented = axum::http::Method::from_bytes(b"FOO1").unwrap();
        assert_eq!(method_label(&invented), "other");
    }
}
