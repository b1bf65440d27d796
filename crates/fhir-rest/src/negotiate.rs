//! Content negotiation: `Accept`, `_format`, `_pretty`, `Content-Type`, and rendering replies.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, Code};

pub(crate) const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// How the client wants the body written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Format {
    pub(crate) pretty: bool,
}

/// Checks `_format` and `Accept`: JSON only for now; anything else is 406.
pub(crate) fn negotiate(headers: &HeaderMap, params: &[(String, String)]) -> Result<Format, ApiError> {
    let mut format = Format::default();
    for (name, value) in params {
        match name.as_str() {
            "_format" if !is_json_format(value) => {
                return Err(ApiError::new(
                    Code::NotAcceptable,
                    format!("_format '{value}' is not supported; use json"),
                ));
            }
            "_pretty" => format.pretty = value == "true",
            _ => {}
        }
    }
    let explicit_format = params.iter().any(|(name, _)| name == "_format");
    if let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let acceptable = accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.is_empty() || is_json_media(media) || matches!(media, "*/*" | "application/*")
        });
        if !acceptable && !explicit_format {
            return Err(ApiError::new(
                Code::NotAcceptable,
                format!("cannot produce '{accept}'; use application/fhir+json"),
            ));
        }
    }
    Ok(format)
}

fn is_json_format(value: &str) -> bool {
    matches!(value, "json" | "application/json" | "application/fhir+json" | "application/json+fhir")
}

fn is_json_media(media: &str) -> bool {
    matches!(media, "application/json" | "application/fhir+json" | "application/json+fhir")
}

/// The media type of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    FhirJson,
    JsonPatch,
    Form,
}

pub(crate) fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else { return Ok(BodyKind::FhirJson) };
    let text = content_type.to_str().unwrap_or("");
    let media = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        m if is_json_media(m) => Ok(BodyKind::FhirJson),
        "application/json-patch+json" => Ok(BodyKind::JsonPatch),
        "application/x-www-form-urlencoded" => Ok(BodyKind::Form),
        _ => Err(ApiError::new(
            Code::UnsupportedMediaType,
            format!("content type '{text}' is not supported; use application/fhir+json"),
        )),
    }
}

/// A body to send: stored JSON text as it is, or a value built for this reply.
pub(crate) enum Body {
    Stored(Arc<str>),
    Json(Value),
}

/// A reply under construction.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Body>,
}

impl Reply {
    pub(crate) fn new(status: StatusCode) -> Reply {
        Reply { status, headers: HeaderMap::new(), body: None }
    }

    pub(crate) fn json(status: StatusCode, value: Value) -> Reply {
        Reply { status, headers: HeaderMap::new(), body: Some(Body::Json(value)) }
    }

    pub(crate) fn header(mut self, name: header::HeaderName, value: &str) -> Reply {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    pub(crate) fn render(self, format: Format) -> Response {
        let Reply { status, mut headers, body } = self;
        let Some(body) = body else { return (status, headers).into_response() };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        let text = match (body, format.pretty) {
            (Body::Stored(text), false) => text.to_string(),
            (Body::Stored(text), true) => match serde_json::from_str::<Value>(&text) {
                Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_string()),
                Err(_) => text.to_string(),
            },
            (Body::Json(value), true) => serde_json::to_string_pretty(&value).unwrap_or_default(),
            (Body::Json(value), false) => serde_json::to_string(&value).unwrap_or_default(),
        };
        (status, headers, text).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut reply = Reply::json(self.status(), self.outcome());
        if self.code == crate::error::Code::StoreUnavailable {
            // Transient: the database is busy or a serializable transaction lost a race.
            reply = reply.header(header::RETRY_AFTER, "1");
        }
        reply.render(Format::default())
    }
}
