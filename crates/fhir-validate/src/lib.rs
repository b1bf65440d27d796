//! fhir-validate: structural validation of FHIR R4 JSON resources.
//!
//! Owns: checking a `serde_json::Value` against the base StructureDefinitions of `fhir-model` —
//! resource types, unknown elements, JSON types, cardinality, choice types, primitive formats
//! (the regexes of the definitions), primitive extensions (`_birthDate`), extensions, empty
//! values and required bindings whose value sets can be expanded offline, then the FHIRPath
//! invariants of the definitions ([`StandardInvariants`], on by default in [`Validator::new`]).
//! It reports every problem it finds as an [`Issue`]; other invariant checks plug in through
//! [`InvariantCheck`].
//!
//! Must not know: HTTP, storage, how FHIRPath is evaluated (the `fhirpath` crate), or any rule about an individual resource
//! type — every fact comes from the model, so a different FHIR version is a different model.
//!
//! Conventions: [`Issue::expression`] is a FHIRPath location from the resource type:
//! `Patient.name[0].given[1]`; choice elements use HAPI's `Observation.value.ofType(Quantity)`;
//! the `_name` sibling of a primitive is reported at the primitive (`Patient.birthDate.extension[0]`);
//! nested resources continue the path of the element holding them (`Bundle.entry[2].resource.id`);
//! a root without a usable `resourceType` is `Resource`. Strings that are only whitespace are a
//! warning; everything else is an error. Primitive regexes are the definitions' own, read with
//! XML Schema semantics (`\s` is space, tab, CR, LF only). `Resource.id` is checked as an `id`
//! (resource.html), although the R4 snapshots type it as a plain string.
//!
//! Invariants: validation never panics on any JSON input, walks the JSON once without cloning
//! it, and compiles each primitive regex once (in [`Validator::new`]). The [`InvariantCheck`] hook
//! is called once, with the root resource, only when the structural checks found no error.

mod binding;
mod contained;
mod invariant;
mod issue;
mod primitive;
mod validator;
mod walk;

pub use invariant::{StandardInvariants, skipped_invariant_keys};
pub use issue::{Issue, IssueType, Severity};
pub use validator::{InvariantCheck, Validator, standard_invariants};

#[cfg(test)]
mod tests;
