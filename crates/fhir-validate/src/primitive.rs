//! Primitive values: their JSON type, their format (the definitions' regex) and the `_name`
//! siblings that carry their `id` and extensions.

use fhir_model::{ElementDef, Location, Model, TypeDef};
use regex::Regex;
use serde_json::Value;

use crate::issue::{IssueType, Severity};
use crate::walk::Walker;

/// How a primitive is written in JSON (FHIR JSON format: booleans and numbers are native).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    Boolean,
    Integer,
    Decimal,
    String,
}

#[derive(Debug)]
pub(crate) struct Primitive {
    kind: JsonKind,
    /// The definitions' regex for the value, anchored; `None` when there is none (`xhtml`) or
    /// it does not compile.
    regex: Option<Regex>,
    is_xhtml: bool,
}

impl Primitive {
    pub(crate) fn new(model: &Model, def: &TypeDef) -> Primitive {
        let kind = if model.is_subtype(&def.name, "boolean") {
            JsonKind::Boolean
        } else if model.is_subtype(&def.name, "integer") {
            JsonKind::Integer
        } else if model.is_subtype(&def.name, "decimal") {
            JsonKind::Decimal
        } else {
            JsonKind::String
        };
        let regex = def
            .element(&format!("{}.value", def.name))
            .and_then(|value| value.regex.as_deref())
            .and_then(|pattern| Regex::new(&format!("^(?:{})$", xml_classes(pattern))).ok());
        Primitive { kind, regex, is_xhtml: def.name == "xhtml" }
    }

    #[cfg(test)]
    pub(crate) fn has_regex(&self) -> bool {
        self.regex.is_some()
    }
}

/// The definitions' regexes follow XML Schema, where `\s` is only space, tab, CR and LF; in Rust
/// it is any Unicode whitespace (so a no-break space would not be `\S`). Rewrites both classes
/// as nested classes, which also works inside brackets (`[ \r\n\t\S]`).
fn xml_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push_str("[ \\t\\n\\r]"),
            Some('S') => out.push_str("[^ \\t\\n\\r]"),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Walker<'_> {
    /// Checks one non-null primitive value of FHIR type `type_code`.
    pub(crate) fn primitive(&mut self, type_code: &str, primitive: &Primitive, value: &Value, element: &ElementDef) {
        let expected = match primitive.kind {
            JsonKind::Boolean => "boolean",
            JsonKind::Integer | JsonKind::Decimal => "number",
            JsonKind::String => "string",
        };
        let text = match (primitive.kind, value) {
            (JsonKind::Boolean, Value::Bool(_)) => return,
            (JsonKind::Integer, Value::Number(n)) => {
                if n.as_i64().and_then(|i| i32::try_from(i).ok()).is_none() {
                    self.error(IssueType::Value, format!("{type_code} value {n} is not a 32-bit integer"));
                    return;
                }
                n.to_string()
            }
            (JsonKind::Decimal, Value::Number(n)) => n.to_string(),
            (JsonKind::String, Value::String(s)) => {
                self.string(type_code, primitive, s, element);
                return;
            }
            _ => {
                let found = json_type(value);
                self.error(IssueType::Structure, format!("{type_code} must be a JSON {expected}, found {found}"));
                return;
            }
        };
        self.format(type_code, primitive, &text);
    }

    fn string(&mut self, type_code: &str, primitive: &Primitive, s: &str, element: &ElementDef) {
        if s.is_empty() {
            self.error(IssueType::Value, format!("{type_code} must not be empty"));
            return;
        }
        if primitive.is_xhtml {
            if !s.trim_start().starts_with("<div") {
                self.error(IssueType::Value, "xhtml must start with <div".to_owned());
            }
            return;
        }
        if s.trim().is_empty() {
            self.issue(Severity::Warning, IssueType::Value, format!("{type_code} is only whitespace"));
        }
        if self.format(type_code, primitive, s) && type_code == "code" {
            self.code_binding(element, s);
        }
    }

    /// Whether `text` matches the type's regex; reports it when not.
    fn format(&mut self, type_code: &str, primitive: &Primitive, text: &str) -> bool {
        let Some(regex) = &primitive.regex else {
            return true;
        };
        if regex.is_match(text) {
            return true;
        }
        let shown: String = text.chars().take(60).collect();
        let ellipsis = if shown.len() < text.len() { "..." } else { "" };
        self.error(IssueType::Value, format!("'{shown}{ellipsis}' is not a valid {type_code}"));
        false
    }

    /// The `_name` sibling of a primitive element: an object with only `id`/`extension`, or for
    /// repeating elements an array of them aligned with the values (`null` where there is none).
    /// `values` is the plain `name` sibling, if present.
    pub(crate) fn primitive_extension(&mut self, element: &ElementDef, value: &Value, values: Option<&Value>) {
        if !element.is_array() {
            self.element_extension(value);
            return;
        }
        let Some(items) = value.as_array() else {
            self.error(IssueType::Structure, "must be an array, as the element repeats".to_owned());
            return;
        };
        if items.is_empty() {
            self.error(IssueType::Structure, "array must not be empty".to_owned());
            return;
        }
        let values = values.and_then(Value::as_array);
        if let Some(values) = values
            && values.len() != items.len()
        {
            let message = format!("has {} entries but its primitive extensions have {}", values.len(), items.len());
            self.error(IssueType::Structure, message);
        }
        for (i, item) in items.iter().enumerate() {
            let mark = self.enter_index(i);
            if item.is_null() {
                // A null on both sides is reported with the values.
                if values.is_none() {
                    self.error(IssueType::Structure, "null is only allowed where the value is present".to_owned());
                }
            } else {
                self.element_extension(item);
            }
            self.leave(mark);
        }
    }

    fn element_extension(&mut self, value: &Value) {
        match value.as_object() {
            Some(object) => self.object(&Location::root("Element"), object),
            None => {
                let found = json_type(value);
                self.error(IssueType::Structure, format!("primitive extension must be a JSON object, found {found}"));
            }
        }
    }
}
