//! Test fixtures: fresh databases on both backends and a running server on a free port.
#![allow(dead_code)] // each test binary uses its own subset of these fixtures

use sqlx::{Connection, PgConnection};
use std::net::SocketAddr;
use switchboard::http::{AppState, router};
use switchboard::storage::Store;
use tempfile::TempDir;

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
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let db = TestDb::sqlite();
        let store = Store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self::spawn_with(db, store).await
    }

    /// Starts the server on a store as it is (e.g. not migrated).
    pub async fn spawn_with(db: TestDb, store: Store) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let leptos_options = leptos::config::LeptosOptions::builder()
            .output_name("switchboard")
            .site_root("target/site")
            .site_addr(addr)
            .build();
        let app = router(AppState::new(leptos_options, store.clone(), None));
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
