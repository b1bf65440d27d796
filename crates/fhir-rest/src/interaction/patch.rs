//! `PATCH [base]/[type]/[id]` (http.html#patch): JSON Patch (RFC 6902,
//! `application/json-patch+json`) or FHIRPath Patch (a `Parameters` body,
//! `application/fhir+json`). The patched resource is validated like any update.

use axum::body::Body as RequestBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::body::{parse_resource, read_bytes};
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::{if_match, prefer};
use crate::interaction::{base_url, write_reply};
use crate::negotiate::{BodyKind, body_kind, negotiate};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{PatchDocument, check_type, patch};

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    let bytes = read_bytes(body, state.config.max_body_bytes).await?;
    let document = match body_kind(&headers)? {
        BodyKind::JsonPatch => PatchDocument::Json(bytes.to_vec()),
        BodyKind::FhirJson => PatchDocument::FhirPath(parse_resource(&bytes)?),
        BodyKind::Form => {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "PATCH takes application/json-patch+json or a FHIRPath Patch Parameters as application/fhir+json",
            ));
        }
    };
    let expected = if_match(&headers)?;
    let ctx = request_context(&state, &headers);
    let mut tx = state.store.begin(&ctx).await?;
    let stored = patch(&state, &ctx, tx.as_mut(), (&resource_type, &id), &document, expected).await?;
    tx.commit().await?;
    Ok(write_reply(StatusCode::OK, &stored, prefer(&headers), &base_url(&state, &headers)).render(format))
}
