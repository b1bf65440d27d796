//! Fresh PostgreSQL databases for test servers: one per server, named `hestia_test_<time>_<hex>`,
//! dropped (`WITH (FORCE)`) when the server is dropped. Databases of this shape older than a few
//! hours are leftovers of killed runs and are swept when the first one of a process is created.

use std::sync::atomic::{AtomicBool, Ordering};

/// Leftovers older than this are swept (a run still going is never that old).
const STALE_SECONDS: u64 = 6 * 3600;

/// `HESTIA_TEST_DATABASE_URL`, by default the local server's `test` database.
pub fn test_database_url() -> String {
    std::env::var("HESTIA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists for as long as this value.
pub struct TestDatabase {
    pub name: String,
    /// The URL of the database itself.
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates a fresh database on `HESTIA_TEST_DATABASE_URL`, panicking with a clear message
    /// when the server cannot be reached.
    pub async fn create() -> TestDatabase {
        TestDatabase::try_create(&test_database_url()).await.unwrap_or_else(|error| fail(&error))
    }

    /// Creates a fresh database, or says why it could not.
    pub async fn try_create(admin_url: &str) -> Result<TestDatabase, String> {
        let admin = connect(admin_url).await?;
        static SWEPT: AtomicBool = AtomicBool::new(false);
        if !SWEPT.swap(true, Ordering::Relaxed) {
            sweep(&admin).await;
        }
        let (now, hex) = fresh();
        let name = format!("hestia_test_{now}_{hex}");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(|e| format!("CREATE DATABASE: {e}"))?;
        // Tests need no fsync per commit (the SQLite test servers run at `Durability::Normal` too).
        admin
            .batch_execute(&format!("ALTER DATABASE {name} SET synchronous_commit = off"))
            .await
            .map_err(|e| format!("ALTER DATABASE: {e}"))?;
        Ok(TestDatabase { url: with_database(admin_url, &name), name, admin_url: admin_url.to_owned() })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside or outside a runtime: a thread with its own small runtime works in both.
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok(admin) = connect(&admin_url).await {
                    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        });
        let _ = dropper.join();
    }
}

#[expect(clippy::panic, reason = "a test run asked for PostgreSQL that is not there must fail loudly")]
fn fail(error: &str) -> ! {
    panic!(
        "HESTIA_TEST_BACKEND=postgres but no test database could be created on {} ({error}); \
         start PostgreSQL (pg_ctlcluster <version> main start) or unset HESTIA_TEST_BACKEND",
        test_database_url()
    )
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(|e| format!("cannot connect: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Drops `hestia_test_<time>_*` databases older than `STALE_SECONDS`.
async fn sweep(admin: &tokio_postgres::Client) {
    let Ok(rows) = admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'hestia_test_%'", &[]).await else {
        return;
    };
    let (now, _) = fresh();
    for row in rows {
        let Ok(name) = row.try_get::<_, String>(0) else { continue };
        let created = name.split('_').nth(2).and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| t.saturating_add(STALE_SECONDS) < now) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

/// The current Unix time in seconds and 16 random hex digits: database names only, never data.
#[expect(clippy::disallowed_methods, reason = "test database names need real time and randomness, nothing else does")]
fn fresh() -> (u64, String) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let hex = uuid::Uuid::new_v4().simple().to_string().chars().take(16).collect();
    (now, hex)
}

/// `admin_url` with its database replaced by `name` (query parameters kept).
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    format!("{scheme}://{host}/{name}{query}")
}
