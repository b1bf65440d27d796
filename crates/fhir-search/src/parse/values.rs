//! Values and modifiers of each parameter type.

use fhir_model::SearchParamType;

use super::{SearchError, invalid, parse_dates, split_or, table_of};
use crate::base::{OwnBase, relative_target};
use crate::extract::decimal_range;
use crate::ir::{CompositePart, Filter, NumberCondition, Prefix, ReferenceMatch, StringMode, TokenMatch, UriMode};
use crate::registry::{IndexedParam, SearchRegistry};
use crate::value_sets::ValueSetCodes;

pub(crate) fn parse_values(
    registry: &SearchRegistry,
    value_sets: &ValueSetCodes,
    param: &IndexedParam,
    name: &str,
    modifier: Option<&str>,
    value: &str,
) -> Result<Filter, SearchError> {
    let code = param.code.clone();
    if modifier == Some("missing") {
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => return Err(invalid(name, value, "expected true or false")),
        };
        let table = table_of(param.kind).ok_or_else(|| invalid(name, value, "not an indexed parameter"))?;
        return Ok(Filter::Missing { param: code, table, missing });
    }
    let unsupported = |what: &str| SearchError::UnsupportedParameter {
        name: name.to_owned(),
        reason: format!("modifier ':{what}' is not supported for {} parameters", param.kind.as_str()),
    };
    match (param.kind, modifier) {
        (SearchParamType::Token, None | Some("not")) => {
            Ok(Filter::Token { param: code, values: tokens(value), negate: modifier == Some("not") })
        }
        (SearchParamType::Token, Some("of-type")) => {
            let values = split_or(value)
                .into_iter()
                .map(|v| {
                    let parts: Vec<&str> = v.splitn(3, '|').collect();
                    match parts.as_slice() {
                        [system, code, id] if !code.is_empty() && !id.is_empty() => {
                            Ok(TokenMatch::SystemCode(format!("{system}|{code}"), (*id).to_owned()))
                        }
                        _ => Err(invalid(name, &v, "expected type-system|type-code|value")),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Filter::Token { param: format!("{code}:of-type"), values, negate: false })
        }
        (SearchParamType::Token, Some(modifier @ ("in" | "not-in"))) => {
            let mut values = Vec::new();
            for url in split_or(value) {
                let codes =
                    value_sets.get(&url).ok_or_else(|| invalid(name, &url, "the value set was not expanded"))?;
                values.extend(codes.iter().cloned());
            }
            Ok(Filter::Token { param: code, values, negate: modifier == "not-in" })
        }
        (SearchParamType::Token, Some(modifier @ ("above" | "below"))) => {
            let mut values = Vec::new();
            for item in split_or(value) {
                let key = crate::value_sets::subsumption_key(modifier, &item);
                let codes = value_sets.get(&key).ok_or_else(|| {
                    invalid(name, &item, "expected system|code of a CodeSystem the server holds with its hierarchy")
                })?;
                values.extend(codes.iter().cloned());
            }
            Ok(Filter::Token { param: code, values, negate: false })
        }
        (SearchParamType::Token, Some("text")) => Ok(Filter::Token {
            param: code,
            values: split_or(value).into_iter().map(TokenMatch::Text).collect(),
            negate: false,
        }),
        (SearchParamType::String, None | Some("exact") | Some("contains")) => {
            let mode = match modifier {
                Some("exact") => StringMode::Exact,
                Some("contains") => StringMode::Contains,
                _ => StringMode::Prefix,
            };
            Ok(Filter::String { param: code, values: split_or(value), mode })
        }
        (SearchParamType::Date, None) => Ok(Filter::Date { param: code, values: parse_dates(name, value)? }),
        (SearchParamType::Number, None) => Ok(Filter::Number { param: code, values: numbers(name, value, false)? }),
        (SearchParamType::Quantity, None) => {
            let mut values = numbers(name, value, true)?;
            values.iter_mut().for_each(crate::extract::canonical_condition);
            Ok(Filter::Quantity { param: code, values })
        }
        (SearchParamType::Reference, None | Some("identifier")) => Ok(Filter::Reference {
            param: code,
            values: references(registry.own_base(), None, modifier == Some("identifier"), value),
        }),
        (SearchParamType::Reference, Some(target)) if registry.model().is_resource_type(target) => {
            Ok(Filter::Reference { param: code, values: references(registry.own_base(), Some(target), false, value) })
        }
        (SearchParamType::Uri, None | Some("above") | Some("below")) => {
            let mode = match modifier {
                Some("above") => UriMode::Above,
                Some("below") => UriMode::Below,
                _ => UriMode::Exact,
            };
            Ok(Filter::Uri { param: code, values: split_or(value), mode })
        }
        (SearchParamType::Composite, None) => composite(registry.own_base(), param, name, value),
        (_, Some(other)) => Err(unsupported(other)),
        (_, None) => Err(unsupported("")),
    }
}

fn tokens(value: &str) -> Vec<TokenMatch> {
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

pub(crate) fn split_unescaped_pipe(value: &str) -> Option<(&str, &str)> {
    let bytes = value.as_bytes();
    let index =
        (0..bytes.len()).find(|&i| bytes.get(i) == Some(&b'|') && (i == 0 || bytes.get(i - 1) != Some(&b'\\')))?;
    Some((value.get(..index)?, value.get(index + 1..)?))
}

pub(crate) fn unescape_pipe(value: &str) -> String {
    value.replace("\\|", "|")
}

/// `[prefix]number` or, for quantities, `[prefix]number|system|code`.
fn numbers(name: &str, value: &str, quantity: bool) -> Result<Vec<NumberCondition>, SearchError> {
    split_or(value)
        .iter()
        .map(|v| {
            let (prefix, rest) = Prefix::split(v);
            let mut parts = rest.splitn(3, '|');
            let number = parts.next().unwrap_or_default();
            let (value, low, high) = decimal_range(number).ok_or_else(|| invalid(name, v, "expected a number"))?;
            let system = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
            let code = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
            if !quantity && (system.is_some() || code.is_some()) {
                return Err(invalid(name, v, "a number parameter takes no unit"));
            }
            Ok(NumberCondition { prefix, value, low, high, system, code })
        })
        .collect()
}

fn references(own: &OwnBase, target: Option<&str>, identifier: bool, value: &str) -> Vec<ReferenceMatch> {
    let mut out = Vec::new();
    for v in split_or(value) {
        if identifier {
            let (system, id_value) = match split_unescaped_pipe(&v) {
                Some((system, id_value)) => (Some(system.to_owned()).filter(|s| !s.is_empty()), id_value.to_owned()),
                None => (None, v.clone()),
            };
            out.push(ReferenceMatch::Identifier { system, value: id_value });
            continue;
        }
        if v.contains("://") || v.starts_with("urn:") {
            // A URL under the own base is the local resource (stored references to it were
            // indexed as such, relative or absolute); any other URL is matched as written.
            let url = v.split('|').next().unwrap_or(&v).to_owned();
            if let Some((t, id)) = own.target(&url) {
                out.push(ReferenceMatch::Local { target_type: Some(t), id });
            }
            out.push(ReferenceMatch::Url(url));
        } else if let Some((t, id)) = relative_target(&v) {
            out.push(ReferenceMatch::Local { target_type: Some(t), id });
        } else {
            out.push(ReferenceMatch::Local { target_type: target.map(str::to_owned), id: v.clone() });
        }
    }
    out
}

/// `a$b[$c]`: each part parsed by its component's type; `,` separates alternatives.
fn composite(own: &OwnBase, param: &IndexedParam, name: &str, value: &str) -> Result<Filter, SearchError> {
    let mut values = Vec::new();
    for alternative in split_or(value) {
        let parts: Vec<&str> = alternative.split('$').collect();
        if parts.len() != param.components.len() {
            let reason = format!("expected {} components separated by $", param.components.len());
            return Err(invalid(name, &alternative, &reason));
        }
        let mut conditions = Vec::new();
        for ((kind, _), part) in param.components.iter().zip(parts) {
            let condition = match kind {
                SearchParamType::Token => CompositePart::Token(
                    tokens(part).into_iter().next().ok_or_else(|| invalid(name, part, "empty token"))?,
                ),
                SearchParamType::Reference => {
                    let (target_type, id) = match own.target(part) {
                        Some((t, id)) => (Some(t), id),
                        None => (None, part.to_owned()),
                    };
                    CompositePart::Reference { target_type, id }
                }
                SearchParamType::Quantity => CompositePart::Number(first(numbers(name, part, true)?, name, part)?),
                SearchParamType::Number => CompositePart::Number(first(numbers(name, part, false)?, name, part)?),
                SearchParamType::Date => CompositePart::Date(first(parse_dates(name, part)?, name, part)?),
                _ => CompositePart::String(part.to_owned()),
            };
            conditions.push(condition);
        }
        values.push(conditions);
    }
    Ok(Filter::Composite { param: param.code.clone(), values })
}

fn first<T>(items: Vec<T>, name: &str, part: &str) -> Result<T, SearchError> {
    items.into_iter().next().ok_or_else(|| invalid(name, part, "empty component"))
}
