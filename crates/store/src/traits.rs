//! The storage contract.

use async_trait::async_trait;
use fhir_search::SearchQuery;

use crate::context::RequestContext;
use crate::error::StoreError;
use crate::resource::{HistoryPage, HistoryQuery, StoredResource, WriteVersion};

/// One page of search results in the query's order.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub resources: Vec<StoredResource>,
    /// Opaque keyset cursor for the next page, when there is one.
    pub next_cursor: Option<String>,
    /// Set when the query asked for a total (`_total=accurate`, `_summary=count`).
    pub total: Option<u64>,
    /// Resources added by `_include`/`_revinclude` (never duplicates of a match).
    pub included: Vec<StoredResource>,
    /// More resources were to be included than `query.include_limit` allows.
    pub include_truncated: bool,
}

/// A storage backend. Reads see committed data only.
#[async_trait]
pub trait Store: Send + Sync {
    /// The current version; `Deleted` if the current version is a deletion.
    async fn read(&self, ctx: &RequestContext, resource_type: &str, id: &str) -> Result<StoredResource, StoreError>;

    /// A specific version (a deleted version is returned with `body: None`).
    async fn vread(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        version: u64,
    ) -> Result<StoredResource, StoreError>;

    async fn history(&self, ctx: &RequestContext, query: &HistoryQuery) -> Result<HistoryPage, StoreError>;

    async fn search(&self, ctx: &RequestContext, query: &SearchQuery) -> Result<SearchPage, StoreError>;

    /// Starts a write transaction. Writers are serialized per backend as it needs; the transaction
    /// sees its own writes.
    async fn begin(&self, ctx: &RequestContext) -> Result<Box<dyn Transaction>, StoreError>;

    /// Whether the backend can serve requests (`/readyz`).
    async fn ready(&self) -> Result<(), StoreError>;
}

/// A unit of work that commits atomically or leaves nothing behind (drop = roll back).
#[async_trait]
pub trait Transaction: Send {
    /// The current version, including a deletion (body `None`); `None` if it never existed.
    async fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<StoredResource>, StoreError>;

    /// Searches within the transaction (conditional create/update/delete, conditional
    /// references): returns the current matches, up to `query.count`.
    async fn search(&mut self, query: &SearchQuery) -> Result<Vec<StoredResource>, StoreError>;

    /// Writes a new version and makes it current, replacing its index rows.
    async fn write(&mut self, version: WriteVersion) -> Result<StoredResource, StoreError>;

    /// Writes several versions in order, exactly as `write` one by one would, stopping at the
    /// first error. Backends override it to save a round trip per resource.
    async fn write_all(&mut self, versions: Vec<WriteVersion>) -> Result<Vec<StoredResource>, StoreError> {
        let mut stored = Vec::with_capacity(versions.len());
        for version in versions {
            stored.push(self.write(version).await?);
        }
        Ok(stored)
    }

    /// Replaces the index rows of the current version, if it is still `version` (a reindex must
    /// not overwrite what a newer write indexed). Returns whether it did.
    async fn replace_index(
        &mut self,
        resource_type: &str,
        id: &str,
        version: u64,
        index: fhir_search::IndexEntries,
    ) -> Result<bool, StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
