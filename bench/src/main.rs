//! The benchmark's upstream API: answers every request `200 {"ok":true}`, as fast as loopback
//! allows. `mock-upstream <port>` (0 picks a free one); prints `listening on 127.0.0.1:<port>`
//! once it accepts connections.
//!
//! Requests to paths under `/record/` also have their arrival time (µs since start) and body
//! kept, for the per-node latency measure; `GET /__arrivals` answers them as JSON lines
//! (`<micros> <body>`) and forgets them. At most `MAX_RECORDED` are kept.
//! `GET /__wait?count=N` answers once N arrivals are kept (or after 30 s, `408`): the benchmark
//! waits on it instead of polling Switchboard's database while the requests it times arrive.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const MAX_RECORDED: usize = 100_000;

#[derive(Clone)]
struct Recorder {
    started: Instant,
    arrivals: Arc<Mutex<Vec<(u128, String)>>>,
    /// Woken whenever an arrival is kept.
    arrived: Arc<tokio::sync::Notify>,
}

impl Recorder {
    fn kept(&self) -> usize {
        self.arrivals.lock().expect("not poisoned").len()
    }

    /// Whether `count` arrivals were kept within `limit`.
    async fn wait_for(&self, count: usize, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            // Registered before the check, so an arrival between the two is not missed.
            arrived.as_mut().enable();
            if self.kept() >= count {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.kept() >= count;
            }
        }
    }
}

async fn answer(State(recorder): State<Recorder>, request: Request) -> Response {
    let at = recorder.started.elapsed().as_micros();
    let path = request.uri().path().to_owned();
    if path == "/__arrivals" {
        let taken = std::mem::take(&mut *recorder.arrivals.lock().expect("not poisoned"));
        let lines: String = taken
            .into_iter()
            .map(|(micros, body)| format!("{micros} {}\n", body.replace('\n', " ")))
            .collect();
        return lines.into_response();
    }
    if path == "/__wait" {
        let count = request
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("count="))
            .and_then(|n| n.parse().ok());
        let Some(count) = count else {
            return (StatusCode::BAD_REQUEST, "GET /__wait?count=N\n").into_response();
        };
        return if recorder.wait_for(count, Duration::from_secs(30)).await {
            StatusCode::NO_CONTENT.into_response()
        } else {
            (
                StatusCode::REQUEST_TIMEOUT,
                format!("{} of {count} arrived\n", recorder.kept()),
            )
                .into_response()
        };
    }
    let body: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    if path.starts_with("/record/") {
        let mut arrivals = recorder.arrivals.lock().expect("not poisoned");
        if arrivals.len() < MAX_RECORDED {
            arrivals.push((at, String::from_utf8_lossy(&body).into_owned()));
        }
        drop(arrivals);
        recorder.arrived.notify_waiters();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"ok":true}"#,
    )
        .into_response()
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("the port is a number"))
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("cannot listen on loopback");
    println!("listening on {}", listener.local_addr().expect("bound"));
    let recorder = Recorder {
        started: Instant::now(),
        arrivals: Arc::default(),
        arrived: Arc::default(),
    };
    let app = Router::new().fallback(answer).with_state(recorder);
    axum::serve(listener, app).await.expect("server error");
}
