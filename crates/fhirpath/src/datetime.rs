//! Partial dates, date-times and times: parsing (FHIR and literal forms), rendering,
//! precision-aware comparison and calendar arithmetic.

use std::cmp::Ordering;

/// Which of the three temporal types a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Date,
    DateTime,
    Time,
}

/// Precision, from coarsest to finest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Year = 1,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

/// A date, date-time or time known to some precision. Fields past the precision are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Temporal {
    pub kind: Kind,
    pub precision: Precision,
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
    /// Offset from UTC in minutes, when given.
    pub offset: Option<i32>,
}

fn num(text: &str, len: usize) -> Option<(u32, &str)> {
    let head = text.get(..len)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, text.get(len..)?))
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Temporal {
    fn empty(kind: Kind) -> Temporal {
        Temporal {
            kind,
            precision: Precision::Year,
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0,
            millisecond: 0,
            offset: None,
        }
    }

    /// `2015`, `2015-02`, `2015-02-04`.
    pub fn parse_date(text: &str) -> Option<Temporal> {
        let mut t = Temporal::empty(Kind::Date);
        let rest = t.parse_date_part(text)?;
        rest.is_empty().then_some(t)
    }

    fn parse_date_part<'t>(&mut self, text: &'t str) -> Option<&'t str> {
        let (year, mut rest) = num(text, 4)?;
        self.year = i32::try_from(year).ok()?;
        self.precision = Precision::Year;
        if let Some(r) = rest.strip_prefix('-') {
            let (month, r) = num(r, 2)?;
            (1..=12).contains(&month).then_some(())?;
            self.month = month;
            self.precision = Precision::Month;
            rest = r;
            if let Some(r) = rest.strip_prefix('-') {
                let (day, r) = num(r, 2)?;
                (1..=days_in_month(self.year, month)).contains(&day).then_some(())?;
                self.day = day;
                self.precision = Precision::Day;
                rest = r;
            }
        }
        Some(rest)
    }

    fn parse_time_part<'t>(&mut self, text: &'t str) -> Option<&'t str> {
        let (hour, mut rest) = num(text, 2)?;
        (hour < 24).then_some(())?;
        self.hour = hour;
        self.precision = Precision::Hour;
        if let Some(r) = rest.strip_prefix(':') {
            let (minute, r) = num(r, 2)?;
            (minute < 60).then_some(())?;
            self.minute = minute;
            self.precision = Precision::Minute;
            rest = r;
            if let Some(r) = rest.strip_prefix(':') {
                let (second, r) = num(r, 2)?;
                (second < 60).then_some(())?;
                self.second = second;
                self.precision = Precision::Second;
                rest = r;
                if let Some(r) = rest.strip_prefix('.') {
                    let len = r.bytes().take_while(u8::is_ascii_digit).count();
                    (len > 0).then_some(())?;
                    let digits = r.get(..len)?;
                    let padded = format!("{:0<3}", digits.get(..len.min(3))?);
                    self.millisecond = padded.parse().ok()?;
                    self.precision = Precision::Millisecond;
                    rest = r.get(len..)?;
                }
            }
        }
        Some(rest)
    }

    fn parse_offset(&mut self, text: &str) -> Option<()> {
        if text.is_empty() {
            return Some(());
        }
        if text == "Z" {
            self.offset = Some(0);
            return Some(());
        }
        let sign = match text.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (h, r) = num(text.get(1..)?, 2)?;
        let r = r.strip_prefix(':')?;
        let (m, r) = num(r, 2)?;
        (r.is_empty() && h <= 14 && m < 60).then_some(())?;
        self.offset = Some(sign * i32::try_from(h * 60 + m).ok()?);
        Some(())
    }

    /// A FHIR dateTime (`2015`, `2015-02-04T14:34:28.123+10:00`) or a literal body (`2015T`).
    pub fn parse_datetime(text: &str) -> Option<Temporal> {
        let mut t = Temporal::empty(Kind::DateTime);
        let rest = t.parse_date_part(text)?;
        if rest.is_empty() {
            return Some(t);
        }
        let rest = rest.strip_prefix('T')?;
        if rest.is_empty() {
            return Some(t);
        }
        if t.precision != Precision::Day {
            return None;
        }
        let rest = t.parse_time_part(rest)?;
        t.parse_offset(rest)?;
        Some(t)
    }

    /// A time without offset: `14`, `14:34`, `14:34:28.123`.
    pub fn parse_time(text: &str) -> Option<Temporal> {
        let mut t = Temporal::empty(Kind::Time);
        let rest = t.parse_time_part(text)?;
        rest.is_empty().then_some(t)
    }

    /// A FHIR instant/dateTime/date string, whichever it is.
    pub fn parse_any(text: &str) -> Option<Temporal> {
        Temporal::parse_date(text).or_else(|| Temporal::parse_datetime(text))
    }

    fn has(&self, p: Precision) -> bool {
        self.precision >= p
    }

    /// Milliseconds since the epoch (date/time fields only, offset not applied).
    fn local_millis(&self) -> i64 {
        let days = match self.kind {
            Kind::Time => 0,
            _ => days_from_civil(i64::from(self.year), i64::from(self.month.max(1)), i64::from(self.day.max(1))),
        };
        let secs = i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        (days * 86_400 + secs) * 1000 + i64::from(self.millisecond)
    }

    fn set_local_millis(&mut self, ms: i64) {
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        if self.kind != Kind::Time {
            let (y, m, d) = civil_from_days(days);
            self.year = i32::try_from(y).unwrap_or(self.year);
            self.month = u32::try_from(m).unwrap_or(1);
            self.day = u32::try_from(d).unwrap_or(1);
        }
        let rem = u32::try_from(rem).unwrap_or(0);
        self.hour = rem / 3_600_000;
        self.minute = rem / 60_000 % 60;
        self.second = rem / 1000 % 60;
        self.millisecond = rem % 1000;
    }

    /// The value shifted to UTC (offset zero), when it has an offset and a time.
    fn to_utc(self) -> Temporal {
        match self.offset {
            Some(off) if self.has(Precision::Hour) && off != 0 => {
                let mut t = self;
                t.set_local_millis(self.local_millis() - i64::from(off) * 60_000);
                t.offset = Some(0);
                t
            }
            _ => self,
        }
    }

    fn fields(&self) -> [i64; 7] {
        [
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
            i64::from(self.hour),
            i64::from(self.minute),
            i64::from(self.second),
            i64::from(self.millisecond),
        ]
    }

    /// Ordering where both are known to a shared precision; `None` when the answer depends on
    /// the unknown finer parts (or on an unknown offset).
    pub fn compare(&self, other: &Temporal) -> Option<Ordering> {
        if (self.kind == Kind::Time) != (other.kind == Kind::Time) {
            return None;
        }
        let (a, b) = if self.has(Precision::Hour) && other.has(Precision::Hour) {
            match (self.offset, other.offset) {
                (Some(_), Some(_)) => (self.to_utc(), other.to_utc()),
                (None, None) => (*self, *other),
                _ => return None,
            }
        } else {
            (*self, *other)
        };
        // Seconds and milliseconds are one precision for comparison.
        let level = |p: Precision| {
            if p == Precision::Millisecond { Precision::Second } else { p }
        };
        let (pa, pb) = (level(a.precision), level(b.precision));
        let common = pa.min(pb);
        let start = if a.kind == Kind::Time { Precision::Hour } else { Precision::Year };
        let (fa, fb) = (a.fields(), b.fields());
        for p in (start as usize)..=(common as usize) {
            let i = p - 1;
            let ord = if p == Precision::Second as usize {
                (fa.get(i), fa.get(i + 1)).cmp(&(fb.get(i), fb.get(i + 1)))
            } else {
                fa.get(i).cmp(&fb.get(i))
            };
            if ord != Ordering::Equal {
                return Some(ord);
            }
        }
        if pa == pb { Some(Ordering::Equal) } else { None }
    }

    /// `~`: same precision and same value.
    pub fn equivalent(&self, other: &Temporal) -> bool {
        let level = |p: Precision| {
            if p == Precision::Millisecond { Precision::Second } else { p }
        };
        level(self.precision) == level(other.precision) && self.compare(other) == Some(Ordering::Equal)
    }

    /// Adds `amount` of a calendar unit (`year`, `month`, `week`, `day`, `hour`, `minute`,
    /// `second`, `millisecond`). The result keeps the precision of `self`.
    pub fn add(&self, amount: i64, unit: &str) -> Option<Temporal> {
        let mut t = *self;
        match unit {
            "year" => {
                t.year = t.year.checked_add(i32::try_from(amount).ok()?)?;
                t.day = t.day.min(days_in_month(t.year, t.month.max(1)));
            }
            "month" => {
                let total = i64::from(t.year) * 12 + i64::from(t.month.max(1)) - 1 + amount;
                t.year = i32::try_from(total.div_euclid(12)).ok()?;
                if t.has(Precision::Month) {
                    t.month = u32::try_from(total.rem_euclid(12) + 1).ok()?;
                }
                if t.has(Precision::Day) {
                    t.day = t.day.min(days_in_month(t.year, t.month));
                }
            }
            _ => {
                let unit_ms: i64 = match unit {
                    "week" => 7 * 86_400_000,
                    "day" => 86_400_000,
                    "hour" => 3_600_000,
                    "minute" => 60_000,
                    "second" => 1000,
                    "millisecond" => 1,
                    _ => return None,
                };
                let ms = t.local_millis().checked_add(amount.checked_mul(unit_ms)?)?;
                t.set_local_millis(ms);
                t.truncate_to_precision();
            }
        }
        Some(t)
    }

    fn truncate_to_precision(&mut self) {
        let p = self.precision;
        if self.kind != Kind::Time {
            if p < Precision::Month {
                self.month = 0;
            }
            if p < Precision::Day {
                self.day = 0;
            }
        }
        if p < Precision::Hour {
            self.hour = 0;
        }
        if p < Precision::Minute {
            self.minute = 0;
        }
        if p < Precision::Second {
            self.second = 0;
        }
        if p < Precision::Millisecond {
            self.millisecond = 0;
        }
    }

    /// The same instant, as the value with the given precision (finer parts zero).
    pub fn with_precision(&self, precision: Precision) -> Temporal {
        let mut t = *self;
        t.precision = precision;
        t.truncate_to_precision();
        t
    }

    fn write_time(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{:02}", self.hour);
        if self.has(Precision::Minute) {
            let _ = write!(out, ":{:02}", self.minute);
        }
        if self.has(Precision::Second) {
            let _ = write!(out, ":{:02}", self.second);
        }
        if self.has(Precision::Millisecond) {
            let _ = write!(out, ".{:03}", self.millisecond);
        }
    }
}

impl std::fmt::Display for Temporal {
    /// The FHIR form, without `@`/`T` prefixes for dates and times.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if self.kind == Kind::Time {
            self.write_time(&mut out);
            return f.write_str(&out);
        }
        out.push_str(&format!("{:04}", self.year));
        if self.has(Precision::Month) {
            out.push_str(&format!("-{:02}", self.month));
        }
        if self.has(Precision::Day) {
            out.push_str(&format!("-{:02}", self.day));
        }
        if self.has(Precision::Hour) {
            out.push('T');
            self.write_time(&mut out);
            match self.offset {
                Some(0) => out.push('Z'),
                Some(off) => {
                    let sign = if off < 0 { '-' } else { '+' };
                    out.push_str(&format!("{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60));
                }
                None => {}
            }
        }
        f.write_str(&out)
    }
}

/// Builds a date-time from milliseconds since the epoch (UTC) shown at an offset.
pub(crate) fn from_epoch_millis(ms: i64, offset_minutes: i32) -> Temporal {
    let mut t = Temporal::empty(Kind::DateTime);
    t.precision = Precision::Millisecond;
    t.offset = Some(offset_minutes);
    t.set_local_millis(ms + i64::from(offset_minutes) * 60_000);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let t = Temporal::parse_datetime("2015-02-04T14:34:28.123+10:00").unwrap();
        assert_eq!(t.to_string(), "2015-02-04T14:34:28.123+10:00");
        assert_eq!(Temporal::parse_date("1974-12-25").unwrap().to_string(), "1974-12-25");
        assert!(Temporal::parse_date("1974-13").is_none());
    }

    #[test]
    fn compares_across_offsets_and_precisions() {
        let a = Temporal::parse_datetime("2017-11-05T01:30:00.0-04:00").unwrap();
        let b = Temporal::parse_datetime("2017-11-05T00:30:00.0-05:00").unwrap();
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
        let c = Temporal::parse_date("2018-03").unwrap();
        let d = Temporal::parse_date("2018-03-01").unwrap();
        assert_eq!(c.compare(&d), None);
    }

    #[test]
    fn adds_calendar_units() {
        let d = Temporal::parse_date("1973-12-25").unwrap();
        assert_eq!(d.add(7, "day").unwrap().to_string(), "1974-01-01");
        assert_eq!(d.add(1, "month").unwrap().to_string(), "1974-01-25");
        let e = Temporal::parse_date("2024-01-31").unwrap();
        assert_eq!(e.add(1, "month").unwrap().to_string(), "2024-02-29");
    }
}
