//! History: versions newest first, paged by the global write sequence so pages stay stable while
//! new versions arrive.

use deadpool_postgres::ClientWrapper;
use store::{HistoryEntry, HistoryPage, HistoryQuery, HistoryScope, StoreError};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, current_any, stored_from_row};
use crate::value::{Value, typed};

pub(crate) async fn page(
    client: &ClientWrapper,
    tenant: &str,
    query: &HistoryQuery,
) -> Result<HistoryPage, StoreError> {
    let mut clauses = vec!["v.tenant = $1::text".to_owned()];
    let mut values = vec![Value::Text(tenant.to_owned())];
    match &query.scope {
        HistoryScope::System => {}
        HistoryScope::Type(resource_type) => {
            bind(&mut clauses, &mut values, "v.type = ?", Value::Text(resource_type.clone()))
        }
        HistoryScope::Instance { resource_type, id } => {
            if current_any(client, tenant, resource_type, id).await?.is_none() {
                return Err(StoreError::NotFound { resource_type: resource_type.clone(), id: id.clone() });
            }
            bind(&mut clauses, &mut values, "v.type = ?", Value::Text(resource_type.clone()));
            bind(&mut clauses, &mut values, "v.id = ?", Value::Text(id.clone()));
        }
    }
    if let Some(since) = query.since {
        bind(&mut clauses, &mut values, "v.last_updated >= ?", Value::Int(since.micros()));
    }
    if let Some(before) = query.before {
        bind(&mut clauses, &mut values, "v.last_updated < ?", Value::Int(before.micros()));
    }
    let total_sql = format!("SELECT COUNT(*) FROM resource_version v WHERE {}", clauses.join(" AND "));
    let total: i64 =
        client.query_typed_one(&total_sql, &typed(&values)).await.map_err(backend)?.try_get(0).map_err(backend)?;
    if let Some(cursor) = query.cursor {
        bind(&mut clauses, &mut values, "v.seq < ?", Value::Int(cursor));
    }
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let sql = format!(
        "SELECT v.seq, {VERSION_COLUMNS} FROM resource_version v WHERE {} ORDER BY v.seq DESC LIMIT {limit}",
        clauses.join(" AND ")
    );
    let rows = client.query_typed(&sql, &typed(&values)).await.map_err(backend)?;
    let mut entries = Vec::new();
    let mut next_cursor = None;
    for row in &rows {
        if entries.len() == query.count {
            next_cursor = entries.last().map(|e: &HistoryEntry| e.sequence);
            break;
        }
        let sequence: i64 = row.try_get(0).map_err(backend)?;
        entries.push(HistoryEntry { resource: stored_from_row(row, 1)?, sequence });
    }
    Ok(HistoryPage { entries, next_cursor, total: u64::try_from(total).ok() })
}

/// Adds a clause with one `?` placeholder bound to `value`.
fn bind(clauses: &mut Vec<String>, values: &mut Vec<Value>, sql: &str, value: Value) {
    let placeholder = format!("${}::{}", values.len() + 1, value.cast());
    values.push(value);
    clauses.push(sql.replace('?', &placeholder));
}
