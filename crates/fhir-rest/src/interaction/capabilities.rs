//! `GET [base]/metadata`: the CapabilityStatement, generated from the definitions and from what
//! the search registry really indexes (http.html#capabilities).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::interaction::base_url;
use crate::negotiate::{Reply, negotiate};
use crate::params::parse_query;
use crate::state::AppState;

const TYPE_INTERACTIONS: [&str; 9] =
    ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"];

pub(crate) async fn handle(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    let base = base_url(&state, &headers);
    Ok(Reply::json(StatusCode::OK, capability_statement(&state, &base)).render(format))
}

pub(crate) fn capability_statement(state: &AppState, base: &str) -> Value {
    let model = fhir_model::r4();
    let registry = state.registry();
    let resources: Vec<Value> = model
        .resource_types()
        .iter()
        .map(|resource_type| {
            let params: Vec<Value> = registry
                .supported(resource_type)
                .into_iter()
                .map(|(code, kind, url, doc)| json!({"name": code, "definition": url, "type": kind.as_str(), "documentation": doc}))
                .collect();
            json!({
                "type": resource_type,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{resource_type}"),
                "interaction": TYPE_INTERACTIONS.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalRead": "not-supported",
                "conditionalUpdate": true,
                "conditionalDelete": "single",
                "searchParam": params,
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": state.clock.now().to_fhir_instant(),
        "publisher": "Hestia",
        "kind": "instance",
        "software": {"name": "Hestia", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Hestia FHIR R4 server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
        }],
    })
}
