//! `ValueSet.compose` and `ValueSet.expansion` into a [`CodeSet`].

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::resources::has_expansion;
use crate::{CodeSet, ExpandError, Resources, system_canonical};

/// An expansion larger than this is refused: it would become a query with that many values.
pub const MAX_CODES: usize = 10_000;

/// Value sets nested deeper than this are refused.
const MAX_DEPTH: usize = 16;

/// The codes of the value set `url`. Every resource it names must be in `resources`
/// ([`Resources::wanted`] is empty).
pub fn expand(url: &str, resources: &Resources) -> Result<CodeSet, ExpandError> {
    Expansion { resources, stack: Vec::new() }.value_set(url)
}

struct Expansion<'r> {
    resources: &'r Resources,
    /// The value sets being expanded, outermost first (a cycle is an error, not a hang).
    stack: Vec<String>,
}

impl Expansion<'_> {
    fn value_set(&mut self, url: &str) -> Result<CodeSet, ExpandError> {
        let unsupported = |reason: &str| ExpandError::Unsupported { url: url.to_owned(), reason: reason.to_owned() };
        if self.stack.iter().any(|u| u == url) {
            return Err(unsupported("it includes itself"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(unsupported("value sets are nested too deeply"));
        }
        let value_set = self.resources.value_set(url).ok_or_else(|| ExpandError::UnknownValueSet(url.to_owned()))?;
        self.stack.push(url.to_owned());
        let result = match value_set.get("compose") {
            Some(compose) => self.compose(url, compose),
            None if has_expansion(value_set) => {
                let mut out = CodeSet::default();
                from_contains(value_set.pointer("/expansion/contains"), &mut out);
                Ok(out)
            }
            None => Err(unsupported("it has neither a compose nor an expansion")),
        };
        self.stack.pop();
        let result = result?;
        if result.len() > MAX_CODES {
            return Err(ExpandError::TooCostly(url.to_owned()));
        }
        Ok(result)
    }

    fn compose(&mut self, url: &str, compose: &Value) -> Result<CodeSet, ExpandError> {
        let mut out = CodeSet::default();
        for include in compose.get("include").and_then(Value::as_array).into_iter().flatten() {
            out.union(self.part(url, include)?);
            if out.len() > MAX_CODES {
                return Err(ExpandError::TooCostly(url.to_owned()));
            }
        }
        for exclude in compose.get("exclude").and_then(Value::as_array).into_iter().flatten() {
            let excluded = self.part(url, exclude)?;
            out = out.subtract(&excluded).ok_or_else(|| ExpandError::Unsupported {
                url: url.to_owned(),
                reason: "it excludes single codes from a whole code system".to_owned(),
            })?;
        }
        Ok(out)
    }

    /// One include or exclude: its system's codes (all, listed, or filtered), intersected with
    /// each value set it names.
    fn part(&mut self, url: &str, part: &Value) -> Result<CodeSet, ExpandError> {
        let system = part.get("system").and_then(Value::as_str);
        let mut result = match system {
            Some(system) => Some(self.system_part(url, system, part)?),
            None => None,
        };
        for nested in part.get("valueSet").and_then(Value::as_array).into_iter().flatten() {
            let Some(nested) = nested.as_str() else { continue };
            let codes = self.value_set(nested)?;
            result = Some(match result {
                Some(acc) => acc.intersect(&codes),
                None => codes,
            });
        }
        result.ok_or_else(|| ExpandError::Unsupported {
            url: url.to_owned(),
            reason: "an include or exclude names neither a system nor a value set".to_owned(),
        })
    }

    fn system_part(&self, url: &str, system: &str, part: &Value) -> Result<CodeSet, ExpandError> {
        let mut out = CodeSet::default();
        if let Some(concepts) = part.get("concept").and_then(Value::as_array) {
            for code in concepts.iter().filter_map(|c| c.get("code")?.as_str()) {
                out.add_code(system, code);
            }
            return Ok(out);
        }
        let filters = part.get("filter").and_then(Value::as_array).filter(|f| !f.is_empty());
        let canonical = system_canonical(part).unwrap_or_else(|| system.to_owned());
        let code_system = self.resources.code_system(&canonical);
        let Some(filters) = filters else {
            match code_system.filter(|cs| lists_every_code(cs)) {
                Some(cs) => Hierarchy::of(cs).codes.iter().for_each(|code| out.add_code(system, code)),
                None => out.add_system(system),
            }
            return Ok(out);
        };
        let code_system = code_system.ok_or(ExpandError::UnknownCodeSystem(canonical))?;
        let hierarchy = Hierarchy::of(code_system);
        let mut selected: Option<BTreeSet<&str>> = None;
        for filter in filters {
            let codes =
                hierarchy.filter(filter).map_err(|reason| ExpandError::Unsupported { url: url.to_owned(), reason })?;
            selected = Some(match selected {
                Some(acc) => acc.intersection(&codes).copied().collect(),
                None => codes,
            });
        }
        for code in selected.unwrap_or_default() {
            out.add_code(system, code);
        }
        Ok(out)
    }
}

/// The codes of `system` that `code` subsumes (itself and its descendants), or with `above`
/// those that subsume it (itself and its ancestors). The CodeSystem must be held with all its
/// concepts, and `code` must be one of them: over a fragment or a stub the answer would be
/// silently short.
pub fn subsume(system: &str, code: &str, above: bool, resources: &Resources) -> Result<CodeSet, ExpandError> {
    let refuse = |reason: String| ExpandError::Subsumption { system: system.to_owned(), reason };
    let code_system = resources.code_system(system).ok_or_else(|| ExpandError::UnknownCodeSystem(system.to_owned()))?;
    if !lists_every_code(code_system) {
        return Err(refuse("the server does not hold all of its concepts (its content is not 'complete')".to_owned()));
    }
    let hierarchy = Hierarchy::of(code_system);
    if !hierarchy.codes.contains(code) {
        return Err(refuse(format!("'{code}' is not one of its codes")));
    }
    let related = if above { hierarchy.subsuming(code) } else { hierarchy.subsumed(code) };
    let mut out = CodeSet::default();
    for related in related.into_iter().filter(|c| hierarchy.codes.contains(c)) {
        out.add_code(system, related);
    }
    Ok(out)
}

/// Whether a CodeSystem resource holds all of its concepts.
fn lists_every_code(code_system: &Value) -> bool {
    code_system.get("content").and_then(Value::as_str) == Some("complete")
}

fn from_contains(contains: Option<&Value>, out: &mut CodeSet) {
    for entry in contains.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(system), Some(code)) =
            (entry.get("system").and_then(Value::as_str), entry.get("code").and_then(Value::as_str))
        {
            out.add_code(system, code);
        }
        from_contains(entry.get("contains"), out);
    }
}

/// A CodeSystem's concepts and their subsumption: nested `concept`s, and the `parent` and
/// `subsumedBy` properties.
struct Hierarchy<'c> {
    codes: HashSet<&'c str>,
    children: HashMap<&'c str, Vec<&'c str>>,
    parents: HashMap<&'c str, Vec<&'c str>>,
}

impl<'c> Hierarchy<'c> {
    fn of(code_system: &'c Value) -> Hierarchy<'c> {
        let mut out = Hierarchy { codes: HashSet::new(), children: HashMap::new(), parents: HashMap::new() };
        out.add(code_system.get("concept"), None);
        out
    }

    fn add(&mut self, concepts: Option<&'c Value>, parent: Option<&'c str>) {
        for concept in concepts.and_then(Value::as_array).into_iter().flatten() {
            let Some(code) = concept.get("code").and_then(Value::as_str) else { continue };
            self.codes.insert(code);
            if let Some(parent) = parent {
                self.link(parent, code);
            }
            for property in concept.get("property").and_then(Value::as_array).into_iter().flatten() {
                let is_parent = matches!(property.get("code").and_then(Value::as_str), Some("parent" | "subsumedBy"));
                if let Some(parent) = property.get("valueCode").and_then(Value::as_str).filter(|_| is_parent) {
                    self.link(parent, code);
                }
            }
            self.add(concept.get("concept"), Some(code));
        }
    }

    fn link(&mut self, parent: &'c str, child: &'c str) {
        self.children.entry(parent).or_default().push(child);
        self.parents.entry(child).or_default().push(parent);
    }

    /// `code` and every concept it subsumes.
    fn subsumed(&self, code: &'c str) -> BTreeSet<&'c str> {
        Hierarchy::closure(code, &self.children)
    }

    /// `code` and every concept that subsumes it.
    fn subsuming(&self, code: &'c str) -> BTreeSet<&'c str> {
        Hierarchy::closure(code, &self.parents)
    }

    /// `code` and everything reachable from it through `edges` (a cycle ends the walk).
    fn closure(code: &'c str, edges: &HashMap<&'c str, Vec<&'c str>>) -> BTreeSet<&'c str> {
        let mut out = BTreeSet::new();
        let mut pending = vec![code];
        while let Some(next) = pending.pop() {
            if out.insert(next) {
                pending.extend(edges.get(next).into_iter().flatten().copied());
            }
        }
        out
    }

    /// The codes one `compose.include.filter` selects.
    fn filter(&self, filter: &'c Value) -> Result<BTreeSet<&'c str>, String> {
        let field = |key: &str| filter.get(key).and_then(Value::as_str).unwrap_or_default();
        let (property, op, value) = (field("property"), field("op"), field("value"));
        if !matches!(property, "concept" | "code") {
            return Err(format!("filters on the property '{property}' are not supported"));
        }
        let known = |code: &&str| self.codes.contains(code);
        Ok(match op {
            "=" => [value].into_iter().filter(known).collect(),
            "in" => value.split(',').map(str::trim).filter(known).collect(),
            "not-in" => {
                let excluded: Vec<&str> = value.split(',').map(str::trim).collect();
                self.codes.iter().copied().filter(|c| !excluded.contains(c)).collect()
            }
            "is-a" => self.subsumed(value).into_iter().filter(known).collect(),
            "descendent-of" => self.subsumed(value).into_iter().filter(|c| *c != value && known(c)).collect(),
            "generalizes" => self.subsuming(value).into_iter().filter(known).collect(),
            "is-not-a" => {
                let below = self.subsumed(value);
                self.codes.iter().copied().filter(|c| !below.contains(c)).collect()
            }
            other => return Err(format!("the filter operation '{other}' is not supported")),
        })
    }
}
