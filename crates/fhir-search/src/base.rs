//! Which references name this server's own resources.
//!
//! A relative reference (`Patient/1`, `Patient/1/_history/2`) always does. An absolute one does
//! only under the server's configured base URL (`https://fhir.example.org/fhir/Patient/1`); any
//! other absolute URL names a resource somewhere else, which is indexed and matched by its URL
//! alone, so a search for `http://other/fhir/Patient/9` never finds references to the local
//! `Patient/9`, nor the reverse. The base is configured rather than taken from a request's
//! `Host`: a header the client chooses must not change what a stored reference means, and a
//! background reindex has no request to take it from.

/// The server's own base URL, if configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnBase(Option<String>);

impl OwnBase {
    /// `base` is the public base of the FHIR endpoint (`https://fhir.example.org/fhir`); a
    /// trailing `/` is ignored. `None`: every absolute reference names a resource elsewhere.
    pub fn new(base: Option<&str>) -> OwnBase {
        OwnBase(base.map(|b| b.trim_end_matches('/').to_owned()).filter(|b| !b.is_empty()))
    }

    /// The `(type, id)` a reference names on this server: a relative reference, or an absolute
    /// one under the own base. `None` for any other reference (a URL elsewhere, a `urn:`).
    pub fn target(&self, reference: &str) -> Option<(String, String)> {
        if !reference.contains(':') {
            return relative_target(reference);
        }
        let base = self.0.as_deref()?;
        let rest = reference.strip_prefix(base)?.strip_prefix('/')?;
        relative_target(rest)
    }
}

/// `Patient/1` and `Patient/1/_history/2` name `(Patient, 1)`; the last `Type/id` of a longer
/// path counts, so that callers may pass the path of an absolute URL.
pub(crate) fn relative_target(reference: &str) -> Option<(String, String)> {
    let path = reference.split(['?', '#']).next()?;
    let segments: Vec<&str> = path.split('/').collect();
    let (t, id) = match segments.as_slice() {
        [.., t, id, "_history", _] => (*t, *id),
        [.., t, id] => (*t, *id),
        _ => return None,
    };
    let is_type = t.starts_with(|c: char| c.is_ascii_uppercase()) && fhir_model::r4().is_resource_type(t);
    if is_type && !id.is_empty() { Some((t.to_owned(), id.to_owned())) } else { None }
}

#[cfg(test)]
mod tests {
    use super::{OwnBase, relative_target};

    fn target(t: &str, id: &str) -> Option<(String, String)> {
        Some((t.to_owned(), id.to_owned()))
    }

    #[test]
    fn relative_references_are_local_and_absolute_ones_only_under_the_own_base() {
        let own = OwnBase::new(Some("https://fhir.example.org/fhir/"));
        assert_eq!(own.target("Patient/1/_history/2"), target("Patient", "1"));
        assert_eq!(own.target("https://fhir.example.org/fhir/Observation/o"), target("Observation", "o"));
        assert_eq!(own.target("https://fhir.example.org/fhir/Observation/o/_history/3"), target("Observation", "o"));
        assert_eq!(own.target("https://fhir.example.org/fhirx/Observation/o"), None);
        assert_eq!(own.target("http://other.example/fhir/Observation/o"), None);
        assert_eq!(own.target("urn:uuid:1234"), None);
        assert_eq!(own.target("Foo/1"), None);
        assert_eq!(OwnBase::new(None).target("https://fhir.example.org/fhir/Observation/o"), None);
        assert_eq!(OwnBase::new(None).target("Observation/o"), target("Observation", "o"));
        assert_eq!(relative_target("Patient/"), None);
    }
}
