//! Parsing search URL parameters into the IR.

use crate::date::parse_date_range;
use crate::ir::{DateCondition, Filter, Prefix, SearchQuery, Sort, SortKey, TokenMatch, TotalMode};
use crate::registry::SearchRegistry;

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
pub struct SearchOptions {
    /// `Prefer: handling=lenient`: ignore unknown parameters instead of failing.
    pub lenient: bool,
    pub default_count: usize,
    pub max_count: usize,
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
const RESULT_PARAMS: [&str; 3] = ["_format", "_pretty", "_cursor"];

pub fn parse_search(
    registry: &SearchRegistry,
    resource_type: &str,
    params: &[(String, String)],
    options: SearchOptions,
) -> Result<ParsedSearch, SearchError> {
    let mut parsed = ParsedSearch {
        query: SearchQuery::new(resource_type),
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

fn parse_one(
    registry: &SearchRegistry,
    parsed: &mut ParsedSearch,
    name: &str,
    value: &str,
    options: SearchOptions,
) -> Result<(), SearchError> {
    let invalid = |reason: &str| SearchError::InvalidValue {
        name: name.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let query = &mut parsed.query;
    match name {
        "_count" => {
            let count: usize = value.parse().map_err(|_| invalid("expected a non-negative integer"))?;
            query.count = count.min(options.max_count);
        }
        "_cursor" => query.cursor = Some(value.to_owned()),
        "_total" => {
            query.total = match value {
                "none" => TotalMode::None,
                "estimate" => TotalMode::Estimate,
                "accurate" => TotalMode::Accurate,
                _ => return Err(invalid("expected none, estimate or accurate")),
            }
        }
        "_summary" => {
            parsed.summary = match value {
                "true" => SummaryMode::True,
                "false" => SummaryMode::False,
                "text" => SummaryMode::Text,
                "data" => SummaryMode::Data,
                "count" => SummaryMode::Count,
                _ => return Err(invalid("expected true, false, text, data or count")),
            };
            if parsed.summary == SummaryMode::Count {
                query.total = TotalMode::Accurate;
            }
        }
        "_elements" => {
            parsed.elements = Some(value.split(',').map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect());
        }
        "_sort" => query.sort = parse_sort(name, value)?,
        "_id" => query.filters.push(Filter::Id(split_or(value))),
        "_lastUpdated" => query.filters.push(Filter::LastUpdated(parse_dates(name, value)?)),
        _ if RESULT_PARAMS.contains(&name) => {}
        _ => query.filters.push(parse_param(registry, &query.resource_type, name, value)?),
    }
    Ok(())
}

fn parse_param(registry: &SearchRegistry, resource_type: &str, name: &str, value: &str) -> Result<Filter, SearchError> {
    let (code, modifier) = match name.split_once(':') {
        Some((code, modifier)) => (code, Some(modifier)),
        None => (name, None),
    };
    let Some(param) = registry.param(resource_type, code) else {
        return Err(match registry.model().search_param(resource_type, code) {
            Some(def) => SearchError::UnsupportedParameter {
                name: name.to_owned(),
                reason: format!("{} parameters of this shape are not indexed yet", def.kind.as_str()),
            },
            None if code.contains('.') => SearchError::UnsupportedParameter {
                name: name.to_owned(),
                reason: "chained parameters are not supported yet".to_owned(),
            },
            None => SearchError::UnknownParameter { resource_type: resource_type.to_owned(), name: name.to_owned() },
        });
    };
    let param = param.code.clone();
    match modifier {
        None => Ok(Filter::Token { param, values: parse_tokens(value), negate: false }),
        Some("not") => Ok(Filter::Token { param, values: parse_tokens(value), negate: true }),
        Some("missing") => match value {
            "true" => Ok(Filter::TokenMissing { param, missing: true }),
            "false" => Ok(Filter::TokenMissing { param, missing: false }),
            _ => Err(SearchError::InvalidValue {
                name: name.to_owned(),
                value: value.to_owned(),
                reason: "expected true or false".to_owned(),
            }),
        },
        Some(other) => Err(SearchError::UnsupportedParameter {
            name: name.to_owned(),
            reason: format!("modifier ':{other}' is not supported for token parameters"),
        }),
    }
}

/// Splits a value on unescaped commas and unescapes `\,`, `\|`, `\$`, `\\`.
fn split_or(value: &str) -> Vec<String> {
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

fn parse_tokens(value: &str) -> Vec<TokenMatch> {
    split_or(value)
        .into_iter()
        .map(|v| match split_unescaped_pipe(&v) {
            None => TokenMatch::Code(unescape_pipe(&v)),
            Some(("", code)) => TokenMatch::NoSystemCode(unescape_pipe(code)),
            Some((system, "")) => TokenMatch::System(unescape_pipe(system)),
            Some((system, code)) => TokenMatch::SystemCode(unescape_pipe(system), unescape_pipe(code)),
        })
        .collect()
}

fn split_unescaped_pipe(value: &str) -> Option<(&str, &str)> {
    let bytes = value.as_bytes();
    let index =
        (0..bytes.len()).find(|&i| bytes.get(i) == Some(&b'|') && (i == 0 || bytes.get(i - 1) != Some(&b'\\')))?;
    Some((value.get(..index)?, value.get(index + 1..)?))
}

fn unescape_pipe(value: &str) -> String {
    value.replace("\\|", "|")
}

fn parse_dates(name: &str, value: &str) -> Result<Vec<DateCondition>, SearchError> {
    split_or(value)
        .iter()
        .map(|v| {
            let (prefix, rest) = Prefix::split(v);
            let range = parse_date_range(rest).ok_or_else(|| SearchError::InvalidValue {
                name: name.to_owned(),
                value: v.clone(),
                reason: "expected a FHIR date, dateTime or instant".to_owned(),
            })?;
            Ok(DateCondition { prefix, low: range.low, high: range.high })
        })
        .collect()
}

fn parse_sort(name: &str, value: &str) -> Result<Vec<Sort>, SearchError> {
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
                    return Err(SearchError::UnsupportedParameter {
                        name: name.to_owned(),
                        reason: format!("sorting by '{other}' is not supported yet (only _id and _lastUpdated)"),
                    });
                }
            };
            Ok(Sort { key, descending })
        })
        .collect()
}

#[cfg(test)]
mod tests;
