//! The loaded model and its look-ups.

use foldhash::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::element::{ElementDef, Location};
use crate::search_param::{Compartment, SearchParamDef};

const R4_MODEL_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/r4-model.json"));

/// The R4 model, parsed once on first use.
pub fn r4() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::from_json(R4_MODEL_JSON))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TypeKind {
    PrimitiveType,
    ComplexType,
    Resource,
}

#[derive(Debug, Deserialize)]
pub struct TypeDef {
    pub name: String,
    pub kind: TypeKind,
    #[serde(rename = "abstract")]
    pub is_abstract: bool,
    pub base: Option<String>,
    pub elements: Vec<ElementDef>,
    #[serde(skip)]
    by_path: HashMap<String, usize>,
    #[serde(skip)]
    children: HashMap<String, Children>,
}

/// The children of one element: in definition order, and by JSON name for the hot look-up
/// (every FHIRPath step and every validated property resolves a name here).
#[derive(Debug, Default)]
struct Children {
    ordered: Vec<usize>,
    /// Plain (non-choice) children by name.
    by_name: HashMap<String, usize>,
    /// `value[x]` children, tried by prefix.
    choices: Vec<usize>,
}

impl TypeDef {
    fn index(&mut self) {
        for (i, element) in self.elements.iter_mut().enumerate() {
            self.by_path.insert(element.path.clone(), i);
            if let Some((parent, name)) = element.path.rsplit_once('.') {
                element.name_start = parent.len() + 1;
                let children = self.children.entry(parent.to_owned()).or_default();
                children.ordered.push(i);
                if element.path.ends_with("[x]") {
                    children.choices.push(i);
                } else {
                    children.by_name.insert(name.to_owned(), i);
                }
            }
        }
    }

    /// The plain (non-choice) child `name` of the element at `path`.
    fn child_named(&self, path: &str, name: &str) -> Option<&ElementDef> {
        let children = self.children.get(path)?;
        children.by_name.get(name).and_then(|&i| self.elements.get(i))
    }

    /// The choice (`value[x]`) children of the element at `path`.
    fn choice_children(&self, path: &str) -> impl Iterator<Item = &ElementDef> {
        self.children.get(path).into_iter().flat_map(|c| &c.choices).filter_map(|&i| self.elements.get(i))
    }

    pub fn element(&self, path: &str) -> Option<&ElementDef> {
        self.by_path.get(path).and_then(|&i| self.elements.get(i))
    }

    /// The direct child elements of the element at `path`, in definition order.
    pub fn children(&self, path: &str) -> impl Iterator<Item = &ElementDef> {
        self.children.get(path).into_iter().flat_map(|c| &c.ordered).filter_map(|&i| self.elements.get(i))
    }

    pub fn is_primitive(&self) -> bool {
        self.kind == TypeKind::PrimitiveType
    }
}

#[derive(Deserialize)]
struct RawModel {
    types: Vec<TypeDef>,
    search_params: Vec<SearchParamDef>,
    compartments: Vec<Compartment>,
    value_sets: HashMap<String, Vec<[String; 2]>>,
}

/// Every definition Hestia is driven by.
pub struct Model {
    types: HashMap<String, TypeDef>,
    resource_types: Vec<String>,
    search_params: Vec<SearchParamDef>,
    params_by_type: HashMap<String, Vec<usize>>,
    compartments: Vec<Compartment>,
    value_sets: HashMap<String, Vec<[String; 2]>>,
}

/// A JSON property resolved against the definitions.
#[derive(Debug)]
pub struct Property<'m> {
    pub element: &'m ElementDef,
    /// The concrete type of the value (for `valueQuantity`: `Quantity`).
    pub type_code: &'m str,
    /// Where the value's own children are defined.
    pub location: Location,
}

impl Model {
    #[expect(
        clippy::panic,
        reason = "the embedded model is produced by our build script; a parse failure is a build bug"
    )]
    fn from_json(text: &str) -> Model {
        let raw: RawModel = match serde_json::from_str(text) {
            Ok(raw) => raw,
            Err(error) => panic!("embedded r4-model.json is invalid: {error}"),
        };
        let mut types = HashMap::default();
        let mut resource_types = Vec::new();
        for mut def in raw.types {
            def.index();
            if def.kind == TypeKind::Resource && !def.is_abstract {
                resource_types.push(def.name.clone());
            }
            types.insert(def.name.clone(), def);
        }
        resource_types.sort();
        let mut params_by_type: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, param) in raw.search_params.iter().enumerate() {
            for base in &param.base {
                let applies: Vec<String> = if base == "Resource" || base == "DomainResource" {
                    resource_types
                        .iter()
                        .filter(|t| base == "Resource" || !matches!(t.as_str(), "Bundle" | "Binary" | "Parameters"))
                        .cloned()
                        .collect()
                } else {
                    vec![base.clone()]
                };
                for t in applies {
                    params_by_type.entry(t).or_default().push(i);
                }
            }
        }
        Model {
            types,
            resource_types,
            search_params: raw.search_params,
            params_by_type,
            compartments: raw.compartments,
            value_sets: raw.value_sets,
        }
    }

    /// The concrete (non-abstract) resource type names, sorted.
    pub fn resource_types(&self) -> &[String] {
        &self.resource_types
    }

    pub fn is_resource_type(&self, name: &str) -> bool {
        self.types.get(name).is_some_and(|t| t.kind == TypeKind::Resource && !t.is_abstract)
    }

    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// Whether `name` is `ancestor` or derives from it (`Patient` is a `DomainResource`).
    pub fn is_subtype(&self, name: &str, ancestor: &str) -> bool {
        let mut current = Some(name);
        while let Some(n) = current {
            if n == ancestor {
                return true;
            }
            current = self.types.get(n).and_then(|t| t.base.as_deref());
        }
        false
    }

    /// Every search parameter that applies to a resource type, including `Resource`-level ones.
    pub fn search_params(&self, resource_type: &str) -> impl Iterator<Item = &SearchParamDef> {
        self.params_by_type.get(resource_type).into_iter().flatten().filter_map(|&i| self.search_params.get(i))
    }

    pub fn search_param(&self, resource_type: &str, code: &str) -> Option<&SearchParamDef> {
        self.search_params(resource_type).find(|p| p.code == code)
    }

    pub fn all_search_params(&self) -> &[SearchParamDef] {
        &self.search_params
    }

    pub fn compartments(&self) -> &[Compartment] {
        &self.compartments
    }

    /// The `(system, code)` pairs of a required value set, when it could be expanded offline.
    pub fn value_set(&self, url: &str) -> Option<&[[String; 2]]> {
        self.value_sets.get(url.split('|').next().unwrap_or(url)).map(Vec::as_slice)
    }

    /// Resolves the JSON property `key` of an object at `at`: a plain element (`name`), a choice
    /// (`valueQuantity` for `value[x]`), following content references and into datatypes.
    pub fn property(&self, at: &Location, key: &str) -> Option<Property<'_>> {
        let owner = self.types.get(&at.type_name)?;
        // Look-ups by name under the parent's path: no path string is built.
        if let Some(element) = owner.child_named(&at.path, key) {
            let type_code = element.types.first().map_or("", |t| t.code.as_str());
            return Some(Property { element, type_code, location: self.child_location(owner, element, type_code) });
        }
        for element in owner.choice_children(&at.path) {
            let base = element.name().trim_end_matches("[x]");
            let Some(suffix) = key.strip_prefix(base) else { continue };
            let found = element.types.iter().find(|t| capitalized_eq(&t.code, suffix));
            if let Some(t) = found {
                let location = self.child_location(owner, element, &t.code);
                return Some(Property { element, type_code: &t.code, location });
            }
        }
        None
    }

    fn child_location(&self, owner: &TypeDef, element: &ElementDef, type_code: &str) -> Location {
        if let Some(target) = &element.content_ref {
            return Location { type_name: owner.name.clone(), path: target.clone() };
        }
        let inline =
            matches!(type_code, "BackboneElement" | "Element") && owner.children(&element.path).next().is_some();
        if inline {
            Location { type_name: owner.name.clone(), path: element.path.clone() }
        } else {
            Location::root(type_code)
        }
    }
}

/// `Quantity` matches suffix `Quantity`; `dateTime` matches `DateTime`.
fn capitalized_eq(code: &str, suffix: &str) -> bool {
    let mut chars = code.chars();
    match chars.next() {
        Some(first) => {
            suffix.len() == code.len()
                && suffix.starts_with(first.to_ascii_uppercase())
                && suffix.get(first.len_utf8()..) == Some(chars.as_str())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
