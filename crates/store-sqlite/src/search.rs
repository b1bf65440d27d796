//! Running a search: one statement for the page (keyset paging), one for the total if asked.

use fhir_search::{SearchQuery, SortKey, TotalMode};
use rusqlite::Connection;
use rusqlite::types::Value;
use store::{SearchPage, StoreError};

use crate::connection::backend;
use crate::query::{Sql, order_columns};
use crate::read::{VERSION_COLUMNS, stored_from_row};

pub(crate) fn page(conn: &Connection, tenant: &str, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let mut sql = Sql::scoped(tenant, &query.resource_type);
    for filter in &query.filters {
        sql.filter(query, filter);
    }
    let total = match query.total {
        TotalMode::None => None,
        TotalMode::Estimate | TotalMode::Accurate => Some(count(conn, &sql)?),
    };
    if query.count == 0 {
        return Ok(SearchPage { resources: Vec::new(), next_cursor: None, total });
    }
    let columns = order_columns(&query.sort);
    if let Some(cursor) = &query.cursor {
        let keys = decode_cursor(cursor, query)?;
        let clause = keyset_clause(&mut sql, &columns, keys);
        sql.clauses.push(clause);
    }
    let order: Vec<String> =
        columns.iter().map(|(c, desc)| format!("{c} {}", if *desc { "DESC" } else { "ASC" })).collect();
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let statement = format!(
        "SELECT r.rid, {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
         WHERE {} ORDER BY {} LIMIT {limit}",
        sql.where_sql(),
        order.join(", ")
    );
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(sql.values.iter())).map_err(backend)?;
    let mut resources = Vec::new();
    let mut last_keys = None;
    let mut has_more = false;
    while let Some(row) = rows.next().map_err(backend)? {
        if resources.len() == query.count {
            has_more = true;
            break;
        }
        let rid: i64 = row.get(0).map_err(backend)?;
        let stored = stored_from_row(row, 1).map_err(backend)?;
        last_keys = Some(encode_cursor(query, &stored, rid));
        resources.push(stored);
    }
    let next_cursor = if has_more { last_keys } else { None };
    Ok(SearchPage { resources, next_cursor, total })
}

fn count(conn: &Connection, sql: &Sql) -> Result<u64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM resource r WHERE {}", sql.where_sql());
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let n: i64 = stmt.query_row(rusqlite::params_from_iter(sql.values.iter()), |row| row.get(0)).map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The cursor is the last row's sort key values and rid, `~`-separated (FHIR ids never contain `~`).
fn encode_cursor(query: &SearchQuery, stored: &store::StoredResource, rid: i64) -> String {
    let mut parts: Vec<String> = query
        .sort
        .iter()
        .map(|s| match s.key {
            SortKey::Id => stored.id.clone(),
            SortKey::LastUpdated => stored.last_updated.micros().to_string(),
        })
        .collect();
    parts.push(rid.to_string());
    parts.join("~")
}

fn decode_cursor(cursor: &str, query: &SearchQuery) -> Result<Vec<Value>, StoreError> {
    let parts: Vec<&str> = cursor.split('~').collect();
    if parts.len() != query.sort.len() + 1 {
        return Err(StoreError::InvalidCursor);
    }
    let mut values = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let value = match query.sort.get(i).map(|s| s.key) {
            Some(SortKey::Id) => Value::Text((*part).to_owned()),
            Some(SortKey::LastUpdated) | None => Value::Integer(part.parse().map_err(|_| StoreError::InvalidCursor)?),
        };
        values.push(value);
    }
    Ok(values)
}

/// Rows strictly after the cursor in the ORDER BY: `(a > x) OR (a = x AND b > y) OR ...`.
fn keyset_clause(sql: &mut Sql, columns: &[(&'static str, bool)], keys: Vec<Value>) -> String {
    let placeholders: Vec<String> = keys.into_iter().map(|k| sql.bind(k)).collect();
    let mut ors = Vec::new();
    for (i, (column, descending)) in columns.iter().enumerate() {
        let mut ands: Vec<String> =
            columns.iter().zip(&placeholders).take(i).map(|((c, _), p)| format!("{c} = {p}")).collect();
        let op = if *descending { "<" } else { ">" };
        if let Some(p) = placeholders.get(i) {
            ands.push(format!("{column} {op} {p}"));
        }
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}
