//! `GET [base]/[type]/[id]/_history/[vid]`: read one version (http.html#vread); a deletion
//! version answers 410.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::interaction::version_headers;
use crate::negotiate::{Body, Reply, negotiate};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{check_id, check_type};

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path((resource_type, id, version)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    check_id(&id)?;
    let version: u64 = version
        .parse()
        .map_err(|_| ApiError::new(Code::InvalidRequest, format!("'{version}' is not a version number")))?;
    let ctx = request_context(&state, &headers);
    let stored = state.store.vread(&ctx, &resource_type, &id, version).await?;
    let Some(body) = stored.body.clone() else {
        let error = ApiError::new(Code::Deleted, format!("{resource_type}/{id} version {version} is a deletion"));
        let reply = version_headers(Reply::json(error.status(), error.outcome()), &stored);
        return Ok(reply.render(format));
    };
    let mut reply = version_headers(Reply::new(StatusCode::OK), &stored);
    reply.body = Some(Body::Stored(body));
    Ok(reply.render(format))
}
