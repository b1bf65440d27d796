//! Which filters of a search find its candidates and which check them.
//!
//! SQLite lists every match of an `rid IN (…)` filter before using any. Beside a selective
//! filter, a frequent one costs its whole list: `Observation?category=laboratory&subject=…`
//! listed the laboratory results of every patient (117 ms at a million resources) to keep one
//! patient's. So the backend first counts each index filter's rows, up to a limit
//! (`Sql::selectivity_probe`); the least frequent finds the candidates, and the others check
//! each candidate's own rows (`Sql::filter_checked`).
//!
//! When every filter is frequent and the page is in storage order (no `_sort`), listing is
//! wasted too: `Observation?status=final&_count=10` listed 490,000 rows (280 ms) for ten. Then
//! the backend first walks the resources in order, each filter checking each, but only through
//! a bounded number of them (`Plan::scan`); a page it does not fill there (matches that are
//! rare early on) is found by a longer walk or by listing, as the backend decides. A page sorted
//! by a date parameter is walked the same way, through the date envelopes (`crate::walk`).

use fhir_search::Filter;

use crate::dialect::Dialect;
use crate::translate::{Sql, Statement};

/// Up to how many index rows a filter is counted: about 0.3 ms for a frequent code. A filter
/// with fewer finds its candidates faster than any check could.
pub const SELECTIVITY_PROBE_LIMIT: usize = 10_000;

/// A walk visits up to this many resources per resource of the page (a filter that 2.5 % of
/// the resources pass fills its page)…
pub const WALK_PER_MATCH: usize = 40;

/// …and never more than this many: the most a walk that finds too little wastes (about 6 ms at
/// a million resources on SQLite).
pub const WALK_MAX: usize = 5_000;

/// How far a walk for a page of `count` goes: `per_match` resources per row of the page (one
/// more than `count`, to know whether a next page exists), at most `max`.
pub fn walk_budget(count: usize, per_match: usize, max: usize) -> usize {
    per_match.saturating_mul(count.saturating_add(1)).min(max)
}

/// What the planner knows of one filter before running anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Weighing {
    /// Count its index rows with this statement.
    Probe(Statement),
    /// Few candidates by its nature: ids, one compartment, one list.
    Few,
    /// Unknown, and its form is its own (chains, `_has`, dates, negations).
    Fixed,
}

/// The planner's view of one filter after probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// How many index rows matched, counted up to `SELECTIVITY_PROBE_LIMIT`.
    Counted(usize),
    Few,
    Fixed,
}

/// How to learn the weight of each of `filters`, counting up to `limit` rows; a single filter
/// needs none unless the page could be found by a walk (`walkable`).
pub fn weighings(
    dialect: Dialect,
    tenant: &str,
    types: &[String],
    filters: &[Filter],
    limit: usize,
    walkable: bool,
) -> Vec<Weighing> {
    if filters.len() < 2 && !walkable {
        return vec![Weighing::Fixed; filters.len()];
    }
    filters
        .iter()
        .map(|filter| match filter {
            Filter::Id(_) | Filter::Compartment { .. } | Filter::List(_) => Weighing::Few,
            other => {
                Sql::selectivity_probe(dialect, tenant, types, other, limit).map_or(Weighing::Fixed, Weighing::Probe)
            }
        })
        .collect()
}

/// How a search's page is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// For each filter, whether it checks candidates (`Sql::filter_checked`) rather than
    /// finding them, when the page is found by listing.
    pub checked: Vec<bool>,
    /// Whether to try a bounded walk in storage order first, every filter checking.
    pub scan: bool,
}

/// In what order a walk could visit the candidates (`Plan::scan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// None: the page is sorted otherwise, or a total is asked (it counts every match anyway).
    No,
    /// Storage order (no `_sort`): a walk helps only a search with filters.
    Storage,
    /// One date parameter (`crate::walk`): even a search without filters lists everything.
    Date,
}

/// The plan for filters of these weights (counted up to `limit`). The counted filter with the
/// fewest rows under the limit finds the candidates and every other counted filter checks.
/// Without one, a filter of few candidates finds them; without that either, the counted filter
/// with the fewest rows (the first of equals) lists its matches and the rest check, so no search
/// lists more than one frequent filter's matches, and if every filter is counted and a walk is
/// possible, it is tried first.
pub fn plan(weights: &[Weight], limit: usize, walk: Walk) -> Plan {
    let counted = || {
        weights.iter().enumerate().filter_map(|(i, w)| if let Weight::Counted(n) = w { Some((i, *n)) } else { None })
    };
    let selective = counted().filter(|&(_, n)| n < limit).min_by_key(|&(_, n)| n).map(|(i, _)| i);
    let least = || counted().min_by_key(|&(_, n)| n).map(|(i, _)| i);
    let finder = selective.or_else(|| if weights.contains(&Weight::Few) { None } else { least() });
    let checked =
        weights.iter().enumerate().map(|(i, w)| matches!(w, Weight::Counted(_)) && Some(i) != finder).collect();
    let frequent = counted().count() == weights.len() && selective.is_none();
    let scan = match walk {
        Walk::No => false,
        Walk::Storage => frequent && !weights.is_empty(),
        Walk::Date => frequent,
    };
    Plan { checked, scan }
}

#[cfg(test)]
mod tests {
    use super::{SELECTIVITY_PROBE_LIMIT as LIMIT, Walk, Weight, plan};

    fn checked_filters(weights: &[Weight]) -> Vec<bool> {
        plan(weights, LIMIT, Walk::No).checked
    }

    #[test]
    fn the_least_frequent_filter_finds_and_the_others_check() {
        use Weight::{Counted, Few, Fixed};
        assert_eq!(checked_filters(&[Counted(LIMIT), Counted(150)]), [true, false]);
        assert_eq!(checked_filters(&[Counted(40), Counted(150), Fixed]), [false, true, false]);
        assert_eq!(checked_filters(&[Counted(LIMIT), Few]), [true, false], "ids find");
        assert_eq!(checked_filters(&[Counted(12), Few]), [false, false], "a selective filter still finds");
        assert_eq!(checked_filters(&[Counted(LIMIT), Counted(LIMIT), Fixed]), [false, true, false]);
        assert_eq!(checked_filters(&[Counted(5 * LIMIT), Counted(2 * LIMIT)]), [true, false], "recounted");
        assert_eq!(checked_filters(&[Fixed, Fixed]), [false, false]);
        assert_eq!(checked_filters(&[Counted(3)]), [false]);
    }

    #[test]
    fn only_frequent_filters_in_storage_order_walk() {
        use Weight::{Counted, Few, Fixed};
        let storage = Walk::Storage;
        assert!(plan(&[Counted(LIMIT)], LIMIT, storage).scan);
        assert!(plan(&[Counted(LIMIT), Counted(LIMIT)], LIMIT, storage).scan);
        assert!(!plan(&[Counted(LIMIT)], LIMIT, Walk::No).scan, "sorted otherwise");
        assert!(!plan(&[Counted(LIMIT), Counted(9)], LIMIT, storage).scan, "a selective filter finds");
        assert!(!plan(&[Counted(LIMIT), Fixed], LIMIT, storage).scan, "a chain or a date lists its own");
        assert!(!plan(&[Counted(LIMIT), Few], LIMIT, storage).scan);
        assert!(!plan(&[], LIMIT, storage).scan, "storage order is the index's own");
        assert!(plan(&[], LIMIT, Walk::Date).scan, "a date order is not");
        assert!(!plan(&[Counted(9)], LIMIT, Walk::Date).scan);
    }
}
