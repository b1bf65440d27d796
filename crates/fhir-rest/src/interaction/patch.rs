//! `PATCH [base]/[type]/[id]`: JSON Patch (RFC 6902) on the current version (http.html#patch).
//! The patched resource is validated like any update and must keep its type and id.

use axum::body::Body as RequestBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use store::Method;

use crate::body::read_bytes;
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::{if_match, prefer};
use crate::interaction::{base_url, write_reply};
use crate::negotiate::{BodyKind, body_kind, negotiate};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{apply_json_patch, check_id, check_if_match, check_type, validate, write};

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    check_id(&id)?;
    if body_kind(&headers)? != BodyKind::JsonPatch {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            "PATCH takes application/json-patch+json (FHIRPath Patch arrives with the FHIRPath engine)",
        ));
    }
    let patch = read_bytes(body, state.config.max_body_bytes).await?;
    let expected = if_match(&headers)?;
    let ctx = request_context(&state, &headers);
    let mut tx = state.store.begin(&ctx).await?;
    let current = tx.current(&resource_type, &id).await?;
    check_if_match(expected, current.as_ref())?;
    let Some(current) = current else {
        return Err(ApiError::new(Code::NotFound, format!("{resource_type}/{id} was not found")));
    };
    let Some(text) = current.body.as_deref() else {
        return Err(ApiError::new(Code::Deleted, format!("{resource_type}/{id} was deleted")));
    };
    let patched = apply_json_patch(text, &patch)?;
    if patched.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(ApiError::at(Code::ValidationFailed, "a patch may not change the resource id", "id"));
    }
    validate(&state, &resource_type, &patched)?;
    let target = (resource_type.as_str(), id.as_str(), current.version + 1);
    let stored = write(&state, &ctx, tx.as_mut(), target, Method::Patch, patched).await?;
    tx.commit().await?;
    Ok(write_reply(StatusCode::OK, &stored, prefer(&headers), &base_url(&state, &headers)).render(format))
}
