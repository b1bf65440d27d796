//! `PUT [base]/[type]/[id]`: update or create with the client's id (http.html#update), and
//! `PUT [base]/[type]?criteria`: conditional update (http.html#cond-update).

use axum::body::Body as RequestBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::body::{parse_resource, read_bytes};
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::{if_match, prefer};
use crate::interaction::{base_url, write_reply};
use crate::negotiate::{BodyKind, body_kind, negotiate};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{Updated, check, check_id, check_type, conditional_matches, update};

async fn read_resource(state: &AppState, headers: &HeaderMap, body: RequestBody) -> Result<Value, ApiError> {
    if body_kind(headers)? != BodyKind::FhirJson {
        return Err(ApiError::new(Code::UnsupportedMediaType, "update takes application/fhir+json"));
    }
    parse_resource(&read_bytes(body, state.config.max_body_bytes).await?)
}

fn reply(state: &AppState, headers: &HeaderMap, updated: &Updated) -> crate::negotiate::Reply {
    let status = if updated.created { StatusCode::CREATED } else { StatusCode::OK };
    write_reply(status, &updated.stored, prefer(headers), &base_url(state, headers))
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    let resource = read_resource(&state, &headers, body).await?;
    let expected = if_match(&headers)?;
    let ctx = request_context(&state, &headers);
    check_id(&id)?;
    let checked = check(&state, &resource_type, &resource)?;
    let mut tx = state.store.begin(&ctx).await?;
    let updated = update(&state, &ctx, tx.as_mut(), (&resource_type, &id), resource, expected, Some(checked)).await?;
    tx.commit().await?;
    Ok(reply(&state, &headers, &updated).render(format))
}

pub(crate) async fn conditional(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let params = parse_query(query.as_deref());
    let format = negotiate(&headers, &params)?;
    check_type(&resource_type)?;
    let mut resource = read_resource(&state, &headers, body).await?;
    let ctx = request_context(&state, &headers);
    let condition = query.clone().unwrap_or_default();
    let value_sets =
        crate::value_sets::expand_conditions(&state, &ctx, &[(resource_type.clone(), condition.clone())]).await?;
    let mut tx = state.store.begin(&ctx).await?;
    let matches = conditional_matches(&state, tx.as_mut(), &resource_type, &condition, &value_sets).await?;
    let id = match matches.as_slice() {
        [] => match resource.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => state.ids.new_id(),
        },
        [existing] => existing.id.clone(),
        _ => return Err(ApiError::new(Code::MultipleMatches, "the conditional update matched more than one resource")),
    };
    if let Some(body_id) = resource.get("id").and_then(Value::as_str)
        && body_id != id
    {
        return Err(ApiError::at(
            Code::InvalidRequest,
            format!("resource id '{body_id}' does not match the matched resource '{id}'"),
            "id",
        ));
    }
    if let Value::Object(fields) = &mut resource {
        fields.insert("id".into(), Value::String(id.clone()));
    }
    let expected = if_match(&headers)?;
    let updated = update(&state, &ctx, tx.as_mut(), (&resource_type, &id), resource, expected, None).await?;
    tx.commit().await?;
    Ok(reply(&state, &headers, &updated).render(format))
}
