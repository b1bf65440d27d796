//! Reading request bodies within the configured limit and parsing FHIR JSON.

use axum::body::Body;
use serde_json::Value;

use crate::error::{ApiError, Code};

pub(crate) async fn read_bytes(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::new(Code::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes")))
}

/// Parses a resource: valid JSON, an object, with a `resourceType`.
pub(crate) fn parse_resource(bytes: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::new(Code::InvalidResource, format!("body is not valid JSON: {error}")))?;
    if !value.is_object() {
        return Err(ApiError::new(Code::InvalidResource, "body must be a JSON object (a FHIR resource)"));
    }
    match value.get("resourceType") {
        Some(Value::String(_)) => Ok(value),
        _ => Err(ApiError::at(Code::InvalidResource, "resource has no resourceType", "resourceType")),
    }
}
