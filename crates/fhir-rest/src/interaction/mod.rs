//! One module per FHIR interaction, plus what they share: the base URL and single-resource
//! replies.

pub(crate) mod batch;
pub(crate) mod capabilities;
pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod history;
pub(crate) mod patch;
pub(crate) mod read;
pub(crate) mod search;
pub(crate) mod update;
pub(crate) mod vread;

use axum::http::{HeaderMap, StatusCode, header};
use store::StoredResource;

use crate::headers::{Prefer, ReturnPreference, etag};
use crate::negotiate::{Body, Reply};
use crate::outcome::{OutcomeIssue, operation_outcome};
use crate::state::AppState;

/// The FHIR base URL clients reach us at.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.config.base_url {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}/fhir")
}

/// `ETag` and `Last-Modified` of a version.
pub(crate) fn version_headers(reply: Reply, stored: &StoredResource) -> Reply {
    reply.header(header::ETAG, &etag(stored.version)).header(header::LAST_MODIFIED, &stored.last_updated.to_http_date())
}

/// The reply to a write: status, `Location`, version headers and the body `Prefer` asked for.
pub(crate) fn write_reply(status: StatusCode, stored: &StoredResource, prefer: Prefer, base: &str) -> Reply {
    let location = format!("{base}/{}/{}/_history/{}", stored.resource_type, stored.id, stored.version);
    let mut reply = version_headers(Reply::new(status), stored).header(header::LOCATION, &location);
    reply.body = match prefer.return_ {
        ReturnPreference::Minimal => None,
        ReturnPreference::Representation => stored.body.clone().map(Body::Stored),
        ReturnPreference::OperationOutcome => Some(Body::Json(operation_outcome(&[OutcomeIssue::information(
            "informational",
            format!("{} {}/{} version {}", status.as_str(), stored.resource_type, stored.id, stored.version),
        )]))),
    };
    reply
}
