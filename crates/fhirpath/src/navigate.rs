//! Navigation through FHIR JSON, typed by the R4 definitions: members (with choice types and
//! primitive extensions), children and descendants.

use foldhash::HashMap;
use std::cell::RefCell;

use fhir_model::{Location, Model};
use serde_json::{Map, Value};

use crate::error::{Error, fail};
use crate::value::{Item, Node};

/// The FHIR type of a child and where its own children are defined.
#[derive(Clone, Copy)]
struct ChildType {
    fhir_type: &'static str,
    def_type: &'static str,
    def_path: &'static str,
}

const UNTYPED: ChildType = ChildType { fhir_type: "", def_type: "", def_path: "" };

fn model() -> &'static Model {
    fhir_model::r4()
}

type Resolved = Option<(ChildType, &'static str)>;

thread_local! {
    /// `child_type` answers by `type \u{1} path \u{1} key`. The answer is a pure function of
    /// the static model, and the same few thousand keys are asked on every resource, so each
    /// thread keeps its own table and never locks.
    static CHILD_TYPES: RefCell<(String, HashMap<Box<str>, Resolved>)> = RefCell::default();
}

/// Resolves a JSON key of an object defined at (`def_type`, `def_path`).
fn child_type(def_type: &str, def_path: &str, key: &str) -> Resolved {
    CHILD_TYPES.with(|cell| {
        let Ok(mut cache) = cell.try_borrow_mut() else {
            return resolve_child_type(def_type, def_path, key);
        };
        let (buffer, table) = &mut *cache;
        buffer.clear();
        for (i, part) in [def_type, def_path, key].into_iter().enumerate() {
            if i > 0 {
                buffer.push('\u{1}');
            }
            buffer.push_str(part);
        }
        if let Some(resolved) = table.get(buffer.as_str()) {
            return *resolved;
        }
        let resolved = resolve_child_type(def_type, def_path, key);
        // Only names the model knows are kept: they are finitely many, whereas unknown keys come
        // from the input and would let a client grow the table without bound.
        if resolved.is_some() {
            table.insert(buffer.as_str().into(), resolved);
        }
        resolved
    })
}

fn resolve_child_type(def_type: &str, def_path: &str, key: &str) -> Resolved {
    let model = model();
    let at = Location { type_name: def_type.to_owned(), path: def_path.to_owned() };
    let prop = model.property(&at, key)?;
    let def = model.type_def(&prop.location.type_name)?;
    let path = def.element(&prop.location.path).map_or(def.name.as_str(), |e| e.path.as_str());
    let mut fhir_type = prop.type_code;
    if fhir_type.is_empty() {
        fhir_type = def.element(&prop.location.path).and_then(|e| e.types.first()).map_or("", |t| t.code.as_str());
    }
    if key == "id" && def_type == def_path && model.is_resource_type(def_type) {
        // R4 types `Resource.id` as System.String; FHIRPath engines report it as `id`.
        fhir_type = "id";
    }
    Some((ChildType { fhir_type, def_type: def.name.as_str(), def_path: path }, prop.element.path.as_str()))
}

fn make_node<'a>(json: Option<&'a Value>, ext: Option<&'a Value>, ty: ChildType) -> Option<Item<'a>> {
    let json = json.filter(|v| !v.is_null());
    let ext = ext.filter(|v| !v.is_null());
    if json.is_none() && ext.is_none() {
        return None;
    }
    if let Some(v) = json
        && v.get("resourceType").is_some()
        && (ty.fhir_type.is_empty() || matches!(ty.fhir_type, "Resource" | "DomainResource"))
    {
        return Some(Item::Node(Node::resource(v)));
    }
    Some(Item::Node(Node { json, ext, fhir_type: ty.fhir_type, def_type: ty.def_type, def_path: ty.def_path }))
}

/// Pushes the value(s) of `key` (and its `_key` companion) as nodes.
fn push_key<'a>(obj: &'a Map<String, Value>, key: &str, ty: ChildType, out: &mut Vec<Item<'a>>) {
    let value = obj.get(key);
    let ext = underscored(obj, key);
    match (value, ext) {
        (Some(Value::Array(values)), ext) => {
            let exts = ext.and_then(Value::as_array);
            let len = values.len().max(exts.map_or(0, Vec::len));
            for i in 0..len {
                out.extend(make_node(values.get(i), exts.and_then(|e| e.get(i)), ty));
            }
        }
        (None, Some(Value::Array(exts))) => {
            out.extend(exts.iter().filter_map(|e| make_node(None, Some(e), ty)));
        }
        (value, ext) => out.extend(make_node(value, ext, ty)),
    }
}

fn has_key(obj: &Map<String, Value>, key: &str) -> bool {
    obj.contains_key(key) || underscored(obj, key).is_some()
}

/// `obj["_" + key]`, the primitive's id/extension companion, built on the stack: this runs for
/// every navigated property.
fn underscored<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let mut buffer = [0u8; 64];
    let Some(target) = buffer.get_mut(1..=key.len()) else {
        return obj.get(&format!("_{key}"));
    };
    target.copy_from_slice(key.as_bytes());
    buffer[0] = b'_';
    let name = buffer.get(..=key.len()).and_then(|b| std::str::from_utf8(b).ok())?;
    obj.get(name)
}

/// Keys of `obj` that are `name` followed by a type suffix (`valueQuantity` for `value`),
/// including primitives that only have their `_` companion (`_valueString`), once each.
fn choice_keys<'o>(obj: &'o Map<String, Value>, name: &'o str) -> impl Iterator<Item = &'o str> {
    obj.keys().filter_map(move |k| {
        let base = match k.strip_prefix('_') {
            Some(base) if obj.contains_key(base) => return None,
            Some(base) => base,
            None => k.as_str(),
        };
        base.strip_prefix(name).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())).then_some(base)
    })
}

fn object_member<'a>(
    node: &Node<'a>,
    obj: &'a Map<String, Value>,
    name: &str,
    out: &mut Vec<Item<'a>>,
) -> Result<(), Error> {
    if name.starts_with(|c: char| c.is_ascii_uppercase()) && model().type_def(name).is_some() {
        // A type name selects the item when it is of that type (`Patient.name`), and nothing
        // otherwise: expressions like `Patient.name | Practitioner.name` run on either.
        if model().is_subtype(node.type_name(), name) {
            out.push(Item::Node(*node));
        }
        return Ok(());
    }
    if node.def_type.is_empty() {
        if has_key(obj, name) {
            push_key(obj, name, UNTYPED, out);
        } else {
            for key in choice_keys(obj, name) {
                push_key(obj, key, UNTYPED, out);
            }
        }
        return Ok(());
    }
    if let Some((ty, _)) = child_type(node.def_type, node.def_path, name) {
        push_key(obj, name, ty, out);
        return Ok(());
    }
    let choice_path = format!("{}.{name}[x]", node.def_path);
    if model().type_def(node.def_type).and_then(|d| d.element(&choice_path)).is_some() {
        for key in choice_keys(obj, name) {
            if let Some((ty, path)) = child_type(node.def_type, node.def_path, key)
                && path == choice_path
            {
                push_key(obj, key, ty, out);
            }
        }
        return Ok(());
    }
    if has_key(obj, name) {
        push_key(obj, name, UNTYPED, out);
        return Ok(());
    }
    fail(format!("'{name}' is not an element of {}", node.type_name()))
}

fn primitive_member<'a>(node: &Node<'a>, name: &str, out: &mut Vec<Item<'a>>) {
    let Some(Value::Object(ext)) = node.ext else {
        return;
    };
    let ty = match name {
        "extension" => ChildType { fhir_type: "Extension", def_type: "Extension", def_path: "Extension" },
        "id" => ChildType { fhir_type: "string", def_type: "string", def_path: "string" },
        _ => return,
    };
    let ty = model().type_def(ty.def_type).map_or(UNTYPED, |d| ChildType {
        fhir_type: if name == "id" { "string" } else { d.name.as_str() },
        def_type: d.name.as_str(),
        def_path: d.name.as_str(),
    });
    push_key(ext, name, ty, out);
}

/// `item.name`, appended to `out`. Unknown element names on typed nodes are errors.
pub(crate) fn member<'a>(item: &Item<'a>, name: &str, out: &mut Vec<Item<'a>>) -> Result<(), Error> {
    match item {
        Item::Node(node) => match node.json {
            Some(Value::Object(obj)) => object_member(node, obj, name, out)?,
            _ => primitive_member(node, name, out),
        },
        Item::TypeInfo { namespace, name: type_name } => match name {
            "namespace" => out.push(Item::String((*namespace).to_owned())),
            "name" => out.push(Item::String(type_name.clone())),
            _ => {}
        },
        _ => {}
    }
    Ok(())
}

/// The direct children of an item, in document order.
pub(crate) fn children<'a>(item: &Item<'a>, out: &mut Vec<Item<'a>>) {
    let Item::Node(node) = item else { return };
    let Some(Value::Object(obj)) = node.json else {
        if let Some(Value::Object(ext)) = node.ext
            && ext.contains_key("extension")
        {
            primitive_member(node, "extension", out);
        }
        return;
    };
    for key in obj.keys() {
        if key == "resourceType" {
            continue;
        }
        let key = match key.strip_prefix('_') {
            Some(base) if obj.contains_key(base) => continue,
            Some(base) => base,
            None => key.as_str(),
        };
        let ty = if node.def_type.is_empty() {
            UNTYPED
        } else {
            child_type(node.def_type, node.def_path, key).map_or(UNTYPED, |(t, _)| t)
        };
        push_key(obj, key, ty, out);
    }
}
