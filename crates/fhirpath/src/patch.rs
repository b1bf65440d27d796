//! FHIRPath Patch (FHIR R4 `fhirpatch.html`) as a pure function over FHIR JSON.
//!
//! A patch is a `Parameters` resource whose `operation` parameters are applied in order. Each
//! `path` is evaluated with the engine against the current state of the resource; the nodes it
//! selects are located in the JSON by identity, and the change is made on a copy. New elements
//! are inserted where the StructureDefinition order puts them; arrays versus singletons follow
//! the cardinality of the R4 definitions.

use fhir_model::{Location, Model};
use serde_json::{Map, Value};

use crate::{Error, EvalContext};

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The `Parameters` resource is not a well-formed FHIRPath Patch.
    #[error("invalid patch: {0}")]
    Invalid(String),
    /// A `path` is not valid FHIRPath or failed to evaluate.
    #[error("path '{path}': {source}")]
    Path { path: String, source: Error },
    /// The patch is well-formed but does not fit the resource (no or several matches, an index
    /// out of range, an element the definitions do not have).
    #[error("{0}")]
    Unprocessable(String),
}

/// One step from a JSON value to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where a selected element lives: the object holding it, its key there (without `_`), and its
/// index when the element repeats.
#[derive(Debug, Clone)]
struct Target {
    object: Vec<Step>,
    key: String,
    index: Option<usize>,
}

/// The parts of one `operation` parameter.
struct Operation<'p> {
    kind: &'p str,
    path: &'p str,
    name: Option<&'p str>,
    value: Option<&'p Value>,
    index: Option<usize>,
    source: Option<usize>,
    destination: Option<usize>,
}

/// Applies a FHIRPath Patch `Parameters` resource to `resource`, returning the patched copy.
pub fn apply_fhirpath_patch(resource: &Value, parameters: &Value) -> Result<Value, PatchError> {
    if parameters.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(PatchError::Invalid("the patch must be a Parameters resource".to_owned()));
    }
    let mut current = resource.clone();
    let params = match parameters.get("parameter") {
        None => return Ok(current),
        Some(Value::Array(params)) => params,
        Some(_) => {
            return Err(PatchError::Invalid("Parameters.parameter must be an array".to_owned()));
        }
    };
    for param in params {
        if param.get("name").and_then(Value::as_str) != Some("operation") {
            return Err(PatchError::Invalid("every parameter must be named 'operation'".to_owned()));
        }
        let operation = Operation::read(param)?;
        current = operation.apply(current)?;
    }
    Ok(current)
}

impl<'p> Operation<'p> {
    fn read(param: &'p Value) -> Result<Operation<'p>, PatchError> {
        let parts = param.get("part").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let part = |name: &str| parts.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(name));
        let text = |name: &str| part(name).and_then(|p| primitive_value(p)?.as_str());
        let int = |name: &str| -> Result<Option<usize>, PatchError> {
            let Some(p) = part(name) else {
                return Ok(None);
            };
            primitive_value(p)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| PatchError::Invalid(format!("'{name}' must be a non-negative integer")))
        };
        let kind = text("type").ok_or_else(|| PatchError::Invalid("an operation needs a 'type'".to_owned()))?;
        let path = text("path").ok_or_else(|| PatchError::Invalid("an operation needs a 'path'".to_owned()))?;
        Ok(Operation {
            kind,
            path,
            name: text("name"),
            value: part("value"),
            index: int("index")?,
            source: int("source")?,
            destination: int("destination")?,
        })
    }

    fn apply(&self, mut current: Value) -> Result<Value, PatchError> {
        let targets = self.select(&current)?;
        match self.kind {
            "add" => {
                let target = self.single(&targets, "adding")?;
                let name = self.required(self.name, "name")?;
                let value = self.required(self.value, "value")?;
                add(&mut current, &element_steps(target), name, value)?;
            }
            "insert" => {
                let index = self.required(self.index, "index")?;
                let value = self.required(self.value, "value")?;
                let (object, key) = self.list(&current, &targets)?;
                insert(&mut current, &object, &key, index, value)?;
            }
            "delete" => match targets.as_slice() {
                [] => {}
                [target] => delete(&mut current, target),
                _ => return Err(self.several()),
            },
            "replace" => {
                let target = self.single(&targets, "replacing")?;
                let value = self.required(self.value, "value")?;
                replace(&mut current, target, value)?;
            }
            "move" => {
                let source = self.required(self.source, "source")?;
                let destination = self.required(self.destination, "destination")?;
                let (object, key) = self.list(&current, &targets)?;
                move_item(&mut current, &object, &key, source, destination)?;
            }
            other => {
                return Err(PatchError::Invalid(format!("unknown operation type '{other}'")));
            }
        }
        Ok(current)
    }

    fn required<T>(&self, part: Option<T>, name: &str) -> Result<T, PatchError> {
        part.ok_or_else(|| PatchError::Invalid(format!("a '{}' operation needs '{name}'", self.kind)))
    }

    fn several(&self) -> PatchError {
        PatchError::Unprocessable(format!("the path {} matches more than one element when {}", self.path, self.kind))
    }

    /// Evaluates `path` and locates every selected node in `current`.
    fn select(&self, current: &Value) -> Result<Vec<Target>, PatchError> {
        let path_error = |source| PatchError::Path { path: self.path.to_owned(), source };
        let expression = crate::parse(self.path).map_err(path_error)?;
        let items = expression.evaluate(&EvalContext::new(), current).map_err(path_error)?;
        items
            .iter()
            .map(|item| {
                item.node().and_then(|node| node.json.or(node.ext)).and_then(|json| locate(current, json)).ok_or_else(
                    || {
                        PatchError::Unprocessable(format!(
                            "the path {} selects something that is not an element of the resource",
                            self.path
                        ))
                    },
                )
            })
            .collect()
    }

    fn single<'t>(&self, targets: &'t [Target], doing: &str) -> Result<&'t Target, PatchError> {
        match targets {
            [target] => Ok(target),
            [] => Err(PatchError::Unprocessable(format!("No content found at {} when {doing}", self.path))),
            _ => Err(self.several()),
        }
    }

    /// The list `insert` and `move` work on: the array all targets are in, or, when the path
    /// selects nothing, the array named by its last segment in the single parent it selects.
    fn list(&self, current: &Value, targets: &[Target]) -> Result<(Vec<Step>, String), PatchError> {
        if let Some(first) = targets.first() {
            let same = targets.iter().all(|t| t.object == first.object && t.key == first.key && t.index.is_some());
            if !same {
                return Err(PatchError::Unprocessable(format!(
                    "the path {} does not select the items of one list",
                    self.path
                )));
            }
            return Ok((first.object.clone(), first.key.clone()));
        }
        let Some((parent, name)) = split_last_segment(self.path) else {
            return Err(PatchError::Unprocessable(format!("No content found at {} when {}", self.path, self.kind)));
        };
        let parent_op = Operation { path: parent, ..*self };
        let targets = parent_op.select(current)?;
        let target = parent_op.single(&targets, self.kind)?;
        Ok((element_steps(target), name.to_owned()))
    }
}

/// The value of a part: its `value[x]` property.
fn primitive_value(part: &Value) -> Option<&Value> {
    value_entry(part).map(|(_, v)| v)
}

/// The `value[x]` property of a part: (`valueString`, value).
fn value_entry(part: &Value) -> Option<(&str, &Value)> {
    part.as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("value") && k.len() > "value".len())
        .map(|(k, v)| (k.as_str(), v))
}

/// `Patient.identifier` → (`Patient`, `identifier`), when the last segment is a plain name.
fn split_last_segment(path: &str) -> Option<(&str, &str)> {
    let (parent, name) = path.rsplit_once('.')?;
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (plain && !parent.is_empty()).then_some((parent, name))
}

/// Finds `target` (by identity) in `root` and describes where it sits.
fn locate(root: &Value, target: &Value) -> Option<Target> {
    let mut steps = Vec::new();
    if !find(root, target, &mut steps) {
        return None;
    }
    let (index, rest) = match steps.split_last() {
        Some((Step::Index(i), rest)) => (Some(*i), rest),
        _ => (None, steps.as_slice()),
    };
    let (key, object) = match rest.split_last() {
        Some((Step::Key(key), object)) => (key.clone(), object.to_vec()),
        _ => (String::new(), Vec::new()),
    };
    let key = key.strip_prefix('_').map_or(key.clone(), str::to_owned);
    Some(Target { object, key, index })
}

fn find(current: &Value, target: &Value, steps: &mut Vec<Step>) -> bool {
    if std::ptr::eq(current, target) {
        return true;
    }
    match current {
        Value::Object(map) => map.iter().any(|(k, v)| {
            steps.push(Step::Key(k.clone()));
            let found = find(v, target, steps);
            if !found {
                steps.pop();
            }
            found
        }),
        Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
            steps.push(Step::Index(i));
            let found = find(v, target, steps);
            if !found {
                steps.pop();
            }
            found
        }),
        _ => false,
    }
}

/// The steps to the selected element itself.
fn element_steps(target: &Target) -> Vec<Step> {
    let mut steps = target.object.clone();
    if !target.key.is_empty() {
        steps.push(Step::Key(target.key.clone()));
    }
    steps.extend(target.index.map(Step::Index));
    steps
}

fn get_mut<'v>(root: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    steps.iter().try_fold(root, |value, step| match step {
        Step::Key(k) => value.get_mut(k.as_str()),
        Step::Index(i) => value.get_mut(*i),
    })
}

fn object_mut<'v>(root: &'v mut Value, steps: &[Step]) -> Result<&'v mut Map<String, Value>, PatchError> {
    get_mut(root, steps)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| PatchError::Unprocessable("the path does not select an element with children".to_owned()))
}

/// Where the children of the object at `steps` are defined.
fn location_at(model: &Model, root: &Value, steps: &[Step]) -> Option<Location> {
    let mut location = Location::root(root.get("resourceType")?.as_str()?);
    let mut value = root;
    for step in steps {
        match step {
            Step::Key(key) => {
                value = value.get(key.as_str())?;
                let property = model.property(&location, key)?;
                location = property.location;
            }
            Step::Index(i) => value = value.get(*i)?,
        }
        if let Some(rt) = value.get("resourceType").and_then(Value::as_str) {
            location = Location::root(rt);
        }
    }
    Some(location)
}

/// The JSON key and repetition of element `name` at `location`, for a value whose part
/// property is `value_key` (`valueString`, or `part` for an anonymous type).
fn resolve_name(
    model: &Model,
    location: &Location,
    name: &str,
    value_key: Option<&str>,
) -> Result<(String, bool, Location), PatchError> {
    if let Some(property) = model.property(location, name) {
        return Ok((name.to_owned(), property.element.is_array(), property.location));
    }
    let suffix = value_key.and_then(|k| k.strip_prefix("value")).unwrap_or("");
    let key = format!("{name}{suffix}");
    match model.property(location, &key) {
        Some(property) if property.element.is_choice() => Ok((key, property.element.is_array(), property.location)),
        _ => Err(PatchError::Unprocessable(format!("{} has no element '{name}'", location.path))),
    }
}

/// The JSON for a `value` part: `value[x]`, or an object built from nested parts.
fn build_value(model: &Model, location: &Location, part: &Value) -> Result<(Value, Option<Value>), PatchError> {
    if let Some((key, value)) = value_entry(part) {
        let extension = part.get(format!("_{key}").as_str()).cloned();
        return Ok((value.clone(), extension));
    }
    let Some(parts) = part.get("part").and_then(Value::as_array) else {
        return Err(PatchError::Invalid("a value needs value[x] or parts".to_owned()));
    };
    let mut object = Value::Object(Map::new());
    for sub in parts {
        let name = sub
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| PatchError::Invalid("a value part needs a name".to_owned()))?;
        let (key, is_array, child) = resolve_name(model, location, name, value_entry(sub).map(|(k, _)| k))?;
        let (value, extension) = build_value(model, &child, sub)?;
        if let Value::Object(map) = &mut object {
            place(model, location, map, &key, is_array, value, extension);
        }
    }
    Ok((object, None))
}

/// Sets or appends `key` in `map`, a new key going where the definition order puts it.
fn place(
    model: &Model,
    location: &Location,
    map: &mut Map<String, Value>,
    key: &str,
    is_array: bool,
    value: Value,
    extension: Option<Value>,
) {
    let position = |map: &Map<String, Value>, key: &str| {
        map.keys().position(|k| k == key).unwrap_or_else(|| ordered_position(model, location, map, key))
    };
    if is_array {
        let len = map.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        let index = position(map, key);
        let entry = map.entry(key.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            items.push(value);
        }
        let index = index.min(map.len().saturating_sub(1));
        move_key(map, key, index);
        if let Some(extension) = extension {
            let ext_key = format!("_{key}");
            let ext_index = position(map, &ext_key);
            let entry = map.entry(ext_key.clone()).or_insert_with(|| Value::Array(vec![Value::Null; len]));
            if let Value::Array(items) = entry {
                items.resize(len, Value::Null);
                items.push(extension);
            }
            move_key(map, &ext_key, ext_index.min(map.len().saturating_sub(1)));
        }
        return;
    }
    let index = position(map, key);
    map.shift_insert(index.min(map.len()), key.to_owned(), value);
    if let Some(extension) = extension {
        let ext_key = format!("_{key}");
        let ext_index = position(map, &ext_key);
        map.shift_insert(ext_index.min(map.len()), ext_key, extension);
    }
}

fn move_key(map: &mut Map<String, Value>, key: &str, index: usize) {
    if let Some(value) = map.shift_remove(key) {
        map.shift_insert(index.min(map.len()), key.to_owned(), value);
    }
}

/// The index at which a new `key` belongs among the existing keys of `map`.
fn ordered_position(model: &Model, location: &Location, map: &Map<String, Value>, key: &str) -> usize {
    let rank = |k: &str| -> (usize, usize) {
        if k == "resourceType" {
            return (0, 0);
        }
        let (base, companion) = k.strip_prefix('_').map_or((k, 0), |b| (b, 1));
        let order = model.property(location, base).and_then(|p| {
            model.type_def(&location.type_name)?.children(&location.path).position(|e| std::ptr::eq(e, p.element))
        });
        (order.map_or(usize::MAX, |o| o + 1), companion)
    };
    let new_rank = rank(key);
    map.keys().position(|k| rank(k) > new_rank).unwrap_or(map.len())
}

fn add(current: &mut Value, steps: &[Step], name: &str, part: &Value) -> Result<(), PatchError> {
    let model = fhir_model::r4();
    let location = location_at(model, current, steps)
        .ok_or_else(|| PatchError::Unprocessable("cannot tell the type of the element to add to".to_owned()))?;
    let (key, is_array, child) = resolve_name(model, &location, name, value_entry(part).map(|(k, _)| k))?;
    let (value, extension) = build_value(model, &child, part)?;
    let map = object_mut(current, steps)?;
    place(model, &location, map, &key, is_array, value, extension);
    Ok(())
}

fn list_mut<'v>(current: &'v mut Value, object: &[Step], key: &str) -> Result<&'v mut Vec<Value>, PatchError> {
    let map = object_mut(current, object)?;
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| PatchError::Unprocessable(format!("'{key}' is not a list")))
}

fn insert(current: &mut Value, object: &[Step], key: &str, index: usize, part: &Value) -> Result<(), PatchError> {
    let model = fhir_model::r4();
    let location = location_at(model, current, object)
        .ok_or_else(|| PatchError::Unprocessable("cannot tell the type of the list".to_owned()))?;
    let (key, is_array, child) = resolve_name(model, &location, key, None)?;
    if !is_array {
        return Err(PatchError::Unprocessable(format!("'{key}' does not repeat")));
    }
    let (value, _) = build_value(model, &child, part)?;
    let map = object_mut(current, object)?;
    let len = map.get(&key).and_then(Value::as_array).map_or(0, Vec::len);
    if index > len {
        return Err(PatchError::Unprocessable(format!("index {index} is beyond the {len} items of '{key}'")));
    }
    if len == 0 {
        place(model, &location, map, &key, true, value, None);
        return Ok(());
    }
    list_mut(current, object, &key)?.insert(index, value);
    if let Some(Value::Array(companion)) = object_mut(current, object)?.get_mut(&format!("_{key}")) {
        companion.insert(index.min(companion.len()), Value::Null);
    }
    Ok(())
}

fn move_item(
    current: &mut Value,
    object: &[Step],
    key: &str,
    source: usize,
    destination: usize,
) -> Result<(), PatchError> {
    let items = list_mut(current, object, key)?;
    if source >= items.len() || destination >= items.len() {
        return Err(PatchError::Unprocessable(format!(
            "move from {source} to {destination} is outside the {} items of '{key}'",
            items.len()
        )));
    }
    let item = items.remove(source);
    items.insert(destination, item);
    if let Some(Value::Array(companion)) = object_mut(current, object)?.get_mut(&format!("_{key}"))
        && source < companion.len()
    {
        let item = companion.remove(source);
        companion.insert(destination.min(companion.len()), item);
    }
    Ok(())
}

fn replace(current: &mut Value, target: &Target, part: &Value) -> Result<(), PatchError> {
    let model = fhir_model::r4();
    if target.key.is_empty() {
        return Err(PatchError::Unprocessable("the resource itself cannot be replaced".to_owned()));
    }
    let location = location_at(model, current, &target.object)
        .ok_or_else(|| PatchError::Unprocessable("cannot tell the type of the element to replace".to_owned()))?;
    let property = model
        .property(&location, &target.key)
        .ok_or_else(|| PatchError::Unprocessable(format!("{} has no element '{}'", location.path, target.key)))?;
    let value_key = value_entry(part).map(|(k, _)| k);
    // A choice element may change its type: `valueQuantity` becomes `valueString`.
    let key = match (property.element.is_choice(), value_key) {
        (true, Some(vk)) => {
            format!("{}{}", property.element.name().trim_end_matches("[x]"), vk.trim_start_matches("value"))
        }
        _ => target.key.clone(),
    };
    let child = resolve_name(model, &location, &key, value_key).map_or(property.location, |(_, _, l)| l);
    let (value, _) = build_value(model, &child, part)?;
    let map = object_mut(current, &target.object)?;
    match target.index {
        Some(i) => {
            if let Some(slot) = map.get_mut(&target.key).and_then(|v| v.get_mut(i)) {
                *slot = value;
            }
        }
        None if key != target.key => {
            let index = map.keys().position(|k| *k == target.key).unwrap_or(map.len());
            map.shift_remove(&target.key);
            map.shift_remove(&format!("_{}", target.key));
            map.shift_insert(index.min(map.len()), key, value);
        }
        None => {
            let index = map.keys().position(|k| *k == target.key).unwrap_or(map.len());
            map.shift_insert(index.min(map.len()), key, value);
        }
    }
    Ok(())
}

/// Removes the element, then every object or array left empty above it (never the resource).
fn delete(current: &mut Value, target: &Target) {
    let Some(map) = get_mut(current, &target.object).and_then(Value::as_object_mut) else {
        return;
    };
    let ext_key = format!("_{}", target.key);
    match target.index {
        Some(i) => {
            for key in [target.key.as_str(), ext_key.as_str()] {
                if let Some(Value::Array(items)) = map.get_mut(key)
                    && i < items.len()
                {
                    items.remove(i);
                }
            }
            for key in [target.key.as_str(), ext_key.as_str()] {
                let empty =
                    map.get(key).and_then(Value::as_array).is_some_and(|items| items.iter().all(Value::is_null));
                if empty {
                    map.shift_remove(key);
                }
            }
        }
        None => {
            map.shift_remove(&target.key);
            map.shift_remove(&ext_key);
        }
    }
    prune(current, &target.object);
}

/// Drops empty objects and arrays along `steps`, deepest first.
fn prune(current: &mut Value, steps: &[Step]) {
    for depth in (1..=steps.len()).rev() {
        let Some((last, parent)) = steps.get(..depth).and_then(<[Step]>::split_last) else {
            continue;
        };
        let empty = get_mut(current, steps.get(..depth).unwrap_or_default()).is_some_and(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        });
        if !empty {
            return;
        }
        match (last, get_mut(current, parent)) {
            (Step::Key(k), Some(Value::Object(m))) => {
                m.shift_remove(k);
            }
            (Step::Index(i), Some(Value::Array(a))) if *i < a.len() => {
                a.remove(*i);
            }
            _ => return,
        }
    }
}
