//! Where a walk in date order stops. A search sorted by a date parameter (`_sort=-date`) lists
//! every match to sort it: all 491,652 Observations for `Observation?_sort=-date&_count=10`
//! (190 ms at a million resources). A walk takes only the resources whose date envelope lies
//! past a threshold instead, found through the envelope's window index (`fhir_search::window`):
//! per span class, the `low` of the `budget`-th envelope in sort order after the cursor. The
//! walk stops at the one of those thresholds nearest the head of the order (the greatest
//! descending, the least ascending), so it sees at most `budget` envelopes of each class
//! ascending (`low <= T`). Descending, it sees of a class of spans at most `w` long at most
//! `budget` plus those starting within `w` before `T` (`high >= T` implies `low >= T - w`). The
//! open class (spans longer than a year) has no such bound descending: its rows are counted,
//! and too many stop the walk.

use fhir_search::{DateWindow, IndexTable, OPEN_SPAN_CLASS, SPAN_LIMITS, SearchQuery, Sort, SortKey, TotalMode};

use crate::dialect::{Bound, Dialect, KeyKind};
use crate::drive::Walk;
use crate::keyset::decode_cursor;
use crate::translate::{Sql, Statement};

/// Whether and how a query's page could be found by a walk: not with a total (it counts every
/// match anyway), an empty page, or several types (no index holds their resources in one
/// order, so placing the walk's end would sort them all); in storage order without `_sort`; by
/// date when sorted by one date parameter stored as itself.
pub fn walk_order(query: &SearchQuery) -> Walk {
    if query.count == 0 || query.total != TotalMode::None || query.types.len() != 1 {
        return Walk::No;
    }
    match query.sort.as_slice() {
        [] => Walk::Storage,
        [Sort { key: SortKey::Param { params, table: IndexTable::Date }, .. }] if params.len() == 1 => Walk::Date,
        _ => Walk::No,
    }
}

/// A walk in date order: the sort's parameter and direction, the cursor's key, and the
/// statements that place the threshold.
pub struct DateWalk {
    pub param: String,
    pub descending: bool,
    /// The key of the cursor's row, when paging on.
    pub after: Option<i64>,
    pub probes: DateWalkProbes,
}

impl DateWalk {
    /// `None` when the query is not sorted by one date or its cursor is past the resources with
    /// a value (their key is the missing-value one): listing answers those.
    pub fn new(dialect: Dialect, tenant: &str, query: &SearchQuery, budget: usize) -> Option<DateWalk> {
        let [Sort { key: SortKey::Param { params, .. }, descending }] = query.sort.as_slice() else { return None };
        let [param] = params.as_slice() else { return None };
        let after = match query.cursor.as_deref() {
            None => None,
            Some(cursor) => match decode_cursor(cursor, &[KeyKind::Int, KeyKind::Int]).as_deref() {
                Some([Bound::Int(key), _]) => Some(*key),
                _ => return None,
            },
        };
        let probes = date_walk_probes(dialect, tenant, &query.types, param, *descending, after, budget);
        Some(DateWalk { param: param.clone(), descending: *descending, after, probes })
    }

    /// The window the walk covers, from what `probes.class_lows` answered, in their order.
    pub fn window(&self, class_lows: &[Option<i64>]) -> DateWindow {
        date_walk_window(&self.param, self.descending, self.after, class_lows)
    }
}

/// The statements that place a date walk's threshold.
pub struct DateWalkProbes {
    /// Per span class, a statement answering the `low` of the `budget`-th envelope of that class
    /// in sort order after the cursor, or no row.
    pub class_lows: Vec<Statement>,
    /// Descending only: counts the open class's envelopes after the cursor, up to `budget + 1`.
    pub open_count: Option<Statement>,
}

/// Envelopes of one class in sort order after `after` (the cursor's key value).
fn class_scan(
    dialect: Dialect,
    tenant: &str,
    types: &[String],
    param: &str,
    class: i16,
    descending: bool,
    after: Option<i64>,
) -> Sql {
    let mut sql = Sql::bare(dialect, tenant);
    let tenant = sql.tenant();
    let types = sql.one_of(types);
    let param = sql.text(param);
    let class = sql.bind(Bound::Int(class.into()));
    sql.clauses.push(format!("e.tenant = {tenant} AND e.type {types} AND e.param = {param} AND e.span = {class}"));
    if let Some(after) = after {
        // Descending, what follows has `high <= after`, so `low <= after`; ascending `low >= after`.
        let after = sql.bind(Bound::Int(after));
        sql.clauses.push(format!("e.low {} {after}", if descending { "<=" } else { ">=" }));
    }
    sql
}

fn date_walk_probes(
    dialect: Dialect,
    tenant: &str,
    types: &[String],
    param: &str,
    descending: bool,
    after: Option<i64>,
    budget: usize,
) -> DateWalkProbes {
    let order = if descending { "DESC" } else { "ASC" };
    let classes = (0_i16..).take(SPAN_LIMITS.len()).chain((!descending).then_some(OPEN_SPAN_CLASS));
    let class_lows = classes
        .map(|class| {
            let sql = class_scan(dialect, tenant, types, param, class, descending, after);
            let text = format!(
                "SELECT e.low FROM search_date_envelope e WHERE {} ORDER BY e.low {order} LIMIT 1 OFFSET {budget}",
                sql.where_sql()
            );
            Statement { sql: text, values: sql.values }
        })
        .collect();
    let open_count = descending.then(|| {
        let sql = class_scan(dialect, tenant, types, param, OPEN_SPAN_CLASS, descending, after);
        let limit = budget.saturating_add(1);
        let text = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM search_date_envelope e WHERE {} LIMIT {limit}) probe",
            sql.where_sql()
        );
        Statement { sql: text, values: sql.values }
    });
    DateWalkProbes { class_lows, open_count }
}

/// The window a walk covers, from what the class probes answered (`None`: the class has fewer
/// than `budget` envelopes after the cursor, so all of them are in): descending, envelopes
/// reaching the greatest of the class thresholds; ascending, starting by the least of them.
fn date_walk_window(param: &str, descending: bool, after: Option<i64>, class_lows: &[Option<i64>]) -> DateWindow {
    let found = class_lows.iter().flatten().copied();
    let param = param.to_owned();
    if descending {
        let threshold = found.max().unwrap_or(i64::MIN);
        DateWindow { param, high_from: threshold, low_to: after.unwrap_or(i64::MAX) }
    } else {
        let threshold = found.min().unwrap_or(i64::MAX);
        DateWindow { param, high_from: after.unwrap_or(i64::MIN), low_to: threshold }
    }
}

#[cfg(test)]
mod tests {
    use fhir_search::{SearchQuery, TotalMode};

    use super::{Walk, date_walk_window, walk_order};

    #[test]
    fn only_one_type_in_storage_or_date_order_walks() {
        let mut query = SearchQuery::new("Observation");
        assert_eq!(walk_order(&query), Walk::Storage);
        query.types.push("Condition".into());
        assert_eq!(walk_order(&query), Walk::No, "two types");
        let mut counted = SearchQuery::new("Observation");
        counted.total = TotalMode::Accurate;
        assert_eq!(walk_order(&counted), Walk::No, "a total counts every match anyway");
    }

    #[test]
    fn the_window_stops_at_the_class_threshold_nearest_the_head() {
        let descending = date_walk_window("date", true, Some(900), &[Some(500), None, Some(700)]);
        assert_eq!((descending.high_from, descending.low_to), (700, 900));
        let ascending = date_walk_window("date", false, None, &[Some(500), None, Some(700), None]);
        assert_eq!((ascending.high_from, ascending.low_to), (i64::MIN, 500));
        let all = date_walk_window("date", true, None, &[None, None, None]);
        assert_eq!((all.high_from, all.low_to), (i64::MIN, i64::MAX));
    }
}
