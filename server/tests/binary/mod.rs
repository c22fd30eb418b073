//! The real `switchboard` binary, started as an admin starts it: helpers shared by the tests
//! that run it as a process.
#![allow(dead_code)] // each test binary uses its own subset of these helpers

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// The binary under test: this build's, or `SWITCHBOARD_TEST_BIN` (the release build, for the
/// load test that `make test` runs after building it).
pub fn binary() -> String {
    std::env::var("SWITCHBOARD_TEST_BIN").unwrap_or_else(|_| BIN.to_owned())
}

pub fn switchboard() -> Command {
    let mut cmd = Command::new(binary());
    // Start from a clean slate: no settings leak in from the developer's shell.
    for var in [
        "DATABASE_URL",
        "SWITCHBOARD_ADDR",
        "SWITCHBOARD_DATA_DIR",
        "SWITCHBOARD_MASTER_KEY",
        "SWITCHBOARD_NEW_MASTER_KEY",
        "RUST_LOG",
        "SWITCHBOARD_METRICS_TOKEN",
        // The server sets it for itself (see `serve_answers_and_stops_cleanly_on_sigterm`).
        "MALLOC_MMAP_THRESHOLD_",
    ] {
        cmd.env_remove(var);
    }
    cmd.kill_on_drop(true);
    cmd
}

/// Starts `switchboard serve` on a free port with JSON logs; returns the child, its address and
/// a task collecting every log line (stdout and stderr).
pub async fn serve_in(dir: &std::path::Path) -> (tokio::process::Child, String, LogSink) {
    serve_with(dir, &[]).await
}

/// As `serve_in`, with extra environment variables.
pub async fn serve_with(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, LogSink) {
    let mut child = switchboard()
        .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
        // Debug logs by default (the secret tests read them); `env` may choose otherwise.
        .env("RUST_LOG", "debug,sqlx=debug")
        .envs(env.iter().copied())
        .env("SWITCHBOARD_DATA_DIR", dir)
        // The connector tests talk to a mock upstream on loopback.
        .env("SWITCHBOARD_ALLOW_NETWORKS", "127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = LogSink::default();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err.next_line().await {
            sink.push(line);
        }
    });
    let sink = logs.clone();
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut addr_tx = Some(addr_tx);
        while let Ok(Some(line)) = out.next_line().await {
            if let Some(rest) = line.split("Switchboard listening on http://").nth(1)
                && let Some(tx) = addr_tx.take()
            {
                let _ = tx.send(
                    rest.trim_end_matches(['"', '}'])
                        .split('"')
                        .next()
                        .unwrap()
                        .to_owned(),
                );
            }
            sink.push(line);
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx)
        .await
        .expect("the server did not start within 30 s")
        .expect("the server exited before listening");
    (child, addr, logs)
}

#[derive(Clone, Default)]
pub struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl LogSink {
    pub fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    pub fn all(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

/// On a fresh server at `origin`: the first administrator's session cookie and an
/// Administrator API key.
pub async fn admin_and_key(client: &reqwest::Client, origin: &str) -> (String, String) {
    let setup = client
        .post(format!("{origin}/api/setup"))
        .header("origin", origin)
        .form(&[
            ("email", "admin@example.com"),
            ("name", "Admin"),
            ("password", "process test password"),
            ("password_again", "process test password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200);
    let cookie = setup
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix("sb_session=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .unwrap();
    let key: serde_json::Value = client
        .post(format!("{origin}/api/api_keys/create"))
        .header("origin", origin)
        .header("cookie", format!("sb_session={cookie}"))
        .form(&[("name", "process"), ("role", "administrator")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (cookie, key["key"].as_str().unwrap().to_owned())
}

/// POSTs JSON with an API key and returns the JSON answer, asserting the status.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &serde_json::Value,
    status: u16,
) -> serde_json::Value {
    let response = client
        .post(url)
        .header("x-api-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// A fresh PostgreSQL database for processes to share, dropped by `TestDatabase::drop_now`.
/// `None` (after printing `SKIPPED: PostgreSQL …`) when no server answers and none is required;
/// `SWITCHBOARD_TEST_POSTGRES_URL` or `CI=true` makes PostgreSQL mandatory.
pub struct TestDatabase {
    admin: sqlx::PgConnection,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Option<TestDatabase> {
        use sqlx::Connection;
        let configured = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").ok();
        let mandatory = configured.is_some() || std::env::var("CI").is_ok_and(|v| v == "true");
        let admin_url =
            configured.unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) if !mandatory => {
                eprintln!("SKIPPED: PostgreSQL at {admin_url} is not reachable ({e})");
                return None;
            }
            Err(e) => panic!("PostgreSQL is mandatory here but not reachable: {e}"),
        };
        let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        Some(TestDatabase { admin, name, url })
    }

    pub async fn drop_now(mut self) {
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut self.admin)
        .await
        .unwrap();
    }
}

/// A connector named `name` to the mock upstream at `base_url`, with no authentication: its JSON.
pub async fn plain_connector(
    client: &reqwest::Client,
    origin: &str,
    key: &str,
    name: &str,
    base_url: &str,
) -> serde_json::Value {
    post_json(
        client,
        &format!("{origin}/api/v2/connectors"),
        key,
        &serde_json::json!({ "name": name, "base_url": base_url, "auth": { "type": "none" } }),
        201,
    )
    .await
}

/// The URL path (`/hooks/<token>`) of a webhook workflow, as an administrator's session sees it.
pub async fn webhook_path(
    client: &reqwest::Client,
    origin: &str,
    cookie: &str,
    workflow_id: &str,
) -> String {
    let hook: serde_json::Value = client
        .post(format!("{origin}/api/webhooks/get"))
        .header("origin", origin)
        .header("cookie", format!("sb_session={cookie}"))
        .form(&[("workflow_id", workflow_id)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    hook["path"].as_str().unwrap().to_owned()
}

/// `switchboard serve` once per folder, all with the same environment.
pub async fn serve_each(
    dirs: &[tempfile::TempDir],
    env: &[(&str, &str)],
) -> Vec<(tokio::process::Child, String, LogSink)> {
    let mut servers = Vec::new();
    for dir in dirs {
        servers.push(serve_with(dir.path(), env).await);
    }
    servers
}
