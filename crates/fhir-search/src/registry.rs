//! Which search parameters each resource type supports, compiled once from every R4
//! SearchParameter: the FHIRPath expression is cut down to the parts that apply to the type and
//! parsed once.

use std::collections::HashMap;
use std::sync::Arc;

use fhir_model::{Model, SearchParamDef, SearchParamType};

use crate::base::OwnBase;

/// A search parameter that Hestia indexes for one resource type.
pub struct IndexedParam {
    pub code: String,
    pub kind: SearchParamType,
    pub definition: Arc<SearchParamDef>,
    pub(crate) expression: fhirpath::Expression,
    /// Composite parameters: each component's type and expression, evaluated on the nodes of
    /// `expression`.
    pub(crate) components: Vec<(SearchParamType, fhirpath::Expression)>,
}

impl std::fmt::Debug for IndexedParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code, self.kind.as_str())
    }
}

/// Per resource type, the parameters that are searchable.
pub struct SearchRegistry {
    model: &'static Model,
    by_type: HashMap<String, Vec<IndexedParam>>,
    /// SearchParameter resources stored on this server, by canonical URL.
    custom: Vec<Arc<SearchParamDef>>,
    /// Which absolute references name this server's resources (see `base`).
    own_base: OwnBase,
}

/// Parameters answered from the resource table itself rather than an index table.
pub(crate) const RESOURCE_COLUMNS: [&str; 2] = ["_id", "_lastUpdated"];

/// Parameter kinds indexed through an index table.
fn indexable(kind: SearchParamType) -> bool {
    kind != SearchParamType::Special
}

/// The components of a composite parameter, compiled; `None` if one cannot be used.
fn components(model: &Model, def: &SearchParamDef) -> Option<Vec<(SearchParamType, fhirpath::Expression)>> {
    def.component
        .iter()
        .map(|component| {
            let kind = model.all_search_params().iter().find(|p| p.id == component.definition)?.kind;
            let supported = matches!(
                kind,
                SearchParamType::Token
                    | SearchParamType::Reference
                    | SearchParamType::Quantity
                    | SearchParamType::Number
                    | SearchParamType::Date
                    | SearchParamType::String
            );
            if !supported {
                return None;
            }
            Some((kind, fhirpath::parse(&component.expression).ok()?))
        })
        .collect()
}

fn compile(model: &Model, resource_type: &str, def: Arc<SearchParamDef>) -> Option<IndexedParam> {
    let text = expression_for(model, &def.expression, resource_type)?;
    let expression = fhirpath::parse(&text).ok()?;
    let components = if def.kind == SearchParamType::Composite {
        components(model, &def).filter(|c| !c.is_empty())?
    } else {
        Vec::new()
    };
    Some(IndexedParam { code: def.code.clone(), kind: def.kind, definition: def, expression, components })
}

impl SearchRegistry {
    pub fn new(model: &'static Model) -> SearchRegistry {
        SearchRegistry::with_custom(model, Vec::new())
    }

    /// The same registry, resolving absolute references under `own_base` to local resources.
    pub fn with_own_base(mut self, own_base: OwnBase) -> SearchRegistry {
        self.own_base = own_base;
        self
    }

    /// Which references name this server's own resources, on write and on search alike.
    pub fn own_base(&self) -> &OwnBase {
        &self.own_base
    }

    /// The core parameters plus SearchParameter resources stored on this server; a custom
    /// parameter with the code of a core one replaces it for its base types.
    pub fn with_custom(model: &'static Model, custom: Vec<SearchParamDef>) -> SearchRegistry {
        let custom: Vec<Arc<SearchParamDef>> = custom.into_iter().map(Arc::new).collect();
        let mut by_type = HashMap::new();
        for resource_type in model.resource_types() {
            let core = model.search_params(resource_type).map(|def| Arc::new(def.clone()));
            let own = custom.iter().filter(|d| d.base.iter().any(|b| model.is_subtype(resource_type, b))).cloned();
            let mut params: Vec<IndexedParam> = Vec::new();
            for def in core.chain(own) {
                if !indexable(def.kind) || RESOURCE_COLUMNS.contains(&def.code.as_str()) {
                    continue;
                }
                let Some(param) = compile(model, resource_type, def) else { continue };
                params.retain(|p| p.code != param.code);
                params.push(param);
            }
            by_type.insert(resource_type.clone(), params);
        }
        SearchRegistry { model, by_type, custom, own_base: OwnBase::default() }
    }

    /// The stored SearchParameters this registry was built with.
    pub fn custom(&self) -> &[Arc<SearchParamDef>] {
        &self.custom
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

    /// Every supported parameter of a type as `(code, type, definition url, documentation)`, for
    /// the CapabilityStatement.
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

/// The union parts of `expression` that can apply to `resource_type`: a part that starts with
/// another type's name (`CarePlan.subject`) is dropped, one that starts with the type or one of
/// its ancestors (`Resource.meta.tag`) is kept.
pub(crate) fn expression_for(model: &Model, expression: &str, resource_type: &str) -> Option<String> {
    let parts: Vec<&str> = split_union(expression)
        .into_iter()
        .filter(|part| {
            let head: String = part
                .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let is_type = model.type_def(&head).is_some() && head.starts_with(|c: char| c.is_ascii_uppercase());
            !is_type || model.is_subtype(resource_type, &head)
        })
        .collect();
    if parts.is_empty() { None } else { Some(parts.join(" | ")) }
}

/// Splits on `|` outside parentheses and string literals.
fn split_union(expression: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_string, mut start) = (0i32, false, 0usize);
    for (i, c) in expression.char_indices() {
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth -= 1,
            '|' if !in_string && depth == 0 => {
                if let Some(part) = expression.get(start..i) {
                    parts.push(part.trim());
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if let Some(part) = expression.get(start..) {
        parts.push(part.trim());
    }
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}
