//! fhirpath: the FHIRPath engine (parser + evaluator over FHIR JSON).
