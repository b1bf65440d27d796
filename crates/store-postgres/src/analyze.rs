//! Planner statistics kept up with bulk writes. Autovacuum analyzes a table only after its
//! naptime (and not at all where it is turned off); right after an import the planner would
//! still believe the tables are empty and pick nested loops over thousands of rows. So each node
//! runs `ANALYZE` in the background:
//! - at once when the versions it wrote since the last one reach as many as the database held
//!   before them (at least `MIN_WRITES`): whenever the data has doubled, as during an import;
//! - when they reach a tenth of it, as autovacuum would, but at most once per `MIN_INTERVAL`: a
//!   tenth reached sooner waits for the interval to pass (a timer, so statistics catch up after
//!   a burst of writes even if no other write follows).
//!
//! Why the interval: each `ANALYZE` samples every table (2.5 s of PostgreSQL's time at 108,315
//! resources), and at every tenth it ran every 13 s under the CRUD mix, an eighth of the
//! database's CPU. Why not doubling alone: statistics taken halfway through an import misled
//! the planner afterwards (a token search took a system-only index, reading 300 rows for 9).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::Pool;
use store::StoreError;
use tokio::time::Instant;

use crate::connection::backend;

const MIN_WRITES: u64 = 2000;
/// The least time between two `ANALYZE`s started for a tenth.
const MIN_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct Analyzer {
    since: AtomicU64,
    /// Versions in the database at the last `ANALYZE` (as far as this node knows: the planner's
    /// estimate at start-up, plus what it wrote since).
    total: AtomicU64,
    running: AtomicBool,
    /// A timer is waiting to start the next `ANALYZE`.
    scheduled: AtomicBool,
    last_started: Mutex<Option<Instant>>,
}

/// What `since` versions written after the last `ANALYZE`, of a database of `before`, call for.
#[derive(Debug, PartialEq, Eq)]
enum Due {
    No,
    /// The data doubled: analyze now.
    Now,
    /// A tenth changed: analyze once `MIN_INTERVAL` has passed since the last one started.
    AfterInterval,
}

fn due(since: u64, before: u64) -> Due {
    if since >= MIN_WRITES.max(before) {
        Due::Now
    } else if since >= MIN_WRITES.max(before / 10) {
        Due::AfterInterval
    } else {
        Due::No
    }
}

/// How many versions the planner believes the database holds (0 before any statistics).
pub(crate) async fn versions_estimate(client: &tokio_postgres::Client) -> Result<u64, StoreError> {
    let row = client
        .query_one(
            "SELECT COALESCE((SELECT GREATEST(reltuples, 0)::int8 FROM pg_class WHERE oid = to_regclass('resource_version')), 0)",
            &[],
        )
        .await
        .map_err(backend)?;
    let estimate: i64 = row.try_get(0).map_err(backend)?;
    Ok(u64::try_from(estimate).unwrap_or(0))
}

/// Warns at start-up when autovacuum is off: then nothing but this module's `ANALYZE`s keeps the
/// statistics, and nothing removes dead rows or marks pages all-visible (index-only scans read
/// the table for every row).
pub(crate) async fn check_autovacuum(client: &tokio_postgres::Client) -> Result<(), StoreError> {
    let row = client.query_one("SELECT current_setting('autovacuum')", &[]).await.map_err(backend)?;
    let setting: String = row.try_get(0).map_err(backend)?;
    if setting != "on" {
        tracing::warn!(
            autovacuum = %setting,
            "PostgreSQL's autovacuum is off: dead rows stay and index-only scans visit the table; \
             run VACUUM ANALYZE regularly or turn autovacuum on"
        );
    }
    Ok(())
}

impl Analyzer {
    /// An analyzer for a database that holds `versions` (the planner's estimate) already.
    pub(crate) fn holding(versions: u64) -> Analyzer {
        Analyzer { total: AtomicU64::new(versions), ..Analyzer::default() }
    }

    /// Counts committed versions and starts (or schedules) a background `ANALYZE` when enough
    /// accumulated.
    pub(crate) fn committed(self: &Arc<Self>, pool: &Pool, writes: u64) {
        if writes == 0 {
            return;
        }
        let since = self.since.fetch_add(writes, Ordering::Relaxed).saturating_add(writes);
        match due(since, self.total.load(Ordering::Relaxed)) {
            Due::No => {}
            Due::Now => self.start(pool),
            Due::AfterInterval => {
                let wait = self.until_interval();
                if wait.is_zero() {
                    self.start(pool);
                } else if !self.scheduled.swap(true, Ordering::AcqRel) {
                    let (analyzer, pool) = (Arc::clone(self), pool.clone());
                    let scheduled = spawn(async move {
                        tokio::time::sleep(wait).await;
                        analyzer.scheduled.store(false, Ordering::Release);
                        let since = analyzer.since.load(Ordering::Relaxed);
                        if due(since, analyzer.total.load(Ordering::Relaxed)) != Due::No {
                            analyzer.start(&pool);
                        }
                    });
                    if !scheduled {
                        self.scheduled.store(false, Ordering::Release);
                    }
                }
            }
        }
    }

    /// How long until `MIN_INTERVAL` has passed since the last `ANALYZE` started.
    fn until_interval(&self) -> Duration {
        let last = *self.last_started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        last.map_or(Duration::ZERO, |last| MIN_INTERVAL.saturating_sub(last.elapsed()))
    }

    /// Starts a background `ANALYZE` unless one is running.
    fn start(self: &Arc<Self>, pool: &Pool) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let since = self.since.swap(0, Ordering::Relaxed);
        self.total.fetch_add(since, Ordering::Relaxed);
        *self.last_started.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        let (analyzer, pool) = (Arc::clone(self), pool.clone());
        let started = spawn(async move {
            match pool.get().await {
                Ok(client) => {
                    let sql = "SET statement_timeout = 0; ANALYZE resource, resource_version, search_token, \
                               search_string, search_date, search_date_envelope, search_number, search_quantity, search_reference, \
                               search_uri, search_composite; RESET statement_timeout";
                    if let Err(error) = client.batch_execute(sql).await {
                        tracing::warn!(%error, "background ANALYZE failed");
                    }
                }
                Err(error) => tracing::warn!(%error, "no connection for a background ANALYZE"),
            }
            analyzer.running.store(false, Ordering::Release);
        });
        if !started {
            self.running.store(false, Ordering::Release);
        }
    }
}

/// Spawns `task` on the current runtime; false outside one.
fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            drop(runtime.spawn(task));
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Due, MIN_WRITES, due};

    #[test]
    fn statistics_are_refreshed_at_once_when_the_data_doubles_and_after_an_interval_at_a_tenth() {
        assert_eq!(due(MIN_WRITES - 1, 0), Due::No, "a few writes to an empty database");
        assert_eq!(due(MIN_WRITES, 0), Due::Now);
        assert_eq!(due(5_000, 108_315), Due::No);
        assert_eq!(due(10_832, 108_315), Due::AfterInterval);
        assert_eq!(due(108_315, 108_315), Due::Now);
    }
}
