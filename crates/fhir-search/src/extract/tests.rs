use serde_json::{Value, json};

use std::collections::BTreeSet;

use super::{IndexEntries, IndexedParam, decimal_range, extract, extract_param};
use crate::SearchRegistry;

fn registry() -> SearchRegistry {
    SearchRegistry::new(fhir_model::r4())
}

#[test]
fn patient_parameters_of_every_kind() {
    let patient = json!({"resourceType": "Patient", "id": "p1", "identifier": [{"system": "urn:mrn", "value": "42"}],
        "name": [{"family": "Müller", "given": ["Anna", "Maria"]}], "gender": "female", "birthDate": "1970-05",
        "telecom": [{"system": "email", "value": "a@b.c"}], "generalPractitioner": [{"reference": "Practitioner/dr1"}],
        "meta": {"tag": [{"system": "urn:tags", "code": "vip"}]}});
    let entries = extract(&registry(), &patient);
    let has_token =
        |param: &str, code: &str| entries.tokens.iter().any(|t| t.param == param && t.code.as_deref() == Some(code));
    assert!(has_token("identifier", "42"));
    assert!(has_token("gender", "female"));
    assert!(has_token("email", "a@b.c"), "where(system='email') needs FHIRPath: {:?}", entries.tokens);
    assert!(has_token("_tag", "vip"), "Resource.meta.tag applies to every type");
    assert!(entries.strings.iter().any(|s| s.param == "family" && s.normalized == "muller" && s.exact == "Müller"));
    assert!(entries.strings.iter().any(|s| s.param == "name" && s.normalized == "maria"));
    let birth = entries.dates.iter().find(|d| d.param == "birthdate").unwrap();
    assert_eq!((birth.high - birth.low) / 86_400_000_000, 31);
    let gp = entries.references.iter().find(|r| r.param == "general-practitioner").unwrap();
    assert_eq!((gp.target_type.as_deref(), gp.target_id.as_deref()), (Some("Practitioner"), Some("dr1")));
}

#[test]
fn observation_quantities_references_and_periods() {
    let observation = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": "Patient/p1"}, "effectivePeriod": {"start": "2020-01-01"},
        "valueQuantity": {"value": 72.0, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    let entries = extract(&registry(), &observation);
    let quantity = entries.quantities.iter().find(|q| q.param == "value-quantity").unwrap();
    assert_eq!(quantity.code.as_deref(), Some("/min"));
    assert!((quantity.low - 71.95).abs() < 1e-9 && (quantity.high - 72.05).abs() < 1e-9);
    for param in ["subject", "patient"] {
        assert!(entries.references.iter().any(|r| r.param == param && r.target_id.as_deref() == Some("p1")), "{param}");
    }
    let date = entries.dates.iter().find(|d| d.param == "date").unwrap();
    assert_eq!(date.high, i64::MAX, "an open period runs to the end of time");
    assert!(entries.tokens.iter().any(|t| t.param == "code" && t.text.as_deref() == Some("Heart rate")));
}

#[test]
fn precision_ranges() {
    assert_eq!(decimal_range("100"), Some((100.0, 99.5, 100.5)));
    let (_, low, high) = decimal_range("1.50").unwrap();
    assert!((low - 1.495).abs() < 1e-12 && (high - 1.505).abs() < 1e-12);
}

#[test]
fn composites_pair_components_of_the_same_element() {
    let observation = json!({"resourceType": "Observation", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 150, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 90, "code": "mm[Hg]"}}
    ]});
    let entries = extract(&registry(), &observation);
    let rows: Vec<String> = entries
        .composites
        .iter()
        .filter(|c| c.param == "component-code-value-quantity")
        .map(|c| format!("{:?}", c.parts))
        .collect();
    assert_eq!(rows.len(), 2, "{:?}", entries.composites);
    assert!(rows[0].contains("8480-6") && rows[0].contains("value: 150.0"), "{rows:?}");
}

#[test]
fn ucum_quantities_also_index_in_base_units() {
    let observation = json!({"resourceType": "Observation", "status": "final", "code": {"text": "w"},
        "valueQuantity": {"value": 5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}});
    let entries = extract(&registry(), &observation);
    let grams =
        entries.quantities.iter().find(|q| q.param == "value-quantity" && q.code.as_deref() == Some("g")).unwrap();
    assert!((grams.value - 5000.0).abs() < 1e-9, "{grams:?}");
    let mut condition = crate::ir::NumberCondition {
        prefix: crate::ir::Prefix::Eq,
        value: 5_000_000.0,
        low: 4_999_999.5,
        high: 5_000_000.5,
        system: Some("http://unitsofmeasure.org".to_owned()),
        code: Some("mg".to_owned()),
    };
    super::canonical_condition(&mut condition);
    assert_eq!(condition.code.as_deref(), Some("g"));
    assert!((condition.value - 5000.0).abs() < 1e-6);
}

#[test]
fn absolute_references_are_local_only_under_the_own_base() {
    let registry = registry().with_own_base(crate::OwnBase::new(Some("https://fhir.example.org/fhir")));
    let observation = |subject: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": subject}})
    };
    let subject = |resource: &Value| {
        let entries = extract(&registry, resource);
        let found = entries.references.into_iter().find(|r| r.param == "subject").unwrap();
        (found.target_type, found.target_id, found.url)
    };
    let own = "https://fhir.example.org/fhir/Patient/1";
    assert_eq!(subject(&observation(own)), (Some("Patient".to_owned()), Some("1".to_owned()), Some(own.to_owned())));
    let foreign = "http://other.example/fhir/Patient/1";
    assert_eq!(subject(&observation(foreign)), (None, None, Some(foreign.to_owned())));
    assert_eq!(subject(&observation("Patient/1")), (Some("Patient".to_owned()), Some("1".to_owned()), None));
}

/// A parameter stored as others (`IndexedParam::stored_as`) has no rows of its own, and its
/// own expression gives exactly the rows its parts hold: values at the top and in components,
/// repeated in both, of every kind involved.
#[test]
fn union_parameters_have_the_rows_of_their_parts() {
    let registry = registry();
    let loinc = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
    let mmhg =
        |value: f64| json!({"value": value, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"});
    let observations = [
        json!({"resourceType": "Observation", "status": "final", "code": loinc("85354-9"),
            "component": [{"code": loinc("8480-6"), "valueQuantity": mmhg(120.0)},
                          {"code": loinc("8462-4"), "valueQuantity": mmhg(80.0)},
                          {"code": loinc("85354-9"), "dataAbsentReason": loinc("unknown")}]}),
        json!({"resourceType": "Observation", "status": "final", "code": loinc("8480-6"), "valueQuantity": mmhg(120.0),
            "dataAbsentReason": loinc("masked")}),
        json!({"resourceType": "Observation", "status": "final", "code": loinc("72166-2"),
            "valueCodeableConcept": loinc("LA18976-3"),
            "component": [{"code": loinc("72166-2"), "valueCodeableConcept": loinc("LA18978-9")}]}),
        json!({"resourceType": "Observation", "status": "final", "code": loinc("x"),
            "valueSampledData": {"origin": {"value": 1}, "period": 10, "dimensions": 1}}),
    ];
    let derived: Vec<&IndexedParam> = registry.params("Observation").iter().filter(|p| p.is_derived()).collect();
    assert!(derived.len() >= 6);
    let mut seen = BTreeSet::new();
    for observation in &observations {
        let stored = extract(&registry, observation);
        let ctx = fhirpath::EvalContext::new().with_resource(observation).with_root_resource(observation);
        for param in &derived {
            let mut own = IndexEntries::default();
            extract_param(param, registry.own_base(), &ctx, observation, &mut own);
            let own_rows = rows_of(&own, &param.code, std::slice::from_ref(&param.code));
            assert_eq!(
                rows_of(&stored, &param.code, std::slice::from_ref(&param.code)),
                BTreeSet::new(),
                "{param:?} is stored"
            );
            assert_eq!(rows_of(&stored, &param.code, &param.stored_as), own_rows, "{param:?} on {observation}");
            if !own_rows.is_empty() {
                seen.insert(param.code.clone());
            }
        }
    }
    assert_eq!(seen.len(), derived.len(), "every union has rows somewhere: {seen:?}");
}

/// The rows of `params` as if they were `code`'s, in a comparable form.
fn rows_of(entries: &IndexEntries, code: &str, params: &[String]) -> BTreeSet<String> {
    let of = |param: &String| params.contains(param);
    let mut rows = BTreeSet::new();
    for t in entries.tokens.iter().filter(|t| of(&t.param)) {
        rows.insert(format!("{code} {:?} {:?} {:?}", t.system, t.code, t.text));
    }
    for q in entries.quantities.iter().filter(|q| of(&q.param)) {
        rows.insert(format!("{code} {:?} {:?} {} {} {}", q.system, q.code, q.value, q.low, q.high));
    }
    for c in entries.composites.iter().filter(|c| of(&c.param)) {
        rows.insert(format!("{code} {:?}", c.parts));
    }
    for s in entries.strings.iter().filter(|s| of(&s.param)) {
        rows.insert(format!("{code} {} {}", s.normalized, s.exact));
    }
    rows
}
