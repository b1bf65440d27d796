//! Reads by id and by version.

use std::sync::Arc;

use deadpool_postgres::ClientWrapper;
use store::{Method, StoreError, StoredResource, Timestamp};
use tokio_postgres::Row;

use crate::connection::{backend, prepared};

/// Maps `(type, id, version, last_updated, method, body)` columns starting at `offset`.
pub(crate) fn stored_from_row(row: &Row, offset: usize) -> Result<StoredResource, StoreError> {
    let version: i64 = row.try_get(offset + 2).map_err(backend)?;
    let method: String = row.try_get(offset + 4).map_err(backend)?;
    let body: Option<String> = row.try_get(offset + 5).map_err(backend)?;
    Ok(StoredResource {
        resource_type: row.try_get(offset).map_err(backend)?,
        id: row.try_get(offset + 1).map_err(backend)?,
        version: u64::try_from(version).unwrap_or(0),
        last_updated: Timestamp::from_micros(row.try_get(offset + 3).map_err(backend)?),
        method: Method::parse(&method),
        body: body.map(Arc::from),
    })
}

pub(crate) const VERSION_COLUMNS: &str = "v.type, v.id, v.version, v.last_updated, v.method, v.body";

/// The current version, or `None` if the resource never existed (a deletion is returned).
pub(crate) async fn current_any(
    client: &ClientWrapper,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<Option<StoredResource>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
         WHERE r.tenant = $1 AND r.type = $2 AND r.id = $3"
    );
    let statement = prepared(client, &sql).await?;
    let row = client.query_opt(&statement, &[&tenant, &resource_type, &id]).await.map_err(backend)?;
    row.map(|row| stored_from_row(&row, 0)).transpose()
}

pub(crate) async fn current(
    client: &ClientWrapper,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<StoredResource, StoreError> {
    match current_any(client, tenant, resource_type, id).await? {
        None => Err(StoreError::NotFound { resource_type: resource_type.to_owned(), id: id.to_owned() }),
        Some(stored) if stored.is_deleted() => Err(StoreError::Deleted {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            version: stored.version,
        }),
        Some(stored) => Ok(stored),
    }
}

pub(crate) async fn version(
    client: &ClientWrapper,
    tenant: &str,
    resource_type: &str,
    id: &str,
    version: u64,
) -> Result<StoredResource, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid \
         WHERE r.tenant = $1 AND r.type = $2 AND r.id = $3 AND v.version = $4"
    );
    let wanted = i64::try_from(version).unwrap_or(i64::MAX);
    let statement = prepared(client, &sql).await?;
    let found = client.query_opt(&statement, &[&tenant, &resource_type, &id, &wanted]).await.map_err(backend)?;
    match found {
        Some(row) => stored_from_row(&row, 0),
        None if current_any(client, tenant, resource_type, id).await?.is_none() => {
            Err(StoreError::NotFound { resource_type: resource_type.to_owned(), id: id.to_owned() })
        }
        None => {
            Err(StoreError::VersionNotFound { resource_type: resource_type.to_owned(), id: id.to_owned(), version })
        }
    }
}
