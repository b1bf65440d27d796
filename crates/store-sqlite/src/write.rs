//! Writing a version: the version row, the current pointer, and the index rows, in the caller's
//! transaction.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};
use store::{StoreError, StoredResource, Timestamp, WriteVersion};

use crate::connection::backend;

pub(crate) fn write_version(
    conn: &Connection,
    tenant: &str,
    now: Timestamp,
    write: WriteVersion,
) -> Result<StoredResource, StoreError> {
    let conflict = || StoreError::VersionConflict {
        resource_type: write.resource_type.clone(),
        id: write.id.clone(),
        version: write.version,
    };
    let version = i64::try_from(write.version).map_err(|_| conflict())?;
    let existing: Option<(i64, i64)> = conn
        .prepare_cached("SELECT rid, version FROM resource WHERE tenant = ?1 AND type = ?2 AND id = ?3")
        .map_err(backend)?
        .query_row((tenant, &write.resource_type, &write.id), |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(backend)?;
    let deleted = i64::from(write.body.is_none());
    let rid = match existing {
        Some((_, current)) if current >= version => return Err(conflict()),
        Some((rid, _)) => {
            conn.prepare_cached("UPDATE resource SET version = ?2, last_updated = ?3, deleted = ?4 WHERE rid = ?1")
                .map_err(backend)?
                .execute((rid, version, now.micros(), deleted))
                .map_err(backend)?;
            rid
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO resource (tenant, type, id, version, last_updated, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(backend)?
            .execute((tenant, &write.resource_type, &write.id, version, now.micros(), deleted))
            .map_err(backend)?;
            conn.last_insert_rowid()
        }
    };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO resource_version (rid, tenant, type, id, version, last_updated, method, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(backend)?
        .execute((
            rid,
            tenant,
            &write.resource_type,
            &write.id,
            version,
            now.micros(),
            write.method.as_str(),
            &write.body,
        ));
    match inserted {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            return Err(conflict());
        }
        Err(error) => return Err(backend(error)),
    }
    replace_index(conn, tenant, rid, &write)?;
    Ok(StoredResource {
        resource_type: write.resource_type,
        id: write.id,
        version: write.version,
        last_updated: now,
        method: write.method,
        body: write.body.map(Arc::from),
    })
}

fn replace_index(conn: &Connection, tenant: &str, rid: i64, write: &WriteVersion) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM search_token WHERE rid = ?1").map_err(backend)?.execute([rid]).map_err(backend)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO search_token (rid, tenant, type, param, system, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(backend)?;
    for token in &write.index.tokens {
        insert
            .execute((rid, tenant, &write.resource_type, &token.param, &token.system, &token.code))
            .map_err(backend)?;
    }
    Ok(())
}
