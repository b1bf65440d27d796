//! FHIR request headers: `If-Match`, `If-None-Match`, `If-None-Exist`, `If-Modified-Since`, `Prefer`.

use axum::http::HeaderMap;
use store::Timestamp;

use crate::error::{ApiError, Code};

/// `W/"3"` or `"3"` to 3.
pub(crate) fn parse_etag(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().ok()
}

pub(crate) fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The version required by `If-Match`; a malformed value is a 400.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    match header_text(headers, "if-match") {
        None => Ok(None),
        Some(text) => parse_etag(text)
            .map(Some)
            .ok_or_else(|| ApiError::new(Code::InvalidRequest, format!("If-Match '{text}' is not a version ETag"))),
    }
}

pub(crate) fn if_none_match(headers: &HeaderMap) -> Option<String> {
    header_text(headers, "if-none-match").map(str::to_owned)
}

pub(crate) fn if_none_exist(headers: &HeaderMap) -> Option<String> {
    header_text(headers, "if-none-exist").map(str::to_owned)
}

pub(crate) fn if_modified_since(headers: &HeaderMap) -> Option<Timestamp> {
    header_text(headers, "if-modified-since").and_then(Timestamp::parse_http_date)
}

/// What the client asked for with `Prefer: return=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReturnPreference {
    Minimal,
    #[default]
    Representation,
    OperationOutcome,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Prefer {
    pub(crate) return_: ReturnPreference,
    pub(crate) lenient: bool,
}

pub(crate) fn prefer(headers: &HeaderMap) -> Prefer {
    let mut prefer = Prefer::default();
    for value in headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()) {
        for part in value.split([',', ';']).map(str::trim) {
            match part {
                "return=minimal" => prefer.return_ = ReturnPreference::Minimal,
                "return=representation" => prefer.return_ = ReturnPreference::Representation,
                "return=OperationOutcome" => prefer.return_ = ReturnPreference::OperationOutcome,
                "handling=lenient" => prefer.lenient = true,
                "handling=strict" => prefer.lenient = false,
                _ => {}
            }
        }
    }
    prefer
}
