//! The statement of one `_include` or `_revinclude` step: from a set of resources (their rids)
//! through `search_reference` to the resources they name, or that name them.

use fhir_search::Include;

use crate::dialect::{Bound, Dialect};
use crate::translate::Statement;

fn bind(dialect: Dialect, values: &mut Vec<Bound>, value: Bound) -> String {
    let placeholder = dialect.placeholder(values.len() + 1, &value);
    values.push(value);
    placeholder
}

/// Selects `r.rid, <columns>` (over `resource_version v`) of at most `limit` distinct current
/// resources that `include` reaches from the resources `from`.
pub fn include_statement(
    dialect: Dialect,
    tenant: &str,
    include: &Include,
    from: &[i64],
    columns: &str,
    limit: usize,
) -> Statement {
    let mut values = Vec::new();
    let tenant = bind(dialect, &mut values, Bound::Text(tenant.to_owned()));
    let source_type = bind(dialect, &mut values, Bound::Text(include.source_type.clone()));
    let mut extra = String::new();
    if let Some(param) = &include.param {
        extra.push_str(&format!(" AND s.param = {}", bind(dialect, &mut values, Bound::Text(param.clone()))));
    }
    if let Some(target) = &include.target_type {
        extra.push_str(&format!(" AND s.target_type = {}", bind(dialect, &mut values, Bound::Text(target.clone()))));
    }
    let limit = bind(dialect, &mut values, Bound::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = if include.reverse {
        let from = dialect.int_set("t.rid", &mut values, from);
        format!(
            "SELECT DISTINCT r.rid, {columns} FROM resource t \
             JOIN search_reference s ON s.tenant = t.tenant AND s.target_type = t.type AND s.target_id = t.id \
             JOIN resource r ON r.rid = s.rid JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
             WHERE {from} AND s.tenant = {tenant} AND s.type = {source_type} AND r.deleted = 0{extra} \
             LIMIT {limit}"
        )
    } else {
        // The page's rids select a handful of references through `search_reference_rid_param`;
        // SQLite must be kept off `search_reference_value` (tenant, type, param…), which would
        // read every reference of the type.
        let (s_tenant, s_type) = (dialect.unindexed("s.tenant"), dialect.unindexed("s.type"));
        let from = dialect.int_set("s.rid", &mut values, from);
        format!(
            "SELECT DISTINCT r.rid, {columns} FROM search_reference s \
             JOIN resource r ON r.tenant = s.tenant AND r.type = s.target_type AND r.id = s.target_id \
             JOIN resource_version v ON v.rid = r.rid AND v.version = r.version \
             WHERE {from} AND {s_tenant} = {tenant} AND {s_type} = {source_type} AND r.deleted = 0{extra} \
             LIMIT {limit}"
        )
    };
    Statement { sql, values }
}
