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
use crate::parse::values::{split_unescaped_pipe, unescape_pipe};

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

    /// Adds every expansion of `other`.
    pub fn merge(&mut self, other: ValueSetCodes) {
        self.sets.extend(other.sets);
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

/// A token `:below` (the code and what it subsumes) or `:above` (the code and what subsumes it)
/// search value, to be answered from the CodeSystem's hierarchy like a value set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subsumption {
    /// Where its codes go in [`ValueSetCodes`] ([`subsumption_key`]).
    pub key: String,
    /// `:above` rather than `:below`.
    pub above: bool,
    pub system: String,
    pub code: String,
}

/// The [`ValueSetCodes`] entry of a `:above`/`:below` value: the modifier and the value as written.
pub fn subsumption_key(modifier: &str, value: &str) -> String {
    format!("{modifier}:{value}")
}

/// The `:above`/`:below` values on token parameters of `types` in `params` (at the end of a
/// chain or `_has` too), each `system|code` once. Other uses of the modifiers (uri parameters, a
/// value without a system) are left to the parser, which accepts the first and refuses the
/// second.
pub fn subsumptions_named(
    registry: &crate::SearchRegistry,
    types: &[String],
    params: &[(String, String)],
) -> Vec<Subsumption> {
    let mut out: Vec<Subsumption> = Vec::new();
    for (name, value) in params {
        let Some((param, modifier @ ("above" | "below"))) = name.rsplit_once(':') else { continue };
        if !ends_at_token(registry, types, param, 0) {
            continue;
        }
        for item in split_or(value) {
            let Some((system, code)) = split_unescaped_pipe(&item).filter(|(s, c)| !s.is_empty() && !c.is_empty())
            else {
                continue;
            };
            let (system, code) = (unescape_pipe(system), unescape_pipe(code));
            let key = subsumption_key(modifier, &item);
            if !out.iter().any(|s| s.key == key) {
                out.push(Subsumption { above: modifier == "above", system, code, key });
            }
        }
    }
    out
}

/// Whether the parameter path `name` (without its modifier) ends at a token parameter: `code`
/// on one of `types`, `subject:Patient.code` on the chain's targets, `_has:Condition:patient:code`
/// on the `_has` source, as the parser walks them.
fn ends_at_token(registry: &crate::SearchRegistry, types: &[String], name: &str, depth: usize) -> bool {
    use fhir_model::SearchParamType;
    if depth > crate::parse::chain::MAX_DEPTH {
        return false;
    }
    if let Some(rest) = name.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        return match (parts.next(), parts.next(), parts.next()) {
            (Some(source), Some(_), Some(inner)) => ends_at_token(registry, &[source.to_owned()], inner, depth + 1),
            _ => false,
        };
    }
    if let Some((head, rest)) = name.split_once('.') {
        let (code, explicit) = match head.split_once(':') {
            Some((code, target)) => (code, Some(target)),
            None => (head, None),
        };
        return types.iter().any(|t| {
            let Some(param) = registry.param(t, code).filter(|p| p.kind == SearchParamType::Reference) else {
                return false;
            };
            let targets: Vec<String> = match explicit {
                Some(target) => vec![target.to_owned()],
                None if param.definition.target.is_empty() => registry.model().resource_types().to_vec(),
                None => param.definition.target.clone(),
            };
            ends_at_token(registry, &targets, rest, depth + 1)
        });
    }
    types.iter().any(|t| registry.param(t, name).is_some_and(|p| p.kind == SearchParamType::Token))
}
