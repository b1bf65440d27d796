//! fhir-model: the FHIR R4 definitions as data.
//!
//! Owns: every base StructureDefinition (resources, complex and primitive types) with its snapshot
//! elements, every SearchParameter, the CompartmentDefinitions and the expansions of required
//! value sets, all read at build time from the vendored official package `hl7.fhir.r4.core` 4.0.1.
//! Must not know: HTTP, storage, FHIRPath evaluation, validation policy.
//! Invariant: nothing about an individual resource type is written by hand here; every fact comes
//! from the package, so R4B/R5 is a different package, not different code.

mod element;
mod model;
mod search_param;

pub use element::{Binding, Constraint, ElementDef, ElementType, Location};
pub use model::{Model, Property, TypeDef, TypeKind, r4};
pub use search_param::{Compartment, CompartmentMember, SearchParamComponent, SearchParamDef, SearchParamType};
