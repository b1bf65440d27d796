use super::{SearchOptions, parse_search};
use crate::SearchRegistry;

fn run(resource_type: &str, query: &str, lenient: bool) -> String {
    let registry = SearchRegistry::new(fhir_model::r4());
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect();
    let options = SearchOptions { lenient, default_count: 20, max_count: 1000, value_sets: &crate::NO_VALUE_SETS };
    match parse_search(&registry, resource_type, &params, options) {
        Ok(parsed) => format!("{:?} ignored={}", parsed.query.filters, parsed.ignored.len()),
        Err(error) => format!("error: {error}"),
    }
}

#[test]
fn token_forms() {
    assert_eq!(
        run("Patient", "identifier=urn:x|1,|2,3,urn:y|", false),
        r#"[Token { param: "identifier", values: [SystemCode("urn:x", "1"), NoSystemCode("2"), Code("3"), System("urn:y")], negate: false }] ignored=0"#
    );
    assert_eq!(
        run("Patient", "gender:not=male", false),
        r#"[Token { param: "gender", values: [Code("male")], negate: true }] ignored=0"#
    );
}

#[test]
fn strict_and_lenient_handling() {
    assert_eq!(run("Patient", "foo=bar", false), "error: unknown search parameter 'foo' for Patient");
    assert_eq!(run("Patient", "foo=bar", true), "[] ignored=1");
    assert_eq!(
        run("Patient", "_count=x", true),
        "error: invalid value 'x' for search parameter '_count': expected a non-negative integer"
    );
    assert_eq!(
        run("Patient", "_lastUpdated=gt2020-13", false),
        "error: invalid value 'gt2020-13' for search parameter '_lastUpdated': expected a FHIR date, dateTime or instant"
    );
    assert_eq!(
        run("Patient", "name:below=x", false),
        "error: search parameter 'name:below' is not supported: modifier ':below' is not supported for string parameters"
    );
}

#[test]
fn escaped_commas_stay_in_the_value() {
    assert_eq!(run("Patient", r"_id=a\,b,c", false), r#"[Id(["a,b", "c"])] ignored=0"#);
}

#[test]
fn chains_and_reverse_chains() {
    assert_eq!(
        run("Observation", "subject:Patient.name=smith", false),
        r#"[Chain { param: "subject", target_type: "Patient", inner: String { param: "name", values: ["smith"], mode: Prefix } }] ignored=0"#
    );
    assert_eq!(
        run("Patient", "_has:Observation:patient:code=1234", false),
        r#"[Has { source_type: "Observation", param: "patient", inner: Token { param: "code", values: [Code("1234")], negate: false } }] ignored=0"#
    );
    let two_levels = run("Observation", "encounter:Encounter.subject:Patient.birthdate=ge2000", false);
    assert!(
        two_levels.starts_with("[Chain { param: \"encounter\", target_type: \"Encounter\", inner: Chain"),
        "{two_levels}"
    );
    assert!(run("Observation", "subject:Patient.nonsense=x", false).starts_with("error: unknown"));
}

#[test]
fn numbers_quantities_and_references() {
    let quantity = run("Observation", "value-quantity=gt5.4|http://unitsofmeasure.org|mg", false);
    assert!(
        quantity.contains("prefix: Gt, value: 0.0054") && quantity.contains(r#"code: Some("g")"#),
        "mg becomes g: {quantity}"
    );
    assert_eq!(
        run("Observation", "subject=Patient/1,2", false),
        r#"[Reference { param: "subject", values: [Local { target_type: Some("Patient"), id: "1" }, Local { target_type: None, id: "2" }] }] ignored=0"#
    );
    assert!(run("RiskAssessment", "probability=abc", false).starts_with("error: invalid value"));
}
