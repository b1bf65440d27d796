//! One search parameter into a filter: plain parameters with modifiers, chains
//! (`subject:Patient.name`) and reverse chains (`_has:Observation:subject:code`), to any depth.

use fhir_model::SearchParamType;

use super::{SearchError, invalid, parse_dates, split_or, values};
use crate::ir::Filter;
use crate::registry::{IndexedParam, SearchRegistry};
use crate::value_sets::ValueSetCodes;

/// Chains deeper than this are refused (each level is a join).
pub(crate) const MAX_DEPTH: usize = 4;

pub(crate) fn parse_filter(
    registry: &SearchRegistry,
    value_sets: &ValueSetCodes,
    resource_type: &str,
    name: &str,
    value: &str,
    depth: usize,
) -> Result<Filter, SearchError> {
    if depth > MAX_DEPTH {
        return Err(SearchError::UnsupportedParameter {
            name: name.to_owned(),
            reason: format!("chains deeper than {MAX_DEPTH} levels"),
        });
    }
    if let Some(rest) = name.strip_prefix("_has:") {
        return parse_has(registry, value_sets, resource_type, name, rest, value, depth);
    }
    match name {
        "_id" => return Ok(Filter::Id(split_or(value))),
        "_lastUpdated" => return Ok(Filter::LastUpdated(parse_dates(name, value)?)),
        "_list" => return Ok(Filter::List(value.to_owned())),
        "_content" | "_text" => return Ok(Filter::Text { narrative_only: name == "_text", value: value.to_owned() }),
        _ => {}
    }
    if let Some((head, rest)) = name.split_once('.') {
        return parse_chain(registry, value_sets, resource_type, head, rest, value, depth);
    }
    let (code, modifier) = match name.split_once(':') {
        Some((code, modifier)) => (code, Some(modifier)),
        None => (name, None),
    };
    let Some(param) = registry.param(resource_type, code) else {
        return Err(unknown(registry, resource_type, name, code));
    };
    let filter = values::parse_values(registry, value_sets, param, name, modifier, value)?;
    Ok(stored_as(filter, param))
}

/// The filter on a parameter, asked of the parameters it is stored as: a value matches the
/// union of their rows, so a positive filter holds if it holds on any of them, and a negative one
/// (`:not`, `:not-in`, `:missing=true`: no row matches) only if on all. The SQL translation
/// turns such a list back into one index probe (`param IN (…)`).
fn stored_as(filter: Filter, param: &IndexedParam) -> Filter {
    if !param.is_derived() {
        return filter;
    }
    let Some(filtered) = filter.index_param() else { return filter };
    // `identifier:of-type` is stored under `<parameter>:of-type`.
    let suffix = filtered.strip_prefix(param.code.as_str()).unwrap_or_default().to_owned();
    let parts: Vec<Filter> =
        param.stored_as.iter().filter_map(|target| filter.with_index_param(&format!("{target}{suffix}"))).collect();
    if filter.is_negative() { Filter::All(parts) } else { Filter::Any(parts) }
}

fn unknown(registry: &SearchRegistry, resource_type: &str, name: &str, code: &str) -> SearchError {
    match registry.model().search_param(resource_type, code) {
        Some(def) => SearchError::UnsupportedParameter {
            name: name.to_owned(),
            reason: format!("{} parameters are not supported yet", def.kind.as_str()),
        },
        None => SearchError::UnknownParameter { resource_type: resource_type.to_owned(), name: name.to_owned() },
    }
}

/// `subject:Patient.name=x` or `subject.name=x` (every allowed target type that has `name`).
fn parse_chain(
    registry: &SearchRegistry,
    value_sets: &ValueSetCodes,
    resource_type: &str,
    head: &str,
    rest: &str,
    value: &str,
    depth: usize,
) -> Result<Filter, SearchError> {
    let (code, explicit) = match head.split_once(':') {
        Some((code, target)) => (code, Some(target)),
        None => (head, None),
    };
    let Some(param) = registry.param(resource_type, code) else {
        return Err(unknown(registry, resource_type, head, code));
    };
    if param.kind != SearchParamType::Reference {
        return Err(invalid(head, value, "only reference parameters can be chained"));
    }
    let targets: Vec<String> = match explicit {
        Some(target) if registry.model().is_resource_type(target) => vec![target.to_owned()],
        Some(target) => return Err(invalid(head, value, &format!("'{target}' is not a resource type"))),
        None if param.definition.target.is_empty() => registry.model().resource_types().to_vec(),
        None => param.definition.target.clone(),
    };
    let mut chains = Vec::new();
    let mut last_error = None;
    for target in targets {
        match parse_filter(registry, value_sets, &target, rest, value, depth + 1) {
            Ok(inner) => {
                chains.push(Filter::Chain { param: code.to_owned(), target_type: target, inner: Box::new(inner) })
            }
            Err(error @ SearchError::InvalidValue { .. }) => return Err(error),
            Err(error) => last_error = Some(error),
        }
    }
    match chains.len() {
        0 => Err(last_error.unwrap_or_else(|| invalid(head, value, "no target type supports the chained parameter"))),
        1 => Ok(chains.remove(0)),
        _ => Ok(Filter::Any(chains)),
    }
}

/// `_has:Observation:patient:code=x`, and nested `_has:...:_has:...`.
fn parse_has(
    registry: &SearchRegistry,
    value_sets: &ValueSetCodes,
    resource_type: &str,
    name: &str,
    rest: &str,
    value: &str,
    depth: usize,
) -> Result<Filter, SearchError> {
    let mut parts = rest.splitn(3, ':');
    let (Some(source_type), Some(code), Some(inner_name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(name, value, "expected _has:Type:reference-param:search-param"));
    };
    if !registry.model().is_resource_type(source_type) {
        return Err(invalid(name, value, &format!("'{source_type}' is not a resource type")));
    }
    match registry.param(source_type, code) {
        Some(p) if p.kind == SearchParamType::Reference => {}
        _ => return Err(invalid(name, value, &format!("'{source_type}:{code}' is not a reference parameter"))),
    }
    let _ = resource_type;
    let inner = parse_filter(registry, value_sets, source_type, inner_name, value, depth + 1)?;
    Ok(Filter::Has { source_type: source_type.to_owned(), param: code.to_owned(), inner: Box::new(inner) })
}
