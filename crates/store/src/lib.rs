//! store: what Hestia asks of a database, independent of which one.
//!
//! Owns: the `Store` and `Transaction` traits, `RequestContext` (tenant, actor, purpose of use,
//! access filter, request time), the injected `Clock` and `IdGenerator`, stored-resource and
//! history types, and `StoreError`.
//! Must not know: HTTP, SQL, FHIRPath, validation. Backends (`store-sqlite`, later
//! `store-postgres`) implement the traits; the REST layer only ever holds `Arc<dyn Store>`.
//! Invariants: every call carries a `RequestContext`; the backend applies `ctx.tenant` and
//! `ctx.access` inside its own queries, so no caller can forget them. A `Transaction` that is
//! dropped without `commit` leaves no trace.

mod backup;
mod clock;
mod context;
mod error;
mod resource;
mod traits;

pub use backup::BackupSummary;
pub use clock::{Clock, FixedClock, IdGenerator, SequentialIds, Timestamp};
pub use context::{AccessFilter, Actor, RequestContext, TenantId};
pub use error::StoreError;
pub use resource::{HistoryEntry, HistoryPage, HistoryQuery, HistoryScope, Method, StoredResource, WriteVersion};
pub use traits::{SearchPage, Store, Transaction};
