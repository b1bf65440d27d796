//! Opening connections, the reader pool, and running blocking SQLite work off the async runtime.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;
use store::StoreError;

use crate::Durability;

pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Backend(error.to_string()),
    }
}

/// Page cache of each reader connection.
const READER_CACHE_KIB: u32 = 64 * 1024;
/// Page cache of the writer: the interior and hot leaf pages of every index a write touches.
pub(crate) const WRITER_CACHE_KIB: u32 = 512 * 1024;
/// How much of the database file is mapped (address space, not memory: the kernel's page cache
/// backs it), so the writer's and readers' page reads are memory accesses, not system calls.
/// The bundled SQLite is built with a 1 TiB cap for it (`.cargo/config.toml`).
const MMAP_BYTES: u64 = 1 << 40;
/// The size the log file is truncated to once it has been checkpointed and restarted.
const WAL_LIMIT_BYTES: u64 = 64 << 20;

pub(crate) fn open_connection(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    // Pages are read through a memory map (no system call and copy per page read) and the
    // log is cut back to `WAL_LIMIT_BYTES` after the checkpointer resets it.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=10000; \
         PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{READER_CACHE_KIB}; PRAGMA foreign_keys=OFF; \
         PRAGMA mmap_size={MMAP_BYTES}; PRAGMA journal_size_limit={WAL_LIMIT_BYTES};"
    ))
    .map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// Runs SQLite work on the blocking thread pool.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) => Err(StoreError::Backend(format!("storage task failed: {error}"))),
    }
}

/// Read-only connections, opened on demand and kept up to `capacity`.
pub(crate) struct ReaderPool {
    path: PathBuf,
    capacity: usize,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf, capacity: usize) -> ReaderPool {
        ReaderPool { path, capacity, idle: Mutex::new(Vec::new()) }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = std::sync::Arc::clone(self);
        blocking(move || {
            let conn = match pool.take() {
                Some(conn) => conn,
                None => {
                    let conn = open_connection(&pool.path, Durability::Full)?;
                    conn.execute_batch("PRAGMA query_only=ON;").map_err(backend)?;
                    conn
                }
            };
            let result = work(&conn);
            pool.give_back(conn);
            result
        })
        .await
    }

    fn take(&self) -> Option<Connection> {
        match self.idle.lock() {
            Ok(mut idle) => idle.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = match self.idle.lock() {
            Ok(idle) => idle,
            Err(poisoned) => poisoned.into_inner(),
        };
        if idle.len() < self.capacity {
            idle.push(conn);
        }
    }
}
