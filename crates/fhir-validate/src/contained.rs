//! `dom-3`, checked natively: every contained resource with an id is referenced from elsewhere
//! in its container (`#id`), or itself refers to its container (`#`).
//!
//! Why natively: the definition's expression walks `descendants()` of the whole container seven
//! times for each contained resource. Synthea writes a Claim and an ExplanationOfBenefit with
//! contained resources for every encounter, and that one invariant cost more than every other
//! invariant together. The semantics here are the expression's, read with the engine's rules:
//! - `%resource.descendants().reference`: every `reference` child with a string value, at any
//!   depth of the container (contained resources included);
//! - `.as(canonical) | .as(uri) | .as(url)`: every primitive whose element type is exactly one
//!   of those three (`as()` on a FHIR primitive does not follow the type hierarchy, so `oid`
//!   and `uuid` values are not included);
//! - a contained resource without an id is not checked (`'#' + id` is empty, so its `where`
//!   criterion is empty, not true).

use std::collections::HashSet;

use fhir_model::{Location, Model};
use serde_json::{Map, Value};

use crate::walk::MAX_DEPTH;

/// The contained resources (index in `contained`, id) that `dom-3` rejects.
pub(crate) fn unreferenced_contained<'r>(model: &Model, resource: &'r Value) -> Vec<(usize, &'r str)> {
    let Some(contained) = resource.get("contained").and_then(Value::as_array) else {
        return Vec::new();
    };
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut targets = LocalTargets { model, found: HashSet::new() };
    if let Some(object) = resource.as_object() {
        targets.object(&Location::root(resource_type), object, 0);
    }
    let container = targets.found;
    contained
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let id = item.get("id")?.as_str()?;
            let referenced = container.contains(format!("#{id}").as_str());
            (!referenced && !refers_to_container(model, item)).then_some((index, id))
        })
        .collect()
}

/// Whether a contained resource holds a reference (or a uri-typed value) that is exactly `#`.
fn refers_to_container(model: &Model, item: &Value) -> bool {
    let (Some(object), Some(kind)) = (item.as_object(), item.get("resourceType").and_then(Value::as_str)) else {
        return false;
    };
    let mut targets = LocalTargets { model, found: HashSet::new() };
    targets.object(&Location::root(kind), object, 0);
    targets.found.contains("#")
}

/// Collects the local references (`#…`) of one resource and everything inside it.
struct LocalTargets<'m, 'r> {
    model: &'m Model,
    found: HashSet<&'r str>,
}

impl<'r> LocalTargets<'_, 'r> {
    fn object(&mut self, at: &Location, object: &'r Map<String, Value>, depth: usize) {
        if depth >= MAX_DEPTH {
            return;
        }
        for (key, value) in object {
            if key == "reference"
                && let Some(text) = value.as_str()
            {
                self.local(text);
                continue;
            }
            if key == "resourceType" || key.starts_with('_') {
                continue;
            }
            let Some(property) = self.model.property(at, key) else {
                continue;
            };
            let is_uri = matches!(property.type_code, "uri" | "url" | "canonical");
            let items = match value {
                Value::Array(items) => items.as_slice(),
                one => std::slice::from_ref(one),
            };
            for item in items {
                match item {
                    Value::String(text) if is_uri => self.local(text),
                    Value::Object(child) => match child.get("resourceType").and_then(Value::as_str) {
                        Some(kind) if self.model.is_resource_type(kind) => {
                            self.object(&Location::root(kind), child, depth + 1);
                        }
                        _ => self.object(&property.location, child, depth + 1),
                    },
                    _ => {}
                }
            }
        }
    }

    fn local(&mut self, text: &'r str) {
        if text.starts_with('#') {
            self.found.insert(text);
        }
    }
}
