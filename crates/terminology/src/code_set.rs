//! A set of codes: enumerated `(system, code)` pairs plus whole code systems.

use std::collections::BTreeSet;

/// The codes of an expansion. `systems` stands for every code of each system (a
/// `compose.include` that names a system and nothing else, for a system this server does not
/// hold); `codes` are the pairs outside those systems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSet {
    pub codes: BTreeSet<(String, String)>,
    pub systems: BTreeSet<String>,
}

impl CodeSet {
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.systems.contains(system) || self.codes.contains(&(system.to_owned(), code.to_owned()))
    }

    pub(crate) fn add_code(&mut self, system: &str, code: &str) {
        if !self.systems.contains(system) {
            self.codes.insert((system.to_owned(), code.to_owned()));
        }
    }

    pub(crate) fn add_system(&mut self, system: &str) {
        self.codes.retain(|(s, _)| s != system);
        self.systems.insert(system.to_owned());
    }

    pub(crate) fn union(&mut self, other: CodeSet) {
        for system in &other.systems {
            self.add_system(system);
        }
        for (system, code) in &other.codes {
            self.add_code(system, code);
        }
    }

    /// The codes in both sets.
    pub(crate) fn intersect(self, other: &CodeSet) -> CodeSet {
        let mut out = CodeSet::default();
        for system in self.systems.intersection(&other.systems) {
            out.systems.insert(system.clone());
        }
        for (system, code) in self.codes.iter().filter(|(s, c)| other.contains(s, c)) {
            out.add_code(system, code);
        }
        for (system, code) in other.codes.iter().filter(|(s, _)| self.systems.contains(s)) {
            out.add_code(system, code);
        }
        out
    }

    /// Removes `other`'s codes. A set cannot say "every code of a system but these", so
    /// removing enumerated codes from a whole system is refused (`None`).
    pub(crate) fn subtract(mut self, other: &CodeSet) -> Option<CodeSet> {
        if other.codes.iter().any(|(s, _)| self.systems.contains(s)) {
            return None;
        }
        for system in &other.systems {
            self.systems.remove(system);
            self.codes.retain(|(s, _)| s != system);
        }
        self.codes.retain(|pair| !other.codes.contains(pair));
        Some(self)
    }

    pub(crate) fn len(&self) -> usize {
        self.codes.len() + self.systems.len()
    }
}
