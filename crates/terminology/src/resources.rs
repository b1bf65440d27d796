//! The ValueSets and CodeSystems an expansion reads, fetched by the caller.

use std::collections::HashMap;

use serde_json::Value;

use crate::system_canonical;

/// A terminology resource an expansion needs, by canonical (`url` or `url|version`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Canonical {
    ValueSet(String),
    CodeSystem(String),
}

/// What the caller found for each canonical it was asked for: the resource, or `None` when
/// the server has none (so it is not asked for again).
#[derive(Debug, Default)]
pub struct Resources {
    value_sets: HashMap<String, Option<Value>>,
    code_systems: HashMap<String, Option<Value>>,
}

impl Resources {
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Records the answer for `canonical`.
    pub fn insert(&mut self, canonical: Canonical, resource: Option<Value>) {
        match canonical {
            Canonical::ValueSet(url) => self.value_sets.insert(url, resource),
            Canonical::CodeSystem(url) => self.code_systems.insert(url, resource),
        };
    }

    pub(crate) fn value_set(&self, canonical: &str) -> Option<&Value> {
        self.value_sets.get(canonical).and_then(Option::as_ref)
    }

    pub(crate) fn code_system(&self, canonical: &str) -> Option<&Value> {
        self.code_systems.get(canonical).and_then(Option::as_ref)
    }

    /// The canonicals that expanding the value sets `roots` still needs and that were never
    /// asked for. Fetch them, [`Resources::insert`] the answers, and ask again until empty.
    pub fn wanted(&self, roots: &[String]) -> Vec<Canonical> {
        let mut out = Vec::new();
        let mut pending: Vec<String> = roots.to_vec();
        let mut seen: Vec<String> = Vec::new();
        while let Some(url) = pending.pop() {
            if seen.contains(&url) {
                continue;
            }
            seen.push(url.clone());
            let Some(answer) = self.value_sets.get(&url) else {
                out.push(Canonical::ValueSet(url));
                continue;
            };
            let Some(value_set) = answer else { continue };
            if has_expansion(value_set) && value_set.get("compose").is_none() {
                continue;
            }
            for part in compose_parts(value_set) {
                for nested in part.get("valueSet").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(nested) = nested.as_str() {
                        pending.push(nested.to_owned());
                    }
                }
                let needs_system = part.get("concept").is_none();
                if let Some(system) = system_canonical(part).filter(|_| needs_system)
                    && !self.code_systems.contains_key(&system)
                {
                    let wanted = Canonical::CodeSystem(system);
                    if !out.contains(&wanted) {
                        out.push(wanted);
                    }
                }
            }
        }
        out
    }
}

pub(crate) fn has_expansion(value_set: &Value) -> bool {
    value_set.pointer("/expansion/contains").and_then(Value::as_array).is_some()
}

/// Every `compose.include` and `compose.exclude` entry.
pub(crate) fn compose_parts(value_set: &Value) -> impl Iterator<Item = &Value> {
    ["include", "exclude"].into_iter().filter_map(|key| value_set.get("compose")?.get(key)?.as_array()).flatten()
}
