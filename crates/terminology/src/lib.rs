//! terminology: expanding a ValueSet into the codes it contains.
//!
//! Owns: the `ValueSet.compose` rules (include and exclude; enumerated concepts; a whole code
//! system; filters over a CodeSystem's concept hierarchy (`=`, `in`, `not-in`, `is-a`,
//! `descendent-of`, `is-not-a`, `generalizes`); nested value sets, intersected), the
//! use of a stored `ValueSet.expansion`, and the limits that keep an expansion bounded.
//! Must not know: storage, HTTP, search. The caller fetches the resources an expansion names
//! ([`Resources::wanted`] says which, until nothing is missing), then [`expand`] is pure.
//!
//! Canonicals are looked up as written: `url|version` names that version of a resource
//! (`compose.include.version` does the same for a code system), a bare `url` whichever one the
//! caller holds as current. The caller decides what "current" means when it fetches them.

mod code_set;
mod compose;
mod resources;

pub use code_set::CodeSet;
pub use compose::{MAX_CODES, expand, subsume};
pub use resources::{Canonical, Resources};

/// Why a value set could not be expanded. Every variant is the request's problem (4xx).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExpandError {
    #[error("ValueSet '{0}' is not known to this server")]
    UnknownValueSet(String),
    #[error("CodeSystem '{0}' is not known to this server, so its concepts cannot be filtered")]
    UnknownCodeSystem(String),
    #[error("ValueSet '{url}' cannot be expanded: {reason}")]
    Unsupported { url: String, reason: String },
    #[error("ValueSet '{0}' expands to more than {MAX_CODES} codes")]
    TooCostly(String),
    #[error("CodeSystem '{system}' cannot answer :above or :below: {reason}")]
    Subsumption { system: String, reason: String },
}

/// The url of a canonical reference, without its `|version`.
pub fn canonical_url(canonical: &str) -> &str {
    canonical.split('|').next().unwrap_or(canonical)
}

/// The version of a canonical reference (`url|version`), if it names one.
pub fn canonical_version(canonical: &str) -> Option<&str> {
    canonical.split_once('|').map(|(_, version)| version).filter(|v| !v.is_empty())
}

/// The canonical of the code system an include or exclude names: `system`, or
/// `system|version` with its `version`.
pub(crate) fn system_canonical(part: &serde_json::Value) -> Option<String> {
    let system = part.get("system").and_then(serde_json::Value::as_str)?;
    Some(match part.get("version").and_then(serde_json::Value::as_str) {
        Some(version) => format!("{system}|{version}"),
        None => system.to_owned(),
    })
}

#[cfg(test)]
mod tests;
