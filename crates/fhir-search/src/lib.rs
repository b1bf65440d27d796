//! fhir-search: FHIR search independent of any database.
//!
//! Owns: the search IR (`SearchQuery`, `Filter`), parsing of search parameters from a URL into it,
//! the per-resource-type registry of searchable parameters (from every R4 SearchParameter), and
//! extraction of index values (`IndexEntries`) from a resource.
//! Must not know: SQL, HTTP, which backend runs. Backends translate the IR into their dialect.
//! Invariants: a parameter is listed as supported only if it is both extracted on write and
//! understood on search; everything else is rejected (strict) or reported as ignored (lenient).

mod base;
mod custom;
mod date;
mod extract;
mod index;
mod ir;
mod parse;
mod registry;
mod value_sets;
mod window;

pub use base::OwnBase;
pub use custom::definition_from_resource;
pub use date::{DateRange, parse_date_range};
pub use extract::extract;
pub use index::{
    CompositeEntry, CompositeValue, DateEntry, IndexEntries, NumberEntry, QuantityEntry, ReferenceEntry, StringEntry,
    TokenEntry, UriEntry, normalize,
};
pub use ir::{
    CompositePart, DateCondition, Filter, Include, IndexTable, NumberCondition, Prefix, ReferenceMatch, SearchQuery,
    Sort, SortKey, StringMode, TokenMatch, TotalMode, UriMode,
};
pub use parse::{ParsedSearch, SearchError, SearchOptions, SummaryMode, parse_search, parse_search_types};
pub use registry::{IndexedParam, SearchRegistry};
pub use value_sets::{
    NO_VALUE_SETS, Subsumption, ValueSetCodes, subsumption_key, subsumptions_named, value_sets_named,
};
pub use window::{
    ClassRange, DateEnvelope, DateWindow, OPEN_SPAN_CLASS, SPAN_LIMITS, date_windows, envelopes, span_class,
};
