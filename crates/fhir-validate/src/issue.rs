//! The outcome of validation: issues shaped like `OperationOutcome.issue`.

use std::fmt;

/// One problem found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueType,
    /// FHIRPath location of the problem, e.g. `Patient.name[0].given[1]`; choice elements are
    /// written `Observation.value.ofType(Quantity)`, nested resources continue the path of the
    /// element holding them (`Bundle.entry[2].resource.id`).
    pub expression: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// The subset of the FHIR `issue-type` codes that validation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueType {
    Structure,
    Required,
    Value,
    Invariant,
    CodeInvalid,
    Invalid,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl IssueType {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Invariant => "invariant",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::Invalid => "invalid",
        }
    }
}

impl Issue {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `error structure @ Patient.foo: unknown element`
impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} @ {}: {}", self.severity.as_str(), self.code.as_str(), self.expression, self.message)
    }
}
