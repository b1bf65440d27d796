//! read, vread, create, update, patch, delete and the version headers.

use serde_json::json;
use testkit::TestServer;

use crate::patient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_read_keeps_body_and_sets_meta() {
    let server = TestServer::start().await;
    let mut body = patient("1");
    // Built from text: the json! macro would turn 1.50 into an f64.
    body["extension"] = serde_json::from_str(r#"[{"url": "urn:x", "valueDecimal": 1.50}]"#).unwrap();
    let created = server.post("Patient", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let location = created.header("location").unwrap();
    assert!(location.starts_with(&server.url("Patient/")) && location.ends_with("/_history/1"), "{location}");
    assert_eq!(created.header("etag").as_deref(), Some("W/\"1\""));
    assert!(created.header("last-modified").is_some());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let read = server.get(&format!("Patient/{id}")).await;
    assert_eq!(read.status, 200);
    // Decimal precision and element order survive the round trip.
    assert!(read.text.contains("\"valueDecimal\":1.50"), "{}", read.text);
    let keys: Vec<String> = read.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["resourceType", "id", "meta", "identifier", "name", "gender", "birthDate", "extension"]);
    assert_eq!(read.json()["meta"]["versionId"], "1");
    assert_eq!(read.json()["meta"]["lastUpdated"].as_str().unwrap().len(), 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_versions_and_vread() {
    let server = TestServer::start().await;
    let mut body = patient("2");
    body["id"] = json!("p2");
    let created = server.put("Patient/p2", &body).await;
    assert_eq!(created.status, 201, "create-on-update: {}", created.text);
    body["gender"] = json!("male");
    let updated = server.put("Patient/p2", &body).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.header("etag").as_deref(), Some("W/\"2\""));
    assert_eq!(server.get("Patient/p2/_history/1").await.json()["gender"], "female");
    assert_eq!(server.get("Patient/p2/_history/2").await.json()["gender"], "male");
    assert_eq!(server.get("Patient/p2/_history/3").await.status, 404);
    assert_eq!(server.get("Patient/p2").await.json()["meta"]["versionId"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_detects_lost_updates() {
    let server = TestServer::start().await;
    let mut body = patient("3");
    body["id"] = json!("p3");
    server.put("Patient/p3", &body).await;
    let stale = server
        .send(server.fhir(server.client.put(server.url("Patient/p3")), &body).header("if-match", "W/\"7\""))
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(stale.json()["resourceType"], "OperationOutcome");
    let fresh = server
        .send(server.fhir(server.client.put(server.url("Patient/p3")), &body).header("if-match", "W/\"1\""))
        .await;
    assert_eq!(fresh.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_with_if_match_have_one_winner() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let mut body = patient("4");
    body["id"] = json!("p4");
    server.put("Patient/p4", &body).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let server = server.clone();
        let mut body = body.clone();
        body["name"][0]["family"] = json!(format!("Racer{i}"));
        tasks.push(tokio::spawn(async move {
            server
                .send(server.fhir(server.client.put(server.url("Patient/p4")), &body).header("if-match", "W/\"1\""))
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 11, "{statuses:?}");
    assert_eq!(server.get("Patient/p4").await.json()["meta"]["versionId"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_without_if_match_never_reuse_a_version() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let mut body = patient("5");
    body["id"] = json!("p5");
    server.put("Patient/p5", &body).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let server = server.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move { server.put("Patient/p5", &body).await.header("etag").unwrap() }));
    }
    let mut etags = Vec::new();
    for task in tasks {
        etags.push(task.await.unwrap());
    }
    etags.sort();
    etags.dedup();
    assert_eq!(etags.len(), 10, "every update got its own version: {etags:?}");
    assert_eq!(server.get("Patient/p5").await.json()["meta"]["versionId"], "11");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_answers_gone_and_history_shows_it() {
    let server = TestServer::start().await;
    let mut body = patient("6");
    body["id"] = json!("p6");
    server.put("Patient/p6", &body).await;
    let deleted = server.delete("Patient/p6").await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.header("etag").as_deref(), Some("W/\"2\""));
    let gone = server.get("Patient/p6").await;
    assert_eq!(gone.status, 410);
    assert_eq!(gone.json()["issue"][0]["code"], "deleted");
    assert_eq!(server.get("Patient/p6/_history/2").await.status, 410);
    assert_eq!(server.get("Patient/p6/_history/1").await.status, 200);
    let again = server.delete("Patient/p6").await;
    assert_eq!(again.status, 200, "deleting twice is idempotent");
    let history = server.get("Patient/p6/_history").await.json();
    assert_eq!(history["total"], 2);
    assert_eq!(history["entry"][0]["request"]["method"], "DELETE");
    assert!(history["entry"][0].get("resource").is_none());
    let recreated = server.put("Patient/p6", &body).await;
    assert_eq!(recreated.status, 201);
    assert_eq!(recreated.header("etag").as_deref(), Some("W/\"3\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_patch_updates_and_validates() {
    let server = TestServer::start().await;
    let mut body = patient("7");
    body["id"] = json!("p7");
    server.put("Patient/p7", &body).await;
    let patch = json!([{"op": "replace", "path": "/gender", "value": "other"}, {"op": "add", "path": "/active", "value": true}]);
    let patched = server
        .send(
            server
                .client
                .patch(server.url("Patient/p7"))
                .header("content-type", "application/json-patch+json")
                .body(patch.to_string()),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let read = server.get("Patient/p7").await.json();
    assert_eq!(read["gender"], "other");
    assert_eq!(read["active"], true);
    assert_eq!(read["meta"]["versionId"], "2");
    let invalid = json!([{"op": "add", "path": "/bogus", "value": 1}]);
    let rejected = server
        .send(
            server
                .client
                .patch(server.url("Patient/p7"))
                .header("content-type", "application/json-patch+json")
                .body(invalid.to_string()),
        )
        .await;
    assert_eq!(rejected.status, 400, "{}", rejected.text);
    assert_eq!(rejected.json()["issue"][0]["expression"][0], "Patient.bogus");
    let failing = json!([{"op": "test", "path": "/gender", "value": "male"}]);
    let failed = server
        .send(
            server
                .client
                .patch(server.url("Patient/p7"))
                .header("content-type", "application/json-patch+json")
                .body(failing.to_string()),
        )
        .await;
    assert_eq!(failed.status, 422, "{}", failed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_return_shapes_the_reply() {
    let server = TestServer::start().await;
    let minimal = server
        .send(server.fhir(server.client.post(server.url("Patient")), &patient("8")).header("prefer", "return=minimal"))
        .await;
    assert_eq!(minimal.status, 201);
    assert!(minimal.text.is_empty());
    assert!(minimal.header("location").is_some());
    let outcome = server
        .send(
            server
                .fhir(server.client.post(server.url("Patient")), &patient("9"))
                .header("prefer", "return=OperationOutcome"),
        )
        .await;
    assert_eq!(outcome.json()["resourceType"], "OperationOutcome");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_reads_answer_not_modified() {
    let server = TestServer::start().await;
    let mut body = patient("10");
    body["id"] = json!("p10");
    let created = server.put("Patient/p10", &body).await;
    let last_modified = created.header("last-modified").unwrap();
    let same = server.send(server.client.get(server.url("Patient/p10")).header("if-none-match", "W/\"1\"")).await;
    assert_eq!(same.status, 304);
    let changed = server.send(server.client.get(server.url("Patient/p10")).header("if-none-match", "W/\"0\"")).await;
    assert_eq!(changed.status, 200);
    let since =
        server.send(server.client.get(server.url("Patient/p10")).header("if-modified-since", last_modified)).await;
    assert_eq!(since.status, 304);
    let earlier = server
        .send(server.client.get(server.url("Patient/p10")).header("if-modified-since", "Thu, 01 Jan 2015 00:00:00 GMT"))
        .await;
    assert_eq!(earlier.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pretty_and_capabilities() {
    let server = TestServer::start().await;
    let metadata = server.get("metadata?_pretty=true").await;
    assert_eq!(metadata.status, 200);
    assert!(metadata.text.contains("\n  \"resourceType\": \"CapabilityStatement\""));
    let statement = metadata.json();
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let resources = statement["rest"][0]["resource"].as_array().unwrap();
    assert_eq!(resources.len(), 146);
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let params: Vec<&str> =
        patient["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in ["_id", "_lastUpdated", "identifier", "gender"] {
        assert!(params.contains(&expected), "{params:?}");
    }
    // Every advertised parameter must be accepted by search.
    for name in params {
        let reply = server.get(&format!("Patient?{name}=x")).await;
        assert_ne!(reply.status / 100, 5, "{name}: {}", reply.text);
        assert!(
            reply.json()["issue"][0]["code"] != "not-supported",
            "{name} advertised but unsupported: {}",
            reply.text
        );
    }
}
