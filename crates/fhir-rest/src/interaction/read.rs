//! `GET [base]/[type]/[id]`: read the current version (http.html#read), honouring
//! `If-None-Match` and `If-Modified-Since` with 304.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::context::request_context;
use crate::error::ApiError;
use crate::headers::{etag, if_modified_since, if_none_match};
use crate::interaction::version_headers;
use crate::negotiate::{Body, Reply, negotiate};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{check_id, check_type};

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    check_id(&id)?;
    let ctx = request_context(&state, &headers);
    let stored = state.store.read(&ctx, &resource_type, &id).await?;
    let not_modified = if_none_match(&headers)
        .is_some_and(|tag| tag.split(',').any(|t| t.trim() == etag(stored.version)))
        || if_modified_since(&headers)
            .is_some_and(|since| stored.last_updated.micros() / 1_000_000 <= since.micros() / 1_000_000);
    if not_modified {
        return Ok(version_headers(Reply::new(StatusCode::NOT_MODIFIED), &stored).render(format));
    }
    let mut reply = version_headers(Reply::new(StatusCode::OK), &stored);
    reply.body = stored.body.clone().map(Body::Stored);
    Ok(reply.render(format))
}
