//! The single writer connection, with group commit.
//!
//! SQLite has one writer, so write transactions run one after another. What each of them pays
//! at `COMMIT` (appending its dirty pages to the log and an fsync) is mostly the same pages and
//! the same fsync as its neighbours': the right edge of every `rid` index, the version table,
//! the hot runs of the token index. So transactions that queue up behind each other share one
//! `COMMIT`: the first opens an SQLite transaction (the group), each later one runs inside a
//! savepoint of it, and a member's `commit` only releases its savepoint when another
//! transaction is already waiting for the writer. The last member of the group (the one nobody
//! waits behind), or a member whose wait grows too long, commits the group. A member's `commit` returns only once its group is
//! durable, so nothing is acknowledged before it is on disk; if the group's `COMMIT` fails, every
//! member's `commit` fails.
//!
//! With `Durability::Full` the group's `COMMIT` itself does not wait for the disk: the writer
//! connection runs at `synchronous=NORMAL`, and the member that committed gives the writer to
//! the next transaction first, then fsyncs the log, then tells the members. The next group's
//! work thus overlaps this group's fsync, and still nothing is acknowledged before its commit
//! record is on disk (an fsync covers every frame written before it, so a later group's fsync
//! makes the earlier groups durable too).
//!
//! Readers never see a group half done: they read committed snapshots only.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use store::StoreError;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::connection::backend;
use crate::writer_cache::WriterCache;

/// A group takes at most this many members, so a long queue still commits now and then.
const MAX_MEMBERS: usize = 256;
/// Nor does it take more once it has been open this long. So its first member waits at most
/// about this long for durability, and a long member, such as a large bundle, commits its
/// group at once: the next member would pay a savepoint (a copy of every page it changes) to
/// share a commit with few pages in common.
const MAX_OPEN: Duration = Duration::from_millis(25);
/// A member that has waited this long for its group checks whether anyone is still going to
/// commit it (a waiting transaction may have been cancelled instead of taking the writer).
const FLUSH_AFTER: Duration = Duration::from_millis(50);

/// Outcomes of the last failed group commits kept for their members.
const FAILURES_KEPT: usize = 16;

pub(crate) struct Writer {
    state: Arc<Mutex<WriterState>>,
    /// The log file to fsync after each group's `COMMIT`; `None` when commits need not reach
    /// the disk before they are acknowledged (`Durability::Normal`).
    fsync_log: Option<PathBuf>,
    /// Transactions waiting for the writer: a member hands the group on only if this is not 0.
    waiting: AtomicUsize,
    durable: watch::Sender<Durable>,
    /// Group commits so far (for tests and metrics: transactions per commit).
    commits: AtomicUsize,
}

/// Which groups are finished: every group up to `last` (committed, except those in `failed`),
/// and `early` ones past it. `last` only moves over a contiguous run, so a group never reads as
/// done because a later group's fsync returned first while its own `COMMIT` had failed.
#[derive(Clone, Default)]
struct Durable {
    last: u64,
    early: std::collections::BTreeSet<u64>,
    failed: Vec<(u64, String)>,
}

/// The writer connection and the group open on it, if any.
pub(crate) struct WriterState {
    pub(crate) conn: Connection,
    cache: WriterCache,
    group: Option<Group>,
    next_group: u64,
    /// The member in progress, if any. Seen by `begin_member` only when a member's task was
    /// cancelled in the middle of a statement: its work is undone there.
    member: Option<Member>,
}

/// How the member in progress is undone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Member {
    /// The group's first member opened the SQLite transaction and has no savepoint: undoing it
    /// is rolling back the group, which holds nothing else yet. A savepoint copies every page
    /// the member changes into the statement journal first, and a big transaction (a bundle)
    /// is usually alone in its group.
    Opener,
    /// A later member, inside its own savepoint.
    Savepoint,
}

struct Group {
    /// Numbered when its first member releases its savepoint: a group rolled back before that
    /// has no members to tell and takes no number (numbers must all be finished, in order).
    number: Option<u64>,
    /// Members that released their savepoints.
    members: usize,
    /// When the group's SQLite transaction began.
    opened: Instant,
    /// How many transactions were waiting for the writer when the first member finished: the
    /// group takes those and no later ones, so a steady stream of writes cannot keep the first
    /// member waiting.
    queued: Option<usize>,
}

impl Writer {
    pub(crate) fn new(conn: Connection, cache: WriterCache, fsync_log: Option<PathBuf>) -> Writer {
        Writer {
            state: Arc::new(Mutex::new(WriterState { conn, cache, group: None, next_group: 1, member: None })),
            fsync_log,
            waiting: AtomicUsize::new(0),
            durable: watch::Sender::new(Durable::default()),
            commits: AtomicUsize::new(0),
        }
    }

    /// Waits for the writer connection.
    pub(crate) async fn acquire(&self) -> OwnedMutexGuard<WriterState> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        Arc::clone(&self.state).lock_owned().await
    }

    /// How many transactions are waiting for the writer.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    #[cfg(test)]
    pub(crate) fn commits(&self) -> usize {
        self.commits.load(Ordering::Relaxed)
    }

    /// Returns once group `group` is committed (or has failed).
    pub(crate) async fn wait_durable(self: &Arc<Self>, group: u64) -> Result<(), StoreError> {
        let mut durable = self.durable.subscribe();
        loop {
            if let Some(outcome) = outcome_of(&durable.borrow_and_update(), group) {
                return outcome;
            }
            if tokio::time::timeout(FLUSH_AFTER, durable.changed()).await.is_ok() {
                continue;
            }
            // Nobody has committed the group for a while: commit it here, unless someone has.
            // Its outcome is read back at the top of the loop, as every member reads it.
            let mut state = self.acquire().await;
            let writer = Arc::clone(self);
            crate::connection::blocking(move || {
                if let Some(outcome) = state.flush(group) {
                    writer.spawn_settle(group, outcome);
                }
                Ok(())
            })
            .await?;
        }
    }

    /// Ends a member's work, on the blocking pool while it holds the writer: keeps the group open
    /// for the next member when one is waiting and was already waiting when the group's first
    /// member finished, else commits it and starts settling it. Returns the group to wait for
    /// (`wait_durable`).
    pub(crate) fn commit_member(self: &Arc<Self>, state: &mut WriterState) -> Result<u64, StoreError> {
        let (group, commit_now) = state.release_member(self.waiting())?;
        if commit_now {
            let outcome = state.commit_group();
            self.spawn_settle(group, outcome);
        }
        Ok(group)
    }

    /// Undoes a member dropped without `commit`. Members before it wait for their group: it is
    /// committed here unless another transaction is about to take the writer (that one will).
    pub(crate) fn abandon_member(&self, mut state: OwnedMutexGuard<WriterState>) {
        match state.abandon_member() {
            Ok(Some(group)) if self.waiting() == 0 => {
                if let Some(outcome) = state.flush(group) {
                    drop(state);
                    self.settle(group, outcome);
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "rollback of an abandoned transaction failed"),
        }
    }

    /// `settle` on a blocking task of its own, started where the `COMMIT` ran: the writer is given
    /// back without waiting for the disk, and a caller that is cancelled (a client gone) cannot
    /// leave the group's members waiting forever.
    fn spawn_settle(self: &Arc<Self>, group: u64, outcome: Result<(), String>) {
        let writer = Arc::clone(self);
        drop(tokio::task::spawn_blocking(move || writer.settle(group, outcome)));
    }

    /// Completes group `group` once its `COMMIT` ran: makes the log durable, then tells the
    /// members.
    fn settle(&self, group: u64, outcome: Result<(), String>) {
        let outcome = match (outcome, &self.fsync_log) {
            (Ok(()), Some(log)) => sync_log(log),
            (outcome, _) => outcome,
        };
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.durable.send_modify(|durable| durable.finish(group, &outcome));
    }
}

impl Durable {
    fn finish(&mut self, group: u64, outcome: &Result<(), String>) {
        self.early.insert(group);
        while self.early.remove(&(self.last + 1)) {
            self.last += 1;
        }
        if let Err(message) = outcome {
            self.failed.push((group, message.clone()));
            if self.failed.len() > FAILURES_KEPT {
                self.failed.remove(0);
            }
        }
    }
}

/// fsyncs the log file. Any descriptor will do: an fsync flushes the file, not the descriptor's
/// writes. The file is opened afresh each time, so a log that SQLite has recreated is never
/// missed.
fn sync_log(log: &std::path::Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(log).map_err(|e| e.to_string())?;
    file.sync_data().map_err(|e| format!("fsync of the log failed: {e}"))
}

fn outcome_of(durable: &Durable, group: u64) -> Option<Result<(), StoreError>> {
    if durable.last < group {
        return None;
    }
    let failure = durable.failed.iter().find(|(number, _)| *number == group);
    Some(match failure {
        Some((_, message)) => Err(StoreError::Backend(format!("commit failed: {message}"))),
        None => Ok(()),
    })
}

impl WriterState {
    /// Starts a member: the group's opener if none is open, else a savepoint in the open group.
    pub(crate) fn begin_member(&mut self) -> Result<(), StoreError> {
        if self.member.is_some() {
            self.undo_member()?;
        }
        if self.group.is_none() {
            // A transaction abandoned by a failed task must not leak into this one.
            if !self.conn.is_autocommit() {
                self.conn.execute_batch("ROLLBACK").map_err(backend)?;
            }
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
            self.group = Some(Group { number: None, members: 0, opened: Instant::now(), queued: None });
            self.member = Some(Member::Opener);
        } else {
            self.conn.execute_batch("SAVEPOINT member").map_err(backend)?;
            self.member = Some(Member::Savepoint);
        }
        Ok(())
    }

    /// Ends a member's work (releasing its savepoint, if it has one) and numbers its group;
    /// whether the group commits now (see `Writer::commit_member`). A savepoint that cannot be
    /// released is undone.
    fn release_member(&mut self, waiting: usize) -> Result<(u64, bool), StoreError> {
        if self.member == Some(Member::Savepoint)
            && let Err(error) = self.conn.execute_batch("RELEASE member")
        {
            let _ = self.abandon_member();
            return Err(backend(error));
        }
        self.member = None;
        let Some(group) = self.group.as_mut() else {
            return Err(StoreError::Backend("no open write group".to_owned()));
        };
        group.members += 1;
        let next_group = &mut self.next_group;
        let number = *group.number.get_or_insert_with(|| {
            *next_group += 1;
            *next_group - 1
        });
        let queued = *group.queued.get_or_insert(waiting);
        let hand_on = waiting > 0 && group.members <= queued.min(MAX_MEMBERS) && group.opened.elapsed() < MAX_OPEN;
        Ok((number, !hand_on))
    }

    /// Undoes a member that will not commit. Its group stays open for the members before it;
    /// with none, the group is rolled back. Returns the group left open with members, if any,
    /// for the caller to commit when nobody else will.
    fn abandon_member(&mut self) -> Result<Option<u64>, StoreError> {
        if self.conn.is_autocommit() {
            self.group = None;
            self.member = None;
            return Ok(None);
        }
        self.undo_member()?;
        match &self.group {
            Some(Group { number: Some(number), .. }) => Ok(Some(*number)),
            _ => {
                self.group = None;
                if !self.conn.is_autocommit() {
                    self.conn.execute_batch("ROLLBACK").map_err(backend)?;
                }
                Ok(None)
            }
        }
    }

    /// Undoes the member in progress: back to its savepoint, or, for the group's opener, the
    /// whole (so far empty) group.
    fn undo_member(&mut self) -> Result<(), StoreError> {
        match self.member.take() {
            Some(Member::Savepoint) => {
                self.conn.execute_batch("ROLLBACK TO member; RELEASE member").map_err(backend)?;
            }
            Some(Member::Opener) => {
                self.group = None;
                if !self.conn.is_autocommit() {
                    self.conn.execute_batch("ROLLBACK").map_err(backend)?;
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Commits group `group` if it is still open (its members all released); `None` if it is
    /// not the open group (someone committed it already).
    fn flush(&mut self, group: u64) -> Option<Result<(), String>> {
        match &self.group {
            Some(open) if open.number == Some(group) => Some(self.commit_group()),
            _ => None,
        }
    }

    fn commit_group(&mut self) -> Result<(), String> {
        self.group = None;
        self.cache.refit(&self.conn);
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(error) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(error.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use store::{Method, RequestContext, Store, StoreError, Timestamp, WriteVersion};

    use crate::{Durability, SqliteConfig, SqliteStore};

    fn patient(id: &str) -> WriteVersion {
        WriteVersion {
            resource_type: "Patient".into(),
            id: id.into(),
            version: 1,
            method: Method::Post,
            body: Some(format!(r#"{{"resourceType":"Patient","id":"{id}"}}"#)),
            index: fhir_search::IndexEntries::default(),
        }
    }

    /// A group reads as finished only once every group before it has finished: a later group's
    /// fsync returning first must not vouch for an earlier group whose `COMMIT` failed.
    #[test]
    fn groups_finish_in_order_and_a_failure_stays_with_its_group() {
        use super::{Durable, outcome_of};
        let mut durable = Durable::default();
        durable.finish(2, &Ok(()));
        assert!(outcome_of(&durable, 2).is_none(), "group 2 reads as done before group 1");
        durable.finish(1, &Err("disk full".to_owned()));
        assert!(matches!(outcome_of(&durable, 1), Some(Err(_))));
        assert!(matches!(outcome_of(&durable, 2), Some(Ok(()))));
        assert!(outcome_of(&durable, 3).is_none());
    }

    /// Transactions queued behind each other share commits; one that is abandoned (dropped
    /// without commit, here every fifth) leaves no trace, whichever group it was in, and never
    /// takes its group's other members down with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn queued_transactions_share_commits_and_abandoned_ones_leave_nothing() -> Result<(), StoreError> {
        let dir = std::env::temp_dir().join(format!("hestia-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        let path = dir.join("group.db");
        let store = Arc::new(
            SqliteStore::open(SqliteConfig { path: path.clone(), durability: Durability::Full, readers: 2 }).await?,
        );
        let ctx = RequestContext::system("group-test", Timestamp::from_micros(1_700_000_000_000_000));
        let mut tasks = Vec::new();
        for i in 0_usize..60 {
            let (store, ctx) = (Arc::clone(&store), ctx.clone());
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin(&ctx).await?;
                tx.write(patient(&format!("p{i}"))).await?;
                // Holds the writer long enough for the others to queue behind it.
                tokio::time::sleep(Duration::from_millis(2)).await;
                if i % 5 == 0 {
                    drop(tx);
                    return Ok(false);
                }
                tx.commit().await?;
                Ok::<bool, StoreError>(true)
            }));
        }
        // Requests whose client goes away mid-commit: whatever point they were cancelled at, the
        // others must still finish (a cancelled committer must not strand its group's members).
        let cancelled = |i: usize| i % 7 == 3 && !i.is_multiple_of(5);
        for (i, task) in tasks.iter().enumerate() {
            if cancelled(i) {
                task.abort();
            }
        }
        let mut committed = 0;
        let all = async {
            for (i, task) in tasks.into_iter().enumerate() {
                match task.await {
                    Ok(result) => committed += usize::from(result?),
                    Err(error) if error.is_cancelled() && cancelled(i) => {}
                    Err(error) => return Err(StoreError::Backend(error.to_string())),
                }
            }
            Ok(())
        };
        tokio::time::timeout(Duration::from_secs(30), all).await.map_err(|_| StoreError::Backend("stuck".into()))??;
        for i in (0..60).filter(|&i| !cancelled(i)) {
            let read = store.read(&ctx, "Patient", &format!("p{i}")).await;
            match read {
                Ok(_) => assert_ne!(i % 5, 0, "abandoned p{i} was written"),
                Err(StoreError::NotFound { .. }) => assert_eq!(i % 5, 0, "committed p{i} is missing"),
                Err(other) => return Err(other),
            }
        }
        let commits = store.writer.commits();
        assert!(commits < committed, "{committed} transactions took {commits} commits: none were grouped");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    /// The opener of a group has no savepoint: undoing it rolls back the group, while undoing a
    /// later member leaves the opener's work in place.
    #[test]
    fn an_undone_opener_empties_its_group_and_an_undone_member_keeps_the_opener() -> Result<(), StoreError> {
        use super::{Member, WriterState};
        use crate::connection::backend;
        use crate::writer_cache::WriterCache;
        let conn = rusqlite::Connection::open_in_memory().map_err(backend)?;
        conn.execute_batch("CREATE TABLE t (v TEXT)").map_err(backend)?;
        let cache = WriterCache::fit(&conn)?;
        let mut state = WriterState { conn, cache, group: None, next_group: 1, member: None };
        let rows = |state: &WriterState| -> Result<Vec<String>, StoreError> {
            let mut stmt = state.conn.prepare("SELECT v FROM t").map_err(backend)?;
            let rows = stmt.query_map([], |row| row.get(0)).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        };
        let insert =
            |state: &WriterState, v: &str| state.conn.execute("INSERT INTO t VALUES (?1)", [v]).map_err(backend);

        state.begin_member()?;
        assert_eq!(state.member, Some(Member::Opener));
        insert(&state, "abandoned opener")?;
        let left = state.abandon_member()?;
        assert_eq!(left, None, "an abandoned opener leaves no group to commit");
        assert!(state.conn.is_autocommit() && state.group.is_none());
        assert!(rows(&state)?.is_empty());

        state.begin_member()?;
        insert(&state, "opener")?;
        let (group, commit_now) = state.release_member(1)?;
        assert!(!commit_now, "one transaction is waiting: the group stays open for it");
        state.begin_member()?;
        assert_eq!(state.member, Some(Member::Savepoint));
        insert(&state, "abandoned member")?;
        let left = state.abandon_member()?;
        assert_eq!(left, Some(group));
        assert!(matches!(state.flush(group), Some(Ok(()))));
        assert_eq!(rows(&state)?, ["opener"]);
        Ok(())
    }
}
