//! The size of the writer's page cache, which follows the size of the database file.
//!
//! Why it cannot simply be large: when SQLite's B-tree balancing hands out sibling pages in
//! order, it renumbers them through a spare page number, that of the page holding the lock
//! byte at 1 GiB (`balance_nonroot`). From then on the page cache has seen a page number at
//! 1 GiB, and at the end of every write transaction it drops the pages past the end of the
//! file (`pcache1Truncate`) by walking the hash buckets of every page number from the end of
//! the file up to 1 GiB: the whole hash table, whose size follows the cache's, for a file well
//! under 1 GiB. With a 512 MiB cache that walk was 16 % of the server's CPU in the CRUD mix at
//! 108,315 resources (a 600 MB file); once the file is past 1 GiB there is nothing to walk.
//!
//! So the writer keeps a small cache while the file is under 1 GiB (a file that small stays in
//! the kernel's page cache, and the writer maps it, so a miss costs a copy, not a read), and
//! the large one once it is past: at a million resources, the large cache served the CRUD mix
//! 6 % faster than the small one.

use rusqlite::Connection;
use store::StoreError;

use crate::connection::backend;

/// The writer's page cache while the file is under `LOCK_BYTE_OFFSET`.
const SMALL_KIB: u32 = 16 * 1024;
/// The writer's page cache past it: the interior and hot leaf pages of every index a write
/// touches.
const LARGE_KIB: u32 = 512 * 1024;
/// Where SQLite's lock byte lies (`PENDING_BYTE`), whose page balancing borrows.
const LOCK_BYTE_OFFSET: u64 = 1 << 30;

/// Which cache the writer connection has.
pub(crate) struct WriterCache {
    kib: u32,
    /// The file size past which the cache is large: `LOCK_BYTE_OFFSET` but in tests.
    large_past: u64,
    /// Fixed once the file exists (a WAL database cannot change it).
    page_size: u64,
}

impl WriterCache {
    /// Sets the writer's cache for its database as it is now.
    pub(crate) fn fit(conn: &Connection) -> Result<WriterCache, StoreError> {
        WriterCache::fit_past(conn, LOCK_BYTE_OFFSET)
    }

    fn fit_past(conn: &Connection, large_past: u64) -> Result<WriterCache, StoreError> {
        let page_size = conn.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(backend)?;
        let mut cache = WriterCache { kib: 0, large_past, page_size };
        let kib = cache.kib_for(cache.database_bytes(conn)?);
        set(conn, kib)?;
        cache.kib = kib;
        Ok(cache)
    }

    /// The cache size for a database file of `bytes`, in KiB.
    fn kib_for(&self, bytes: u64) -> u32 {
        if bytes > self.large_past { LARGE_KIB } else { SMALL_KIB }
    }

    /// Grows the cache once the file has passed 1 GiB: one pragma per call until then, nothing
    /// after (a database file never shrinks here: nothing vacuums it in place). Called inside
    /// each group's transaction, before its `COMMIT`, so it sees the file as the group leaves it.
    pub(crate) fn refit(&mut self, conn: &Connection) {
        if self.kib == LARGE_KIB {
            return;
        }
        let kib = match self.database_bytes(conn) {
            Ok(bytes) => self.kib_for(bytes),
            Err(error) => {
                tracing::debug!(%error, "cannot read the database size; the writer's cache stays as it is");
                return;
            }
        };
        if kib != self.kib {
            match set(conn, kib) {
                Ok(()) => self.kib = kib,
                Err(error) => tracing::warn!(%error, "cannot grow the writer's page cache"),
            }
        }
    }

    fn database_bytes(&self, conn: &Connection) -> Result<u64, StoreError> {
        let pages: u64 = conn
            .prepare_cached("PRAGMA page_count")
            .and_then(|mut s| s.query_row([], |row| row.get(0)))
            .map_err(backend)?;
        Ok(pages.saturating_mul(self.page_size))
    }
}

fn set(conn: &Connection, kib: u32) -> Result<(), StoreError> {
    conn.pragma_update(None, "cache_size", -i64::from(kib)).map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::{LARGE_KIB, LOCK_BYTE_OFFSET, SMALL_KIB, WriterCache};

    fn cache_size(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
        conn.query_row("PRAGMA cache_size", [], |row| row.get(0))
    }

    /// The cache grows only past the lock byte; a database past the threshold gets the large
    /// cache when it is opened, and a smaller one grows its cache in the transaction that takes
    /// it past. (The threshold is lowered to 1 MiB here: the real one is a 1 GiB file.)
    #[test]
    fn the_writer_cache_follows_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let real = WriterCache::fit(&conn)?;
        assert_eq!(real.kib_for(LOCK_BYTE_OFFSET), SMALL_KIB);
        assert_eq!(real.kib_for(LOCK_BYTE_OFFSET + 4096), LARGE_KIB);

        let dir = std::env::temp_dir().join(format!("hestia-writer-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("cache.db");
        for leftover in ["cache.db", "cache.db-wal", "cache.db-shm"] {
            let _ = std::fs::remove_file(dir.join(leftover));
        }
        let conn = rusqlite::Connection::open(&path)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE filler (b BLOB);")?;
        let mut cache = WriterCache::fit_past(&conn, 1 << 20)?;
        assert_eq!(cache_size(&conn)?, -i64::from(SMALL_KIB));
        conn.execute_batch("BEGIN; INSERT INTO filler VALUES (zeroblob(500000));")?;
        cache.refit(&conn);
        conn.execute_batch("COMMIT")?;
        assert_eq!(cache_size(&conn)?, -i64::from(SMALL_KIB), "grown before the file passed the threshold");
        conn.execute_batch("BEGIN; INSERT INTO filler VALUES (zeroblob(1000000));")?;
        cache.refit(&conn);
        conn.execute_batch("COMMIT")?;
        assert_eq!(cache_size(&conn)?, -i64::from(LARGE_KIB));
        drop(conn);
        let reopened = rusqlite::Connection::open(&path)?;
        WriterCache::fit_past(&reopened, 1 << 20)?;
        assert_eq!(cache_size(&reopened)?, -i64::from(LARGE_KIB));
        drop(reopened);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
