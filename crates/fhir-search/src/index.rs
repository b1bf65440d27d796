//! Index values extracted from one resource version, one list per parameter type. Backends keep
//! one table per list so each parameter type gets the index shape its comparisons need.

/// A token: `system|code`, either part may be absent; `text` feeds the `:text` modifier.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEntry {
    pub param: String,
    pub system: Option<String>,
    pub code: Option<String>,
    pub text: Option<String>,
}

/// A string: `normalized` is lower-cased with accents removed (the default prefix search);
/// `exact` is the text as written (`:exact`).
#[derive(Debug, Clone, PartialEq)]
pub struct StringEntry {
    pub param: String,
    pub normalized: String,
    pub exact: String,
}

/// A date, dateTime, instant, Period or Timing as the range `[low, high)` in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct DateEntry {
    pub param: String,
    pub low: i64,
    pub high: i64,
}

/// A number with its implicit precision range `[low, high)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberEntry {
    pub param: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// A quantity: its number with precision range, and the unit's system and code.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityEntry {
    pub param: String,
    pub system: Option<String>,
    pub code: Option<String>,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// A reference: the local target (`Patient/123`), or the URL it names, and a logical identifier.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceEntry {
    pub param: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub url: Option<String>,
    pub identifier_system: Option<String>,
    pub identifier_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UriEntry {
    pub param: String,
    pub uri: String,
}

/// One component value of a composite row.
#[derive(Debug, Clone, PartialEq)]
pub enum CompositeValue {
    /// A token, or a reference as `(target type, target id)`.
    Token {
        system: Option<String>,
        code: Option<String>,
    },
    /// A number or quantity (unit in `system`/`code`) with its precision range.
    Number {
        system: Option<String>,
        code: Option<String>,
        value: f64,
        low: f64,
        high: f64,
    },
    /// A date range in microseconds.
    Date {
        low: i64,
        high: i64,
    },
    String {
        normalized: String,
    },
}

/// A composite parameter: component values taken from the same element (`code` and
/// `value` of one `Observation.component`), one row per combination.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeEntry {
    pub param: String,
    pub parts: Vec<CompositeValue>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexEntries {
    pub tokens: Vec<TokenEntry>,
    pub strings: Vec<StringEntry>,
    pub dates: Vec<DateEntry>,
    pub numbers: Vec<NumberEntry>,
    pub quantities: Vec<QuantityEntry>,
    pub references: Vec<ReferenceEntry>,
    pub uris: Vec<UriEntry>,
    pub composites: Vec<CompositeEntry>,
}

impl IndexEntries {
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
            && self.strings.is_empty()
            && self.dates.is_empty()
            && self.numbers.is_empty()
            && self.quantities.is_empty()
            && self.references.is_empty()
            && self.uris.is_empty()
            && self.composites.is_empty()
    }
}

/// Lower-case and strip combining accents, so `Müller` is found by `muller`.
pub fn normalize(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd().filter(|c| !('\u{0300}'..='\u{036f}').contains(c)).collect::<String>().to_lowercase()
}
