//! `_include` and `_revinclude` (with `:iterate`) over a page: indexed joins through
//! `search_reference`, deduplicated, bounded by `include_limit` and reporting when it was hit.

use std::collections::HashSet;

use deadpool_postgres::ClientWrapper;
use fhir_search::{Include, SearchQuery};
use store::{StoreError, StoredResource};

use crate::connection::backend;
use crate::read::{VERSION_COLUMNS, stored_from_row};
use crate::value::{Value, typed};

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
    let mut values = vec![Value::Text(tenant.to_owned()), Value::Text(include.source_type.clone())];
    let bind = |values: &mut Vec<Value>, value: Value| {
        let placeholder = format!("${}::{}", values.len() + 1, value.cast());
        values.push(value);
        placeholder
    };
    let rids: Vec<String> = from.iter().map(|rid| bind(&mut values, Value::Int(*rid))).collect();
    let mut extra = String::new();
    if let Some(param) = &include.param {
        extra.push_str(&format!(" AND s.param = {}", bind(&mut values, Value::Text(param.clone()))));
    }
    if let Some(target) = &include.target_type {
        extra.push_str(&format!(" AND s.target_type = {}", bind(&mut values, Value::Text(target.clone()))));
    }
    let sql = if include.reverse {
        format!(
            "SELECT DISTINCT r.rid, {VERSION_COLUMNS} FROM resource t \
             JOIN search_reference s ON s.tenant = t.tenant AND s.target_type = t.type AND s.target_id = t.id \
             JOIN resource r ON r.rid = s.rid JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
             WHERE t.rid IN ({}) AND s.tenant = $1::text AND s.type = $2::text AND r.deleted = 0{extra} LIMIT {limit}",
            rids.join(", ")
        )
    } else {
        format!(
            "SELECT DISTINCT r.rid, {VERSION_COLUMNS} FROM search_reference s \
             JOIN resource r ON r.tenant = s.tenant AND r.type = s.target_type AND r.id = s.target_id \
             JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
             WHERE s.rid IN ({}) AND s.tenant = $1::text AND s.type = $2::text AND r.deleted = 0{extra} LIMIT {limit}",
            rids.join(", ")
        )
    };
    let rows = client.query_typed(&sql, &typed(&values)).await.map_err(backend)?;
    rows.iter().map(|row| Ok((row.try_get::<_, i64>(0).map_err(backend)?, stored_from_row(row, 1)?))).collect()
}
