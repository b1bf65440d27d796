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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexEntries {
    pub tokens: Vec<TokenEntry>,
    pub strings: Vec<StringEntry>,
    pub dates: Vec<DateEntry>,
    pub numbers: Vec<NumberEntry>,
    pub quantities: Vec<QuantityEntry>,
    pub references: Vec<ReferenceEntry>,
    pub uris: Vec<UriEntry>,
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
    }
}

/// Lower-case and strip combining accents, so `Müller` is found by `muller`.
pub fn normalize(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd().filter(|c| !('\u{0300}'..='\u{036f}').contains(c)).collect::<String>().to_lowercase()
}
