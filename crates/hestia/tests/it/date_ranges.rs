//! Date prefixes over resources with periods, open ends and several values per parameter, checked
//! against the spec's range semantics restated here over whole days. Two-sided ranges go through
//! the envelope windows (`fhir_search::window`), one-sided ones through the value index: both
//! must give the answer of the definition.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use testkit::TestServer;

/// A day of February 2020 as a search or stored value.
fn day(n: i64) -> String {
    format!("2020-02-{n:02}")
}

/// A stored value as whole days `[low, high)`; `None` ends are open.
#[derive(Clone, Copy)]
struct Span {
    low: Option<i64>,
    high: Option<i64>,
}

impl Span {
    fn day(n: i64) -> Span {
        Span { low: Some(n), high: Some(n + 1) }
    }

    fn period(start: Option<i64>, end: Option<i64>) -> Span {
        Span { low: start, high: end.map(|e| e + 1) }
    }

    /// The spec's prefixes for a search value of one whole day `[d, d + 1)`.
    fn matches(self, prefix: &str, d: i64) -> bool {
        let (low, high) = (self.low.unwrap_or(i64::MIN), self.high.unwrap_or(i64::MAX));
        let (s_low, s_high) = (d, d + 1);
        let within = low >= s_low && high <= s_high;
        match prefix {
            "eq" => within,
            "ne" => !within,
            "gt" => high > s_high,
            "lt" => low < s_low,
            "ge" => high > s_high || within,
            "le" => low < s_low || within,
            "sa" => low >= s_high,
            "eb" => high <= s_low,
            "ap" => low < s_high && high > s_low,
            other => panic!("unknown prefix {other}"),
        }
    }
}

fn encounter(span: Span) -> Value {
    let mut period = serde_json::Map::new();
    if let Some(low) = span.low {
        period.insert("start".into(), json!(day(low)));
    }
    if let Some(high) = span.high {
        period.insert("end".into(), json!(day(high - 1)));
    }
    json!({
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "period": period
    })
}

fn goal(due: &[i64]) -> Value {
    let targets: Vec<Value> = due.iter().map(|d| json!({"dueDate": day(*d)})).collect();
    json!({
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "walk"},
        "subject": {"reference": "Patient/p"},
        "target": targets
    })
}

async fn ids(server: &TestServer, query: &str) -> BTreeSet<String> {
    let bundle = server.get(query).await.json();
    assert_eq!(bundle["resourceType"], "Bundle", "{query}: {bundle}");
    bundle["entry"].as_array().into_iter().flatten().map(|e| e["resource"]["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_prefixes_and_ranges_follow_the_range_semantics() {
    let server = TestServer::start().await;
    let mut patient = crate::patient("p");
    patient["id"] = json!("p");
    assert_eq!(server.put("Patient/p", &patient).await.status, 201);
    let encounters = [
        Span::period(Some(3), Some(4)),
        Span::period(Some(9), Some(11)),
        Span::period(Some(12), Some(12)),
        Span::period(Some(1), Some(27)),
        Span::period(Some(10), None),
        Span::period(None, Some(6)),
        Span::period(Some(20), Some(22)),
    ];
    let goals: [&[i64]; 4] = [&[3, 25], &[14], &[1, 2], &[8, 9, 10]];
    let mut stored: Vec<(String, String, Vec<Span>)> = Vec::new();
    for span in encounters {
        let id = server.post("Encounter", &encounter(span)).await.json()["id"].as_str().unwrap().to_owned();
        stored.push(("Encounter".into(), id, vec![span]));
    }
    for due in goals {
        let id = server.post("Goal", &goal(due)).await.json()["id"].as_str().unwrap().to_owned();
        stored.push(("Goal".into(), id, due.iter().map(|&d| Span::day(d)).collect()));
    }
    // A value moved by an update leaves its old window.
    let (_, moved, spans) = stored.get_mut(1).unwrap();
    *spans = vec![Span::period(Some(24), Some(25))];
    let mut updated = encounter(spans[0]);
    updated["id"] = json!(moved.clone());
    assert_eq!(server.put(&format!("Encounter/{moved}"), &updated).await.status, 200);

    let expected = |resource_type: &str, conditions: &[(&str, i64)]| -> BTreeSet<String> {
        stored
            .iter()
            .filter(|(t, _, spans)| {
                t == resource_type && conditions.iter().all(|&(prefix, d)| spans.iter().any(|s| s.matches(prefix, d)))
            })
            .map(|(_, id, _)| id.clone())
            .collect()
    };
    let mut checked = 0;
    for (resource_type, param) in [("Encounter", "date"), ("Goal", "target-date")] {
        for first in ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"] {
            for d1 in [2, 9, 12] {
                let single = format!("{resource_type}?{param}={first}{}&_count=100", day(d1));
                assert_eq!(ids(&server, &single).await, expected(resource_type, &[(first, d1)]), "{single}");
                for second in ["lt", "le", "eb", "ap"] {
                    for d2 in [4, 10, 21] {
                        let query = format!(
                            "{resource_type}?{param}={first}{}&{param}={second}{}&_count=100",
                            day(d1),
                            day(d2)
                        );
                        let want = expected(resource_type, &[(first, d1), (second, d2)]);
                        assert_eq!(ids(&server, &query).await, want, "{query}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 9 * 3 * 4 * 3);
    // Not vacuous: the ranges find something, and not everything.
    let range = expected("Encounter", &[("ge", 9), ("lt", 10)]);
    assert!(!range.is_empty() && range.len() < encounters.len(), "{range:?}");
}
