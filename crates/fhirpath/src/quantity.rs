//! Quantities: a decimal and a unit, either a UCUM code or a calendar duration keyword.
//! Conversion covers the common UCUM atoms (mass, length, time, volume, amount) with metric
//! prefixes, products, quotients and exponents; anything else compares only to the same unit.

use std::cmp::Ordering;

use crate::decimal::Decimal;

/// A value with a unit. `unit` is the UCUM code (`mg`, `'1'` is `1`) or a calendar keyword
/// (`year`, `weeks`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: Decimal,
    pub unit: String,
}

/// Dimensions: g, m, s, mol, K, A, cd, calendar month, calendar year.
const DIMS: usize = 9;
type Dims = [i32; DIMS];

/// A unit reduced to base units: `value_in_unit * factor` is the value in base units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Canonical {
    pub factor: Decimal,
    pub dims: Dims,
}

const CALENDAR: [(&str, &str); 8] = [
    ("year", "a"),
    ("month", "mo"),
    ("week", "wk"),
    ("day", "d"),
    ("hour", "h"),
    ("minute", "min"),
    ("second", "s"),
    ("millisecond", "ms"),
];

/// The singular calendar keyword for `years`, `week`, ...; `None` for UCUM codes.
pub(crate) fn calendar_keyword(unit: &str) -> Option<&'static str> {
    let singular = unit.strip_suffix('s').unwrap_or(unit);
    CALENDAR.iter().find(|(k, _)| *k == singular || *k == unit).map(|(k, _)| *k)
}

/// The calendar keyword a UCUM time code stands for in date arithmetic (`d` → `day`).
/// `a` and `mo` are not definite durations and have none.
pub(crate) fn ucum_to_calendar(unit: &str) -> Option<&'static str> {
    match unit {
        "wk" => Some("week"),
        "d" => Some("day"),
        "h" => Some("hour"),
        "min" => Some("minute"),
        "s" => Some("second"),
        "ms" => Some("millisecond"),
        _ => None,
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap_or(Decimal::ZERO)
}

fn atom(code: &str) -> Option<(Decimal, Dims)> {
    let mut dims = [0; DIMS];
    let (factor, dim) = match code {
        "g" => ("1", 0),
        "[lb_av]" => ("453.59237", 0),
        "[oz_av]" => ("28.349523125", 0),
        "[gr]" => ("0.06479891", 0),
        "m" => ("1", 1),
        "[in_i]" => ("0.0254", 1),
        "[ft_i]" => ("0.3048", 1),
        "[yd_i]" => ("0.9144", 1),
        "[mi_i]" => ("1609.344", 1),
        "s" => ("1", 2),
        "min" => ("60", 2),
        "h" => ("3600", 2),
        "d" => ("86400", 2),
        "wk" => ("604800", 2),
        "mo" => ("2629800", 2),
        "a" => ("31557600", 2),
        "mol" => ("1", 3),
        "K" => ("1", 4),
        "A" => ("1", 5),
        "cd" => ("1", 6),
        "L" | "l" => {
            dims[1] = 3;
            return Some((dec("0.001"), dims));
        }
        "1" => return Some((dec("1"), dims)),
        "%" => return Some((dec("0.01"), dims)),
        _ => return None,
    };
    if let Some(d) = dims.get_mut(dim) {
        *d = 1;
    }
    Some((dec(factor), dims))
}

const PREFIXES: [(&str, &str); 12] = [
    ("da", "10"),
    ("k", "1000"),
    ("M", "1000000"),
    ("G", "1000000000"),
    ("h", "100"),
    ("d", "0.1"),
    ("c", "0.01"),
    ("m", "0.001"),
    ("u", "0.000001"),
    ("μ", "0.000001"),
    ("n", "0.000000001"),
    ("p", "0.000000000001"),
];

fn prefixed_atom(code: &str) -> Option<(Decimal, Dims)> {
    if let Some(found) = atom(code) {
        return Some(found);
    }
    PREFIXES.iter().find_map(|(prefix, factor)| {
        let rest = code.strip_prefix(prefix)?;
        let (f, dims) = atom(rest)?;
        Some((f.checked_mul(dec(factor))?, dims))
    })
}

fn term(text: &str) -> Option<(Decimal, Dims)> {
    if let Some(exp) = text.strip_prefix("10*").or_else(|| text.strip_prefix("10^")) {
        let n: u32 = exp.parse().ok()?;
        return Some((Decimal::new(10i128.checked_pow(n)?, 0), [0; DIMS]));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some((dec(text), [0; DIMS]));
    }
    let split = text.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+').len();
    let (code, exponent) = text.split_at(split);
    let exponent: i32 = if exponent.is_empty() { 1 } else { exponent.parse().ok()? };
    let (factor, dims) = prefixed_atom(code)?;
    let mut f = Decimal::new(1, 0);
    for _ in 0..exponent.unsigned_abs() {
        f = f.checked_mul(factor)?;
    }
    if exponent < 0 {
        f = Decimal::new(1, 0).checked_div(f)?;
    }
    Some((f, dims.map(|d| d * exponent)))
}

/// Reduces a UCUM code (`mg/dL`, `kg.m/s2`, `m2`) or calendar keyword to base units.
pub(crate) fn canonical(unit: &str) -> Option<Canonical> {
    if let Some(k) = calendar_keyword(unit) {
        let mut dims = [0; DIMS];
        return match k {
            "year" => {
                dims[8] = 1;
                Some(Canonical { factor: dec("1"), dims })
            }
            "month" => {
                dims[7] = 1;
                Some(Canonical { factor: dec("1"), dims })
            }
            _ => canonical(ucum_to_calendar_code(k)),
        };
    }
    let mut factor = Decimal::new(1, 0);
    let mut dims = [0; DIMS];
    let mut divide = false;
    let mut rest = unit;
    if let Some(r) = rest.strip_prefix('/') {
        divide = true;
        rest = r;
    }
    loop {
        let end = rest.find(['.', '/']).unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        let (f, d) = term(piece)?;
        if divide {
            factor = factor.checked_div(f)?;
            for (a, b) in dims.iter_mut().zip(d) {
                *a -= b;
            }
        } else {
            factor = factor.checked_mul(f)?;
            for (a, b) in dims.iter_mut().zip(d) {
                *a += b;
            }
        }
        let Some(sep) = tail.chars().next() else {
            break;
        };
        divide = sep == '/';
        rest = tail.get(1..)?;
    }
    Some(Canonical { factor, dims })
}

/// A UCUM code reduced to base units: the factor to multiply a value by, and the base-unit code
/// (`mg` is `(0.001, "g")`, `mg/dL` is `(0.01, "g.m-3")`). `None` for units it does not know and
/// for calendar durations.
pub fn ucum_canonical(code: &str) -> Option<(f64, String)> {
    if calendar_keyword(code).is_some() {
        return None;
    }
    let canonical = canonical(code)?;
    Some((canonical.factor.to_f64(), unit_for(&canonical.dims)?))
}

fn ucum_to_calendar_code(keyword: &str) -> &'static str {
    CALENDAR.iter().find(|(k, _)| *k == keyword).map_or("1", |(_, c)| *c)
}

const BASE: [&str; 7] = ["g", "m", "s", "mol", "K", "A", "cd"];

/// A UCUM code for base-unit dimensions (`g.m-1`, `m2`, `1`).
fn unit_for(dims: &Dims) -> Option<String> {
    if dims.get(7..).is_some_and(|d| d.iter().any(|&x| x != 0)) {
        return None;
    }
    let parts: Vec<String> = BASE
        .iter()
        .zip(dims.iter())
        .filter(|(_, e)| **e != 0)
        .map(|(b, e)| if *e == 1 { (*b).to_owned() } else { format!("{b}{e}") })
        .collect();
    Some(if parts.is_empty() { "1".to_owned() } else { parts.join(".") })
}

impl Quantity {
    pub fn new(value: Decimal, unit: impl Into<String>) -> Quantity {
        Quantity { value, unit: unit.into() }
    }

    /// The value in base units, with its dimensions.
    fn in_base(&self) -> Option<(Decimal, Dims)> {
        let c = canonical(&self.unit)?;
        Some((self.value.checked_mul(c.factor)?, c.dims))
    }

    /// Ordering when the units are comparable; `None` otherwise.
    pub fn compare(&self, other: &Quantity) -> Option<Ordering> {
        let same = self.unit == other.unit
            || (calendar_keyword(&self.unit).is_some()
                && calendar_keyword(&self.unit) == calendar_keyword(&other.unit));
        if same {
            return Some(self.value.cmp_value(&other.value));
        }
        let (a, da) = self.in_base()?;
        let (b, db) = other.in_base()?;
        (da == db).then(|| a.cmp_value(&b))
    }

    /// Equivalence: comparable and equal at the precision of the less precise value.
    pub fn equivalent(&self, other: &Quantity) -> bool {
        let (Some((a, da)), Some((b, db))) = (self.in_base(), other.in_base()) else {
            return self.unit == other.unit && self.value == other.value;
        };
        if da != db {
            return false;
        }
        let scale = self.value.scale().min(other.value.scale());
        match (a.round(scale), b.round(scale)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }

    pub fn multiply(&self, other: &Quantity) -> Option<Quantity> {
        let (a, da) = self.in_base()?;
        let (b, db) = other.in_base()?;
        let mut dims = da;
        for (x, y) in dims.iter_mut().zip(db) {
            *x += y;
        }
        Some(Quantity::new(a.checked_mul(b)?, unit_for(&dims)?))
    }

    pub fn divide(&self, other: &Quantity) -> Option<Quantity> {
        let (a, da) = self.in_base()?;
        let (b, db) = other.in_base()?;
        let mut dims = da;
        for (x, y) in dims.iter_mut().zip(db) {
            *x -= y;
        }
        Some(Quantity::new(a.checked_div(b)?, unit_for(&dims)?))
    }

    /// `other` expressed in this quantity's unit, for addition and subtraction.
    pub fn converted_to(&self, unit: &str) -> Option<Quantity> {
        if self.unit == unit {
            return Some(self.clone());
        }
        let (v, d) = self.in_base()?;
        let target = canonical(unit)?;
        (d == target.dims).then_some(())?;
        Some(Quantity::new(v.checked_div(target.factor)?, unit))
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if calendar_keyword(&self.unit).is_some() && !matches!(self.unit.as_str(), "s" | "ms") {
            write!(f, "{} {}", self.value, self.unit)
        } else {
            write!(f, "{} '{}'", self.value, self.unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: &str, u: &str) -> Quantity {
        Quantity::new(Decimal::parse(v).unwrap(), u)
    }

    #[test]
    fn converts_common_units() {
        assert_eq!(q("4", "g").compare(&q("4000", "mg")), Some(Ordering::Equal));
        assert_eq!(q("7", "days").compare(&q("1", "wk")), Some(Ordering::Equal));
        assert_eq!(q("1", "mo").compare(&q("1", "month")), None);
        let area = q("2.0", "cm").multiply(&q("2.0", "m")).unwrap();
        assert_eq!(area.compare(&q("0.040", "m2")), Some(Ordering::Equal));
        assert_eq!(q("4.0", "g").divide(&q("2.0", "m")).unwrap().compare(&q("2", "g/m")), Some(Ordering::Equal));
        assert!(q("4", "g").equivalent(&q("4040", "mg")));
    }
}
