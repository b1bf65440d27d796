//! The search IR: what a search means, before any SQL.

/// Comparison prefixes (FHIR search `eq`, `ne`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

impl Prefix {
    /// Splits a leading prefix off a value; no prefix means `eq`.
    pub fn split(value: &str) -> (Prefix, &str) {
        let prefixes = [
            ("eq", Prefix::Eq),
            ("ne", Prefix::Ne),
            ("gt", Prefix::Gt),
            ("lt", Prefix::Lt),
            ("ge", Prefix::Ge),
            ("le", Prefix::Le),
            ("sa", Prefix::Sa),
            ("eb", Prefix::Eb),
            ("ap", Prefix::Ap),
        ];
        for (text, prefix) in prefixes {
            if let Some(rest) = value.strip_prefix(text) {
                return (prefix, rest);
            }
        }
        (Prefix::Eq, value)
    }
}

/// A date search value: the prefix and the value's implicit range `[low, high)` in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateCondition {
    pub prefix: Prefix,
    pub low: i64,
    pub high: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenMatch {
    /// `code`: any system.
    Code(String),
    /// `system|code`.
    SystemCode(String, String),
    /// `|code`: no system.
    NoSystemCode(String),
    /// `system|`: any code in the system.
    System(String),
}

/// One search parameter occurrence; the values inside are ORed, the filters of a query ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `_id=a,b`.
    Id(Vec<String>),
    /// `_lastUpdated=ge2020-01-01`.
    LastUpdated(Vec<DateCondition>),
    /// A token parameter; `negate` is the `:not` modifier (no value of the resource matches).
    Token { param: String, values: Vec<TokenMatch>, negate: bool },
    /// `param:missing=true|false`.
    TokenMissing { param: String, missing: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    LastUpdated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalMode {
    None,
    Estimate,
    Accurate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub resource_type: String,
    pub filters: Vec<Filter>,
    /// Empty: the store's stable insertion order.
    pub sort: Vec<Sort>,
    pub count: usize,
    /// Keyset position from a previous page.
    pub cursor: Option<String>,
    pub total: TotalMode,
}

impl SearchQuery {
    pub fn new(resource_type: &str) -> SearchQuery {
        SearchQuery {
            resource_type: resource_type.to_owned(),
            filters: Vec::new(),
            sort: Vec::new(),
            count: 20,
            cursor: None,
            total: TotalMode::None,
        }
    }
}
