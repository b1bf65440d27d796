//! The type system: System and FHIR type names, `is`/`as`/`ofType` matching and `type()`.

use crate::ast::TypeSpec;
use crate::datetime::Kind;
use crate::value::{Item, primitive_kind};

pub(crate) const SYSTEM_TYPES: [&str; 8] =
    ["Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"];

/// The System type of a System value.
fn system_type(item: &Item<'_>) -> Option<&'static str> {
    Some(match item {
        Item::Boolean(_) => "Boolean",
        Item::Integer(_) => "Integer",
        Item::Decimal(_) => "Decimal",
        Item::String(_) => "String",
        Item::Temporal(t) => match t.kind {
            Kind::Date => "Date",
            Kind::DateTime => "DateTime",
            Kind::Time => "Time",
        },
        Item::Quantity(_) => "Quantity",
        Item::Node(_) | Item::TypeInfo { .. } => return None,
    })
}

/// Whether `item` is of type `ty`. With `exact`, FHIR primitives must be exactly the type
/// (`code` is a `string` for `is`, but not for `as`/`ofType`).
pub(crate) fn matches(item: &Item<'_>, ty: &TypeSpec, exact: bool) -> bool {
    let model = fhir_model::r4();
    let ns = ty.namespace.as_deref();
    let name = ty.name.as_str();
    match item {
        Item::Node(node) => {
            if ns == Some("System") {
                return false;
            }
            let t = node.type_name();
            if exact && primitive_kind(t).is_some() { t == name } else { model.is_subtype(t, name) }
        }
        Item::TypeInfo { .. } => false,
        other => ns != Some("FHIR") && system_type(other) == Some(name),
    }
}

/// `type()`: the namespace and name of an item's type.
pub(crate) fn type_info<'a>(item: &Item<'a>) -> Item<'a> {
    match system_type(item) {
        Some(name) => Item::TypeInfo { namespace: "System", name: name.to_owned() },
        None => Item::TypeInfo { namespace: "FHIR", name: item.type_name().to_owned() },
    }
}
