//! The single place where a request becomes a `RequestContext`. Authentication will plug in here.

use axum::http::HeaderMap;
use store::{AccessFilter, Actor, RequestContext, TenantId};

use crate::state::AppState;

pub(crate) fn request_context(state: &AppState, headers: &HeaderMap) -> RequestContext {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .map_or_else(|| state.ids.new_id(), str::to_owned);
    RequestContext {
        tenant: TenantId::default_tenant(),
        actor: Actor::Anonymous,
        purpose_of_use: None,
        access: AccessFilter::Unrestricted,
        request_id,
        now: state.clock.now(),
    }
}
