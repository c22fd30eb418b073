//! Test fixtures: fresh databases on both backends and a running server on a free port.
#![allow(dead_code)] // each test binary uses its own subset of these fixtures

use sqlx::{Connection, PgConnection};
use std::net::SocketAddr;
use switchboard::http::{AppState, router};
use switchboard::outbound::Outbound;
use switchboard::storage::Store;
use switchboard::vault::{KeyBytes, MasterKeySource, Vault, open_vault};
use tempfile::TempDir;

/// Held while a test renders a page, and while a test builds a server's router (see
/// `TestApp::start`). Leptos's reactive arena is global to the process, so two page renders on two
/// test runtimes at once can hand each other's tasks to a runtime that then ends, and a test waits
/// forever. One server process has one runtime and is not affected; in a test binary, whose tests
/// each run on a runtime of their own, page renders take turns.
pub static PAGE_RENDERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh, empty database that is removed when the test is done with it.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new database on the test PostgreSQL server, or `None` when PostgreSQL is optional here
    /// and not running. With `CI=true`, or when `SWITCHBOARD_TEST_POSTGRES_URL` is set, an
    /// unreachable server fails the test instead.
    pub async fn postgres() -> Option<TestDb> {
        let configured = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").ok();
        let mandatory = configured.is_some() || std::env::var("CI").is_ok_and(|v| v == "true");
        let admin_url =
            configured.unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) if !mandatory => {
                eprintln!(
                    "SKIPPED: PostgreSQL at {admin_url} is not reachable ({e}); set CI=true or SWITCHBOARD_TEST_POSTGRES_URL to require it"
                );
                return None;
            }
            Err(e) => {
                panic!("PostgreSQL tests are mandatory here, but {admin_url} is not reachable: {e}")
            }
        };
        let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        Some(TestDb {
            url: format!("{base}/{name}"),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// Drops a PostgreSQL test database (a SQLite one goes with its temp dir).
    pub async fn remove(self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let mut admin = PgConnection::connect(admin_url)
                .await
                .expect("connect to drop");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop test database");
            let _ = admin.close().await;
        }
    }
}

/// A server running in this process on a free loopback port, as `serve` would run it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub client: reqwest::Client,
    /// The triggers, to drive the scheduler with a chosen clock.
    pub triggers: switchboard::triggers::Triggers,
    /// The runs, to queue them as a trigger does.
    pub runs: switchboard::runs::Runs,
    /// The connectors, for what the server does to them at start-up.
    pub connectors: switchboard::connectors::Connectors,
    workers: Option<switchboard::runs::Workers>,
    _db: TestDb,
}

impl TestApp {
    /// The database's URL, for a test that reaches past the store (to make a write fail).
    #[allow(dead_code)]
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    pub async fn spawn() -> TestApp {
        Self::spawn_serving("target/site").await
    }

    /// Starts the server, on a fresh migrated SQLite database, with its built files (`/pkg/…`)
    /// in `site_root`.
    pub async fn spawn_serving(site_root: &str) -> TestApp {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self::start(db, store, site_root).await
    }

    /// Starts the server on a store as it is (e.g. not migrated).
    pub async fn spawn_with(db: TestDb, store: Store) -> TestApp {
        Self::start(db, store, "target/site").await
    }

    /// Starts the server on a fresh migrated SQLite database, its runner set up as `tune` says
    /// (after the tests' own settings: 2 workers, a 100 ms poll).
    #[allow(dead_code)]
    pub async fn spawn_tuned(tune: impl FnOnce(&mut switchboard::runs::RunnerConfig)) -> TestApp {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let mut runner = Self::runner();
        tune(&mut runner);
        Self::start_with(db, store, "target/site", runner).await
    }

    fn runner() -> switchboard::runs::RunnerConfig {
        switchboard::runs::RunnerConfig {
            workers: 2,
            poll: std::time::Duration::from_millis(100),
            drain: std::time::Duration::from_secs(5),
            ..Default::default()
        }
    }

    async fn start(db: TestDb, store: Store, site_root: &str) -> TestApp {
        Self::start_with(db, store, site_root, Self::runner()).await
    }

    async fn start_with(
        db: TestDb,
        store: Store,
        site_root: &str,
        runner: switchboard::runs::RunnerConfig,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let leptos_options = leptos::config::LeptosOptions::builder()
            .output_name("switchboard")
            .site_root(site_root)
            .site_addr(addr)
            .build();
        // An unmigrated store (the readiness tests) has no vault table: any key does there.
        let vault = open_vault(
            &store,
            &MasterKeySource::Env(KeyBytes::random().to_base64().to_string()),
        )
        .await
        .unwrap_or_else(|_| Vault::new(1, KeyBytes::random()));
        // Tests talk to mock upstreams on loopback, which the network policy refuses by default.
        let policy = domain::egress::NetworkPolicy::parse("127.0.0.1").expect("allowlist");
        let outbound = Outbound::new(policy).expect("http client");
        let state = AppState::new(
            leptos_options,
            store.clone(),
            vault,
            outbound,
            None,
            runner,
            switchboard::triggers::TriggerConfig::default(),
        );
        let workers = state.runs.start_workers();
        let triggers = state.triggers.clone();
        let runs = state.runs.clone();
        let connectors = state.connectors.clone();
        // Building the router generates Leptos's route list, and while it does, no resource in
        // the process loads (leptos_server's global IS_SUPPRESSING_RESOURCE_LOAD): a page that
        // another test was rendering at that moment waited for ever (about one run in twenty of
        // the connectors suite). It takes its turn with page renders. One server process builds
        // its router once, before it serves, and is not affected.
        let app = {
            let _turn = PAGE_RENDERS.lock().await;
            router(state)
        };
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            addr,
            store,
            client,
            triggers,
            runs,
            connectors,
            workers: Some(workers),
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

/// What a server-function or API call answered.
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub text: String,
    /// The `sb_session` value a `Set-Cookie` header carried, if any ("" when it clears it).
    pub session: Option<String>,
}

impl TestApp {
    /// Starts a server on a fresh, migrated database of the given backend; `None` when PostgreSQL
    /// is optional and not running.
    pub async fn spawn_on(backend: &str) -> Option<TestApp> {
        let db = match backend {
            "sqlite" => TestDb::sqlite(),
            _ => TestDb::postgres().await?,
        };
        let store = Store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        Some(Self::spawn_with(db, store).await)
    }

    /// The SQLite database file, when the backend is SQLite.
    pub fn db_file(&self) -> Option<String> {
        self._db.url.strip_prefix("sqlite://").map(str::to_owned)
    }

    /// Drops the test database.
    pub async fn stop(mut self) {
        if let Some(workers) = self.workers.take() {
            workers.shutdown().await;
        }
        self.store.close().await;
        self._db.remove().await;
    }

    /// POSTs a form to a server function (or any path) as the browser does, from our own origin.
    pub async fn call(&self, path: &str, form: &[(&str, &str)], session: Option<&str>) -> Answer {
        let mut request = self
            .client
            .post(self.url(path))
            .header("origin", format!("http://{}", self.addr))
            .form(form);
        if let Some(session) = session {
            request = request.header("cookie", format!("sb_session={session}"));
        }
        Answer::read(request.send().await.expect("request")).await
    }

    /// Calls a JSON-encoded server function with a session.
    pub async fn call_json(&self, path: &str, body: &serde_json::Value, session: &str) -> Answer {
        let request = self
            .client
            .post(self.url(path))
            .header("origin", format!("http://{}", self.addr))
            .header("cookie", format!("sb_session={session}"))
            .json(body);
        Answer::read(request.send().await.expect("request")).await
    }

    /// GETs with an API key.
    pub async fn get_with_key(&self, path: &str, key: &str) -> Answer {
        let response = self
            .client
            .get(self.url(path))
            .header("x-api-key", key)
            .send()
            .await
            .expect("request");
        Answer::read(response).await
    }

    /// Sends a REST request with an API key and an optional JSON body.
    pub async fn rest(
        &self,
        key: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method.parse().expect("method"), self.url(path))
            .header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::read(request.send().await.expect("request")).await
    }

    /// Waits (up to 30 s) for a run to finish and returns it as `GET /api/v2/workflows/runs/{id}`
    /// shows it.
    pub async fn finished_run(&self, key: &str, id: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let got = self
                .rest(key, "GET", &format!("/api/v2/workflows/runs/{id}"), None)
                .await;
            assert_eq!(got.status, 200, "{}", got.text);
            if matches!(got.body["status"].as_str(), Some("succeeded" | "failed")) {
                return got.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "run {id} did not finish: {}",
                got.text
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs first-run setup and returns the new administrator's session.
    pub async fn set_up(&self, email: &str, password: &str) -> String {
        let answer = self
            .call(
                "/api/setup",
                &[
                    ("email", email),
                    ("name", "First Admin"),
                    ("password", password),
                    ("password_again", password),
                ],
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "setup failed: {}", answer.text);
        answer.session.expect("setup sets the session cookie")
    }

    /// Signs in and returns the session.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let answer = self
            .call(
                "/api/sign_in",
                &[("email", email), ("password", password)],
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "sign-in failed: {}", answer.text);
        answer.session.expect("sign-in sets the session cookie")
    }
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("sb_session="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned());
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Answer {
            status,
            body,
            text,
            session,
        }
    }
}

/// Declares each test twice, on SQLite and on PostgreSQL, each with its own server
/// (`TestApp`, which the using file imports); a PostgreSQL test without a server is skipped
/// unless PostgreSQL is mandatory.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let app = super::TestApp::spawn_on("sqlite").await.unwrap();
                    super::$test(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(app) = super::TestApp::spawn_on("postgres").await else { return };
                    super::$test(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}
