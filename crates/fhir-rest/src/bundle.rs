//! Assembling searchset and history bundles. Stored resources are spliced in as the JSON text the
//! store holds (no parse and re-serialize per entry); the rest is built with serde_json.

use serde_json::{Value, json};
use store::{HistoryEntry, Method, StoredResource};

use crate::outcome::OutcomeIssue;

pub(crate) struct Links {
    pub(crate) self_link: String,
    pub(crate) next: Option<String>,
}

fn links_json(links: &Links) -> Value {
    let mut out = vec![json!({"relation": "self", "url": links.self_link})];
    if let Some(next) = &links.next {
        out.push(json!({"relation": "next", "url": next}));
    }
    Value::Array(out)
}

/// Writes `{"resourceType":"Bundle",...,"entry":[...]}` with entries given as JSON text.
fn assemble(head: Value, entries: &[String]) -> String {
    let mut text = serde_json::to_string(&head).unwrap_or_else(|_| "{}".to_owned());
    if entries.is_empty() {
        return text;
    }
    text.pop();
    text.push_str(",\"entry\":[");
    text.push_str(&entries.join(","));
    text.push_str("]}");
    text
}

fn entry_text(fields: Value, resource: Option<&str>) -> String {
    let mut text = serde_json::to_string(&fields).unwrap_or_else(|_| "{}".to_owned());
    if let Some(resource) = resource {
        text.pop();
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str("\"resource\":");
        text.push_str(resource);
        text.push('}');
    }
    text
}

pub(crate) struct SearchBundle<'a> {
    pub(crate) id: String,
    pub(crate) base: &'a str,
    pub(crate) links: Links,
    pub(crate) total: Option<u64>,
    /// Each match, already in its final JSON text (possibly summarized).
    pub(crate) matches: Vec<(&'a StoredResource, String)>,
    /// Resources added by `_include`/`_revinclude` (`search.mode = include`).
    pub(crate) included: Vec<(&'a StoredResource, String)>,
    /// Issues to report in an OperationOutcome entry (`search.mode = outcome`).
    pub(crate) warnings: Vec<OutcomeIssue>,
}

pub(crate) fn searchset(bundle: SearchBundle<'_>) -> String {
    let mut head = json!({"resourceType": "Bundle", "id": bundle.id, "type": "searchset"});
    if let (Some(total), Value::Object(fields)) = (bundle.total, &mut head) {
        fields.insert("total".into(), json!(total));
    }
    if let Value::Object(fields) = &mut head {
        fields.insert("link".into(), links_json(&bundle.links));
    }
    let entry = |(stored, text): &(&StoredResource, String), mode: &str| {
        let full_url = format!("{}/{}/{}", bundle.base, stored.resource_type, stored.id);
        let mut entry = entry_text(json!({"fullUrl": full_url}), Some(text));
        entry.pop();
        entry.push_str(&format!(",\"search\":{{\"mode\":\"{mode}\"}}}}"));
        entry
    };
    let mut entries: Vec<String> = bundle.matches.iter().map(|m| entry(m, "match")).collect();
    entries.extend(bundle.included.iter().map(|m| entry(m, "include")));
    if !bundle.warnings.is_empty() {
        let outcome = crate::outcome::operation_outcome(&bundle.warnings);
        let text = serde_json::to_string(&outcome).unwrap_or_default();
        let mut entry = entry_text(json!({}), Some(&text));
        entry.pop();
        entry.push_str(",\"search\":{\"mode\":\"outcome\"}}");
        entries.push(entry);
    }
    assemble(head, &entries)
}

pub(crate) fn history(id: String, base: &str, links: &Links, total: Option<u64>, versions: &[HistoryEntry]) -> String {
    let mut head = json!({"resourceType": "Bundle", "id": id, "type": "history"});
    if let Value::Object(fields) = &mut head {
        if let Some(total) = total {
            fields.insert("total".into(), json!(total));
        }
        fields.insert("link".into(), links_json(links));
    }
    let entries: Vec<String> = versions
        .iter()
        .map(|entry| {
            let stored = &entry.resource;
            let url = match stored.method {
                Method::Post => stored.resource_type.clone(),
                _ => format!("{}/{}", stored.resource_type, stored.id),
            };
            let status = match (stored.method, stored.version) {
                (Method::Delete, _) => "204",
                (_, 1) => "201",
                _ => "200",
            };
            let fields = json!({
                "fullUrl": format!("{base}/{}/{}", stored.resource_type, stored.id),
                "request": {"method": stored.method.as_str(), "url": url},
                "response": {
                    "status": status,
                    "etag": crate::headers::etag(stored.version),
                    "lastModified": stored.last_updated.to_fhir_instant(),
                },
            });
            entry_text(fields, stored.body.as_deref())
        })
        .collect();
    assemble(head, &entries)
}

/// A `batch-response` or `transaction-response`: entry fields plus an optional resource text.
pub(crate) fn response_bundle(id: String, kind: &str, entries: Vec<(Value, Option<String>)>) -> String {
    let head = json!({"resourceType": "Bundle", "id": id, "type": kind});
    let entries: Vec<String> =
        entries.into_iter().map(|(fields, resource)| entry_text(fields, resource.as_deref())).collect();
    assemble(head, &entries)
}
