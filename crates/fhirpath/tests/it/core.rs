//! Every FHIRPath expression of the R4 core package (search parameters and invariants) parses,
//! and search parameters and resource-level invariants evaluate without error on the example
//! resources of the suite.

use fhirpath::{EvalContext, parse};
use serde_json::Value;

#[expect(clippy::expect_used, reason = "test helper: missing fixtures must fail loudly")]
fn examples() -> Vec<Value> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/fhirpath/inputs");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("inputs dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push(serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json"));
        }
    }
    out
}

#[test]
fn core_expressions_parse() {
    let model = fhir_model::r4();
    let mut failures = Vec::new();
    for sp in model.all_search_params() {
        let exprs = std::iter::once(sp.expression.as_str()).chain(sp.component.iter().map(|c| c.expression.as_str()));
        for expr in exprs.filter(|e| !e.is_empty()) {
            if let Err(e) = parse(expr) {
                failures.push(format!("{}: {expr}: {e}", sp.id));
            }
        }
    }
    for name in model.resource_types().iter().map(String::as_str).chain([
        "Element",
        "Resource",
        "DomainResource",
        "Extension",
        "Reference",
        "Quantity",
    ]) {
        let Some(def) = model.type_def(name) else {
            continue;
        };
        for element in &def.elements {
            for c in &element.constraints {
                if let Err(e) = parse(&c.expression) {
                    failures.push(format!("{}: {}: {e}", c.key, c.expression));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn core_expressions_evaluate_on_examples() {
    let model = fhir_model::r4();
    let ctx = EvalContext::new().with_now("2026-01-01T00:00:00Z").expect("now");
    let mut failures = Vec::new();
    for resource in examples() {
        let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
            continue;
        };
        for sp in model.search_params(rt).filter(|sp| !sp.expression.is_empty()) {
            let expr = parse(&sp.expression).expect("parses");
            if let Err(e) = expr.evaluate(&ctx, &resource) {
                failures.push(format!("{rt} {}: {e}", sp.id));
            }
        }
        // Every invariant at every element of the resource, on the items at that path. Some
        // examples break invariants (dom-6: no narrative), so only errors fail here.
        let Some(def) = model.type_def(rt) else {
            continue;
        };
        for element in &def.elements {
            let path = element.path.trim_end_matches("[x]");
            let items = parse(path).and_then(|p| p.evaluate(&ctx, &resource)).expect("element path evaluates");
            for c in &element.constraints {
                let expr = parse(&c.expression).expect("parses");
                for item in &items {
                    let ctx = EvalContext::new().with_resource(&resource);
                    if let Err(e) = expr.evaluate_items(&ctx, vec![item.clone()]) {
                        failures.push(format!("{rt} {} at {}: {}: {e}", c.key, element.path, c.expression));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
