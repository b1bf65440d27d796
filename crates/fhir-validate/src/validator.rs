//! The public entry point: a validator built once per model, reused for every resource.

use foldhash::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use fhir_model::Model;
use serde_json::Value;

use crate::invariant::StandardInvariants;
use crate::issue::Issue;
use crate::primitive::Primitive;
use crate::walk::Walker;

/// Checks that structural validation cannot do (FHIRPath invariants). Called once per validated
/// resource, after the structural checks, and only when those found no error.
pub trait InvariantCheck: Send + Sync {
    fn check(&self, resource: &Value, out: &mut Vec<Issue>);
}

impl InvariantCheck for &'static StandardInvariants {
    fn check(&self, resource: &Value, out: &mut Vec<Issue>) {
        (**self).check(resource, out);
    }
}

/// The standard invariants of `model`, compiled on first use and kept for the process.
pub fn standard_invariants(model: &'static Model) -> &'static StandardInvariants {
    static COMPILED: Mutex<Vec<(usize, &'static StandardInvariants)>> = Mutex::new(Vec::new());
    let id = std::ptr::from_ref(model) as usize;
    let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, found)) = compiled.iter().find(|(m, _)| *m == id) {
        return found;
    }
    let leaked: &'static StandardInvariants = Box::leak(Box::new(StandardInvariants::new(model)));
    compiled.push((id, leaked));
    leaked
}

/// Validates resources against one model. Cheap to share: build it once, validate many times.
pub struct Validator {
    pub(crate) model: &'static Model,
    /// Every primitive type reachable from the resource types, with its compiled regex.
    pub(crate) primitives: HashMap<&'static str, Primitive>,
    invariants: Option<Box<dyn InvariantCheck>>,
}

impl Validator {
    /// Structural validation plus the model's FHIRPath invariants ([`StandardInvariants`],
    /// compiled once per model and shared by every validator of that model).
    pub fn new(model: &'static Model) -> Validator {
        let standard: &'static StandardInvariants = standard_invariants(model);
        Validator::structural(model).with_invariants(Box::new(standard))
    }

    /// Structural validation only (no invariants unless added with [`Validator::with_invariants`]).
    pub fn structural(model: &'static Model) -> Validator {
        Validator { model, primitives: primitives(model), invariants: None }
    }

    /// Adds the invariant hook, run after the structural checks found no error.
    #[must_use]
    pub fn with_invariants(mut self, invariants: Box<dyn InvariantCheck>) -> Validator {
        self.invariants = Some(invariants);
        self
    }

    /// Every problem in `resource`, in document order; empty when it is valid.
    pub fn validate(&self, resource: &Value) -> Vec<Issue> {
        let root = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .filter(|name| self.model.is_resource_type(name))
            .unwrap_or("Resource");
        let mut walker = Walker::new(self, root);
        walker.resource(resource);
        let mut issues = walker.finish();
        if let Some(invariants) = &self.invariants
            && !issues.iter().any(Issue::is_error)
        {
            invariants.check(resource, &mut issues);
        }
        issues
    }
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("primitives", &self.primitives.len())
            .field("invariants", &self.invariants.is_some())
            .finish_non_exhaustive()
    }
}

/// Finds every primitive type used by any element reachable from the resource types.
fn primitives(model: &'static Model) -> HashMap<&'static str, Primitive> {
    let mut seen: HashSet<&'static str> = HashSet::default();
    let mut pending: Vec<&'static str> = model.resource_types().iter().map(String::as_str).collect();
    pending.extend(["Resource", "Element", "Extension"]);
    let mut out = HashMap::default();
    while let Some(name) = pending.pop() {
        if !seen.insert(name) {
            continue;
        }
        let Some(def) = model.type_def(name) else {
            continue;
        };
        if def.is_primitive() {
            out.insert(name, Primitive::new(model, def));
        }
        for element in &def.elements {
            pending.extend(element.types.iter().map(|t| t.code.as_str()).filter(|code| !seen.contains(code)));
        }
    }
    out
}
