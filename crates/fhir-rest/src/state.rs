//! What every handler can reach.

use std::sync::Arc;

use fhir_search::SearchRegistry;
use fhir_validate::Validator;
use store::{Clock, IdGenerator, Store};

#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Public base URL (`https://fhir.example.org/fhir`); when `None`, derived from `Host`.
    pub base_url: Option<String>,
    /// Largest request body accepted (413 past it).
    pub max_body_bytes: usize,
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// Largest transaction or batch bundle, in entries.
    pub max_bundle_entries: usize,
}

impl RestConfig {
    pub fn new() -> RestConfig {
        RestConfig {
            base_url: None,
            max_body_bytes: 32 * 1024 * 1024,
            default_page_size: 20,
            max_page_size: 1000,
            max_bundle_entries: 10_000,
        }
    }
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig::new()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    pub registry: Arc<SearchRegistry>,
    pub validator: Arc<Validator>,
    pub config: Arc<RestConfig>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        config: RestConfig,
    ) -> AppState {
        let model = fhir_model::r4();
        AppState {
            store,
            clock,
            ids,
            registry: Arc::new(SearchRegistry::new(model)),
            validator: Arc::new(Validator::new(model)),
            config: Arc::new(config),
        }
    }
}
