//! search-sql: the FHIR search IR as SQL over Hestia's schema, for both relational backends.
//!
//! Owns: the translation of `fhir_search` filters, date windows and sort keys into predicates on a
//! `resource` row alias (chains and `_has` nest the same translation on another alias), the index
//! table names and the composite table's columns, and the few places where SQLite and PostgreSQL spell things differently
//! (`Dialect`), and the plan a backend follows from counts it runs: which filter finds a search's
//! candidates and which check them (`drive`), and where a walk in date order stops (`walk`).
//! The tenant and type predicates are added by `Sql::scoped` and by each subquery
//! here, and nowhere else.
//! Must not know: connections, drivers, how a backend encodes a bound value (it gets `Bound`s and
//! converts them), or how a page, a cursor or an include is run.

mod composite;
mod dialect;
mod drive;
mod include;
mod keyset;
mod translate;
mod walk;

pub use composite::CompositeColumns;
pub use dialect::{Bound, Dialect, KeyKind};
pub use drive::{
    Plan, SELECTIVITY_PROBE_LIMIT, WALK_MAX, WALK_PER_MATCH, Walk, Weighing, Weight, plan, walk_budget, weighings,
};
pub use include::include_statement;
pub use keyset::{Key, decode_cursor, encode_cursor, page_keys, page_statement};
pub use translate::{HAS_PROBE_LIMIT, Sql, Statement, table_name};
pub use walk::{DateWalk, DateWalkProbes, walk_order};
