//! The one table from error to HTTP status and OperationOutcome issue code. The code strings are
//! public API: written out, never derived from variant names.

use axum::http::StatusCode;
use fhir_search::SearchError;
use serde_json::Value;
use store::StoreError;

use crate::outcome::{OutcomeIssue, operation_outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NotFound,
    UnknownResourceType,
    Deleted,
    VersionConflict,
    PreconditionFailed,
    MultipleMatches,
    InvalidResource,
    InvalidRequest,
    ValidationFailed,
    UnknownSearchParam,
    UnsupportedSearchParam,
    /// A ValueSet or CodeSystem a request names (`:in`) that the server does not hold.
    UnknownTerminology,
    /// The request would cost more than the server allows (a value set of too many codes).
    TooCostly,
    NotAcceptable,
    UnsupportedMediaType,
    PayloadTooLarge,
    MethodNotAllowed,
    StoreUnavailable,
    Internal,
}

impl Code {
    /// (public code, HTTP status, OperationOutcome issue.code)
    pub fn describe(self) -> (&'static str, StatusCode, &'static str) {
        match self {
            Code::NotFound => ("not-found", StatusCode::NOT_FOUND, "not-found"),
            Code::UnknownResourceType => ("unknown-resource-type", StatusCode::NOT_FOUND, "not-supported"),
            Code::Deleted => ("deleted", StatusCode::GONE, "deleted"),
            Code::VersionConflict => ("version-conflict", StatusCode::CONFLICT, "conflict"),
            Code::PreconditionFailed => ("precondition-failed", StatusCode::PRECONDITION_FAILED, "conflict"),
            Code::MultipleMatches => ("multiple-matches", StatusCode::PRECONDITION_FAILED, "multiple-matches"),
            Code::InvalidResource => ("invalid-resource", StatusCode::BAD_REQUEST, "structure"),
            Code::InvalidRequest => ("invalid-request", StatusCode::BAD_REQUEST, "invalid"),
            Code::ValidationFailed => ("validation-failed", StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Code::UnknownSearchParam => ("unknown-search-param", StatusCode::BAD_REQUEST, "not-supported"),
            Code::UnsupportedSearchParam => ("unsupported-search-param", StatusCode::BAD_REQUEST, "not-supported"),
            Code::UnknownTerminology => ("unknown-terminology", StatusCode::BAD_REQUEST, "not-found"),
            Code::TooCostly => ("too-costly", StatusCode::BAD_REQUEST, "too-costly"),
            Code::NotAcceptable => ("not-acceptable", StatusCode::NOT_ACCEPTABLE, "not-supported"),
            Code::UnsupportedMediaType => {
                ("unsupported-media-type", StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported")
            }
            Code::PayloadTooLarge => ("payload-too-large", StatusCode::PAYLOAD_TOO_LARGE, "too-costly"),
            Code::MethodNotAllowed => ("method-not-allowed", StatusCode::METHOD_NOT_ALLOWED, "not-supported"),
            Code::StoreUnavailable => ("store-unavailable", StatusCode::SERVICE_UNAVAILABLE, "transient"),
            Code::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR, "exception"),
        }
    }

    pub const ALL: [Code; 17] = [
        Code::NotFound,
        Code::UnknownResourceType,
        Code::Deleted,
        Code::VersionConflict,
        Code::PreconditionFailed,
        Code::MultipleMatches,
        Code::InvalidResource,
        Code::InvalidRequest,
        Code::ValidationFailed,
        Code::UnknownSearchParam,
        Code::UnsupportedSearchParam,
        Code::NotAcceptable,
        Code::UnsupportedMediaType,
        Code::PayloadTooLarge,
        Code::MethodNotAllowed,
        Code::StoreUnavailable,
        Code::Internal,
    ];
}

/// An error answered to the client: a code from the table plus the issues to report.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub(crate) issues: Vec<OutcomeIssue>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        let (_, _, issue_code) = code.describe();
        ApiError { code, issues: vec![OutcomeIssue::error(issue_code, message.into(), None)] }
    }

    pub(crate) fn at(code: Code, message: impl Into<String>, expression: impl Into<String>) -> ApiError {
        let (_, _, issue_code) = code.describe();
        ApiError { code, issues: vec![OutcomeIssue::error(issue_code, message.into(), Some(expression.into()))] }
    }

    pub fn status(&self) -> StatusCode {
        self.code.describe().1
    }

    pub(crate) fn outcome(&self) -> Value {
        operation_outcome(&self.issues)
    }

    /// The OperationOutcome this error answers with.
    pub fn outcome_json(&self) -> Value {
        self.outcome()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match &error {
            StoreError::NotFound { .. } | StoreError::VersionNotFound { .. } => {
                ApiError::new(Code::NotFound, error.to_string())
            }
            StoreError::Deleted { .. } => ApiError::new(Code::Deleted, error.to_string()),
            StoreError::VersionConflict { .. } => ApiError::new(Code::VersionConflict, error.to_string()),
            StoreError::InvalidCursor => ApiError::new(Code::InvalidRequest, error.to_string()),
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                ApiError::new(Code::StoreUnavailable, "the database is busy; retry shortly")
            }
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "store failure");
                ApiError::new(Code::Internal, "internal server error")
            }
        }
    }
}

impl From<terminology::ExpandError> for ApiError {
    fn from(error: terminology::ExpandError) -> ApiError {
        use terminology::ExpandError;
        let code = match &error {
            ExpandError::UnknownValueSet(_) | ExpandError::UnknownCodeSystem(_) => Code::UnknownTerminology,
            ExpandError::Unsupported { .. } | ExpandError::Subsumption { .. } => Code::UnsupportedSearchParam,
            ExpandError::TooCostly(_) => Code::TooCostly,
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<SearchError> for ApiError {
    fn from(error: SearchError) -> ApiError {
        let code = match &error {
            SearchError::UnknownParameter { .. } => Code::UnknownSearchParam,
            SearchError::UnsupportedParameter { .. } => Code::UnsupportedSearchParam,
            SearchError::InvalidValue { .. } => Code::InvalidRequest,
        };
        ApiError::new(code, error.to_string())
    }
}
