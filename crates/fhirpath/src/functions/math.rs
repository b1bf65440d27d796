//! Math: `abs`, `ceiling`, `floor`, `truncate`, `round`, `exp`, `ln`, `log`, `power`, `sqrt`,
//! and `precision`. Exact decimal arithmetic except for the transcendental functions.

use super::{FnDef, arg, eager, opt, single, single_int};
use crate::datetime::{Kind, Precision};
use crate::decimal::Decimal;
use crate::error::{Error, fail};
use crate::eval::Evaluator;
use crate::quantity::Quantity;
use crate::value::{Collection, Item, Scalar};

pub(super) const FUNCTIONS: &[FnDef] = &[
    eager("abs", 0, 0, abs),
    eager("ceiling", 0, 0, |_, i, _| integral(&i, "ceiling", Decimal::ceiling)),
    eager("floor", 0, 0, |_, i, _| integral(&i, "floor", Decimal::floor)),
    eager("truncate", 0, 0, |_, i, _| integral(&i, "truncate", Decimal::truncate)),
    eager("round", 0, 1, round),
    eager("exp", 0, 0, |_, i, _| float(&i, "exp", f64::exp)),
    eager("ln", 0, 0, |_, i, _| float(&i, "ln", f64::ln)),
    eager("sqrt", 0, 0, |_, i, _| float(&i, "sqrt", f64::sqrt)),
    eager("log", 1, 1, log),
    eager("power", 1, 1, power),
    eager("precision", 0, 0, precision),
];

/// The number of a singleton numeric input (`None` when empty).
fn number(items: &[Item<'_>], name: &str) -> Result<Option<Decimal>, Error> {
    let Some(item) = single(items, name)? else {
        return Ok(None);
    };
    match item.scalar() {
        Some(Scalar::Int(i)) => Ok(Some(Decimal::from_i64(i))),
        Some(Scalar::Dec(d)) => Ok(Some(d)),
        _ => fail(format!("{name}() needs a number, got {}", item.type_name())),
    }
}

fn abs<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let Some(item) = single(&input, "abs")? else {
        return Ok(Vec::new());
    };
    Ok(vec![match item.scalar() {
        Some(Scalar::Int(i)) => Item::Integer(i.checked_abs().map_or_else(|| fail("arithmetic overflow"), Ok)?),
        Some(Scalar::Dec(d)) => Item::Decimal(d.abs()),
        Some(Scalar::Quantity(q)) => Item::Quantity(Quantity::new(q.value.abs(), q.unit)),
        _ => return fail(format!("abs() needs a number, got {}", item.type_name())),
    }])
}

fn integral<'a>(input: &[Item<'a>], name: &str, f: fn(Decimal) -> Option<Decimal>) -> Result<Collection<'a>, Error> {
    let Some(d) = number(input, name)? else {
        return Ok(Vec::new());
    };
    Ok(opt(f(d).and_then(Decimal::to_i64).map(Item::Integer)))
}

fn round<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let Some(d) = number(&input, "round")? else {
        return Ok(Vec::new());
    };
    let digits = single_int(arg(&args, 0), "round")?.unwrap_or(0);
    let Ok(digits) = u32::try_from(digits) else {
        return fail("round() needs a non-negative precision");
    };
    Ok(opt(d.round(digits).map(Item::Decimal)))
}

fn from_float<'a>(v: f64) -> Collection<'a> {
    opt(Decimal::from_f64(v).map(Item::Decimal))
}

fn float<'a>(input: &[Item<'a>], name: &str, f: fn(f64) -> f64) -> Result<Collection<'a>, Error> {
    let Some(d) = number(input, name)? else {
        return Ok(Vec::new());
    };
    Ok(from_float(f(d.to_f64())))
}

fn log<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let (Some(x), Some(base)) = (number(&input, "log")?, number(arg(&args, 0), "log")?) else {
        return Ok(Vec::new());
    };
    Ok(from_float(x.to_f64().ln() / base.to_f64().ln()))
}

fn power<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let (Some(x), Some(y)) = (number(&input, "power")?, number(arg(&args, 0), "power")?) else {
        return Ok(Vec::new());
    };
    let ints = matches!(
        (input.first().and_then(Item::scalar), args.first().and_then(|a| a.first()).and_then(Item::scalar)),
        (Some(Scalar::Int(_)), Some(Scalar::Int(_)))
    );
    if ints
        && let (Some(b), Some(e)) = (x.to_i64(), y.to_i64())
        && let Ok(e) = u32::try_from(e)
    {
        return Ok(opt(b.checked_pow(e).map(Item::Integer)));
    }
    Ok(from_float(x.to_f64().powf(y.to_f64())))
}

fn precision<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let Some(item) = single(&input, "precision")? else {
        return Ok(Vec::new());
    };
    let digits = match item.scalar() {
        Some(Scalar::Dec(d)) => i64::from(d.scale()),
        Some(Scalar::Int(_)) => 0,
        Some(Scalar::Temporal(t)) => {
            let date = match t.precision {
                Precision::Year => 4,
                Precision::Month => 6,
                Precision::Day => 8,
                Precision::Hour => 10,
                Precision::Minute => 12,
                Precision::Second => 14,
                Precision::Millisecond => 17,
            };
            if t.kind == Kind::Time { date - 8 } else { date }
        }
        _ => {
            return fail(format!("precision() is not defined for {}", item.type_name()));
        }
    };
    Ok(vec![Item::Integer(digits)])
}
