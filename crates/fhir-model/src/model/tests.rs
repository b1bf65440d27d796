use crate::{Location, SearchParamType, r4};

#[test]
fn package_has_every_r4_resource_type() {
    let model = r4();
    assert_eq!(model.resource_types().len(), 146);
    assert!(model.is_resource_type("Patient"));
    assert!(!model.is_resource_type("DomainResource"));
    assert!(model.is_subtype("Patient", "Resource"));
}

#[test]
fn resolves_choice_backbone_and_content_reference() {
    let model = r4();
    let obs = Location::root("Observation");
    let value = model.property(&obs, "valueQuantity").unwrap();
    assert_eq!(value.type_code, "Quantity");
    assert_eq!(value.location, Location::root("Quantity"));
    assert!(model.property(&obs, "valueFoo").is_none());
    let contact = model.property(&Location::root("Patient"), "contact").unwrap();
    assert_eq!(contact.location.path, "Patient.contact");
    let item = model.property(&Location::root("Questionnaire"), "item").unwrap();
    let nested = model.property(&item.location, "item").unwrap();
    assert_eq!(nested.location.path, "Questionnaire.item");
    let id = model.property(&Location::root("Patient"), "id").unwrap();
    assert_eq!(id.type_code, "string");
}

#[test]
fn search_params_include_resource_level_ones() {
    let model = r4();
    let id = model.search_param("Observation", "_id").unwrap();
    assert_eq!(id.kind, SearchParamType::Token);
    let identifier = model.search_param("Patient", "identifier").unwrap();
    assert_eq!(identifier.kind, SearchParamType::Token);
    assert!(model.search_param("Patient", "nonsense").is_none());
    assert!(model.value_set("http://hl7.org/fhir/ValueSet/observation-status").unwrap().len() >= 8);
}
