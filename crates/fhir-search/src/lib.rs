//! fhir-search
