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

const MIGRATIONS: &[&str] = &[
    r"
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
",
    r"
ALTER TABLE search_token ADD COLUMN text TEXT;
CREATE TABLE search_string (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    normalized TEXT NOT NULL, exact TEXT NOT NULL
);
CREATE INDEX search_string_value ON search_string (tenant, type, param, normalized, rid);
CREATE INDEX search_string_rid ON search_string (rid);
CREATE TABLE search_date (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    low INTEGER NOT NULL, high INTEGER NOT NULL
);
CREATE INDEX search_date_value ON search_date (tenant, type, param, low, high, rid);
CREATE INDEX search_date_rid ON search_date (rid);
CREATE TABLE search_number (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL
);
CREATE INDEX search_number_value ON search_number (tenant, type, param, value, rid);
CREATE INDEX search_number_rid ON search_number (rid);
CREATE TABLE search_quantity (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    system TEXT, code TEXT, value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL
);
CREATE INDEX search_quantity_value ON search_quantity (tenant, type, param, code, value, rid);
CREATE INDEX search_quantity_rid ON search_quantity (rid);
CREATE TABLE search_reference (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    target_type TEXT, target_id TEXT, url TEXT, identifier_system TEXT, identifier_value TEXT
);
CREATE INDEX search_reference_value ON search_reference (tenant, type, param, target_id, target_type, rid);
CREATE INDEX search_reference_target ON search_reference (tenant, target_type, target_id, type, param, rid);
CREATE INDEX search_reference_url ON search_reference (tenant, type, param, url, rid);
CREATE INDEX search_reference_rid ON search_reference (rid);
CREATE TABLE search_uri (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL, uri TEXT NOT NULL
);
CREATE INDEX search_uri_value ON search_uri (tenant, type, param, uri, rid);
CREATE INDEX search_uri_rid ON search_uri (rid);
",
    r"
CREATE TABLE search_composite (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    c0_system TEXT, c0_code TEXT,
    c1_system TEXT, c1_code TEXT, c1_value REAL, c1_low REAL, c1_high REAL, c1_text TEXT,
    c2_value REAL, c2_low REAL, c2_high REAL
);
CREATE INDEX search_composite_value ON search_composite (tenant, type, param, c0_code, c1_code, rid);
CREATE INDEX search_composite_rid ON search_composite (rid);
",
    // Searches without _sort page in rid order: walk this index and stop at the page size
    // instead of sorting every resource of the type.
    r"
CREATE INDEX resource_type_rid ON resource (tenant, type, deleted, rid);
",
    // Date envelopes (`fhir_search::window`): one row per resource and date parameter, found by
    // span class and a closed range of `low`. The CASE restates `fhir_search::span_class` for
    // the rows written before this migration.
    r"
CREATE TABLE search_date_envelope (
    rid INTEGER NOT NULL, tenant TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
    low INTEGER NOT NULL, high INTEGER NOT NULL, span INTEGER NOT NULL
);
CREATE INDEX search_date_envelope_window ON search_date_envelope (tenant, type, param, span, low, high, rid);
CREATE INDEX search_date_envelope_rid ON search_date_envelope (rid, param, low, high);
INSERT INTO search_date_envelope (rid, tenant, type, param, low, high, span)
SELECT rid, tenant, type, param, lo, hi,
    CASE WHEN lo = -9223372036854775808 OR hi = 9223372036854775807 THEN 3
         WHEN hi - lo <= 86400000000 THEN 0
         WHEN hi - lo <= 2764800000000 THEN 1
         WHEN hi - lo <= 31708800000000 THEN 2
         ELSE 3 END
FROM (SELECT rid, tenant, type, param, MIN(min(low, high)) AS lo, MAX(max(low, high)) AS hi
      FROM search_date GROUP BY rid, tenant, type, param);
",
    // A covering index from a resource to its references by parameter: the page's `_include`s
    // and a `_has` driven from its sources read the target from the index alone. It replaces
    // the plain `rid` index, its prefix.
    r"
CREATE INDEX IF NOT EXISTS search_reference_rid_param ON search_reference (rid, param, target_type, target_id);
DROP INDEX IF EXISTS search_reference_rid;
",
    // Only absolute references have a `url` (a relative one is a type and an id): indexing the
    // NULLs cost every reference an index entry that no search can use (`s.url = ?` implies
    // `url IS NOT NULL`, so the partial index still serves URL searches).
    r"
DROP INDEX IF EXISTS search_reference_url;
CREATE INDEX search_reference_url ON search_reference (tenant, type, param, url, rid) WHERE url IS NOT NULL;
",
    // Likewise the token system index, which serves only `system|` and `system|code` (both
    // imply `system IS NOT NULL`): codes and statuses without a system are four in ten tokens.
    r"
DROP INDEX IF EXISTS search_token_system;
CREATE INDEX search_token_system ON search_token (tenant, type, param, system, rid) WHERE system IS NOT NULL;
",
];

/// The schema version this build writes: the number of migrations.
pub(crate) fn current_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies the first `target` migrations that are not applied yet.
fn migrate_to(conn: &mut Connection, target: usize) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(backend)?;
    let applied: i64 = tx
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))
        .map_err(backend)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().take(target) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The envelope migration fills the table for rows written before it, with the same
    /// envelopes and span classes the writer computes now.
    #[test]
    fn the_envelope_migration_agrees_with_the_writer() -> Result<(), Box<dyn std::error::Error>> {
        const DAY: i64 = 86_400_000_000;
        let mut conn = Connection::open_in_memory()?;
        migrate_to(&mut conn, 4)?;
        let dates = [
            (1, "birthdate", 0, DAY),
            (2, "date", 10 * DAY, 11 * DAY),
            (2, "date", 3 * DAY, 4 * DAY),
            (3, "period", 5 * DAY, i64::MAX),
            (4, "period", i64::MIN, 2 * DAY),
            (5, "date", 0, 100 * DAY),
            (6, "date", 0, 1_000 * DAY),
            (7, "date", 9 * DAY, 8 * DAY),
        ];
        for (rid, param, low, high) in dates {
            conn.execute(
                "INSERT INTO search_date (rid, tenant, type, param, low, high) VALUES (?1, 't', 'X', ?2, ?3, ?4)",
                (rid, param, low, high),
            )?;
        }
        migrate(&mut conn)?;
        for rid in 1..=7_i64 {
            let entries: Vec<fhir_search::DateEntry> = dates
                .iter()
                .filter(|d| d.0 == rid)
                .map(|&(_, param, low, high)| fhir_search::DateEntry { param: param.to_owned(), low, high })
                .collect();
            let expected = fhir_search::envelopes(&entries).remove(0);
            let stored: (i64, i64, i16) =
                conn.query_row("SELECT low, high, span FROM search_date_envelope WHERE rid = ?1", [rid], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
            assert_eq!(stored, (expected.low, expected.high, expected.span_class), "rid {rid}");
        }
        Ok(())
    }
}
