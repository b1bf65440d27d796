//! store-postgres: the PostgreSQL backend, for several nodes over one database (Citus-ready).
//!
//! Owns: the PostgreSQL schema and its migrations (applied under an advisory lock, so nodes may
//! start together), SQL generated from the search IR, the connection pool and the
//! per-transaction locking that keeps writers on different nodes from contradicting each other.
//! Must not know: HTTP, FHIRPath, validation, scopes or consent (those arrive as
//! `RequestContext::access`).
//! Invariants: every statement is scoped by `tenant`; transactions run at READ COMMITTED and a
//! writer locks what it reads before deciding: `Transaction::current` locks the resource row (or,
//! for a resource that does not exist yet, its name), `Transaction::search` locks the searched
//! types, so a version number or a conditional create is decided once; `UNIQUE (rid, version)`
//! still rejects a duplicate (`VersionConflict`). A transaction dropped without `commit` is
//! rolled back before its connection is reused. Bodies are `TEXT`, served byte for byte, and
//! every text column is `COLLATE "C"` so ordering and prefix ranges are bytewise, as in SQLite.

mod analyze;
mod connection;
mod history;
mod query;
mod read;
mod schema;
mod search;
mod transaction;
mod value;
mod write;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fhir_search::SearchQuery;
use store::{HistoryPage, HistoryQuery, RequestContext, SearchPage, Store, StoreError, StoredResource, Transaction};

use crate::analyze::Analyzer;
use crate::connection::backend;
use crate::transaction::PostgresTransaction;

#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://user@host:port/database`.
    pub url: String,
    /// Connections kept open per node.
    pub pool_size: usize,
    /// Server-side limit for one statement (`statement_timeout`); `None` for the server default.
    pub statement_timeout: Option<Duration>,
}

impl PostgresConfig {
    pub fn new(url: &str) -> PostgresConfig {
        PostgresConfig { url: url.to_owned(), pool_size: 16, statement_timeout: Some(Duration::from_secs(30)) }
    }
}

pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    analyzer: Arc<Analyzer>,
}

impl PostgresStore {
    /// Connects, and creates or migrates the schema.
    pub async fn open(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let pool = connection::pool(&config)?;
        let mut client = connection::get(&pool).await?;
        schema::migrate(&mut client).await?;
        Ok(PostgresStore { pool, analyzer: Arc::default() })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn read(&self, ctx: &RequestContext, resource_type: &str, id: &str) -> Result<StoredResource, StoreError> {
        let client = connection::get(&self.pool).await?;
        read::current(&client, ctx.tenant.as_str(), resource_type, id).await
    }

    async fn vread(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        version: u64,
    ) -> Result<StoredResource, StoreError> {
        let client = connection::get(&self.pool).await?;
        read::version(&client, ctx.tenant.as_str(), resource_type, id, version).await
    }

    async fn history(&self, ctx: &RequestContext, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let client = connection::get(&self.pool).await?;
        history::page(&client, ctx.tenant.as_str(), query).await
    }

    async fn search(&self, ctx: &RequestContext, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        let client = connection::get(&self.pool).await?;
        search::page(&client, ctx.tenant.as_str(), query).await
    }

    async fn begin(&self, ctx: &RequestContext) -> Result<Box<dyn Transaction>, StoreError> {
        let client = connection::get(&self.pool).await?;
        let analyzer = (Arc::clone(&self.analyzer), self.pool.clone());
        Ok(Box::new(PostgresTransaction::begin(client, ctx, analyzer).await?))
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let client = connection::get(&self.pool).await?;
        client.simple_query("SELECT 1").await.map_err(backend)?;
        Ok(())
    }
}
