//! The schema, as numbered migrations applied in order (expand/contract: a migration never
//! breaks the previous release's queries). Nodes starting together are safe: migrations run in
//! one transaction holding `pg_advisory_xact_lock(MIGRATION_LOCK)`.
//!
//! Layout (as in store-sqlite, `docs/decisions/0002-storage-layout.md`): `resource` has one row per
//! logical resource (a stable surrogate `rid`, the current version, whether it is deleted);
//! `resource_version` keeps every version's JSON text once (`TEXT`, never `jsonb`: bytes are
//! served exactly as stored); one `search_*` table per search parameter type holds the index rows
//! of the current version. Every table carries `tenant`: it is the Citus distribution column
//! (`SELECT create_distributed_table('resource', 'tenant')`, and likewise for every table, co-located).
//! Text columns are `COLLATE "C"`: ordering and prefix ranges compare bytes, as SQLite does.

use deadpool_postgres::Object;
use store::StoreError;

use crate::connection::backend;

/// The advisory lock key serializing migrations ("hestia" in ASCII).
const MIGRATION_LOCK: i64 = 0x6865_7374_6961;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE resource (
    rid BIGSERIAL PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    UNIQUE (tenant, type, id)
);
CREATE INDEX resource_type_updated ON resource (tenant, type, last_updated);
CREATE TABLE resource_version (
    seq BIGSERIAL PRIMARY KEY,
    rid BIGINT NOT NULL,
    tenant TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    method TEXT COLLATE "C" NOT NULL,
    body TEXT,
    UNIQUE (rid, version)
);
CREATE INDEX resource_version_type ON resource_version (tenant, type, seq);
CREATE INDEX resource_version_tenant ON resource_version (tenant, seq);
CREATE TABLE search_token (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, system TEXT COLLATE "C", code TEXT COLLATE "C", text TEXT COLLATE "C"
);
CREATE INDEX search_token_value ON search_token (tenant, type, param, code, system, rid);
CREATE INDEX search_token_system ON search_token (tenant, type, param, system, rid);
CREATE INDEX search_token_rid ON search_token (rid);
CREATE TABLE search_string (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, normalized TEXT COLLATE "C" NOT NULL, exact TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_string_value ON search_string (tenant, type, param, normalized, rid);
CREATE INDEX search_string_rid ON search_string (rid);
CREATE TABLE search_date (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, low BIGINT NOT NULL, high BIGINT NOT NULL
);
CREATE INDEX search_date_value ON search_date (tenant, type, param, low, high, rid);
CREATE INDEX search_date_rid ON search_date (rid);
CREATE TABLE search_number (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    value DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL
);
CREATE INDEX search_number_value ON search_number (tenant, type, param, value, rid);
CREATE INDEX search_number_rid ON search_number (rid);
CREATE TABLE search_quantity (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, system TEXT COLLATE "C", code TEXT COLLATE "C",
    value DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL
);
CREATE INDEX search_quantity_value ON search_quantity (tenant, type, param, code, value, rid);
CREATE INDEX search_quantity_rid ON search_quantity (rid);
CREATE TABLE search_reference (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, target_type TEXT COLLATE "C", target_id TEXT COLLATE "C",
    url TEXT COLLATE "C", identifier_system TEXT COLLATE "C", identifier_value TEXT COLLATE "C"
);
CREATE INDEX search_reference_value ON search_reference (tenant, type, param, target_id, target_type, rid);
CREATE INDEX search_reference_target ON search_reference (tenant, target_type, target_id, type, param, rid);
CREATE INDEX search_reference_url ON search_reference (tenant, type, param, url, rid);
CREATE INDEX search_reference_rid ON search_reference (rid);
CREATE TABLE search_uri (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, uri TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_uri_value ON search_uri (tenant, type, param, uri, rid);
CREATE INDEX search_uri_rid ON search_uri (rid);
CREATE TABLE search_composite (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    c0_system TEXT COLLATE "C", c0_code TEXT COLLATE "C",
    c1_system TEXT COLLATE "C", c1_code TEXT COLLATE "C", c1_value DOUBLE PRECISION, c1_low DOUBLE PRECISION,
    c1_high DOUBLE PRECISION, c1_text TEXT COLLATE "C",
    c2_value DOUBLE PRECISION, c2_low DOUBLE PRECISION, c2_high DOUBLE PRECISION
);
CREATE INDEX search_composite_value ON search_composite (tenant, type, param, c0_code, c1_code, rid);
CREATE INDEX search_composite_rid ON search_composite (rid);
"#,
    // Searches without _sort page in rid order: walk this index and stop at the page size.
    r#"CREATE INDEX resource_type_rid ON resource (tenant, type, deleted, rid);"#,
    // Date envelopes (`fhir_search::window`), as in store-sqlite; the CASE restates
    // `fhir_search::span_class` for rows written before this migration.
    r#"
CREATE TABLE search_date_envelope (
    rid BIGINT NOT NULL, tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL, low BIGINT NOT NULL, high BIGINT NOT NULL, span BIGINT NOT NULL
);
CREATE INDEX search_date_envelope_window ON search_date_envelope (tenant, type, param, span, low, high, rid);
CREATE INDEX search_date_envelope_rid ON search_date_envelope (rid, param, low, high);
INSERT INTO search_date_envelope (rid, tenant, type, param, low, high, span)
SELECT rid, tenant, type, param, lo, hi,
    CASE WHEN hi::numeric - lo::numeric <= 86400000000 THEN 0
         WHEN hi::numeric - lo::numeric <= 2764800000000 THEN 1
         WHEN hi::numeric - lo::numeric <= 31708800000000 THEN 2
         ELSE 3 END
FROM (SELECT rid, tenant, type, param, MIN(LEAST(low, high)) AS lo, MAX(GREATEST(low, high)) AS hi
      FROM search_date GROUP BY rid, tenant, type, param) envelopes;
"#,
    // A covering index from a resource to its references by parameter: the page's `_include`s
    // and a `_has` driven from its sources read the target from the index alone. It replaces
    // the plain `rid` index, its prefix.
    r#"
CREATE INDEX IF NOT EXISTS search_reference_rid_param ON search_reference (rid, param, target_type, target_id);
DROP INDEX IF EXISTS search_reference_rid;
"#,
    // Only absolute references have a `url` (a relative one is a type and an id): indexing the
    // NULLs cost every reference an index entry that no search can use (`s.url = ?` implies
    // `url IS NOT NULL`, so the partial index still serves URL searches).
    r#"
DROP INDEX IF EXISTS search_reference_url;
CREATE INDEX search_reference_url ON search_reference (tenant, type, param, url, rid) WHERE url IS NOT NULL;
"#,
    // Likewise the token system index, which serves only `system|` and `system|code` (both
    // imply `system IS NOT NULL`): codes and statuses without a system are four in ten tokens.
    r#"
DROP INDEX IF EXISTS search_token_system;
CREATE INDEX search_token_system ON search_token (tenant, type, param, system, rid) WHERE system IS NOT NULL;
"#,
];

/// The schema version this build writes: the number of migrations.
pub(crate) fn current_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The schema version of the connected database: `None` without any Hestia schema.
pub(crate) async fn version_of(client: &tokio_postgres::Client) -> Result<Option<i64>, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migration') IS NOT NULL", &[])
        .await
        .map_err(backend)?
        .try_get(0)
        .map_err(backend)?;
    if !exists {
        return Ok(None);
    }
    let row = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migration", &[]).await.map_err(backend)?;
    Ok(Some(row.try_get(0).map_err(backend)?))
}

/// A read replica is never migrated (it is read-only; its schema arrives by replication from the
/// primary), so it must already carry at least this build's schema. `server` names it in the
/// error (host, port and database only).
pub(crate) async fn check_replica(client: &Object, server: &str) -> Result<(), StoreError> {
    match version_of(client).await? {
        None => Err(StoreError::Backend(format!(
            "the read replica {server} has no Hestia schema (no schema_migration table): point it at a replica of \
             the primary, which creates the schema on start"
        ))),
        Some(version) if version < current_version() => Err(StoreError::Backend(format!(
            "the read replica {server} has schema version {version}, this Hestia needs {}: let replication catch up \
             with the primary",
            current_version()
        ))),
        Some(_) => Ok(()),
    }
}

pub(crate) async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    client.batch_execute("BEGIN").await.map_err(backend)?;
    let result = apply_up_to(client, current_version()).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = client.batch_execute(end).await.map_err(backend);
    result.and(ended)
}

/// Takes the migration lock until the caller's transaction ends (re-entrant within it).
pub(crate) async fn lock(client: &tokio_postgres::Client) -> Result<(), StoreError> {
    client.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(backend)?;
    Ok(())
}

/// Applies the migrations up to version `target` inside the caller's transaction, holding the
/// migration lock until it ends.
pub(crate) async fn apply_up_to(client: &tokio_postgres::Client, target: i64) -> Result<(), StoreError> {
    lock(client).await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .await
        .map_err(backend)?;
    let row = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migration", &[]).await.map_err(backend)?;
    let applied: i64 = row.try_get(0).map_err(backend)?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        if version <= applied || version > target {
            continue;
        }
        client.batch_execute(sql).await.map_err(backend)?;
        client
            .execute("INSERT INTO schema_migration (version, applied_at) VALUES ($1, now())", &[&version])
            .await
            .map_err(backend)?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(())
}
