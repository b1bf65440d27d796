//! Writing a version: the version row, the current pointer, and the index rows, in the caller's
//! transaction. The resource row is locked (`FOR UPDATE`) before the version is decided.

use std::sync::Arc;

use deadpool_postgres::ClientWrapper;
use store::{StoreError, StoredResource, Timestamp, WriteVersion};

use crate::connection::{backend, is_unique_violation, prepared};
use crate::value::{Value, typed};

/// At most this many rows go into one multi-row `INSERT` (PostgreSQL allows 65535 parameters).
const ROWS_PER_INSERT: usize = 1000;

pub(crate) async fn write_version(
    client: &ClientWrapper,
    tenant: &str,
    now: Timestamp,
    write: WriteVersion,
) -> Result<StoredResource, StoreError> {
    let conflict = || StoreError::VersionConflict {
        resource_type: write.resource_type.clone(),
        id: write.id.clone(),
        version: write.version,
    };
    let map = |error: tokio_postgres::Error| if is_unique_violation(&error) { conflict() } else { backend(error) };
    let version = i64::try_from(write.version).map_err(|_| conflict())?;
    let lock =
        prepared(client, "SELECT rid, version FROM resource WHERE tenant = $1 AND type = $2 AND id = $3 FOR UPDATE")
            .await?;
    let existing = client.query_opt(&lock, &[&tenant, &write.resource_type, &write.id]).await.map_err(backend)?;
    let deleted = i64::from(write.body.is_none());
    let rid: i64 = match existing {
        Some(row) => {
            let (rid, current): (i64, i64) = (row.try_get(0).map_err(backend)?, row.try_get(1).map_err(backend)?);
            if current >= version {
                return Err(conflict());
            }
            let update =
                prepared(client, "UPDATE resource SET version = $2, last_updated = $3, deleted = $4 WHERE rid = $1")
                    .await?;
            client.execute(&update, &[&rid, &version, &now.micros(), &deleted]).await.map_err(backend)?;
            clear_index(client, rid).await?;
            rid
        }
        None => client
            .query_one(
                &prepared(
                    client,
                    "INSERT INTO resource (tenant, type, id, version, last_updated, deleted) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING rid",
                )
                .await?,
                &[&tenant, &write.resource_type, &write.id, &version, &now.micros(), &deleted],
            )
            .await
            .map_err(map)?
            .try_get(0)
            .map_err(backend)?,
    };
    let insert_version = prepared(
        client,
        "INSERT INTO resource_version (rid, tenant, type, id, version, last_updated, method, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .await?;
    client
        .execute(
            &insert_version,
            &[
                &rid,
                &tenant,
                &write.resource_type,
                &write.id,
                &version,
                &now.micros(),
                &write.method.as_str(),
                &write.body,
            ],
        )
        .await
        .map_err(map)?;
    insert_index(client, tenant, rid, &write).await?;
    Ok(StoredResource {
        resource_type: write.resource_type,
        id: write.id,
        version: write.version,
        last_updated: now,
        method: write.method,
        body: write.body.map(Arc::from),
    })
}

/// Rewrites the index rows of `resource_type/id` if its current version is `version`.
pub(crate) async fn reindex(
    client: &ClientWrapper,
    tenant: &str,
    resource_type: &str,
    id: &str,
    version: u64,
    index: fhir_search::IndexEntries,
) -> Result<bool, StoreError> {
    let lock = prepared(
        client,
        "SELECT rid, version, deleted FROM resource WHERE tenant = $1 AND type = $2 AND id = $3 FOR UPDATE",
    )
    .await?;
    let row = client.query_opt(&lock, &[&tenant, &resource_type, &id]).await.map_err(backend)?;
    let Some(row) = row else { return Ok(false) };
    let (rid, current, deleted): (i64, i64, i64) =
        (row.try_get(0).map_err(backend)?, row.try_get(1).map_err(backend)?, row.try_get(2).map_err(backend)?);
    if deleted != 0 || u64::try_from(current).ok() != Some(version) {
        return Ok(false);
    }
    let write = WriteVersion {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
        version,
        method: store::Method::Put,
        body: None,
        index,
    };
    clear_index(client, rid).await?;
    insert_index(client, tenant, rid, &write).await?;
    Ok(true)
}

/// Deletes every index row of `rid` in one statement.
async fn clear_index(client: &ClientWrapper, rid: i64) -> Result<(), StoreError> {
    let clear = prepared(
        client,
        "WITH t AS (DELETE FROM search_token WHERE rid = $1), s AS (DELETE FROM search_string WHERE rid = $1), \
             d AS (DELETE FROM search_date WHERE rid = $1), e AS (DELETE FROM search_date_envelope WHERE rid = $1), \
             n AS (DELETE FROM search_number WHERE rid = $1), \
             q AS (DELETE FROM search_quantity WHERE rid = $1), r AS (DELETE FROM search_reference WHERE rid = $1), \
             u AS (DELETE FROM search_uri WHERE rid = $1) DELETE FROM search_composite WHERE rid = $1",
    )
    .await?;
    client.execute(&clear, &[&rid]).await.map_err(backend)?;
    Ok(())
}

async fn insert_index(client: &ClientWrapper, tenant: &str, rid: i64, write: &WriteVersion) -> Result<(), StoreError> {
    let index = &write.index;
    let head = || vec![Value::Int(rid), Value::Text(tenant.to_owned()), Value::Text(write.resource_type.clone())];
    let row = |tail: Vec<Value>| {
        let mut row = head();
        row.extend(tail);
        row
    };
    let text = |t: &str| Value::Text(t.to_owned());
    let tokens = index.tokens.iter().map(|t| {
        let normalized = t.text.as_deref().map(fhir_search::normalize);
        row(vec![text(&t.param), t.system.clone().into(), t.code.clone().into(), normalized.into()])
    });
    insert(client, "search_token", &["param", "system", "code", "text"], tokens.collect()).await?;
    let strings = index.strings.iter().map(|s| row(vec![text(&s.param), text(&s.normalized), text(&s.exact)]));
    insert(client, "search_string", &["param", "normalized", "exact"], strings.collect()).await?;
    let dates = index.dates.iter().map(|d| row(vec![text(&d.param), Value::Int(d.low), Value::Int(d.high)]));
    insert(client, "search_date", &["param", "low", "high"], dates.collect()).await?;
    let envelopes = fhir_search::envelopes(&index.dates).into_iter().map(|e| {
        row(vec![Value::Text(e.param), Value::Int(e.low), Value::Int(e.high), Value::Int(e.span_class.into())])
    });
    insert(client, "search_date_envelope", &["param", "low", "high", "span"], envelopes.collect()).await?;
    let numbers = index
        .numbers
        .iter()
        .map(|n| row(vec![text(&n.param), Value::Real(n.value), Value::Real(n.low), Value::Real(n.high)]));
    insert(client, "search_number", &["param", "value", "low", "high"], numbers.collect()).await?;
    let quantities = index.quantities.iter().map(|q| {
        let (system, code) = (q.system.clone().into(), q.code.clone().into());
        row(vec![text(&q.param), system, code, Value::Real(q.value), Value::Real(q.low), Value::Real(q.high)])
    });
    let columns = ["param", "system", "code", "value", "low", "high"];
    insert(client, "search_quantity", &columns, quantities.collect()).await?;
    let references = index.references.iter().map(|r| {
        row(vec![
            text(&r.param),
            r.target_type.clone().into(),
            r.target_id.clone().into(),
            r.url.clone().into(),
            r.identifier_system.clone().into(),
            r.identifier_value.clone().into(),
        ])
    });
    let columns = ["param", "target_type", "target_id", "url", "identifier_system", "identifier_value"];
    insert(client, "search_reference", &columns, references.collect()).await?;
    let uris = index.uris.iter().map(|u| row(vec![text(&u.param), text(&u.uri)]));
    insert(client, "search_uri", &["param", "uri"], uris.collect()).await?;
    let composites = index.composites.iter().map(|c| row(composite(c))).collect();
    let columns = [
        "param",
        "c0_system",
        "c0_code",
        "c1_system",
        "c1_code",
        "c1_value",
        "c1_low",
        "c1_high",
        "c1_text",
        "c2_value",
        "c2_low",
        "c2_high",
    ];
    insert(client, "search_composite", &columns, composites).await
}

/// Composite rows: component 0 is a token (or reference), component 1 any kind, component 2 a
/// number (the MolecularSequence coordinates). Returns the values from `param` on.
fn composite(entry: &fhir_search::CompositeEntry) -> Vec<Value> {
    use fhir_search::CompositeValue;
    let mut row = vec![
        Value::Text(entry.param.clone()),
        Value::NullText,
        Value::NullText,
        Value::NullText,
        Value::NullText,
        Value::NullReal,
        Value::NullReal,
        Value::NullReal,
        Value::NullText,
        Value::NullReal,
        Value::NullReal,
        Value::NullReal,
    ];
    for (index, part) in entry.parts.iter().enumerate() {
        let at = |slot: usize| match (index, slot) {
            (0, 0) => Some(1),
            (0, 1) => Some(2),
            (1, s) => Some(3 + s),
            (2, 2) => Some(9),
            (2, 3) => Some(10),
            (2, 4) => Some(11),
            _ => None,
        };
        let mut set = |slot: usize, value: Value| {
            if let Some(cell) = at(slot).and_then(|i| row.get_mut(i)) {
                *cell = value;
            }
        };
        match part {
            CompositeValue::Token { system, code } => {
                set(0, system.clone().into());
                set(1, code.clone().into());
            }
            CompositeValue::Number { system, code, value, low, high } => {
                set(0, system.clone().into());
                set(1, code.clone().into());
                set(2, Value::Real(*value));
                set(3, Value::Real(*low));
                set(4, Value::Real(*high));
            }
            #[expect(clippy::cast_precision_loss, reason = "microsecond instants fit a double's 53-bit mantissa")]
            CompositeValue::Date { low, high } => {
                set(3, Value::Real(*low as f64));
                set(4, Value::Real(*high as f64));
            }
            CompositeValue::String { normalized } => set(5, Value::Text(normalized.clone())),
        }
    }
    row
}

/// Multi-row inserts of `(rid, tenant, type, columns…)`.
async fn insert(
    client: &ClientWrapper,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::new();
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let mut cells = Vec::with_capacity(row.len());
            for value in row {
                cells.push(format!("${}::{}", values.len() + 1, value.cast()));
                values.push(value.clone());
            }
            tuples.push(format!("({})", cells.join(", ")));
        }
        let sql =
            format!("INSERT INTO {table} (rid, tenant, type, {}) VALUES {}", columns.join(", "), tuples.join(", "));
        client.execute_typed(&sql, &typed(&values)).await.map_err(backend)?;
    }
    Ok(())
}
