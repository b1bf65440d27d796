//! `DELETE [base]/[type]/[id]` (http.html#delete) and `DELETE [base]/[type]?criteria`
//! (conditional delete, single match; several matches answer 412).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use store::StoredResource;

use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::{etag, if_match};
use crate::negotiate::{Format, Reply, negotiate};
use crate::outcome::{OutcomeIssue, operation_outcome};
use crate::params::parse_query;
use crate::state::AppState;
use crate::write::{check_id, check_type, conditional_matches, delete};

fn reply(deleted: Option<&StoredResource>, what: &str, format: Format) -> Response {
    let message = match deleted {
        Some(stored) => format!("deleted {what} (version {})", stored.version),
        None => format!("nothing to delete: {what} does not exist or is already deleted"),
    };
    let outcome = operation_outcome(&[OutcomeIssue::information("informational", message)]);
    let mut reply = Reply::json(StatusCode::OK, outcome);
    if let Some(stored) = deleted {
        reply = reply.header(header::ETAG, &etag(stored.version));
    }
    reply.render(format)
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    check_id(&id)?;
    let expected = if_match(&headers)?;
    let ctx = request_context(&state, &headers);
    let mut tx = state.store.begin(&ctx).await?;
    let deleted = delete(tx.as_mut(), (&resource_type, &id), expected).await?;
    tx.commit().await?;
    Ok(reply(deleted.as_ref(), &format!("{resource_type}/{id}"), format))
}

pub(crate) async fn conditional(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    check_type(&resource_type)?;
    let ctx = request_context(&state, &headers);
    let condition = query.clone().unwrap_or_default();
    let value_sets =
        crate::value_sets::expand_conditions(&state, &ctx, &[(resource_type.clone(), condition.clone())]).await?;
    let mut tx = state.store.begin(&ctx).await?;
    let matches = conditional_matches(&state, tx.as_mut(), &resource_type, &condition, &value_sets).await?;
    let deleted = match matches.as_slice() {
        [] => None,
        [one] => delete(tx.as_mut(), (&resource_type, &one.id), None).await?,
        _ => return Err(ApiError::new(Code::MultipleMatches, "the conditional delete matched more than one resource")),
    };
    tx.commit().await?;
    Ok(reply(deleted.as_ref(), &format!("{resource_type}?{}", query.unwrap_or_default()), format))
}
