//! Stored SearchParameter resources: a watcher notices when they change (on any node: it reads
//! the shared store), rebuilds the search registry, and reindexes the affected resource types in
//! the background. `GET [base]/$reindex` shows progress; `POST [base]/$reindex` reindexes all.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fhir_search::{SearchQuery, SearchRegistry, definition_from_resource, extract};
use serde_json::{Value, json};
use store::{HistoryQuery, HistoryScope, RequestContext};

use crate::error::ApiError;
use crate::negotiate::{Reply, negotiate};
use crate::state::AppState;

/// How often the watcher looks for changed SearchParameters.
const POLL: Duration = Duration::from_millis(500);
/// Resources reindexed per store transaction.
const BATCH: usize = 200;

#[derive(Debug, Clone, Default)]
pub(crate) struct ReindexStatus {
    pub(crate) state: &'static str,
    pub(crate) types: Vec<String>,
    pub(crate) processed: u64,
    pub(crate) custom_parameters: usize,
    /// Stored SearchParameters that could not be used, with the reason.
    pub(crate) rejected: Vec<String>,
    pub(crate) generation: u64,
}

fn update(state: &AppState, change: impl FnOnce(&mut ReindexStatus)) {
    match state.reindex.lock() {
        Ok(mut guard) => change(&mut guard),
        Err(poisoned) => change(&mut poisoned.into_inner()),
    }
}

fn snapshot(state: &AppState) -> ReindexStatus {
    match state.reindex.lock() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Loads stored SearchParameters once (before serving), then watches for changes forever.
pub async fn watch_search_parameters(state: AppState) {
    let mut last_seen = None;
    loop {
        let ctx = RequestContext::system("search-parameters", state.clock.now());
        let query = HistoryQuery {
            scope: HistoryScope::Type("SearchParameter".to_owned()),
            since: None,
            before: None,
            count: 1,
            cursor: None,
        };
        let newest =
            state.store.history(&ctx, &query).await.ok().and_then(|page| page.entries.first().map(|e| e.sequence));
        if newest != last_seen {
            last_seen = newest;
            if let Err(error) = reload(&state, &ctx).await {
                tracing::warn!(?error, "reloading SearchParameters failed");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Rebuilds the registry from the stored SearchParameters and reindexes what changed.
async fn reload(state: &AppState, ctx: &RequestContext) -> Result<(), ApiError> {
    let mut defs = Vec::new();
    let mut rejected = Vec::new();
    let mut query = SearchQuery::new("SearchParameter");
    query.count = 500;
    loop {
        let page = state.store.search(ctx, &query).await?;
        for stored in &page.resources {
            let Some(body) = stored.body.as_deref() else { continue };
            let Ok(resource) = serde_json::from_str::<Value>(body) else { continue };
            if resource.get("status").and_then(Value::as_str) == Some("retired") {
                continue;
            }
            match definition_from_resource(&resource) {
                Ok(def) => defs.push(def),
                Err(reason) => rejected.push(format!("SearchParameter/{}: {reason}", stored.id)),
            }
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let old = state.registry();
    let signature =
        |d: &fhir_model::SearchParamDef| (d.url.clone(), d.code.clone(), d.expression.clone(), d.base.clone());
    let before: BTreeSet<_> = old.custom().iter().map(|d| signature(d)).collect();
    let after: BTreeSet<_> = defs.iter().map(signature).collect();
    let changed: BTreeSet<String> =
        before.symmetric_difference(&after).flat_map(|(_, _, _, base)| base.iter().cloned()).collect();
    let count = defs.len();
    state.set_registry(SearchRegistry::with_custom(fhir_model::r4(), defs));
    update(state, |s| {
        s.custom_parameters = count;
        s.rejected = rejected;
    });
    let model = fhir_model::r4();
    let types: Vec<String> =
        model.resource_types().iter().filter(|t| changed.iter().any(|b| model.is_subtype(t, b))).cloned().collect();
    if !types.is_empty() {
        let state = state.clone();
        tokio::spawn(async move { reindex(&state, types).await });
    }
    Ok(())
}

/// Re-extracts the index rows of every current resource of `types` with the registry in force.
pub(crate) async fn reindex(state: &AppState, types: Vec<String>) {
    let generation = {
        let mut generation = 0;
        update(state, |s| {
            s.generation += 1;
            generation = s.generation;
            s.state = "running";
            s.types = types.clone();
            s.processed = 0;
        });
        generation
    };
    for resource_type in &types {
        if let Err(error) = reindex_type(state, resource_type, generation).await {
            tracing::warn!(?error, %resource_type, "reindex failed");
            update(state, |s| s.state = "failed");
            return;
        }
    }
    update(state, |s| {
        if s.generation == generation {
            s.state = "complete";
        }
    });
}

async fn reindex_type(state: &AppState, resource_type: &str, generation: u64) -> Result<(), ApiError> {
    let ctx = RequestContext::system("reindex", state.clock.now());
    let mut query = SearchQuery::new(resource_type);
    query.count = BATCH;
    loop {
        if snapshot(state).generation != generation {
            return Ok(());
        }
        let page = state.store.search(&ctx, &query).await?;
        let registry = state.registry();
        let mut tx = state.store.begin(&ctx).await?;
        for stored in &page.resources {
            let Some(body) = stored.body.as_deref() else { continue };
            let Ok(resource) = serde_json::from_str::<Value>(body) else { continue };
            tx.replace_index(resource_type, &stored.id, stored.version, extract(&registry, &resource)).await?;
        }
        tx.commit().await?;
        let n = page.resources.len() as u64;
        update(state, |s| s.processed += n);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(()),
        }
    }
}

fn status_reply(status: &ReindexStatus) -> Value {
    let mut parameters = vec![
        json!({"name": "status", "valueCode": if status.state.is_empty() { "idle" } else { status.state }}),
        json!({"name": "processed", "valueInteger": status.processed}),
        json!({"name": "customParameters", "valueInteger": status.custom_parameters}),
    ];
    parameters.extend(status.types.iter().map(|t| json!({"name": "type", "valueCode": t})));
    parameters.extend(status.rejected.iter().map(|r| json!({"name": "rejected", "valueString": r})));
    json!({"resourceType": "Parameters", "parameter": parameters})
}

/// `GET [base]/$reindex`: progress of the current or last reindex.
pub(crate) async fn status(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &[])?;
    Ok(Reply::json(StatusCode::OK, status_reply(&snapshot(&state))).render(format))
}

/// `POST [base]/$reindex`: reindex every type now (after an upgrade that changes extraction).
pub(crate) async fn start(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &[])?;
    let types = fhir_model::r4().resource_types().to_vec();
    update(&state, |s| s.state = "running");
    let job = state.clone();
    tokio::spawn(async move { reindex(&job, types).await });
    Ok(Reply::json(StatusCode::ACCEPTED, status_reply(&snapshot(&state))).render(format))
}
