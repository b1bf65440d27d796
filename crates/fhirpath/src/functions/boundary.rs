//! Precision boundaries (FHIRPath 2.0, used by FHIR invariants such as `per-1`):
//! `lowBoundary`, `highBoundary`, and `comparable` for quantities.

use super::{FnDef, arg, boolean, eager, opt, single, single_int};
use crate::datetime::{Kind, Precision, Temporal};
use crate::decimal::Decimal;
use crate::error::{Error, fail};
use crate::eval::Evaluator;
use crate::quantity::Quantity;
use crate::value::{Collection, Item, Scalar};

pub(super) const FUNCTIONS: &[FnDef] = &[
    eager("lowBoundary", 0, 1, |_, i, a| boundary(&i, &a, false)),
    eager("highBoundary", 0, 1, |_, i, a| boundary(&i, &a, true)),
    eager("comparable", 1, 1, comparable),
];

/// The boundary of a non-negative decimal: half a unit of its last digit away, to `digits`.
fn positive_boundary(d: Decimal, digits: u32, high: bool) -> Option<Decimal> {
    let half = Decimal::new(5, d.scale() + 1);
    if high {
        d.checked_add(half)?.round(digits)
    } else {
        let low = d.checked_sub(half)?;
        let floored = low.round(digits + 1).and_then(|x| x.checked_sub(Decimal::new(5, digits + 1)))?;
        // floor(low, digits): subtracting half a unit then rounding half-up is a floor.
        if low.round(digits)?.cmp_value(&low) == std::cmp::Ordering::Greater {
            floored.round(digits)
        } else {
            low.round(digits)
        }
    }
}

fn decimal_boundary(d: Decimal, digits: u32, high: bool) -> Option<Decimal> {
    if d.is_negative() {
        positive_boundary(d.negated(), digits, !high).map(Decimal::negated)
    } else {
        positive_boundary(d, digits, high)
    }
}

fn temporal_precision(kind: Kind, digits: i64) -> Option<Precision> {
    let digits = if kind == Kind::Time { digits + 8 } else { digits };
    Some(match digits {
        4 => Precision::Year,
        6 => Precision::Month,
        8 => Precision::Day,
        10 => Precision::Hour,
        12 => Precision::Minute,
        14 => Precision::Second,
        17 => Precision::Millisecond,
        _ => return None,
    })
}

fn temporal_boundary(t: Temporal, digits: Option<i64>, high: bool) -> Option<Temporal> {
    let target = match digits {
        Some(d) => temporal_precision(t.kind, d)?,
        None => Precision::Millisecond,
    };
    let mut out = t;
    let known = t.precision;
    if high {
        if known < Precision::Month {
            out.month = 12;
        }
        if known < Precision::Day {
            out.day = crate::datetime::days_in_month(out.year, out.month.max(1));
        }
        if known < Precision::Hour {
            out.hour = 23;
        }
        if known < Precision::Minute {
            out.minute = 59;
        }
        if known < Precision::Second {
            out.second = 59;
        }
        if known < Precision::Millisecond {
            out.millisecond = 999;
        }
    } else {
        out.month = out.month.max(1);
        out.day = out.day.max(1);
    }
    if t.kind == Kind::Date && target > Precision::Day {
        out.kind = Kind::DateTime;
    }
    if out.kind == Kind::DateTime && target >= Precision::Hour && out.offset.is_none() {
        out.offset = Some(if high { -12 * 60 } else { 14 * 60 });
    }
    let mut result = out.with_precision(target);
    if out.kind == Kind::DateTime && target <= Precision::Day {
        result.kind = Kind::Date;
        result.offset = None;
    }
    Some(result)
}

fn boundary<'a>(input: &[Item<'a>], args: &[Collection<'a>], high: bool) -> Result<Collection<'a>, Error> {
    let Some(item) = single(input, "boundary")? else {
        return Ok(Vec::new());
    };
    let digits = single_int(arg(args, 0), "boundary")?;
    let decimal_digits = || u32::try_from(digits.unwrap_or(8)).ok().filter(|d| *d <= 28);
    Ok(opt(match item.scalar() {
        Some(Scalar::Int(i)) => {
            decimal_digits().and_then(|p| decimal_boundary(Decimal::from_i64(i), p, high)).map(Item::Decimal)
        }
        Some(Scalar::Dec(d)) => decimal_digits().and_then(|p| decimal_boundary(d, p, high)).map(Item::Decimal),
        Some(Scalar::Quantity(q)) => decimal_digits()
            .and_then(|p| decimal_boundary(q.value, p, high))
            .map(|v| Item::Quantity(Quantity::new(v, q.unit))),
        Some(Scalar::Temporal(t)) => temporal_boundary(t, digits, high).map(Item::Temporal),
        _ => {
            return fail(format!("boundaries are not defined for {}", item.type_name()));
        }
    }))
}

fn comparable<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let (Some(a), Some(b)) = (single(&input, "comparable")?, single(arg(&args, 0), "comparable")?) else {
        return Ok(Vec::new());
    };
    match (a.scalar(), b.scalar()) {
        (Some(Scalar::Quantity(p)), Some(Scalar::Quantity(q))) => Ok(boolean(p.compare(&q).is_some())),
        _ => fail("comparable() needs quantities"),
    }
}
