//! Planner statistics kept up with bulk writes. Autovacuum analyzes a table only after its
//! naptime; right after an import the planner would still believe the tables are empty and pick
//! nested loops over thousands of rows. So each node runs `ANALYZE` in the background once the
//! versions it wrote since the last one reach as many as the database held before them (and at
//! least `MIN_WRITES`): whenever the data has doubled.
//!
//! Why doubling and not a tenth, as autovacuum does: the planner scales row counts to a table's
//! current size itself (it reads the table's pages and applies the sampled density), so what
//! stale statistics get wrong is the shape of the data, which moves when the data doubles, not
//! when it grows by a tenth. Each `ANALYZE` samples every table (2.5 s of PostgreSQL's time at
//! 108,315 resources); at a tenth, it ran every 13 s under the CRUD mix and took an eighth of
//! the database's CPU. Autovacuum still analyzes each table at its own pace.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use deadpool_postgres::Pool;
use store::StoreError;

use crate::connection::backend;

const MIN_WRITES: u64 = 2000;

#[derive(Default)]
pub(crate) struct Analyzer {
    since: AtomicU64,
    /// Versions in the database at the last `ANALYZE` (as far as this node knows: the planner's
    /// estimate at start-up, plus what it wrote since).
    total: AtomicU64,
    running: AtomicBool,
}

/// Whether `since` versions written after the last `ANALYZE` of `before` call for another.
fn due(since: u64, before: u64) -> bool {
    since >= MIN_WRITES.max(before)
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

impl Analyzer {
    /// An analyzer for a database that holds `versions` (the planner's estimate) already.
    pub(crate) fn holding(versions: u64) -> Analyzer {
        Analyzer { total: AtomicU64::new(versions), ..Analyzer::default() }
    }

    /// Counts committed versions and starts a background `ANALYZE` when enough accumulated.
    pub(crate) fn committed(self: &Arc<Self>, pool: &Pool, writes: u64) {
        if writes == 0 {
            return;
        }
        let since = self.since.fetch_add(writes, Ordering::Relaxed).saturating_add(writes);
        let before = self.total.load(Ordering::Relaxed);
        if !due(since, before) || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.since.store(0, Ordering::Relaxed);
        self.total.fetch_add(since, Ordering::Relaxed);
        let (analyzer, pool) = (Arc::clone(self), pool.clone());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.running.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(async move {
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
    }
}

#[cfg(test)]
mod tests {
    use super::{MIN_WRITES, due};

    #[test]
    fn statistics_are_refreshed_when_the_data_doubles() {
        assert!(!due(MIN_WRITES - 1, 0), "a few writes to an empty database");
        assert!(due(MIN_WRITES, 0));
        assert!(!due(50_000, 108_315), "a tenth more is not enough");
        assert!(due(108_315, 108_315));
    }
}
