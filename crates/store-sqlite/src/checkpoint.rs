//! Moving WAL checkpoints off the writer.
//!
//! By default SQLite checkpoints inside the commit that takes the log past 1,000 pages (counted
//! since the log last restarted, checkpointed or not), so under a steady stream of writes the
//! writer ends up copying pages into the database and fsyncing it after nearly every commit,
//! while every other writer waits behind it. Here a thread of its own runs passive checkpoints
//! (they never block readers or the writer), straight again while there is work, and the
//! writer's automatic checkpoint stays only as a backstop for a log that grows far past what the
//! thread keeps up with. The log restarts from its beginning at the first write after a
//! checkpoint has caught up.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use rusqlite::Connection;

use crate::Durability;
use crate::connection::open_connection;

/// How long the checkpointer sleeps when the log was fully checkpointed.
const IDLE_INTERVAL: Duration = Duration::from_millis(200);
/// How long it sleeps after a checkpoint that copied pages: just enough for the writer to start
/// its next transaction, and so restart the log, in between.
const BUSY_INTERVAL: Duration = Duration::from_millis(5);

/// Log pages after which the writer checkpoints itself (256 MiB at 4 KiB pages).
pub(crate) const WRITER_BACKSTOP_PAGES: u32 = 65_536;

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

/// One passive checkpoint: frames in the log, and how many of them are in the database now.
fn checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)));
    match result {
        Ok(progress) => Some(progress),
        Err(error) => {
            tracing::debug!(%error, "passive checkpoint failed; retrying later");
            None
        }
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
    let mut interval = IDLE_INTERVAL;
    let mut last = None;
    // Nothing is ever sent: the channel only disconnects when the store is dropped.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        // The log moved since the last look: writes are coming in, so look again soon.
        let progress = checkpoint(&conn);
        interval = if progress.is_some() && progress != last { BUSY_INTERVAL } else { IDLE_INTERVAL };
        last = progress;
    }
    // A last pass, so a cleanly closed database leaves little log behind.
    checkpoint(&conn);
}
