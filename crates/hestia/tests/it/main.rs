//! Integration tests: the real router on a real socket (testkit), and the real `hestia` binary
//! where a process boundary matters (import, crash durability). The only test binary of the crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "tests assert by panicking and report figures"
)]

mod backup;
mod bench;
mod bundle;
mod conditional;
mod crud;
mod custom_params;
mod date_ranges;
mod errors;
mod examples;
mod history;
mod patch;
mod postgres;
mod process;
mod search;
mod search_synthea;
mod synthea;
mod tidy;

use serde_json::{Value, json};

/// A minimal valid Patient with an identifier.
pub(crate) fn patient(mrn: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:test:mrn", "value": mrn}],
        "name": [{"family": "Test", "given": ["Case"]}],
        "gender": "female",
        "birthDate": "1970-01-01"
    })
}
