//! One small case per check; each renders the issues one per line.

use serde_json::{Value, json};

use crate::{InvariantCheck, Issue, IssueType, Severity, Validator};

fn check(resource: Value) -> String {
    let validator = Validator::new(fhir_model::r4());
    render(&validator.validate(&resource))
}

fn render(issues: &[Issue]) -> String {
    issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

#[test]
fn valid_resources_have_no_issues() {
    let patient = json!({
        "resourceType": "Patient", "id": "p1", "active": true, "gender": "female", "birthDate": "1970-01-01",
        "name": [{"family": "Chalmers", "given": ["Peter", "James"]}],
        "multipleBirthInteger": 2,
        "contact": [{"name": {"text": "N"}, "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}]}],
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}
    });
    insta::assert_snapshot!(check(patient), @"");
    let observation = json!({
        "resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "valueQuantity": {"value": 1.5e2, "unit": "kg"},
        "component": [{"code": {"text": "x"}, "valueInteger": -3}]
    });
    insta::assert_snapshot!(check(observation), @"");
}

#[test]
fn root_and_resource_type() {
    insta::assert_snapshot!(check(json!([1])), @"error structure @ Resource: a resource must be a JSON object");
    insta::assert_snapshot!(check(json!({"id": "x"})), @"error required @ Resource: resourceType is missing");
    insta::assert_snapshot!(check(json!({"resourceType": "Foo"})), @"error invalid @ Resource: 'Foo' is not a known concrete resource type");
    insta::assert_snapshot!(check(json!({"resourceType": "DomainResource"})), @"error invalid @ Resource: 'DomainResource' is not a known concrete resource type");
    insta::assert_snapshot!(check(json!({"resourceType": 3})), @"error structure @ Resource: resourceType must be a JSON string");
}

#[test]
fn unknown_elements() {
    let patient = json!({
        "resourceType": "Patient", "foo": 1, "Gender": "male",
        "name": [{"family": "x", "nickname": "y"}],
        "contact": [{"foo": true, "gender": "male"}],
        "identifier": [{"value": "1", "resourceType": "Patient"}],
        "birthDate[x]": "2000"
    });
    insta::assert_snapshot!(check(patient), @r#"
    error structure @ Patient.foo: unknown element
    error structure @ Patient.Gender: unknown element
    error structure @ Patient.name[0].nickname: unknown element
    error structure @ Patient.contact[0].foo: unknown element
    error structure @ Patient.identifier[0].resourceType: unknown element
    error structure @ Patient.birthDate[x]: unknown element
    "#);
}

#[test]
fn nested_resources_are_validated_as_their_own_type() {
    let bundle = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "active": "yes"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "bogus": 1}},
            {"resource": {"active": true}},
            {"resource": {"resourceType": "Parameters", "parameter": [{"name": "p", "resource": {"resourceType": "Nope"}}]}}
        ]
    });
    insta::assert_snapshot!(check(bundle), @r#"
    error structure @ Bundle.entry[0].resource.active: boolean must be a JSON boolean, found string
    error structure @ Bundle.entry[1].resource.bogus: unknown element
    error required @ Bundle.entry[2].resource: resourceType is missing
    error invalid @ Bundle.entry[3].resource.parameter[0].resource: 'Nope' is not a known concrete resource type
    "#);
    let contained = json!({
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "o", "name": ""}]
    });
    insta::assert_snapshot!(check(contained), @"error value @ Patient.contained[0].name: string must not be empty");
}

#[test]
fn json_types_of_primitives() {
    let patient = json!({
        "resourceType": "Patient", "active": "true", "birthDate": 1970, "gender": true,
        "multipleBirthInteger": 1.5,
        "name": [{"family": ["x"]}], "maritalStatus": "M", "telecom": {"value": "1"}
    });
    insta::assert_snapshot!(check(patient), @r#"
    error structure @ Patient.active: boolean must be a JSON boolean, found string
    error structure @ Patient.birthDate: date must be a JSON string, found number
    error structure @ Patient.gender: code must be a JSON string, found boolean
    error value @ Patient.multipleBirth.ofType(integer): integer value 1.5 is not a 32-bit integer
    error structure @ Patient.name[0].family: must not be an array (max 1)
    error structure @ Patient.maritalStatus: must be a JSON object (CodeableConcept)
    error structure @ Patient.telecom: must be an array, as the element repeats
    "#);
}

#[test]
fn integers_are_32_bit_and_respect_their_type() {
    let ok = json!({"resourceType": "Patient", "multipleBirthInteger": -2147483648});
    insta::assert_snapshot!(check(ok), @"");
    let big = json!({"resourceType": "Patient", "multipleBirthInteger": 2147483648_i64});
    insta::assert_snapshot!(check(big), @"error value @ Patient.multipleBirth.ofType(integer): integer value 2147483648 is not a 32-bit integer");
    let positive =
        json!({"resourceType": "Patient", "telecom": [{"value": "1", "rank": 1}, {"value": "2", "rank": 0}]});
    insta::assert_snapshot!(check(positive), @"error value @ Patient.telecom[1].rank: '0' is not a valid positiveInt");
    let unsigned = json!({"resourceType": "ImagingStudy", "status": "available", "subject": {"reference": "Patient/1"},
        "numberOfSeries": -1, "numberOfInstances": 0});
    insta::assert_snapshot!(check(unsigned), @"error value @ ImagingStudy.numberOfSeries: '-1' is not a valid unsignedInt");
    let decimal: Value = serde_json::from_str(r#"{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1.50}}"#).unwrap();
    insta::assert_snapshot!(check(decimal), @"");
}

#[test]
fn arrays_and_single_values() {
    let patient = json!({
        "resourceType": "Patient", "name": {"family": "x"}, "gender": ["male"],
        "identifier": [], "address": [{}], "photo": [null], "active": null
    });
    insta::assert_snapshot!(check(patient), @r#"
    error structure @ Patient.name: must be an array, as the element repeats
    error structure @ Patient.gender: must not be an array (max 1)
    error structure @ Patient.identifier: array must not be empty
    error structure @ Patient.address[0]: object must not be empty
    error structure @ Patient.photo[0]: null is only allowed where a primitive extension is present
    error structure @ Patient.active: null is not allowed
    "#);
}

#[test]
fn cardinality() {
    insta::assert_snapshot!(check(json!({"resourceType": "Observation", "code": {"text": "x"}})), @"error required @ Observation.status: status is required (min 1)");
    let narrative = json!({"resourceType": "Patient", "text": {"div": "<div>x</div>"}});
    insta::assert_snapshot!(check(narrative), @"error required @ Patient.text.status: status is required (min 1)");
    let presence_by_extension = json!({"resourceType": "Observation", "code": {"text": "x"},
        "_status": {"extension": [{"url": "http://example.org/x", "valueCode": "unknown"}]}});
    insta::assert_snapshot!(check(presence_by_extension), @"");
}

#[test]
fn primitive_formats() {
    let patient = json!({
        "resourceType": "Patient", "id": "has space", "birthDate": "1970-13-01", "gender": " male",
        "deceasedDateTime": "2020-01-01T10:00:00", "name": [{"family": "", "given": ["  "]}],
        "meta": {"lastUpdated": "2020-01-01", "versionId": "1"},
        "telecom": [{"value": "x", "rank": 0}],
        "photo": [{"url": "a b", "data": "not base64!"}]
    });
    insta::assert_snapshot!(check(patient), @r#"
    error value @ Patient.id: 'has space' is not a valid id
    error value @ Patient.birthDate: '1970-13-01' is not a valid date
    error value @ Patient.gender: ' male' is not a valid code
    error value @ Patient.deceased.ofType(dateTime): '2020-01-01T10:00:00' is not a valid dateTime
    error value @ Patient.name[0].family: string must not be empty
    warning value @ Patient.name[0].given[0]: string is only whitespace
    error value @ Patient.meta.lastUpdated: '2020-01-01' is not a valid instant
    error value @ Patient.telecom[0].rank: '0' is not a valid positiveInt
    error value @ Patient.photo[0].url: 'a b' is not a valid url
    error value @ Patient.photo[0].data: 'not base64!' is not a valid base64Binary
    "#);
    let long_id = json!({"resourceType": "Patient", "id": "a".repeat(65), "meta": {"versionId": "b".repeat(65)}});
    insta::assert_snapshot!(check(long_id), @r#"
    error value @ Patient.id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is not a valid id
    error value @ Patient.meta.versionId: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...' is not a valid id
    "#);
    let times = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "valueTime": "25:00:00", "issued": "2020-01-01T10:00:00Z"});
    insta::assert_snapshot!(check(times), @"error value @ Observation.value.ofType(time): '25:00:00' is not a valid time");
}

#[test]
fn no_break_space_is_not_whitespace_in_fhir_regexes() {
    insta::assert_snapshot!(check(json!({"resourceType": "Patient", "name": [{"text": "\u{a0}x\u{a0}"}]})), @"");
}

#[test]
fn choice_types() {
    let observation = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "valueString": "a", "valueInteger": 1, "valueFoo": 2, "effectiveDateTime": "2020",
        "valueQuantity": {"value": "1"}});
    insta::assert_snapshot!(check(observation), @r#"
    error structure @ Observation.valueFoo: unknown element
    error structure @ Observation.value.ofType(Quantity).value: decimal must be a JSON number, found string
    error structure @ Observation.value: only one of value[x] is allowed, found valueInteger, valueQuantity, valueString
    "#);
    let primitive_extension = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "valueString": "a", "_valueString": {"id": "1"}});
    insta::assert_snapshot!(check(primitive_extension), @"");
}

#[test]
fn primitive_extensions() {
    let patient = json!({
        "resourceType": "Patient", "birthDate": "1970",
        "_birthDate": {"id": "x", "value": "1970", "extension": [{"url": "http://example.org/a", "valueString": "b"}]},
        "_gender": "male", "_active": [{"id": "a"}], "_nope": {"id": "a"}, "_name": {"id": "a"}
    });
    insta::assert_snapshot!(check(patient), @r#"
    error structure @ Patient.birthDate.value: unknown element
    error structure @ Patient.gender: primitive extension must be a JSON object, found string
    error structure @ Patient.active: primitive extension must be a JSON object, found array
    error structure @ Patient._nope: unknown element
    error structure @ Patient._name: unknown element
    "#);
}

#[test]
fn repeating_primitive_extensions_align_with_values() {
    let ext = json!({"extension": [{"url": "http://example.org/a", "valueString": "b"}]});
    let aligned =
        json!({"resourceType": "Patient", "name": [{"given": ["a", null, "c"], "_given": [null, ext, null]}]});
    insta::assert_snapshot!(check(aligned), @"");
    let misaligned = json!({"resourceType": "Patient", "name": [{"given": ["a", null], "_given": [null, null, ext]}]});
    insta::assert_snapshot!(check(misaligned), @r#"
    error structure @ Patient.name[0].given[1]: null is only allowed where a primitive extension is present
    error structure @ Patient.name[0].given: has 2 entries but its primitive extensions have 3
    "#);
    let not_array = json!({"resourceType": "Patient", "name": [{"given": ["a"], "_given": {"id": "x"}}]});
    insta::assert_snapshot!(check(not_array), @"error structure @ Patient.name[0].given: must be an array, as the element repeats");
    let only_extensions = json!({"resourceType": "Patient", "name": [{"_given": [ext, null]}]});
    insta::assert_snapshot!(check(only_extensions), @"error structure @ Patient.name[0].given[1]: null is only allowed where the value is present");
}

#[test]
fn extensions() {
    let patient = json!({
        "resourceType": "Patient",
        "extension": [
            {"valueString": "no url"},
            {"url": "http://example.org/both", "valueString": "a", "extension": [{"url": "x", "valueBoolean": true}]},
            {"url": "http://example.org/neither"},
            {"url": "http://example.org/nested", "extension": [{"url": "x", "valueFoo": 1}]}
        ],
        "modifierExtension": [{"url": "http://example.org/m", "valueCode": "a b"}]
    });
    insta::assert_snapshot!(check(patient), @r#"
    error required @ Patient.extension[0].url: url is required (min 1)
    error invariant @ Patient.extension[1]: an extension must not have both extensions and a value[x]
    error invariant @ Patient.extension[2]: an extension must have either extensions or a value[x]
    error structure @ Patient.extension[3].extension[0].valueFoo: unknown element
    error invariant @ Patient.extension[3].extension[0]: an extension must have either extensions or a value[x]
    "#);
}

#[test]
fn empty_values_and_nulls() {
    let patient = json!({
        "resourceType": "Patient", "maritalStatus": {}, "name": [{"given": []}],
        "managingOrganization": null, "telecom": [null]
    });
    insta::assert_snapshot!(check(patient), @r#"
    error structure @ Patient.maritalStatus: object must not be empty
    error structure @ Patient.name[0].given: array must not be empty
    error structure @ Patient.managingOrganization: null is not allowed
    error structure @ Patient.telecom[0]: null is only allowed where a primitive extension is present
    "#);
}

#[test]
fn required_bindings() {
    let codes = json!({"resourceType": "Patient", "gender": "man",
        "contact": [{"gender": "female"}], "link": [{"other": {"reference": "Patient/1"}, "type": "refer"}, {"other": {"reference": "Patient/2"}, "type": "see"}]});
    insta::assert_snapshot!(check(codes), @r#"
    error code-invalid @ Patient.gender: 'man' is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender
    error code-invalid @ Patient.link[1].type: 'see' is not in the required value set http://hl7.org/fhir/ValueSet/link-type
    "#);
    let clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    let concept = |codings: Value| json!({"resourceType": "Condition", "subject": {"reference": "Patient/1"}, "clinicalStatus": {"coding": codings}});
    let wrong =
        concept(json!([{"system": clinical, "code": "bogus"}, {"system": "http://example.org/local", "code": "x"}]));
    insta::assert_snapshot!(check(wrong), @"error code-invalid @ Condition.clinicalStatus: 'http://terminology.hl7.org/CodeSystem/condition-clinical#bogus' is not in the required value set http://hl7.org/fhir/ValueSet/condition-clinical");
    let one_matches = concept(json!([{"system": clinical, "code": "bogus"}, {"system": clinical, "code": "active"}]));
    insta::assert_snapshot!(check(one_matches), @"");
    let other_system_only = concept(json!([{"system": "http://example.org/local", "code": "x"}]));
    insta::assert_snapshot!(check(other_system_only), @"");
}

#[test]
fn xhtml_must_be_a_div() {
    let patient = json!({"resourceType": "Patient", "text": {"status": "generated", "div": "<p>x</p>"}});
    insta::assert_snapshot!(check(patient), @"error value @ Patient.text.div: xhtml must start with <div");
}

#[test]
fn content_references_and_backbone_elements() {
    let questionnaire = json!({"resourceType": "Questionnaire", "status": "draft", "item": [
        {"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "string", "item": [{"type": "string"}]}]}]});
    insta::assert_snapshot!(check(questionnaire), @"error required @ Questionnaire.item[0].item[0].item[0].linkId: linkId is required (min 1)");
}

struct FailEverything;

impl InvariantCheck for FailEverything {
    fn check(&self, resource: &Value, out: &mut Vec<Issue>) {
        let expression = resource.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(Issue {
            severity: Severity::Error,
            code: IssueType::Invariant,
            expression,
            message: "inv-1".to_owned(),
        });
    }
}

#[test]
fn invariants_run_only_on_structurally_valid_resources() {
    let validator = Validator::new(fhir_model::r4()).with_invariants(Box::new(FailEverything));
    let valid = validator.validate(&json!({"resourceType": "Patient", "active": true}));
    insta::assert_snapshot!(render(&valid), @"error invariant @ Patient: inv-1");
    let invalid = validator.validate(&json!({"resourceType": "Patient", "active": 1}));
    insta::assert_snapshot!(render(&invalid), @"error structure @ Patient.active: boolean must be a JSON boolean, found number");
}

#[test]
fn every_primitive_but_xhtml_has_a_compiled_regex() {
    let validator = Validator::new(fhir_model::r4());
    let mut missing: Vec<&str> =
        validator.primitives.iter().filter(|(_, p)| !p.has_regex()).map(|(name, _)| *name).collect();
    missing.sort_unstable();
    assert_eq!(missing, ["xhtml"]);
    assert!(validator.primitives.len() >= 20, "{:?}", validator.primitives.keys());
}

#[test]
fn never_panics_on_odd_input() {
    let validator = Validator::new(fhir_model::r4());
    for value in [
        json!(null),
        json!(""),
        json!(1),
        json!({}),
        json!({"resourceType": null}),
        json!({"resourceType": "Bundle", "entry": [{"resource": []}]}),
    ] {
        let _ = validator.validate(&value);
    }
    let mut deep = json!({"url": "x", "valueString": "y"});
    for _ in 0..200 {
        deep = json!({"url": "x", "extension": [deep]});
    }
    let issues = validator.validate(&json!({"resourceType": "Patient", "extension": [deep]}));
    assert!(issues.iter().any(|i| i.message == "nested too deeply"));
}

#[test]
fn never_panics_when_any_value_is_replaced_by_junk() {
    let validator = Validator::new(fhir_model::r4());
    let base = json!({
        "resourceType": "Observation", "id": "o", "status": "final", "code": {"coding": [{"system": "s", "code": "c"}]},
        "valueQuantity": {"value": 1}, "component": [{"code": {"text": "x"}, "valueString": "y"}],
        "contained": [{"resourceType": "Patient", "name": [{"given": ["a"], "_given": [{"id": "g"}]}]}],
        "extension": [{"url": "u", "valueBoolean": true}], "_status": {"id": "s"}
    });
    let junk = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!([]),
        json!([null]),
        json!({}),
        json!({"a": 1}),
        json!([[1]]),
    ];
    let mut pointers = Vec::new();
    collect_pointers(&base, String::new(), &mut pointers);
    for pointer in &pointers {
        for value in &junk {
            let mut resource = base.clone();
            *resource.pointer_mut(pointer).unwrap() = value.clone();
            let _ = validator.validate(&resource);
        }
    }
    assert!(pointers.len() > 30, "{pointers:?}");
    insta::assert_snapshot!(check(base), @"");
}

/// Every JSON pointer below `value` (not the root itself).
fn collect_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        let pointer = format!("{at}/{key}");
        out.push(pointer.clone());
        collect_pointers(child, pointer, out);
    }
}
