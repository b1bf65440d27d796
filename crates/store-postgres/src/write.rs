//! Writing versions: the current pointers, the version rows and the index rows, in the caller's
//! transaction. Any number of versions costs a fixed number of round trips, whatever the
//! bundle's size: lock the existing rows (skipped when every version is a first one), insert or
//! update the pointers, then clear the old index rows, insert the versions and insert the index
//! rows, pipelined. Existing resource rows are locked (`FOR UPDATE`) before a version is decided.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::ClientWrapper;
use store::{StoreError, StoredResource, Timestamp, WriteVersion};

use crate::connection::{backend, is_unique_violation, prepared};
use crate::index_rows::IndexRows;

fn conflict(write: &WriteVersion) -> StoreError {
    StoreError::VersionConflict {
        resource_type: write.resource_type.clone(),
        id: write.id.clone(),
        version: write.version,
    }
}

/// Resource rows this transaction holds locked (`FOR UPDATE`), by `(type, id)`: their `rid` and
/// current version. A row locked stays locked until the transaction ends and only this
/// transaction can change it, so a write to it needs no second lock and lookup.
pub(crate) type LockedRows = HashMap<(String, String), (i64, i64)>;

/// Writes `writes` in order, as `Transaction::write` would one by one, and records the rows it
/// wrote (locked by the write) in `locked`.
pub(crate) async fn write_versions(
    client: &ClientWrapper,
    tenant: &str,
    now: Timestamp,
    writes: Vec<WriteVersion>,
    locked: &mut LockedRows,
) -> Result<Vec<StoredResource>, StoreError> {
    let mut names = HashSet::new();
    if writes.iter().all(|w| names.insert((w.resource_type.as_str(), w.id.as_str()))) {
        return write_distinct(client, tenant, now, writes, locked).await;
    }
    // One resource twice: each version must see the one before it.
    let mut stored = Vec::with_capacity(writes.len());
    for write in writes {
        stored.extend(write_distinct(client, tenant, now, vec![write], locked).await?);
    }
    Ok(stored)
}

/// `write_versions` for versions of distinct resources.
async fn write_distinct(
    client: &ClientWrapper,
    tenant: &str,
    now: Timestamp,
    writes: Vec<WriteVersion>,
    locked: &mut LockedRows,
) -> Result<Vec<StoredResource>, StoreError> {
    let Some(first) = writes.first() else { return Ok(Vec::new()) };
    let types: Vec<&str> = writes.iter().map(|w| w.resource_type.as_str()).collect();
    let ids: Vec<&str> = writes.iter().map(|w| w.id.as_str()).collect();
    let key = |w: &WriteVersion| (w.resource_type.clone(), w.id.clone());
    let mut existing: LockedRows = writes.iter().filter_map(|w| Some((key(w), *locked.get(&key(w))?))).collect();
    // First versions need no lookup (see `WriteVersion::is_first`), nor do rows already locked.
    if !writes.iter().all(|w| w.is_first() || existing.contains_key(&key(w))) {
        let lock = prepared(
            client,
            "SELECT r.type, r.id, r.rid, r.version FROM resource r \
             JOIN unnest($2::text[], $3::text[]) AS u(type, id) ON r.type = u.type AND r.id = u.id \
             WHERE r.tenant = $1 ORDER BY r.rid FOR UPDATE OF r",
        )
        .await?;
        for row in client.query(&lock, &[&tenant, &types, &ids]).await.map_err(backend)? {
            let name = (row.try_get(0).map_err(backend)?, row.try_get(1).map_err(backend)?);
            existing.insert(name, (row.try_get(2).map_err(backend)?, row.try_get(3).map_err(backend)?));
        }
    }
    // Each write's current row (`rid`, version), if its resource exists.
    let current: Vec<Option<(i64, i64)>> =
        writes.iter().map(|w| existing.get(&(w.resource_type.clone(), w.id.clone())).copied()).collect();
    let mut versions = Vec::with_capacity(writes.len());
    for (write, current) in writes.iter().zip(&current) {
        let version = i64::try_from(write.version).map_err(|_| conflict(write))?;
        if current.is_some_and(|(_, current)| current >= version) {
            return Err(conflict(write));
        }
        versions.push(version);
    }
    let deleted: Vec<i64> = writes.iter().map(|w| i64::from(w.body.is_none())).collect();
    let current_rids: Vec<Option<i64>> = current.iter().map(|c| c.map(|(rid, _)| rid)).collect();
    let rids = pointers(client, tenant, now, (&writes, &versions, &deleted), &current_rids)
        .await
        .map_err(|e| if is_unique_violation(&e) { conflict(first) } else { backend(e) })?
        .into_iter()
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| StoreError::Backend("a written resource has no row".to_owned()))?;

    // The rest depends only on the rids: clear the old index rows, insert the versions, insert
    // the new index rows. The statements are prepared first (one prepared on first use would be
    // sent ahead of executions queued before it); then the three executions go out together,
    // pipelined on the connection, which runs them in the order sent.
    let updated: Vec<i64> = current_rids.iter().flatten().copied().collect();
    let clear = if updated.is_empty() { None } else { Some(prepared(client, CLEAR_INDEX).await?) };
    let insert_versions = prepared(
        client,
        "INSERT INTO resource_version (rid, tenant, type, id, version, last_updated, method, body) \
         SELECT u.rid, $1, u.type, u.id, u.version, $2, u.method, u.body \
         FROM unnest($3::int8[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[]) \
         AS u(rid, type, id, version, method, body)",
    )
    .await?;
    let insert_index = IndexRows::statement(client).await?;
    let methods: Vec<&str> = writes.iter().map(|w| w.method.as_str()).collect();
    let bodies: Vec<Option<&str>> = writes.iter().map(|w| w.body.as_deref()).collect();
    let mut index = IndexRows::new();
    for (write, rid) in writes.iter().zip(&rids) {
        index.add(*rid, write);
    }
    let micros = now.micros();
    let version_params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
        [&tenant, &micros, &rids, &types, &ids, &versions, &methods, &bodies];
    let (cleared, versioned, indexed) = tokio::join!(
        async {
            match &clear {
                Some(clear) => client.execute(clear, &[&updated]).await.map(drop),
                None => Ok(()),
            }
        },
        client.execute(&insert_versions, &version_params),
        index.execute(client, &insert_index, tenant),
    );
    // The first failure is the cause; the statements after it failed because it aborted the
    // transaction.
    cleared.map_err(backend)?;
    versioned.map_err(|e| if is_unique_violation(&e) { conflict(first) } else { backend(e) })?;
    indexed.map_err(backend)?;
    for ((write, rid), version) in writes.iter().zip(&rids).zip(&versions) {
        locked.insert(key(write), (*rid, *version));
    }
    Ok(writes.into_iter().map(|write| write.stored(now)).collect())
}

/// Points each resource at its new version: updates the rows of the writes with a current `rid`,
/// inserts the rest. Returns every write's `rid`, in order (`None` would mean a row went missing).
async fn pointers(
    client: &ClientWrapper,
    tenant: &str,
    now: Timestamp,
    (writes, versions, deleted): (&[WriteVersion], &[i64], &[i64]),
    current_rids: &[Option<i64>],
) -> Result<Vec<Option<i64>>, tokio_postgres::Error> {
    let mut new = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut old = (Vec::new(), Vec::new(), Vec::new());
    for (((write, version), deleted), current) in writes.iter().zip(versions).zip(deleted).zip(current_rids) {
        match current {
            Some(rid) => {
                old.0.push(*rid);
                old.1.push(*version);
                old.2.push(*deleted);
            }
            None => {
                new.0.push(write.resource_type.as_str());
                new.1.push(write.id.as_str());
                new.2.push(*version);
                new.3.push(*deleted);
            }
        }
    }
    let mut created: HashMap<(String, String), i64> = HashMap::new();
    if !new.0.is_empty() {
        let insert = client
            .prepare_cached(
                "INSERT INTO resource (tenant, type, id, version, last_updated, deleted) \
                 SELECT $1, u.type, u.id, u.version, $2, u.deleted \
                 FROM unnest($3::text[], $4::text[], $5::int8[], $6::int8[]) AS u(type, id, version, deleted) \
                 RETURNING type, id, rid",
            )
            .await?;
        for row in client.query(&insert, &[&tenant, &now.micros(), &new.0, &new.1, &new.2, &new.3]).await? {
            created.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
    }
    if !old.0.is_empty() {
        let update = client
            .prepare_cached(
                "UPDATE resource r SET version = u.version, last_updated = $1, deleted = u.deleted \
                 FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS u(rid, version, deleted) WHERE r.rid = u.rid",
            )
            .await?;
        client.execute(&update, &[&now.micros(), &old.0, &old.1, &old.2]).await?;
    }
    Ok(writes
        .iter()
        .zip(current_rids)
        .map(|(w, current)| current.or_else(|| created.get(&(w.resource_type.clone(), w.id.clone())).copied()))
        .collect())
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
    clear_index(client, &[rid]).await?;
    let mut rows = IndexRows::new();
    rows.add(rid, &write);
    rows.insert(client, tenant).await?;
    Ok(true)
}

/// Deletes every index row of the `rids` in `$1`, in one statement.
const CLEAR_INDEX: &str = "WITH t AS (DELETE FROM search_token WHERE rid = ANY($1)), s AS (DELETE FROM search_string WHERE rid = ANY($1)), \
             d AS (DELETE FROM search_date WHERE rid = ANY($1)), \
             e AS (DELETE FROM search_date_envelope WHERE rid = ANY($1)), \
             n AS (DELETE FROM search_number WHERE rid = ANY($1)), \
             q AS (DELETE FROM search_quantity WHERE rid = ANY($1)), \
             r AS (DELETE FROM search_reference WHERE rid = ANY($1)), \
             u AS (DELETE FROM search_uri WHERE rid = ANY($1)) DELETE FROM search_composite WHERE rid = ANY($1)";

async fn clear_index(client: &ClientWrapper, rids: &[i64]) -> Result<(), StoreError> {
    let clear = prepared(client, CLEAR_INDEX).await?;
    client.execute(&clear, &[&rids]).await.map_err(backend)?;
    Ok(())
}
