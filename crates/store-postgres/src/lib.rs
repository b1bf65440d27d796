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
//! With a read replica, searches and type/system history read from it; everything that must see
//! the caller's own writes (reads by id, vread, instance history, anything inside a transaction)
//! reads from the primary.

mod analyze;
mod backup;
mod connection;
mod history;
mod index_rows;
mod read;
mod schema;
mod search;
mod tls;
mod transaction;
mod value;
mod write;

pub use backup::{backup, restore};

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fhir_search::SearchQuery;
use store::{
    HistoryPage, HistoryQuery, HistoryScope, RequestContext, SearchPage, Store, StoreError, StoredResource, Transaction,
};

use crate::analyze::Analyzer;
use crate::connection::{Role, backend};
use crate::transaction::PostgresTransaction;

/// Connections per pool unless configured: enough to keep a few cores of PostgreSQL busy while
/// requests wait on the network, few enough not to thrash them (see ARCHITECTURE.md, PostgreSQL).
pub const DEFAULT_POOL_SIZE: usize = 16;

#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://user@host:port/database`.
    pub url: String,
    /// Connections kept open per node (and as many again to the read replica, if any).
    pub pool_size: usize,
    /// Server-side limit for one statement (`statement_timeout`); `None` for the server default,
    /// zero for none.
    pub statement_timeout: Option<Duration>,
    /// A streaming replica of `url` for searches and type/system history; never migrated.
    pub read_replica: Option<String>,
}

impl PostgresConfig {
    pub fn new(url: &str) -> PostgresConfig {
        PostgresConfig {
            url: url.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
            statement_timeout: Some(Duration::from_secs(30)),
            read_replica: None,
        }
    }
}

pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    /// The read replica's pool, for searches and type/system history.
    replica: Option<deadpool_postgres::Pool>,
    analyzer: Arc<Analyzer>,
}

impl PostgresStore {
    /// Connects, creates or migrates the schema, and checks the read replica's schema.
    pub async fn open(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let pool = connection::pool(&config, &config.url, Role::Primary)?;
        let mut client = connection::get(&pool).await?;
        schema::migrate(&mut client).await?;
        analyze::check_autovacuum(&client).await?;
        let analyzer = Arc::new(Analyzer::holding(analyze::versions_estimate(&client).await?));
        let replica = match &config.read_replica {
            None => None,
            Some(url) => {
                let server = connection::describe(&connection::parse_url(url)?.0);
                let replica = connection::pool(&config, url, Role::Replica)?;
                let client = connection::get(&replica).await.map_err(|e| {
                    StoreError::Unavailable(format!("cannot connect to the read replica {server}: {e}"))
                })?;
                schema::check_replica(&client, &server).await?;
                Some(replica)
            }
        };
        Ok(PostgresStore { pool, replica, analyzer })
    }

    /// Where listings (searches, type and system history) run: the replica if there is one.
    fn listing_pool(&self) -> &deadpool_postgres::Pool {
        self.replica.as_ref().unwrap_or(&self.pool)
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
        // Instance history is a read of one resource, like vread: it must show the caller's own
        // write at once, so it stays on the primary. Type and system history are listings, which
        // a replica may serve a moment late, as it serves searches.
        let pool = match query.scope {
            HistoryScope::Instance { .. } => &self.pool,
            HistoryScope::Type(_) | HistoryScope::System => self.listing_pool(),
        };
        let client = connection::get(pool).await?;
        history::page(&client, ctx.tenant.as_str(), query).await
    }

    async fn search(&self, ctx: &RequestContext, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        let client = connection::get(self.listing_pool()).await?;
        search::page(&client, ctx.tenant.as_str(), query).await
    }

    async fn begin(&self, ctx: &RequestContext) -> Result<Box<dyn Transaction>, StoreError> {
        let client = connection::get(&self.pool).await?;
        let analyzer = (Arc::clone(&self.analyzer), self.pool.clone());
        Ok(Box::new(PostgresTransaction::begin(client, ctx, analyzer).await?))
    }

    async fn ready(&self) -> Result<(), StoreError> {
        for pool in std::iter::once(&self.pool).chain(&self.replica) {
            let client = connection::get(pool).await?;
            client.simple_query("SELECT 1").await.map_err(backend)?;
        }
        Ok(())
    }
}
