//! The connection pools (primary and optional read replica), the per-connection prepared-statement
//! cache, and the mapping of PostgreSQL errors onto `StoreError`.

use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use store::StoreError;
use tokio_postgres::Statement;
use tokio_postgres::error::SqlState;

use crate::PostgresConfig;
use crate::tls::{self, TlsPolicy};

/// How long a request waits for a free connection before the store reports itself unavailable.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server a pool talks to: the read replica gets read-only sessions, so even a bug cannot
/// write there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Primary,
    Replica,
}

/// The driver's configuration and the TLS policy (`tls.rs`) of a database URL.
pub(crate) fn parse_url(url: &str) -> Result<(tokio_postgres::Config, TlsPolicy), StoreError> {
    let (url, tls) = tls::split(url)?;
    // The parser's message never repeats the URL, so a password cannot reach the log.
    let config = url.parse().map_err(|e| StoreError::Backend(format!("invalid database URL: {e}")))?;
    Ok((config, tls))
}

/// `host:port/database` of a URL, for messages: never the user or the password.
pub(crate) fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or("?"))
}

pub(crate) fn pool(config: &PostgresConfig, url: &str, role: Role) -> Result<Pool, StoreError> {
    let (mut pg, tls) = parse_url(url)?;
    let mut options: Vec<String> = pg.get_options().map(str::to_owned).into_iter().collect();
    if let Some(timeout) = config.statement_timeout {
        options.push(format!("-c statement_timeout={}", timeout.as_millis()));
    }
    if role == Role::Replica {
        options.push("-c default_transaction_read_only=on".to_owned());
    }
    if !options.is_empty() {
        pg.options(options.join(" "));
    }
    pg.connect_timeout(Duration::from_secs(10));
    // No query per checkout: a connection only returns to the pool clean. A dropped transaction
    // keeps its connection until its ROLLBACK has run (or discards it), and a failed COMMIT
    // discards it (see transaction.rs).
    let recycling_method = RecyclingMethod::Fast;
    let manager = Manager::from_config(pg, tls::connector(&tls)?, ManagerConfig { recycling_method });
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
        let error = with_causes(&error);
        tracing::warn!(%error, "no database connection");
        StoreError::Unavailable(error)
    })
}

/// An error and what caused it: "error performing TLS handshake" alone does not say that the
/// certificate was for another name. The driver's messages never carry the URL or password.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

/// The statement prepared once per connection and reused: a query then costs one round trip
/// (Bind/Execute) instead of two (Parse/Describe first), and the server skips parsing (and, once
/// it settles on a generic plan, planning). For SQL whose text is fixed. Search pages and
/// includes are generated but prepared too, under the bound in `search.rs`; other generated SQL
/// (counts, history, `_has` probes) runs through `query_typed`: one round trip, nothing cached.
pub(crate) async fn prepared(client: &ClientWrapper, sql: &str) -> Result<Statement, StoreError> {
    client.prepare_cached(sql).await.map_err(backend)
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
