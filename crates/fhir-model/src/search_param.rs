//! SearchParameter and CompartmentDefinition data from the package.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct SearchParamDef {
    pub id: String,
    pub url: String,
    /// The name used in URLs (`patient`, `_id`).
    pub code: String,
    #[serde(rename = "type")]
    pub kind: SearchParamType,
    /// Resource types it applies to (`Resource` and `DomainResource` mean all).
    pub base: Vec<String>,
    #[serde(default)]
    pub target: Vec<String>,
    /// The FHIRPath expression over all bases; empty for special parameters such as `_text`.
    pub expression: String,
    pub description: String,
    #[serde(default)]
    pub modifier: Vec<String>,
    #[serde(default)]
    pub comparator: Vec<String>,
    #[serde(default)]
    pub component: Vec<SearchParamComponent>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchParamComponent {
    /// Id of the component's SearchParameter (`Observation-code`).
    pub definition: String,
    pub expression: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

impl SearchParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchParamType::Number => "number",
            SearchParamType::Date => "date",
            SearchParamType::String => "string",
            SearchParamType::Token => "token",
            SearchParamType::Reference => "reference",
            SearchParamType::Composite => "composite",
            SearchParamType::Quantity => "quantity",
            SearchParamType::Uri => "uri",
            SearchParamType::Special => "special",
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Compartment {
    /// `Patient`, `Encounter`, `RelatedPerson`, `Practitioner`, `Device`.
    pub code: String,
    pub resources: Vec<CompartmentMember>,
}

#[derive(Debug, Deserialize)]
pub struct CompartmentMember {
    pub code: String,
    /// Search parameters that link a resource of this type into the compartment; empty: never.
    #[serde(default)]
    pub params: Vec<String>,
}
