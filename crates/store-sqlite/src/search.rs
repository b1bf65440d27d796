//! Running a search: one statement for the page (keyset paging on the sort keys plus `rid`), one
//! for the total if asked, and indexed queries for `_include`/`_revinclude` over the page.

mod include;

use fhir_search::{SearchQuery, TotalMode};
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, Value};
use search_sql::{Bound, Dialect, Sql};
use store::{SearchPage, StoreError};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, stored_from_row};

/// A bound value as rusqlite takes it.
pub(crate) struct Param<'a>(pub(crate) &'a Bound);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Bound::Int(i) => ToSqlOutput::from(*i),
            Bound::Real(r) => ToSqlOutput::from(*r),
            Bound::Text(t) => ToSqlOutput::from(t.as_str()),
        })
    }
}

fn params(sql: &Sql) -> impl Iterator<Item = Param<'_>> {
    sql.values.iter().map(Param)
}

pub(crate) fn page(conn: &Connection, tenant: &str, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let mut sql = Sql::scoped(Dialect::Sqlite, tenant, &query.types);
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
    let keys =
        search_sql::page_keys(&mut sql, &query.sort, query.cursor.as_deref()).ok_or(StoreError::InvalidCursor)?;
    let (selected, order) = search_sql::select_and_order(&keys);
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let statement = format!(
        "SELECT {selected}, {VERSION_COLUMNS} FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
         WHERE {} ORDER BY {order} LIMIT {limit}",
        sql.where_sql(),
    );
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params(&sql))).map_err(backend)?;
    let (mut resources, mut rids, mut last_keys, mut has_more) = (Vec::new(), Vec::new(), None, false);
    while let Some(row) = rows.next().map_err(backend)? {
        if resources.len() == query.count {
            has_more = true;
            break;
        }
        let mut values = Vec::with_capacity(keys.len());
        for i in 0..keys.len() {
            values.push(match row.get::<_, Value>(i).map_err(backend)? {
                Value::Integer(i) => Bound::Int(i),
                Value::Real(r) => Bound::Real(r),
                Value::Text(t) => Bound::Text(t),
                Value::Null | Value::Blob(_) => {
                    return Err(StoreError::Backend("a sort key without a value".to_owned()));
                }
            });
        }
        if let Some(Bound::Int(rid)) = values.last() {
            rids.push(*rid);
        }
        resources.push(stored_from_row(row, keys.len()).map_err(backend)?);
        last_keys = Some(values);
    }
    drop(rows);
    let next_cursor = if has_more { last_keys.map(|v| search_sql::encode_cursor(&v)) } else { None };
    let (included, include_truncated) = include::run(conn, tenant, query, &rids)?;
    Ok(SearchPage { resources, next_cursor, total, included, include_truncated })
}

fn count(conn: &Connection, sql: &Sql) -> Result<u64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM resource r WHERE {}", sql.where_sql());
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let n: i64 = stmt.query_row(rusqlite::params_from_iter(params(sql)), |row| row.get(0)).map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}
