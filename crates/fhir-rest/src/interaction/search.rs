//! `GET [base]/[type]?params` and `POST [base]/[type]/_search` (search.html): parse into the IR,
//! one store call, a searchset bundle with keyset `next` links.

use axum::body::Body as RequestBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fhir_search::{SearchOptions, SummaryMode, parse_search};
use serde_json::{Map, Value};

use crate::body::read_bytes;
use crate::bundle::{Links, SearchBundle, searchset};
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::prefer;
use crate::interaction::base_url;
use crate::negotiate::{Body, BodyKind, Reply, body_kind, negotiate};
use crate::outcome::OutcomeIssue;
use crate::params::{encode_query, parse_form, parse_query};
use crate::state::AppState;
use crate::write::check_type;

pub(crate) async fn handle_get(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(&state, &resource_type, parse_query(query.as_deref()), &headers).await
}

pub(crate) async fn handle_post(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    if body_kind(&headers)? != BodyKind::Form {
        return Err(ApiError::new(Code::UnsupportedMediaType, "_search takes application/x-www-form-urlencoded"));
    }
    let bytes = read_bytes(body, state.config.max_body_bytes).await?;
    let mut params = parse_query(query.as_deref());
    params.extend(parse_form(&String::from_utf8_lossy(&bytes)));
    run(&state, &resource_type, params, &headers).await
}

pub(crate) async fn system_unsupported() -> ApiError {
    ApiError::new(Code::InvalidRequest, "system-level search is not supported yet; search a resource type")
}

async fn run(
    state: &AppState,
    resource_type: &str,
    params: Vec<(String, String)>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(headers, &params)?;
    check_type(resource_type)?;
    let options = SearchOptions {
        lenient: prefer(headers).lenient,
        default_count: state.config.default_page_size,
        max_count: state.config.max_page_size,
    };
    let parsed = parse_search(&state.registry, resource_type, &params, options)?;
    let ctx = request_context(state, headers);
    let mut query = parsed.query.clone();
    if parsed.summary == SummaryMode::Count {
        query.count = 0;
    }
    let page = state.store.search(&ctx, &query).await?;
    let base = base_url(state, headers);
    let kept: Vec<(String, String)> = params.iter().filter(|(name, _)| name != "_cursor").cloned().collect();
    let self_link = link(&base, resource_type, &kept);
    let next = page.next_cursor.as_ref().map(|cursor| {
        let mut next_params = kept.clone();
        next_params.push(("_cursor".to_owned(), cursor.clone()));
        link(&base, resource_type, &next_params)
    });
    let matches = page
        .resources
        .iter()
        .filter_map(|stored| {
            let text = stored.body.as_deref()?;
            Some((stored, shape(text, parsed.summary, parsed.elements.as_deref(), resource_type)))
        })
        .collect();
    let warnings =
        parsed.ignored.iter().map(|e| OutcomeIssue::warning("not-supported", format!("ignored: {e}"))).collect();
    let bundle = searchset(SearchBundle {
        id: state.ids.new_id(),
        base: &base,
        links: Links { self_link, next },
        total: page.total,
        matches,
        warnings,
    });
    let mut reply = Reply::new(StatusCode::OK);
    reply.body = Some(Body::Stored(bundle.into()));
    Ok(reply.render(format))
}

fn link(base: &str, resource_type: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        format!("{base}/{resource_type}")
    } else {
        format!("{base}/{resource_type}?{}", encode_query(params))
    }
}

/// Applies `_summary` and `_elements`; the full text is passed through untouched otherwise.
fn shape(text: &str, summary: SummaryMode, elements: Option<&[String]>, resource_type: &str) -> String {
    if elements.is_none() && matches!(summary, SummaryMode::False | SummaryMode::Count) {
        return text.to_owned();
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else { return text.to_owned() };
    let model = fhir_model::r4();
    let type_def = model.type_def(resource_type);
    let keep = |key: &str| -> bool {
        if matches!(key, "resourceType" | "id" | "meta") {
            return true;
        }
        let base = key.strip_prefix('_').unwrap_or(key);
        if let Some(elements) = elements {
            return elements.iter().any(|e| e == base);
        }
        let element = type_def.and_then(|t| {
            t.children(resource_type).find(|e| {
                let name = e.name();
                name == base || (e.is_choice() && base.starts_with(name.trim_end_matches("[x]")))
            })
        });
        match summary {
            SummaryMode::Text => base == "text" || element.is_some_and(|e| e.min > 0),
            SummaryMode::Data => base != "text",
            SummaryMode::True => element.is_some_and(|e| e.summary),
            SummaryMode::False | SummaryMode::Count => true,
        }
    };
    let mut kept: Map<String, Value> = fields.into_iter().filter(|(key, _)| keep(key)).collect();
    mark_subsetted(&mut kept);
    serde_json::to_string(&Value::Object(kept)).unwrap_or_default()
}

/// Summaries carry the `SUBSETTED` security tag so nobody mistakes them for the full resource.
fn mark_subsetted(fields: &mut Map<String, Value>) {
    let tag =
        serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"});
    let meta = fields.entry("meta").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        let tags = meta.entry("tag").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(tags) = tags {
            tags.push(tag);
        }
    }
}
