//! One element of a StructureDefinition snapshot, and where a JSON property sits in the tree.

use serde::Deserialize;

/// An element definition as the snapshot gives it (only what Hestia uses).
#[derive(Debug, Deserialize)]
pub struct ElementDef {
    /// Full path, e.g. `Patient.contact.name` or `Observation.value[x]`.
    pub path: String,
    pub min: u32,
    /// `*`, a number, or empty on the root element.
    pub max: String,
    #[serde(default)]
    pub types: Vec<ElementType>,
    /// The primitive regex on `T.value` elements of primitive types.
    #[serde(default)]
    pub regex: Option<String>,
    /// `Questionnaire.item.item` points at `Questionnaire.item`.
    #[serde(default)]
    pub content_ref: Option<String>,
    #[serde(default)]
    pub binding: Option<Binding>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    #[serde(default)]
    pub summary: bool,
    #[serde(default)]
    pub modifier: bool,
    /// Where the last path segment starts, computed once when the model is indexed.
    #[serde(skip)]
    pub(crate) name_start: usize,
}

#[derive(Debug, Deserialize)]
pub struct ElementType {
    /// A FHIR type name (`HumanName`, `string`, `BackboneElement`, `Reference`).
    pub code: String,
    /// Target resource types of `Reference`/`canonical` elements.
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Binding {
    pub strength: String,
    pub value_set: String,
}

#[derive(Debug, Deserialize)]
pub struct Constraint {
    pub key: String,
    pub severity: String,
    pub human: String,
    pub expression: String,
    /// The StructureDefinition that declared it (`Element`, `DomainResource`, `Patient`).
    pub source: String,
}

impl ElementDef {
    /// The last path segment (`name`, `value[x]`).
    pub fn name(&self) -> &str {
        self.path.get(self.name_start..).unwrap_or(&self.path)
    }

    /// `value[x]` elements take one of several types, named by a suffix in JSON.
    pub fn is_choice(&self) -> bool {
        self.path.ends_with("[x]")
    }

    /// Whether JSON carries this element as an array.
    pub fn is_array(&self) -> bool {
        self.max != "1" && self.max != "0"
    }

    /// The maximum cardinality; `None` means unbounded.
    pub fn max_count(&self) -> Option<u32> {
        if self.max == "*" { None } else { self.max.parse().ok() }
    }
}

/// Where a JSON object sits in the definitions: the type whose StructureDefinition describes it
/// and the element path inside that definition. The root of a Patient is (`Patient`, `Patient`);
/// `Patient.contact` is (`Patient`, `Patient.contact`); `Patient.name` is (`HumanName`, `HumanName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub type_name: String,
    pub path: String,
}

impl Location {
    pub fn root(type_name: &str) -> Location {
        Location { type_name: type_name.to_owned(), path: type_name.to_owned() }
    }
}
