//! The one error type of the storage layer. It names what went wrong, never an HTTP status:
//! `fhir-rest/src/error.rs` maps it.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource_type}/{id} was not found")]
    NotFound { resource_type: String, id: String },
    #[error("{resource_type}/{id} version {version} was not found")]
    VersionNotFound { resource_type: String, id: String, version: u64 },
    #[error("{resource_type}/{id} was deleted")]
    Deleted { resource_type: String, id: String, version: u64 },
    /// Another writer created this version first (optimistic concurrency, uniqueness).
    #[error("{resource_type}/{id} version {version} already exists")]
    VersionConflict { resource_type: String, id: String, version: u64 },
    #[error("the search cursor is invalid or expired")]
    InvalidCursor,
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Backend(String),
}
