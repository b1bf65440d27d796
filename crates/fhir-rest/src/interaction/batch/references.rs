//! Planning ids for a bundle's writes and rewriting references between its entries:
//! `urn:uuid:` full URLs and conditional references (`Patient?identifier=x|1`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use store::{RequestContext, Transaction};

use crate::error::{ApiError, Code};
use crate::interaction::batch::entry::{Entry, EntryMethod, Plan};
use crate::state::AppState;
use crate::write::conditional_matches;
use fhir_search::ValueSetCodes;

#[derive(Default)]
pub(crate) struct Planner {
    /// fullUrl → `Type/id`.
    targets: HashMap<String, String>,
    /// Conditional reference → `Type/id`.
    resolved: HashMap<String, String>,
    /// The conditional references resolved before the transaction: `verify_presolved` checks
    /// them again inside it.
    presolved: Vec<String>,
    /// The expansions every condition of the entries names (`expand_conditions`).
    pub(crate) value_sets: ValueSetCodes,
    /// Each entry's conditional references (by `Entry::index`), found once by
    /// `expand_conditions` and reused by `presolve`.
    conditional: HashMap<usize, Vec<String>>,
}

impl Planner {
    /// Expands, before the transaction, the value sets (and subsumptions) that the entries'
    /// conditions name: `ifNoneExist`, conditional PUT and DELETE, search entries, conditional
    /// references.
    pub(crate) async fn expand_conditions(
        &mut self,
        state: &AppState,
        ctx: &RequestContext,
        entries: &[Entry],
    ) -> Result<(), ApiError> {
        let mut conditions: Vec<(String, String)> = Vec::new();
        self.conditional.clear();
        for entry in entries {
            // A search entry (GET without an id) runs in the transaction too.
            let conditional_url =
                matches!(entry.method, EntryMethod::Put | EntryMethod::Delete | EntryMethod::Get) && entry.id.is_none();
            let query = entry.if_none_exist.as_deref().or(entry.query.as_deref().filter(|_| conditional_url));
            if let Some(query) = query {
                conditions.push((entry.resource_type.clone(), query.trim_start_matches('?').to_owned()));
            }
            let mut references = Vec::new();
            if let Some(resource) = &entry.resource {
                collect_conditional(resource, &mut references);
            }
            for reference in &references {
                if let Some((resource_type, query)) = reference.split_once('?') {
                    conditions.push((resource_type.to_owned(), query.to_owned()));
                }
            }
            if !references.is_empty() {
                self.conditional.insert(entry.index, references);
            }
        }
        // Synthea's bundles name the same practitioners and organizations again and again.
        conditions.sort_unstable();
        conditions.dedup();
        self.value_sets = crate::value_sets::expand_conditions(state, ctx, &conditions).await?;
        Ok(())
    }

    /// Plans, before the transaction, the entries whose id needs no query: a POST without
    /// `ifNoneExist` gets a new id, a PUT to `Type/id` keeps its id. `plan` leaves them as they
    /// are. Returns the fullUrls of the write entries left for `plan`, which only the
    /// transaction can resolve.
    pub(crate) fn plan_offline(&mut self, state: &AppState, entries: &mut [Entry]) -> HashSet<String> {
        let mut deferred = HashSet::new();
        for entry in entries.iter_mut() {
            let id = match (entry.method, &entry.if_none_exist, &entry.id) {
                (EntryMethod::Post, None, _) => state.ids.new_id(),
                (EntryMethod::Put, _, Some(id)) => id.clone(),
                (EntryMethod::Post | EntryMethod::Put, _, _) => {
                    deferred.extend(entry.full_url.clone());
                    continue;
                }
                _ => continue,
            };
            if let Some(full_url) = &entry.full_url {
                self.targets.insert(full_url.clone(), format!("{}/{id}", entry.resource_type));
            }
            entry.plan = if entry.method == EntryMethod::Post { Plan::Create(id) } else { Plan::Update(id) };
        }
        // A fullUrl used by a deferred entry too is decided in the transaction.
        for url in &deferred {
            self.targets.remove(url);
        }
        deferred
    }

    /// Resolves, outside the transaction, the conditional references (as `expand_conditions`
    /// found them, which must run first) of the entries planned so far, so that those entries can be checked in parallel before it (Synthea's bundles name
    /// every practitioner and organization this way). Only single matches are kept; anything
    /// else is left for the transaction to resolve and report. `verify_presolved` must run in
    /// the transaction before anything is written.
    pub(crate) async fn presolve(
        &mut self,
        state: &AppState,
        ctx: &RequestContext,
        entries: &[Entry],
    ) -> Result<(), ApiError> {
        let mut wanted = Vec::new();
        for entry in entries.iter().filter(|e| matches!(e.plan, Plan::Create(_) | Plan::Update(_))) {
            wanted.extend(self.conditional.get(&entry.index).into_iter().flatten().cloned());
        }
        wanted.sort_unstable();
        wanted.dedup();
        for reference in wanted {
            let Some((resource_type, query)) = reference.split_once('?') else { continue };
            if crate::write::check_type(resource_type).is_err() {
                continue;
            }
            let Ok(query) = crate::write::conditional_query(state, resource_type, query, &self.value_sets) else {
                continue;
            };
            let page = state.store.search(ctx, &query).await?;
            if let [one] = page.resources.as_slice() {
                self.resolved.insert(reference.clone(), format!("{resource_type}/{}", one.id));
                self.presolved.push(reference);
            }
        }
        Ok(())
    }

    /// Inside the transaction: every reference `presolve` resolved still resolves to the same
    /// resource. If one changed in between (created, deleted or duplicated by another writer),
    /// the entries checked with it are stale: the transaction fails with a conflict to retry.
    pub(crate) async fn verify_presolved(&self, state: &AppState, tx: &mut dyn Transaction) -> Result<(), ApiError> {
        for reference in &self.presolved {
            let now = resolve(state, tx, reference, &self.value_sets).await?;
            if self.resolved.get(reference) != Some(&now) {
                return Err(ApiError::new(
                    Code::VersionConflict,
                    format!("conditional reference '{reference}' changed while the transaction was prepared; retry it"),
                ));
            }
        }
        Ok(())
    }

    /// Rewrites the entry's references now if every one of them is already known: none names
    /// a deferred entry, and each conditional one was presolved. Returns whether it did.
    pub(crate) fn rewrite_offline(&self, entry: &mut Entry, deferred: &HashSet<String>) -> bool {
        let Some(resource) = &mut entry.resource else { return false };
        let mut known = true;
        visit_references(resource, &mut |reference| {
            known &=
                (!is_conditional(reference) || self.resolved.contains_key(reference)) && !deferred.contains(reference);
        });
        if known {
            replace(resource, &self.targets, &self.resolved);
        }
        known
    }

    /// Decides the id of a POST or PUT entry (resolving `ifNoneExist` and conditional PUTs in
    /// the transaction) and records its fullUrl.
    pub(crate) async fn plan(
        &mut self,
        state: &AppState,
        tx: &mut dyn Transaction,
        entry: &mut Entry,
    ) -> Result<(), ApiError> {
        if !matches!(entry.plan, Plan::None) {
            return Ok(());
        }
        let resource_type = entry.resource_type.clone();
        let plan = match entry.method {
            EntryMethod::Post => match &entry.if_none_exist {
                Some(condition) => match conditional_matches(state, tx, &resource_type, condition, &self.value_sets)
                    .await?
                    .as_slice()
                {
                    [] => Plan::Create(state.ids.new_id()),
                    [existing] => Plan::Existing(existing.clone()),
                    _ => {
                        return Err(ApiError::new(Code::MultipleMatches, "ifNoneExist matched more than one resource"));
                    }
                },
                None => Plan::Create(state.ids.new_id()),
            },
            EntryMethod::Put => match (&entry.id, &entry.query) {
                (Some(id), _) => Plan::Update(id.clone()),
                (None, query) => {
                    let query = query.as_deref().unwrap_or("");
                    let matches = conditional_matches(state, tx, &resource_type, query, &self.value_sets).await?;
                    match matches.as_slice() {
                        [] => Plan::Update(
                            entry
                                .resource
                                .as_ref()
                                .and_then(|r| r.get("id"))
                                .and_then(Value::as_str)
                                .map_or_else(|| state.ids.new_id(), str::to_owned),
                        ),
                        [existing] => Plan::Update(existing.id.clone()),
                        _ => {
                            return Err(ApiError::new(
                                Code::MultipleMatches,
                                "the conditional update matched more than one resource",
                            ));
                        }
                    }
                }
            },
            _ => Plan::None,
        };
        let id = match &plan {
            Plan::Create(id) | Plan::Update(id) => Some(id.clone()),
            Plan::Existing(stored) => Some(stored.id.clone()),
            Plan::None => None,
        };
        if let (Some(full_url), Some(id)) = (&entry.full_url, id) {
            self.targets.insert(full_url.clone(), format!("{resource_type}/{id}"));
        }
        entry.plan = plan;
        Ok(())
    }

    /// Rewrites every `reference` in the entry's resource that names another entry's fullUrl or
    /// is a conditional reference.
    pub(crate) async fn rewrite(
        &mut self,
        state: &AppState,
        tx: &mut dyn Transaction,
        entry: &mut Entry,
    ) -> Result<(), ApiError> {
        let Some(resource) = &mut entry.resource else { return Ok(()) };
        let mut conditional = Vec::new();
        collect_conditional(resource, &mut conditional);
        for reference in conditional {
            if self.resolved.contains_key(&reference) {
                continue;
            }
            let target = resolve(state, tx, &reference, &self.value_sets).await?;
            self.resolved.insert(reference, target);
        }
        replace(resource, &self.targets, &self.resolved);
        Ok(())
    }
}

/// The `Type/id` a conditional reference (`Type?query`) names in the transaction: exactly one
/// match, or the error saying why not.
async fn resolve(
    state: &AppState,
    tx: &mut dyn Transaction,
    reference: &str,
    value_sets: &ValueSetCodes,
) -> Result<String, ApiError> {
    let Some((resource_type, query)) = reference.split_once('?') else {
        return Err(ApiError::new(Code::InvalidRequest, format!("'{reference}' is not a conditional reference")));
    };
    crate::write::check_type(resource_type)?;
    match conditional_matches(state, tx, resource_type, query, value_sets).await?.as_slice() {
        [one] => Ok(format!("{resource_type}/{}", one.id)),
        [] => {
            Err(ApiError::new(Code::PreconditionFailed, format!("conditional reference '{reference}' matched nothing")))
        }
        _ => Err(ApiError::new(
            Code::MultipleMatches,
            format!("conditional reference '{reference}' matched more than one resource"),
        )),
    }
}

fn is_conditional(reference: &str) -> bool {
    reference.split_once('?').is_some_and(|(path, _)| !path.contains('/') && !path.contains(':'))
}

fn collect_conditional(value: &Value, out: &mut Vec<String>) {
    visit_references(value, &mut |reference| {
        if is_conditional(reference) {
            out.push(reference.to_owned());
        }
    });
}

/// Calls `visit` with every `reference` string in the resource.
fn visit_references(value: &Value, visit: &mut impl FnMut(&str)) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                match (key.as_str(), child) {
                    ("reference", Value::String(reference)) => visit(reference),
                    _ => visit_references(child, visit),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| visit_references(item, visit)),
        _ => {}
    }
}

fn replace(value: &mut Value, targets: &HashMap<String, String>, resolved: &HashMap<String, String>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields.iter_mut() {
                if let ("reference", Value::String(reference)) = (key.as_str(), &mut *child) {
                    if let Some(target) = targets.get(reference.as_str()).or_else(|| resolved.get(reference.as_str())) {
                        *reference = target.clone();
                    }
                } else {
                    replace(child, targets, resolved);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| replace(item, targets, resolved)),
        _ => {}
    }
}
