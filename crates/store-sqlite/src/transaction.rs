//! A write transaction: one member of a commit group on the single writer connection (see
//! `group`).

use std::sync::Arc;

use async_trait::async_trait;
use fhir_search::SearchQuery;
use rusqlite::Connection;
use store::{RequestContext, StoreError, StoredResource, Timestamp, Transaction, WriteVersion};
use tokio::sync::OwnedMutexGuard;

use crate::connection::{self, Work};
use crate::group::{Writer, WriterState};
use crate::{read, search, write};

/// Writes up to this many versions count as `Work::Point`; a bundle's are `Work::Held`.
const SMALL_WRITE: usize = 8;

/// Where writing `versions` versions (or committing that many) runs.
fn write_cost(versions: usize) -> Work {
    if versions > SMALL_WRITE { Work::Held } else { Work::Point }
}

pub(crate) struct SqliteTransaction {
    writer: Arc<Writer>,
    /// `None` only while a call has the connection (it moves into the call, which may run on
    /// the blocking pool), or after commit.
    state: Option<OwnedMutexGuard<WriterState>>,
    /// Whether the member has begun (see `WriterState::begin_member`). It begins with the first
    /// statement, in the same call: the writer is held from `begin`, and a transaction that
    /// writes nothing needs no group.
    begun: bool,
    /// Versions written so far: how much the commit will have to write.
    written: usize,
    tenant: String,
    now: Timestamp,
}

impl SqliteTransaction {
    pub(crate) async fn begin(writer: Arc<Writer>, ctx: &RequestContext) -> Result<SqliteTransaction, StoreError> {
        let state = writer.acquire().await;
        let tenant = ctx.tenant.0.clone();
        Ok(SqliteTransaction { writer, state: Some(state), begun: false, written: 0, tenant, now: ctx.now })
    }

    /// Runs `work` on the writer connection, opening the member's savepoint first if this is
    /// its first statement.
    async fn with_state<T, F>(&mut self, cost: Work, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterState) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = self.state.take().ok_or_else(|| StoreError::Backend("transaction is closed".to_owned()))?;
        let begun = self.begun;
        let (guard, begun, result) = connection::run(cost, move || {
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

    async fn with_conn<T, F>(&mut self, cost: Work, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_state(cost, move |state| work(&mut state.conn)).await
    }
}

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<StoredResource>, StoreError> {
        let (tenant, resource_type, id) = (self.tenant.clone(), resource_type.to_owned(), id.to_owned());
        self.with_conn(Work::Point, move |conn| read::current_any(conn, &tenant, &resource_type, &id)).await
    }

    async fn search(&mut self, query: &SearchQuery) -> Result<Vec<StoredResource>, StoreError> {
        let (tenant, query) = (self.tenant.clone(), query.clone());
        self.with_conn(Work::Held, move |conn| search::page(conn, &tenant, &query).map(|page| page.resources)).await
    }

    async fn write(&mut self, version: WriteVersion) -> Result<StoredResource, StoreError> {
        let (tenant, now) = (self.tenant.clone(), self.now);
        self.written += 1;
        self.with_conn(Work::Point, move |conn| write::write_version(conn, &tenant, now, version)).await
    }

    async fn write_all(&mut self, versions: Vec<WriteVersion>) -> Result<Vec<StoredResource>, StoreError> {
        let (tenant, now) = (self.tenant.clone(), self.now);
        self.written += versions.len();
        self.with_conn(write_cost(versions.len()), move |conn| {
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
        self.with_conn(Work::Point, move |conn| write::reindex(conn, &tenant, &resource_type, &id, version, &index))
            .await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if !self.begun {
            // Nothing was written: there is nothing to commit.
            self.state = None;
            return Ok(());
        }
        let writer = Arc::clone(&self.writer);
        // The commit writes the group's changed pages to the log: as many as its writes touched.
        let group = self.with_state(write_cost(self.written), move |state| writer.commit_member(state)).await;
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
