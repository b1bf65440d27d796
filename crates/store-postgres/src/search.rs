//! Running a search: one statement for the page (keyset paging on the sort keys plus `rid`), one
//! for the total if asked, and indexed queries for `_include`/`_revinclude` over the page.

mod include;

use deadpool_postgres::ClientWrapper;
use fhir_search::{SearchQuery, TotalMode};
use store::{SearchPage, StoreError};

use crate::connection::backend;
use crate::query::{KeyKind, Sql};
use crate::read::{VERSION_COLUMNS, stored_from_row};
use crate::value::{Value, typed};

pub(crate) async fn page(client: &ClientWrapper, tenant: &str, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let mut sql = Sql::scoped(tenant, &query.types);
    sql.date_windows(&query.types, &fhir_search::date_windows(&query.filters));
    for filter in &query.filters {
        sql.filter(&query.types, filter);
    }
    let total = match query.total {
        TotalMode::None => None,
        TotalMode::Estimate | TotalMode::Accurate => Some(count(client, &sql).await?),
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
    let mut keys: Vec<(String, KeyKind, bool)> = query
        .sort
        .iter()
        .map(|s| {
            let (expression, kind) = sql.sort_expression(s);
            (expression, kind, s.descending)
        })
        .collect();
    let last_descending = keys.last().is_some_and(|&(_, _, d)| d);
    keys.push(("r.rid".to_owned(), KeyKind::Int, last_descending));
    if let Some(cursor) = &query.cursor {
        let values = decode_cursor(cursor, &keys)?;
        let clause = keyset_clause(&mut sql, &keys, values);
        sql.clauses.push(clause);
    }
    let order: Vec<String> =
        keys.iter().map(|(k, _, desc)| format!("{k} {}", if *desc { "DESC" } else { "ASC" })).collect();
    let selected: Vec<String> = keys.iter().map(|(k, _, _)| k.clone()).collect();
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let statement = format!(
        "SELECT {}, {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
         WHERE {} ORDER BY {} LIMIT {limit}",
        selected.join(", "),
        sql.where_sql(),
        order.join(", ")
    );
    let rows = client.query_typed(&statement, &typed(&sql.values)).await.map_err(backend)?;
    let (mut resources, mut rids, mut last_keys, mut has_more) = (Vec::new(), Vec::new(), None, false);
    for row in &rows {
        if resources.len() == query.count {
            has_more = true;
            break;
        }
        let mut values = Vec::with_capacity(keys.len());
        for (i, (_, kind, _)) in keys.iter().enumerate() {
            values.push(match kind {
                KeyKind::Int => Value::Int(row.try_get(i).map_err(backend)?),
                KeyKind::Real => Value::Real(row.try_get(i).map_err(backend)?),
                KeyKind::Text => Value::Text(row.try_get(i).map_err(backend)?),
            });
        }
        if let Some(Value::Int(rid)) = values.last() {
            rids.push(*rid);
        }
        resources.push(stored_from_row(row, keys.len())?);
        last_keys = Some(values);
    }
    let next_cursor = if has_more { last_keys.map(|v| encode_cursor(&v)) } else { None };
    let (included, include_truncated) = include::run(client, tenant, query, &rids).await?;
    Ok(SearchPage { resources, next_cursor, total, included, include_truncated })
}

async fn count(client: &ClientWrapper, sql: &Sql) -> Result<u64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM resource r WHERE {}", sql.where_sql());
    let row = client.query_typed_one(&statement, &typed(&sql.values)).await.map_err(backend)?;
    let n: i64 = row.try_get(0).map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The cursor is the last row's sort values and rid, as a JSON array of tagged values (the same
/// format as store-sqlite's).
fn encode_cursor(values: &[Value]) -> String {
    let items: Vec<serde_json::Value> = values
        .iter()
        .map(|v| match v {
            Value::Int(i) => serde_json::json!({"i": i}),
            Value::Real(r) => serde_json::json!({"r": r.to_string()}),
            Value::Text(t) => serde_json::json!({"t": t}),
            Value::NullText | Value::NullReal => serde_json::Value::Null,
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// Decodes a cursor, checking each value against its key's type (a cursor from another query or
/// a forged one is `InvalidCursor`, never a type error in SQL).
fn decode_cursor(cursor: &str, keys: &[(String, KeyKind, bool)]) -> Result<Vec<Value>, StoreError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(cursor).map_err(|_| StoreError::InvalidCursor)?;
    if items.len() != keys.len() {
        return Err(StoreError::InvalidCursor);
    }
    items
        .iter()
        .zip(keys)
        .map(|(item, (_, kind, _))| {
            let int = item.get("i").and_then(serde_json::Value::as_i64);
            let real = item.get("r").and_then(serde_json::Value::as_str).and_then(|r| r.parse::<f64>().ok());
            let text = item.get("t").and_then(serde_json::Value::as_str);
            match (kind, int, real, text) {
                (KeyKind::Int, Some(i), _, _) => Ok(Value::Int(i)),
                (KeyKind::Real, _, Some(r), _) => Ok(Value::Real(r)),
                #[expect(clippy::cast_precision_loss, reason = "an integer cursor value for a number key")]
                (KeyKind::Real, Some(i), _, _) => Ok(Value::Real(i as f64)),
                (KeyKind::Text, _, _, Some(t)) => Ok(Value::Text(t.to_owned())),
                _ => Err(StoreError::InvalidCursor),
            }
        })
        .collect()
}

/// Rows strictly after the cursor in the ORDER BY: `(a > x) OR (a = x AND b > y) OR ...`.
fn keyset_clause(sql: &mut Sql, keys: &[(String, KeyKind, bool)], values: Vec<Value>) -> String {
    let placeholders: Vec<String> = values.into_iter().map(|k| sql.bind(k)).collect();
    let mut ors = Vec::new();
    for (i, (key, _, descending)) in keys.iter().enumerate() {
        let mut ands: Vec<String> =
            keys.iter().zip(&placeholders).take(i).map(|((k, _, _), p)| format!("{k} = {p}")).collect();
        let op = if *descending { "<" } else { ">" };
        if let Some(p) = placeholders.get(i) {
            ands.push(format!("{key} {op} {p}"));
        }
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}
