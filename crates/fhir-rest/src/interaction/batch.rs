//! `POST [base]` with a `batch` or `transaction` Bundle (http.html#transaction).
//!
//! A transaction is one store transaction: entries run in the spec's order (DELETE, POST,
//! PUT/PATCH, GET), `urn:uuid:` and conditional references are resolved and rewritten first, and
//! any failure rolls everything back. Batch entries run one transaction each and fail alone.

mod entry;
mod prepare;
mod references;

use axum::body::Body as RequestBody;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use store::{RequestContext, Transaction, WriteVersion};

use crate::body::{parse_resource, read_bytes};
use crate::bundle::response_bundle;
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::headers::{Prefer, prefer};
use crate::interaction::base_url;
use crate::negotiate::{Body, BodyKind, Reply, body_kind, negotiate};
use crate::params::parse_query;
use crate::state::AppState;

use entry::{Entry, EntryResult};

pub(crate) async fn handle(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &parse_query(query.as_deref()))?;
    if body_kind(&headers)? != BodyKind::FhirJson {
        return Err(ApiError::new(Code::UnsupportedMediaType, "a batch or transaction takes application/fhir+json"));
    }
    let bundle = parse_resource(&read_bytes(body, state.config.max_body_bytes).await?)?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ApiError::at(Code::InvalidRequest, "POST to the base URL takes a Bundle", "resourceType"));
    }
    let base = base_url(&state, &headers);
    let ctx = request_context(&state, &headers);
    let text = process_bundle(&state, &ctx, bundle, &base, prefer(&headers)).await?;
    let mut reply = Reply::new(StatusCode::OK);
    reply.body = Some(Body::Stored(text.into()));
    Ok(reply.render(format))
}

/// Runs a `batch` or `transaction` bundle and returns the response bundle's JSON text.
pub(crate) async fn process_bundle(
    state: &AppState,
    ctx: &RequestContext,
    bundle: Value,
    base: &str,
    prefer: Prefer,
) -> Result<String, ApiError> {
    let kind = bundle.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
    if kind != "batch" && kind != "transaction" {
        return Err(ApiError::at(
            Code::InvalidRequest,
            format!("Bundle.type '{kind}' cannot be processed; use batch or transaction"),
            "Bundle.type",
        ));
    }
    let entries = entry::parse_entries(bundle, base, state.config.max_bundle_entries)?;
    if kind == "transaction" {
        let results = transaction(state, ctx, entries).await?;
        Ok(render(state, "transaction-response", results.into_iter().map(Ok).collect(), prefer))
    } else {
        let mut results = Vec::new();
        for entry in entries {
            results.push(batch_entry(state, ctx, entry).await);
        }
        Ok(render(state, "batch-response", results, prefer))
    }
}

async fn batch_entry(state: &AppState, ctx: &RequestContext, mut entry: Entry) -> Result<EntryResult, ApiError> {
    entry.validate_request()?;
    let mut planner = references::Planner::default();
    planner.expand_conditions(state, ctx, std::slice::from_ref(&entry)).await?;
    let mut tx = state.store.begin(ctx).await?;
    planner.plan(state, tx.as_mut(), &mut entry).await?;
    planner.rewrite(state, tx.as_mut(), &mut entry).await?;
    let result = entry::execute(state, ctx, tx.as_mut(), entry, &planner.value_sets).await?;
    tx.commit().await?;
    Ok(result)
}

async fn transaction(
    state: &AppState,
    ctx: &RequestContext,
    mut entries: Vec<Entry>,
) -> Result<Vec<EntryResult>, ApiError> {
    for entry in &entries {
        entry.validate_request().map_err(|e| entry.locate(e))?;
    }
    let mut planner = references::Planner::default();
    planner.expand_conditions(state, ctx, &entries).await?;
    let deferred = planner.plan_offline(state, &mut entries);
    planner.presolve(state, ctx, &entries).await?;
    prepare::check_entries(state, &planner, &deferred, &mut entries).await?;
    // The creates checked already get their final bodies (serialized with `meta`) now too: the
    // store's writer is held from `begin` to `commit`, and this is CPU work that needs nothing
    // from the transaction.
    let mut finished: Vec<Option<WriteVersion>> = entries.iter_mut().map(|e| e.checked_create(ctx)).collect();
    let mut tx = state.store.begin(ctx).await?;
    planner.verify_presolved(state, tx.as_mut()).await?;
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries.get(i).map_or(4, |e| e.method.transaction_rank()));
    for &i in &order {
        if let Some(entry) = entries.get_mut(i) {
            planner.plan(state, tx.as_mut(), entry).await.map_err(|e| entry.locate(e))?;
        }
    }
    for entry in entries.iter_mut().filter(|e| e.checked.is_none()) {
        planner.rewrite(state, tx.as_mut(), entry).await.map_err(|e| entry.locate(e))?;
    }
    let mut slots: Vec<Option<EntryResult>> = (0..entries.len()).map(|_| None).collect();
    let mut taken: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
    // Runs of checked creates go to the store together: one round trip for the run.
    let mut run: Vec<(usize, WriteVersion)> = Vec::new();
    for &i in &order {
        let Some(mut entry) = taken.get_mut(i).and_then(Option::take) else { continue };
        if let Some(version) = finished.get_mut(i).and_then(Option::take).or_else(|| entry.checked_create(ctx)) {
            run.push((i, version));
            continue;
        }
        write_run(tx.as_mut(), &mut run, &mut slots).await?;
        let index = entry.index;
        let result = entry::execute(state, ctx, tx.as_mut(), entry, &planner.value_sets)
            .await
            .map_err(|e| entry::locate_index(index, e))?;
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(result);
        }
    }
    write_run(tx.as_mut(), &mut run, &mut slots).await?;
    tx.commit().await?;
    Ok(slots.into_iter().flatten().collect())
}

async fn write_run(
    tx: &mut dyn Transaction,
    run: &mut Vec<(usize, WriteVersion)>,
    slots: &mut [Option<EntryResult>],
) -> Result<(), ApiError> {
    if run.is_empty() {
        return Ok(());
    }
    let (positions, versions): (Vec<usize>, Vec<WriteVersion>) = std::mem::take(run).into_iter().unzip();
    let first = positions.first().copied().unwrap_or(0);
    let stored = tx.write_all(versions).await.map_err(|e| entry::locate_index(first, e.into()))?;
    for (position, stored) in positions.into_iter().zip(stored) {
        if let Some(slot) = slots.get_mut(position) {
            *slot = Some(EntryResult::created(stored));
        }
    }
    Ok(())
}

fn render(state: &AppState, kind: &str, results: Vec<Result<EntryResult, ApiError>>, prefer: Prefer) -> String {
    let entries = results
        .into_iter()
        .map(|result| match result {
            Ok(result) => result.into_entry(prefer),
            Err(error) => {
                let status = error.status();
                let outcome = error.outcome();
                let fields = json!({"response": {"status": status_line(status), "outcome": outcome}});
                (fields, None)
            }
        })
        .collect();
    response_bundle(state.ids.new_id(), kind, entries)
}

pub(crate) fn status_line(status: StatusCode) -> String {
    format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
}
