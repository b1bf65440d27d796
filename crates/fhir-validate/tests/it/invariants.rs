//! The FHIRPath invariants of the base definitions, as `Validator::new` checks them.

use fhir_validate::{Issue, IssueType, Validator, standard_invariants};
use serde_json::{Value, json};

fn invariant_errors(resource: &Value) -> Vec<Issue> {
    let validator = Validator::new(fhir_model::r4());
    validator.validate(resource).into_iter().filter(Issue::is_error).collect()
}

fn assert_violates(resource: &Value, key: &str, expression: &str) {
    let issues = invariant_errors(resource);
    assert!(
        issues.iter().any(|i| i.code == IssueType::Invariant
            && i.message.starts_with(&format!("{key}: "))
            && i.expression == expression),
        "expected {key} at {expression}, got {issues:#?}"
    );
}

#[test]
fn every_constraint_expression_parses() {
    let invariants = standard_invariants(fhir_model::r4());
    let unparsable: Vec<&str> = invariants.unparsable().iter().map(|(k, _)| *k).collect();
    assert_eq!(unparsable, Vec::<&str>::new(), "{:#?}", invariants.unparsable());
    assert!(invariants.compiled_count() > 500, "{}", invariants.compiled_count());
}

#[test]
fn patient_contact_needs_details() {
    let patient = json!({"resourceType": "Patient", "contact": [{"gender": "male"}]});
    assert_violates(&patient, "pat-1", "Patient.contact[0]");
    let ok = json!({"resourceType": "Patient", "contact": [{"name": {"text": "A"}}]});
    assert_eq!(invariant_errors(&ok), vec![]);
}

#[test]
fn observation_data_absent_reason_excludes_a_value() {
    let observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
        "dataAbsentReason": {"text": "unknown"}
    });
    assert_violates(&observation, "obs-6", "Observation");
}

#[test]
fn period_end_after_start() {
    let encounter = json!({
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "period": {"start": "2020-01-02", "end": "2020-01-01"}
    });
    assert_violates(&encounter, "per-1", "Encounter.period");
    let choice = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "effectivePeriod": {"start": "2020-01-02T10:00:00Z", "end": "2020-01-02T09:00:00Z"}
    });
    assert_violates(&choice, "per-1", "Observation.effective.ofType(Period)");
}

#[test]
fn extension_has_value_or_extensions() {
    let patient = json!({
        "resourceType": "Patient",
        "extension": [{
            "url": "http://example.org/x",
            "valueString": "a",
            "extension": [{"url": "b", "valueString": "c"}]
        }]
    });
    // The structural check catches it first (and then invariants do not run).
    let issues = invariant_errors(&patient);
    assert!(
        issues.iter().any(|i| i.code == IssueType::Invariant && i.expression == "Patient.extension[0]"),
        "{issues:#?}"
    );
}

#[test]
fn contained_resources_and_bundle_entries_are_checked() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "contact": [{"gender": "male"}]}}]
    });
    assert_violates(&bundle, "pat-1", "Bundle.entry[0].resource.contact[0]");
    let contained = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "#p"},
        "contained": [{"resourceType": "Patient", "id": "p", "contact": [{"gender": "male"}]}]
    });
    assert_violates(&contained, "pat-1", "Observation.contained[0].contact[0]");
}

#[test]
fn primitive_with_only_an_id_violates_ele_1() {
    let patient = json!({"resourceType": "Patient", "_birthDate": {"id": "a"}});
    assert_violates(&patient, "ele-1", "Patient.birthDate");
}

#[test]
fn skipped_invariants_are_listed_with_reasons() {
    for line in include_str!("../skipped-invariants.txt").lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, reason) = line.split_once('#').expect("key # reason");
        assert!(!key.trim().is_empty() && !reason.trim().is_empty(), "{line}");
    }
}
