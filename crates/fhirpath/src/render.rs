//! Rendering results as typed JSON for the CLI and the conformance tests.

use serde_json::{Map, Value, json};

use crate::decimal::Decimal;
use crate::value::{Item, Node};

fn number(d: &Decimal) -> Value {
    serde_json::from_str(&d.to_string()).unwrap_or(Value::Null)
}

/// The JSON value of one item: booleans and numbers as JSON, dates/times and quantities as
/// strings (`1974-12-25`, `4 'g'`), FHIR elements as their JSON.
pub fn item_value(item: &Item<'_>) -> Value {
    match item {
        Item::Boolean(b) => Value::Bool(*b),
        Item::Integer(i) => json!(i),
        Item::Decimal(d) => number(d),
        Item::String(s) => Value::String(s.clone()),
        Item::Temporal(t) => Value::String(t.to_string()),
        Item::Quantity(q) => Value::String(q.to_string()),
        Item::TypeInfo { namespace, name } => json!({ "namespace": namespace, "name": name }),
        Item::Node(Node { json: Some(v), .. }) => (*v).clone(),
        Item::Node(Node { ext: Some(e), .. }) => json!({ "extension": e.get("extension") }),
        Item::Node(_) => Value::Null,
    }
}

/// A JSON array of `{"type": T, "value": V}`, one per item.
pub fn to_typed_json(collection: &[Item<'_>]) -> Value {
    Value::Array(
        collection
            .iter()
            .map(|item| {
                let mut entry = Map::new();
                entry.insert("type".to_owned(), Value::String(item.type_name().to_owned()));
                entry.insert("value".to_owned(), item_value(item));
                Value::Object(entry)
            })
            .collect(),
    )
}
