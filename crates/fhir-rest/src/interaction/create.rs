//! `POST [base]/[type]`: create (http.html#create), with conditional create through
//! `If-None-Exist` decided inside the write transaction.

use axum::body::Body as RequestBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::body::{parse_resource, read_bytes};
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::{if_none_exist, prefer};
use crate::interaction::{base_url, write_reply};
use crate::negotiate::{BodyKind, body_kind, negotiate};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{check, check_type, conditional_matches, create};

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    if body_kind(&headers)? != BodyKind::FhirJson {
        return Err(ApiError::new(Code::UnsupportedMediaType, "create takes application/fhir+json"));
    }
    let resource = parse_resource(&read_bytes(body, state.config.max_body_bytes).await?)?;
    let ctx = request_context(&state, &headers);
    let prefer = prefer(&headers);
    let condition = if_none_exist(&headers);
    // Without a condition the resource will be written: validate and index it before taking the
    // store's writer. With one, a match answers without validating (as before the condition).
    let checked = if condition.is_none() { Some(check(&state, &resource_type, &resource)?) } else { None };
    let condition = condition.map(|c| c.trim_start_matches('?').to_owned());
    let conditions: Vec<(String, String)> = condition.iter().map(|c| (resource_type.clone(), c.clone())).collect();
    let value_sets = crate::value_sets::expand_conditions(&state, &ctx, &conditions).await?;
    let mut tx = state.store.begin(&ctx).await?;
    if let Some(condition) = condition {
        let matches = conditional_matches(&state, tx.as_mut(), &resource_type, &condition, &value_sets).await?;
        match matches.as_slice() {
            [] => {}
            [existing] => {
                let base = base_url(&state, &headers);
                return Ok(write_reply(StatusCode::OK, existing, prefer, &base).render(format));
            }
            _ => return Err(ApiError::new(Code::MultipleMatches, "If-None-Exist matched more than one resource")),
        }
    }
    let id = state.ids.new_id();
    let stored = create(&state, &ctx, tx.as_mut(), (&resource_type, &id), resource, checked).await?;
    tx.commit().await?;
    Ok(write_reply(StatusCode::CREATED, &stored, prefer, &base_url(&state, &headers)).render(format))
}
