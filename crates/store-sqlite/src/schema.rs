//! The schema, as numbered migrations applied in order (expand/contract: a migration never
//! breaks the previous release's queries).
//!
//! Layout: `resource` has one row per logical resource (a stable surrogate `rid`, the current
//! version, whether it is deleted); `resource_version` keeps every version's JSON once; one
//! `search_*` table per search parameter type holds the index rows of the current version. Every
//! table carries `tenant`, the distribution column in a sharded deployment.

use rusqlite::Connection;
use store::StoreError;

use crate::connection::backend;

const MIGRATIONS: &[&str] = &[r"
CREATE TABLE resource (
    rid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    UNIQUE (tenant, type, id)
);
CREATE INDEX resource_type_updated ON resource (tenant, type, last_updated);
CREATE TABLE resource_version (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rid INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    method TEXT NOT NULL,
    body TEXT,
    UNIQUE (rid, version)
);
CREATE INDEX resource_version_type ON resource_version (tenant, type, seq);
CREATE INDEX resource_version_tenant ON resource_version (tenant, seq);
CREATE TABLE search_token (
    rid INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    param TEXT NOT NULL,
    system TEXT,
    code TEXT
);
CREATE INDEX search_token_value ON search_token (tenant, type, param, code, system, rid);
CREATE INDEX search_token_system ON search_token (tenant, type, param, system, rid);
CREATE INDEX search_token_rid ON search_token (rid);
"];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(backend)?;
    let applied: i64 = tx
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))
        .map_err(backend)?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        if version <= applied {
            continue;
        }
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute("INSERT INTO schema_migration (version, applied_at) VALUES (?1, datetime('now'))", [version])
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}
