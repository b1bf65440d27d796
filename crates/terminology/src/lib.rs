//! terminology: expanding a ValueSet into the codes it contains.
//!
//! Owns: the `ValueSet.compose` rules (include and exclude; enumerated concepts; a whole code
//! system; filters over a CodeSystem's concept hierarchy (`=`, `in`, `not-in`, `is-a`,
//! `descendent-of`, `is-not-a`, `generalizes`); nested value sets, intersected), the
//! use of a stored `ValueSet.expansion`, and the limits that keep an expansion bounded.
//! Must not know: storage, HTTP, search. The caller fetches the resources an expansion names
//! ([`Resources::wanted`] says which, until nothing is missing), then [`expand`] is pure.
//!
//! Versions (`url|version`) are not distinguished: a canonical names the resource with that
//! `url` the caller found.

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

#[cfg(test)]
mod tests;
