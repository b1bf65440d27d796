//! The value sets a search names with `:in`/`:not-in`, and their codes.
//!
//! Parsing is synchronous and knows no storage, so the caller expands the value sets first:
//! [`value_sets_named`] lists them from the raw parameters, the caller expands each (through
//! the `terminology` crate, over the ValueSets and CodeSystems it holds) and hands the codes to
//! the parser in [`crate::SearchOptions::value_sets`]. A `:in` whose set was not expanded is an
//! invalid value, never a silently empty match.

use std::collections::BTreeMap;

use crate::ir::TokenMatch;
use crate::parse::split_or;

/// Token matches per value set url (as written in the search, `|version` included).
#[derive(Debug, Clone, Default)]
pub struct ValueSetCodes {
    sets: BTreeMap<String, Vec<TokenMatch>>,
}

/// No expansions: for searches that name no value set.
pub static NO_VALUE_SETS: ValueSetCodes = ValueSetCodes { sets: BTreeMap::new() };

impl ValueSetCodes {
    /// Records the codes of `url`: `system|code` pairs and whole systems ([`TokenMatch::System`]).
    pub fn insert(&mut self, url: &str, codes: Vec<TokenMatch>) {
        self.sets.insert(url.to_owned(), codes);
    }

    pub(crate) fn get(&self, url: &str) -> Option<&[TokenMatch]> {
        self.sets.get(url).map(Vec::as_slice)
    }
}

/// The value set urls named by `:in` and `:not-in` anywhere in `params`, chains and `_has`
/// included (the modifier ends the parameter name), each once.
pub fn value_sets_named(params: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, value) in params {
        if !(name.ends_with(":in") || name.ends_with(":not-in")) {
            continue;
        }
        for url in split_or(value) {
            if !out.contains(&url) {
                out.push(url);
            }
        }
    }
    out
}
