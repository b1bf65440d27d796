//! Running a search: one statement for the page (keyset paging on the sort keys plus `rid`), one
//! for the total if asked, and indexed queries for `_include`/`_revinclude` over the page.

mod include;

use fhir_search::{DateWindow, SearchQuery, TotalMode};
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, Value};
use search_sql::{Bound, DateWalk, Dialect, Sql, Statement, Walk, Weighing, Weight};
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
            // `Dialect::Sqlite` binds a set element by element; an array here is a bug in the
            // statement builder, reported as an error rather than bound as something else.
            Bound::Ints(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "an integer array cannot be bound in SQLite".into(),
                ));
            }
        })
    }
}

fn params(values: &[Bound]) -> impl Iterator<Item = Param<'_>> {
    values.iter().map(Param)
}

pub(crate) fn page(conn: &Connection, tenant: &str, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    page_with(conn, tenant, query, Limits::DEFAULT)
}

/// The planner's thresholds; tests shrink them to reach every plan with little data.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// `_has` starts from its sources when fewer match (`search_sql::HAS_PROBE_LIMIT`).
    has_probe: usize,
    /// Index filters are counted up to this many rows (`search_sql::SELECTIVITY_PROBE_LIMIT`).
    selectivity: usize,
    /// Several filters past `selectivity` are counted again up to this many, to list the least
    /// frequent (about 10 ms for 200,000 rows).
    recount: usize,
    /// A walk in storage order visits up to this many resources per resource of the page…
    scan_per_match: usize,
    /// …and never more than this many: the most a walk that finds too little can waste.
    scan_max: usize,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        has_probe: search_sql::HAS_PROBE_LIMIT,
        selectivity: search_sql::SELECTIVITY_PROBE_LIMIT,
        recount: 200_000,
        scan_per_match: search_sql::WALK_PER_MATCH,
        scan_max: search_sql::WALK_MAX,
    };
}

/// The resources of a page, in order, and the cursor after them.
struct Found {
    resources: Vec<store::StoredResource>,
    rids: Vec<i64>,
    next_cursor: Option<String>,
}

fn page_with(conn: &Connection, tenant: &str, query: &SearchQuery, limits: Limits) -> Result<SearchPage, StoreError> {
    let walk = search_sql::walk_order(query);
    let mut weights = weigh(conn, tenant, query, limits, walk)?;
    let mut walked = None;
    if search_sql::plan(&weights, limits.selectivity, walk).scan {
        let first = walk_budget(query, limits);
        walked = walk_with(conn, tenant, query, limits, walk, first)?;
        if walked.is_none() {
            recount(conn, tenant, query, limits, &mut weights, 1)?;
            // A second, longer walk when listing would cost more still: the matches may only
            // be rare at the head of the order (the newest Observations of the benchmark's
            // copies share one time and one kind).
            let second = first.saturating_mul(16).min(limits.scan_max.saturating_mul(4));
            let listed = weights.iter().filter_map(|w| if let Weight::Counted(n) = w { Some(*n) } else { None }).min();
            if second > first && listed.is_none_or(|n| n > second.saturating_mul(2)) {
                walked = walk_with(conn, tenant, query, limits, walk, second)?;
            }
        }
    }
    let (found, total) = match walked {
        Some(found) => (found, None),
        None => {
            recount(conn, tenant, query, limits, &mut weights, 2)?;
            let checked = search_sql::plan(&weights, limits.selectivity, walk).checked;
            let mut sql = filtered(conn, tenant, query, limits, &checked, None)?;
            let total = match query.total {
                TotalMode::None => None,
                TotalMode::Estimate | TotalMode::Accurate => Some(count(conn, &sql)?),
            };
            if query.count == 0 {
                (Found { resources: Vec::new(), rids: Vec::new(), next_cursor: None }, total)
            } else {
                (find(conn, query, &mut sql)?, total)
            }
        }
    };
    let (included, include_truncated) = include::run(conn, tenant, query, &found.rids)?;
    Ok(SearchPage { resources: found.resources, next_cursor: found.next_cursor, total, included, include_truncated })
}

/// The query's filters as a WHERE clause, `checked[i]` saying how filter `i` is asked, within
/// `walk_window` if given.
fn filtered(
    conn: &Connection,
    tenant: &str,
    query: &SearchQuery,
    limits: Limits,
    checked: &[bool],
    walk_window: Option<DateWindow>,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::scoped(Dialect::Sqlite, tenant, &query.types);
    let mut windows = fhir_search::date_windows(&query.filters);
    windows.extend(walk_window);
    sql.date_windows(&query.types, &windows);
    let probes = Sql::has_probes(Dialect::Sqlite, tenant, &query.filters, limits.has_probe);
    if !probes.is_empty() {
        let mut few = true;
        for probe in &probes {
            few &= count_of(conn, probe)? < limits.has_probe;
        }
        sql.has_from_sources(few);
    }
    for (i, filter) in query.filters.iter().enumerate() {
        if checked.get(i).copied().unwrap_or(false) {
            sql.filter_checked(&query.types, filter);
        } else {
            sql.filter(&query.types, filter);
        }
    }
    Ok(sql)
}

/// How far a walk goes first: `scan_per_match` resources per resource of the page, at most
/// `scan_max`.
fn walk_budget(query: &SearchQuery, limits: Limits) -> usize {
    search_sql::walk_budget(query.count, limits.scan_per_match, limits.scan_max)
}

/// The page through a walk in `order` of at most `budget` resources, every filter checking
/// each; `None` when the walk ended before the page was full, so that listing must find it.
fn walk_with(
    conn: &Connection,
    tenant: &str,
    query: &SearchQuery,
    limits: Limits,
    order: Walk,
    budget: usize,
) -> Result<Option<Found>, StoreError> {
    // In storage order the walk ends at a rid (`Some(None)`: at the last resource); in date
    // order, at the edge of a window of date envelopes.
    let (end, window) = match order {
        Walk::Storage => (Some(storage_end(conn, tenant, query, budget)?), None),
        Walk::Date => match date_window(conn, tenant, query, budget)? {
            Some(window) => (None, Some(window)),
            None => return Ok(None),
        },
        Walk::No => return Ok(None),
    };
    let all_checked = vec![true; query.filters.len()];
    let mut sql = filtered(conn, tenant, query, limits, &all_checked, window)?;
    if let Some(Some(end)) = end {
        let end = sql.bind(Bound::Int(end));
        sql.clauses.push(format!("r.rid <= {end}"));
    }
    let found = find(conn, query, &mut sql)?;
    // Past the walk's end there may be more matches: only a full page (one more row was seen)
    // is sure, or a walk in storage order that reached the last resource.
    let complete = found.next_cursor.is_some() || end == Some(None);
    Ok(complete.then_some(found))
}

/// The rid `budget` resources after the cursor in storage order, if there are that many.
fn storage_end(conn: &Connection, tenant: &str, query: &SearchQuery, budget: usize) -> Result<Option<i64>, StoreError> {
    let mut scope = Sql::scoped(Dialect::Sqlite, tenant, &query.types);
    search_sql::page_keys(&mut scope, &[], query.cursor.as_deref()).ok_or(StoreError::InvalidCursor)?;
    let sql =
        format!("SELECT r.rid FROM resource r WHERE {} ORDER BY r.rid LIMIT 1 OFFSET {budget}", scope.where_sql());
    first_integer(conn, &Statement { sql, values: scope.values })
}

/// The window of the date envelopes past a threshold (`search_sql::DateWalk`) that a walk
/// sorted by one date parameter covers; `None` when it cannot walk (not such a sort, a cursor
/// past the resources with a date, or too many open periods).
fn date_window(
    conn: &Connection,
    tenant: &str,
    query: &SearchQuery,
    budget: usize,
) -> Result<Option<DateWindow>, StoreError> {
    let Some(walk) = DateWalk::new(Dialect::Sqlite, tenant, query, budget) else { return Ok(None) };
    if let Some(open) = &walk.probes.open_count
        && count_of(conn, open)? > budget
    {
        return Ok(None);
    }
    let mut lows = Vec::with_capacity(walk.probes.class_lows.len());
    for probe in &walk.probes.class_lows {
        lows.push(first_integer(conn, probe)?);
    }
    Ok(Some(walk.window(&lows)))
}

/// Runs the page statement of `sql` (after the query's cursor, in its sort order).
fn find(conn: &Connection, query: &SearchQuery, sql: &mut Sql) -> Result<Found, StoreError> {
    let keys = search_sql::page_keys(sql, &query.sort, query.cursor.as_deref()).ok_or(StoreError::InvalidCursor)?;
    let limit = i64::try_from(query.count).unwrap_or(i64::MAX).saturating_add(1);
    let statement = search_sql::page_statement(&keys, VERSION_COLUMNS, &sql.where_sql(), limit);
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params(&sql.values))).map_err(backend)?;
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
    let next_cursor = if has_more { last_keys.map(|v| search_sql::encode_cursor(&v)) } else { None };
    Ok(Found { resources, rids, next_cursor })
}

/// What the planner knows of each filter (`search_sql::plan`): a bounded count of each index
/// filter's rows.
fn weigh(
    conn: &Connection,
    tenant: &str,
    query: &SearchQuery,
    limits: Limits,
    walk: Walk,
) -> Result<Vec<Weight>, StoreError> {
    let walkable = walk != Walk::No;
    let weighings =
        search_sql::weighings(Dialect::Sqlite, tenant, &query.types, &query.filters, limits.selectivity, walkable);
    let mut weights = Vec::with_capacity(weighings.len());
    for weighing in weighings {
        weights.push(match weighing {
            Weighing::Probe(probe) => Weight::Counted(count_of(conn, &probe)?),
            Weighing::Few => Weight::Few,
            Weighing::Fixed => Weight::Fixed,
        });
    }
    Ok(weights)
}

/// Counts the filters counted as frequent further, up to `limits.recount`, if there are at
/// least `at_least` of them (a count at exactly the first limit was not counted further yet). Before listing, so that the
/// least frequent lists its matches (`category=vital-signs` had 142,548 rows to a height's
/// 28,560: checking each vital sign took 870 ms); after a failed walk, to tell whether a longer
/// one is cheaper than listing. Not before a first walk, which needs no more than "frequent".
fn recount(
    conn: &Connection,
    tenant: &str,
    query: &SearchQuery,
    limits: Limits,
    weights: &mut [Weight],
    at_least: usize,
) -> Result<(), StoreError> {
    let frequent = |w: &Weight| matches!(w, Weight::Counted(n) if *n == limits.selectivity);
    if weights.iter().filter(|w| frequent(w)).count() >= at_least {
        for (filter, weight) in query.filters.iter().zip(weights.iter_mut()) {
            if frequent(weight)
                && let Some(probe) =
                    Sql::selectivity_probe(Dialect::Sqlite, tenant, &query.types, filter, limits.recount)
            {
                *weight = Weight::Counted(count_of(conn, &probe)?);
            }
        }
    }
    Ok(())
}

/// The integer in the first row a statement answers, if it answers a row.
fn first_integer(conn: &Connection, statement: &Statement) -> Result<Option<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(backend)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params(&statement.values))).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => Ok(Some(row.get(0).map_err(backend)?)),
        None => Ok(None),
    }
}

/// The one number a probe statement (`SELECT COUNT(*) …`) answers.
fn count_of(conn: &Connection, probe: &Statement) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(&probe.sql).map_err(backend)?;
    let n: i64 =
        stmt.query_row(rusqlite::params_from_iter(params(&probe.values)), |row| row.get(0)).map_err(backend)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn count(conn: &Connection, sql: &Sql) -> Result<u64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM resource r WHERE {}", sql.where_sql());
    let mut stmt = conn.prepare_cached(&statement).map_err(backend)?;
    let n: i64 = stmt.query_row(rusqlite::params_from_iter(params(&sql.values)), |row| row.get(0)).map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use fhir_search::{
        Filter, IndexEntries, IndexTable, ReferenceEntry, SearchQuery, Sort, SortKey, TokenEntry, TokenMatch,
    };
    use store::{Method, Timestamp, WriteVersion};

    use super::*;

    /// Limits that a few dozen resources reach: every filter of them is frequent.
    const SMALL: Limits = Limits { has_probe: 100, selectivity: 5, recount: 50, scan_per_match: 2, scan_max: 1_000 };

    fn write(conn: &Connection, resource_type: &str, id: &str, index: IndexEntries) -> Result<(), StoreError> {
        let version = WriteVersion {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            version: 1,
            method: Method::Post,
            body: Some(format!("{{\"resourceType\":\"{resource_type}\",\"id\":\"{id}\"}}")),
            index,
        };
        crate::write::write_version(conn, "t", Timestamp::from_micros(0), version).map(|_| ())
    }

    fn observation(code: &str, patient: &str) -> IndexEntries {
        IndexEntries {
            tokens: vec![TokenEntry {
                param: "code".into(),
                system: Some("s".into()),
                code: Some(code.into()),
                text: None,
            }],
            references: vec![ReferenceEntry {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some(patient.into()),
                url: None,
                identifier_system: None,
                identifier_value: None,
            }],
            ..IndexEntries::default()
        }
    }

    /// A database of 90 Observations `o0`…`o89`, each of the code `code_of(o)` and of the
    /// subject `p{o % 7}`.
    fn ninety_observations(code_of: impl Fn(usize) -> &'static str) -> Result<Connection, Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        crate::schema::migrate(&mut conn)?;
        for o in 0_usize..90 {
            write(&conn, "Observation", &format!("o{o}"), observation(code_of(o), &format!("p{}", o % 7)))?;
        }
        Ok(conn)
    }

    fn code_is(code: &str, negate: bool) -> Filter {
        Filter::Token { param: "code".into(), values: vec![TokenMatch::SystemCode("s".into(), code.into())], negate }
    }

    fn subject_is(patient: &str) -> Filter {
        Filter::Reference {
            param: "subject".into(),
            values: vec![fhir_search::ReferenceMatch::Local {
                target_type: Some("Patient".into()),
                id: patient.into(),
            }],
        }
    }

    /// The ids of every page of `query`, following its cursors.
    fn every_page(conn: &Connection, mut query: SearchQuery, limits: Limits) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        loop {
            let page = page_with(conn, "t", &query, limits)?;
            ids.extend(page.resources.into_iter().map(|r| r.id));
            query.cursor = page.next_cursor;
            if query.cursor.is_none() {
                return Ok(ids);
            }
        }
    }

    /// Both `_has` plans (from the sources, from the targets) answer alike, with paging.
    #[test]
    fn both_has_plans_find_the_same_targets() -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        crate::schema::migrate(&mut conn)?;
        for p in 0..30 {
            write(&conn, "Patient", &format!("p{p}"), IndexEntries::default())?;
        }
        for o in 0_usize..120 {
            let code = if o.is_multiple_of(7) { "rare" } else { "common" };
            write(&conn, "Observation", &format!("o{o}"), observation(code, &format!("p{}", (o * 13) % 25)))?;
        }
        for code in ["rare", "common", "absent"] {
            let mut query = SearchQuery::new("Patient");
            query.count = 4;
            query.filters.push(Filter::Has {
                source_type: "Observation".into(),
                param: "subject".into(),
                inner: Box::new(code_is(code, false)),
            });
            let mut answers = Vec::new();
            for limit in [0, usize::MAX] {
                answers.push(every_page(&conn, query.clone(), Limits { has_probe: limit, ..Limits::DEFAULT })?);
            }
            assert_eq!(answers[0], answers[1], "{code}");
            let has_code = |o: usize| if o.is_multiple_of(7) { code == "rare" } else { code == "common" };
            let expected = (0..120).filter(|&o| has_code(o)).map(|o| (o * 13) % 25);
            let expected = expected.collect::<std::collections::BTreeSet<_>>().len();
            assert_eq!(answers[0].len(), expected, "{code}");
        }
        Ok(())
    }

    /// Every filter answers alike whether it finds candidates or checks them, in any
    /// combination, and the planner's choice answers as the plain plan does.
    #[test]
    fn checked_filters_find_what_listed_filters_find() -> Result<(), Box<dyn std::error::Error>> {
        let conn = ninety_observations(|o| if o.is_multiple_of(5) { "rare" } else { "common" })?;
        let (token, subject) = (code_is, subject_is("p3"));
        let common = (0_usize..90).filter(|o| !o.is_multiple_of(5));
        let combinations = [
            (vec![token("common", false), subject.clone()], common.clone().filter(|o| o % 7 == 3).count()),
            (vec![subject.clone(), token("rare", false), token("rare", true)], 0),
            (vec![token("common", false), token("rare", true)], common.count()),
        ];
        let types = vec!["Observation".to_owned()];
        for (filters, expected) in combinations {
            let mut answers = std::collections::BTreeSet::new();
            for mask in 0..1_u32 << filters.len() {
                let mut sql = Sql::scoped(Dialect::Sqlite, "t", &types);
                for (i, filter) in filters.iter().enumerate() {
                    if mask & (1 << i) == 0 { sql.filter(&types, filter) } else { sql.filter_checked(&types, filter) }
                }
                let statement = format!("SELECT r.id FROM resource r WHERE {} ORDER BY r.rid", sql.where_sql());
                let mut stmt = conn.prepare(&statement)?;
                let ids = stmt
                    .query_map(rusqlite::params_from_iter(params(&sql.values)), |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                answers.insert(ids);
            }
            let mut query = SearchQuery::new("Observation");
            query.filters.clone_from(&filters);
            query.count = 1000;
            let planned: Vec<String> = page(&conn, "t", &query)?.resources.into_iter().map(|r| r.id).collect();
            assert_eq!(answers.len(), 1, "{filters:?}: {answers:?}");
            assert!(answers.contains(&planned), "{filters:?}");
            assert_eq!(planned.len(), expected, "{filters:?}");
            let positive = filters.iter().filter(|f| !f.is_negative()).count();
            let walk = search_sql::walk_order(&query);
            let weights = weigh(&conn, "t", &query, Limits::DEFAULT, walk)?;
            let plan = search_sql::plan(&weights, Limits::DEFAULT.selectivity, walk);
            let checks = plan.checked.iter().filter(|c| **c).count();
            assert_eq!(checks, positive - 1, "one positive filter of {filters:?} finds, the others check");
        }
        Ok(())
    }

    /// A walk in storage order answers what listing answers, page by page, whether the
    /// matches come early (the walk fills the page) or late (it gives up and listing finds
    /// them).
    #[test]
    fn a_bounded_walk_pages_like_listing() -> Result<(), Box<dyn std::error::Error>> {
        let conn = ninety_observations(|o| if o < 60 { "early" } else { "late" })?;
        let limits = SMALL;
        let token = |code: &str| code_is(code, false);
        let subject = subject_is("p3");
        let cases = [
            (vec![token("early")], (0..60).collect::<Vec<usize>>(), true),
            (vec![token("late")], (60..90).collect(), false),
            (vec![token("late"), subject], (60..90).filter(|o| o % 7 == 3).collect(), false),
        ];
        for (filters, expected, walks) in cases {
            let mut query = SearchQuery::new("Observation");
            query.filters.clone_from(&filters);
            query.count = 4;
            let weights = weigh(&conn, "t", &query, limits, Walk::Storage)?;
            assert!(search_sql::plan(&weights, limits.selectivity, Walk::Storage).scan, "{filters:?} is frequent");
            assert_eq!(
                walk_with(&conn, "t", &query, limits, Walk::Storage, walk_budget(&query, limits))?.is_some(),
                walks,
                "{filters:?}: the first page by walking"
            );
            let ids = every_page(&conn, query, limits)?;
            let expected: Vec<String> = expected.iter().map(|o| format!("o{o}")).collect();
            assert_eq!(ids, expected, "{filters:?}");
        }
        Ok(())
    }

    /// Sorted by a date, a walk through the envelopes answers what listing answers, page by
    /// page, both ways, over every span class and resources without a date (which come last).
    #[test]
    fn a_date_walk_pages_like_sorting_everything() -> Result<(), Box<dyn std::error::Error>> {
        const DAY: i64 = 86_400_000_000;
        // Shuffled days (some shared), spans of every class, every tenth without a date.
        let date_of = |o: i64| {
            let low = o * 37 % 101 * DAY;
            let span = match o {
                _ if o % 13 == 0 => 500 * DAY,
                _ if o % 11 == 0 => 200 * DAY,
                _ if o % 7 == 0 => 20 * DAY,
                _ => DAY / 2,
            };
            (o % 10 != 9).then_some((low, low + span))
        };
        let is_frequent = |o: i64| o % 4 != 3;
        let mut conn = Connection::open_in_memory()?;
        crate::schema::migrate(&mut conn)?;
        for o in 0_i64..120 {
            let mut index = observation(if is_frequent(o) { "frequent" } else { "other" }, "p1");
            index.dates.extend(date_of(o).map(|(low, high)| fhir_search::DateEntry {
                param: "date".into(),
                low,
                high,
            }));
            write(&conn, "Observation", &format!("o{o}"), index)?;
        }
        let limits = SMALL;
        for descending in [true, false] {
            for filtered in [true, false] {
                let mut query = SearchQuery::new("Observation");
                if filtered {
                    query.filters.push(code_is("frequent", false));
                }
                query.sort = vec![Sort {
                    key: SortKey::Param { params: vec!["date".into()], table: IndexTable::Date },
                    descending,
                }];
                query.count = 4;
                let walk = search_sql::walk_order(&query);
                assert!(search_sql::plan(&weigh(&conn, "t", &query, limits, walk)?, limits.selectivity, walk).scan);
                assert!(
                    walk_with(&conn, "t", &query, limits, Walk::Date, walk_budget(&query, limits))?.is_some(),
                    "the first page is walked"
                );
                let ids = every_page(&conn, query, limits)?;
                let mut expected: Vec<i64> = (0..120).filter(|&o| !filtered || is_frequent(o)).collect();
                // Without a date last; then by the date's far end, the rid breaking ties.
                let sign = if descending { -1 } else { 1 };
                expected.sort_by_key(|&o| match date_of(o) {
                    Some((low, high)) => (0, if descending { -high } else { low }, sign * o),
                    None => (1, 0, sign * o),
                });
                let expected: Vec<String> = expected.iter().map(|o| format!("o{o}")).collect();
                assert_eq!(ids, expected, "descending {descending}, filtered {filtered}");
            }
        }
        Ok(())
    }
}
