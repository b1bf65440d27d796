//! Which search parameters each resource type supports, compiled once from the definitions.

use std::collections::HashMap;

use fhir_model::{Model, SearchParamDef, SearchParamType};

/// A search parameter that Hestia indexes for one resource type.
#[derive(Debug)]
pub struct IndexedParam {
    pub code: String,
    pub kind: SearchParamType,
    pub definition: &'static SearchParamDef,
    /// Element paths below the resource root (`["identifier"]`, `["code", "coding"]`); the
    /// union of the parts of the expression that apply to this type.
    pub(crate) paths: Vec<Vec<String>>,
}

/// Per resource type, the parameters that are searchable.
pub struct SearchRegistry {
    model: &'static Model,
    by_type: HashMap<String, Vec<IndexedParam>>,
}

/// Parameters answered from the resource table itself rather than an index table.
pub(crate) const RESOURCE_COLUMNS: [&str; 2] = ["_id", "_lastUpdated"];

impl SearchRegistry {
    pub fn new(model: &'static Model) -> SearchRegistry {
        let mut by_type = HashMap::new();
        for resource_type in model.resource_types() {
            let params: Vec<IndexedParam> = model
                .search_params(resource_type)
                .filter(|def| def.kind == SearchParamType::Token && !RESOURCE_COLUMNS.contains(&def.code.as_str()))
                .filter_map(|def| {
                    let paths = simple_paths(&def.expression, resource_type)?;
                    Some(IndexedParam { code: def.code.clone(), kind: def.kind, definition: def, paths })
                })
                .collect();
            by_type.insert(resource_type.clone(), params);
        }
        SearchRegistry { model, by_type }
    }

    pub fn model(&self) -> &'static Model {
        self.model
    }

    /// The indexed parameters of a type (not including `_id`/`_lastUpdated`).
    pub fn params(&self, resource_type: &str) -> &[IndexedParam] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }

    pub fn param(&self, resource_type: &str, code: &str) -> Option<&IndexedParam> {
        self.params(resource_type).iter().find(|p| p.code == code)
    }

    /// Every supported parameter of a type as `(code, type, documentation)`, for the
    /// CapabilityStatement.
    pub fn supported(&self, resource_type: &str) -> Vec<(&str, SearchParamType, &str, &str)> {
        let mut out: Vec<(&str, SearchParamType, &str, &str)> = RESOURCE_COLUMNS
            .iter()
            .filter_map(|code| self.model.search_param(resource_type, code))
            .map(|d| (d.code.as_str(), d.kind, d.url.as_str(), d.description.as_str()))
            .collect();
        for p in self.params(resource_type) {
            out.push((p.code.as_str(), p.kind, p.definition.url.as_str(), p.definition.description.as_str()));
        }
        out
    }
}

/// The paths of an expression that is a union of plain element paths, for one resource type.
/// Anything richer (`where`, `as`, `resolve`) needs the FHIRPath engine and is not indexed yet.
fn simple_paths(expression: &str, resource_type: &str) -> Option<Vec<Vec<String>>> {
    let mut paths = Vec::new();
    for part in expression.split('|') {
        let part = part.trim().trim_start_matches('(').trim_end_matches(')').trim();
        let mut segments = part.split('.');
        if segments.next() != Some(resource_type) {
            continue;
        }
        let rest: Vec<String> = segments.map(str::to_owned).collect();
        let plain = !rest.is_empty()
            && rest.iter().all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if !plain {
            return None;
        }
        paths.push(rest);
    }
    if paths.is_empty() { None } else { Some(paths) }
}
