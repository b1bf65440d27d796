//! Validates every official R4 example: valid ones must produce no error, and the examples that
//! fail must be exactly those listed in `tests/known-invalid-examples.txt`.

mod invariants;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use fhir_validate::Validator;
use serde_json::Value;

type TestResult<T> = Result<T, Box<dyn std::error::Error>>;

fn examples() -> TestResult<Vec<(String, Value)>> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let path = Path::new(dir).join("../../../shared/fhir/r4/hl7.fhir.r4.examples-4.0.1.tgz");
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let model = fhir_model::r4();
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(file_name) = name.strip_prefix("package/") else {
            continue;
        };
        if file_name.contains('/') || !file_name.ends_with(".json") {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        let value: Value = serde_json::from_str(&text)?;
        let concrete = value.get("resourceType").and_then(Value::as_str).is_some_and(|t| model.is_resource_type(t));
        if concrete {
            out.push((file_name.to_owned(), value));
        }
    }
    Ok(out)
}

fn known_invalid() -> BTreeSet<String> {
    include_str!("../known-invalid-examples.txt")
        .lines()
        .filter_map(|line| line.split('#').next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn official_examples_are_valid() -> TestResult<()> {
    let validator = Validator::new(fhir_model::r4());
    let examples = examples()?;
    let known = known_invalid();
    let mut failing = BTreeSet::new();
    let mut unexpected = Vec::new();
    let started = std::time::Instant::now();
    for (name, resource) in &examples {
        let issues = validator.validate(resource);
        if let Some(first) = issues.iter().find(|i| i.is_error()) {
            let errors = issues.iter().filter(|i| i.is_error()).count();
            println!("{name}: {first} ({errors} errors)");
            if !known.contains(name) {
                unexpected.push(name.clone());
            }
            failing.insert(name.clone());
        }
    }
    let elapsed = started.elapsed();
    let passed = examples.len() - failing.len();
    println!("validated {} examples in {elapsed:?}", examples.len());
    let invariants = fhir_validate::standard_invariants(fhir_model::r4());
    println!("invariant evaluation errors (constraint skipped): {:?}", invariants.evaluation_errors());
    println!("{passed}/{} examples valid, {} invalid", examples.len(), failing.len());
    let fixed: Vec<&String> = known.difference(&failing).collect();
    assert!(examples.len() > 2000, "expected the whole examples package, found {}", examples.len());
    assert!(passed * 100 >= examples.len() * 99, "fewer than 99% of the examples are valid");
    assert!(unexpected.is_empty(), "examples fail that are not known to be invalid: {unexpected:?}");
    assert!(fixed.is_empty(), "examples listed as invalid now pass; remove them from the list: {fixed:?}");
    Ok(())
}
