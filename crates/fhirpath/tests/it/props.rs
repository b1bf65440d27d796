//! Property tests: parsing and evaluating arbitrary text never panics.

use fhirpath::{EvalContext, parse};
use proptest::prelude::*;

fn patient() -> serde_json::Value {
    serde_json::json!({
        "resourceType": "Patient",
        "id": "p1",
        "active": true,
        "name": [{"use": "official", "family": "Doe", "given": ["Jane", "Q"]}],
        "birthDate": "1980-02-29",
        "_birthDate": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]},
        "telecom": [{"system": "phone", "value": "555"}],
        "contained": [{"resourceType": "Organization", "id": "o1", "name": "Acme"}],
        "managingOrganization": {"reference": "#o1"}
    })
}

const PIECES: &[&str] = &[
    "Patient",
    "name",
    "given",
    "family",
    "birthDate",
    "active",
    "telecom",
    "contained",
    "id",
    ".",
    "(",
    ")",
    "[0]",
    " | ",
    " = ",
    " != ",
    " ~ ",
    " and ",
    " or ",
    " implies ",
    " + ",
    " - ",
    " * ",
    " / ",
    " div ",
    " mod ",
    " & ",
    " < ",
    " >= ",
    " is ",
    " as ",
    "String",
    "Quantity",
    "1",
    "2.5",
    "'a'",
    "@2020-01-01",
    "@T10:00",
    "5 'mg'",
    "3 days",
    "true",
    "{}",
    "$this",
    "$index",
    "%resource",
    "where(",
    "select(",
    "exists(",
    "first()",
    "count()",
    "children()",
    "descendants()",
    "resolve()",
    "extension('http://example.org/x')",
    "iif(",
    ",",
    "substring(",
    "toString()",
    "toInteger()",
    "repeat(",
    "aggregate($total + 1, 0)",
    "sort(",
    "-",
    "ofType(",
    "length()",
    "matches('a.*')",
    "now()",
    "today()",
    "trace('t')",
    "combine(",
    "union(",
    "hasValue()",
    "not()",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(text in "\\PC{0,40}") {
        let _ = parse(&text);
    }

    #[test]
    fn evaluation_never_panics(indices in proptest::collection::vec(0..PIECES.len(), 1..12)) {
        let text: String = indices.iter().map(|&i| PIECES[i]).collect();
        let json = patient();
        let ctx = EvalContext::new().with_now_millis(1_700_000_000_000, 60);
        if let Ok(expr) = parse(&text) {
            let _ = expr.evaluate(&ctx, &json);
        }
    }
}
