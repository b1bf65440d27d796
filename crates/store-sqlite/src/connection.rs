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
/// How much of the database file the writer maps (address space, not memory: the kernel's page
/// cache backs it), so its page reads are memory accesses, not system calls. The bundled SQLite
/// is built with a 1 TiB cap for it (`.cargo/config.toml`). Only the writer maps the file: a
/// connection that starts a read after another connection's commit drops its page cache and
/// unmaps the whole file (SQLite's `pagerBeginReadTransaction`), so under writes every read
/// would map and fault the file in again (measured: the CRUD mix lost 8 %).
pub(crate) const WRITER_MMAP_BYTES: i64 = 1 << 40;
/// The size the log file is cut back to once it has been checkpointed and restarted: above the
/// writer's backstop (`checkpoint::WRITER_BACKSTOP_PAGES`), so the log's pages are written over
/// rather than cut off and grown again (a file's new pages are zeroed first: 5 % of the
/// writer's time when loading).
const WAL_LIMIT_BYTES: u64 = 512 << 20;

pub(crate) fn open_connection(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=10000; \
         PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{READER_CACHE_KIB}; PRAGMA foreign_keys=OFF; \
         PRAGMA journal_size_limit={WAL_LIMIT_BYTES};"
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

/// How much work a storage call does, and whether it holds the writer: which decides the thread
/// it runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// A bounded call: a read by id, a one-resource write, a commit of a small group (a few
    /// B-tree descents, well under a millisecond with the file cached). It runs on the calling
    /// task's thread: handing it to the blocking pool cost more than the call itself, and a
    /// write transaction held the writer while its task waited to be scheduled again after
    /// each hand-off (the CRUD mix went from 3.2k to 4.6k requests/s without it).
    Point,
    /// An unbounded call made while holding the writer: a bundle's writes and their commit, a
    /// search inside a transaction. On the multi-threaded runtime it runs in `block_in_place`
    /// (the worker's other tasks move to another thread, and the caller goes on without being
    /// scheduled again, which shortens the time the writer is held: loading +4 %); elsewhere
    /// on the blocking pool.
    Held,
    /// An unbounded call holding nothing shared: a search, a history page. It runs on the
    /// blocking pool, so a long search never takes a worker from other requests (measured:
    /// faster than `block_in_place`, whose thread hand-over costs more than the pool's).
    Scan,
}

/// Runs `call` where `work` says (see `Work`).
pub(crate) async fn run<T, F>(work: Work, call: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    match work {
        Work::Point => call(),
        Work::Held if multi_threaded => tokio::task::block_in_place(call),
        Work::Held | Work::Scan => blocking(call).await,
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

    /// Runs `work` on an idle reader connection (opening one if none is idle).
    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, cost: Work, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = std::sync::Arc::clone(self);
        run(cost, move || {
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
