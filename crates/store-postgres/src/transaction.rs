//! A write transaction on one pooled connection, at READ COMMITTED with explicit locks:
//!
//! - `current` locks the resource row (`FOR UPDATE`); for a resource that does not exist yet it
//!   first takes a transaction advisory lock on its name, so two creates of one id serialize.
//!   Whatever version the caller then decides on cannot be taken by another writer first.
//! - `search` (conditional create/update/delete, conditional references) takes an advisory lock
//!   per searched type, so two conditional creates racing on different nodes run one after the
//!   other and the second sees the first's resource (each READ COMMITTED statement sees what was
//!   committed before it started).
//! - `UNIQUE (rid, version)` and `UNIQUE (tenant, type, id)` remain the last word
//!   (`VersionConflict`); deadlocks and serialization failures are `Unavailable` (retry).

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{ClientWrapper, Object, Pool};
use fhir_search::SearchQuery;
use store::{RequestContext, StoreError, StoredResource, Timestamp, Transaction, WriteVersion};

use crate::analyze::Analyzer;
use crate::connection::{backend, prepared};
use crate::write::LockedRows;
use crate::{read, search, write};

pub(crate) struct PostgresTransaction {
    /// `None` after commit.
    client: Option<Object>,
    tenant: String,
    now: Timestamp,
    /// Versions written, reported on commit so statistics follow bulk loads.
    writes: u64,
    /// Rows `current` or a write locked, so a write after `current` skips the lock and lookup.
    locked: LockedRows,
    analyzer: (Arc<Analyzer>, Pool),
}

impl PostgresTransaction {
    pub(crate) async fn begin(
        client: Object,
        ctx: &RequestContext,
        analyzer: (Arc<Analyzer>, Pool),
    ) -> Result<PostgresTransaction, StoreError> {
        // A write's statements (`write.rs`) take arrays, so PostgreSQL's plan cache kept planning
        // them afresh for each array it saw: clearing an update's index rows spent 0.36 ms
        // planning for 0.13 ms of work. Their plans never depend on the values, so a write
        // transaction uses the cached generic plan. Searches outside transactions keep custom
        // plans, which follow how common the searched value is.
        client
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL plan_cache_mode = force_generic_plan")
            .await
            .map_err(backend)?;
        Ok(PostgresTransaction {
            client: Some(client),
            tenant: ctx.tenant.0.clone(),
            now: ctx.now,
            writes: 0,
            locked: LockedRows::new(),
            analyzer,
        })
    }

    fn client(&self) -> Result<&ClientWrapper, StoreError> {
        open(&self.client)
    }

    async fn lock(&self, parts: &[&str]) -> Result<(), StoreError> {
        let key = lock_key(parts);
        let client = self.client()?;
        let lock = prepared(client, "SELECT pg_advisory_xact_lock($1)").await?;
        client.execute(&lock, &[&key]).await.map_err(backend)?;
        Ok(())
    }
}

/// The connection of a transaction that has not ended (a field of its own, so a write can borrow
/// it beside the transaction's `locked` rows).
fn open(client: &Option<Object>) -> Result<&ClientWrapper, StoreError> {
    client.as_deref().ok_or_else(|| StoreError::Backend("transaction is closed".to_owned()))
}

/// A stable 64-bit key (FNV-1a) for an advisory lock on a name.
fn lock_key(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[async_trait]
impl Transaction for PostgresTransaction {
    async fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<StoredResource>, StoreError> {
        const LOCK_ROW: &str = "SELECT rid FROM resource WHERE tenant = $1 AND type = $2 AND id = $3 FOR UPDATE";
        let tenant = self.tenant.clone();
        let client = self.client()?;
        // Lock and read in one statement. If another writer changed the row while we waited for
        // its lock, PostgreSQL rechecks the join against the new row with the version row it
        // had already read, which no longer matches: no row comes back, and the path below
        // locks and reads again. A row that does come back is locked and current.
        let lock_and_read = prepared(
            client,
            &format!(
                "SELECT r.rid, {} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
                 WHERE r.tenant = $1 AND r.type = $2 AND r.id = $3 FOR UPDATE OF r",
                read::VERSION_COLUMNS
            ),
        )
        .await?;
        let row = client.query_opt(&lock_and_read, &[&tenant, &resource_type, &id]).await.map_err(backend)?;
        let (rid, stored) = match row {
            Some(row) => (Some(row.try_get::<_, i64>(0).map_err(backend)?), Some(read::stored_from_row(&row, 1)?)),
            None => {
                // The resource does not exist yet (its name is locked so two creates of one id
                // serialize), or it changed while we waited.
                self.lock(&["resource", &tenant, resource_type, id]).await?;
                let client = self.client()?;
                let lock_row = prepared(client, LOCK_ROW).await?;
                let locked = client.query_opt(&lock_row, &[&tenant, &resource_type, &id]).await.map_err(backend)?;
                let rid = locked.map(|row| row.try_get::<_, i64>(0)).transpose().map_err(backend)?;
                // A new statement: it sees the version committed by whoever held the lock before us.
                (rid, read::current_any(client, &tenant, resource_type, id).await?)
            }
        };
        if let (Some(rid), Some(stored)) = (rid, &stored) {
            let version = i64::try_from(stored.version).unwrap_or(i64::MAX);
            self.locked.insert((resource_type.to_owned(), id.to_owned()), (rid, version));
        }
        Ok(stored)
    }

    async fn search(&mut self, query: &SearchQuery) -> Result<Vec<StoredResource>, StoreError> {
        let mut types: Vec<&str> = query.types.iter().map(String::as_str).collect();
        types.sort_unstable();
        types.dedup();
        for resource_type in types {
            self.lock(&["search", &self.tenant, resource_type]).await?;
        }
        Ok(search::page(self.client()?, &self.tenant, query).await?.resources)
    }

    async fn write(&mut self, version: WriteVersion) -> Result<StoredResource, StoreError> {
        let client = open(&self.client)?;
        let stored = write::write_versions(client, &self.tenant, self.now, vec![version], &mut self.locked).await?;
        self.writes += 1;
        stored.into_iter().next().ok_or_else(|| StoreError::Backend("the write returned nothing".to_owned()))
    }

    async fn write_all(&mut self, versions: Vec<WriteVersion>) -> Result<Vec<StoredResource>, StoreError> {
        let client = open(&self.client)?;
        let stored = write::write_versions(client, &self.tenant, self.now, versions, &mut self.locked).await?;
        self.writes += stored.len() as u64;
        Ok(stored)
    }

    async fn replace_index(
        &mut self,
        resource_type: &str,
        id: &str,
        version: u64,
        index: fhir_search::IndexEntries,
    ) -> Result<bool, StoreError> {
        write::reindex(self.client()?, &self.tenant, resource_type, id, version, index).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let client = self.client.take().ok_or_else(|| StoreError::Backend("transaction is closed".to_owned()))?;
        match client.batch_execute("COMMIT").await {
            Ok(()) => {
                let (analyzer, pool) = &self.analyzer;
                analyzer.committed(pool, self.writes);
                Ok(())
            }
            Err(error) => {
                // The connection's state is unknown: keep it out of the pool.
                drop(deadpool_postgres::Object::take(client));
                Err(backend(error))
            }
        }
    }
}

impl Drop for PostgresTransaction {
    /// Rolls back on a spawned task before the connection returns to the pool; without a runtime
    /// the connection is closed instead (the server rolls back).
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = client.batch_execute("ROLLBACK").await {
                        tracing::warn!(%error, "rollback of an abandoned transaction failed");
                        drop(deadpool_postgres::Object::take(client));
                    }
                });
            }
            Err(_) => drop(deadpool_postgres::Object::take(client)),
        }
    }
}
