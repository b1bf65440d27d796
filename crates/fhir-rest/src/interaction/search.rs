//! Search (search.html): `GET [base]/[type]?params`, `POST [base]/[type]/_search`, system search
//! (`GET [base]?_type=...`), compartment search (`GET [base]/Patient/1/Observation`, `/*`) and
//! `Patient/1/$everything`. Parameters become the IR, one store call runs it, and a searchset
//! bundle comes back with keyset `next` links and any included resources.

use axum::body::Body as RequestBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fhir_search::{Filter, SummaryMode, parse_search_types};
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
use crate::write::{check_id, check_type};

/// What a search runs over: its types, its URL path below the base, and an implied filter.
struct Scope {
    types: Vec<String>,
    path: String,
    filter: Option<Filter>,
}

impl Scope {
    fn of_type(resource_type: &str) -> Scope {
        Scope { types: vec![resource_type.to_owned()], path: resource_type.to_owned(), filter: None }
    }
}

pub(crate) async fn handle_get(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_type(&resource_type)?;
    run(&state, Scope::of_type(&resource_type), parse_query(query.as_deref()), &headers).await
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
    check_type(&resource_type)?;
    let bytes = read_bytes(body, state.config.max_body_bytes).await?;
    let mut params = parse_query(query.as_deref());
    params.extend(parse_form(&String::from_utf8_lossy(&bytes)));
    run(&state, Scope::of_type(&resource_type), params, &headers).await
}

/// `GET [base]?_type=A,B&...`: search across types (every type without `_type`).
pub(crate) async fn system(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = parse_query(query.as_deref());
    let types: Vec<String> = match params.iter().find(|(name, _)| name == "_type") {
        Some((_, value)) => value.split(',').map(str::trim).map(str::to_owned).collect(),
        None => fhir_model::r4().resource_types().to_vec(),
    };
    for t in &types {
        check_type(t)?;
    }
    run(&state, Scope { types, path: String::new(), filter: None }, params, &headers).await
}

/// `GET [base]/Patient/1/Observation`, `GET [base]/Patient/1/*` (compartment search over the R4
/// CompartmentDefinitions) and `GET [base]/Patient/1/$everything` (the compartment and the
/// patient).
pub(crate) async fn compartment(
    State(state): State<AppState>,
    Path((owner_type, id, target)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_type(&owner_type)?;
    check_id(&id)?;
    let everything = target == "$everything";
    let all = everything || target == "*";
    if !all {
        check_type(&target)?;
    }
    let definition = fhir_model::r4()
        .compartments()
        .iter()
        .find(|c| c.code == owner_type)
        .ok_or_else(|| ApiError::new(Code::NotFound, format!("{owner_type} has no compartment")))?;
    let links: Vec<(String, Vec<String>)> = definition
        .resources
        .iter()
        .filter(|member| all || member.code == target)
        .map(|member| {
            let params: Vec<String> =
                member.params.iter().filter(|p| state.registry().param(&member.code, p).is_some()).cloned().collect();
            (member.code.clone(), params)
        })
        .filter(|(_, params)| !params.is_empty())
        .collect();
    if links.is_empty() && !everything {
        return Err(ApiError::new(
            Code::NotFound,
            format!("{target} resources are not in the {owner_type} compartment"),
        ));
    }
    let mut types: Vec<String> = links.iter().map(|(t, _)| t.clone()).collect();
    if everything && !types.contains(&owner_type) {
        types.push(owner_type.clone());
    }
    let ctx = request_context(&state, &headers);
    state.store.read(&ctx, &owner_type, &id).await?;
    let filter =
        Filter::Compartment { compartment_type: owner_type.clone(), id: id.clone(), links, include_owner: everything };
    let scope = Scope { types, path: format!("{owner_type}/{id}/{target}"), filter: Some(filter) };
    run(&state, scope, parse_query(query.as_deref()), &headers).await
}

async fn run(
    state: &AppState,
    scope: Scope,
    params: Vec<(String, String)>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(headers, &params)?;
    let ctx = request_context(state, headers);
    let value_sets = crate::value_sets::expand_named(state, &ctx, &scope.types, &params).await?;
    let options = state.search_options(prefer(headers).lenient, &value_sets);
    let mut parsed = parse_search_types(&state.registry(), scope.types.clone(), &params, options)?;
    parsed.query.filters.extend(scope.filter);
    if parsed.summary == SummaryMode::Count {
        parsed.query.count = 0;
    }
    let page = state.store.search(&ctx, &parsed.query).await?;
    let base = base_url(state, headers);
    let kept: Vec<(String, String)> = params.iter().filter(|(name, _)| name != "_cursor").cloned().collect();
    let next = page.next_cursor.as_ref().map(|cursor| {
        let mut next_params = kept.clone();
        next_params.push(("_cursor".to_owned(), cursor.clone()));
        link(&base, &scope.path, &next_params)
    });
    let shape_one = |stored: &store::StoredResource| {
        let text = stored.body.as_deref()?;
        Some(shape(text, parsed.summary, parsed.elements.as_deref(), &stored.resource_type))
    };
    let matches = page.resources.iter().filter_map(|s| Some((s, shape_one(s)?))).collect();
    let included = page.included.iter().filter_map(|s| Some((s, shape_one(s)?))).collect();
    let mut warnings: Vec<OutcomeIssue> =
        parsed.ignored.iter().map(|e| OutcomeIssue::warning("not-supported", format!("ignored: {e}"))).collect();
    if page.include_truncated {
        warnings.push(OutcomeIssue::warning(
            "too-costly",
            format!(
                "_include/_revinclude stopped at {} resources; narrow the search or use a smaller _count",
                parsed.query.include_limit
            ),
        ));
    }
    let bundle = searchset(SearchBundle {
        id: state.ids.new_id(),
        base: &base,
        links: Links { self_link: link(&base, &scope.path, &kept), next },
        total: page.total,
        matches,
        included,
        warnings,
    });
    let mut reply = Reply::new(StatusCode::OK);
    reply.body = Some(Body::Stored(bundle.into()));
    Ok(reply.render(format))
}

fn link(base: &str, path: &str, params: &[(String, String)]) -> String {
    let url = if path.is_empty() { base.to_owned() } else { format!("{base}/{path}") };
    if params.is_empty() { url } else { format!("{url}?{}", encode_query(params)) }
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
