//! Translating the search IR into one SQL statement. The tenant and type predicates are added
//! here, by `Sql::scoped`, and nowhere else.

use fhir_search::{DateCondition, Filter, Prefix, SearchQuery, Sort, SortKey, TokenMatch};
use rusqlite::types::Value;

/// A WHERE clause and its bound values.
pub(crate) struct Sql {
    pub(crate) clauses: Vec<String>,
    pub(crate) values: Vec<Value>,
}

impl Sql {
    /// Starts a query over the current, non-deleted resources of one tenant and type.
    pub(crate) fn scoped(tenant: &str, resource_type: &str) -> Sql {
        let mut sql = Sql { clauses: Vec::new(), values: Vec::new() };
        let tenant = sql.bind(Value::Text(tenant.to_owned()));
        let kind = sql.bind(Value::Text(resource_type.to_owned()));
        sql.clauses.push(format!("r.tenant = {tenant} AND r.type = {kind} AND r.deleted = 0"));
        sql
    }

    /// Binds a value and returns its placeholder.
    pub(crate) fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("?{}", self.values.len())
    }

    pub(crate) fn where_sql(&self) -> String {
        self.clauses.join(" AND ")
    }

    pub(crate) fn filter(&mut self, query: &SearchQuery, filter: &Filter) {
        let clause = match filter {
            Filter::Id(ids) => {
                let list: Vec<String> = ids.iter().map(|id| self.bind(Value::Text(id.clone()))).collect();
                format!("r.id IN ({})", list.join(", "))
            }
            Filter::LastUpdated(conditions) => {
                let ors: Vec<String> = conditions.iter().map(|c| self.date_condition("r.last_updated", c)).collect();
                format!("({})", ors.join(" OR "))
            }
            Filter::Token { param, values, negate } => {
                let subquery = self.token_subquery(query, param, values);
                if *negate { format!("r.rid NOT IN ({subquery})") } else { format!("r.rid IN ({subquery})") }
            }
            Filter::TokenMissing { param, missing } => {
                let param = self.bind(Value::Text(param.clone()));
                let exists = format!("EXISTS (SELECT 1 FROM search_token t WHERE t.rid = r.rid AND t.param = {param})");
                if *missing { format!("NOT {exists}") } else { exists }
            }
        };
        self.clauses.push(clause);
    }

    fn token_subquery(&mut self, query: &SearchQuery, param: &str, values: &[TokenMatch]) -> String {
        let tenant = self.values.first().cloned().unwrap_or(Value::Null);
        let tenant = self.bind(tenant);
        let kind = self.bind(Value::Text(query.resource_type.clone()));
        let param = self.bind(Value::Text(param.to_owned()));
        let ors: Vec<String> = values
            .iter()
            .map(|value| match value {
                TokenMatch::Code(code) => format!("t.code = {}", self.bind(Value::Text(code.clone()))),
                TokenMatch::SystemCode(system, code) => {
                    let code = self.bind(Value::Text(code.clone()));
                    let system = self.bind(Value::Text(system.clone()));
                    format!("(t.code = {code} AND t.system = {system})")
                }
                TokenMatch::NoSystemCode(code) => {
                    format!("(t.code = {} AND t.system IS NULL)", self.bind(Value::Text(code.clone())))
                }
                TokenMatch::System(system) => format!("t.system = {}", self.bind(Value::Text(system.clone()))),
            })
            .collect();
        format!(
            "SELECT t.rid FROM search_token t WHERE t.tenant = {tenant} AND t.type = {kind} AND t.param = {param} AND ({})",
            ors.join(" OR ")
        )
    }

    /// FHIR range semantics: the resource's value is the point `[column, column + 1)` and the
    /// search value the range `[low, high)`.
    fn date_condition(&mut self, column: &str, condition: &DateCondition) -> String {
        let (rl, rh) = (column.to_owned(), format!("({column} + 1)"));
        // Bind only the bounds each prefix uses: SQLite rejects unused parameters.
        match condition.prefix {
            Prefix::Gt => format!("{rh} > {}", self.bind(Value::Integer(condition.high))),
            Prefix::Lt => format!("{rl} < {}", self.bind(Value::Integer(condition.low))),
            Prefix::Sa => format!("{rl} >= {}", self.bind(Value::Integer(condition.high))),
            Prefix::Eb => format!("{rh} <= {}", self.bind(Value::Integer(condition.low))),
            prefix => {
                let low = self.bind(Value::Integer(condition.low));
                let high = self.bind(Value::Integer(condition.high));
                let within = format!("({rl} >= {low} AND {rh} <= {high})");
                match prefix {
                    Prefix::Ne => format!("NOT {within}"),
                    Prefix::Ge => format!("({rh} > {high} OR {within})"),
                    Prefix::Le => format!("({rl} < {low} OR {within})"),
                    _ => within,
                }
            }
        }
    }
}

/// The ORDER BY keys, always ending with the stable surrogate `rid`.
pub(crate) fn order_columns(sort: &[Sort]) -> Vec<(&'static str, bool)> {
    let mut columns: Vec<(&'static str, bool)> = sort
        .iter()
        .map(|s| {
            let column = match s.key {
                SortKey::Id => "r.id",
                SortKey::LastUpdated => "r.last_updated",
            };
            (column, s.descending)
        })
        .collect();
    let last_descending = columns.last().is_some_and(|&(_, d)| d);
    columns.push(("r.rid", last_descending));
    columns
}
