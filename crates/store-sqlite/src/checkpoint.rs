//! Moving WAL checkpoints off the writer.
//!
//! By default SQLite checkpoints inside the commit that crosses 1,000 WAL pages, so every so
//! often one writer pays for copying the log into the database while every other writer waits
//! behind it. Here a thread of its own runs passive checkpoints (they never block readers or
//! the writer), and the writer's automatic checkpoint stays only as a backstop for a log that
//! grows far past what the thread keeps up with.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use rusqlite::Connection;

use crate::Durability;
use crate::connection::open_connection;

/// How often the checkpointer looks at the log.
const INTERVAL: Duration = Duration::from_millis(200);

/// WAL pages after which the writer checkpoints itself (about 16 MB at 4 KiB pages).
pub(crate) const WRITER_BACKSTOP_PAGES: u32 = 4_000;

/// Keeps the checkpointer running; dropping it stops the thread at once.
pub(crate) struct Checkpointer {
    _stop: Sender<()>,
}

impl Checkpointer {
    pub(crate) fn start(path: PathBuf, durability: Durability) -> Checkpointer {
        let (stop, stopped) = channel();
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(&path, durability, &stopped));
        if let Err(error) = spawned {
            // The writer's backstop still checkpoints; only the latency benefit is lost.
            tracing::warn!(%error, "cannot start the checkpoint thread");
        }
        Checkpointer { _stop: stop }
    }
}

fn run(path: &std::path::Path, durability: Durability, stopped: &Receiver<()>) {
    let conn: Connection = match open_connection(path, durability) {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, "checkpoint thread cannot open the database");
            return;
        }
    };
    // Nothing is ever sent: the channel only disconnects when the store is dropped.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(%error, "passive checkpoint failed; retrying later");
        }
    }
    // A last full pass, so a cleanly closed database leaves little log behind.
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}
