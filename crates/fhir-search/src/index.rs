//! Index values extracted from one resource version, one list per parameter type. Backends keep
//! one table per list so each parameter type gets the index shape its comparisons need.

/// A token value: `system|code`, either part may be absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    pub param: String,
    pub system: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexEntries {
    pub tokens: Vec<TokenEntry>,
}

impl IndexEntries {
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}
