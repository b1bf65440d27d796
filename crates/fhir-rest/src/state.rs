//! What every handler can reach.

use std::sync::{Arc, Mutex, RwLock};

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
    /// Swapped whole when stored SearchParameters change; read it through `registry()`.
    pub(crate) registry: Arc<RwLock<Arc<SearchRegistry>>>,
    pub(crate) reindex: Arc<Mutex<crate::reindex::ReindexStatus>>,
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
        let registry = SearchRegistry::new(model).with_own_base(own_base(&config));
        AppState {
            store,
            clock,
            ids,
            registry: Arc::new(RwLock::new(Arc::new(registry))),
            reindex: Arc::new(Mutex::new(crate::reindex::ReindexStatus::default())),
            validator: Arc::new(Validator::new(model)),
            config: Arc::new(config),
        }
    }
}

impl AppState {
    /// The search parameters in force now.
    pub fn registry(&self) -> Arc<SearchRegistry> {
        match self.registry.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Search options from the configuration; `lenient` is `Prefer: handling=lenient`, and
    /// `value_sets` the expansions of the value sets the search names (`crate::value_sets`).
    pub(crate) fn search_options<'v>(
        &self,
        lenient: bool,
        value_sets: &'v fhir_search::ValueSetCodes,
    ) -> fhir_search::SearchOptions<'v> {
        fhir_search::SearchOptions {
            lenient,
            default_count: self.config.default_page_size,
            max_count: self.config.max_page_size,
            value_sets,
        }
    }

    pub(crate) fn set_registry(&self, registry: SearchRegistry) {
        let registry = Arc::new(registry.with_own_base(own_base(&self.config)));
        match self.registry.write() {
            Ok(mut guard) => *guard = registry,
            Err(poisoned) => *poisoned.into_inner() = registry,
        }
    }
}

/// Absolute references under the configured base are this server's own; with no base
/// configured, none are (see `fhir_search::OwnBase` for why not the `Host` header's).
fn own_base(config: &RestConfig) -> fhir_search::OwnBase {
    fhir_search::OwnBase::new(config.base_url.as_deref())
}
