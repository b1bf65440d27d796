//! The bundles to load (a directory of .json files or a .tgz of them), organization and
//! practitioner bundles first, and the per-copy rewrite of their uuids.

use std::collections::HashMap;
use std::path::Path;

/// One transaction bundle: its name, its text and how many entries it has.
pub(crate) struct BundleFile {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) entries: usize,
    /// Organizations and practitioners, which patient bundles refer to conditionally.
    pub(crate) shared: bool,
}

/// Reads every `.json` bundle under `path`, shared (hospital, practitioner) bundles first.
pub(crate) fn collect(path: &Path) -> Result<Vec<BundleFile>, String> {
    let mut documents = Vec::new();
    crate::import::collect_path(path, &mut documents)?;
    let mut bundles = Vec::new();
    for crate::import::Document { name, text } in documents.into_iter().filter(|d| d.name.ends_with(".json")) {
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
        if value.get("resourceType").and_then(serde_json::Value::as_str) != Some("Bundle") {
            continue;
        }
        let entries = value.get("entry").and_then(serde_json::Value::as_array).map_or(0, Vec::len);
        let shared = name.contains("hospitalInformation") || name.contains("practitionerInformation");
        bundles.push(BundleFile { name, text, entries, shared });
    }
    bundles.sort_by(|a, b| (!a.shared, &a.name).cmp(&(!b.shared, &b.name)));
    Ok(bundles)
}

const UUID_LEN: usize = 36;

/// Whether `text` at `at` starts with a uuid in its 8-4-4-4-12 hex form.
fn uuid_at(bytes: &[u8], at: usize) -> bool {
    (0..UUID_LEN).all(|i| match bytes.get(at + i) {
        Some(b'-') => matches!(i, 8 | 13 | 18 | 23),
        Some(b) => b.is_ascii_hexdigit() && !matches!(i, 8 | 13 | 18 | 23),
        None => false,
    })
}

/// The bundle text with every uuid replaced by a fresh one, consistently within the copy: the
/// ids (fullUrls, `urn:uuid:` references) and also the values of identifiers that are uuids.
/// Synthea gives each Patient an identifier (its own and the medical record number) that is a
/// uuid used nowhere as an id; kept, every copy of a patient would share it, and a search by
/// identifier would find 84 patients where a real data set has one. Non-uuid identifiers (the
/// social security number) stay as in the sample, shared by the copies of a patient.
pub(crate) fn fresh_copy(text: &str, fresh: &mut impl FnMut() -> String) -> String {
    let bytes = text.as_bytes();
    let mut map: HashMap<&str, String> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at + UUID_LEN <= bytes.len() {
        let boundary = at == 0 || bytes.get(at - 1).is_some_and(|b| !b.is_ascii_hexdigit() && *b != b'-');
        let after = bytes.get(at + UUID_LEN).is_none_or(|b| !b.is_ascii_hexdigit() && *b != b'-');
        if boundary
            && after
            && uuid_at(bytes, at)
            && let Some(old) = text.get(at..at + UUID_LEN)
        {
            out.push_str(text.get(copied..at).unwrap_or_default());
            out.push_str(map.entry(old).or_insert_with(&mut *fresh));
            at += UUID_LEN;
            copied = at;
        } else {
            at += 1;
        }
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::fresh_copy;

    #[test]
    fn rewrites_each_uuid_consistently() {
        let a = "0b6a8f4e-1111-4222-8333-944455556666";
        let b = "1c7b9a5f-2222-4333-9444-a55566667777";
        let other = "2d8cab60-3333-4444-a555-b66677778888";
        let text = format!(
            r#"{{"fullUrl":"urn:uuid:{a}","ref":"urn:uuid:{b}","id":"{a}","x":"urn:uuid:{a}","y":"{other}","ssn":"999-12-3456","longer":"{a}0"}}"#
        );
        let mut n = 0;
        let copy = fresh_copy(&text, &mut || {
            n += 1;
            format!("00000000-0000-4000-8000-00000000000{n}")
        });
        let fresh = |n: u8| format!("00000000-0000-4000-8000-00000000000{n}");
        let (a2, b2, other2) = (fresh(1), fresh(2), fresh(3));
        assert_eq!(
            copy,
            format!(
                r#"{{"fullUrl":"urn:uuid:{a2}","ref":"urn:uuid:{b2}","id":"{a2}","x":"urn:uuid:{a2}","y":"{other2}","ssn":"999-12-3456","longer":"{a}0"}}"#
            )
        );
    }
}
