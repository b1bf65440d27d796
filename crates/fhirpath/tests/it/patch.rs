//! Runs the official FHIRPath Patch cases (`fhir-patch-tests.json`) through
//! `apply_fhirpath_patch` and compares against `tests/patch-known-failures.txt`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use fhirpath::{PatchError, apply_fhirpath_patch};
use serde_json::{Value, json};

type TestResult<T> = Result<T, Box<dyn std::error::Error>>;

fn cases() -> TestResult<Vec<Value>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/patch/fhir-patch-tests.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    match serde_json::from_str(&text)? {
        Value::Array(cases) => Ok(cases),
        _ => Err("fhir-patch-tests.json is not an array of cases".into()),
    }
}

fn known_failures() -> BTreeSet<String> {
    include_str!("../patch-known-failures.txt")
        .lines()
        .filter_map(|line| line.split('#').next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The cases compare narrative XHTML without the whitespace after the root `div` closes (the
/// JSON form of the suite was converted from XML, where it is insignificant).
fn normalized(mut value: Value) -> Value {
    if let Some(Value::String(div)) = value.pointer_mut("/text/div") {
        *div = div.trim_end().to_owned();
    }
    value
}

fn run_case(case: &Value) -> Result<(), String> {
    let result = apply_fhirpath_patch(&case["input"], &case["diff"]);
    match (result, case.get("output"), case.get("error")) {
        (Ok(actual), Some(expected), _) => {
            if normalized(actual.clone()) == normalized(expected.clone()) {
                Ok(())
            } else {
                Err(format!("expected {expected}\n  got {actual}"))
            }
        }
        (Err(_), None, Some(_)) => Ok(()),
        (Ok(actual), None, Some(error)) => Err(format!("expected error {error}, got {actual}")),
        (Err(error), _, _) => Err(format!("unexpected error: {error}")),
        (Ok(_), None, None) => Err("case has neither output nor error".to_owned()),
    }
}

#[test]
fn official_fhirpath_patch_suite() -> TestResult<()> {
    let known = known_failures();
    let mut passed = 0;
    let mut failed = BTreeSet::new();
    let mut unexpected = Vec::new();
    for case in cases()? {
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        match run_case(&case) {
            Ok(()) => passed += 1,
            Err(message) => {
                println!("FAIL {name}: {message}");
                if !known.contains(&name) {
                    unexpected.push(name.clone());
                }
                failed.insert(name);
            }
        }
    }
    println!("fhirpath patch suite: {passed} passed, {} failed", failed.len());
    let fixed: Vec<&String> = known.difference(&failed).collect();
    assert!(unexpected.is_empty(), "unexpected failures: {unexpected:?}");
    assert!(fixed.is_empty(), "now passing, remove from the list: {fixed:?}");
    assert_eq!(passed + failed.len(), 33, "expected the 33 official cases");
    Ok(())
}

fn op(parts: Value) -> Value {
    json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]})
}

#[test]
fn new_elements_follow_definition_order() {
    let patient = json!({"resourceType": "Patient", "id": "x", "gender": "male", "deceasedBoolean": false});
    let patch = op(json!([
        {"name": "type", "valueCode": "add"},
        {"name": "path", "valueString": "Patient"},
        {"name": "name", "valueString": "active"},
        {"name": "value", "valueBoolean": true}
    ]));
    let patched = apply_fhirpath_patch(&patient, &patch).unwrap();
    let keys: Vec<&String> = patched.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["resourceType", "id", "active", "gender", "deceasedBoolean"]);
}

#[test]
fn choice_names_take_the_value_type() {
    let patient = json!({"resourceType": "Patient", "gender": "male", "address": [{"city": "X"}]});
    let patch = op(json!([
        {"name": "type", "valueCode": "add"},
        {"name": "path", "valueString": "Patient"},
        {"name": "name", "valueString": "deceased"},
        {"name": "value", "valueDateTime": "2020-01-01"}
    ]));
    let patched = apply_fhirpath_patch(&patient, &patch).unwrap();
    let keys: Vec<&String> = patched.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["resourceType", "gender", "deceasedDateTime", "address"]);
    let replace = op(json!([
        {"name": "type", "valueCode": "replace"},
        {"name": "path", "valueString": "Patient.deceased"},
        {"name": "value", "valueBoolean": true}
    ]));
    let replaced = apply_fhirpath_patch(&patched, &replace).unwrap();
    assert_eq!(
        replaced,
        json!({"resourceType": "Patient", "gender": "male", "deceasedBoolean": true, "address": [{"city": "X"}]})
    );
}

#[test]
fn path_errors_and_multiple_matches_are_errors() {
    let patient = json!({"resourceType": "Patient", "name": [{"family": "a"}, {"family": "b"}]});
    let bad = op(json!([
        {"name": "type", "valueCode": "delete"},
        {"name": "path", "valueString": "Patient.name.("}
    ]));
    assert!(matches!(apply_fhirpath_patch(&patient, &bad), Err(PatchError::Path { .. })));
    let several = op(json!([
        {"name": "type", "valueCode": "replace"},
        {"name": "path", "valueString": "Patient.name.family"},
        {"name": "value", "valueString": "c"}
    ]));
    assert!(matches!(apply_fhirpath_patch(&patient, &several), Err(PatchError::Unprocessable(_))));
    let nothing = op(json!([
        {"name": "type", "valueCode": "delete"},
        {"name": "path", "valueString": "Patient.birthDate"}
    ]));
    assert_eq!(apply_fhirpath_patch(&patient, &nothing).unwrap(), patient);
    let insert_empty = op(json!([
        {"name": "type", "valueCode": "insert"},
        {"name": "path", "valueString": "Patient.telecom"},
        {"name": "index", "valueInteger": 0},
        {"name": "value", "valueContactPoint": {"system": "phone", "value": "1"}}
    ]));
    let inserted = apply_fhirpath_patch(&patient, &insert_empty).unwrap();
    assert_eq!(inserted["telecom"], json!([{"system": "phone", "value": "1"}]));
}
