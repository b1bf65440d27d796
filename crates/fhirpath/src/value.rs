//! Items of a collection: System values computed by the engine, and FHIR nodes that borrow
//! the JSON they stand for (never copied) together with their FHIR type.

use std::borrow::Cow;

use serde_json::Value;

use crate::datetime::{Kind, Temporal};
use crate::decimal::Decimal;
use crate::quantity::Quantity;

/// A collection: the input and output of every FHIRPath expression.
pub type Collection<'a> = Vec<Item<'a>>;

/// One item of a collection.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    Boolean(bool),
    Integer(i64),
    Decimal(Decimal),
    String(String),
    /// A System Date, DateTime or Time (see `Temporal::kind`).
    Temporal(Temporal),
    Quantity(Quantity),
    /// A part of the FHIR resource.
    Node(Node<'a>),
    /// The result of `type()`.
    TypeInfo {
        namespace: &'static str,
        name: String,
    },
}

/// A FHIR element or resource: borrowed JSON plus what the definitions say it is.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// The JSON value; `None` for a primitive that only has an extension (`_given`).
    pub json: Option<&'a Value>,
    /// The `_name` companion of a primitive (its `id` and `extension`).
    pub ext: Option<&'a Value>,
    /// The FHIR type (`HumanName`, `code`, `BackboneElement`, `Patient`); empty when unknown.
    pub fhir_type: &'static str,
    /// Where the children are defined: owning type and element path (empty when unknown).
    pub(crate) def_type: &'static str,
    pub(crate) def_path: &'static str,
}

/// The FHIR primitive types and the System type they carry.
pub(crate) fn primitive_kind(fhir_type: &str) -> Option<&'static str> {
    Some(match fhir_type {
        "boolean" => "Boolean",
        "integer" | "unsignedInt" | "positiveInt" | "integer64" => "Integer",
        "decimal" => "Decimal",
        "string" | "code" | "id" | "uri" | "url" | "canonical" | "oid" | "uuid" | "markdown" | "base64Binary"
        | "xhtml" => "String",
        "date" => "Date",
        "dateTime" | "instant" => "DateTime",
        "time" => "Time",
        _ => return None,
    })
}

const QUANTITY_TYPES: [&str; 7] =
    ["Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"];

/// A System-level view of an item, for operators and functions.
#[derive(Debug, Clone)]
pub(crate) enum Scalar<'s> {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(Cow<'s, str>),
    Temporal(Temporal),
    Quantity(Quantity),
}

impl<'a> Node<'a> {
    /// A node for a JSON value whose type is known by name (`Patient`, `HumanName`).
    pub fn typed(json: &'a Value, type_name: &str) -> Node<'a> {
        let model = fhir_model::r4();
        let name = model.type_def(type_name).map_or("", |t| t.name.as_str());
        Node { json: Some(json), ext: None, fhir_type: name, def_type: name, def_path: name }
    }

    /// A node for an element of FHIR type `type_code` whose children are defined at `location`
    /// (as `fhir_model::Model::property` resolves a JSON property: `Patient.contact` is
    /// (`Patient`, `Patient.contact`), `Patient.name` is (`HumanName`, `HumanName`)).
    pub fn at(json: &'a Value, location: &fhir_model::Location, type_code: &str) -> Node<'a> {
        let model = fhir_model::r4();
        let Some(def) = model.type_def(&location.type_name) else {
            return Node::typed(json, type_code);
        };
        let def_path = def.element(&location.path).map_or(def.name.as_str(), |e| e.path.as_str());
        Node {
            json: Some(json),
            ext: None,
            fhir_type: model.type_def(type_code).map_or("", |t| t.name.as_str()),
            def_type: def.name.as_str(),
            def_path,
        }
    }

    /// A node for a resource (typed by its `resourceType`) or untyped JSON.
    pub fn resource(json: &'a Value) -> Node<'a> {
        match json.get("resourceType").and_then(Value::as_str) {
            Some(rt) => Node::typed(json, rt),
            None => Node { json: Some(json), ext: None, fhir_type: "", def_type: "", def_path: "" },
        }
    }

    /// The FHIR type, or one guessed from the JSON when the definitions do not say.
    pub fn type_name(&self) -> &'static str {
        if !self.fhir_type.is_empty() {
            return self.fhir_type;
        }
        match self.json {
            Some(Value::Bool(_)) => "boolean",
            Some(Value::Number(n)) if n.to_string().contains(['.', 'e', 'E']) => "decimal",
            Some(Value::Number(_)) => "integer",
            Some(Value::String(_)) => "string",
            _ => "Element",
        }
    }

    pub fn is_primitive(&self) -> bool {
        match self.json {
            Some(Value::Object(_)) => false,
            Some(_) => true,
            None => self.ext.is_some(),
        }
    }

    pub(crate) fn scalar(&self) -> Option<Scalar<'a>> {
        let json = self.json?;
        let ty = self.type_name();
        if let Value::Object(map) = json {
            if !QUANTITY_TYPES.contains(&ty) {
                return None;
            }
            let value = Decimal::parse(&map.get("value")?.as_number()?.to_string())?;
            let unit = map.get("code").or_else(|| map.get("unit")).and_then(Value::as_str).unwrap_or("1");
            return Some(Scalar::Quantity(Quantity::new(value, unit)));
        }
        match (primitive_kind(ty), json) {
            (_, Value::Bool(b)) => Some(Scalar::Bool(*b)),
            (Some("Decimal"), Value::Number(n)) => Some(Scalar::Dec(Decimal::parse(&n.to_string())?)),
            (_, Value::Number(n)) => {
                let text = n.to_string();
                match text.parse::<i64>() {
                    Ok(i) => Some(Scalar::Int(i)),
                    Err(_) => Some(Scalar::Dec(Decimal::parse(&text)?)),
                }
            }
            (Some("Date"), Value::String(s)) => {
                Some(Temporal::parse_date(s).map_or_else(|| Scalar::Str(Cow::Borrowed(s.as_str())), Scalar::Temporal))
            }
            (Some("DateTime"), Value::String(s)) => {
                Some(Temporal::parse_any(s).map_or_else(|| Scalar::Str(Cow::Borrowed(s.as_str())), Scalar::Temporal))
            }
            (Some("Time"), Value::String(s)) => {
                Some(Temporal::parse_time(s).map_or_else(|| Scalar::Str(Cow::Borrowed(s.as_str())), Scalar::Temporal))
            }
            (_, Value::String(s)) => Some(Scalar::Str(Cow::Borrowed(s.as_str()))),
            _ => None,
        }
    }
}

impl<'a> Item<'a> {
    /// The System view of the item; `None` for complex FHIR elements.
    pub(crate) fn scalar(&self) -> Option<Scalar<'_>> {
        Some(match self {
            Item::Boolean(b) => Scalar::Bool(*b),
            Item::Integer(i) => Scalar::Int(*i),
            Item::Decimal(d) => Scalar::Dec(*d),
            Item::String(s) => Scalar::Str(Cow::Borrowed(s.as_str())),
            Item::Temporal(t) => Scalar::Temporal(*t),
            Item::Quantity(q) => Scalar::Quantity(q.clone()),
            Item::Node(n) => return n.scalar(),
            Item::TypeInfo { .. } => return None,
        })
    }

    /// The type name as the FHIRPath test suite writes it (`integer`, `dateTime`, `HumanName`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Item::Boolean(_) => "boolean",
            Item::Integer(_) => "integer",
            Item::Decimal(_) => "decimal",
            Item::String(_) => "string",
            Item::Temporal(t) => match t.kind {
                Kind::Date => "date",
                Kind::DateTime => "dateTime",
                Kind::Time => "time",
            },
            Item::Quantity(_) => "Quantity",
            Item::Node(n) => n.type_name(),
            Item::TypeInfo { .. } => "TypeInfo",
        }
    }

    /// The borrowed JSON behind a FHIR node (for search indexing: the `Coding`, `Reference`...).
    pub fn json(&self) -> Option<&'a Value> {
        match self {
            Item::Node(n) => n.json,
            _ => None,
        }
    }

    pub fn node(&self) -> Option<&Node<'a>> {
        match self {
            Item::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The string value of a System string or FHIR string-like primitive.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::String(s) => Some(s),
            Item::Node(Node { json: Some(Value::String(s)), .. }) => Some(s),
            _ => None,
        }
    }

    /// The boolean value of a System or FHIR boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Item::Boolean(b) => Some(*b),
            Item::Node(Node { json: Some(Value::Bool(b)), .. }) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn from_scalar(s: Scalar<'_>) -> Item<'a> {
        match s {
            Scalar::Bool(b) => Item::Boolean(b),
            Scalar::Int(i) => Item::Integer(i),
            Scalar::Dec(d) => Item::Decimal(d),
            Scalar::Str(s) => Item::String(s.into_owned()),
            Scalar::Temporal(t) => Item::Temporal(t),
            Scalar::Quantity(q) => Item::Quantity(q),
        }
    }
}
