//! `_include` and `_revinclude` (with `:iterate`) over a page: indexed joins through
//! `search_reference`, deduplicated, bounded by `include_limit` and reporting when it was hit.

use std::collections::HashSet;

use deadpool_postgres::ClientWrapper;
use fhir_search::{Include, SearchQuery};
use search_sql::Dialect;
use store::{StoreError, StoredResource};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, stored_from_row};
use crate::value::Value;
use tokio_postgres::types::{ToSql, Type};

/// How many rounds `:iterate` follows.
const MAX_ITERATIONS: usize = 3;

pub(crate) async fn run(
    client: &ClientWrapper,
    tenant: &str,
    query: &SearchQuery,
    page: &[i64],
) -> Result<(Vec<StoredResource>, bool), StoreError> {
    if query.includes.is_empty() || page.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut seen: HashSet<i64> = page.iter().copied().collect();
    let mut included = Vec::new();
    let mut frontier = page.to_vec();
    for round in 0..=MAX_ITERATIONS {
        let mut next = Vec::new();
        for include in query.includes.iter().filter(|i| round == 0 || i.iterate) {
            let room = query.include_limit.saturating_sub(included.len());
            for (rid, stored) in fetch(client, tenant, include, &frontier, room + 1).await? {
                if !seen.insert(rid) {
                    continue;
                }
                if included.len() == query.include_limit {
                    return Ok((included, true));
                }
                included.push(stored);
                next.push(rid);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok((included, false))
}

async fn fetch(
    client: &ClientWrapper,
    tenant: &str,
    include: &Include,
    from: &[i64],
    limit: usize,
) -> Result<Vec<(i64, StoredResource)>, StoreError> {
    let statement = search_sql::include_statement(Dialect::Postgres, tenant, include, from, VERSION_COLUMNS, limit);
    let values: Vec<Value> = statement.values.iter().map(Value::from).collect();
    // The rids are one array parameter, so a statement's text depends only on the include's
    // shape: prepared once per connection instead of parsed and planned on every page.
    let types: Vec<Type> = values.iter().map(Value::pg_type).collect();
    let prepared = client.prepare_typed_cached(&statement.sql, &types).await.map_err(backend)?;
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::as_sql).collect();
    let rows = client.query(&prepared, &params).await.map_err(backend)?;
    rows.iter().map(|row| Ok((row.try_get::<_, i64>(0).map_err(backend)?, stored_from_row(row, 1)?))).collect()
}
