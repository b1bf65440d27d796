//! History: versions newest first, paged by the global write sequence so pages stay stable while
//! new versions arrive.

use rusqlite::Connection;
use rusqlite::types::Value;
use store::{HistoryEntry, HistoryPage, HistoryQuery, HistoryScope, StoreError};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, current_any, stored_from_row};

pub(crate) fn page(conn: &Connection, tenant: &str, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
    let mut clauses = vec!["v.tenant = ?1".to_owned()];
    let mut values = vec![Value::Text(tenant.to_owned())];
    match &query.scope {
        HistoryScope::System => {}
        HistoryScope::Type(resource_type) => {
            bind(&mut clauses, &mut values, "v.type = ?", Value::Text(resource_type.clone()))
        }
        HistoryScope::Instance { resource_type, id } => {
            if current_any(conn, tenant, resource_type, id)?.is_none() {
                return Err(StoreError::NotFound { resource_type: resource_type.clone(), id: id.clone() });
            }
            bind(&mut clauses, &mut values, "v.type = ?", Value::Text(resource_type.clone()));
            bind(&mut clauses, &mut values, "v.id = ?", Value::Text(id.clone()));
        }
    }
    if let Some(since) = query.since {
        bind(&mut clauses, &mut values, "v.last_updated >= ?", Value::Integer(since.micros()));
    }
    if let Some(before) = query.before {
        bind(&mut clauses, &mut values, "v.last_updated < ?", Value::Integer(before.micros()));
    }
    let total_sql = format!("SELECT COUNT(*) FROM resource_version v WHERE {}", clauses.join(" AND "));
    let total: i64 = conn
        .prepare_cached(&total_sql)
        .map_err(backend)?
        .query_row(rusqlite::params_from_iter(values.iter()), |row| row.get(0))
        .map_err(backend)?;
    if let Some(cursor) = query.cursor {
        bind(&mut clauses, &mut values, "v.seq < ?", Value::Integer(cursor));
    }
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let sql = format!(
        "SELECT v.seq, {VERSION_COLUMNS} FROM resource_version v WHERE {} ORDER BY v.seq DESC LIMIT {limit}",
        clauses.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter())).map_err(backend)?;
    let mut entries = Vec::new();
    let mut next_cursor = None;
    while let Some(row) = rows.next().map_err(backend)? {
        if entries.len() == query.count {
            next_cursor = entries.last().map(|e: &HistoryEntry| e.sequence);
            break;
        }
        let sequence: i64 = row.get(0).map_err(backend)?;
        entries.push(HistoryEntry { resource: stored_from_row(row, 1).map_err(backend)?, sequence });
    }
    Ok(HistoryPage { entries, next_cursor, total: u64::try_from(total).ok() })
}

/// Adds a clause with one `?` placeholder bound to `value`.
fn bind(clauses: &mut Vec<String>, values: &mut Vec<Value>, sql: &str, value: Value) {
    values.push(value);
    clauses.push(sql.replace('?', &format!("?{}", values.len())));
}
