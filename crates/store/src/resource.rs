//! What the store keeps: versions of resources.

use std::sync::Arc;

use fhir_search::IndexEntries;

use crate::clock::Timestamp;

/// How a version came to be (shown in history bundles as `request.method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub fn parse(text: &str) -> Method {
        match text {
            "POST" => Method::Post,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Put,
        }
    }
}

/// One version of a resource as stored. `body` is the exact JSON text served to clients (it
/// already carries `meta.versionId` and `meta.lastUpdated`); `None` for a deletion.
#[derive(Debug, Clone)]
pub struct StoredResource {
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    pub last_updated: Timestamp,
    pub method: Method,
    pub body: Option<Arc<str>>,
}

impl StoredResource {
    pub fn is_deleted(&self) -> bool {
        self.body.is_none()
    }
}

/// A new version to write. The caller decided the version number (current + 1, or 1) inside the
/// same transaction; the backend rejects a duplicate with `StoreError::VersionConflict`.
#[derive(Debug)]
pub struct WriteVersion {
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    pub method: Method,
    /// Serialized resource, `None` to delete.
    pub body: Option<String>,
    /// Search index rows for the new current version (empty for a deletion).
    pub index: IndexEntries,
}

impl WriteVersion {
    /// Whether this is a resource's first version, which requires that the resource does not
    /// exist yet (a re-created resource continues its history at the next number). Backends
    /// write it without looking the resource up: their unique key on the resource's name is the
    /// check, and a violation is a `StoreError::VersionConflict`.
    pub fn is_first(&self) -> bool {
        self.version == 1
    }

    /// The version as stored, once written at `now`.
    pub fn stored(self, now: Timestamp) -> StoredResource {
        StoredResource {
            resource_type: self.resource_type,
            id: self.id,
            version: self.version,
            last_updated: now,
            method: self.method,
            body: self.body.map(Arc::from),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryScope {
    System,
    Type(String),
    Instance { resource_type: String, id: String },
}

#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub scope: HistoryScope,
    /// Only versions written at or after this time.
    pub since: Option<Timestamp>,
    /// Only versions written before this time (`_at` upper bound).
    pub before: Option<Timestamp>,
    pub count: usize,
    /// Opaque position from a previous page (`_cursor`): the last sequence number served.
    pub cursor: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub resource: StoredResource,
    /// The global write sequence number, newest first in a page.
    pub sequence: i64,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// Cursor for the next (older) page, when there is one.
    pub next_cursor: Option<i64>,
    pub total: Option<u64>,
}
