//! OperationOutcome builders.

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutcomeIssue {
    pub(crate) severity: &'static str,
    pub(crate) code: &'static str,
    pub(crate) diagnostics: String,
    pub(crate) expression: Option<String>,
}

impl OutcomeIssue {
    pub(crate) fn error(code: &'static str, diagnostics: String, expression: Option<String>) -> OutcomeIssue {
        OutcomeIssue { severity: "error", code, diagnostics, expression }
    }

    pub(crate) fn information(code: &'static str, diagnostics: String) -> OutcomeIssue {
        OutcomeIssue { severity: "information", code, diagnostics, expression: None }
    }

    pub(crate) fn warning(code: &'static str, diagnostics: String) -> OutcomeIssue {
        OutcomeIssue { severity: "warning", code, diagnostics, expression: None }
    }
}

pub(crate) fn operation_outcome(issues: &[OutcomeIssue]) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|issue| {
            let mut object = Map::new();
            object.insert("severity".into(), json!(issue.severity));
            object.insert("code".into(), json!(issue.code));
            object.insert("diagnostics".into(), json!(issue.diagnostics));
            if let Some(expression) = &issue.expression {
                object.insert("expression".into(), json!([expression]));
            }
            Value::Object(object)
        })
        .collect();
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}
