//! Integration tests: the official FHIRPath R4 suite and property tests.

mod core;
mod patch;
mod props;
mod suite;
mod xml;
