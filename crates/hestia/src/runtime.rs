//! Process-wide services: logging, the real clock, random ids, opening the store.

use std::sync::Arc;

use store::{Clock, IdGenerator, Store, Timestamp};
use store_sqlite::{Durability, SqliteConfig, SqliteStore};

use crate::cli::StoreArgs;

pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HESTIA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// The one real clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    #[expect(clippy::disallowed_methods, reason = "this is the single real clock every other component is handed")]
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Timestamp::from_micros(micros)
    }
}

/// Time-ordered random UUIDs (version 7) as logical ids: 48 bits of milliseconds, then 74 random
/// bits. Ids the server assigns sort by creation time, so the indexes keyed by id (the resource
/// key, and every reference to a new resource) grow at their right edge instead of touching a
/// random page per insert; see docs/decisions/0008-time-ordered-ids.md.
pub(crate) struct TimeOrderedIds;

impl IdGenerator for TimeOrderedIds {
    #[expect(
        clippy::disallowed_methods,
        reason = "this is the single random id source every other component is handed"
    )]
    fn new_id(&self) -> String {
        uuid::Uuid::now_v7().to_string()
    }
}

pub(crate) async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>, String> {
    if let Some(url) = args.database.as_deref().filter(|u| !u.is_empty()) {
        let store = store_postgres::PostgresStore::open(postgres_config(args, url)?)
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        return Ok(Arc::new(store));
    }
    if args.database_read_replica.as_deref().is_some_and(|u| !u.is_empty()) {
        return Err("--database-read-replica needs --database (PostgreSQL)".to_owned());
    }
    let durability = match args.durability.as_str() {
        "full" => Durability::Full,
        "normal" => Durability::Normal,
        other => return Err(format!("--durability must be full or normal, not '{other}'")),
    };
    std::fs::create_dir_all(&args.data)
        .map_err(|e| format!("cannot create data directory {}: {e}", args.data.display()))?;
    let config = SqliteConfig { path: args.data.join("hestia.db"), durability, readers: 8 };
    let store = SqliteStore::open(config).await.map_err(|e| format!("cannot open the database: {e}"))?;
    Ok(Arc::new(store))
}

/// The PostgreSQL settings from the command line. URLs are checked by scheme only, and an error
/// names the option, never the URL (it may carry a password).
pub(crate) fn postgres_config(args: &StoreArgs, url: &str) -> Result<store_postgres::PostgresConfig, String> {
    let is_postgres = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
    if !is_postgres(url) {
        return Err("--database must be a postgres:// or postgresql:// URL".to_owned());
    }
    let mut config = store_postgres::PostgresConfig::new(url);
    config.pool_size = args.database_pool_size;
    config.statement_timeout = Some(args.database_statement_timeout);
    if let Some(replica) = args.database_read_replica.as_deref().filter(|u| !u.is_empty()) {
        if !is_postgres(replica) {
            return Err("--database-read-replica must be a postgres:// or postgresql:// URL".to_owned());
        }
        config.read_replica = Some(replica.to_owned());
    }
    Ok(config)
}
