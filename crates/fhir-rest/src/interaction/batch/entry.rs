//! One bundle entry: parsing its request, executing it, and its response entry.

use axum::http::StatusCode;
use serde_json::{Value, json};
use store::{RequestContext, StoredResource, Transaction, WriteVersion};

use crate::error::{ApiError, Code};
use crate::headers::{Prefer, ReturnPreference, etag, parse_etag};
use crate::interaction::batch::status_line;
use crate::state::AppState;
use crate::write::{
    Checked, PatchDocument, check_id, check_type, conditional_matches, create, delete, new_version, patch, update,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl EntryMethod {
    /// Transaction processing order: DELETE, POST, PUT/PATCH, GET.
    pub(crate) fn transaction_rank(self) -> u8 {
        match self {
            EntryMethod::Delete => 0,
            EntryMethod::Post => 1,
            EntryMethod::Put | EntryMethod::Patch => 2,
            EntryMethod::Get => 3,
        }
    }
}

/// What planning decided for a write entry.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    None,
    /// POST: create with this id.
    Create(String),
    /// POST with `ifNoneExist` that matched: nothing is written.
    Existing(StoredResource),
    /// PUT: update (or create) this id.
    Update(String),
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) index: usize,
    pub(crate) method: EntryMethod,
    pub(crate) resource_type: String,
    pub(crate) id: Option<String>,
    pub(crate) version: Option<u64>,
    /// The conditional or search query after `?`.
    pub(crate) query: Option<String>,
    pub(crate) full_url: Option<String>,
    pub(crate) resource: Option<Value>,
    pub(crate) if_none_exist: Option<String>,
    pub(crate) if_match: Option<u64>,
    pub(crate) plan: Plan,
    /// Validation and index rows computed before the transaction (see `prepare`).
    pub(crate) checked: Option<Result<Checked, ApiError>>,
}

pub(crate) fn locate_index(index: usize, mut error: ApiError) -> ApiError {
    for issue in &mut error.issues {
        issue.diagnostics = format!("Bundle.entry[{index}]: {}", issue.diagnostics);
        if issue.expression.is_none() {
            issue.expression = Some(format!("Bundle.entry[{index}]"));
        }
    }
    error
}

impl Entry {
    pub(crate) fn locate(&self, error: ApiError) -> ApiError {
        locate_index(self.index, error)
    }

    /// The version to write for a POST whose id was planned and whose resource was checked
    /// before the transaction (see `prepare`); `None` (and the entry unchanged) otherwise.
    pub(crate) fn checked_create(&mut self, ctx: &RequestContext) -> Option<WriteVersion> {
        let (EntryMethod::Post, Plan::Create(id), Some(Ok(_)), Some(_)) =
            (self.method, &self.plan, &self.checked, &self.resource)
        else {
            return None;
        };
        let id = id.clone();
        let checked = self.checked.take()?.ok()?;
        let resource = self.resource.take()?;
        Some(new_version(ctx, (&self.resource_type, &id), resource, checked))
    }

    /// Checks what can be checked before anything runs.
    pub(crate) fn validate_request(&self) -> Result<(), ApiError> {
        check_type(&self.resource_type)?;
        if let Some(id) = &self.id {
            check_id(id)?;
        }
        let needs_resource = matches!(self.method, EntryMethod::Post | EntryMethod::Put);
        if needs_resource && self.resource.is_none() {
            return Err(ApiError::new(Code::InvalidRequest, "this entry needs a resource"));
        }
        match self.method {
            EntryMethod::Put | EntryMethod::Delete if self.id.is_none() && self.query.is_none() => {
                Err(ApiError::new(Code::InvalidRequest, "request.url needs an id or search criteria"))
            }
            EntryMethod::Patch if self.id.is_none() => {
                Err(ApiError::new(Code::InvalidRequest, "a PATCH entry needs Type/id in request.url"))
            }
            EntryMethod::Patch
                if self.resource.as_ref().and_then(|r| r.get("resourceType")).and_then(Value::as_str)
                    != Some("Parameters") =>
            {
                Err(ApiError::new(Code::InvalidRequest, "a PATCH entry carries a FHIRPath Patch Parameters resource"))
            }
            _ => Ok(()),
        }
    }
}

pub(crate) fn parse_entries(bundle: Value, base: &str, max: usize) -> Result<Vec<Entry>, ApiError> {
    let Value::Object(mut fields) = bundle else { return Ok(Vec::new()) };
    let entries = match fields.shift_remove("entry") {
        Some(Value::Array(entries)) => entries,
        None => Vec::new(),
        Some(_) => return Err(ApiError::at(Code::InvalidResource, "Bundle.entry must be an array", "Bundle.entry")),
    };
    if entries.len() > max {
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            format!("the bundle has {} entries; the limit is {max}", entries.len()),
        ));
    }
    entries.into_iter().enumerate().map(|(index, entry)| parse_entry(index, entry, base)).collect()
}

fn parse_entry(index: usize, entry: Value, base: &str) -> Result<Entry, ApiError> {
    let at = |message: &str, path: &str| {
        ApiError::at(Code::InvalidRequest, message.to_owned(), format!("Bundle.entry[{index}].{path}"))
    };
    let Value::Object(mut entry) = entry else { return Err(at("an entry must be an object", "")) };
    let request = entry.shift_remove("request").ok_or_else(|| at("entry has no request", "request"))?;
    let method = match request.get("method").and_then(Value::as_str) {
        Some("GET" | "HEAD") => EntryMethod::Get,
        Some("POST") => EntryMethod::Post,
        Some("PUT") => EntryMethod::Put,
        Some("PATCH") => EntryMethod::Patch,
        Some("DELETE") => EntryMethod::Delete,
        _ => return Err(at("request.method must be GET, HEAD, POST, PUT, PATCH or DELETE", "request.method")),
    };
    let url = request.get("url").and_then(Value::as_str).ok_or_else(|| at("request.url is required", "request.url"))?;
    let relative = url.strip_prefix(base).unwrap_or(url).trim_start_matches('/');
    let (path, query) = match relative.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (relative, None),
    };
    let segments: Vec<&str> = path.split('/').collect();
    let (resource_type, id, version) = match segments.as_slice() {
        [t] => ((*t).to_owned(), None, None),
        [t, id] => ((*t).to_owned(), Some((*id).to_owned()), None),
        [t, id, "_history", v] => {
            let version = v.parse().map_err(|_| at("the version in request.url is not a number", "request.url"))?;
            ((*t).to_owned(), Some((*id).to_owned()), Some(version))
        }
        _ => return Err(at("request.url is not a resource URL this server understands", "request.url")),
    };
    let if_match = match request.get("ifMatch").and_then(Value::as_str) {
        Some(text) => Some(parse_etag(text).ok_or_else(|| at("ifMatch is not a version ETag", "request.ifMatch"))?),
        None => None,
    };
    Ok(Entry {
        index,
        method,
        resource_type,
        id,
        version,
        query,
        full_url: entry.get("fullUrl").and_then(Value::as_str).map(str::to_owned),
        resource: entry.shift_remove("resource"),
        if_none_exist: request.get("ifNoneExist").and_then(Value::as_str).map(|q| q.trim_start_matches('?').to_owned()),
        if_match,
        plan: Plan::None,
        checked: None,
    })
}

/// The outcome of one entry, rendered later into the response bundle.
#[derive(Debug)]
pub(crate) struct EntryResult {
    status: StatusCode,
    stored: Option<StoredResource>,
    /// A body that is not a stored resource (a searchset for a GET search).
    other: Option<String>,
}

impl EntryResult {
    pub(crate) fn created(stored: StoredResource) -> EntryResult {
        EntryResult { status: StatusCode::CREATED, stored: Some(stored), other: None }
    }

    pub(crate) fn into_entry(self, prefer: Prefer) -> (Value, Option<String>) {
        let mut response = json!({"status": status_line(self.status)});
        if let (Some(stored), Value::Object(fields)) = (&self.stored, &mut response) {
            if self.status != StatusCode::OK || stored.body.is_some() {
                let location = format!("{}/{}/_history/{}", stored.resource_type, stored.id, stored.version);
                fields.insert("location".into(), json!(location));
            }
            fields.insert("etag".into(), json!(etag(stored.version)));
            fields.insert("lastModified".into(), json!(stored.last_updated.to_fhir_instant()));
        }
        let resource = match prefer.return_ {
            ReturnPreference::Minimal => None,
            _ => self.other.or_else(|| self.stored.and_then(|s| s.body.map(|b| b.to_string()))),
        };
        (json!({"response": response}), resource)
    }
}

pub(crate) async fn execute(
    state: &AppState,
    ctx: &RequestContext,
    tx: &mut dyn Transaction,
    entry: Entry,
    value_sets: &fhir_search::ValueSetCodes,
) -> Result<EntryResult, ApiError> {
    let resource_type = entry.resource_type.as_str();
    let checked = entry.checked.transpose()?;
    match (entry.method, entry.plan) {
        (EntryMethod::Post, Plan::Existing(stored)) => {
            Ok(EntryResult { status: StatusCode::OK, stored: Some(stored), other: None })
        }
        (EntryMethod::Post, Plan::Create(id)) => {
            let resource = entry.resource.unwrap_or(Value::Null);
            let stored = create(state, ctx, tx, (resource_type, &id), resource, checked).await?;
            Ok(EntryResult { status: StatusCode::CREATED, stored: Some(stored), other: None })
        }
        (EntryMethod::Put, Plan::Update(id)) => {
            let mut resource = entry.resource.unwrap_or(Value::Null);
            if entry.id.is_none()
                && let Value::Object(fields) = &mut resource
            {
                fields.insert("id".into(), json!(id));
            }
            let updated = update(state, ctx, tx, (resource_type, &id), resource, entry.if_match, checked).await?;
            let status = if updated.created { StatusCode::CREATED } else { StatusCode::OK };
            Ok(EntryResult { status, stored: Some(updated.stored), other: None })
        }
        (EntryMethod::Delete, _) => {
            let id = match (&entry.id, &entry.query) {
                (Some(id), _) => Some(id.clone()),
                (None, query) => {
                    let query = query.as_deref().unwrap_or("");
                    let matches = conditional_matches(state, tx, resource_type, query, value_sets).await?;
                    match matches.as_slice() {
                        [] => None,
                        [one] => Some(one.id.clone()),
                        _ => {
                            return Err(ApiError::new(
                                Code::MultipleMatches,
                                "the conditional delete matched more than one resource",
                            ));
                        }
                    }
                }
            };
            let deleted = match id {
                Some(id) => delete(tx, (resource_type, &id), entry.if_match).await?,
                None => None,
            };
            let status = if deleted.is_some() { StatusCode::OK } else { StatusCode::NO_CONTENT };
            Ok(EntryResult { status, stored: deleted, other: None })
        }
        (EntryMethod::Patch, _) => {
            let id = entry.id.unwrap_or_default();
            let document = PatchDocument::FhirPath(entry.resource.unwrap_or(Value::Null));
            let stored = patch(state, ctx, tx, (resource_type, &id), &document, entry.if_match).await?;
            Ok(EntryResult { status: StatusCode::OK, stored: Some(stored), other: None })
        }
        (EntryMethod::Get, _) => {
            read_entry(state, ctx, tx, (&entry.resource_type, entry.id, entry.version, entry.query), value_sets).await
        }
        _ => Err(ApiError::new(Code::InvalidRequest, "this entry could not be planned")),
    }
}

async fn read_entry(
    state: &AppState,
    ctx: &RequestContext,
    tx: &mut dyn Transaction,
    (resource_type, id, version, query): (&str, Option<String>, Option<u64>, Option<String>),
    value_sets: &fhir_search::ValueSetCodes,
) -> Result<EntryResult, ApiError> {
    let ok = |stored: StoredResource| EntryResult { status: StatusCode::OK, stored: Some(stored), other: None };
    match (id, version) {
        (Some(id), Some(version)) => {
            let stored = state.store.vread(ctx, resource_type, &id, version).await?;
            if stored.is_deleted() {
                return Err(ApiError::new(
                    Code::Deleted,
                    format!("{resource_type}/{id} version {version} is a deletion"),
                ));
            }
            Ok(ok(stored))
        }
        (Some(id), None) => match tx.current(resource_type, &id).await? {
            None => Err(ApiError::new(Code::NotFound, format!("{resource_type}/{id} was not found"))),
            Some(stored) if stored.is_deleted() => {
                Err(ApiError::new(Code::Deleted, format!("{resource_type}/{id} was deleted")))
            }
            Some(stored) => Ok(ok(stored)),
        },
        (None, _) => {
            let params = crate::params::parse_query(query.as_deref());
            // Expanded before the transaction (`Planner::expand_conditions`), like conditions.
            let options = state.search_options(false, value_sets);
            let parsed = fhir_search::parse_search(&state.registry(), resource_type, &params, options)?;
            let found = tx.search(&parsed.query).await?;
            let entries: Vec<(Value, Option<String>)> = found
                .into_iter()
                .map(|s| {
                    (
                        json!({"fullUrl": format!("{}/{}", s.resource_type, s.id), "search": {"mode": "match"}}),
                        s.body.map(|b| b.to_string()),
                    )
                })
                .collect();
            let text = crate::bundle::response_bundle(state.ids.new_id(), "searchset", entries);
            Ok(EntryResult { status: StatusCode::OK, stored: None, other: Some(text) })
        }
    }
}
