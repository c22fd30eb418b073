//! The benchmark's upstream API: answers every request `200 {"ok":true}`, as fast as loopback
//! allows. `mock-upstream <port>` (0 picks a free one); prints `listening on 127.0.0.1:<port>`
//! once it accepts connections.
//!
//! Requests to paths under `/record/` also have their arrival time (µs since start) and body
//! kept, for the per-node latency measure; `GET /__arrivals` answers them as JSON lines
//! (`<micros> <body>`) and forgets them. At most `MAX_RECORDED` are kept.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

const MAX_RECORDED: usize = 100_000;

#[derive(Clone)]
struct Recorder {
    started: Instant,
    arrivals: Arc<Mutex<Vec<(u128, String)>>>,
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
    let body: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    if path.starts_with("/record/") {
        let mut arrivals = recorder.arrivals.lock().expect("not poisoned");
        if arrivals.len() < MAX_RECORDED {
            arrivals.push((at, String::from_utf8_lossy(&body).into_owned()));
        }
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
    };
    let app = Router::new().fallback(answer).with_state(recorder);
    axum::serve(listener, app).await.expect("server error");
}
