//! The bundles to load (a directory of .json files or a .tgz of them), organization and
//! practitioner bundles first, and the per-copy rewrite of `urn:uuid:` ids.

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

const PREFIX: &str = "urn:uuid:";
const UUID_LEN: usize = 36;

/// Whether `text` at `at` starts with a uuid in its 8-4-4-4-12 hex form.
fn uuid_at(bytes: &[u8], at: usize) -> bool {
    (0..UUID_LEN).all(|i| match bytes.get(at + i) {
        Some(b'-') => matches!(i, 8 | 13 | 18 | 23),
        Some(b) => b.is_ascii_hexdigit() && !matches!(i, 8 | 13 | 18 | 23),
        None => false,
    })
}

/// The bundle text with every uuid that appears as `urn:uuid:<uuid>` replaced, wherever it
/// appears (fullUrls, references, and Synthea's own identifier carrying the same uuid), by a
/// fresh uuid: one consistent map per copy.
pub(crate) fn fresh_copy(text: &str, fresh: &mut impl FnMut() -> String) -> String {
    let bytes = text.as_bytes();
    let mut map: HashMap<&str, String> = HashMap::new();
    for (at, _) in text.match_indices(PREFIX) {
        let start = at + PREFIX.len();
        if uuid_at(bytes, start)
            && let Some(old) = text.get(start..start + UUID_LEN)
        {
            map.entry(old).or_insert_with(&mut *fresh);
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at + UUID_LEN <= bytes.len() {
        let boundary = at == 0 || bytes.get(at - 1).is_some_and(|b| !b.is_ascii_hexdigit() && *b != b'-');
        if boundary
            && uuid_at(bytes, at)
            && let Some(new) = text.get(at..at + UUID_LEN).and_then(|old| map.get(old))
        {
            out.push_str(text.get(copied..at).unwrap_or_default());
            out.push_str(new);
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
        let text =
            format!(r#"{{"fullUrl":"urn:uuid:{a}","ref":"urn:uuid:{b}","id":"{a}","x":"urn:uuid:{a}","y":"{other}"}}"#);
        let mut n = 0;
        let copy = fresh_copy(&text, &mut || {
            n += 1;
            format!("00000000-0000-4000-8000-00000000000{n}")
        });
        assert_eq!(
            copy,
            format!(
                r#"{{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","ref":"urn:uuid:00000000-0000-4000-8000-000000000002","id":"00000000-0000-4000-8000-000000000001","x":"urn:uuid:00000000-0000-4000-8000-000000000001","y":"{other}"}}"#
            )
        );
    }
}
