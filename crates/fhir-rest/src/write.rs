//! The write path shared by single interactions and bundle entries: checks, validation, `meta`,
//! index extraction, version choice, and the store write, all inside one `Transaction`.

use fhir_search::{IndexEntries, SearchOptions, ValueSetCodes, extract, parse_search};
use fhir_validate::IssueType;
use serde_json::{Map, Value, json};
use store::{Method, RequestContext, StoredResource, Transaction, WriteVersion};

use crate::error::{ApiError, Code};
use crate::outcome::OutcomeIssue;
use crate::params::parse_query;
use crate::state::AppState;

/// Unknown resource types answer 404: no such endpoint exists.
pub(crate) fn check_type(resource_type: &str) -> Result<(), ApiError> {
    if fhir_model::r4().is_resource_type(resource_type) {
        Ok(())
    } else {
        Err(ApiError::new(Code::UnknownResourceType, format!("'{resource_type}' is not a FHIR R4 resource type")))
    }
}

/// FHIR ids: `[A-Za-z0-9\-\.]{1,64}`.
pub(crate) fn check_id(id: &str) -> Result<(), ApiError> {
    let valid =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid { Ok(()) } else { Err(ApiError::new(Code::InvalidRequest, format!("'{id}' is not a valid FHIR id"))) }
}

/// Validates a resource headed for `resource_type`; every problem is reported at once.
pub(crate) fn validate(state: &AppState, resource_type: &str, resource: &Value) -> Result<(), ApiError> {
    let body_type = resource.get("resourceType").and_then(Value::as_str).unwrap_or("");
    if body_type != resource_type {
        return Err(ApiError::at(
            Code::InvalidResource,
            format!("resourceType '{body_type}' does not match the URL's '{resource_type}'"),
            "resourceType",
        ));
    }
    let issues: Vec<OutcomeIssue> = state
        .validator
        .validate(resource)
        .into_iter()
        .filter(|issue| issue.is_error())
        .map(|issue| OutcomeIssue::error(issue.code.as_str(), issue.message, Some(issue.expression)))
        .collect();
    if issues.is_empty() {
        return Ok(());
    }
    let only_invariants = issues.iter().all(|i| i.code == IssueType::Invariant.as_str());
    let code = if only_invariants { Code::ValidationFailed } else { Code::InvalidResource };
    Err(ApiError { code, issues })
}

/// A resource that passed validation, with its index rows: what the write needs besides the
/// body. Computed before the transaction starts where nothing in it depends on the database, so
/// the CPU-heavy part of a write never runs while the store's writer is held.
#[derive(Debug)]
pub(crate) struct Checked {
    index: IndexEntries,
}

/// Validates `resource` and extracts its search index rows.
pub(crate) fn check(state: &AppState, resource_type: &str, resource: &Value) -> Result<Checked, ApiError> {
    validate(state, resource_type, resource)?;
    Ok(Checked { index: extract(&state.registry(), resource) })
}

/// Puts `id` and `meta.versionId`/`meta.lastUpdated` into the resource, keeping FHIR's element
/// order (`resourceType`, `id`, `meta`, then the rest as sent), and serializes it.
pub(crate) fn finish(resource: Value, id: &str, version: u64, ctx: &RequestContext) -> String {
    let Value::Object(mut fields) = resource else { return String::new() };
    let mut meta = match fields.shift_remove("meta") {
        Some(Value::Object(meta)) => meta,
        _ => Map::new(),
    };
    meta.shift_remove("versionId");
    meta.shift_remove("lastUpdated");
    let mut ordered_meta = Map::new();
    ordered_meta.insert("versionId".into(), json!(version.to_string()));
    ordered_meta.insert("lastUpdated".into(), json!(ctx.now.to_fhir_instant()));
    ordered_meta.extend(meta);
    let resource_type = fields.shift_remove("resourceType").unwrap_or(Value::Null);
    fields.shift_remove("id");
    let mut out = Map::new();
    out.insert("resourceType".into(), resource_type);
    out.insert("id".into(), json!(id));
    out.insert("meta".into(), Value::Object(ordered_meta));
    out.extend(fields);
    serde_json::to_string(&Value::Object(out)).unwrap_or_default()
}

/// The first version of a new resource, ready for `Transaction::write_all`.
pub(crate) fn new_version(
    ctx: &RequestContext,
    (resource_type, id): (&str, &str),
    resource: Value,
    checked: Checked,
) -> WriteVersion {
    WriteVersion {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
        version: 1,
        method: Method::Post,
        body: Some(finish(resource, id, 1, ctx)),
        index: checked.index,
    }
}

/// Writes `resource` as version `version` of `resource_type/id`.
pub(crate) async fn write(
    ctx: &RequestContext,
    tx: &mut dyn Transaction,
    target: (&str, &str, u64),
    method: Method,
    resource: Value,
    checked: Checked,
) -> Result<StoredResource, ApiError> {
    let (resource_type, id, version) = target;
    let Checked { index } = checked;
    let body = finish(resource, id, version, ctx);
    let write = WriteVersion {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
        version,
        method,
        body: Some(body),
        index,
    };
    Ok(tx.write(write).await?)
}

/// `POST Type`: a new resource with the server-assigned `id` (any id in the body is ignored).
/// `checked` is the result of `check` when the caller ran it before the transaction.
pub(crate) async fn create(
    state: &AppState,
    ctx: &RequestContext,
    tx: &mut dyn Transaction,
    (resource_type, id): (&str, &str),
    resource: Value,
    checked: Option<Checked>,
) -> Result<StoredResource, ApiError> {
    let checked = match checked {
        Some(checked) => checked,
        None => check(state, resource_type, &resource)?,
    };
    write(ctx, tx, (resource_type, id, 1), Method::Post, resource, checked).await
}

/// The outcome of an update: the new version and whether it created the resource.
pub(crate) struct Updated {
    pub(crate) stored: StoredResource,
    pub(crate) created: bool,
}

/// `PUT Type/id`: update, or create with the client's id; `If-Match` checked against the
/// version read in the same transaction.
pub(crate) async fn update(
    state: &AppState,
    ctx: &RequestContext,
    tx: &mut dyn Transaction,
    (resource_type, id): (&str, &str),
    resource: Value,
    if_match: Option<u64>,
    checked: Option<Checked>,
) -> Result<Updated, ApiError> {
    check_id(id)?;
    let checked = match checked {
        Some(checked) => checked,
        None => check(state, resource_type, &resource)?,
    };
    match resource.get("id").and_then(Value::as_str) {
        Some(body_id) if body_id == id => {}
        Some(body_id) => {
            return Err(ApiError::at(
                Code::InvalidRequest,
                format!("resource id '{body_id}' does not match the URL id '{id}'"),
                "id",
            ));
        }
        None => {
            return Err(ApiError::at(Code::InvalidRequest, "an update must carry the resource id in the body", "id"));
        }
    }
    let current = tx.current(resource_type, id).await?;
    check_if_match(if_match, current.as_ref())?;
    let created = current.as_ref().is_none_or(StoredResource::is_deleted);
    let version = current.map_or(1, |c| c.version + 1);
    let stored = write(ctx, tx, (resource_type, id, version), Method::Put, resource, checked).await?;
    Ok(Updated { stored, created })
}

pub(crate) fn check_if_match(if_match: Option<u64>, current: Option<&StoredResource>) -> Result<(), ApiError> {
    let Some(expected) = if_match else { return Ok(()) };
    match current {
        Some(c) if !c.is_deleted() && c.version == expected => Ok(()),
        Some(c) => Err(ApiError::new(
            Code::VersionConflict,
            format!("If-Match expected version {expected} but the current version is {}", c.version),
        )),
        None => Err(ApiError::new(Code::PreconditionFailed, "If-Match given for a resource that does not exist")),
    }
}

/// `DELETE Type/id`: writes a deletion version; deleting what is absent or already deleted is a
/// no-op that still succeeds (`None`).
pub(crate) async fn delete(
    tx: &mut dyn Transaction,
    (resource_type, id): (&str, &str),
    if_match: Option<u64>,
) -> Result<Option<StoredResource>, ApiError> {
    let current = tx.current(resource_type, id).await?;
    check_if_match(if_match, current.as_ref())?;
    let Some(current) = current.filter(|c| !c.is_deleted()) else { return Ok(None) };
    let write = WriteVersion {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
        version: current.version + 1,
        method: Method::Delete,
        body: None,
        index: fhir_search::IndexEntries::default(),
    };
    Ok(Some(tx.write(write).await?))
}

/// Resources matching a conditional URL's query (`identifier=x|1`), at most two: enough to tell
/// none, one, and several apart.
pub(crate) async fn conditional_matches(
    state: &AppState,
    tx: &mut dyn Transaction,
    resource_type: &str,
    query: &str,
    value_sets: &ValueSetCodes,
) -> Result<Vec<StoredResource>, ApiError> {
    let query = conditional_query(state, resource_type, query, value_sets)?;
    Ok(tx.search(&query).await?)
}

/// The search a conditional operation runs: at most two matches (one is the answer, two an
/// error), unsorted.
///
/// `value_sets` holds the expansions its `:in`/`:not-in`/`:below`/`:above` name, made before
/// the transaction began (`value_sets::expand_conditions`): reading them inside would hold
/// the transaction's connection while waiting for a second one, and enough such requests at
/// once would wait on each other until the pool's timeout.
pub(crate) fn conditional_query(
    state: &AppState,
    resource_type: &str,
    query: &str,
    value_sets: &ValueSetCodes,
) -> Result<fhir_search::SearchQuery, ApiError> {
    let params = parse_query(Some(query));
    if params.is_empty() {
        return Err(ApiError::new(Code::InvalidRequest, "a conditional operation needs search criteria"));
    }
    let options = SearchOptions { lenient: false, default_count: 2, max_count: 2, value_sets };
    let mut parsed = parse_search(&state.registry(), resource_type, &params, options)?;
    parsed.query.count = 2;
    parsed.query.sort.clear();
    Ok(parsed.query)
}

/// A patch document: RFC 6902 JSON Patch or FHIRPath Patch (a `Parameters` resource).
pub(crate) enum PatchDocument {
    Json(Vec<u8>),
    FhirPath(Value),
}

/// `PATCH Type/id`: applies the patch to the current version read in this transaction, checks
/// `If-Match`, validates the result like any update, and writes the next version.
pub(crate) async fn patch(
    state: &AppState,
    ctx: &RequestContext,
    tx: &mut dyn Transaction,
    (resource_type, id): (&str, &str),
    document: &PatchDocument,
    if_match: Option<u64>,
) -> Result<StoredResource, ApiError> {
    check_id(id)?;
    let current = tx.current(resource_type, id).await?;
    check_if_match(if_match, current.as_ref())?;
    let Some(current) = current else {
        return Err(ApiError::new(Code::NotFound, format!("{resource_type}/{id} was not found")));
    };
    let Some(text) = current.body.as_deref() else {
        return Err(ApiError::new(Code::Deleted, format!("{resource_type}/{id} was deleted")));
    };
    let patched = match document {
        PatchDocument::Json(bytes) => apply_json_patch(text, bytes)?,
        PatchDocument::FhirPath(parameters) => apply_fhirpath_patch(text, parameters)?,
    };
    if patched.get("id").and_then(Value::as_str) != Some(id) {
        return Err(ApiError::at(Code::ValidationFailed, "a patch may not change the resource id", "id"));
    }
    let checked = check(state, resource_type, &patched)?;
    write(ctx, tx, (resource_type, id, current.version + 1), Method::Patch, patched, checked).await
}

fn apply_fhirpath_patch(current: &str, parameters: &Value) -> Result<Value, ApiError> {
    if parameters.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(ApiError::at(
            Code::InvalidRequest,
            "a FHIRPath Patch body is a Parameters resource",
            "resourceType",
        ));
    }
    let resource: Value = serde_json::from_str(current)
        .map_err(|_| ApiError::new(Code::Internal, "stored resource could not be read"))?;
    fhirpath::apply_fhirpath_patch(&resource, parameters).map_err(|error| match error {
        fhirpath::PatchError::Invalid(message) => {
            ApiError::new(Code::InvalidRequest, format!("invalid FHIRPath Patch: {message}"))
        }
        other => ApiError::new(Code::ValidationFailed, format!("the patch could not be applied: {other}")),
    })
}

/// Applies an RFC 6902 JSON Patch to the current version; the result must keep its type and id.
pub(crate) fn apply_json_patch(current: &str, patch_bytes: &[u8]) -> Result<Value, ApiError> {
    let mut resource: Value = serde_json::from_str(current)
        .map_err(|_| ApiError::new(Code::Internal, "stored resource could not be read"))?;
    let patch: json_patch::Patch = serde_json::from_slice(patch_bytes)
        .map_err(|error| ApiError::new(Code::InvalidRequest, format!("body is not a JSON Patch document: {error}")))?;
    json_patch::patch(&mut resource, &patch)
        .map_err(|error| ApiError::new(Code::ValidationFailed, format!("the patch could not be applied: {error}")))?;
    Ok(resource)
}

#[cfg(test)]
mod tests;
