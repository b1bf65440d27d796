//! The single walk over a resource's JSON, resolving every property against the model.

use fhir_model::{ElementDef, Location, Property};
use serde_json::{Map, Value};

use crate::issue::{Issue, IssueType, Severity};
use crate::validator::Validator;

/// Objects nested deeper than this are not descended into, by every walk of this crate (no
/// stack overflow on hostile input).
pub(crate) const MAX_DEPTH: usize = 100;

/// The state of one validation: the issues so far and the FHIRPath of the current value.
pub(crate) struct Walker<'v> {
    pub(crate) validator: &'v Validator,
    issues: Vec<Issue>,
    path: String,
    depth: usize,
}

/// A property of an object, as found in pass one of [`Walker::object`].
struct Seen<'m> {
    element: &'m ElementDef,
    /// The JSON key without a leading `_` (`valueString` for `_valueString`).
    key: &'m str,
}

impl<'v> Walker<'v> {
    pub(crate) fn new(validator: &'v Validator, root: &str) -> Walker<'v> {
        Walker { validator, issues: Vec::new(), path: root.to_owned(), depth: 0 }
    }

    pub(crate) fn finish(self) -> Vec<Issue> {
        self.issues
    }

    pub(crate) fn issue(&mut self, severity: Severity, code: IssueType, message: String) {
        self.issues.push(Issue { severity, code, expression: self.path.clone(), message });
    }

    pub(crate) fn error(&mut self, code: IssueType, message: String) {
        self.issue(Severity::Error, code, message);
    }

    /// Appends `.segment` to the path; returns the mark to [`Walker::leave`] with.
    pub(crate) fn enter(&mut self, segment: &str) -> usize {
        let mark = self.path.len();
        self.path.push('.');
        self.path.push_str(segment);
        mark
    }

    pub(crate) fn enter_index(&mut self, index: usize) -> usize {
        let mark = self.path.len();
        self.path.push('[');
        self.path.push_str(&index.to_string());
        self.path.push(']');
        mark
    }

    pub(crate) fn leave(&mut self, mark: usize) {
        self.path.truncate(mark);
    }

    /// A whole resource (the root, or `contained`, `Bundle.entry.resource`, ...).
    pub(crate) fn resource(&mut self, value: &Value) {
        let Some(object) = value.as_object() else {
            self.error(IssueType::Structure, "a resource must be a JSON object".to_owned());
            return;
        };
        let model = self.validator.model;
        match object.get("resourceType") {
            None => self.error(IssueType::Required, "resourceType is missing".to_owned()),
            Some(Value::String(name)) if model.is_resource_type(name) => self.object(&Location::root(name), object),
            Some(Value::String(name)) => {
                self.error(IssueType::Invalid, format!("'{name}' is not a known concrete resource type"));
            }
            Some(_) => self.error(IssueType::Structure, "resourceType must be a JSON string".to_owned()),
        }
    }

    /// An object whose properties are defined at `at`: pass one checks every property, pass two
    /// the cardinality and choices of every element defined there.
    pub(crate) fn object(&mut self, at: &Location, object: &Map<String, Value>) {
        if object.is_empty() {
            self.error(IssueType::Structure, "object must not be empty".to_owned());
            return;
        }
        if self.depth >= MAX_DEPTH {
            self.error(IssueType::Structure, "nested too deeply".to_owned());
            return;
        }
        self.depth += 1;
        let model = self.validator.model;
        let is_resource_root = at.path == at.type_name && model.is_resource_type(&at.type_name);
        let mut seen: Vec<Seen<'_>> = Vec::with_capacity(object.len());
        for (key, value) in object {
            if is_resource_root && key == "resourceType" {
                continue;
            }
            let (base, is_extension) = match key.strip_prefix('_') {
                Some(base) => (base, true),
                None => (key.as_str(), false),
            };
            let property = if base.contains(['[', '.']) { None } else { model.property(at, base) };
            let property = property.filter(|p| !is_extension || self.validator.primitives.contains_key(p.type_code));
            // The R4 snapshots type `Resource.id` as a plain string; resource.html defines it as `id`.
            let property = match property {
                Some(p) if is_resource_root && base == "id" => Some(Property { type_code: "id", ..p }),
                other => other,
            };
            let Some(property) = property else {
                let mark = self.enter(key);
                self.error(IssueType::Structure, "unknown element".to_owned());
                self.leave(mark);
                continue;
            };
            let mark = self.enter_element(&property);
            if is_extension {
                self.primitive_extension(property.element, value, object.get(base));
            } else {
                self.property(&property, key, value, object);
            }
            self.leave(mark);
            seen.push(Seen { element: property.element, key: base });
        }
        self.cardinality(at, object, &seen);
        self.depth -= 1;
    }

    /// Appends the FHIRPath name of a property: `name`, or `value.ofType(Quantity)` for choices.
    fn enter_element(&mut self, property: &Property<'_>) -> usize {
        let name = property.element.name();
        match name.strip_suffix("[x]") {
            Some(base) => self.enter(&format!("{base}.ofType({})", property.type_code)),
            None => self.enter(name),
        }
    }

    /// Pass two of [`Walker::object`]: required elements, repetitions, one choice at most.
    fn cardinality(&mut self, at: &Location, object: &Map<String, Value>, seen: &[Seen<'_>]) {
        let Some(def) = self.validator.model.type_def(&at.type_name) else {
            return;
        };
        for element in def.children(&at.path) {
            let mut keys: Vec<&str> = seen.iter().filter(|s| std::ptr::eq(s.element, element)).map(|s| s.key).collect();
            keys.sort_unstable();
            keys.dedup();
            let name = element.name().trim_end_matches("[x]");
            let mark = self.enter(name);
            if keys.len() > 1 {
                self.error(
                    IssueType::Structure,
                    format!("only one of {} is allowed, found {}", element.name(), keys.join(", ")),
                );
            }
            let count = keys.first().map_or(0, |key| {
                let len = |k: &str| match object.get(k) {
                    None => 0,
                    Some(Value::Array(items)) => items.len(),
                    Some(_) => 1,
                };
                len(key).max(len(&format!("_{key}")))
            });
            let min = usize::try_from(element.min).unwrap_or(usize::MAX);
            if count < min {
                let message = if count == 0 {
                    format!("{} is required (min {})", element.name(), element.min)
                } else {
                    format!("{} needs at least {} entries, found {count}", element.name(), element.min)
                };
                self.error(IssueType::Required, message);
            }
            if count > 0 && element.max_count() == Some(0) {
                self.error(IssueType::Structure, format!("{} is not allowed (max 0)", element.name()));
            }
            self.leave(mark);
        }
        if at.path == "Extension" {
            let has = |path: &str| seen.iter().any(|s| s.element.path == path);
            let nested = has("Extension.extension");
            if nested == has("Extension.value[x]") {
                let message = if nested {
                    "an extension must not have both extensions and a value[x]"
                } else {
                    "an extension must have either extensions or a value[x]"
                };
                self.error(IssueType::Invariant, message.to_owned());
            }
        }
    }

    /// The value of `key` in `object` (the path already names the property).
    fn property(&mut self, property: &Property<'_>, key: &str, value: &Value, object: &Map<String, Value>) {
        let element = property.element;
        let is_primitive = self.validator.primitives.contains_key(property.type_code);
        if !element.is_array() {
            if value.is_array() {
                self.error(IssueType::Structure, format!("must not be an array (max {})", element.max));
            } else {
                self.value(property, value);
            }
            return;
        }
        let Value::Array(items) = value else {
            self.error(IssueType::Structure, "must be an array, as the element repeats".to_owned());
            return;
        };
        if items.is_empty() {
            self.error(IssueType::Structure, "array must not be empty".to_owned());
            return;
        }
        if let Some(max) = element.max_count()
            && items.len() > usize::try_from(max).unwrap_or(usize::MAX)
        {
            self.error(IssueType::Structure, format!("at most {max} entries allowed, found {}", items.len()));
        }
        let extensions = if is_primitive { object.get(&format!("_{key}")).and_then(Value::as_array) } else { None };
        for (i, item) in items.iter().enumerate() {
            let mark = self.enter_index(i);
            if item.is_null() {
                let has_extension = extensions.and_then(|e| e.get(i)).is_some_and(|e| !e.is_null());
                if !has_extension {
                    self.error(
                        IssueType::Structure,
                        "null is only allowed where a primitive extension is present".to_owned(),
                    );
                }
            } else {
                self.value(property, item);
            }
            self.leave(mark);
        }
    }

    /// One value of an element, typed by `property.type_code`.
    fn value(&mut self, property: &Property<'_>, value: &Value) {
        if value.is_null() {
            self.error(IssueType::Structure, "null is not allowed".to_owned());
            return;
        }
        let type_code = property.type_code;
        if let Some(primitive) = self.validator.primitives.get(type_code) {
            self.primitive(type_code, primitive, value, property.element);
            return;
        }
        if self.validator.model.is_subtype(type_code, "Resource") {
            self.resource(value);
            return;
        }
        let Some(object) = value.as_object() else {
            let expected = if type_code.is_empty() { "an object" } else { type_code };
            self.error(IssueType::Structure, format!("must be a JSON object ({expected})"));
            return;
        };
        self.object(&property.location, object);
        if property.element.binding.is_some() {
            self.object_binding(property.element, type_code, object);
        }
    }
}
