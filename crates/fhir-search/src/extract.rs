//! Extracting index values from a resource by walking each parameter's element paths with the
//! definitions, so a choice element (`Observation.value`) finds `valueQuantity` and every value
//! is typed.

use fhir_model::{Location, Model};
use serde_json::Value;

use crate::index::{IndexEntries, TokenEntry};
use crate::registry::{IndexedParam, SearchRegistry};

/// Computes every index row of a resource.
pub fn extract(registry: &SearchRegistry, resource: &Value) -> IndexEntries {
    let mut entries = IndexEntries::default();
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else { return entries };
    let model = registry.model();
    for param in registry.params(resource_type) {
        for path in &param.paths {
            let mut nodes = Vec::new();
            collect(model, &Location::root(resource_type), "", resource, path, &mut nodes);
            for (type_code, value) in nodes {
                tokens(param, type_code, value, &mut entries.tokens);
            }
        }
    }
    entries
}

/// Follows `path` from `node`, pushing `(type, value)` for every value reached.
fn collect<'v>(
    model: &'v Model,
    at: &Location,
    type_code: &'v str,
    node: &'v Value,
    path: &[String],
    out: &mut Vec<(String, &'v Value)>,
) {
    let Some((first, rest)) = path.split_first() else {
        out.push((type_code.to_owned(), node));
        return;
    };
    let Some(object) = node.as_object() else { return };
    for (key, child) in object {
        if key != first && !is_choice_key(key, first) {
            continue;
        }
        let Some(property) = model.property(at, key) else { continue };
        let items: Vec<&Value> = match child {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            collect(model, &property.location, property.type_code, item, rest, out);
        }
    }
}

/// `valueQuantity` is reached by the path segment `value`.
fn is_choice_key(key: &str, segment: &str) -> bool {
    key.strip_prefix(segment).is_some_and(|suffix| suffix.starts_with(|c: char| c.is_ascii_uppercase()))
}

fn tokens(param: &IndexedParam, type_code: String, value: &Value, out: &mut Vec<TokenEntry>) {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let mut push = |system: Option<String>, code: Option<String>| {
        if system.is_some() || code.is_some() {
            out.push(TokenEntry { param: param.code.clone(), system, code });
        }
    };
    match type_code.as_str() {
        "Coding" => push(text(value.get("system")), text(value.get("code"))),
        "CodeableConcept" => {
            for coding in value.get("coding").and_then(Value::as_array).into_iter().flatten() {
                push(text(coding.get("system")), text(coding.get("code")));
            }
        }
        "Identifier" => push(text(value.get("system")), text(value.get("value"))),
        "ContactPoint" => push(None, text(value.get("value"))),
        "Reference" => {
            if let Some(identifier) = value.get("identifier") {
                push(text(identifier.get("system")), text(identifier.get("value")));
            }
        }
        "boolean" => push(None, value.as_bool().map(|b| b.to_string())),
        _ => push(None, text(Some(value))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::extract;
    use crate::SearchRegistry;

    fn check(resource: serde_json::Value) -> String {
        let registry = SearchRegistry::new(fhir_model::r4());
        extract(&registry, &resource)
            .tokens
            .iter()
            .map(|t| format!("{}={}|{}", t.param, t.system.as_deref().unwrap_or(""), t.code.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn identifiers_codes_and_booleans() {
        let patient = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "42"}],
            "gender": "female", "active": true, "telecom": [{"system": "email", "value": "a@b.c"}]});
        let text = check(patient);
        assert!(text.contains("identifier=urn:mrn|42"), "{text}");
        assert!(text.contains("gender=|female"), "{text}");
        assert!(text.contains("active=|true"), "{text}");
        assert!(text.contains("email=|a@b.c") || text.contains("telecom=|a@b.c"), "{text}");
    }

    #[test]
    fn codeable_concepts_index_every_coding() {
        let observation = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}, {"system": "urn:x", "code": "hr"}]}});
        let text = check(observation);
        assert!(text.contains("code=http://loinc.org|8867-4"), "{text}");
        assert!(text.contains("code=urn:x|hr"), "{text}");
        assert!(text.contains("status=|final"), "{text}");
    }
}
