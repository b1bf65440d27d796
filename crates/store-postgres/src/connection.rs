//! The connection pool and the mapping of PostgreSQL errors onto `StoreError`.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use store::StoreError;
use tokio_postgres::error::SqlState;

use crate::PostgresConfig;

/// How long a request waits for a free connection before the store reports itself unavailable.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn pool(config: &PostgresConfig) -> Result<Pool, StoreError> {
    let mut pg: tokio_postgres::Config =
        config.url.parse().map_err(|e| StoreError::Backend(format!("invalid database URL: {e}")))?;
    if let Some(timeout) = config.statement_timeout {
        pg.options(format!("-c statement_timeout={}", timeout.as_millis()));
    }
    pg.connect_timeout(Duration::from_secs(10));
    // No query per checkout: a connection only returns to the pool clean. A dropped transaction
    // keeps its connection until its ROLLBACK has run (or discards it), and a failed COMMIT
    // discards it (see transaction.rs).
    let recycling_method = RecyclingMethod::Fast;
    let manager = Manager::from_config(pg, tokio_postgres::NoTls, ManagerConfig { recycling_method });
    Pool::builder(manager)
        .max_size(config.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))
}

pub(crate) async fn get(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(|error| {
        tracing::warn!(%error, "no database connection");
        StoreError::Unavailable(error.to_string())
    })
}

/// Serialization failures and deadlocks are transient (the client may retry); a lost connection
/// or a server shutting down means the database is unavailable; anything else is a backend error.
pub(crate) fn backend(error: tokio_postgres::Error) -> StoreError {
    match error.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            tracing::info!(%error, "transaction conflict");
            StoreError::Unavailable("serialization conflict, retry".to_owned())
        }
        Some(code)
            if *code == SqlState::QUERY_CANCELED
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
                || *code == SqlState::TOO_MANY_CONNECTIONS =>
        {
            StoreError::Unavailable(error.to_string())
        }
        None if error.is_closed() => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Backend(error.to_string()),
    }
}

/// Whether the error is a unique-key violation (another writer took the key first).
pub(crate) fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
