//! Time and identifiers are injected so tests can pin them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, microseconds since the Unix epoch (UTC). FHIR instants carry milliseconds;
/// the extra precision keeps versions written in the same millisecond ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// FHIR `instant` text with millisecond precision, e.g. `2026-11-23T19:15:00.123Z`.
    pub fn to_fhir_instant(self) -> String {
        let millis = self.0.div_euclid(1000);
        let secs = millis.div_euclid(1000);
        let ms = millis.rem_euclid(1000);
        match OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
        }
    }

    /// HTTP-date (RFC 7231) for `Last-Modified`.
    pub fn to_http_date(self) -> String {
        let secs = self.0.div_euclid(1_000_000);
        let Ok(t) = OffsetDateTime::from_unix_timestamp(secs) else { return String::new() };
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let day = DAYS.get(usize::from(t.weekday().number_days_from_monday())).unwrap_or(&"Mon");
        let month = MONTHS.get(usize::from(u8::from(t.month())).saturating_sub(1)).unwrap_or(&"Jan");
        format!("{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT", t.day(), t.year(), t.hour(), t.minute(), t.second())
    }

    /// Parses an RFC 3339 instant (`2026-01-01T00:00:00Z`, with optional fraction and offset).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1000).ok().map(Timestamp)
    }

    /// Parses an HTTP-date (`Mon, 02 Jan 2006 15:04:05 GMT`).
    pub fn parse_http_date(text: &str) -> Option<Timestamp> {
        let format = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let t = time::PrimitiveDateTime::parse(text.trim(), &format).ok()?;
        Some(Timestamp(t.assume_utc().unix_timestamp() * 1_000_000))
    }
}

/// The source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A clock that tests set by hand; each reading advances it by one millisecond so versions
/// written in sequence still have distinct, ordered times.
pub struct FixedClock {
    micros: Mutex<i64>,
}

impl FixedClock {
    pub fn new(start: Timestamp) -> FixedClock {
        FixedClock { micros: Mutex::new(start.0) }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        let mut guard = match self.micros.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard += 1000;
        Timestamp(*guard)
    }
}

/// The source of new logical ids.
pub trait IdGenerator: Send + Sync {
    fn new_id(&self) -> String;
}

/// Deterministic ids for tests: `id-1`, `id-2`, ...
#[derive(Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdGenerator for SequentialIds {
    fn new_id(&self) -> String {
        format!("id-{}", self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
}
