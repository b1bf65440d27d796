//! Reads by id and by version.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row};
use store::{Method, StoreError, StoredResource, Timestamp};

use crate::connection::backend;

/// Maps `(type, id, version, last_updated, method, body)` columns starting at `offset`.
pub(crate) fn stored_from_row(row: &Row<'_>, offset: usize) -> rusqlite::Result<StoredResource> {
    let version: i64 = row.get(offset + 2)?;
    let method: String = row.get(offset + 4)?;
    let body: Option<String> = row.get(offset + 5)?;
    Ok(StoredResource {
        resource_type: row.get(offset)?,
        id: row.get(offset + 1)?,
        version: u64::try_from(version).unwrap_or(0),
        last_updated: Timestamp::from_micros(row.get(offset + 3)?),
        method: Method::parse(&method),
        body: body.map(Arc::from),
    })
}

pub(crate) const VERSION_COLUMNS: &str = "v.type, v.id, v.version, v.last_updated, v.method, v.body";

/// The current version, or `None` if the resource never existed (a deletion is returned).
pub(crate) fn current_any(
    conn: &Connection,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<Option<StoredResource>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
         WHERE r.tenant = ?1 AND r.type = ?2 AND r.id = ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    stmt.query_row((tenant, resource_type, id), |row| stored_from_row(row, 0)).optional().map_err(backend)
}

pub(crate) fn current(
    conn: &Connection,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<StoredResource, StoreError> {
    match current_any(conn, tenant, resource_type, id)? {
        None => Err(StoreError::NotFound { resource_type: resource_type.to_owned(), id: id.to_owned() }),
        Some(stored) if stored.is_deleted() => Err(StoreError::Deleted {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            version: stored.version,
        }),
        Some(stored) => Ok(stored),
    }
}

pub(crate) fn version(
    conn: &Connection,
    tenant: &str,
    resource_type: &str,
    id: &str,
    version: u64,
) -> Result<StoredResource, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid \
         WHERE r.tenant = ?1 AND r.type = ?2 AND r.id = ?3 AND v.version = ?4"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let wanted = i64::try_from(version).unwrap_or(i64::MAX);
    let found = stmt
        .query_row((tenant, resource_type, id, wanted), |row| stored_from_row(row, 0))
        .optional()
        .map_err(backend)?;
    match found {
        Some(stored) => Ok(stored),
        None if current_any(conn, tenant, resource_type, id)?.is_none() => {
            Err(StoreError::NotFound { resource_type: resource_type.to_owned(), id: id.to_owned() })
        }
        None => {
            Err(StoreError::VersionNotFound { resource_type: resource_type.to_owned(), id: id.to_owned(), version })
        }
    }
}
