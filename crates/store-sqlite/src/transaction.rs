//! A write transaction holding the single writer connection.

use async_trait::async_trait;
use fhir_search::SearchQuery;
use rusqlite::Connection;
use store::{RequestContext, StoreError, StoredResource, Timestamp, Transaction, WriteVersion};
use tokio::sync::OwnedMutexGuard;

use crate::connection::{backend, blocking};
use crate::{read, search, write};

pub(crate) struct SqliteTransaction {
    /// `None` only while a blocking call has the connection, or after commit.
    conn: Option<OwnedMutexGuard<Connection>>,
    tenant: String,
    now: Timestamp,
}

impl SqliteTransaction {
    pub(crate) async fn begin(
        guard: OwnedMutexGuard<Connection>,
        ctx: &RequestContext,
    ) -> Result<SqliteTransaction, StoreError> {
        let mut tx = SqliteTransaction { conn: Some(guard), tenant: ctx.tenant.0.clone(), now: ctx.now };
        tx.with_conn(|conn| {
            // A transaction abandoned by a failed task must not leak into this one.
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK").map_err(backend)?;
            }
            conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)
        })
        .await?;
        Ok(tx)
    }

    async fn with_conn<T, F>(&mut self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = self.conn.take().ok_or_else(|| StoreError::Backend("transaction is closed".to_owned()))?;
        let (guard, result) = blocking(move || {
            let result = work(&mut guard);
            Ok((guard, result))
        })
        .await?;
        self.conn = Some(guard);
        result
    }
}

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<StoredResource>, StoreError> {
        let (tenant, resource_type, id) = (self.tenant.clone(), resource_type.to_owned(), id.to_owned());
        self.with_conn(move |conn| read::current_any(conn, &tenant, &resource_type, &id)).await
    }

    async fn search(&mut self, query: &SearchQuery) -> Result<Vec<StoredResource>, StoreError> {
        let (tenant, query) = (self.tenant.clone(), query.clone());
        self.with_conn(move |conn| search::page(conn, &tenant, &query).map(|page| page.resources)).await
    }

    async fn write(&mut self, version: WriteVersion) -> Result<StoredResource, StoreError> {
        let (tenant, now) = (self.tenant.clone(), self.now);
        self.with_conn(move |conn| write::write_version(conn, &tenant, now, version)).await
    }

    async fn write_all(&mut self, versions: Vec<WriteVersion>) -> Result<Vec<StoredResource>, StoreError> {
        let (tenant, now) = (self.tenant.clone(), self.now);
        self.with_conn(move |conn| {
            versions.into_iter().map(|version| write::write_version(conn, &tenant, now, version)).collect()
        })
        .await
    }

    async fn replace_index(
        &mut self,
        resource_type: &str,
        id: &str,
        version: u64,
        index: fhir_search::IndexEntries,
    ) -> Result<bool, StoreError> {
        let (tenant, resource_type, id) = (self.tenant.clone(), resource_type.to_owned(), id.to_owned());
        self.with_conn(move |conn| write::reindex(conn, &tenant, &resource_type, &id, version, &index)).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.with_conn(|conn| conn.execute_batch("COMMIT").map_err(backend)).await?;
        self.conn = None;
        Ok(())
    }
}

impl Drop for SqliteTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.is_autocommit()
            && let Err(error) = conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(%error, "rollback of an abandoned transaction failed");
        }
    }
}
