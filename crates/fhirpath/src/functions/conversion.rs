//! Conversion: `toBoolean`, `toInteger`, `toDecimal`, `toString`, `toDate`, `toDateTime`,
//! `toTime`, `toQuantity` and their `convertsTo...` tests.

use super::{FnDef, arg, eager, single, single_string};
use crate::datetime::{Kind, Precision, Temporal};
use crate::decimal::Decimal;
use crate::error::Error;
use crate::quantity::{Quantity, calendar_keyword};
use crate::value::{Collection, Item, Scalar};

macro_rules! conversions {
    ($($to:literal, $converts:literal, $f:ident;)*) => {
        pub(super) const FUNCTIONS: &[FnDef] = &[
            $(
                eager($to, 0, 1, |_, input, args| convert(&input, &args, $to, $f, false)),
                eager($converts, 0, 1, |_, input, args| convert(&input, &args, $converts, $f, true)),
            )*
        ];
    };
}

conversions! {
    "toBoolean", "convertsToBoolean", to_boolean;
    "toInteger", "convertsToInteger", to_integer;
    "toDecimal", "convertsToDecimal", to_decimal;
    "toString", "convertsToString", to_string;
    "toDate", "convertsToDate", to_date;
    "toDateTime", "convertsToDateTime", to_datetime;
    "toTime", "convertsToTime", to_time;
    "toQuantity", "convertsToQuantity", to_quantity;
}

type Converter = fn(Scalar<'_>, Option<&str>) -> Option<Item<'static>>;

fn convert<'a>(
    input: &[Item<'a>],
    args: &[Collection<'a>],
    name: &str,
    f: Converter,
    test: bool,
) -> Result<Collection<'a>, Error> {
    let Some(item) = single(input, name)? else {
        return Ok(Vec::new());
    };
    let unit = single_string(arg(args, 0), name)?;
    let converted = item.scalar().and_then(|s| f(s, unit.as_deref()));
    Ok(vec![if test {
        Item::Boolean(converted.is_some())
    } else {
        return Ok(converted.into_iter().collect());
    }])
}

fn to_boolean<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    let b = match s {
        Scalar::Bool(b) => b,
        Scalar::Int(1) => true,
        Scalar::Int(0) => false,
        Scalar::Dec(d) if d == Decimal::from_i64(1) => true,
        Scalar::Dec(d) if d.is_zero() => false,
        Scalar::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => true,
            "false" | "f" | "no" | "n" | "0" | "0.0" => false,
            _ => return None,
        },
        _ => return None,
    };
    Some(Item::Boolean(b))
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn to_integer<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    match s {
        Scalar::Int(i) => Some(Item::Integer(i)),
        Scalar::Bool(b) => Some(Item::Integer(i64::from(b))),
        Scalar::Str(s) if is_integer_text(&s) => s.parse().ok().map(Item::Integer),
        _ => None,
    }
}

fn parse_decimal_text(s: &str) -> Option<Decimal> {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    (is_integer_text(int) && !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())).then(|| Decimal::parse(s))?
}

fn to_decimal<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    match s {
        Scalar::Int(i) => Some(Item::Decimal(Decimal::from_i64(i))),
        Scalar::Dec(d) => Some(Item::Decimal(d)),
        Scalar::Bool(b) => Some(Item::Decimal(Decimal::new(i128::from(b) * 10, 1))),
        Scalar::Str(s) => parse_decimal_text(&s).map(Item::Decimal),
        _ => None,
    }
}

/// The string form of a System value (as `toString()` gives it).
pub(crate) fn scalar_string(s: &Scalar<'_>) -> String {
    match s {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Dec(d) => d.to_string(),
        Scalar::Str(s) => s.to_string(),
        Scalar::Temporal(t) => t.to_string(),
        Scalar::Quantity(q) => q.to_string(),
    }
}

fn to_string<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    Some(Item::String(scalar_string(&s)))
}

fn to_date<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    let t = match s {
        Scalar::Temporal(t) if t.kind != Kind::Time => t,
        Scalar::Str(s) => Temporal::parse_date(&s).or_else(|| Temporal::parse_datetime(&s))?,
        _ => return None,
    };
    let mut date = t.with_precision(t.precision.min(Precision::Day));
    date.kind = Kind::Date;
    date.offset = None;
    Some(Item::Temporal(date))
}

fn to_datetime<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    let mut t = match s {
        Scalar::Temporal(t) if t.kind != Kind::Time => t,
        Scalar::Str(s) => Temporal::parse_datetime(&s)?,
        _ => return None,
    };
    t.kind = Kind::DateTime;
    Some(Item::Temporal(t))
}

fn to_time<'a>(s: Scalar<'_>, _: Option<&str>) -> Option<Item<'a>> {
    match s {
        Scalar::Temporal(t) if t.kind == Kind::Time => Some(Item::Temporal(t)),
        Scalar::Str(s) => Temporal::parse_time(&s).map(Item::Temporal),
        _ => None,
    }
}

/// `10 'mg'`, `4 days`, `1.5`.
fn parse_quantity(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let end = text.find(|c: char| c.is_whitespace() || c == '\'').unwrap_or(text.len());
    let (number, rest) = text.split_at(end);
    let value = parse_decimal_text(number)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(Quantity::new(value, "1"));
    }
    if let Some(quoted) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return (!quoted.contains('\'')).then(|| Quantity::new(value, quoted));
    }
    calendar_keyword(rest).map(|_| Quantity::new(value, rest))
}

fn to_quantity<'a>(s: Scalar<'_>, unit: Option<&str>) -> Option<Item<'a>> {
    let q = match s {
        Scalar::Int(i) => Quantity::new(Decimal::from_i64(i), "1"),
        Scalar::Dec(d) => Quantity::new(d, "1"),
        Scalar::Bool(b) => Quantity::new(Decimal::new(i128::from(b) * 10, 1), "1"),
        Scalar::Quantity(q) => q,
        Scalar::Str(s) => parse_quantity(&s)?,
        Scalar::Temporal(_) => return None,
    };
    match unit {
        None => Some(Item::Quantity(q)),
        Some(unit) => q.converted_to(unit).map(Item::Quantity),
    }
}
