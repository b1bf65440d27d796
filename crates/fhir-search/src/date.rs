//! FHIR date, dateTime and instant values as ranges of time, so that every precision compares
//! with range semantics (`2020` is the whole year).

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// `[low, high)` in microseconds since the epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub low: i64,
    pub high: i64,
}

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]` into the
/// range it denotes. A dateTime without zone is read as UTC.
pub fn parse_date_range(text: &str) -> Option<DateRange> {
    let (date_part, time_part) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date_part.split('-');
    let year: i32 = parse_digits(parts.next()?, 4)?;
    let month = match parts.next() {
        Some(m) => Some(parse_digits::<u8>(m, 2)?),
        None => None,
    };
    let day = match parts.next() {
        Some(d) => Some(parse_digits::<u8>(d, 2)?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    match (month, day, time_part) {
        (None, None, None) => {
            let start = Date::from_calendar_date(year, Month::January, 1).ok()?;
            let end = Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?;
            Some(DateRange { low: day_micros(start), high: day_micros(end) })
        }
        (Some(m), None, None) => {
            let month = Month::try_from(m).ok()?;
            let start = Date::from_calendar_date(year, month, 1).ok()?;
            let (next_year, next_month) =
                if m == 12 { (year.checked_add(1)?, Month::January) } else { (year, month.next()) };
            let end = Date::from_calendar_date(next_year, next_month, 1).ok()?;
            Some(DateRange { low: day_micros(start), high: day_micros(end) })
        }
        (Some(m), Some(d), None) => {
            let start = Date::from_calendar_date(year, Month::try_from(m).ok()?, d).ok()?;
            let low = day_micros(start);
            Some(DateRange { low, high: low + 86_400_000_000 })
        }
        (Some(m), Some(d), Some(t)) => {
            let date = Date::from_calendar_date(year, Month::try_from(m).ok()?, d).ok()?;
            parse_time_range(date, t)
        }
        _ => None,
    }
}

fn parse_time_range(date: Date, text: &str) -> Option<DateRange> {
    let (clock, offset) = split_offset(text)?;
    let mut fields = clock.split(':');
    let hour: u8 = parse_digits(fields.next()?, 2)?;
    let minute: u8 = parse_digits(fields.next()?, 2)?;
    let (second, fraction, width) = match fields.next() {
        None => (0u8, 0i64, 60_000_000i64),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            let second: u8 = parse_digits(whole, 2)?;
            match frac {
                None => (second, 0, 1_000_000),
                Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
                    let digits = f.len().min(6);
                    let micros_text = format!("{:0<6}", f.get(..digits)?);
                    let micros: i64 = micros_text.parse().ok()?;
                    let width = 10i64.pow(u32::try_from(6 - digits).ok()?);
                    (second, micros, width)
                }
                Some(_) => return None,
            }
        }
    };
    if fields.next().is_some() {
        return None;
    }
    let time = Time::from_hms(hour, minute, second.min(59)).ok()?;
    let local = PrimitiveDateTime::new(date, time).assume_offset(offset);
    let low = i64::try_from(local.unix_timestamp_nanos() / 1000).ok()? + fraction;
    Some(DateRange { low, high: low + width })
}

fn split_offset(text: &str) -> Option<(&str, UtcOffset)> {
    if let Some(clock) = text.strip_suffix('Z') {
        return Some((clock, UtcOffset::UTC));
    }
    let sign_at = text.rfind(['+', '-']);
    match sign_at {
        Some(i) if i >= 5 => {
            let (clock, zone) = text.split_at(i);
            let negative = zone.starts_with('-');
            let (h, m) = zone.get(1..)?.split_once(':')?;
            let hours: i8 = parse_digits(h, 2)?;
            let minutes: i8 = parse_digits(m, 2)?;
            let (hours, minutes) = if negative { (-hours, -minutes) } else { (hours, minutes) };
            Some((clock, UtcOffset::from_hms(hours, minutes, 0).ok()?))
        }
        _ => Some((text, UtcOffset::UTC)),
    }
}

fn parse_digits<T: std::str::FromStr>(text: &str, width: usize) -> Option<T> {
    if text.len() != width || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn day_micros(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp() * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::parse_date_range;

    fn check(text: &str) -> String {
        match parse_date_range(text) {
            Some(r) => format!("{} {}", r.low / 1_000_000, (r.high - r.low) / 1_000_000),
            None => "invalid".to_owned(),
        }
    }

    #[test]
    fn precisions_become_ranges() {
        assert_eq!(check("2020"), "1577836800 31622400");
        assert_eq!(check("2020-02"), "1580515200 2505600");
        assert_eq!(check("2020-02-29"), "1582934400 86400");
        assert_eq!(check("2020-02-29T10:00"), "1582970400 60");
        assert_eq!(check("2020-02-29T10:00:00Z"), "1582970400 1");
        assert_eq!(check("2020-02-29T10:00:00+01:00"), "1582966800 1");
        assert_eq!(check("2020-02-29T10:00:00.5Z"), "1582970400 0");
        assert_eq!(check("2020-13"), "invalid");
        assert_eq!(check("2021-02-29"), "invalid");
        assert_eq!(check("20x0"), "invalid");
        assert_eq!(check(""), "invalid");
    }
}
