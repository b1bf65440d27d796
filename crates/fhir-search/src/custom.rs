//! SearchParameter resources posted to the server, read into the same definition type the core
//! package provides.

use fhir_model::{SearchParamComponent, SearchParamDef, SearchParamType};
use serde_json::Value;

/// Reads a SearchParameter resource; an error says what makes it unusable.
pub fn definition_from_resource(resource: &Value) -> Result<SearchParamDef, String> {
    let text = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
    let list = |key: &str| -> Vec<String> {
        resource
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let kind: SearchParamType = serde_json::from_value(resource.get("type").cloned().unwrap_or(Value::Null))
        .map_err(|_| "SearchParameter.type is missing or unknown".to_owned())?;
    let code = text("code").ok_or("SearchParameter.code is missing")?;
    let expression = text("expression").ok_or("SearchParameter.expression is missing")?;
    fhirpath::parse(&expression).map_err(|e| format!("SearchParameter.expression does not parse: {e}"))?;
    let base = list("base");
    if base.is_empty() || base.iter().any(|b| fhir_model::r4().type_def(b).is_none()) {
        return Err("SearchParameter.base must name resource types".to_owned());
    }
    let component = resource
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| SearchParamComponent {
            definition: c
                .get("definition")
                .and_then(Value::as_str)
                .and_then(|d| d.rsplit('/').next())
                .unwrap_or("")
                .to_owned(),
            expression: c.get("expression").and_then(Value::as_str).unwrap_or("").to_owned(),
        })
        .collect();
    Ok(SearchParamDef {
        id: text("id").unwrap_or_default(),
        url: text("url").unwrap_or_default(),
        code,
        kind,
        base,
        target: list("target"),
        expression,
        description: text("description").unwrap_or_default(),
        modifier: list("modifier"),
        comparator: list("comparator"),
        component,
    })
}
