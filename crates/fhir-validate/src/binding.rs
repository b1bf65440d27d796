//! Required bindings whose value sets the model could expand offline. Value sets that need a
//! terminology server are skipped silently; codings from other systems are not judged.

use fhir_model::ElementDef;
use serde_json::{Map, Value};

use crate::issue::IssueType;
use crate::walk::Walker;

impl Walker<'_> {
    /// The expansion of the element's required value set, when there is one.
    fn required_set<'e>(&self, element: &'e ElementDef) -> Option<(&'e str, &'static [[String; 2]])> {
        let binding = element.binding.as_ref().filter(|b| b.strength == "required")?;
        Some((binding.value_set.as_str(), self.validator.model.value_set(&binding.value_set)?))
    }

    /// A `code` value.
    pub(crate) fn code_binding(&mut self, element: &ElementDef, code: &str) {
        let Some((url, set)) = self.required_set(element) else {
            return;
        };
        if !set.iter().any(|[_, c]| c == code) {
            self.error(IssueType::CodeInvalid, format!("'{code}' is not in the required value set {url}"));
        }
    }

    /// A `Coding` or `CodeableConcept` object.
    pub(crate) fn object_binding(&mut self, element: &ElementDef, type_code: &str, object: &Map<String, Value>) {
        let Some((url, set)) = self.required_set(element) else {
            return;
        };
        match type_code {
            "Coding" => {
                if let Some((system, code)) = coding(object)
                    && set.iter().any(|[s, _]| s == system)
                    && !set.iter().any(|[s, c]| s == system && c == code)
                {
                    self.error(
                        IssueType::CodeInvalid,
                        format!("'{system}#{code}' is not in the required value set {url}"),
                    );
                }
            }
            "CodeableConcept" => {
                let codings = object.get("coding").and_then(Value::as_array).into_iter().flatten();
                let judged: Vec<(&str, &str)> = codings
                    .filter_map(Value::as_object)
                    .filter_map(coding)
                    .filter(|(system, _)| set.iter().any(|[s, _]| s == system))
                    .collect();
                let matches = |(system, code): &(&str, &str)| set.iter().any(|[s, c]| s == system && c == code);
                if let Some((system, code)) = judged.first()
                    && !judged.iter().any(matches)
                {
                    let message = format!("'{system}#{code}' is not in the required value set {url}");
                    self.error(IssueType::CodeInvalid, message);
                }
            }
            _ => {}
        }
    }
}

fn coding(object: &Map<String, Value>) -> Option<(&str, &str)> {
    Some((object.get("system")?.as_str()?, object.get("code")?.as_str()?))
}
