//! The FHIR additions: `extension`, `hasExtension`, `hasValue`, `getValue`, `resolve`,
//! `memberOf`, `conformsTo`, `htmlChecks`.

use serde_json::Value;

use super::{FnDef, arg, boolean, eager, opt, single, single_string};
use crate::error::{Error, fail};
use crate::eval::Evaluator;
use crate::navigate;
use crate::value::{Collection, Item, Node};

pub(super) const FUNCTIONS: &[FnDef] = &[
    eager("extension", 1, 1, extension),
    eager("hasExtension", 1, 1, has_extension),
    eager("hasValue", 0, 0, has_value),
    eager("getValue", 0, 0, get_value),
    eager("resolve", 0, 0, resolve),
    eager("memberOf", 1, 1, member_of),
    eager("conformsTo", 1, 1, conforms_to),
    eager("htmlChecks", 0, 0, |_, _, _| Ok(boolean(true))),
];

fn extensions<'a>(input: &[Item<'a>], url: &str) -> Result<Collection<'a>, Error> {
    let mut all = Vec::new();
    for item in input {
        navigate::member(item, "extension", &mut all)?;
    }
    Ok(all.into_iter().filter(|e| e.json().and_then(|j| j.get("url")).and_then(Value::as_str) == Some(url)).collect())
}

fn extension<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let Some(url) = single_string(arg(&args, 0), "extension")? else {
        return Ok(Vec::new());
    };
    extensions(&input, &url)
}

fn has_extension<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let Some(url) = single_string(arg(&args, 0), "hasExtension")? else {
        return Ok(Vec::new());
    };
    Ok(boolean(!extensions(&input, &url)?.is_empty()))
}

fn primitive_value<'a>(item: &Item<'a>) -> Option<Item<'a>> {
    match item {
        Item::Node(n @ Node { json: Some(json), .. }) if !json.is_object() && !json.is_array() => {
            n.scalar().map(Item::from_scalar)
        }
        _ => None,
    }
}

fn has_value<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    Ok(boolean(matches!(input.as_slice(), [one] if primitive_value(one).is_some())))
}

fn get_value<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    Ok(opt(match input.as_slice() {
        [one] => primitive_value(one),
        _ => None,
    }))
}

/// `Type/id` at the end of a reference or full URL (ignoring `_history`).
fn type_and_id(reference: &str) -> Option<(&str, &str)> {
    let path = reference.split("/_history/").next().unwrap_or(reference);
    let mut parts = path.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    Some((ty, id))
}

fn find_in_bundle<'a>(bundle: &'a Value, reference: &str) -> Option<&'a Value> {
    let entries = bundle.get("entry")?.as_array()?;
    if let Some(found) = entries.iter().find(|e| e.get("fullUrl").and_then(Value::as_str) == Some(reference)) {
        return found.get("resource");
    }
    let (ty, id) = type_and_id(reference)?;
    entries.iter().filter_map(|e| e.get("resource")).find(|r| {
        r.get("resourceType").and_then(Value::as_str) == Some(ty) && r.get("id").and_then(Value::as_str) == Some(id)
    })
}

fn resolve_one<'a>(ev: &Evaluator<'a, '_>, reference: &str) -> Option<&'a Value> {
    let roots = ev.resource.iter().chain(ev.root_resource.iter()).filter_map(Item::json);
    if let Some(id) = reference.strip_prefix('#') {
        for root in roots {
            let contained = root.get("contained").and_then(Value::as_array);
            if let Some(found) =
                contained.into_iter().flatten().find(|c| c.get("id").and_then(Value::as_str) == Some(id))
            {
                return Some(found);
            }
        }
        return None;
    }
    for root in roots {
        if root.get("resourceType").and_then(Value::as_str) == Some("Bundle")
            && let Some(found) = find_in_bundle(root, reference)
        {
            return Some(found);
        }
    }
    ev.ctx.resolver.and_then(|r| r.resolve(reference))
}

/// A reference that cannot be fetched still tells its target type (`Patient/123`): the
/// result is a node of that type without content, so `resolve() is Patient` works for search
/// indexing without a resolver.
fn stub<'a>(reference: &str) -> Option<Item<'a>> {
    let (ty, _) = type_and_id(reference)?;
    let def = fhir_model::r4().type_def(ty).filter(|_| fhir_model::r4().is_resource_type(ty))?;
    let name = def.name.as_str();
    Some(Item::Node(Node { json: None, ext: None, fhir_type: name, def_type: name, def_path: name }))
}

fn resolve<'a>(ev: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let mut out = Vec::new();
    for item in &input {
        let reference = match item {
            Item::Node(Node { json: Some(Value::Object(obj)), .. }) => obj.get("reference").and_then(Value::as_str),
            other => other.as_str(),
        };
        let Some(reference) = reference else { continue };
        if let Some(found) = resolve_one(ev, reference) {
            out.push(Item::Node(Node::resource(found)));
        } else if let Some(stub) = stub(reference) {
            out.push(stub);
        }
    }
    Ok(out)
}

/// Codes of a code, Coding or CodeableConcept item as (system, code) pairs.
fn codings<'a>(item: &Item<'a>) -> Vec<(Option<&'a str>, &'a str)> {
    let Some(json) = item.json() else {
        return Vec::new();
    };
    let pair = |c: &'a Value| Some((c.get("system").and_then(Value::as_str), c.get("code")?.as_str()?));
    match json {
        Value::String(code) => vec![(None, code.as_str())],
        Value::Object(obj) if obj.contains_key("coding") => {
            obj.get("coding").and_then(Value::as_array).into_iter().flatten().filter_map(pair).collect()
        }
        Value::Object(_) => pair(json).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn member_of<'a>(
    ev: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let Some(url) = single_string(arg(&args, 0), "memberOf")? else {
        return Ok(Vec::new());
    };
    let Some(item) = single(&input, "memberOf")? else {
        return Ok(Vec::new());
    };
    if let Some(terminology) = ev.ctx.terminology {
        return Ok(opt(terminology.member_of(item, &url).map(Item::Boolean)));
    }
    let Some(pairs) = fhir_model::r4().value_set(&url) else {
        return Ok(Vec::new());
    };
    let found = codings(item)
        .iter()
        .any(|(system, code)| pairs.iter().any(|[s, c]| c == code && system.is_none_or(|sys| sys == s)));
    Ok(boolean(found))
}

fn conforms_to<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let Some(url) = single_string(arg(&args, 0), "conformsTo")? else {
        return Ok(Vec::new());
    };
    let Some(item) = single(&input, "conformsTo")? else {
        return Ok(Vec::new());
    };
    let model = fhir_model::r4();
    let Some(name) =
        url.strip_prefix("http://hl7.org/fhir/StructureDefinition/").filter(|n| model.type_def(n).is_some())
    else {
        return fail(format!("conformsTo(): unknown profile '{url}'"));
    };
    Ok(boolean(model.is_subtype(item.type_name(), name)))
}
