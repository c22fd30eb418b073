//! The benchmark's upstream API: answers every request `200 {"ok":true}` after reading its body,
//! as fast as loopback allows. `mock-upstream <port>` (0 picks a free one); prints
//! `listening on 127.0.0.1:<port>` once it accepts connections.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;

async fn answer(body: Bytes) -> impl IntoResponse {
    // Read the body (as a real API would) and answer a small JSON document.
    let _ = body.len();
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"ok":true}"#,
    )
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
    let app = Router::new().fallback(answer);
    axum::serve(listener, app).await.expect("server error");
}
