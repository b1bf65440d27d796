//! fhir-validate
