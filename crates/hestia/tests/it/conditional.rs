//! Conditional create, update and delete.

use serde_json::json;
use testkit::TestServer;

use crate::patient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_create_finds_or_creates() {
    let server = TestServer::start().await;
    let request = || {
        server
            .fhir(server.client.post(server.url("Patient")), &patient("c1"))
            .header("if-none-exist", "identifier=urn:test:mrn|c1")
    };
    let first = server.send(request()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = server.send(request()).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(first.json()["id"], second.json()["id"]);
    server.post("Patient", &patient("c1")).await;
    let ambiguous = server.send(request()).await;
    assert_eq!(ambiguous.status, 412, "{}", ambiguous.text);
    assert_eq!(ambiguous.json()["issue"][0]["code"], "multiple-matches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_conditional_creates_make_one_resource() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let request = server
                .fhir(server.client.post(server.url("Patient")), &patient("race"))
                .header("if-none-exist", "identifier=urn:test:mrn|race");
            server.send(request).await.status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    let found = server.get("Patient?identifier=urn:test:mrn|race&_total=accurate").await.json();
    assert_eq!(found["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_update_creates_updates_or_refuses() {
    let server = TestServer::start().await;
    let created = server.put("Patient?identifier=urn:test:mrn|u1", &patient("u1")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let mut changed = patient("u1");
    changed["gender"] = json!("male");
    let updated = server.put("Patient?identifier=urn:test:mrn|u1", &changed).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json()["id"], id.as_str());
    assert_eq!(updated.json()["meta"]["versionId"], "2");
    server.post("Patient", &patient("u1")).await;
    let ambiguous = server.put("Patient?identifier=urn:test:mrn|u1", &changed).await;
    assert_eq!(ambiguous.status, 412);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_delete_single_match() {
    let server = TestServer::start().await;
    server.post("Patient", &patient("d1")).await;
    let deleted = server.delete("Patient?identifier=urn:test:mrn|d1").await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let found = server.get("Patient?identifier=urn:test:mrn|d1&_total=accurate").await.json();
    assert_eq!(found["total"], 0);
    server.post("Patient", &patient("d2")).await;
    server.post("Patient", &patient("d2")).await;
    let ambiguous = server.delete("Patient?identifier=urn:test:mrn|d2").await;
    assert_eq!(ambiguous.status, 412, "{}", ambiguous.text);
    let none = server.delete("Patient?identifier=urn:test:mrn|nobody").await;
    assert_eq!(none.status, 200);
}
