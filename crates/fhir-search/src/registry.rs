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
    /// The parameters whose index rows are this one's: itself, or, for a parameter whose
    /// expression is the union of other parameters' expressions (`combo-code` is
    /// `Observation.code | Observation.component.code`, that is `code` and `component-code`),
    /// those parameters. Such a parameter has no rows of its own: searches ask its parts.
    pub stored_as: Vec<String>,
}

/// What decides, while the registry is built, whether one parameter's rows are the union of
/// others' (`mark_unions`): the union parts of its expression and its components' expressions,
/// normalized (`normalize_part`).
struct RowShape {
    parts: Vec<String>,
    components: Vec<(SearchParamType, String)>,
}

impl IndexedParam {
    /// Whether this parameter's rows are other parameters' rows (and so it is not indexed).
    pub fn is_derived(&self) -> bool {
        self.stored_as.len() != 1 || self.stored_as.first() != Some(&self.code)
    }
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

/// The components of a composite parameter, compiled, with their expression texts; `None` if one
/// cannot be used.
#[expect(clippy::type_complexity, reason = "one private helper's pair of parallel lists")]
fn components(
    model: &Model,
    def: &SearchParamDef,
) -> Option<(Vec<(SearchParamType, fhirpath::Expression)>, Vec<(SearchParamType, String)>)> {
    let compiled: Option<Vec<_>> = def
        .component
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
            let expression = fhirpath::parse(&component.expression).ok()?;
            Some(((kind, expression), (kind, normalize_part(&component.expression))))
        })
        .collect();
    Some(compiled?.into_iter().unzip())
}

fn compile(model: &Model, resource_type: &str, def: Arc<SearchParamDef>) -> Option<(IndexedParam, RowShape)> {
    let text = expression_for(model, &def.expression, resource_type)?;
    let expression = fhirpath::parse(&text).ok()?;
    let (components, component_texts) = if def.kind == SearchParamType::Composite {
        components(model, &def).filter(|(c, _)| !c.is_empty())?
    } else {
        (Vec::new(), Vec::new())
    };
    let shape =
        RowShape { parts: split_union(&text).into_iter().map(normalize_part).collect(), components: component_texts };
    let param = IndexedParam {
        code: def.code.clone(),
        kind: def.kind,
        stored_as: vec![def.code.clone()],
        definition: def,
        expression,
        components,
    };
    Some((param, shape))
}

/// A union part without spaces and without parentheses around the whole of it, so that
/// `(Observation.value as Quantity)` in one definition is the same part in another.
fn normalize_part(part: &str) -> String {
    let mut text: String = part.chars().filter(|c| !c.is_whitespace()).collect();
    // `(a).b(c)` starts and ends with parentheses that are not one pair.
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')'))
        && balanced(inner)
    {
        text = inner.to_owned();
    }
    text
}

/// Whether every parenthesis of `text` (outside string literals) closes one opened before it.
fn balanced(text: &str) -> bool {
    let (mut depth, mut in_string) = (0i32, false);
    for c in text.chars() {
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Marks the parameters of one type whose rows are exactly the union of other parameters' rows
/// (`IndexedParam::stored_as`): the same kind (and, for composites, the same components), and
/// union parts that are those parameters' parts put together. Each part's rows depend only on
/// the nodes it selects, so a union's rows are its parts' rows. Dates are left out (a
/// resource's date envelope, `window`, is one row per parameter), and so are references
/// (chains, `_has`, includes and compartments name them; no R4 reference parameter is such a
/// union). Two parameters with the same single part both keep their rows: their definitions may
/// mean different searches (`phonetic` and `name`).
fn mark_unions(params: &mut [(IndexedParam, RowShape)]) {
    // Fewest parts first, so that a union's parts are already resolved to stored parameters.
    let mut order: Vec<usize> = (0..params.len()).collect();
    order.sort_by_key(|&index| params.get(index).map_or(0, |(_, shape)| shape.parts.len()));
    for index in order {
        let Some((param, shape)) = params.get(index) else { continue };
        if matches!(param.kind, SearchParamType::Date | SearchParamType::Reference) || shape.parts.len() < 2 {
            continue;
        }
        let smaller: Vec<&(IndexedParam, RowShape)> = params
            .iter()
            .filter(|(other, other_shape)| {
                other.kind == param.kind
                    && other_shape.components == shape.components
                    && !other_shape.parts.is_empty()
                    && other_shape.parts.len() < shape.parts.len()
                    && other_shape.parts.iter().all(|part| shape.parts.contains(part))
            })
            .collect();
        if !shape.parts.iter().all(|part| smaller.iter().any(|(_, s)| s.parts.contains(part))) {
            continue;
        }
        let mut stored_as: Vec<String> = Vec::new();
        for code in smaller.iter().flat_map(|(p, _)| p.stored_as.iter()) {
            if !stored_as.contains(code) {
                stored_as.push(code.clone());
            }
        }
        if let Some((param, _)) = params.get_mut(index) {
            param.stored_as = stored_as;
        }
    }
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
            let mut params: Vec<(IndexedParam, RowShape)> = Vec::new();
            for def in core.chain(own) {
                if !indexable(def.kind) || RESOURCE_COLUMNS.contains(&def.code.as_str()) {
                    continue;
                }
                let Some(compiled) = compile(model, resource_type, def) else { continue };
                params.retain(|(p, _)| p.code != compiled.0.code);
                params.push(compiled);
            }
            mark_unions(&mut params);
            by_type.insert(resource_type.clone(), params.into_iter().map(|(param, _)| param).collect());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The unions the R4 definitions hold: Observation's `combo-*` parameters, and nothing that
    /// merely shares one part with another parameter (`phonetic` and `name`).
    #[test]
    fn union_parameters_are_stored_as_their_parts() {
        let registry = SearchRegistry::new(fhir_model::r4());
        let stored = |t: &str, code: &str| registry.param(t, code).map(|p| p.stored_as.clone());
        assert_eq!(stored("Observation", "combo-code"), Some(vec!["code".to_owned(), "component-code".to_owned()]));
        let mut quantity = stored("Observation", "combo-value-quantity").unwrap_or_default();
        quantity.sort();
        assert_eq!(quantity, ["component-value-quantity", "value-quantity"]);
        let mut composite = stored("Observation", "combo-code-value-quantity").unwrap_or_default();
        composite.sort();
        assert_eq!(composite, ["code-value-quantity", "component-code-value-quantity"]);
        assert_eq!(stored("Observation", "code"), Some(vec!["code".to_owned()]));
        assert_eq!(stored("Patient", "phonetic"), Some(vec!["phonetic".to_owned()]));
        assert_eq!(stored("Patient", "name"), Some(vec!["name".to_owned()]));
        let mut derived = Vec::new();
        for resource_type in fhir_model::r4().resource_types() {
            for param in registry.params(resource_type).iter().filter(|p| p.is_derived()) {
                assert!(!matches!(param.kind, SearchParamType::Date | SearchParamType::Reference), "{param:?}");
                assert!(
                    param
                        .stored_as
                        .iter()
                        .all(|code| registry.param(resource_type, code).is_some_and(|p| !p.is_derived()))
                );
                derived.push(format!("{resource_type}.{}", param.code));
            }
        }
        assert_eq!(derived.len(), 6, "{derived:?}");
    }

    #[test]
    fn parts_are_compared_without_spaces_or_outer_parentheses() {
        assert_eq!(normalize_part("( Observation.value as Quantity )"), "Observation.valueasQuantity");
        assert_eq!(normalize_part("(a).b(c)"), "(a).b(c)");
        assert_eq!(normalize_part("((a | b))"), "a|b");
    }
}
