//! `_include` and `_revinclude` (with `:iterate`) over a page: indexed joins through
//! `search_reference`, deduplicated, bounded by `include_limit` and reporting when it was hit.

use std::collections::HashSet;

use fhir_search::{Include, SearchQuery};
use rusqlite::Connection;
use search_sql::Dialect;
use store::{StoreError, StoredResource};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, stored_from_row};
use crate::search::Param;

/// How many rounds `:iterate` follows.
const MAX_ITERATIONS: usize = 3;

pub(crate) fn run(
    conn: &Connection,
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
            for (rid, stored) in fetch(conn, tenant, include, &frontier, room + 1)? {
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

fn fetch(
    conn: &Connection,
    tenant: &str,
    include: &Include,
    from: &[i64],
    limit: usize,
) -> Result<Vec<(i64, StoredResource)>, StoreError> {
    let statement = search_sql::include_statement(Dialect::Sqlite, tenant, include, from, VERSION_COLUMNS, limit);
    // A handful of texts per include shape (`Dialect::int_set`): cached like the page statements.
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(backend)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(statement.values.iter().map(Param)), |row| {
            Ok((row.get::<_, i64>(0)?, stored_from_row(row, 1)?))
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}
