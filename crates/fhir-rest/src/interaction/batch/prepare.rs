//! Validating and indexing a bundle's resources before its transaction starts, on every core.
//!
//! Validation and index extraction are most of a write's CPU and depend only on the resource
//! itself. Done inside the transaction they would run one entry at a time while the store's
//! writer is held; done here they run in parallel, and other requests' transactions proceed
//! meanwhile. Conditional references are resolved just before (`Planner::presolve`) and
//! verified in the transaction. Entries that need the transaction first (`ifNoneExist`,
//! conditional PUTs, PATCH, references to those) are checked in it as before.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::{ApiError, Code};
use crate::interaction::batch::entry::{Entry, Plan};
use crate::interaction::batch::references::Planner;
use crate::state::AppState;
use crate::write::{Checked, check};

/// Fewer entries than this are checked on the calling task: spreading them costs more than it saves.
const PARALLEL_FROM: usize = 8;

/// Rewrites and checks every entry that can be checked now; each gets `entry.checked`.
pub(crate) async fn check_entries(
    state: &AppState,
    planner: &Planner,
    deferred: &HashSet<String>,
    entries: &mut [Entry],
) -> Result<(), ApiError> {
    let mut work: Vec<(usize, String, Value)> = Vec::new();
    for (position, entry) in entries.iter_mut().enumerate() {
        if !matches!(entry.plan, Plan::Create(_) | Plan::Update(_)) || !planner.rewrite_offline(entry, deferred) {
            continue;
        }
        if let Some(resource) = entry.resource.take() {
            work.push((position, entry.resource_type.clone(), resource));
        }
    }
    for (position, resource, checked) in run(state, work).await? {
        if let Some(entry) = entries.get_mut(position) {
            entry.resource = Some(resource);
            entry.checked = Some(checked);
        }
    }
    Ok(())
}

type Done = (usize, Value, Result<Checked, ApiError>);

async fn run(state: &AppState, work: Vec<(usize, String, Value)>) -> Result<Vec<Done>, ApiError> {
    let check_all = |state: &AppState, work: Vec<(usize, String, Value)>| -> Vec<Done> {
        work.into_iter()
            .map(|(position, resource_type, resource)| {
                let checked = check(state, &resource_type, &resource);
                (position, resource, checked)
            })
            .collect()
    };
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    if work.len() < PARALLEL_FROM || workers < 2 {
        return Ok(check_all(state, work));
    }
    let chunk = work.len().div_ceil(workers);
    let mut tasks = Vec::new();
    let mut rest = work;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        let state = state.clone();
        tasks.push(tokio::task::spawn_blocking(move || check_all(&state, part)));
    }
    let mut done = Vec::new();
    for task in tasks {
        // The task owns its entries' resources: if it died (the runtime shutting down), the
        // bundle cannot be completed.
        let part = task.await.map_err(|e| ApiError::new(Code::Internal, format!("checking the bundle failed: {e}")))?;
        done.extend(part);
    }
    Ok(done)
}
