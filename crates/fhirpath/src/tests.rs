//! Unit tests of the public API: context, callbacks, typing, rendering.

use serde_json::{Value, json};

use crate::*;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn expression_is_send_and_sync() {
    assert_send_sync::<Expression>();
}

fn eval(expr: &str, input: &Value) -> Value {
    let ctx = EvalContext::new().with_now("2026-11-23T19:00:00Z").unwrap();
    to_typed_json(&parse(expr).unwrap().evaluate(&ctx, input).unwrap())
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p",
        "name": [{"given": ["A", "B"], "_given": [null, {"extension": [{"url": "u", "valueCode": "x"}]}]}],
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "contained": [{"resourceType": "Organization", "id": "o", "name": "Org"}],
        "managingOrganization": {"reference": "#o"},
        "generalPractitioner": [{"reference": "Practitioner/1"}]
    })
}

#[test]
fn evaluates_paths_with_types() {
    let p = patient();
    assert_eq!(
        eval("Patient.name.given", &p),
        json!([{"type": "string", "value": "A"}, {"type": "string", "value": "B"}])
    );
    assert_eq!(
        eval("birthDate.extension.value", &p),
        json!([{"type": "dateTime", "value": "1974-12-25T14:35:45-05:00"}])
    );
    assert_eq!(eval("name.given[1].extension.url", &p), json!([{"type": "uri", "value": "u"}]));
    assert_eq!(eval("managingOrganization.resolve().name", &p), json!([{"type": "string", "value": "Org"}]));
    assert_eq!(eval("birthDate + 1 year", &p), json!([{"type": "date", "value": "1975-12-25"}]));
    assert_eq!(eval("1.0 + 2", &p), json!([{"type": "decimal", "value": 3.0}]));
    assert_eq!(eval("4 'g'", &p), json!([{"type": "Quantity", "value": "4 'g'"}]));
    assert_eq!(eval("today()", &p), json!([{"type": "date", "value": "2026-11-23"}]));
}

struct Store(Value);

impl Resolver for Store {
    fn resolve(&self, reference: &str) -> Option<&Value> {
        (reference == "Practitioner/1").then_some(&self.0)
    }
}

struct Codes;

impl Terminology for Codes {
    fn member_of(&self, item: &Item<'_>, value_set: &str) -> Option<bool> {
        Some(value_set == "http://vs" && item.as_str() == Some("male"))
    }
}

#[test]
fn callbacks_and_variables() {
    let p = patient();
    let store = Store(json!({"resourceType": "Practitioner", "id": "1", "active": true}));
    let ctx = EvalContext::new()
        .with_resolver(&store)
        .with_terminology(&Codes)
        .with_variable("limit", vec![Item::Integer(3)]);
    let expr = parse("generalPractitioner.resolve().active and %limit = 3 and 'male'.memberOf('http://vs')").unwrap();
    assert_eq!(expr.evaluate_bool(&ctx, &p).unwrap(), Some(true));
    let err = parse("%missing").unwrap().evaluate(&ctx, &p).unwrap_err();
    assert!(err.to_string().contains("missing"));
}

#[test]
fn nodes_for_indexing() {
    let p = patient();
    let ctx = EvalContext::new();
    let nodes = parse("Patient.managingOrganization | Patient.name").unwrap().evaluate_nodes(&ctx, &p).unwrap();
    let types: Vec<&str> = nodes.iter().map(|(_, t)| *t).collect();
    assert_eq!(types, ["Reference", "HumanName"]);
    assert_eq!(nodes[0].0, &json!({"reference": "#o"}));
}

#[test]
fn errors_have_positions() {
    let Err(Error::Syntax { pos, .. }) = parse("1 +\n  )") else { panic!("expected a syntax error") };
    assert_eq!((pos.line, pos.column), (2, 3));
    assert!(matches!(parse("foo()"), Err(Error::Semantic { .. })));
    let ctx = EvalContext::new();
    let err = parse("1 + 'a'").unwrap().evaluate(&ctx, &json!({})).unwrap_err();
    assert!(matches!(err, Error::Evaluation { pos: Some(Pos { offset: 2, .. }), .. }), "{err:?}");
    let err = parse("Patient.name.given1").unwrap().evaluate(&ctx, &patient()).unwrap_err();
    assert!(err.to_string().contains("given1"));
    assert!(parse(&"-".repeat(5000)).is_err());
    assert!(parse(&"(".repeat(5000)).is_err());
}

#[test]
fn now_must_be_injected() {
    let err = parse("now()").unwrap().evaluate(&EvalContext::new(), &json!({})).unwrap_err();
    assert!(err.to_string().contains("now()"));
}

#[test]
fn unresolvable_references_keep_their_type() {
    let p = patient();
    let ctx = EvalContext::new();
    let expr = parse("Patient.generalPractitioner.where(resolve() is Practitioner)").unwrap();
    assert_eq!(expr.evaluate(&ctx, &p).unwrap().len(), 1);
    let none = parse("Patient.generalPractitioner.where(resolve() is Patient)").unwrap();
    assert!(none.evaluate(&ctx, &p).unwrap().is_empty());
}

#[test]
fn bundle_references_resolve() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://x/Patient/1", "resource": {"resourceType": "Patient", "id": "1", "gender": "female"}},
            {"resource": {"resourceType": "Observation", "id": "o", "status": "final", "subject": {"reference": "Patient/1"}}}
        ]
    });
    let got = eval("Bundle.entry.resource.ofType(Observation).subject.resolve().gender", &bundle);
    assert_eq!(got, json!([{"type": "code", "value": "female"}]));
}
