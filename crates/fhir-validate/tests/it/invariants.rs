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

/// The definition's own `dom-3` expression, evaluated by the FHIRPath engine: the reference the
/// native check is compared with. One rewrite: `descendants().where(reference = '#')` names
/// `reference` on every single descendant, which the engine (strict about element names, as
/// the FHIRPath spec allows) rejects on anything but a Reference; selecting `reference` from the
/// whole collection first means the same and is accepted.
#[expect(clippy::expect_used, reason = "a test helper: its failure is the test's failure")]
fn dom_3_by_expression(resource: &Value) -> Option<bool> {
    let model = fhir_model::r4();
    let constraint = model
        .type_def("DomainResource")
        .into_iter()
        .flat_map(|def| &def.elements)
        .flat_map(|element| &element.constraints)
        .find(|c| c.key == "dom-3")
        .expect("DomainResource declares dom-3");
    let text = constraint
        .expression
        .replace("descendants().where(reference = '#')", "descendants().reference.where($this = '#')");
    assert_ne!(text, constraint.expression, "the rewrite applies");
    let expression = fhirpath::parse(&text).expect("dom-3 parses");
    let ctx = fhirpath::EvalContext::new().with_resource(resource).with_root_resource(resource);
    expression.evaluate_bool(&ctx, resource).expect("dom-3 evaluates")
}

fn has_dom_3_issue(resource: &Value) -> bool {
    invariant_errors(resource).iter().any(|i| i.message.starts_with("dom-3: "))
}

/// Renames every contained resource's id, so references to the old ids no longer resolve.
fn with_renamed_contained_ids(resource: &Value) -> Value {
    let mut out = resource.clone();
    if let Some(items) = out.get_mut("contained").and_then(Value::as_array_mut) {
        for item in items {
            if let Some(id) = item.get("id").and_then(Value::as_str).map(|id| format!("renamed{id}")) {
                item["id"] = Value::String(id);
            }
        }
    }
    out
}

#[test]
fn dom_3_is_checked_natively_with_the_expression_semantics() -> crate::TestResult<()> {
    let mut compared = 0;
    let mut violations = 0;
    for (name, example) in crate::examples()? {
        if example.get("contained").is_none()
            || !invariant_errors(&example).iter().all(|i| i.message.starts_with("dom-3: "))
        {
            continue;
        }
        for resource in [example.clone(), with_renamed_contained_ids(&example)] {
            let expected_violation = dom_3_by_expression(&resource) == Some(false);
            assert_eq!(has_dom_3_issue(&resource), expected_violation, "{name}: {resource:#}");
            compared += 1;
            violations += usize::from(expected_violation);
        }
    }
    assert!(compared > 100 && violations > 20, "compared {compared}, of which {violations} violations");
    Ok(())
}

#[test]
fn dom_3_accepts_references_canonicals_and_references_to_the_container() {
    let observation = |contained: Value, rest: Value| {
        let mut o =
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "contained": [contained]});
        if let (Some(o), Some(rest)) = (o.as_object_mut(), rest.as_object()) {
            o.extend(rest.clone());
        }
        o
    };
    let patient = json!({"resourceType": "Patient", "id": "p"});
    let referenced = observation(patient.clone(), json!({"subject": {"reference": "#p"}}));
    let unreferenced = observation(patient.clone(), json!({"subject": {"reference": "Patient/p"}}));
    let back = observation(
        json!({"resourceType": "Patient", "id": "p", "link": [{"other": {"reference": "#"}, "type": "seealso"}]}),
        json!({}),
    );
    let canonical = json!({
        "resourceType": "Questionnaire", "status": "draft",
        "contained": [{"resourceType": "ValueSet", "id": "vs", "status": "draft"}],
        "item": [{"linkId": "1", "type": "choice", "answerValueSet": "#vs"}]
    });
    let no_id = observation(json!({"resourceType": "Patient"}), json!({}));
    for (resource, violates) in
        [(referenced, false), (unreferenced, true), (back, false), (canonical, false), (no_id, false)]
    {
        assert_eq!(dom_3_by_expression(&resource) == Some(false), violates, "expression on {resource:#}");
        assert_eq!(has_dom_3_issue(&resource), violates, "{resource:#}");
    }
    assert_violates(&observation(patient, json!({})), "dom-3", "Observation.contained[0]");
}
