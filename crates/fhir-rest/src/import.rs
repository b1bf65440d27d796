//! Loading resources without HTTP (`hestia import`): bundles go through the same batch and
//! transaction processing as `POST [base]`, loose resources through create or update.

use serde_json::Value;
use store::RequestContext;

use crate::error::ApiError;
use crate::headers::{Prefer, ReturnPreference};
use crate::interaction::batch::process_bundle;
use crate::state::AppState;
use crate::write::{create, update};

/// Loads one JSON value (a Bundle or a single resource); returns how many resources it wrote.
pub async fn load(state: &AppState, ctx: &RequestContext, value: Value) -> Result<usize, ApiError> {
    let resource_type = value.get("resourceType").and_then(Value::as_str).unwrap_or("").to_owned();
    let bundle_type = value.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
    if resource_type == "Bundle" && (bundle_type == "transaction" || bundle_type == "batch") {
        let count = value.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
        let prefer = Prefer { return_: ReturnPreference::Minimal, lenient: false };
        process_bundle(state, ctx, value, "", prefer).await?;
        return Ok(count);
    }
    if resource_type == "Bundle" && bundle_type == "collection" {
        let mut written = 0;
        for entry in value.get("entry").and_then(Value::as_array).into_iter().flatten() {
            if let Some(resource) = entry.get("resource") {
                written += Box::pin(load(state, ctx, resource.clone())).await?;
            }
        }
        return Ok(written);
    }
    crate::write::check_type(&resource_type)?;
    let mut tx = state.store.begin(ctx).await?;
    match value.get("id").and_then(Value::as_str).map(str::to_owned) {
        Some(id) => {
            update(state, ctx, tx.as_mut(), (&resource_type, &id), value, None, None).await?;
        }
        None => {
            let id = state.ids.new_id();
            create(state, ctx, tx.as_mut(), (&resource_type, &id), value, None).await?;
        }
    }
    tx.commit().await?;
    Ok(1)
}
