//! store-sqlite: the embedded default backend (one SQLite file in WAL mode).
//!
//! Owns: the SQLite schema and its migrations, SQL generated from the search IR, the single
//! writer connection and a pool of reader connections.
//! Must not know: HTTP, FHIRPath, validation, scopes or consent (those arrive as
//! `RequestContext::access`).
//! Invariants: every statement is scoped by `tenant`; one writer at a time (SQLite has one), so a
//! version number read inside a transaction cannot be taken by another writer before commit;
//! transactions that queue for the writer share one `COMMIT` (`group`), and none is acknowledged
//! before its group is durable; `synchronous=FULL` by default, so an acknowledged write survives
//! a crash.

mod backup;
mod checkpoint;
mod connection;
mod group;
mod history;
mod read;
mod schema;
mod search;
mod transaction;
mod write;
mod writer_cache;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use fhir_search::SearchQuery;
use store::{HistoryPage, HistoryQuery, RequestContext, SearchPage, Store, StoreError, StoredResource, Transaction};

pub use crate::backup::{backup, restore};
use crate::connection::{ReaderPool, Work, blocking, open_connection};
use crate::transaction::SqliteTransaction;

/// How hard a commit pushes data to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit (`synchronous=FULL`): survives power loss.
    Full,
    /// WAL `synchronous=NORMAL`: survives a process crash, not a power loss. For benchmarks only.
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub path: PathBuf,
    pub durability: Durability,
    pub readers: usize,
}

pub struct SqliteStore {
    writer: Arc<group::Writer>,
    readers: Arc<ReaderPool>,
    _checkpointer: checkpoint::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database file.
    pub async fn open(config: SqliteConfig) -> Result<SqliteStore, StoreError> {
        let path = config.path.clone();
        let durability = config.durability;
        // The writer never fsyncs inside a commit; `group` does it after giving the writer back.
        let (writer, cache) = blocking(move || {
            let mut conn = open_connection(&path, Durability::Normal)?;
            schema::migrate(&mut conn)?;
            conn.pragma_update(None, "wal_autocheckpoint", checkpoint::WRITER_BACKSTOP_PAGES)
                .map_err(connection::backend)?;
            let cache = writer_cache::WriterCache::fit(&conn)?;
            conn.pragma_update(None, "mmap_size", connection::WRITER_MMAP_BYTES).map_err(connection::backend)?;
            Ok((conn, cache))
        })
        .await?;
        let checkpointer = checkpoint::Checkpointer::start(config.path.clone(), durability);
        let fsync_log = (durability == Durability::Full).then(|| {
            let mut log = config.path.clone().into_os_string();
            log.push("-wal");
            PathBuf::from(log)
        });
        let readers = ReaderPool::new(config.path, config.readers.max(1));
        Ok(SqliteStore {
            writer: Arc::new(group::Writer::new(writer, cache, fsync_log)),
            readers: Arc::new(readers),
            _checkpointer: checkpointer,
        })
    }

    pub fn path(&self) -> &Path {
        self.readers.path()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self, ctx: &RequestContext, resource_type: &str, id: &str) -> Result<StoredResource, StoreError> {
        let (tenant, resource_type, id) = (ctx.tenant.0.clone(), resource_type.to_owned(), id.to_owned());
        self.readers.run(Work::Point, move |conn| read::current(conn, &tenant, &resource_type, &id)).await
    }

    async fn vread(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        version: u64,
    ) -> Result<StoredResource, StoreError> {
        let (tenant, resource_type, id) = (ctx.tenant.0.clone(), resource_type.to_owned(), id.to_owned());
        self.readers.run(Work::Point, move |conn| read::version(conn, &tenant, &resource_type, &id, version)).await
    }

    async fn history(&self, ctx: &RequestContext, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let (tenant, query) = (ctx.tenant.0.clone(), query.clone());
        self.readers.run(Work::Scan, move |conn| history::page(conn, &tenant, &query)).await
    }

    async fn search(&self, ctx: &RequestContext, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        let (tenant, query) = (ctx.tenant.0.clone(), query.clone());
        self.readers.run(Work::Scan, move |conn| search::page(conn, &tenant, &query)).await
    }

    async fn begin(&self, ctx: &RequestContext) -> Result<Box<dyn Transaction>, StoreError> {
        let tx = SqliteTransaction::begin(Arc::clone(&self.writer), ctx).await?;
        Ok(Box::new(tx))
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.readers
            .run(Work::Point, |conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(connection::backend))
            .await
    }
}
