//! A write transaction: one member of a commit group on the single writer connection (see
//! `group`).

use std::sync::Arc;

use async_trait::async_trait;
use fhir_search::SearchQuery;
use rusqlite::Connection;
use store::{RequestContext, StoreError, StoredResource, Timestamp, Transaction, WriteVersion};
use tokio::sync::OwnedMutexGuard;

use crate::connection::blocking;
use crate::group::{Writer, WriterState};
use crate::{read, search, write};

pub(crate) struct SqliteTransaction {
    writer: Arc<Writer>,
    /// `None` only while a blocking call has the connection, or after commit.
    state: Option<OwnedMutexGuard<WriterState>>,
    /// Whether the member's savepoint is open. It opens with the first statement, in the same
    /// trip to the blocking pool: every trip is time the writer is held and no one else writes.
    begun: bool,
    tenant: String,
    now: Timestamp,
}

impl SqliteTransaction {
    pub(crate) async fn begin(writer: Arc<Writer>, ctx: &RequestContext) -> Result<SqliteTransaction, StoreError> {
        let state = writer.acquire().await;
        Ok(SqliteTransaction { writer, state: Some(state), begun: false, tenant: ctx.tenant.0.clone(), now: ctx.now })
    }

    async fn with_state<T, F>(&mut self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterState) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = self.state.take().ok_or_else(|| StoreError::Backend("transaction is closed".to_owned()))?;
        let begun = self.begun;
        let (guard, begun, result) = blocking(move || {
            if !begun && let Err(error) = guard.begin_member() {
                return Ok((guard, false, Err(error)));
            }
            let result = work(&mut guard);
            Ok((guard, true, result))
        })
        .await?;
        self.state = Some(guard);
        self.begun = begun;
        result
    }

    async fn with_conn<T, F>(&mut self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_state(move |state| work(&mut state.conn)).await
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
        if !self.begun {
            // Nothing was written: there is nothing to commit.
            self.state = None;
            return Ok(());
        }
        let writer = Arc::clone(&self.writer);
        let group = self.with_state(move |state| writer.commit_member(state)).await;
        // Gives the writer to the next transaction before waiting for this one's group (a member
        // that failed to release its savepoint has been undone already).
        self.state = None;
        self.writer.wait_durable(group?).await
    }
}

impl Drop for SqliteTransaction {
    fn drop(&mut self) {
        if let Some(state) = self.state.take()
            && self.begun
        {
            self.writer.abandon_member(state);
        }
    }
}
