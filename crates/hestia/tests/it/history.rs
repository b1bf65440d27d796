//! History at instance, type and system level, `_since`, `_count` and paging.

use serde_json::json;
use testkit::TestServer;

use crate::patient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_type_and_system_history() {
    let server = TestServer::start().await;
    let mut body = patient("h1");
    body["id"] = json!("h1");
    for _ in 0..3 {
        server.put("Patient/h1", &body).await;
    }
    server.post("Observation", &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}})).await;
    let instance = server.get("Patient/h1/_history").await.json();
    assert_eq!(instance["type"], "history");
    assert_eq!(instance["total"], 3);
    let versions: Vec<&str> = instance["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["3", "2", "1"]);
    assert_eq!(instance["entry"][2]["response"]["status"], "201");
    assert_eq!(server.get("Patient/_history").await.json()["total"], 3);
    assert_eq!(server.get("_history").await.json()["total"], 4);
    assert_eq!(server.get("Patient/nobody/_history").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_filters_by_time() {
    let server = TestServer::start().await;
    let first = server.post("Patient", &patient("s1")).await.json();
    let cut = first["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    server.post("Patient", &patient("s2")).await;
    server.post("Patient", &patient("s3")).await;
    let since = server.get(&format!("Patient/_history?_since={cut}")).await.json();
    assert_eq!(since["total"], 3, "_since includes versions at the instant");
    let later = server.get("Patient/_history?_since=2030-01-01").await.json();
    assert_eq!(later["total"], 0);
    assert_eq!(server.get("Patient/_history?_since=yesterday").await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_stay_stable_while_writes_arrive() {
    let server = TestServer::start().await;
    for i in 0..7 {
        server.post("Patient", &patient(&format!("hp{i}"))).await;
    }
    let mut seen = Vec::new();
    let mut next = Some(server.url("Patient/_history?_count=3"));
    let mut pages = 0;
    while let Some(url) = next {
        let page = server.send(server.client.get(url)).await.json();
        for entry in page["entry"].as_array().into_iter().flatten() {
            seen.push(entry["resource"]["identifier"][0]["value"].as_str().unwrap().to_owned());
        }
        // A write between pages must not shift what the next page returns.
        server.post("Patient", &patient(&format!("late{pages}"))).await;
        pages += 1;
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_owned());
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).rev().map(|i| format!("hp{i}")).collect();
    assert_eq!(seen, expected);
}
