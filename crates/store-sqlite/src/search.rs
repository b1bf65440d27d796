//! Running a search: one statement for the page (keyset paging on the sort keys plus `rid`), one
//! for the total if asked, and indexed queries for `_include`/`_revinclude` over the page.

mod include;

use fhir_search::{SearchQuery, TotalMode};
use rusqlite::Connection;
use rusqlite::types::Value;
use store::{SearchPage, StoreError};

use crate::connection::backend;
use crate::query::Sql;
use crate::read::{VERSION_COLUMNS, stored_from_row};

pub(crate) fn page(conn: &Connection, tenant: &str, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let mut sql = Sql::scoped(tenant, &query.types);
    sql.date_windows(&query.types, &fhir_search::date_windows(&query.filters));
    for filter in &query.filters {
        sql.filter(&query.types, filter);
    }
    let total = match query.total {
        TotalMode::None => None,
        TotalMode::Estimate | TotalMode::Accurate => Some(count(conn, &sql)?),
    };
    if query.count == 0 {
        return Ok(SearchPage {
            resources: Vec::new(),
            next_cursor: None,
            total,
            included: Vec::new(),
            include_truncated: false,
        });
    }
    let mut keys: Vec<(String, bool)> = query.sort.iter().map(|s| (sql.sort_expression(s), s.descending)).collect();
    let last_descending = keys.last().is_some_and(|&(_, d)| d);
    keys.push(("r.rid".to_owned(), last_descending));
    if let Some(cursor) = &query.cursor {
        let values = decode_cursor(cursor, keys.len())?;
        let clause = keyset_clause(&mut sql, &keys, values);
        sql.clauses.push(clause);
    }
    let order: Vec<String> =
        keys.iter().map(|(k, desc)| format!("{k} {}", if *desc { "DESC" } else { "ASC" })).collect();
    let selected: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let statement = format!(
        "SELECT {}, {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
         WHERE {} ORDER BY {} LIMIT {limit}",
        selected.join(", "),
        sql.where_sql(),
        order.join(", ")
    );
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(sql.values.iter())).map_err(backend)?;
    let (mut resources, mut rids, mut last_keys, mut has_more) = (Vec::new(), Vec::new(), None, false);
    while let Some(row) = rows.next().map_err(backend)? {
        if resources.len() == query.count {
            has_more = true;
            break;
        }
        let mut values = Vec::with_capacity(keys.len());
        for i in 0..keys.len() {
            values.push(row.get::<_, Value>(i).map_err(backend)?);
        }
        if let Some(Value::Integer(rid)) = values.last() {
            rids.push(*rid);
        }
        resources.push(stored_from_row(row, keys.len()).map_err(backend)?);
        last_keys = Some(values);
    }
    drop(rows);
    let next_cursor = if has_more { last_keys.map(|v| encode_cursor(&v)) } else { None };
    let (included, include_truncated) = include::run(conn, tenant, query, &rids)?;
    Ok(SearchPage { resources, next_cursor, total, included, include_truncated })
}

fn count(conn: &Connection, sql: &Sql) -> Result<u64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM resource r WHERE {}", sql.where_sql());
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let n: i64 = stmt.query_row(rusqlite::params_from_iter(sql.values.iter()), |row| row.get(0)).map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The cursor is the last row's sort values and rid, as a JSON array of tagged values.
fn encode_cursor(values: &[Value]) -> String {
    let items: Vec<serde_json::Value> = values
        .iter()
        .map(|v| match v {
            Value::Integer(i) => serde_json::json!({"i": i}),
            Value::Real(r) => serde_json::json!({"r": r.to_string()}),
            Value::Text(t) => serde_json::json!({"t": t}),
            _ => serde_json::Value::Null,
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn decode_cursor(cursor: &str, expected: usize) -> Result<Vec<Value>, StoreError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(cursor).map_err(|_| StoreError::InvalidCursor)?;
    if items.len() != expected {
        return Err(StoreError::InvalidCursor);
    }
    items
        .iter()
        .map(|item| {
            if let Some(i) = item.get("i").and_then(serde_json::Value::as_i64) {
                Ok(Value::Integer(i))
            } else if let Some(r) = item.get("r").and_then(serde_json::Value::as_str).and_then(|r| r.parse().ok()) {
                Ok(Value::Real(r))
            } else if let Some(t) = item.get("t").and_then(serde_json::Value::as_str) {
                Ok(Value::Text(t.to_owned()))
            } else {
                Err(StoreError::InvalidCursor)
            }
        })
        .collect()
}

/// Rows strictly after the cursor in the ORDER BY: `(a > x) OR (a = x AND b > y) OR ...`.
fn keyset_clause(sql: &mut Sql, keys: &[(String, bool)], values: Vec<Value>) -> String {
    let placeholders: Vec<String> = values.into_iter().map(|k| sql.bind(k)).collect();
    let mut ors = Vec::new();
    for (i, (key, descending)) in keys.iter().enumerate() {
        let mut ands: Vec<String> =
            keys.iter().zip(&placeholders).take(i).map(|((k, _), p)| format!("{k} = {p}")).collect();
        let op = if *descending { "<" } else { ">" };
        if let Some(p) = placeholders.get(i) {
            ands.push(format!("{key} {op} {p}"));
        }
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}
