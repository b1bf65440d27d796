//! fhir-validate: structural validation of FHIR R4 JSON resources.
//!
//! Owns: checking a `serde_json::Value` against the base StructureDefinitions of `fhir-model` —
//! resource types, unknown elements, JSON types, cardinality, choice types, primitive formats
//! (the regexes of the definitions), primitive extensions (`_birthDate`), extensions, empty
//! values and required bindings whose value sets can be expanded offline. It reports every
//! problem it finds as an [`Issue`]; FHIRPath invariants plug in through [`InvariantCheck`].
//!
//! Must not know: HTTP, storage, FHIRPath evaluation, or any rule about an individual resource
//! type — every fact comes from the model, so a different FHIR version is a different model.
//!
//! Invariants: validation never panics on any JSON input, walks the JSON once without cloning
//! it, and compiles each primitive regex once (in [`Validator::new`]).

mod binding;
mod issue;
mod primitive;
mod validator;
mod walk;

pub use issue::{Issue, IssueType, Severity};
pub use validator::{InvariantCheck, Validator};

#[cfg(test)]
mod tests;
