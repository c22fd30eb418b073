//! The server as a browser or a probe sees it: pages, status codes, health and headers.

mod common;

use common::{TestApp, TestDb};
use switchboard::storage::Store;

/// Path, heading, and whether the page is still a placeholder.
const PAGES: [(&str, &str, bool); 6] = [
    ("/workflows", "<h1>Workflows</h1>", false),
    ("/runs", "<h1>Runs</h1>", false),
    ("/settings/connectors", "<h1>Connectors</h1>", false),
    ("/settings/administrators", "<h1>Administrators</h1>", false),
    ("/settings/api-keys", "<h1>API Keys</h1>", false),
    ("/audit-log", "<h1>Audit log</h1>", false),
];

const PASSWORD: &str = "correct horse battery";

// These tests render pages: each holds `common::PAGE_RENDERS` while it does (they take turns).

/// GETs a page as a browser with this session would.
async fn page(app: &TestApp, path: &str, session: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(path))
        .header("accept", "text/html,application/xhtml+xml");
    if let Some(session) = session {
        request = request.header("cookie", format!("sb_session={session}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn pages_need_a_session_and_setup_comes_first() {
    let app = TestApp::spawn().await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
    let anonymous = page(&app, "/workflows", None).await;
    assert_eq!(anonymous.status(), 302);
    assert_eq!(anonymous.headers()["location"], "/sign-in");
    let sign_in = page(&app, "/sign-in", None).await;
    assert_eq!(sign_in.status(), 302, "no account yet: setup first");
    assert_eq!(sign_in.headers()["location"], "/setup");
    let setup = page(&app, "/setup", None).await;
    assert_eq!(setup.status(), 200);
    let html = setup.text().await.unwrap();
    assert!(html.contains("Create the first administrator"));
    assert!(html.contains(r#"<label for="setup-password-again">"#));

    let session = app.set_up("admin@example.com", PASSWORD).await;
    let gone = page(&app, "/setup", Some(&session)).await;
    assert_eq!(gone.status(), 302, "setup is gone once an account exists");
    let sign_in = page(&app, "/sign-in", None).await;
    assert_eq!(sign_in.status(), 200);
    assert!(sign_in.text().await.unwrap().contains(r#"name="password""#));
}

#[tokio::test]
async fn health_and_readiness_answer_when_migrated() {
    let app = TestApp::spawn().await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
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
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
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
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
    app.store.close().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "database unreachable");
}

#[tokio::test]
async fn every_page_renders_with_the_navigation() {
    let app = TestApp::spawn().await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
    let session = app.set_up("admin@example.com", PASSWORD).await;
    for (path, heading, placeholder) in PAGES {
        let response = page(&app, path, Some(&session)).await;
        assert_eq!(response.status(), 200, "{path}");
        // `<!>` marks where one text node ends and the next begins, for hydration.
        let html = response.text().await.unwrap().replace("<!>", "");
        assert!(html.contains(heading), "{path} lacks {heading}");
        assert_eq!(
            html.contains("Not built yet"),
            placeholder,
            "{path}: placeholder notice"
        );
        assert!(html.contains("Sign out"), "{path} has no sign-out");
        for (link, _, _) in PAGES {
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
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
    let session = app.set_up("admin@example.com", PASSWORD).await;
    let html = page(&app, "/runs", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"href="/runs" aria-current="page""#),
        "no aria-current on the Runs link"
    );
    assert!(!html.contains(r#"href="/workflows" aria-current="page""#));
}

#[tokio::test]
async fn the_root_redirects_to_workflows() {
    let app = TestApp::spawn().await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
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
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains("href=\"/workflows\""));
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::spawn().await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
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
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;
    let response = app
        .client
        .get(app.url("/workflows"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

/// A built file's precompressed copy (`make build` writes `<file>.br` and `<file>.gz`) is sent
/// as it is to a browser that accepts its encoding, and the file itself to one that does not.
#[tokio::test]
async fn built_files_are_sent_precompressed_when_accepted() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    // Stand-ins: the copies need not be real Brotli or gzip for the server to send them.
    std::fs::write(pkg.join("main.wasm"), vec![7u8; 50_000]).unwrap();
    std::fs::write(pkg.join("main.wasm.br"), b"brotli copy").unwrap();
    std::fs::write(pkg.join("main.wasm.gz"), b"gzip copy").unwrap();
    let app = TestApp::spawn_serving(site.path().to_str().unwrap()).await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;

    for (accepts, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), &b"brotli copy"[..]),
        ("gzip", Some("gzip"), &b"gzip copy"[..]),
        ("identity", None, &[7u8; 50_000][..]),
    ] {
        let response = app
            .client
            .get(app.url("/pkg/main.wasm"))
            .header("accept-encoding", accepts)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{accepts}");
        assert_eq!(
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accepts}"
        );
        assert_eq!(response.headers()["content-type"], "application/wasm");
        // Caches keep one answer per encoding, and a 304 says the same.
        assert_eq!(response.headers()["vary"], "accept-encoding", "{accepts}");
        let modified = response.headers()["last-modified"].clone();
        assert_eq!(&response.bytes().await.unwrap()[..], body, "{accepts}");
        let again = app
            .client
            .get(app.url("/pkg/main.wasm"))
            .header("accept-encoding", accepts)
            .header("if-modified-since", modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{accepts}");
        assert_eq!(again.headers()["vary"], "accept-encoding", "{accepts}");
    }
}

/// The built files are served as they are, however many 404 pages render at the same time.
/// Before each request had a reactive root of its own, Leptos's file handler answered 135 of
/// these 960 file requests with the 404 status of a page rendered beside it (the file's bytes,
/// the wrong status), and a page whose code did not load never came alive in the browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_files_are_served_while_404_pages_render() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| (format!("/pkg/chunk_{i}.wasm"), vec![i as u8; 20_000 + i]))
        .collect();
    for (path, body) in &files {
        std::fs::write(site.path().join(&path[1..]), body).unwrap();
    }
    let app = TestApp::spawn_serving(site.path().to_str().unwrap()).await;
    // After the server is up: building its router takes this turn too.
    let _turn = common::PAGE_RENDERS.lock().await;

    let files = std::sync::Arc::new(files);
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut answers = tokio::task::JoinSet::new();
    for i in 0..1_200 {
        let (client, base, files) = (app.client.clone(), app.url(""), files.clone());
        let permit = permits.clone().acquire_owned().await.unwrap();
        answers.spawn(async move {
            let _permit = permit;
            if i % 5 == 0 {
                let response = client
                    .get(format!("{base}/no/such/page"))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                return (status != 404).then(|| format!("the 404 page: {status}"));
            }
            let (path, body) = &files[i % files.len()];
            let response = client
                .get(format!("{base}{path}"))
                .header("accept-encoding", "identity")
                .send()
                .await
                .unwrap();
            let status = response.status();
            let got = response.bytes().await.unwrap();
            (status != 200 || got != body[..])
                .then(|| format!("{path}: {status}, {} bytes", got.len()))
        });
    }
    let wrong: Vec<String> = answers.join_all().await.into_iter().flatten().collect();
    assert!(
        wrong.is_empty(),
        "{} of 1,200 answers wrong, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );

    // A browser asks whether its copy is current each time, and is told so with a 304.
    let response = app.get("/pkg/chunk_1.wasm").await;
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let modified = response.headers()["last-modified"].clone();
    let again = app
        .client
        .get(app.url("/pkg/chunk_1.wasm"))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Nor does a POST to an unknown path find a file handler's 405.
    let posted = app
        .client
        .post(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 404);
}
