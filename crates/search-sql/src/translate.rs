//! Filters to predicates: every filter becomes a predicate on a `resource` row alias; chains and
//! `_has` nest the same translation on another alias.

use fhir_search::{
    CompositePart, DateCondition, DateWindow, Filter, IndexTable, NumberCondition, Prefix, ReferenceMatch, Sort,
    SortKey, StringMode, TokenMatch, UriMode,
};

use crate::dialect::{Bound, Dialect, KeyKind, MAX_CHAR};

/// Up to how many matching sources a `_has` starts from them (about 7 µs each, so at most
/// ~150 ms); past it, matches are dense enough that probing the targets in page order finds a
/// page sooner. Probing targets has no such bound: 17k sources among few Patients took 1.5 s.
pub const HAS_PROBE_LIMIT: usize = 20_000;

/// A complete statement and its bound values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub values: Vec<Bound>,
}

/// A WHERE clause and its bound values.
pub struct Sql {
    pub clauses: Vec<String>,
    pub values: Vec<Bound>,
    dialect: Dialect,
    tenant: String,
    aliases: usize,
    /// Date parameters found through a window: their conditions are checked per candidate.
    windowed: Vec<String>,
    /// How `_has` runs: from its matching sources, or by probing each target (see `has`).
    has_from_sources: bool,
    /// The alias whose index filters are being checked per candidate rather than listing their
    /// matches (`filter_checked`, and a `_has` probing its targets).
    checked: Option<String>,
}

/// The rows of one index table an index filter asks for.
struct IndexRows {
    table: IndexTable,
    /// A condition on the table's row `s`.
    condition: String,
    /// The filter holds when no such row exists (`:not`, `:missing=true`).
    negated: bool,
}

/// The index table of a parameter type.
pub fn table_name(table: IndexTable) -> &'static str {
    match table {
        IndexTable::Token => "search_token",
        IndexTable::String => "search_string",
        IndexTable::Date => "search_date",
        IndexTable::Number => "search_number",
        IndexTable::Quantity => "search_quantity",
        IndexTable::Reference => "search_reference",
        IndexTable::Uri => "search_uri",
        IndexTable::Composite => "search_composite",
    }
}

impl Sql {
    /// Starts a query over the current, non-deleted resources of one tenant and the given types.
    pub fn scoped(dialect: Dialect, tenant: &str, types: &[String]) -> Sql {
        let mut sql = Sql::bare(dialect, tenant);
        let tenant = sql.text(tenant);
        let types = sql.one_of(types);
        sql.clauses.push(format!("r.tenant = {tenant} AND r.type {types} AND r.deleted = 0"));
        sql
    }

    /// No clause yet: for statements that are not over `resource r`.
    pub(crate) fn bare(dialect: Dialect, tenant: &str) -> Sql {
        Sql {
            clauses: Vec::new(),
            values: Vec::new(),
            dialect,
            tenant: tenant.to_owned(),
            aliases: 0,
            windowed: Vec::new(),
            has_from_sources: false,
            checked: None,
        }
    }

    /// Binds a value and returns its placeholder.
    pub fn bind(&mut self, value: Bound) -> String {
        let placeholder = self.dialect.placeholder(self.values.len() + 1, &value);
        self.values.push(value);
        placeholder
    }

    pub fn text(&mut self, text: &str) -> String {
        self.bind(Bound::Text(text.to_owned()))
    }

    pub(crate) fn tenant(&mut self) -> String {
        let tenant = self.tenant.clone();
        self.text(&tenant)
    }

    /// `= ?` for one value (a type, a parameter), `IN (?, ?)` for several.
    pub(crate) fn one_of(&mut self, values: &[String]) -> String {
        let list: Vec<String> = values.iter().map(|t| self.text(t)).collect();
        match list.as_slice() {
            [one] => format!("= {one}"),
            _ => format!("IN ({})", list.join(", ")),
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("a{}", self.aliases)
    }

    pub fn where_sql(&self) -> String {
        self.clauses.join(" AND ")
    }

    /// Restricts the query to the resources inside each date window (`fhir_search::window`):
    /// one range scan of the envelope index per span class. Call before `filter`.
    pub fn date_windows(&mut self, types: &[String], windows: &[DateWindow]) {
        for window in windows {
            let mut scans = Vec::new();
            for range in window.class_ranges() {
                let tenant = self.tenant();
                let kinds = self.one_of(types);
                let param = self.text(&window.param);
                let span = self.bind(Bound::Int(range.span_class.into()));
                let from = match range.low_from {
                    Some(from) => format!(" AND e.low >= {}", self.bind(Bound::Int(from))),
                    None => String::new(),
                };
                let to = self.bind(Bound::Int(window.low_to));
                let high = self.bind(Bound::Int(window.high_from));
                scans.push(format!(
                    "SELECT e.rid FROM search_date_envelope e WHERE e.tenant = {tenant} AND e.type {kinds} \
                     AND e.param = {param} AND e.span = {span}{from} AND e.low <= {to} AND e.high >= {high}"
                ));
            }
            self.clauses.push(format!("r.rid IN ({})", scans.join(" UNION ALL ")));
            self.windowed.push(window.param.clone());
        }
    }

    /// `_has` filters start from their sources (the right plan when few sources match; the
    /// backend decides with `has_probes`). Call before `filter`.
    pub fn has_from_sources(&mut self, yes: bool) {
        self.has_from_sources = yes;
    }

    /// One probe per top-level `_has` of `filters`: `SELECT COUNT(*)` of at most `limit`
    /// (normally [`HAS_PROBE_LIMIT`]) of its matching sources. If every probe counts fewer, call
    /// `has_from_sources(true)`.
    pub fn has_probes(dialect: Dialect, tenant: &str, filters: &[Filter], limit: usize) -> Vec<Statement> {
        filters
            .iter()
            .filter_map(|filter| match filter {
                Filter::Has { source_type, inner, .. } => {
                    let types = [source_type.clone()];
                    // An index filter's own rows are counted without visiting the sources:
                    // 20,000 heights took 41 ms through `resource`, 3 ms in the index.
                    Some(
                        Sql::selectivity_probe(dialect, tenant, &types, inner, limit)
                            .unwrap_or_else(|| Sql::count_up_to(dialect, tenant, source_type, inner, limit)),
                    )
                }
                _ => None,
            })
            .collect()
    }

    /// `SELECT COUNT(*)` of at most `limit` current resources of `resource_type` matching
    /// `filter`: a cheap probe of how selective a filter is.
    fn count_up_to(dialect: Dialect, tenant: &str, resource_type: &str, filter: &Filter, limit: usize) -> Statement {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let types = [resource_type.to_owned()];
        let mut sql = Sql::scoped(dialect, tenant, &types);
        sql.filter(&types, filter);
        let text =
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM resource r WHERE {} LIMIT {limit}) probe", sql.where_sql());
        Statement { sql: text, values: sql.values }
    }

    pub fn filter(&mut self, types: &[String], filter: &Filter) {
        let clause = self.clause("r", types, filter);
        self.clauses.push(clause);
    }

    /// `filter`, checked against each candidate row that the other filters find (correlated
    /// `EXISTS`) instead of listing all its own matches (`rid IN (…)`): right for a filter that
    /// matches much (`category=laboratory`) beside one that matches little (`subject=…`).
    /// Only positive index filters change; `crate::drive` says which to check.
    pub fn filter_checked(&mut self, types: &[String], filter: &Filter) {
        let clause = self.clause_checked("r", types, filter);
        self.clauses.push(clause);
    }

    /// A statement counting at most `limit` index rows matching `filter` (how selective it
    /// is), if it is a positive index filter other than a date (dates have their windows), or
    /// a union parameter's filter over such.
    pub fn selectivity_probe(
        dialect: Dialect,
        tenant: &str,
        types: &[String],
        filter: &Filter,
        limit: usize,
    ) -> Option<Statement> {
        let (first, params) = match filter {
            Filter::Any(filters) => one_probe(filters, true)?,
            Filter::All(filters) => one_probe(filters, false)?,
            other => (other, vec![other.index_param()?.to_owned()]),
        };
        if matches!(first, Filter::Date { .. }) {
            return None;
        }
        let mut sql = Sql::bare(dialect, tenant);
        let rows = sql.index_rows(first)?;
        if rows.negated {
            return None;
        }
        let sub = sql.index_subquery(types, rows.table, &params, &rows.condition);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Some(Statement { sql: format!("SELECT COUNT(*) FROM ({sub} LIMIT {limit}) probe"), values: sql.values })
    }

    /// A predicate on the `resource` row `alias` (of one of `types`) meaning `filter`.
    pub fn clause(&mut self, alias: &str, types: &[String], filter: &Filter) -> String {
        if let Some(param) = filter.index_param() {
            return self.index_clause(alias, types, filter, &[param.to_owned()]);
        }
        match filter {
            Filter::Id(ids) => {
                let list: Vec<String> = ids.iter().map(|id| self.text(id)).collect();
                format!("{alias}.id IN ({})", list.join(", "))
            }
            Filter::LastUpdated(conditions) => {
                let column = format!("{alias}.last_updated");
                let ors: Vec<String> =
                    conditions.iter().map(|c| self.date_condition(&column, &format!("({column} + 1)"), c)).collect();
                format!("({})", ors.join(" OR "))
            }
            Filter::Chain { param, target_type, inner } => self.chain(alias, types, param, target_type, inner),
            Filter::Has { source_type, param, inner } => self.has(alias, types, source_type, param, inner),
            Filter::Compartment { compartment_type, id, links, include_owner } => {
                self.compartment(alias, compartment_type, id, links, *include_owner)
            }
            Filter::List(id) => self.list(alias, id),
            Filter::Text { narrative_only, value } => {
                let needle = self.text(&value.to_lowercase());
                let haystack = if *narrative_only { self.dialect.narrative("v.body") } else { "v.body".to_owned() };
                let found = self.dialect.contains(&format!("lower({haystack})"), &needle);
                format!(
                    "EXISTS (SELECT 1 FROM resource_version v WHERE v.rid = {alias}.rid AND v.version = {alias}.version \
                     AND {found})"
                )
            }
            Filter::Any(filters) | Filter::All(filters) => {
                let any = matches!(filter, Filter::Any(_));
                if let Some((first, params)) = one_probe(filters, any) {
                    return self.index_clause(alias, types, first, &params);
                }
                let parts: Vec<String> = filters.iter().map(|f| self.clause(alias, types, f)).collect();
                format!("({})", parts.join(if any { " OR " } else { " AND " }))
            }
            // The index filters (`Filter::index_param`), answered above.
            _ => "1 = 0".to_owned(),
        }
    }

    /// `clause`, its index filters on `alias` checking each candidate (`filter_checked`).
    fn clause_checked(&mut self, alias: &str, types: &[String], filter: &Filter) -> String {
        let outer = self.checked.replace(alias.to_owned());
        let clause = self.clause(alias, types, filter);
        self.checked = outer;
        clause
    }

    /// A filter on index rows, asked of the rows of any of `params` (the filter's own parameter,
    /// or the parameters a union parameter is stored as).
    fn index_clause(&mut self, alias: &str, types: &[String], filter: &Filter, params: &[String]) -> String {
        if let Filter::Date { values, .. } = filter
            && let [param] = params
            && alias == "r"
            && self.windowed.contains(param)
        {
            // The window found the few candidates; each checks its own rows.
            let ors: Vec<String> = values.iter().map(|c| self.date_condition("s.low", "s.high", c)).collect();
            let param = self.text(param);
            return format!(
                "EXISTS (SELECT 1 FROM search_date s WHERE s.rid = r.rid AND s.param = {param} AND ({}))",
                ors.join(" OR ")
            );
        }
        // Not an index filter: `clause` never passes one here.
        let Some(rows) = self.index_rows(filter) else { return "1 = 0".to_owned() };
        if self.checked.as_deref() == Some(alias) && !rows.negated {
            return self.checked_rows(alias, rows.table, params, &rows.condition);
        }
        let sub = self.index_subquery(types, rows.table, params, &rows.condition);
        if rows.negated { format!("{alias}.rid NOT IN ({sub})") } else { format!("{alias}.rid IN ({sub})") }
    }

    /// The index rows an index filter asks for: `s.` conditions on one table. `None` for any
    /// other filter.
    fn index_rows(&mut self, filter: &Filter) -> Option<IndexRows> {
        let (table, condition, negated) = match filter {
            Filter::Token { values, negate, .. } => (IndexTable::Token, self.token_matches(values), *negate),
            Filter::String { values, mode, .. } => {
                let ors: Vec<String> = values.iter().map(|v| self.string_match(v, *mode)).collect();
                (IndexTable::String, ors.join(" OR "), false)
            }
            Filter::Date { values, .. } => {
                let ors: Vec<String> = values.iter().map(|c| self.date_condition("s.low", "s.high", c)).collect();
                (IndexTable::Date, ors.join(" OR "), false)
            }
            Filter::Number { values, .. } => {
                let ors: Vec<String> = values.iter().map(|c| self.number_condition(c, false)).collect();
                (IndexTable::Number, ors.join(" OR "), false)
            }
            Filter::Quantity { values, .. } => {
                let ors: Vec<String> = values.iter().map(|c| self.number_condition(c, true)).collect();
                (IndexTable::Quantity, ors.join(" OR "), false)
            }
            Filter::Reference { values, .. } => {
                let ors: Vec<String> = values.iter().map(|v| self.reference_match(v)).collect();
                (IndexTable::Reference, ors.join(" OR "), false)
            }
            Filter::Uri { values, mode, .. } => {
                let ors: Vec<String> = values.iter().map(|v| self.uri_match(v, *mode)).collect();
                (IndexTable::Uri, ors.join(" OR "), false)
            }
            Filter::Composite { values, .. } => (IndexTable::Composite, self.composite(values), false),
            Filter::Missing { table, missing, .. } => (*table, "1 = 1".to_owned(), *missing),
            _ => return None,
        };
        Some(IndexRows { table, condition, negated })
    }

    /// The filter as a check of each candidate's own index rows (through the table's `rid`
    /// index), for when another filter finds the candidates (`crate::drive`). The candidate's
    /// `rid` is of one tenant and type already, so the rows need no tenant predicate of their own.
    fn checked_rows(&mut self, alias: &str, table: IndexTable, params: &[String], condition: &str) -> String {
        let params = self.one_of(params);
        format!(
            "EXISTS (SELECT 1 FROM {} s WHERE s.rid = {alias}.rid AND s.param {params} AND ({condition}))",
            table_name(table)
        )
    }

    /// `SELECT s.rid FROM <table> s WHERE tenant, types, params AND (<condition>)`.
    fn index_subquery(&mut self, types: &[String], table: IndexTable, params: &[String], condition: &str) -> String {
        let tenant = self.tenant();
        let types = self.one_of(types);
        let params = self.one_of(params);
        format!(
            "SELECT s.rid FROM {} s WHERE s.tenant = {tenant} AND s.type {types} AND s.param {params} AND ({condition})",
            table_name(table)
        )
    }

    /// Any of `values` on the `s.` token row. `system|code` pairs are grouped by system into
    /// `code IN (…)`: a value set's hundreds of codes must not become hundreds of `OR`s (SQLite
    /// refuses expressions nested deeper than 1,000). No value at all matches nothing (a value
    /// set that expands to no code).
    fn token_matches(&mut self, values: &[TokenMatch]) -> String {
        let mut by_system: Vec<(&str, Vec<&str>)> = Vec::new();
        let mut ors = Vec::new();
        for value in values {
            match value {
                TokenMatch::SystemCode(system, code) => match by_system.iter_mut().find(|(s, _)| s == system) {
                    Some((_, codes)) => codes.push(code),
                    None => by_system.push((system, vec![code])),
                },
                other => ors.push(self.token_match_at("s.", other)),
            }
        }
        for (system, codes) in by_system {
            let codes: Vec<String> = codes.into_iter().map(|code| self.text(code)).collect();
            let system = self.text(system);
            ors.push(match codes.as_slice() {
                [code] => format!("(s.code = {code} AND s.system = {system})"),
                _ => format!("(s.code IN ({}) AND s.system = {system})", codes.join(", ")),
            });
        }
        if ors.is_empty() { "1 = 0".to_owned() } else { ors.join(" OR ") }
    }

    /// A token condition on the `{p}system`/`{p}code`/`{p}text` columns.
    fn token_match_at(&mut self, p: &str, value: &TokenMatch) -> String {
        match value {
            TokenMatch::Code(code) => format!("{p}code = {}", self.text(code)),
            TokenMatch::SystemCode(system, code) => {
                let code = self.text(code);
                let system = self.text(system);
                format!("({p}code = {code} AND {p}system = {system})")
            }
            TokenMatch::NoSystemCode(code) => format!("({p}code = {} AND {p}system IS NULL)", self.text(code)),
            TokenMatch::System(system) => format!("{p}system = {}", self.text(system)),
            TokenMatch::Text(text) => self.prefix(&format!("{p}text"), &fhir_search::normalize(text)),
        }
    }

    fn prefix(&mut self, column: &str, value: &str) -> String {
        let low = self.text(value);
        let high = self.text(&format!("{value}{MAX_CHAR}"));
        let column = self.dialect.bytewise(column);
        format!("({column} >= {low} AND {column} < {high})")
    }

    fn string_match(&mut self, value: &str, mode: StringMode) -> String {
        match mode {
            StringMode::Prefix => self.prefix("s.normalized", &fhir_search::normalize(value)),
            StringMode::Exact => format!("s.exact = {}", self.text(value)),
            StringMode::Contains => {
                let needle = self.text(&fhir_search::normalize(value));
                self.dialect.contains("s.normalized", &needle)
            }
        }
    }

    fn reference_match(&mut self, value: &ReferenceMatch) -> String {
        match value {
            ReferenceMatch::Local { target_type: Some(t), id } => {
                let id = self.text(id);
                let t = self.text(t);
                format!("(s.target_id = {id} AND s.target_type = {t})")
            }
            ReferenceMatch::Local { target_type: None, id } => format!("s.target_id = {}", self.text(id)),
            ReferenceMatch::Url(url) => format!("s.url = {}", self.text(url)),
            ReferenceMatch::Identifier { system: Some(system), value } => {
                let value = self.text(value);
                let system = self.text(system);
                format!("(s.identifier_value = {value} AND s.identifier_system = {system})")
            }
            ReferenceMatch::Identifier { system: None, value } => format!("s.identifier_value = {}", self.text(value)),
        }
    }

    fn uri_match(&mut self, value: &str, mode: UriMode) -> String {
        match mode {
            UriMode::Exact => format!("s.uri = {}", self.text(value)),
            UriMode::Below => self.prefix("s.uri", value),
            UriMode::Above => format!("substr({}, 1, length(s.uri)) = s.uri", self.text(value)),
        }
    }

    /// FHIR range semantics: the stored value is `[rl, rh)` and the search value `[low, high)`.
    /// Only the bounds a prefix uses are bound: SQLite rejects unused parameters.
    fn date_condition(&mut self, rl: &str, rh: &str, condition: &DateCondition) -> String {
        match condition.prefix {
            Prefix::Gt => format!("{rh} > {}", self.bind(Bound::Int(condition.high))),
            Prefix::Lt => format!("{rl} < {}", self.bind(Bound::Int(condition.low))),
            Prefix::Sa => format!("{rl} >= {}", self.bind(Bound::Int(condition.high))),
            Prefix::Eb => format!("{rh} <= {}", self.bind(Bound::Int(condition.low))),
            Prefix::Ap => {
                let low = self.bind(Bound::Int(condition.low));
                let high = self.bind(Bound::Int(condition.high));
                format!("({rl} < {high} AND {rh} > {low})")
            }
            prefix => {
                let low = self.bind(Bound::Int(condition.low));
                let high = self.bind(Bound::Int(condition.high));
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

    /// Numbers compare the stored value with the search value and its precision range.
    fn number_condition(&mut self, condition: &NumberCondition, quantity: bool) -> String {
        self.number_condition_at("s.", condition, quantity)
    }

    /// A number condition on the `{p}value` column (and `{p}code`/`{p}system` for quantities).
    fn number_condition_at(&mut self, p: &str, condition: &NumberCondition, quantity: bool) -> String {
        let value = |v: f64, sql: &mut Sql| sql.bind(Bound::Real(v));
        let test = match condition.prefix {
            Prefix::Eq => {
                format!("({p}value >= {} AND {p}value < {})", value(condition.low, self), value(condition.high, self))
            }
            Prefix::Ne => {
                format!(
                    "NOT ({p}value >= {} AND {p}value < {})",
                    value(condition.low, self),
                    value(condition.high, self)
                )
            }
            Prefix::Gt | Prefix::Sa => format!("{p}value > {}", value(condition.value, self)),
            Prefix::Lt | Prefix::Eb => format!("{p}value < {}", value(condition.value, self)),
            Prefix::Ge => format!("{p}value >= {}", value(condition.value, self)),
            Prefix::Le => format!("{p}value <= {}", value(condition.value, self)),
            Prefix::Ap => {
                let margin = (condition.value * 0.1).abs();
                format!(
                    "({p}value >= {} AND {p}value <= {})",
                    value(condition.value - margin, self),
                    value(condition.value + margin, self)
                )
            }
        };
        if !quantity {
            return test;
        }
        let mut unit = Vec::new();
        if let Some(code) = &condition.code {
            unit.push(format!("{p}code = {}", self.text(code)));
        }
        if let Some(system) = &condition.system {
            unit.push(format!("{p}system = {}", self.text(system)));
        }
        unit.push(test);
        format!("({})", unit.join(" AND "))
    }

    fn composite(&mut self, values: &[Vec<CompositePart>]) -> String {
        let mut ors = Vec::new();
        for parts in values {
            let mut ands = Vec::new();
            for (index, part) in parts.iter().enumerate() {
                let p = format!("s.c{index}_");
                ands.push(match part {
                    CompositePart::Token(token) => self.token_match_at(&p, token),
                    CompositePart::Reference { target_type, id } => {
                        let id = self.text(id);
                        match target_type {
                            Some(t) => format!("({p}code = {id} AND {p}system = {})", self.text(t)),
                            None => format!("{p}code = {id}"),
                        }
                    }
                    CompositePart::Number(condition) => {
                        let quantity = condition.code.is_some() || condition.system.is_some();
                        self.number_condition_at(&p, condition, quantity)
                    }
                    CompositePart::Date(condition) => {
                        self.date_condition(&format!("{p}low"), &format!("{p}high"), condition)
                    }
                    CompositePart::String(text) => self.prefix(&format!("{p}text"), &fhir_search::normalize(text)),
                });
            }
            ors.push(format!("({})", ands.join(" AND ")));
        }
        ors.join(" OR ")
    }

    fn chain(&mut self, alias: &str, types: &[String], param: &str, target_type: &str, inner: &Filter) -> String {
        let target = self.alias();
        let tenant = self.tenant();
        let types = self.one_of(types);
        let param = self.text(param);
        let target_kind = self.text(target_type);
        let inner = self.clause(&target, &[target_type.to_owned()], inner);
        match self.dialect {
            // The targets drive (CROSS JOIN fixes the loop order in SQLite): the inner filter is
            // what is selective (`subject:Patient.identifier=…`), and each target then finds its
            // referrers through `search_reference_target`. Driven from the references instead, a
            // chain reads every `subject` reference of the type: 60 s at a million resources.
            Dialect::Sqlite => format!(
                "{alias}.rid IN (SELECT s.rid FROM resource {target} CROSS JOIN search_reference s \
                 ON s.tenant = {target}.tenant AND s.target_type = {target}.type AND s.target_id = {target}.id \
                 WHERE {target}.tenant = {tenant} AND {target}.type = {target_kind} AND {target}.deleted = 0 AND {inner} \
                 AND s.type {types} AND s.param = {param})"
            ),
            // PostgreSQL's planner picks the join order from its statistics.
            Dialect::Postgres => format!(
                "{alias}.rid IN (SELECT s.rid FROM search_reference s JOIN resource {target} ON {target}.tenant = s.tenant \
                 AND {target}.type = s.target_type AND {target}.id = s.target_id \
                 WHERE s.tenant = {tenant} AND s.type {types} AND s.param = {param} AND s.target_type = {target_kind} \
                 AND {target}.deleted = 0 AND {inner})"
            ),
        }
    }

    /// `_has:Source:param:…`. Two plans, each right for one case: when few sources match (a
    /// rare code), they drive and each names its target through the reference; probing every
    /// target instead scanned all 10,643 Patients of the million-resource set before answering
    /// (57 ms, growing with the Patients). When many match (a code every Patient has), probing
    /// targets in page order stops after the page, while driving from 28,560 sources took
    /// 200 ms. The backend picks with a bounded count of the sources (`has_from_sources`).
    fn has(&mut self, alias: &str, types: &[String], source_type: &str, param: &str, inner: &Filter) -> String {
        let source = self.alias();
        let tenant = self.tenant();
        let kind = self.text(source_type);
        let param = self.text(param);
        if !self.has_from_sources {
            // Many sources match, so each target's own sources check the filter: listing them
            // all first took 17 ms for the 28,560 heights of a million resources, checking 0.4.
            let inner = self.clause_checked(&source, &[source_type.to_owned()], inner);
            return format!(
                "EXISTS (SELECT 1 FROM search_reference s JOIN resource {source} ON {source}.rid = s.rid \
                 WHERE s.tenant = {tenant} AND s.target_type = {alias}.type AND s.target_id = {alias}.id \
                 AND s.type = {kind} AND s.param = {param} AND {source}.deleted = 0 AND {inner})"
            );
        }
        let target = self.alias();
        let target_tenant = self.tenant();
        let target_types = self.one_of(types);
        let inner = self.clause(&source, &[source_type.to_owned()], inner);
        let join = self.dialect.ordered_join();
        format!(
            "{alias}.rid IN (SELECT {target}.rid FROM resource {source} {join} search_reference s ON s.rid = {source}.rid \
             {join} resource {target} ON {target}.tenant = {target_tenant} AND {target}.type = s.target_type \
             AND {target}.id = s.target_id \
             WHERE {source}.tenant = {tenant} AND {source}.type = {kind} AND {source}.deleted = 0 AND {inner} \
             AND s.param = {param} AND s.target_type {target_types})"
        )
    }

    fn compartment(
        &mut self,
        alias: &str,
        compartment_type: &str,
        id: &str,
        links: &[(String, Vec<String>)],
        include_owner: bool,
    ) -> String {
        let tenant = self.tenant();
        let owner_type = self.text(compartment_type);
        let owner_id = self.text(id);
        let mut ors = Vec::new();
        for (resource_type, params) in links {
            let kind = self.text(resource_type);
            let list: Vec<String> = params.iter().map(|p| self.text(p)).collect();
            ors.push(format!("(s.type = {kind} AND s.param IN ({}))", list.join(", ")));
        }
        let linked = if ors.is_empty() {
            "0 = 1".to_owned()
        } else {
            format!(
                "{alias}.rid IN (SELECT s.rid FROM search_reference s WHERE s.tenant = {tenant} AND s.target_type = {owner_type} \
                 AND s.target_id = {owner_id} AND ({}))",
                ors.join(" OR ")
            )
        };
        if include_owner {
            format!("({linked} OR ({alias}.type = {owner_type} AND {alias}.id = {owner_id}))")
        } else {
            linked
        }
    }

    fn list(&mut self, alias: &str, id: &str) -> String {
        let tenant = self.tenant();
        let id = self.text(id);
        format!(
            "EXISTS (SELECT 1 FROM search_reference s JOIN resource l ON l.rid = s.rid WHERE s.tenant = {tenant} \
             AND l.type = 'List' AND l.id = {id} AND l.deleted = 0 AND s.param = 'item' \
             AND s.target_type = {alias}.type AND s.target_id = {alias}.id)"
        )
    }

    /// The SQL expression a sort key orders by and its type; never NULL, so keyset comparisons
    /// stay simple (resources without a value sort last either way).
    pub fn sort_expression(&mut self, sort: &Sort) -> (String, KeyKind) {
        let SortKey::Param { params, table } = &sort.key else {
            return match sort.key {
                SortKey::Id => ("r.id".to_owned(), KeyKind::Text),
                _ => ("r.last_updated".to_owned(), KeyKind::Int),
            };
        };
        let (column, kind) = match (table, sort.descending) {
            (IndexTable::Token, _) => ("code", KeyKind::Text),
            (IndexTable::String, _) => ("normalized", KeyKind::Text),
            (IndexTable::Date, false) => ("low", KeyKind::Int),
            (IndexTable::Date, true) => ("high", KeyKind::Int),
            (IndexTable::Number | IndexTable::Quantity, _) => ("value", KeyKind::Real),
            (IndexTable::Reference, _) => ("target_id", KeyKind::Text),
            (IndexTable::Uri, _) => ("uri", KeyKind::Text),
            (IndexTable::Composite, _) => ("c0_code", KeyKind::Text),
        };
        let aggregate = if sort.descending { "MAX" } else { "MIN" };
        let fallback = self.dialect.sort_fallback(kind, sort.descending);
        let param = self.one_of(params);
        let expression = if *table == IndexTable::Date {
            // The envelope row holds exactly the least low and greatest high: one covering index
            // seek per resource instead of aggregating its date rows (2 s → see ARCHITECTURE.md).
            format!(
                "COALESCE((SELECT e.{column} FROM search_date_envelope e WHERE e.rid = r.rid AND e.param {param}), \
                 {fallback})"
            )
        } else {
            format!(
                "COALESCE((SELECT {aggregate}(s.{column}) FROM {} s WHERE s.rid = r.rid AND s.param {param}), {fallback})",
                table_name(*table)
            )
        };
        let expression = if kind == KeyKind::Text { self.dialect.bytewise(&expression) } else { expression };
        (expression, kind)
    }
}

/// The parameters of filters that are one filter asked of several parameters' rows (what
/// parsing makes of a union parameter, `fhir_search::IndexedParam::stored_as`), so that they
/// become one index probe (`param IN (…)`) rather than one probe per parameter joined by `OR`,
/// which no index serves: the first filter and every parameter. `Any` of positive filters is
/// their rows' union; `All` of negative ones (no row matches) is the negation of that union.
fn one_probe(filters: &[Filter], any: bool) -> Option<(&Filter, Vec<String>)> {
    let (first, rest) = filters.split_first()?;
    let param = first.index_param()?;
    if first.is_negative() == any || matches!(first, Filter::Date { .. }) {
        return None;
    }
    let mut params = vec![param.to_owned()];
    for other in rest {
        let other_param = other.index_param()?;
        if other.with_index_param(param).as_ref() != Some(first) {
            return None;
        }
        params.push(other_param.to_owned());
    }
    Some((first, params))
}

#[cfg(test)]
mod tests {
    use fhir_search::{Filter, TokenMatch};

    use super::Sql;
    use crate::dialect::Dialect;

    fn token(param: &str, code: &str, negate: bool) -> Filter {
        Filter::Token { param: param.to_owned(), values: vec![TokenMatch::Code(code.to_owned())], negate }
    }

    fn translate(filter: &Filter) -> String {
        let types = ["Observation".to_owned()];
        let mut sql = Sql::scoped(Dialect::Sqlite, "default", &types);
        sql.clause("r", &types, filter)
    }

    /// A union parameter's filter (one filter per part) is one index probe over the parts'
    /// rows, so an index serves it; anything else keeps one probe per filter.
    #[test]
    fn a_filter_asked_of_several_parameters_is_one_probe() {
        let union =
            translate(&Filter::Any(vec![token("code", "8480-6", false), token("component-code", "8480-6", false)]));
        assert_eq!(union.matches("SELECT").count(), 1, "{union}");
        assert!(union.contains("s.param IN (") && union.starts_with("r.rid IN ("), "{union}");
        let negated = translate(&Filter::All(vec![token("code", "x", true), token("component-code", "x", true)]));
        assert_eq!(negated.matches("SELECT").count(), 1, "{negated}");
        assert!(negated.starts_with("r.rid NOT IN ("), "{negated}");
        let different = translate(&Filter::Any(vec![token("code", "a", false), token("component-code", "b", false)]));
        assert_eq!(different.matches("SELECT").count(), 2, "{different}");
        let mixed = translate(&Filter::All(vec![token("code", "x", false), token("component-code", "x", false)]));
        assert_eq!(mixed.matches("SELECT").count(), 2, "all of positive filters is not a union: {mixed}");
    }
}
