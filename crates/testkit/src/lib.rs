//! testkit: what integration tests need to talk to a real Hestia.
//!
//! Owns: `TestServer`, which serves the real router on `127.0.0.1:0` over a fresh store in a
//! temporary directory, with a fixed `Clock` and sequential ids so answers are reproducible, and
//! a `reqwest` client with FHIR helpers. Locating `../shared` test data. The backend comes from
//! `HESTIA_TEST_BACKEND` (`sqlite`, the default, or `postgres`: a fresh database per server on
//! `HESTIA_TEST_DATABASE_URL`, dropped with the server).
//! Must not know: anything a test asserts; it only starts and talks.
//! Dev-only: never a dependency of a shipped crate.

use std::path::PathBuf;
use std::sync::Arc;

use fhir_rest::{AppState, RestConfig};
use serde_json::Value;
use store::Store;
use store::{FixedClock, SequentialIds, Timestamp};
use store_postgres::{PostgresConfig, PostgresStore};
use store_sqlite::{Durability, SqliteConfig, SqliteStore};

mod postgres;

pub use postgres::{TestDatabase, test_database_url};

/// 2026-01-01T00:00:00Z: the fixed start of every test server's clock.
pub const TEST_EPOCH_MICROS: i64 = 1_767_225_600_000_000;

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    _data: tempfile::TempDir,
    /// Dropped after the server stops (field order).
    _database: Option<TestDatabase>,
    server: tokio::task::JoinHandle<()>,
}

/// Which store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `HESTIA_TEST_BACKEND`: unset or `sqlite` for SQLite, `postgres` for PostgreSQL.
    #[expect(clippy::panic, reason = "a misspelt backend must fail the run, not silently test SQLite")]
    pub fn from_env() -> Backend {
        match std::env::var("HESTIA_TEST_BACKEND").as_deref() {
            Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
            Ok("postgres" | "postgresql") => Backend::Postgres,
            Ok(other) => panic!("HESTIA_TEST_BACKEND must be sqlite or postgres, not '{other}'"),
        }
    }
}

/// A response read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// Options that differ between tests.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub max_body_bytes: usize,
    /// `--base-url`; `None` derives the base from `Host`.
    pub base_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { max_body_bytes: RestConfig::new().max_body_bytes, base_url: None }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(ServerOptions::default()).await
    }

    pub async fn start_with(options: ServerOptions) -> TestServer {
        TestServer::start_on(Backend::from_env(), options).await
    }

    #[expect(clippy::expect_used, reason = "a test server that cannot start must fail the test loudly")]
    pub async fn start_on(backend: Backend, options: ServerOptions) -> TestServer {
        let data = tempfile::tempdir().expect("temporary directory");
        let (store, database): (Arc<dyn Store>, _) = match backend {
            Backend::Sqlite => {
                let path = data.path().join("hestia.db");
                let config = SqliteConfig { path, durability: Durability::Normal, readers: 4 };
                (Arc::new(SqliteStore::open(config).await.expect("open SQLite store")), None)
            }
            Backend::Postgres => {
                let database = TestDatabase::create().await;
                let store = PostgresStore::open(PostgresConfig::new(&database.url)).await;
                (Arc::new(store.expect("open PostgreSQL store")), Some(database))
            }
        };
        let mut rest = RestConfig::new();
        rest.max_body_bytes = options.max_body_bytes;
        rest.base_url = options.base_url;
        let clock = Arc::new(FixedClock::new(Timestamp::from_micros(TEST_EPOCH_MICROS)));
        let state = AppState::new(store, clock, Arc::new(SequentialIds::default()), rest);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let address = listener.local_addr().expect("local address");
        let watcher = tokio::spawn(fhir_rest::watch_search_parameters(state.clone()));
        let server = tokio::spawn(async move {
            let _ = axum_serve(listener, state).await;
            watcher.abort();
        });
        TestServer {
            base: format!("http://{address}/fhir"),
            client: reqwest::Client::new(),
            backend,
            _data: data,
            _database: database,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                Reply { status, headers, text }
            }
            Err(error) => Reply { status: 0, headers: reqwest::header::HeaderMap::new(), text: error.to_string() },
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.fhir(self.client.post(self.url(path)), body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.fhir(self.client.put(self.url(path)), body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    pub fn fhir(&self, request: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
        request.header("content-type", "application/fhir+json").body(body.to_string())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    fhir_rest::serve(listener, state).await
}

/// `../shared` beside the repository (CI clones the repository next to it).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}
