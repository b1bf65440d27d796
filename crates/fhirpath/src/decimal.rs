//! An exact decimal: an `i128` mantissa and a count of fraction digits. No binary floating point
//! in arithmetic, comparison or rendering; only the transcendental functions (`sqrt`, `ln`, ...)
//! go through `f64` and are rounded back.

use std::cmp::Ordering;

/// Fraction digits kept by division (FHIRPath requires at least 8).
const DIVISION_SCALE: u32 = 8;
/// The largest scale kept; beyond it results are rounded.
const MAX_SCALE: u32 = 28;

/// `mantissa / 10^scale`; the scale is significant (`1.0` renders as `1.0`).
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Decimal {
    pub const ZERO: Decimal = Decimal { mantissa: 0, scale: 0 };

    pub fn new(mantissa: i128, scale: u32) -> Decimal {
        Decimal { mantissa, scale }
    }

    pub fn from_i64(v: i64) -> Decimal {
        Decimal { mantissa: i128::from(v), scale: 0 }
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// Parses `-12.340`, `5`, `1e3`, `+0.5`.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (body, exponent) = match text.find(['e', 'E']) {
            Some(i) => (text.get(..i)?, text.get(i + 1..)?.parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match body.as_bytes().first()? {
            b'-' => (true, body.get(1..)?),
            b'+' => (false, body.get(1..)?),
            _ => (false, body),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if digits.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exponent);
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        let mut d =
            Decimal { mantissa: if negative { -mantissa } else { mantissa }, scale: u32::try_from(scale).ok()? };
        if d.scale > MAX_SCALE {
            d = d.round(MAX_SCALE)?;
        }
        Some(d)
    }

    /// Converts a finite float, keeping 15 significant digits.
    pub fn from_f64(v: f64) -> Option<Decimal> {
        if !v.is_finite() {
            return None;
        }
        let d = Decimal::parse(&format!("{v:.15e}"))?;
        // Drop float noise and trailing zeros.
        let magnitude = if v == 0.0 { 0 } else { v.abs().log10().floor() as i64 };
        let keep = (14 - magnitude).clamp(0, i64::from(MAX_SCALE));
        Some(d.round(u32::try_from(keep).ok()?)?.normalized())
    }

    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    fn rescale(self, scale: u32) -> Option<i128> {
        if scale >= self.scale {
            self.mantissa.checked_mul(pow10(scale - self.scale)?)
        } else {
            Some(self.mantissa / pow10(self.scale - scale)?)
        }
    }

    fn align(a: Decimal, b: Decimal) -> Option<(i128, i128, u32)> {
        let scale = a.scale.max(b.scale);
        Some((a.rescale(scale)?, b.rescale(scale)?, scale))
    }

    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = Decimal::align(self, other)?;
        Some(Decimal { mantissa: a.checked_add(b)?, scale })
    }

    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = Decimal::align(self, other)?;
        Some(Decimal { mantissa: a.checked_sub(b)?, scale })
    }

    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let d = Decimal { mantissa: self.mantissa.checked_mul(other.mantissa)?, scale: self.scale + other.scale };
        if d.scale > MAX_SCALE { d.round(MAX_SCALE) } else { Some(d) }
    }

    /// Division to 8 fraction digits, trailing zeros dropped; `None` for division by zero.
    pub fn checked_div(self, other: Decimal) -> Option<Decimal> {
        if other.mantissa == 0 {
            return None;
        }
        let target = DIVISION_SCALE.max(self.scale).max(other.scale);
        // self/other = (ma * 10^(sb + target + 1 - sa)) / mb, at scale target + 1, then rounded.
        let shift = i64::from(other.scale) + i64::from(target) + 1 - i64::from(self.scale);
        let numerator = if shift >= 0 {
            self.mantissa.checked_mul(pow10(u32::try_from(shift).ok()?)?)?
        } else {
            self.mantissa / pow10(u32::try_from(-shift).ok()?)?
        };
        let raw = Decimal { mantissa: numerator / other.mantissa, scale: target + 1 };
        Some(raw.round(target)?.normalized())
    }

    /// Truncating division (`div`).
    pub fn div_trunc(self, other: Decimal) -> Option<Decimal> {
        let (a, b, _) = Decimal::align(self, other)?;
        if b == 0 {
            return None;
        }
        Some(Decimal { mantissa: a / b, scale: 0 })
    }

    /// Remainder of truncating division (`mod`).
    pub fn checked_rem(self, other: Decimal) -> Option<Decimal> {
        let (a, b, scale) = Decimal::align(self, other)?;
        if b == 0 {
            return None;
        }
        Some(Decimal { mantissa: a % b, scale })
    }

    pub fn negated(self) -> Decimal {
        Decimal { mantissa: -self.mantissa, scale: self.scale }
    }

    pub fn abs(self) -> Decimal {
        Decimal { mantissa: self.mantissa.abs(), scale: self.scale }
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// Rounds half away from zero to `digits` fraction digits.
    pub fn round(self, digits: u32) -> Option<Decimal> {
        if digits >= self.scale {
            return Some(Decimal { mantissa: self.rescale(digits)?, scale: digits });
        }
        let divisor = pow10(self.scale - digits)?;
        let q = self.mantissa / divisor;
        let r = self.mantissa % divisor;
        let q = if r.abs() * 2 >= divisor { q + self.mantissa.signum() } else { q };
        Some(Decimal { mantissa: q, scale: digits })
    }

    /// Removes trailing fraction zeros (`2.500` → `2.5`, `1.0` → `1`).
    pub fn normalized(self) -> Decimal {
        let mut d = self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    pub fn truncate(self) -> Option<Decimal> {
        Some(Decimal { mantissa: self.mantissa / pow10(self.scale)?, scale: 0 })
    }

    pub fn floor(self) -> Option<Decimal> {
        let t = self.truncate()?;
        if self.is_negative() && t.cmp_value(&self) != Ordering::Equal {
            t.checked_sub(Decimal::from_i64(1))
        } else {
            Some(t)
        }
    }

    pub fn ceiling(self) -> Option<Decimal> {
        let t = self.truncate()?;
        if !self.is_negative() && t.cmp_value(&self) != Ordering::Equal {
            t.checked_add(Decimal::from_i64(1))
        } else {
            Some(t)
        }
    }

    /// The integer value when there is no fraction.
    pub fn to_i64(self) -> Option<i64> {
        let n = self.normalized();
        if n.scale == 0 { i64::try_from(n.mantissa).ok() } else { None }
    }

    pub fn cmp_value(&self, other: &Decimal) -> Ordering {
        match Decimal::align(*self, *other) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded =
            if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(d("0.1").checked_add(d("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(d("1.2").checked_mul(d("1.8")).unwrap().to_string(), "2.16");
        assert_eq!(d("1").checked_div(d("2")).unwrap().to_string(), "0.5");
        assert_eq!(d("2").checked_div(d("2")).unwrap().to_string(), "1");
        assert_eq!(d("1.2").checked_div(d("1.8")).unwrap().round(2).unwrap().to_string(), "0.67");
        assert_eq!(d("2.2").checked_rem(d("1.8")).unwrap().to_string(), "0.4");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(d("1e3").to_string(), "1000");
    }

    #[test]
    fn rounding() {
        assert_eq!(d("3.14159").round(3).unwrap().to_string(), "3.142");
        assert_eq!(d("-2.1").floor().unwrap().to_string(), "-3");
        assert_eq!(d("-1.1").ceiling().unwrap().to_string(), "-1");
        assert_eq!(Decimal::from_f64(4.000000000000001).unwrap().to_string(), "4");
    }
}
