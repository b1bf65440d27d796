//! Date windows: bounds that a search's date conditions put on every matching resource, so that a
//! backend finds the candidates by index range scans instead of reading a whole parameter.
//!
//! Why: `date=ge2015-03-01&date=lt2015-03-08` is two conditions, and each alone is true of most
//! rows (every date since March 2015; every date before March 8). Each condition may be met by a
//! different value of the resource, so they cannot be merged into one row predicate. They can be
//! bounded through the resource's *envelope* per parameter, `[least low, greatest high]` over
//! its values: every condition implies a bound on one side of it (`ge X` needs a value ending at
//! or after X starts, so the envelope's high is at least that). Two bounds are still two open
//! ranges, but the envelope also records its *span class*: an envelope no longer than a day whose
//! high is at least H starts at or after H minus a day, so within a class the window is a closed
//! range of `low`. The conditions themselves are then checked per candidate, so the answer is
//! exactly the one without a window.

use crate::index::DateEntry;
use crate::ir::{DateCondition, Filter, Prefix};

const DAY: i64 = 86_400_000_000;

/// Class `i` holds envelopes spanning at most `SPAN_LIMITS[i]` microseconds: instants and days,
/// months, years. Longer envelopes (open periods among them) are class [`OPEN_SPAN_CLASS`].
pub const SPAN_LIMITS: [i64; 3] = [DAY, 32 * DAY, 367 * DAY];

/// The class of envelopes longer than every limit; searched by an open range.
pub const OPEN_SPAN_CLASS: i16 = 3;

/// One resource's values of one date parameter, reduced to the range they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateEnvelope {
    pub param: String,
    pub low: i64,
    pub high: i64,
    pub span_class: i16,
}

/// The envelope of each date parameter among `dates`, in order of first appearance. A value whose
/// end is before its start (an invalid period) still lies inside its envelope.
pub fn envelopes(dates: &[DateEntry]) -> Vec<DateEnvelope> {
    let mut out: Vec<DateEnvelope> = Vec::new();
    for date in dates {
        let (low, high) = (date.low.min(date.high), date.low.max(date.high));
        match out.iter_mut().find(|e| e.param == date.param) {
            Some(envelope) => {
                envelope.low = envelope.low.min(low);
                envelope.high = envelope.high.max(high);
            }
            None => out.push(DateEnvelope { param: date.param.clone(), low, high, span_class: 0 }),
        }
    }
    for envelope in &mut out {
        envelope.span_class = span_class(envelope.low, envelope.high);
    }
    out
}

/// The smallest class whose limit the span `high - low` fits in.
pub fn span_class(low: i64, high: i64) -> i16 {
    let span = i128::from(high) - i128::from(low);
    (0_i16..).zip(SPAN_LIMITS).find(|&(_, limit)| span <= i128::from(limit)).map_or(OPEN_SPAN_CLASS, |(class, _)| class)
}

/// What the search's conditions on `param` require of a matching resource's envelope:
/// `high >= high_from` and `low <= low_to`. A necessary condition, never a sufficient one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateWindow {
    pub param: String,
    pub high_from: i64,
    pub low_to: i64,
}

/// One index range of a window: envelopes of `span_class` whose low lies in
/// `[low_from, window.low_to]` (no lower end for the open class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRange {
    pub span_class: i16,
    pub low_from: Option<i64>,
}

impl DateWindow {
    /// The range scans that together find every envelope in the window.
    pub fn class_ranges(&self) -> Vec<ClassRange> {
        let mut ranges: Vec<ClassRange> = (0_i16..)
            .zip(SPAN_LIMITS)
            .map(|(span_class, limit)| ClassRange { span_class, low_from: Some(self.high_from.saturating_sub(limit)) })
            .collect();
        ranges.push(ClassRange { span_class: OPEN_SPAN_CLASS, low_from: None });
        ranges
    }
}

/// The windows of a query's top-level filters: one per date parameter whose single-valued
/// conditions bound the envelope on both sides. A lone `eq` gets none: it is a closed range of
/// the value index already.
pub fn date_windows(filters: &[Filter]) -> Vec<DateWindow> {
    struct Bounds<'a> {
        param: &'a str,
        high_from: Option<i64>,
        low_to: Option<i64>,
        conditions: usize,
        only_eq: bool,
    }
    let mut all: Vec<Bounds<'_>> = Vec::new();
    for filter in filters {
        let Filter::Date { param, values } = filter else { continue };
        let [condition] = values.as_slice() else { continue };
        let (high_from, low_to) = envelope_bounds(condition);
        if high_from.is_none() && low_to.is_none() {
            continue;
        }
        let index = match all.iter().position(|b| b.param == param) {
            Some(index) => index,
            None => {
                all.push(Bounds { param, high_from: None, low_to: None, conditions: 0, only_eq: true });
                all.len() - 1
            }
        };
        let Some(bounds) = all.get_mut(index) else { continue };
        bounds.high_from = bounds.high_from.max(high_from);
        bounds.low_to = match (bounds.low_to, low_to) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        bounds.conditions += 1;
        bounds.only_eq &= condition.prefix == Prefix::Eq;
    }
    all.into_iter()
        .filter(|b| !(b.conditions == 1 && b.only_eq))
        .filter_map(|b| Some(DateWindow { param: b.param.to_owned(), high_from: b.high_from?, low_to: b.low_to? }))
        .collect()
}

/// The envelope bounds one condition implies: `(high at least, low at most)`. Each follows from
/// the condition's row predicate (see `date_condition` in the backends) and `low <= high` of the
/// envelope; `ne` implies nothing.
fn envelope_bounds(condition: &DateCondition) -> (Option<i64>, Option<i64>) {
    let DateCondition { prefix, low, high } = *condition;
    match prefix {
        Prefix::Eq | Prefix::Ap => (Some(low), Some(high)),
        Prefix::Ge => (Some(low), None),
        Prefix::Gt | Prefix::Sa => (Some(high), None),
        Prefix::Le => (None, Some(high)),
        Prefix::Lt | Prefix::Eb => (None, Some(low)),
        Prefix::Ne => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(param: &str, low: i64, high: i64) -> DateEntry {
        DateEntry { param: param.to_owned(), low, high }
    }

    fn condition(prefix: Prefix, low: i64, high: i64) -> Filter {
        Filter::Date { param: "date".to_owned(), values: vec![DateCondition { prefix, low, high }] }
    }

    #[test]
    fn envelopes_cover_every_value_of_a_parameter() {
        let dates = [date("date", 10 * DAY, 11 * DAY), date("other", 0, 1), date("date", 2 * DAY, 3 * DAY)];
        let envelopes = envelopes(&dates);
        assert_eq!(envelopes.len(), 2);
        assert_eq!(envelopes[0], DateEnvelope { param: "date".into(), low: 2 * DAY, high: 11 * DAY, span_class: 1 });
        assert_eq!(envelopes[1].span_class, 0);
    }

    #[test]
    fn open_periods_and_reversed_periods_are_classified_without_overflow() {
        assert_eq!(span_class(i64::MIN, i64::MAX), OPEN_SPAN_CLASS);
        assert_eq!(span_class(0, DAY), 0);
        assert_eq!(span_class(0, DAY + 1), 1);
        assert_eq!(span_class(0, 367 * DAY), 2);
        assert_eq!(span_class(0, 368 * DAY), OPEN_SPAN_CLASS);
        let reversed = envelopes(&[date("period", 5 * DAY, 4 * DAY)]);
        assert_eq!((reversed[0].low, reversed[0].high), (4 * DAY, 5 * DAY));
    }

    #[test]
    fn a_two_sided_range_becomes_a_window_and_a_lone_eq_does_not() {
        let filters = [condition(Prefix::Ge, 100 * DAY, 101 * DAY), condition(Prefix::Lt, 107 * DAY, 108 * DAY)];
        assert_eq!(
            date_windows(&filters),
            vec![DateWindow { param: "date".into(), high_from: 100 * DAY, low_to: 107 * DAY }]
        );
        assert!(date_windows(&[condition(Prefix::Eq, 0, DAY)]).is_empty());
        assert!(date_windows(&[condition(Prefix::Ge, 0, DAY)]).is_empty(), "one side only");
        assert_eq!(date_windows(&[condition(Prefix::Ap, 0, DAY)]).len(), 1);
    }

    #[test]
    fn class_ranges_reach_back_by_each_class_limit() {
        let window = DateWindow { param: "date".into(), high_from: 400 * DAY, low_to: 500 * DAY };
        let ranges = window.class_ranges();
        assert_eq!(ranges.len(), SPAN_LIMITS.len() + 1);
        assert_eq!(ranges[0], ClassRange { span_class: 0, low_from: Some(399 * DAY) });
        assert_eq!(ranges[2], ClassRange { span_class: 2, low_from: Some(33 * DAY) });
        assert_eq!(ranges[3], ClassRange { span_class: OPEN_SPAN_CLASS, low_from: None });
    }

    /// The row predicate of each prefix as the backends state it (`[rl, rh)` stored, `[low, high)`
    /// searched), written out again here so the window is checked against the definition.
    fn row_matches(rl: i64, rh: i64, c: &DateCondition) -> bool {
        let within = rl >= c.low && rh <= c.high;
        match c.prefix {
            Prefix::Eq => within,
            Prefix::Ne => !within,
            Prefix::Gt => rh > c.high,
            Prefix::Lt => rl < c.low,
            Prefix::Ge => rh > c.high || within,
            Prefix::Le => rl < c.low || within,
            Prefix::Sa => rl >= c.high,
            Prefix::Eb => rh <= c.low,
            Prefix::Ap => rl < c.high && rh > c.low,
        }
    }

    fn prefix() -> impl proptest::strategy::Strategy<Value = Prefix> {
        proptest::sample::select(vec![
            Prefix::Eq,
            Prefix::Ne,
            Prefix::Gt,
            Prefix::Lt,
            Prefix::Ge,
            Prefix::Le,
            Prefix::Sa,
            Prefix::Eb,
            Prefix::Ap,
        ])
    }

    proptest::proptest! {
        /// A resource that meets every condition (each by any of its values) lies in the window
        /// and in one of its class ranges: the window never loses a match.
        #[test]
        fn the_window_keeps_every_matching_resource(
            rows in proptest::collection::vec((-20_i64..20, 0_i64..12), 1..4),
            conditions in proptest::collection::vec((prefix(), -20_i64..20, 1_i64..12), 1..4),
        ) {
            let rows: Vec<(i64, i64)> = rows.into_iter().map(|(low, len)| (low * DAY / 4, (low + len) * DAY / 4)).collect();
            let conditions: Vec<DateCondition> = conditions
                .into_iter()
                .map(|(prefix, low, len)| DateCondition { prefix, low: low * DAY / 4, high: (low + len) * DAY / 4 })
                .collect();
            let matches = conditions.iter().all(|c| rows.iter().any(|&(rl, rh)| row_matches(rl, rh, c)));
            let filters: Vec<Filter> = conditions
                .iter()
                .map(|c| Filter::Date { param: "date".to_owned(), values: vec![*c] })
                .collect();
            let dates: Vec<DateEntry> = rows.iter().map(|&(low, high)| date("date", low, high)).collect();
            let envelope = envelopes(&dates).remove(0);
            if matches {
                for window in date_windows(&filters) {
                    proptest::prop_assert!(envelope.high >= window.high_from && envelope.low <= window.low_to);
                    let found = window.class_ranges().iter().any(|range| {
                        range.span_class == envelope.span_class
                            && range.low_from.is_none_or(|from| envelope.low >= from)
                            && envelope.low <= window.low_to
                    });
                    proptest::prop_assert!(found, "{envelope:?} outside every range of {window:?}");
                }
            }
        }
    }
}
