//! Operators: equality and equivalence, comparison, arithmetic, collections and membership,
//! with the specification's empty-collection rules.

use std::cmp::Ordering;

use crate::ast::BinOp;
use crate::datetime::Kind;
use crate::decimal::Decimal;
use crate::error::{Error, fail};
use crate::quantity::{Quantity, calendar_keyword, ucum_to_calendar};
use crate::value::{Collection, Item, Scalar, primitive_kind};

fn num_pair(a: &Scalar<'_>, b: &Scalar<'_>) -> Option<(Decimal, Decimal)> {
    let d = |s: &Scalar<'_>| match s {
        Scalar::Int(i) => Some(Decimal::from_i64(*i)),
        Scalar::Dec(d) => Some(*d),
        _ => None,
    };
    Some((d(a)?, d(b)?))
}

/// `=` on two items: `None` when the answer is unknown (different precisions, incomparable
/// units, a primitive without value).
pub(crate) fn equal(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    if let (Item::Node(x), Item::Node(y)) = (a, b)
        && !x.is_primitive()
        && !y.is_primitive()
    {
        return Some(x.json == y.json);
    }
    if let (Item::TypeInfo { namespace: n1, name: a1 }, Item::TypeInfo { namespace: n2, name: a2 }) = (a, b) {
        return Some(n1 == n2 && a1 == a2);
    }
    let (x, y) = (a.scalar()?, b.scalar()?);
    if let Some((p, q)) = num_pair(&x, &y) {
        return Some(p == q);
    }
    match (&x, &y) {
        (Scalar::Bool(p), Scalar::Bool(q)) => Some(p == q),
        (Scalar::Str(p), Scalar::Str(q)) => Some(p == q),
        (Scalar::Temporal(p), Scalar::Temporal(q)) => {
            if (p.kind == Kind::Time) != (q.kind == Kind::Time) {
                return Some(false);
            }
            p.compare(q).map(|o| o == Ordering::Equal)
        }
        (Scalar::Quantity(p), Scalar::Quantity(q)) => p.compare(q).map(|o| o == Ordering::Equal),
        _ => Some(false),
    }
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `~` on two items.
pub(crate) fn equivalent(a: &Item<'_>, b: &Item<'_>) -> bool {
    if let (Item::Node(x), Item::Node(y)) = (a, b)
        && !x.is_primitive()
        && !y.is_primitive()
    {
        return x.json == y.json;
    }
    let (Some(x), Some(y)) = (a.scalar(), b.scalar()) else {
        return false;
    };
    if let Some((p, q)) = num_pair(&x, &y) {
        let scale = p.scale().min(q.scale());
        return p.round(scale).zip(q.round(scale)).is_some_and(|(p, q)| p == q);
    }
    match (&x, &y) {
        (Scalar::Bool(p), Scalar::Bool(q)) => p == q,
        (Scalar::Str(p), Scalar::Str(q)) => normalize_ws(p) == normalize_ws(q),
        (Scalar::Temporal(p), Scalar::Temporal(q)) => p.equivalent(q),
        (Scalar::Quantity(p), Scalar::Quantity(q)) => p.equivalent(q),
        _ => false,
    }
}

/// Ordering for `<` and friends; `None` when unknown, an error for incompatible types.
pub(crate) fn compare(a: &Item<'_>, b: &Item<'_>) -> Result<Option<Ordering>, Error> {
    let (Some(x), Some(y)) = (a.scalar(), b.scalar()) else {
        return fail(format!("cannot compare {} with {}", a.type_name(), b.type_name()));
    };
    if let Some((p, q)) = num_pair(&x, &y) {
        return Ok(Some(p.cmp_value(&q)));
    }
    match (&x, &y) {
        (Scalar::Str(p), Scalar::Str(q)) => Ok(Some(p.cmp(q))),
        (Scalar::Temporal(p), Scalar::Temporal(q)) if (p.kind == Kind::Time) == (q.kind == Kind::Time) => {
            Ok(p.compare(q))
        }
        (Scalar::Quantity(p), Scalar::Quantity(q)) => Ok(p.compare(q)),
        _ => fail(format!("cannot compare {} with {}", a.type_name(), b.type_name())),
    }
}

fn singleton<'c, 'a>(items: &'c [Item<'a>], op: &str) -> Result<Option<&'c Item<'a>>, Error> {
    match items {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => fail(format!("operator {op} needs single items, got {}", items.len())),
    }
}

fn overflow<T>() -> Result<T, Error> {
    fail("arithmetic overflow")
}

fn calendar_amount(q: &Quantity) -> Result<(i64, &'static str), Error> {
    let unit = calendar_keyword(&q.unit).or_else(|| ucum_to_calendar(&q.unit));
    let Some(unit) = unit else {
        return fail(format!("'{}' is not a calendar duration", q.unit));
    };
    let amount = q
        .value
        .truncate()
        .and_then(Decimal::to_i64)
        .ok_or_else(|| Error::Evaluation { pos: None, message: "duration too large".into() })?;
    Ok((amount, unit))
}

fn add_scalars<'a>(x: &Scalar<'_>, y: &Scalar<'_>, negate: bool) -> Result<Option<Item<'a>>, Error> {
    let sign = |d: Decimal| if negate { d.negated() } else { d };
    Ok(match (x, y) {
        (Scalar::Int(p), Scalar::Int(q)) => {
            let r = if negate { p.checked_sub(*q) } else { p.checked_add(*q) };
            Some(Item::Integer(r.map_or_else(overflow, Ok)?))
        }
        (Scalar::Str(p), Scalar::Str(q)) if !negate => Some(Item::String(format!("{p}{q}"))),
        (Scalar::Temporal(t), Scalar::Quantity(q)) => {
            let (amount, unit) = calendar_amount(q)?;
            let amount = if negate { -amount } else { amount };
            t.add(amount, unit).map(Item::Temporal)
        }
        (Scalar::Quantity(p), Scalar::Quantity(q)) => {
            let Some(q) = q.converted_to(&p.unit) else {
                return fail(format!("cannot add '{}' and '{}'", p.unit, q.unit));
            };
            p.value.checked_add(sign(q.value)).map(|v| Item::Quantity(Quantity::new(v, p.unit.clone())))
        }
        _ => match num_pair(x, y) {
            Some((p, q)) => Some(Item::Decimal(p.checked_add(sign(q)).map_or_else(overflow, Ok)?)),
            None => return fail("operands of + or - have incompatible types"),
        },
    })
}

fn scale_quantity<'a>(q: &Quantity, by: Decimal, divide: bool) -> Option<Item<'a>> {
    let v = if divide { q.value.checked_div(by)? } else { q.value.checked_mul(by)? };
    Some(Item::Quantity(Quantity::new(v, q.unit.clone())))
}

fn multiply<'a>(x: &Scalar<'_>, y: &Scalar<'_>) -> Result<Option<Item<'a>>, Error> {
    Ok(match (x, y) {
        (Scalar::Int(p), Scalar::Int(q)) => Some(Item::Integer(p.checked_mul(*q).map_or_else(overflow, Ok)?)),
        (Scalar::Quantity(p), Scalar::Quantity(q)) => p.multiply(q).map(Item::Quantity),
        (Scalar::Quantity(p), Scalar::Int(_) | Scalar::Dec(_)) => {
            num_pair(y, y).and_then(|(n, _)| scale_quantity(p, n, false))
        }
        (Scalar::Int(_) | Scalar::Dec(_), Scalar::Quantity(q)) => {
            num_pair(x, x).and_then(|(n, _)| scale_quantity(q, n, false))
        }
        _ => match num_pair(x, y) {
            Some((p, q)) => Some(Item::Decimal(p.checked_mul(q).map_or_else(overflow, Ok)?)),
            None => return fail("operands of * have incompatible types"),
        },
    })
}

fn divide<'a>(op: BinOp, x: &Scalar<'_>, y: &Scalar<'_>) -> Result<Option<Item<'a>>, Error> {
    if op == BinOp::Div {
        return Ok(match (x, y) {
            (Scalar::Quantity(p), Scalar::Quantity(q)) => p.divide(q).map(Item::Quantity),
            (Scalar::Quantity(p), Scalar::Int(_) | Scalar::Dec(_)) => {
                num_pair(y, y).and_then(|(n, _)| scale_quantity(p, n, true))
            }
            _ => match num_pair(x, y) {
                Some((p, q)) => p.checked_div(q).map(Item::Decimal),
                None => return fail("operands of / have incompatible types"),
            },
        });
    }
    let ints = matches!((x, y), (Scalar::Int(_), Scalar::Int(_)));
    let Some((p, q)) = num_pair(x, y) else {
        return fail("operands of div/mod must be numbers");
    };
    Ok(match op {
        BinOp::IntDiv => p.div_trunc(q).and_then(Decimal::to_i64).map(Item::Integer),
        _ if ints => p.checked_rem(q).and_then(Decimal::to_i64).map(Item::Integer),
        _ => p.checked_rem(q).map(Item::Decimal),
    })
}

fn arithmetic<'a>(op: BinOp, l: &[Item<'a>], r: &[Item<'a>]) -> Result<Collection<'a>, Error> {
    let sym = format!("{op:?}");
    let (Some(a), Some(b)) = (singleton(l, &sym)?, singleton(r, &sym)?) else {
        return Ok(Vec::new());
    };
    let (Some(x), Some(y)) = (a.scalar(), b.scalar()) else {
        return fail(format!("cannot apply {sym} to {} and {}", a.type_name(), b.type_name()));
    };
    let result = match op {
        BinOp::Add => add_scalars(&x, &y, false)?,
        BinOp::Sub => match (&x, &y) {
            (Scalar::Str(_), _) | (_, Scalar::Str(_)) => return fail("cannot subtract strings"),
            _ => add_scalars(&x, &y, true)?,
        },
        BinOp::Mul => multiply(&x, &y)?,
        _ => divide(op, &x, &y)?,
    };
    Ok(result.into_iter().collect())
}

fn concat<'a>(l: &[Item<'a>], r: &[Item<'a>]) -> Result<Collection<'a>, Error> {
    let text = |items: &[Item<'a>]| -> Result<String, Error> {
        match singleton(items, "&")? {
            None => Ok(String::new()),
            Some(item) => match item.scalar() {
                Some(Scalar::Str(s)) => Ok(s.into_owned()),
                _ => fail("operands of & must be strings"),
            },
        }
    };
    Ok(vec![Item::String(text(l)? + &text(r)?)])
}

fn comparison<'a>(op: BinOp, l: &[Item<'a>], r: &[Item<'a>]) -> Result<Collection<'a>, Error> {
    let (Some(a), Some(b)) = (singleton(l, "comparison")?, singleton(r, "comparison")?) else {
        return Ok(Vec::new());
    };
    let Some(ord) = compare(a, b)? else {
        return Ok(Vec::new());
    };
    let result = match op {
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Gt => ord == Ordering::Greater,
        BinOp::Le => ord != Ordering::Greater,
        _ => ord != Ordering::Less,
    };
    Ok(vec![Item::Boolean(result)])
}

/// `=` on collections: `None` when unknown.
pub(crate) fn collections_equal(l: &[Item<'_>], r: &[Item<'_>]) -> Option<bool> {
    if l.is_empty() || r.is_empty() {
        return None;
    }
    if l.len() != r.len() {
        return Some(false);
    }
    let mut unknown = false;
    for (a, b) in l.iter().zip(r) {
        match equal(a, b) {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown { None } else { Some(true) }
}

/// `~` on collections: same size and every item has an equivalent (in any order).
pub(crate) fn collections_equivalent(l: &[Item<'_>], r: &[Item<'_>]) -> bool {
    if l.len() != r.len() {
        return false;
    }
    let mut used = vec![false; r.len()];
    l.iter().all(|a| {
        let found = r.iter().enumerate().find(|(i, b)| !used.get(*i).copied().unwrap_or(true) && equivalent(a, b));
        match found {
            Some((i, _)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                true
            }
            None => false,
        }
    })
}

/// Whether `item` is in `items` by equality.
pub(crate) fn contains_item(items: &[Item<'_>], item: &Item<'_>) -> bool {
    items.iter().any(|x| equal(x, item) == Some(true))
}

/// The text of a System string or a string-like FHIR primitive (`string`, `code`, `uri`...):
/// items whose equality is plain string equality.
fn string_key<'i>(item: &'i Item<'_>) -> Option<&'i str> {
    match item {
        Item::String(s) => Some(s),
        Item::Node(n) if primitive_kind(n.type_name()) == Some("String") => n.json?.as_str(),
        _ => None,
    }
}

/// `a | b`: both, without duplicates.
pub(crate) fn union<'a>(l: Collection<'a>, r: Collection<'a>) -> Collection<'a> {
    let all: Collection<'a> = l.into_iter().chain(r).collect();
    if all.len() > 8 {
        // Strings only (`isDistinct()` over codes or fullUrls): hash them instead of comparing
        // every pair.
        let keep: Option<Vec<bool>> = {
            let mut seen = std::collections::HashSet::with_capacity(all.len());
            all.iter().map(|item| string_key(item).map(|key| seen.insert(key))).collect()
        };
        if let Some(keep) = keep {
            return all.into_iter().zip(keep).filter_map(|(item, keep)| keep.then_some(item)).collect();
        }
    }
    let mut out: Collection<'a> = Vec::with_capacity(all.len());
    for item in all {
        if !contains_item(&out, &item) {
            out.push(item);
        }
    }
    out
}

fn membership<'a>(item: &[Item<'a>], set: &[Item<'a>]) -> Result<Collection<'a>, Error> {
    match singleton(item, "in/contains")? {
        None => Ok(Vec::new()),
        Some(one) => Ok(vec![Item::Boolean(contains_item(set, one))]),
    }
}

fn boolean<'a>(v: Option<bool>) -> Collection<'a> {
    v.map(Item::Boolean).into_iter().collect()
}

/// Applies a non-logical binary operator to evaluated operands.
pub(crate) fn apply<'a>(op: BinOp, l: Collection<'a>, r: Collection<'a>) -> Result<Collection<'a>, Error> {
    match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod => arithmetic(op, &l, &r),
        BinOp::Concat => concat(&l, &r),
        BinOp::Union => Ok(union(l, r)),
        BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => comparison(op, &l, &r),
        BinOp::Eq => Ok(boolean(collections_equal(&l, &r))),
        BinOp::Ne => Ok(boolean(collections_equal(&l, &r).map(|b| !b))),
        BinOp::Equiv => Ok(boolean(Some(collections_equivalent(&l, &r)))),
        BinOp::NotEquiv => Ok(boolean(Some(!collections_equivalent(&l, &r)))),
        BinOp::In => membership(&l, &r),
        BinOp::Contains => membership(&r, &l),
        BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies => fail("logical operator outside the evaluator"),
    }
}

/// Negation of a number or quantity.
pub(crate) fn negate<'a>(items: &[Item<'a>]) -> Result<Collection<'a>, Error> {
    let Some(item) = singleton(items, "-")? else {
        return Ok(Vec::new());
    };
    Ok(vec![match item.scalar() {
        Some(Scalar::Int(i)) => Item::Integer(i.checked_neg().map_or_else(overflow, Ok)?),
        Some(Scalar::Dec(d)) => Item::Decimal(d.negated()),
        Some(Scalar::Quantity(q)) => Item::Quantity(Quantity::new(q.value.negated(), q.unit)),
        _ => return fail(format!("cannot negate {}", item.type_name())),
    }])
}
