//! The RFC 6902 cases FHIR uses (`../shared/conformance/patch/json-patch-tests.json`) against the
//! JSON Patch path of PATCH. They patch plain documents, not resources, so they run here.

use serde_json::Value;

use super::apply_json_patch;

#[test]
fn json_patch_conformance_cases() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/patch/json-patch-tests.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["comment"].as_str().unwrap_or("?");
        let result = apply_json_patch(&case["doc"].to_string(), case["patch"].to_string().as_bytes());
        let passed = match (case.get("expected"), result) {
            (Some(expected), Ok(actual)) => &actual == expected,
            (None, Err(_)) => true,
            _ => false,
        };
        if !passed {
            failures.push(name.to_owned());
        }
    }
    println!("json patch suite: {} passed, {} failed", cases.len() - failures.len(), failures.len());
    assert!(failures.is_empty(), "{failures:?}");
}
