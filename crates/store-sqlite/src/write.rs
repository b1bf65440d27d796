//! Writing a version: the version row, the current pointer, and the index rows, in the caller's
//! transaction.

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
    // A first version needs no lookup (see `WriteVersion::is_first`): a create costs one descent
    // of the `(tenant, type, id)` index, not two.
    let existing: Option<(i64, i64)> = if write.is_first() {
        None
    } else {
        conn.prepare_cached("SELECT rid, version FROM resource WHERE tenant = ?1 AND type = ?2 AND id = ?3")
            .map_err(backend)?
            .query_row((tenant, &write.resource_type, &write.id), |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
            .map_err(backend)?
    };
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
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO resource (tenant, type, id, version, last_updated, deleted) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend)?
                .execute((tenant, &write.resource_type, &write.id, version, now.micros(), deleted));
            match inserted {
                Ok(_) => conn.last_insert_rowid(),
                Err(error) if is_constraint_violation(&error) => return Err(conflict()),
                Err(error) => return Err(backend(error)),
            }
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
        Err(error) if is_constraint_violation(&error) => return Err(conflict()),
        Err(error) => return Err(backend(error)),
    }
    if existing.is_some() {
        clear_index(conn, rid)?;
    }
    insert_index(conn, tenant, rid, &write)?;
    Ok(write.stored(now))
}

fn is_constraint_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// The index tables, each cleared for the resource before its new rows go in.
const INDEX_TABLES: [&str; 9] = [
    "search_token",
    "search_string",
    "search_date",
    "search_date_envelope",
    "search_number",
    "search_quantity",
    "search_reference",
    "search_uri",
    "search_composite",
];

/// Rewrites the index rows of `resource_type/id` if its current version is `version`.
pub(crate) fn reindex(
    conn: &Connection,
    tenant: &str,
    resource_type: &str,
    id: &str,
    version: u64,
    index: &fhir_search::IndexEntries,
) -> Result<bool, StoreError> {
    let current: Option<(i64, i64, i64)> = conn
        .prepare_cached("SELECT rid, version, deleted FROM resource WHERE tenant = ?1 AND type = ?2 AND id = ?3")
        .map_err(backend)?
        .query_row((tenant, resource_type, id), |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()
        .map_err(backend)?;
    let Some((rid, current, 0)) = current else { return Ok(false) };
    if u64::try_from(current).ok() != Some(version) {
        return Ok(false);
    }
    let write = WriteVersion {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
        version,
        method: store::Method::Put,
        body: None,
        index: index.clone(),
    };
    replace_index(conn, tenant, rid, &write)?;
    Ok(true)
}

fn replace_index(conn: &Connection, tenant: &str, rid: i64, write: &WriteVersion) -> Result<(), StoreError> {
    clear_index(conn, rid)?;
    insert_index(conn, tenant, rid, write)
}

/// Removes a resource's rows from every index table (a new resource has none: skip it).
fn clear_index(conn: &Connection, rid: i64) -> Result<(), StoreError> {
    for table in INDEX_TABLES {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE rid = ?1"))
            .map_err(backend)?
            .execute([rid])
            .map_err(backend)?;
    }
    Ok(())
}

fn insert_index(conn: &Connection, tenant: &str, rid: i64, write: &WriteVersion) -> Result<(), StoreError> {
    let kind = &write.resource_type;
    let index = &write.index;
    let insert = |sql: &str| conn.prepare_cached(sql).map_err(backend);
    let mut stmt = insert(
        "INSERT INTO search_token (rid, tenant, type, param, system, code, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for t in &index.tokens {
        let text = t.text.as_deref().map(fhir_search::normalize);
        stmt.execute((rid, tenant, kind, &t.param, &t.system, &t.code, text)).map_err(backend)?;
    }
    let mut stmt = insert(
        "INSERT INTO search_string (rid, tenant, type, param, normalized, exact) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for s in &index.strings {
        stmt.execute((rid, tenant, kind, &s.param, &s.normalized, &s.exact)).map_err(backend)?;
    }
    let mut stmt =
        insert("INSERT INTO search_date (rid, tenant, type, param, low, high) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for d in &index.dates {
        stmt.execute((rid, tenant, kind, &d.param, d.low, d.high)).map_err(backend)?;
    }
    let mut stmt = insert(
        "INSERT INTO search_date_envelope (rid, tenant, type, param, low, high, span) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in fhir_search::envelopes(&index.dates) {
        stmt.execute((rid, tenant, kind, &e.param, e.low, e.high, e.span_class)).map_err(backend)?;
    }
    let mut stmt = insert(
        "INSERT INTO search_number (rid, tenant, type, param, value, low, high) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for n in &index.numbers {
        stmt.execute((rid, tenant, kind, &n.param, n.value, n.low, n.high)).map_err(backend)?;
    }
    let mut stmt = insert(
        "INSERT INTO search_quantity (rid, tenant, type, param, system, code, value, low, high) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for q in &index.quantities {
        stmt.execute((rid, tenant, kind, &q.param, &q.system, &q.code, q.value, q.low, q.high)).map_err(backend)?;
    }
    let mut stmt = insert(
        "INSERT INTO search_reference (rid, tenant, type, param, target_type, target_id, url, identifier_system, identifier_value) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in &index.references {
        let row = (
            rid,
            tenant,
            kind,
            &r.param,
            &r.target_type,
            &r.target_id,
            &r.url,
            &r.identifier_system,
            &r.identifier_value,
        );
        stmt.execute(row).map_err(backend)?;
    }
    let mut stmt = insert("INSERT INTO search_uri (rid, tenant, type, param, uri) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for u in &index.uris {
        stmt.execute((rid, tenant, kind, &u.param, &u.uri)).map_err(backend)?;
    }
    composites(conn, tenant, rid, write)?;
    Ok(())
}

/// Composite rows, laid out by `search_sql::CompositeColumns`.
fn composites(conn: &Connection, tenant: &str, rid: i64, write: &WriteVersion) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO search_composite (rid, tenant, type, param, c0_system, c0_code, c1_system, c1_code, c1_value, \
             c1_low, c1_high, c1_text, c2_value, c2_low, c2_high) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .map_err(backend)?;
    for entry in &write.index.composites {
        let c = search_sql::CompositeColumns::of(entry);
        let row = rusqlite::params![
            rid,
            tenant,
            write.resource_type,
            entry.param,
            c.c0_system,
            c.c0_code,
            c.c1_system,
            c.c1_code,
            c.c1_value,
            c.c1_low,
            c.c1_high,
            c.c1_text,
            c.c2_value,
            c.c2_low,
            c.c2_high
        ];
        stmt.execute(row).map_err(backend)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use store::{Method, StoreError, Timestamp, WriteVersion};

    use crate::connection::backend;

    fn patient(id: &str, version: u64) -> WriteVersion {
        WriteVersion {
            resource_type: "Patient".into(),
            id: id.into(),
            version,
            method: Method::Put,
            body: Some(format!(r#"{{"resourceType":"Patient","id":"{id}"}}"#)),
            index: fhir_search::IndexEntries::default(),
        }
    }

    /// A first version is written without looking the resource up: the unique key must still
    /// refuse it when the resource exists, and leave the existing one as it was.
    #[test]
    fn a_first_version_of_an_existing_resource_conflicts() -> Result<(), StoreError> {
        let mut conn = rusqlite::Connection::open_in_memory().map_err(backend)?;
        crate::schema::migrate(&mut conn)?;
        let now = Timestamp::from_micros(1_700_000_000_000_000);
        super::write_version(&conn, "t", now, patient("p1", 1))?;
        super::write_version(&conn, "t", now, patient("p1", 2))?;
        let again = super::write_version(&conn, "t", now, patient("p1", 1));
        assert!(matches!(again, Err(StoreError::VersionConflict { version: 1, .. })), "{again:?}");
        let current: i64 = conn
            .query_row("SELECT version FROM resource WHERE tenant = 't' AND id = 'p1'", [], |row| row.get(0))
            .map_err(backend)?;
        assert_eq!(current, 2);
        super::write_version(&conn, "other", now, patient("p1", 1))?;
        Ok(())
    }
}
