//! fhir-rest: the FHIR R4 REST API (axum).
//!
//! Owns: routing, content negotiation, FHIR headers (ETag, If-Match, Prefer), validation on
//! write, Bundle assembly (search, history, batch, transaction) and the one error → HTTP →
//! OperationOutcome table.
//! Must not know: SQL, which backend runs, how tokens are minted.
//! Talks to storage only through `store::Store` with a `RequestContext` built in `context.rs`.
//! Invariants: every handler gets tenant, actor and time from `RequestContext`; no 5xx body
//! contains backend text; every write is validated and goes through `write.rs`.

mod body;
mod bundle;
mod context;
mod error;
mod headers;
pub mod import;
mod interaction;
mod negotiate;
mod outcome;
mod params;
mod reindex;
mod router;
mod state;
mod value_sets;
mod write;

pub use error::{ApiError, Code};
pub use reindex::watch_search_parameters;
pub use router::{router, serve};
pub use state::{AppState, RestConfig};
