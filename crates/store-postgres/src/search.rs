//! Running a search: one statement for the page (keyset paging on the sort keys plus `rid`), one
//! for the total if asked, and indexed queries for `_include`/`_revinclude` over the page.

mod include;

use deadpool_postgres::ClientWrapper;
use fhir_search::{DateWindow, SearchQuery, TotalMode};
use store::{SearchPage, StoreError};

use search_sql::{Bound, DateWalk, Dialect, KeyKind, Sql, Statement, Walk, Weighing, Weight};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, stored_from_row};
use crate::value::{Value, typed};

/// Prepared statements a connection keeps before it forgets them all (search shapes, the write
/// and read statements among them; those are prepared again on their next use).
const MAX_CACHED_STATEMENTS: usize = 512;

pub(crate) async fn page(client: &ClientWrapper, tenant: &str, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let walked = if search_sql::walk_order(query) == Walk::Date && worth_walking(client, tenant, query).await? {
        walk_by_date(client, tenant, query).await?
    } else {
        None
    };
    let (found, total) = match walked {
        Some(found) => (found, None),
        None => {
            let mut sql = filtered(client, tenant, query, false, None).await?;
            let total = match query.total {
                TotalMode::None => None,
                TotalMode::Estimate | TotalMode::Accurate => Some(count(client, &sql).await?),
            };
            if query.count == 0 {
                (Found { resources: Vec::new(), rids: Vec::new(), next_cursor: None }, total)
            } else {
                (find(client, query, &mut sql).await?, total)
            }
        }
    };
    let (included, include_truncated) = include::run(client, tenant, query, &found.rids).await?;
    Ok(SearchPage { resources: found.resources, next_cursor: found.next_cursor, total, included, include_truncated })
}

/// The resources of a page, in order, and the cursor after them.
struct Found {
    resources: Vec<store::StoredResource>,
    rids: Vec<i64>,
    next_cursor: Option<String>,
}

/// The query's filters as a WHERE clause (each checking every candidate if `checked`), within
/// `walk_window` if given.
async fn filtered(
    client: &ClientWrapper,
    tenant: &str,
    query: &SearchQuery,
    checked: bool,
    walk_window: Option<DateWindow>,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::scoped(Dialect::Postgres, tenant, &query.types);
    let mut windows = fhir_search::date_windows(&query.filters);
    windows.extend(walk_window);
    sql.date_windows(&query.types, &windows);
    let probes = Sql::has_probes(Dialect::Postgres, tenant, &query.filters, search_sql::HAS_PROBE_LIMIT);
    if !probes.is_empty() {
        let mut few = true;
        for probe in &probes {
            few &= count_of(client, probe).await? < search_sql::HAS_PROBE_LIMIT;
        }
        sql.has_from_sources(few);
    }
    for filter in &query.filters {
        if checked {
            sql.filter_checked(&query.types, filter);
        } else {
            sql.filter(&query.types, filter);
        }
    }
    Ok(sql)
}

/// Whether a search sorted by one date should be walked (`search_sql::plan`): when no filter
/// finds few candidates. PostgreSQL orders its joins itself otherwise, but it sorts every match
/// of a date sort: `Observation?_sort=-date&_count=10` sorted all 54,000 Observations of
/// 108,315 resources (74 ms).
async fn worth_walking(client: &ClientWrapper, tenant: &str, query: &SearchQuery) -> Result<bool, StoreError> {
    let limit = search_sql::SELECTIVITY_PROBE_LIMIT;
    let mut weights = Vec::with_capacity(query.filters.len());
    for weighing in search_sql::weighings(Dialect::Postgres, tenant, &query.types, &query.filters, limit, true) {
        weights.push(match weighing {
            Weighing::Probe(probe) => Weight::Counted(count_of(client, &probe).await?),
            Weighing::Few => Weight::Few,
            Weighing::Fixed => Weight::Fixed,
        });
    }
    Ok(search_sql::plan(&weights, limit, Walk::Date).scan)
}

/// The page of a search sorted by one date parameter, through the resources whose date
/// envelope lies past a threshold (`search_sql::DateWalk`), every filter checking each; `None`
/// when they hold less than a page, so that listing must find it.
async fn walk_by_date(client: &ClientWrapper, tenant: &str, query: &SearchQuery) -> Result<Option<Found>, StoreError> {
    let budget = search_sql::walk_budget(query.count, search_sql::WALK_PER_MATCH, search_sql::WALK_MAX);
    let Some(walk) = DateWalk::new(Dialect::Postgres, tenant, query, budget) else { return Ok(None) };
    if let Some(open) = &walk.probes.open_count
        && count_of(client, open).await? > budget
    {
        return Ok(None);
    }
    let mut lows = Vec::with_capacity(walk.probes.class_lows.len());
    for probe in &walk.probes.class_lows {
        let row = client.query_typed_opt(&probe.sql, &typed(&values(&probe.values))).await.map_err(backend)?;
        lows.push(match row {
            Some(row) => Some(row.try_get::<_, i64>(0).map_err(backend)?),
            None => None,
        });
    }
    let mut sql = filtered(client, tenant, query, true, Some(walk.window(&lows))).await?;
    let found = find(client, query, &mut sql).await?;
    // Outside the window are only resources later in the order: a full page is the page.
    Ok(found.next_cursor.is_some().then_some(found))
}

/// Runs the page statement of `sql` (after the query's cursor, in its sort order).
async fn find(client: &ClientWrapper, query: &SearchQuery, sql: &mut Sql) -> Result<Found, StoreError> {
    let keys = search_sql::page_keys(sql, &query.sort, query.cursor.as_deref()).ok_or(StoreError::InvalidCursor)?;
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let statement = search_sql::page_statement(&keys, VERSION_COLUMNS, &sql.where_sql(), limit);
    // The page statement is prepared per connection and shape (values are bound), so
    // PostgreSQL may reuse a plan instead of planning every search. It still plans the first
    // executions for their values and keeps doing so when a generic plan looks worse. Measured
    // at 108k (8 clients): selective searches 1,690 → 2,310 requests/s, while the searches that
    // match tens of thousands of rows got 15–40 % slower.
    // Each shape is a statement kept on the connection (and in the server's memory): a client
    // that sends endless new shapes must not grow that without bound.
    if client.statement_cache.size() > MAX_CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
    let bound = values(&sql.values);
    let types: Vec<tokio_postgres::types::Type> = bound.iter().map(Value::pg_type).collect();
    let prepared = client.prepare_typed_cached(&statement, &types).await.map_err(backend)?;
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = bound.iter().map(Value::as_sql).collect();
    let rows = client.query(&prepared, &params).await.map_err(backend)?;
    let (mut resources, mut rids, mut last_keys, mut has_more) = (Vec::new(), Vec::new(), None, false);
    for row in &rows {
        if resources.len() == query.count {
            has_more = true;
            break;
        }
        let mut values = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            values.push(match key.kind {
                KeyKind::Int => Bound::Int(row.try_get(i).map_err(backend)?),
                KeyKind::Real => Bound::Real(row.try_get(i).map_err(backend)?),
                KeyKind::Text => Bound::Text(row.try_get(i).map_err(backend)?),
            });
        }
        if let Some(Bound::Int(rid)) = values.last() {
            rids.push(*rid);
        }
        resources.push(stored_from_row(row, keys.len())?);
        last_keys = Some(values);
    }
    let next_cursor = if has_more { last_keys.map(|v| search_sql::encode_cursor(&v)) } else { None };
    Ok(Found { resources, rids, next_cursor })
}

/// The one number a probe statement (`SELECT COUNT(*) …`) answers.
async fn count_of(client: &ClientWrapper, probe: &Statement) -> Result<usize, StoreError> {
    let row = client.query_typed_one(&probe.sql, &typed(&values(&probe.values))).await.map_err(backend)?;
    let n: i64 = row.try_get(0).map_err(backend)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

async fn count(client: &ClientWrapper, sql: &Sql) -> Result<u64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM resource r WHERE {}", sql.where_sql());
    let row = client.query_typed_one(&statement, &typed(&values(&sql.values))).await.map_err(backend)?;
    let n: i64 = row.try_get(0).map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The bound values as the driver takes them.
fn values(values: &[Bound]) -> Vec<Value> {
    values.iter().map(Value::from).collect()
}
