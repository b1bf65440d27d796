//! Runs the official FHIRPath R4 test suite and compares against the known-failures list.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fhirpath::{Decimal, EvalContext, Item, parse, to_typed_json};
use serde_json::Value;

use crate::xml::{self, Element};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/fhirpath")
}

struct Case {
    name: String,
    input: Option<String>,
    expression: String,
    invalid: bool,
    predicate: bool,
    ordered: bool,
    outputs: Vec<(Option<String>, String)>,
}

fn cases(root: &Element) -> Vec<Case> {
    let mut out = Vec::new();
    for group in &root.children {
        for (i, test) in group.children.iter().filter(|t| t.name == "test").enumerate() {
            let Some(expr) = test.children.iter().find(|c| c.name == "expression") else {
                continue;
            };
            out.push(Case {
                name: test
                    .attr("name")
                    .map_or_else(|| format!("{}#{i}", group.attr("name").unwrap_or("")), str::to_owned),
                input: test.attr("inputfile").map(|f| f.replace(".xml", ".json")),
                expression: expr.text.clone(),
                invalid: expr.attr("invalid").is_some(),
                predicate: test.attr("predicate") == Some("true"),
                ordered: test.attr("ordered") != Some("false"),
                outputs: test
                    .children
                    .iter()
                    .filter(|c| c.name == "output")
                    .map(|o| (o.attr("type").map(str::to_owned), o.text.clone()))
                    .collect(),
            });
        }
    }
    out
}

fn rendered(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_matches(expected_type: Option<&str>, expected: &str, actual: &Value) -> bool {
    let expected = expected.strip_prefix("@T").or_else(|| expected.strip_prefix('@')).unwrap_or(expected);
    let actual = rendered(actual);
    let numeric = matches!(expected_type, None | Some("decimal" | "integer"));
    if numeric && let (Some(a), Some(b)) = (Decimal::parse(expected), Decimal::parse(&actual)) {
        return if expected_type.is_none() { a.to_string() == b.to_string() } else { a == b };
    }
    expected == actual
}

fn item_matches(expected: &(Option<String>, String), actual: &Value) -> bool {
    let ty = actual.get("type").and_then(Value::as_str).unwrap_or("");
    let value = actual.get("value").unwrap_or(&Value::Null);
    expected.0.as_deref().is_none_or(|t| t == ty) && value_matches(expected.0.as_deref(), &expected.1, value)
}

fn outputs_match(case: &Case, actual: &[Value]) -> bool {
    if case.outputs.len() != actual.len() {
        return false;
    }
    if case.ordered {
        return case.outputs.iter().zip(actual).all(|(e, a)| item_matches(e, a));
    }
    let mut used = vec![false; actual.len()];
    case.outputs.iter().all(|e| {
        let found = actual.iter().enumerate().position(|(i, a)| !used[i] && item_matches(e, a));
        found.map(|i| used[i] = true).is_some()
    })
}

/// Ok(()) when the case passes, Err(description) otherwise.
fn run(case: &Case, inputs: &BTreeMap<String, Value>, ctx: &EvalContext<'_>) -> Result<(), String> {
    let input = case.input.as_ref().and_then(|f| inputs.get(f));
    let outcome = parse(&case.expression).and_then(|expr| match input {
        Some(json) => expr.evaluate(ctx, json),
        None => expr.evaluate_items(ctx, Vec::new()),
    });
    match (outcome, case.invalid) {
        (Err(_), true) => Ok(()),
        (Ok(r), true) => Err(format!("expected an error, got {}", to_typed_json(&r))),
        (Err(e), false) => Err(format!("error: {e}")),
        (Ok(result), false) => {
            let result = if case.predicate { vec![Item::Boolean(!result.is_empty())] } else { result };
            let Value::Array(actual) = to_typed_json(&result) else {
                return Err("not an array".into());
            };
            if outputs_match(case, &actual) {
                Ok(())
            } else {
                Err(format!("expected {:?}, got {}", case.outputs, Value::Array(actual)))
            }
        }
    }
}

fn known_failures() -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/known-failures.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, reason) = l.split_once('#').unwrap_or((l, ""));
            (name.trim().to_owned(), reason.trim().to_owned())
        })
        .collect()
}

#[test]
fn official_suite() {
    let dir = shared();
    let text =
        std::fs::read_to_string(dir.join("tests-fhir-r4.xml")).expect("the suite is in shared/conformance/fhirpath");
    let root = xml::parse(&text);
    let cases = cases(&root);
    let mut inputs = BTreeMap::new();
    for case in &cases {
        if let Some(file) = &case.input
            && !inputs.contains_key(file)
        {
            let json = std::fs::read_to_string(dir.join("inputs").join(file)).expect("input file");
            inputs.insert(file.clone(), serde_json::from_str::<Value>(&json).expect("input JSON"));
        }
    }
    let ctx = EvalContext::new().with_now("2026-11-23T19:00:00.000+00:00").expect("now");
    let known = known_failures();
    let (mut passed, mut failed) = (0, 0);
    let mut unexpected = Vec::new();
    let mut now_passing = Vec::new();
    for case in &cases {
        match run(case, &inputs, &ctx) {
            Ok(()) => {
                passed += 1;
                if known.contains_key(&case.name) {
                    now_passing.push(case.name.clone());
                }
            }
            Err(why) => {
                failed += 1;
                if !known.contains_key(&case.name) {
                    unexpected.push(format!("{}: {} => {why}", case.name, case.expression.trim()));
                }
            }
        }
    }
    // Written to stdout directly so the summary shows even when the harness captures output.
    let summary = format!("fhirpath suite: {passed} passed, {failed} failed\n");
    let _ = std::io::Write::write_all(&mut std::io::stdout(), summary.as_bytes());
    for name in &now_passing {
        println!("listed in known-failures.txt but now passes: {name}");
    }
    for line in &unexpected {
        println!("UNEXPECTED FAILURE {line}");
    }
    assert!(unexpected.is_empty(), "{} unexpected failures", unexpected.len());
}
