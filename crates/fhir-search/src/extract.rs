//! Extracting index values: every parameter's compiled FHIRPath expression is evaluated over the
//! resource (borrowing it, no clone), and each result is converted by its FHIR type into the
//! rows of the parameter's kind.

use fhir_model::SearchParamType;
use serde_json::Value;

use crate::base::OwnBase;
use crate::date::parse_date_range;
use crate::index::{
    CompositeEntry, CompositeValue, DateEntry, IndexEntries, NumberEntry, QuantityEntry, ReferenceEntry, StringEntry,
    TokenEntry, UriEntry, normalize,
};
use crate::registry::{IndexedParam, SearchRegistry};

/// Computes every index row of a resource. A parameter whose expression fails on this resource
/// (a runtime type error in the spec's expression) contributes no rows; one whose rows are
/// other parameters' rows (`IndexedParam::stored_as`) has none of its own.
pub fn extract(registry: &SearchRegistry, resource: &Value) -> IndexEntries {
    let mut entries = IndexEntries::default();
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else { return entries };
    let ctx = fhirpath::EvalContext::new().with_resource(resource).with_root_resource(resource);
    let own = registry.own_base();
    for param in registry.params(resource_type).iter().filter(|p| !p.is_derived()) {
        extract_param(param, own, &ctx, resource, &mut entries);
    }
    entries
}

/// The rows of one parameter, whether or not it is stored as itself.
fn extract_param<'a>(
    param: &IndexedParam,
    own: &OwnBase,
    ctx: &fhirpath::EvalContext<'a>,
    resource: &'a Value,
    entries: &mut IndexEntries,
) {
    if param.kind == SearchParamType::Composite {
        let Ok(items) = param.expression.evaluate(ctx, resource) else { return };
        for item in items {
            composite(param, own, ctx, item, &mut entries.composites);
        }
        return;
    }
    let Ok(nodes) = param.expression.evaluate_nodes(ctx, resource) else { return };
    for (node, type_name) in nodes {
        add(param, own, type_name, node, entries);
    }
}

/// Evaluates each component on the same node and stores every combination of their values.
fn composite<'a>(
    param: &IndexedParam,
    own: &OwnBase,
    ctx: &fhirpath::EvalContext<'a>,
    element: fhirpath::Item<'a>,
    out: &mut Vec<CompositeEntry>,
) {
    let mut rows: Vec<Vec<CompositeValue>> = vec![Vec::new()];
    for (kind, expression) in &param.components {
        let Ok(items) = expression.evaluate_items(ctx, vec![element.clone()]) else { return };
        let mut values = Vec::new();
        for item in &items {
            if let Some(json) = item.json() {
                component_values(*kind, own, item.type_name(), json, &mut values);
            }
        }
        if values.is_empty() {
            return;
        }
        rows = rows
            .into_iter()
            .flat_map(|row| {
                values.iter().map(move |v| {
                    let mut next = row.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    out.extend(rows.into_iter().map(|parts| CompositeEntry { param: param.code.clone(), parts }));
}

/// One component's values, through the same conversions as plain parameters.
fn component_values(
    kind: SearchParamType,
    own: &OwnBase,
    type_name: &str,
    node: &Value,
    out: &mut Vec<CompositeValue>,
) {
    let mut entries = IndexEntries::default();
    match kind {
        SearchParamType::Token => tokens("", type_name, node, &mut entries.tokens),
        SearchParamType::Reference => references("", own, type_name, node, &mut entries.references),
        SearchParamType::Quantity => quantities("", type_name, node, &mut entries.quantities),
        SearchParamType::Date => dates("", type_name, node, &mut entries.dates),
        SearchParamType::String => strings("", type_name, node, &mut entries.strings),
        SearchParamType::Number => {
            if let Some((value, low, high)) = number_range(node) {
                entries.numbers.push(NumberEntry { param: String::new(), value, low, high });
            }
        }
        _ => {}
    }
    out.extend(
        entries
            .tokens
            .into_iter()
            .filter(|t| t.code.is_some())
            .map(|t| CompositeValue::Token { system: t.system, code: t.code }),
    );
    out.extend(
        entries.references.into_iter().map(|r| CompositeValue::Token { system: r.target_type, code: r.target_id }),
    );
    out.extend(entries.quantities.into_iter().map(|q| CompositeValue::Number {
        system: q.system,
        code: q.code,
        value: q.value,
        low: q.low,
        high: q.high,
    }));
    out.extend(entries.numbers.into_iter().map(|n| CompositeValue::Number {
        system: None,
        code: None,
        value: n.value,
        low: n.low,
        high: n.high,
    }));
    out.extend(entries.dates.into_iter().map(|d| CompositeValue::Date { low: d.low, high: d.high }));
    out.extend(entries.strings.into_iter().map(|s| CompositeValue::String { normalized: s.normalized }));
}

fn add(param: &IndexedParam, own: &OwnBase, type_name: &str, node: &Value, entries: &mut IndexEntries) {
    match param.kind {
        SearchParamType::Token => tokens(&param.code, type_name, node, &mut entries.tokens),
        SearchParamType::String => strings(&param.code, type_name, node, &mut entries.strings),
        SearchParamType::Date => dates(&param.code, type_name, node, &mut entries.dates),
        SearchParamType::Number => {
            if let Some((value, low, high)) = number_range(node) {
                entries.numbers.push(NumberEntry { param: param.code.clone(), value, low, high });
            }
        }
        SearchParamType::Quantity => quantities(&param.code, type_name, node, &mut entries.quantities),
        SearchParamType::Reference => references(&param.code, own, type_name, node, &mut entries.references),
        SearchParamType::Uri => {
            if let Some(uri) = node.as_str() {
                entries.uris.push(UriEntry { param: param.code.clone(), uri: uri.to_owned() });
            }
        }
        SearchParamType::Composite | SearchParamType::Special => {}
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn tokens(param: &str, type_name: &str, node: &Value, out: &mut Vec<TokenEntry>) {
    let mut push = |system: Option<String>, code: Option<String>, display: Option<String>| {
        if system.is_some() || code.is_some() || display.is_some() {
            out.push(TokenEntry { param: param.to_owned(), system, code, text: display });
        }
    };
    match type_name {
        "Coding" => push(text(node.get("system")), text(node.get("code")), text(node.get("display"))),
        "CodeableConcept" => {
            for coding in node.get("coding").and_then(Value::as_array).into_iter().flatten() {
                push(text(coding.get("system")), text(coding.get("code")), text(coding.get("display")));
            }
            if let Some(label) = text(node.get("text")) {
                push(None, None, Some(label));
            }
        }
        "Identifier" => {
            let label = node.get("type").and_then(|t| text(t.get("text")));
            push(text(node.get("system")), text(node.get("value")), label);
            // `:of-type` rows: the identifier's type coding as the system, its value as the code.
            for coding in node.get("type").and_then(|t| t.get("coding")).and_then(Value::as_array).into_iter().flatten()
            {
                if let (Some(system), Some(code), Some(value)) =
                    (text(coding.get("system")), text(coding.get("code")), text(node.get("value")))
                {
                    out.push(TokenEntry {
                        param: format!("{param}:of-type"),
                        system: Some(format!("{system}|{code}")),
                        code: Some(value),
                        text: None,
                    });
                }
            }
        }
        "ContactPoint" => push(None, text(node.get("value")), None),
        "Reference" => {
            if let Some(identifier) = node.get("identifier") {
                push(text(identifier.get("system")), text(identifier.get("value")), None);
            }
        }
        "boolean" => push(None, node.as_bool().map(|b| b.to_string()), None),
        "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "SimpleQuantity" => {
            push(text(node.get("system")), text(node.get("code")), None);
        }
        _ => {
            let value = match node {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            push(None, value, None);
        }
    }
}

fn strings(param: &str, type_name: &str, node: &Value, out: &mut Vec<StringEntry>) {
    let mut push = |value: &str| {
        if !value.is_empty() {
            out.push(StringEntry { param: param.to_owned(), normalized: normalize(value), exact: value.to_owned() });
        }
    };
    let parts: &[&str] = match type_name {
        "HumanName" => &["text", "family", "given", "prefix", "suffix"],
        "Address" => &["text", "line", "city", "district", "state", "postalCode", "country"],
        _ => &[],
    };
    if parts.is_empty() {
        match node {
            Value::String(s) => push(s),
            Value::Object(_) => collect_strings(node, &mut push),
            _ => {}
        }
        return;
    }
    for part in parts {
        match node.get(*part) {
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => {}
        }
    }
}

/// Every string inside a complex value (for string parameters over other datatypes).
fn collect_strings(node: &Value, push: &mut impl FnMut(&str)) {
    match node {
        Value::String(s) => push(s),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, push)),
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, _)| !k.starts_with('_') && *k != "extension")
            .for_each(|(_, v)| collect_strings(v, push)),
        _ => {}
    }
}

fn dates(param: &str, type_name: &str, node: &Value, out: &mut Vec<DateEntry>) {
    let mut push = |low: i64, high: i64| out.push(DateEntry { param: param.to_owned(), low, high });
    match type_name {
        "Period" => {
            let low = node.get("start").and_then(Value::as_str).and_then(parse_date_range).map_or(i64::MIN, |r| r.low);
            let high = node.get("end").and_then(Value::as_str).and_then(parse_date_range).map_or(i64::MAX, |r| r.high);
            if node.get("start").is_some() || node.get("end").is_some() {
                push(low, high);
            }
        }
        "Timing" => {
            let ranges: Vec<_> = node
                .get("event")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(parse_date_range)
                .collect();
            if let (Some(low), Some(high)) = (ranges.iter().map(|r| r.low).min(), ranges.iter().map(|r| r.high).max()) {
                push(low, high);
            }
        }
        _ => {
            if let Some(range) = node.as_str().and_then(parse_date_range) {
                push(range.low, range.high);
            }
        }
    }
}

/// A JSON number with the range its written precision implies: `1.50` is `[1.495, 1.505)`.
pub(crate) fn number_range(node: &Value) -> Option<(f64, f64, f64)> {
    let text = match node {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    decimal_range(&text)
}

pub(crate) fn decimal_range(text: &str) -> Option<(f64, f64, f64)> {
    let value: f64 = text.parse().ok()?;
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let exponent: i32 = text.split(['e', 'E']).nth(1).and_then(|e| e.parse().ok()).unwrap_or(0);
    let decimals = mantissa.split_once('.').map_or(0, |(_, d)| i32::try_from(d.len()).unwrap_or(0));
    let half = 0.5 * 10f64.powi(exponent - decimals);
    Some((value, value - half, value + half))
}

fn quantities(param: &str, type_name: &str, node: &Value, out: &mut Vec<QuantityEntry>) {
    let mut push = |quantity: &Value, system: Option<String>, code: Option<String>| {
        if let Some((value, low, high)) = quantity.get("value").and_then(number_range) {
            out.push(QuantityEntry { param: param.to_owned(), system, code, value, low, high });
        }
    };
    match type_name {
        "Money" => push(node, Some("urn:iso:std:iso:4217".to_owned()), text(node.get("currency"))),
        "Range" => {
            for bound in ["low", "high"] {
                if let Some(q) = node.get(bound) {
                    push(q, text(q.get("system")), text(q.get("code")).or_else(|| text(q.get("unit"))));
                }
            }
        }
        _ => push(node, text(node.get("system")), text(node.get("code")).or_else(|| text(node.get("unit")))),
    }
    canonical_rows(out);
}

const UCUM: &str = "http://unitsofmeasure.org";

/// For UCUM quantities in a convertible unit, adds a row in base units, so `5 kg` is found by a
/// search for `5000 g` (searches convert their value the same way).
fn canonical_rows(out: &mut Vec<QuantityEntry>) {
    let extra: Vec<QuantityEntry> = out
        .iter()
        .filter(|q| q.system.as_deref().is_none_or(|s| s == UCUM))
        .filter_map(|q| {
            let (factor, unit) = fhirpath::ucum_canonical(q.code.as_deref()?)?;
            let same = q.code.as_deref() == Some(unit.as_str()) && q.system.as_deref() == Some(UCUM);
            (!same).then(|| QuantityEntry {
                param: q.param.clone(),
                system: Some(UCUM.to_owned()),
                code: Some(unit),
                value: q.value * factor,
                low: q.low * factor,
                high: q.high * factor,
            })
        })
        .collect();
    out.extend(extra);
}

/// A quantity search value in a convertible UCUM unit, expressed in base units.
pub(crate) fn canonical_condition(condition: &mut crate::ir::NumberCondition) {
    if condition.system.as_deref().is_some_and(|s| s != UCUM) {
        return;
    }
    let Some((factor, unit)) = condition.code.as_deref().and_then(fhirpath::ucum_canonical) else { return };
    condition.system = Some(UCUM.to_owned());
    condition.code = Some(unit);
    condition.value *= factor;
    condition.low *= factor;
    condition.high *= factor;
}

fn references(param: &str, own: &OwnBase, type_name: &str, node: &Value, out: &mut Vec<ReferenceEntry>) {
    let mut entry = ReferenceEntry {
        param: param.to_owned(),
        target_type: None,
        target_id: None,
        url: None,
        identifier_system: None,
        identifier_value: None,
    };
    let reference = match type_name {
        "Reference" => {
            if let Some(identifier) = node.get("identifier") {
                entry.identifier_system = text(identifier.get("system"));
                entry.identifier_value = text(identifier.get("value"));
            }
            text(node.get("reference"))
        }
        _ => node.as_str().map(str::to_owned),
    };
    if let Some(reference) = reference.filter(|r| !r.starts_with('#')) {
        if let Some((target_type, target_id)) = own.target(&reference) {
            entry.target_type = Some(target_type);
            entry.target_id = Some(target_id);
        }
        if reference.contains(':') {
            entry.url = Some(reference);
        }
    }
    if entry.target_id.is_some() || entry.url.is_some() || entry.identifier_value.is_some() {
        out.push(entry);
    }
}

#[cfg(test)]
mod tests;
