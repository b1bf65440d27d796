//! Backup and restore of the embedded database.
//!
//! A backup is `VACUUM INTO`: one read transaction, so it is a consistent snapshot taken while the
//! server keeps serving (writers are not blocked in WAL mode), written as a compact, complete
//! SQLite file. Restore checks that file (`integrity_check`, a Hestia schema no newer than this
//! build) and moves it into place atomically: copy beside the target, then rename.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use store::{BackupSummary, StoreError};

use crate::connection::{backend, blocking};
use crate::schema;

/// Writes a consistent copy of the database at `database` to `out` (which must not exist).
pub async fn backup(database: PathBuf, out: PathBuf) -> Result<BackupSummary, StoreError> {
    blocking(move || {
        if out.exists() {
            return Err(StoreError::Backend(format!("{} exists; backups never overwrite", out.display())));
        }
        let conn = Connection::open_with_flags(&database, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
        let target = out.to_str().ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".to_owned()))?;
        conn.execute("VACUUM INTO ?1", [target]).map_err(backend)?;
        summarize(&out)
    })
    .await
}

/// Replaces the database at `database` with the backup `file`. Refuses a database that holds
/// resources unless `force`.
pub async fn restore(file: PathBuf, database: PathBuf, force: bool) -> Result<BackupSummary, StoreError> {
    blocking(move || {
        let summary = summarize(&file)?;
        check(&file)?;
        if database.exists() && !force {
            let existing = summarize(&database)?;
            if existing.versions > 0 {
                return Err(StoreError::Backend(format!(
                    "{} already holds {} resources; restore with --force to replace them",
                    database.display(),
                    existing.resources
                )));
            }
        }
        let staging = database.with_extension("restoring");
        std::fs::copy(&file, &staging).map_err(|e| StoreError::Backend(format!("copying the backup: {e}")))?;
        // The old database's log must not be replayed over the restored file.
        for suffix in ["-wal", "-shm"] {
            let stale = PathBuf::from(format!("{}{suffix}", database.display()));
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| StoreError::Backend(format!("removing {suffix}: {e}")))?;
            }
        }
        std::fs::rename(&staging, &database).map_err(|e| StoreError::Backend(format!("moving into place: {e}")))?;
        Ok(summary)
    })
    .await
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Backend(format!("{} is not a file", path.display())));
    }
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(backend)
}

/// The file is an intact SQLite database with a Hestia schema this build can open.
fn check(path: &Path) -> Result<(), StoreError> {
    let conn = open_read_only(path)?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| StoreError::Backend(format!("{} is not an intact database: {e}", path.display())))?;
    if verdict != "ok" {
        return Err(StoreError::Backend(format!("{} failed the integrity check: {verdict}", path.display())));
    }
    let version: i64 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))
        .map_err(|e| StoreError::Backend(format!("{} is not a Hestia database: {e}", path.display())))?;
    if version > schema::current_version() {
        return Err(StoreError::Backend(format!(
            "{} has schema version {version}, newer than this build's {}",
            path.display(),
            schema::current_version()
        )));
    }
    Ok(())
}

fn summarize(path: &Path) -> Result<BackupSummary, StoreError> {
    let not_hestia =
        |e: rusqlite::Error| StoreError::Backend(format!("{} is not a Hestia database: {e}", path.display()));
    let conn = open_read_only(path)?;
    let count = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, i64>(0)).map_err(not_hestia);
    let resources = count("SELECT COUNT(*) FROM resource")?;
    let versions = count("SELECT COUNT(*) FROM resource_version")?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary {
        resources: u64::try_from(resources).unwrap_or(0),
        versions: u64::try_from(versions).unwrap_or(0),
        bytes,
    })
}
