//! The server as a browser or a probe sees it: pages, status codes, health and headers.

mod common;

use common::{TestApp, TestDb};
use switchboard::storage::Store;

const PAGES: [(&str, &str); 4] = [
    ("/workflows", "<h1>Workflows</h1>"),
    ("/runs", "<h1>Runs</h1>"),
    ("/settings/connectors", "<h1>Connectors</h1>"),
    ("/audit-log", "<h1>Audit log</h1>"),
];

#[tokio::test]
async fn health_and_readiness_answer_when_migrated() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_until_migrations_are_applied() {
    let db = TestDb::sqlite();
    let store = Store::connect(&db.url).await.unwrap();
    let app = TestApp::spawn_with(db, store).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "migrations pending");

    app.store.migrate().await.unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.store.close().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "database unreachable");
}

#[tokio::test]
async fn every_page_renders_with_the_navigation() {
    let app = TestApp::spawn().await;
    for (path, heading) in PAGES {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(heading), "{path} lacks {heading}");
        assert!(
            html.contains("Not built yet"),
            "{path} should say it is a placeholder"
        );
        for (link, _) in PAGES {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{path} lacks a link to {link}"
            );
        }
        assert!(
            html.contains("/pkg/switchboard.js"),
            "{path} does not load the app bundle"
        );
    }
}

#[tokio::test]
async fn the_current_page_is_marked_in_the_navigation() {
    let app = TestApp::spawn().await;
    let html = app.get("/runs").await.text().await.unwrap();
    assert!(
        html.contains(r#"href="/runs" aria-current="page""#),
        "no aria-current on the Runs link"
    );
    assert!(!html.contains(r#"href="/workflows" aria-current="page""#));
}

#[tokio::test]
async fn the_root_redirects_to_workflows() {
    let app = TestApp::spawn().await;
    // leptos_axum answers 302 only to page loads (Accept: text/html), as a
    // browser sends; server-function calls get a redirect header instead.
    let response = app
        .client
        .get(app.url("/"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/workflows");
}

#[tokio::test]
async fn unknown_paths_get_a_404_page() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains("href=\"/workflows\""));
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "from-the-proxy")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "from-the-proxy");
}

#[tokio::test]
async fn pages_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/workflows"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
}
