//! Planner statistics kept up with bulk writes. Autovacuum analyzes a table only after its
//! naptime; right after an import the planner would still believe the tables are empty and pick
//! nested loops over thousands of rows. So each node runs `ANALYZE` in the background once the
//! versions it wrote since the last one reach a tenth of all it has written (at least
//! `MIN_WRITES`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use deadpool_postgres::Pool;

const MIN_WRITES: u64 = 2000;

#[derive(Default)]
pub(crate) struct Analyzer {
    since: AtomicU64,
    total: AtomicU64,
    running: AtomicBool,
}

impl Analyzer {
    /// Counts committed versions and starts a background `ANALYZE` when enough accumulated.
    pub(crate) fn committed(self: &Arc<Self>, pool: &Pool, writes: u64) {
        if writes == 0 {
            return;
        }
        let since = self.since.fetch_add(writes, Ordering::Relaxed).saturating_add(writes);
        let total = self.total.fetch_add(writes, Ordering::Relaxed).saturating_add(writes);
        if since < MIN_WRITES.max(total / 10) || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.since.store(0, Ordering::Relaxed);
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
