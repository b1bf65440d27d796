//! Parsing search URL parameters into the IR.

pub(crate) mod chain;
pub(crate) mod values;

use fhir_model::SearchParamType;

use crate::date::parse_date_range;
use crate::ir::{DateCondition, Include, IndexTable, Prefix, SearchQuery, Sort, SortKey, TotalMode};
use crate::registry::SearchRegistry;
use crate::value_sets::ValueSetCodes;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    #[error("unknown search parameter '{name}' for {resource_type}")]
    UnknownParameter { resource_type: String, name: String },
    #[error("search parameter '{name}' is not supported: {reason}")]
    UnsupportedParameter { name: String, reason: String },
    #[error("invalid value '{value}' for search parameter '{name}': {reason}")]
    InvalidValue { name: String, value: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryMode {
    False,
    True,
    Text,
    Data,
    Count,
}

#[derive(Debug, Clone, Copy)]
pub struct SearchOptions<'v> {
    /// `Prefer: handling=lenient`: ignore unknown parameters instead of failing.
    pub lenient: bool,
    pub default_count: usize,
    pub max_count: usize,
    /// The expansions of the value sets that `:in`/`:not-in` name ([`crate::value_sets_named`]).
    pub value_sets: &'v ValueSetCodes,
}

#[derive(Debug)]
pub struct ParsedSearch {
    pub query: SearchQuery,
    pub summary: SummaryMode,
    /// `_elements`, when given.
    pub elements: Option<Vec<String>>,
    /// Parameters ignored under lenient handling, with the reason.
    pub ignored: Vec<SearchError>,
}

/// Parameters that shape the response rather than select resources; the REST layer reads them.
const RESULT_PARAMS: [&str; 4] = ["_format", "_pretty", "_cursor", "_type"];

/// Parses a search over one resource type.
pub fn parse_search(
    registry: &SearchRegistry,
    resource_type: &str,
    params: &[(String, String)],
    options: SearchOptions<'_>,
) -> Result<ParsedSearch, SearchError> {
    parse_search_types(registry, vec![resource_type.to_owned()], params, options)
}

/// Parses a search over several types (`_type`, compartment `*`): a parameter must exist with
/// the same type on each of them.
pub fn parse_search_types(
    registry: &SearchRegistry,
    types: Vec<String>,
    params: &[(String, String)],
    options: SearchOptions<'_>,
) -> Result<ParsedSearch, SearchError> {
    let mut parsed = ParsedSearch {
        query: SearchQuery::over(types),
        summary: SummaryMode::False,
        elements: None,
        ignored: Vec::new(),
    };
    parsed.query.count = options.default_count;
    for (name, value) in params {
        match parse_one(registry, &mut parsed, name, value, options) {
            Ok(()) => {}
            Err(error @ (SearchError::UnknownParameter { .. } | SearchError::UnsupportedParameter { .. }))
                if options.lenient =>
            {
                parsed.ignored.push(error);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(parsed)
}

/// Contained resources are indexed as part of their container, never as resources of their own.
fn contained_unsupported(name: &str) -> SearchError {
    SearchError::UnsupportedParameter {
        name: name.to_owned(),
        reason: "contained resources are not searched on their own; their elements are searched as part of \
                 their container"
            .to_owned(),
    }
}

pub(crate) fn invalid(name: &str, value: &str, reason: &str) -> SearchError {
    SearchError::InvalidValue { name: name.to_owned(), value: value.to_owned(), reason: reason.to_owned() }
}

fn parse_one(
    registry: &SearchRegistry,
    parsed: &mut ParsedSearch,
    name: &str,
    value: &str,
    options: SearchOptions<'_>,
) -> Result<(), SearchError> {
    let query = &mut parsed.query;
    match name {
        "_count" => {
            let count: usize = value.parse().map_err(|_| invalid(name, value, "expected a non-negative integer"))?;
            query.count = count.min(options.max_count);
        }
        "_cursor" => query.cursor = Some(value.to_owned()),
        "_total" => {
            query.total = match value {
                "none" => TotalMode::None,
                "estimate" => TotalMode::Estimate,
                "accurate" => TotalMode::Accurate,
                _ => return Err(invalid(name, value, "expected none, estimate or accurate")),
            }
        }
        "_summary" => {
            parsed.summary = match value {
                "true" => SummaryMode::True,
                "false" => SummaryMode::False,
                "text" => SummaryMode::Text,
                "data" => SummaryMode::Data,
                "count" => SummaryMode::Count,
                _ => return Err(invalid(name, value, "expected true, false, text, data or count")),
            };
            if parsed.summary == SummaryMode::Count {
                query.total = TotalMode::Accurate;
            }
        }
        "_elements" => {
            parsed.elements = Some(value.split(',').map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect());
        }
        "_contained" => match value {
            // The default: contained resources are not matched on their own.
            "false" => {}
            "true" | "both" => return Err(contained_unsupported(name)),
            _ => return Err(invalid(name, value, "expected false, true or both")),
        },
        "_containedType" => match value {
            "container" => {}
            "contained" => return Err(contained_unsupported(name)),
            _ => return Err(invalid(name, value, "expected container or contained")),
        },
        "_sort" => query.sort = parse_sort(registry, &query.types, name, value)?,
        "_include" | "_revinclude" | "_include:iterate" | "_revinclude:iterate" => {
            let include = parse_include(registry, &query.types, name, value)?;
            query.includes.push(include);
        }
        _ if RESULT_PARAMS.contains(&name) => {}
        _ => {
            let mut filters = Vec::new();
            for resource_type in &query.types {
                filters.push(chain::parse_filter(registry, options.value_sets, resource_type, name, value, 0)?);
            }
            filters.dedup();
            match filters.len() {
                1 => query.filters.extend(filters),
                _ => {
                    return Err(SearchError::UnsupportedParameter {
                        name: name.to_owned(),
                        reason: "the parameter means different things on the searched types".to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn parse_dates(name: &str, value: &str) -> Result<Vec<DateCondition>, SearchError> {
    split_or(value)
        .iter()
        .map(|v| {
            let (prefix, rest) = Prefix::split(v);
            let range =
                parse_date_range(rest).ok_or_else(|| invalid(name, v, "expected a FHIR date, dateTime or instant"))?;
            Ok(DateCondition { prefix, low: range.low, high: range.high })
        })
        .collect()
}

/// Splits a value on unescaped commas and unescapes `\,`, `\$`, `\\` (`\|` stays for tokens).
pub(crate) fn split_or(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ (',' | '$' | '\\')) => current.push(next),
                Some(next) => {
                    current.push('\\');
                    current.push(next);
                }
                None => current.push('\\'),
            },
            ',' => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out
}

pub(crate) fn table_of(kind: SearchParamType) -> Option<IndexTable> {
    Some(match kind {
        SearchParamType::Token => IndexTable::Token,
        SearchParamType::String => IndexTable::String,
        SearchParamType::Date => IndexTable::Date,
        SearchParamType::Number => IndexTable::Number,
        SearchParamType::Quantity => IndexTable::Quantity,
        SearchParamType::Reference => IndexTable::Reference,
        SearchParamType::Uri => IndexTable::Uri,
        SearchParamType::Composite => IndexTable::Composite,
        SearchParamType::Special => return None,
    })
}

fn parse_sort(registry: &SearchRegistry, types: &[String], name: &str, value: &str) -> Result<Vec<Sort>, SearchError> {
    value
        .split(',')
        .map(|key| {
            let (descending, key) = match key.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, key),
            };
            let key = match key {
                "_id" => SortKey::Id,
                "_lastUpdated" => SortKey::LastUpdated,
                other => {
                    let first = types.first().and_then(|t| registry.param(t, other));
                    let table = first
                        .and_then(|p| table_of(p.kind))
                        .filter(|_| {
                            types.iter().all(|t| {
                                registry
                                    .param(t, other)
                                    .is_some_and(|p| Some(&p.stored_as) == first.map(|f| &f.stored_as))
                            })
                        })
                        .ok_or_else(|| SearchError::UnsupportedParameter {
                            name: name.to_owned(),
                            reason: format!(
                                "cannot sort by '{other}': not a searchable parameter of the searched types"
                            ),
                        })?;
                    let params = first.map(|p| p.stored_as.clone()).unwrap_or_default();
                    SortKey::Param { params, table }
                }
            };
            Ok(Sort { key, descending })
        })
        .collect()
}

fn parse_include(registry: &SearchRegistry, types: &[String], name: &str, value: &str) -> Result<Include, SearchError> {
    let reverse = name.starts_with("_revinclude");
    let iterate = name.ends_with(":iterate");
    let unsupported =
        |reason: &str| SearchError::UnsupportedParameter { name: name.to_owned(), reason: reason.to_owned() };
    if value == "*" {
        let source_type = types.first().cloned().unwrap_or_default();
        return Ok(Include { source_type, param: None, target_type: None, iterate, reverse });
    }
    let mut parts = value.split(':');
    let source_type = parts.next().unwrap_or_default().to_owned();
    let param = parts.next().map(str::to_owned);
    let target_type = parts.next().map(str::to_owned);
    if !registry.model().is_resource_type(&source_type) {
        return Err(unsupported(&format!("'{source_type}' is not a resource type")));
    }
    let param = match param.as_deref() {
        None | Some("*") => None,
        Some(code) => match registry.param(&source_type, code) {
            Some(p) if p.kind == SearchParamType::Reference => Some(code.to_owned()),
            _ => return Err(unsupported(&format!("'{source_type}:{code}' is not a reference parameter"))),
        },
    };
    if let Some(target) = &target_type
        && !registry.model().is_resource_type(target)
    {
        return Err(unsupported(&format!("'{target}' is not a resource type")));
    }
    Ok(Include { source_type, param, target_type, iterate, reverse })
}

#[cfg(test)]
mod tests;
