//! The FHIRPath invariants of the base definitions (`constraint` with severity `error`),
//! compiled once and evaluated on every element instance of a resource.
//!
//! An element instance is checked against the constraints of the element definition it
//! instantiates plus those of the definition its children come from (the datatype's root,
//! `Period` for `per-1`; the target of a content reference, `Questionnaire.item` for
//! `Questionnaire.item.item`); a resource against its root element (`dom-*` included). `true`
//! and empty satisfy a constraint, `false` violates it; evaluation errors are counted, not
//! reported. `ele-1` is checked natively (structural validation already rejects empty objects
//! and arrays; what is left is a primitive whose `_name` carries nothing but an `id`), and so is
//! `dom-3` (`crate::contained`: its expression walks the whole container seven times per
//! contained resource).

use foldhash::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use fhir_model::{Location, Model};
use fhirpath::{EvalContext, Expression, Node};
use serde_json::{Map, Value};

use crate::issue::{Issue, IssueType, Severity};
use crate::validator::InvariantCheck;
use crate::walk::MAX_DEPTH;

/// Invariant keys never evaluated, with the reason: `tests/skipped-invariants.txt`.
const SKIPPED: &str = include_str!("../tests/skipped-invariants.txt");

/// Invariants checked in Rust instead of by their expression (see the module comment).
const NATIVE: [&str; 2] = ["ele-1", "dom-3"];

/// One compiled constraint.
struct Compiled {
    key: &'static str,
    human: &'static str,
    expression: Expression,
    errors: AtomicUsize,
}

/// The standard invariants of a model, ready to check any resource.
pub struct StandardInvariants {
    model: &'static Model,
    compiled: Vec<Compiled>,
    /// Element path (`Patient.contact`, `Period`) → indexes into `compiled`.
    by_path: HashMap<&'static str, Vec<usize>>,
    unparsable: Vec<(&'static str, String)>,
    /// The definition's wording of `dom-3`, which is checked natively.
    dom_3_human: &'static str,
}

/// The keys listed in `tests/skipped-invariants.txt`.
pub fn skipped_invariant_keys() -> impl Iterator<Item = &'static str> {
    SKIPPED.lines().filter_map(|line| line.split('#').next()).map(str::trim).filter(|key| !key.is_empty())
}

impl StandardInvariants {
    /// Compiles every error-severity constraint of every type of `model` (once).
    pub fn new(model: &'static Model) -> StandardInvariants {
        let skipped: HashSet<&str> = skipped_invariant_keys().chain(NATIVE).collect();
        let mut out = StandardInvariants {
            model,
            compiled: Vec::new(),
            by_path: HashMap::default(),
            unparsable: Vec::new(),
            dom_3_human: "",
        };
        let mut seen_types: HashSet<&str> = HashSet::default();
        let mut pending: Vec<&'static str> = model.resource_types().iter().map(String::as_str).collect();
        pending.extend(["Resource", "DomainResource", "Element", "Extension"]);
        while let Some(name) = pending.pop() {
            if !seen_types.insert(name) {
                continue;
            }
            let Some(def) = model.type_def(name) else {
                continue;
            };
            for element in &def.elements {
                pending.extend(element.types.iter().map(|t| t.code.as_str()));
                for constraint in &element.constraints {
                    if constraint.key == "dom-3" {
                        out.dom_3_human = &constraint.human;
                    }
                    if constraint.severity != "error" || skipped.contains(constraint.key.as_str()) {
                        continue;
                    }
                    match fhirpath::parse(&constraint.expression) {
                        Ok(expression) => {
                            out.by_path.entry(element.path.as_str()).or_default().push(out.compiled.len());
                            out.compiled.push(Compiled {
                                key: &constraint.key,
                                human: &constraint.human,
                                expression,
                                errors: AtomicUsize::new(0),
                            });
                        }
                        Err(error) => out.unparsable.push((constraint.key.as_str(), error.to_string())),
                    }
                }
            }
        }
        out.unparsable.sort_unstable();
        out.unparsable.dedup();
        out
    }

    /// How many constraints were compiled (each element definition's own copy counts).
    pub fn compiled_count(&self) -> usize {
        self.compiled.len()
    }

    /// Constraints whose expression the engine rejects (never evaluated): key and error.
    pub fn unparsable(&self) -> &[(&'static str, String)] {
        &self.unparsable
    }

    /// Evaluation errors so far, per constraint key (the constraint was then skipped).
    pub fn evaluation_errors(&self) -> Vec<(&'static str, usize)> {
        let mut out: HashMap<&'static str, usize> = HashMap::default();
        for c in &self.compiled {
            let n = c.errors.load(Ordering::Relaxed);
            if n > 0 {
                *out.entry(c.key).or_default() += n;
            }
        }
        let mut out: Vec<(&'static str, usize)> = out.into_iter().collect();
        out.sort_unstable();
        out
    }

    fn constraints(&self, path: &str) -> &[usize] {
        self.by_path.get(path).map_or(&[], Vec::as_slice)
    }
}

impl std::fmt::Debug for StandardInvariants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardInvariants")
            .field("compiled", &self.compiled.len())
            .field("unparsable", &self.unparsable.len())
            .finish_non_exhaustive()
    }
}

impl InvariantCheck for StandardInvariants {
    fn check(&self, resource: &Value, out: &mut Vec<Issue>) {
        let mut walk = Walk { invariants: self, root: resource, path: String::new(), depth: 0, out };
        walk.resource(resource);
    }
}

/// One check of one root resource.
struct Walk<'i, 'r, 'o> {
    invariants: &'i StandardInvariants,
    root: &'r Value,
    path: String,
    depth: usize,
    out: &'o mut Vec<Issue>,
}

impl<'r> Walk<'_, 'r, '_> {
    fn resource(&mut self, value: &'r Value) {
        let Some(object) = value.as_object() else {
            return;
        };
        let Some(name) = object.get("resourceType").and_then(Value::as_str) else {
            return;
        };
        if !self.invariants.model.is_resource_type(name) {
            return;
        }
        if self.path.is_empty() {
            self.path.push_str(name);
        }
        let ctx = EvalContext::new().with_resource(value).with_root_resource(self.root);
        let location = Location::root(name);
        self.evaluate(&ctx, value, &location, name, &[name]);
        for (index, id) in crate::contained::unreferenced_contained(self.invariants.model, value) {
            self.out.push(Issue {
                severity: Severity::Error,
                code: IssueType::Invariant,
                expression: format!("{}.contained[{index}]", self.path),
                message: format!(
                    "dom-3: {} (contained resource '{id}' is not referenced)",
                    self.invariants.dom_3_human
                ),
            });
        }
        self.object(&ctx, &location, object);
    }

    /// Evaluates the constraints of the element paths `paths` (without repeats) on `value`.
    fn evaluate(
        &mut self,
        ctx: &EvalContext<'r>,
        value: &'r Value,
        location: &Location,
        type_code: &str,
        paths: &[&str],
    ) {
        let invariants = self.invariants;
        let mut done: Vec<&str> = Vec::new();
        let mut node = None;
        for &index in paths.iter().flat_map(|p| invariants.constraints(p)) {
            let Some(compiled) = invariants.compiled.get(index) else {
                continue;
            };
            if done.contains(&compiled.key) {
                continue;
            }
            done.push(compiled.key);
            let node = *node.get_or_insert_with(|| Node::at(value, location, type_code));
            match compiled.expression.evaluate_bool_node(ctx, node) {
                Ok(Some(true) | None) => {}
                Ok(Some(false)) => self.out.push(Issue {
                    severity: Severity::Error,
                    code: IssueType::Invariant,
                    expression: self.path.clone(),
                    message: format!("{}: {}", compiled.key, compiled.human),
                }),
                Err(_) => {
                    compiled.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn object(&mut self, ctx: &EvalContext<'r>, at: &Location, object: &'r Map<String, Value>) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        let model = self.invariants.model;
        for (key, value) in object {
            if key == "resourceType" {
                continue;
            }
            if let Some(base) = key.strip_prefix('_') {
                self.companion(ctx, object, base, value);
                continue;
            }
            let Some(property) = model.property(at, key) else {
                continue;
            };
            let mark = self.path.len();
            match property.element.name().strip_suffix("[x]") {
                Some(base) => {
                    self.path.push('.');
                    self.path.push_str(base);
                    self.path.push_str(".ofType(");
                    self.path.push_str(property.type_code);
                    self.path.push(')');
                }
                None => {
                    self.path.push('.');
                    self.path.push_str(key);
                }
            }
            let paths = [property.element.path.as_str(), property.location.path.as_str()];
            let paths = if paths[0] == paths[1] { &paths[..1] } else { &paths[..] };
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_mark = self.path.len();
                        self.path.push_str(&format!("[{i}]"));
                        self.value(ctx, &property.location, property.type_code, paths, item);
                        self.path.truncate(item_mark);
                    }
                }
                _ => self.value(ctx, &property.location, property.type_code, paths, value),
            }
            self.path.truncate(mark);
        }
        self.depth -= 1;
    }

    fn value(&mut self, ctx: &EvalContext<'r>, location: &Location, type_code: &str, paths: &[&str], value: &'r Value) {
        if value.is_null() {
            return;
        }
        if value.get("resourceType").is_some() && self.invariants.model.is_subtype(type_code, "Resource") {
            // `%rootResource` is the container of a contained resource; any other nested
            // resource (a Bundle entry, a Parameters value) is its own root (fhirpath.html).
            let contained = paths.first().is_some_and(|p| p.ends_with(".contained"));
            if contained {
                self.resource(value);
            } else {
                let root = std::mem::replace(&mut self.root, value);
                self.resource(value);
                self.root = root;
            }
            return;
        }
        self.evaluate(ctx, value, location, type_code, paths);
        if let Value::Object(object) = value {
            self.object(ctx, location, object);
        }
    }

    /// The `_name` companion of a primitive: `ele-1` (natively) and the extensions inside.
    fn companion(&mut self, ctx: &EvalContext<'r>, object: &'r Map<String, Value>, base: &str, value: &'r Value) {
        let element = Location::root("Element");
        let mark = self.path.len();
        self.path.push('.');
        self.path.push_str(base);
        let values = object.get(base);
        let check = |walk: &mut Self, item: &'r Value, primitive: Option<&Value>| {
            let Value::Object(companion) = item else {
                return;
            };
            let has_value = primitive.is_some_and(|v| !v.is_null());
            if !has_value && !companion.contains_key("extension") {
                walk.out.push(Issue {
                    severity: Severity::Error,
                    code: IssueType::Invariant,
                    expression: walk.path.clone(),
                    message: "ele-1: All FHIR elements must have a @value or children".to_owned(),
                });
            }
            walk.object(ctx, &element, companion);
        };
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_mark = self.path.len();
                    self.path.push_str(&format!("[{i}]"));
                    check(self, item, values.and_then(|v| v.get(i)));
                    self.path.truncate(item_mark);
                }
            }
            _ => check(self, value, values),
        }
        self.path.truncate(mark);
    }
}
