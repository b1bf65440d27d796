//! Batch and transaction bundles.

use serde_json::{Value, json};
use testkit::TestServer;

use crate::patient;

fn entry(full_url: &str, method: &str, url: &str, resource: Option<Value>) -> Value {
    let mut entry = json!({"fullUrl": full_url, "request": {"method": method, "url": url}});
    if let Some(resource) = resource {
        entry["resource"] = resource;
    }
    entry
}

fn observation(subject: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "subject": {"reference": subject}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_resolves_urn_uuids_and_answers_in_request_order() {
    let server = TestServer::start().await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:obs", "POST", "Observation", Some(observation("urn:uuid:pat"))),
        entry("urn:uuid:pat", "POST", "Patient", Some(patient("tx1"))),
    ]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let response = reply.json();
    assert_eq!(response["type"], "transaction-response");
    assert_eq!(response["entry"][0]["response"]["status"], "201 Created");
    let obs_location = response["entry"][0]["response"]["location"].as_str().unwrap();
    let pat_location = response["entry"][1]["response"]["location"].as_str().unwrap();
    assert!(obs_location.starts_with("Observation/") && pat_location.starts_with("Patient/"));
    let patient_ref = pat_location.split("/_history").next().unwrap();
    let observation = server.get(obs_location.split("/_history").next().unwrap()).await.json();
    assert_eq!(observation["subject"]["reference"], patient_ref);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_transaction_leaves_no_trace() {
    let server = TestServer::start().await;
    let bad = json!({"resourceType": "Patient", "gender": "not-a-gender"});
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:a", "POST", "Patient", Some(patient("ghost"))),
        entry("urn:uuid:b", "PUT", "Patient/ghost2", Some(json!({"resourceType": "Patient", "id": "ghost2"}))),
        entry("urn:uuid:c", "POST", "Patient", Some(bad)),
    ]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let issue = &reply.json()["issue"][0];
    assert!(issue["diagnostics"].as_str().unwrap().contains("Bundle.entry[2]"), "{issue}");
    assert_eq!(server.get("Patient?identifier=ghost&_total=accurate").await.json()["total"], 0);
    assert_eq!(server.get("Patient/ghost2").await.status, 404);
    assert_eq!(server.get("_history").await.json()["total"], 0);
}

/// Large bundles are checked in parallel before the transaction: an invalid entry among them is
/// still reported at its own position and still rolls everything back, and entries that need
/// the database (a conditional reference) are checked inside the transaction alongside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_checked_in_parallel_fail_and_succeed_like_the_rest() {
    let server = TestServer::start().await;
    let mut entries: Vec<Value> = (0..12)
        .map(|i| entry(&format!("urn:uuid:p{i}"), "POST", "Patient", Some(patient(&format!("par-{i}")))))
        .collect();
    entries[9] = entry("urn:uuid:bad", "POST", "Patient", Some(json!({"resourceType": "Patient", "gender": "x"})));
    let reply = server.post("", &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.json()["issue"][0]["diagnostics"].as_str().unwrap().contains("Bundle.entry[9]"), "{}", reply.text);
    assert_eq!(server.get("Patient?_total=accurate").await.json()["total"], 0);

    entries[9] = entry("urn:uuid:p9", "POST", "Patient", Some(patient("par-9")));
    let reply = server.post("", &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let observations: Vec<Value> = (0..10)
        .map(|i| {
            let subject =
                if i % 2 == 0 { "Patient?identifier=urn:test:mrn|par-3".to_owned() } else { "urn:uuid:p".to_owned() };
            let observation = json!({"resourceType": "Observation", "status": "final",
                "code": {"text": "parallel"}, "subject": {"reference": subject}});
            entry(&format!("urn:uuid:o{i}"), "POST", "Observation", Some(observation))
        })
        .chain([entry("urn:uuid:p", "POST", "Patient", Some(patient("par-new")))])
        .collect();
    let reply = server.post("", &json!({"resourceType": "Bundle", "type": "transaction", "entry": observations})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let by_old = server.get("Observation?subject:Patient.identifier=urn:test:mrn%7Cpar-3&_total=accurate").await;
    assert_eq!(by_old.json()["total"], 5, "{}", by_old.text);
    let by_new = server.get("Observation?subject:Patient.identifier=urn:test:mrn%7Cpar-new&_total=accurate").await;
    assert_eq!(by_new.json()["total"], 5, "{}", by_new.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_conditional_entries_and_references() {
    let server = TestServer::start().await;
    let existing = server.post("Patient", &patient("known")).await.json()["id"].as_str().unwrap().to_owned();
    let mut create_if_absent = entry("urn:uuid:p", "POST", "Patient", Some(patient("known")));
    create_if_absent["request"]["ifNoneExist"] = json!("identifier=urn:test:mrn|known");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        create_if_absent,
        entry("urn:uuid:o1", "POST", "Observation", Some(observation("urn:uuid:p"))),
        entry("urn:uuid:o2", "POST", "Observation", Some(observation("Patient?identifier=urn:test:mrn|known"))),
        entry("urn:uuid:u", "PUT", "Patient?identifier=urn:test:mrn|fresh", Some(patient("fresh"))),
    ]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let response = reply.json();
    assert_eq!(response["entry"][0]["response"]["status"], "200 OK", "ifNoneExist matched");
    assert_eq!(response["entry"][3]["response"]["status"], "201 Created");
    for i in [1, 2] {
        assert_eq!(response["entry"][i]["resource"]["subject"]["reference"], format!("Patient/{existing}"));
    }
    let unresolvable = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:o3", "POST", "Observation", Some(observation("Patient?identifier=urn:test:mrn|nobody"))),
    ]});
    assert_eq!(server.post("", &unresolvable).await.status, 412);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_processes_deletes_before_creates_and_reads_last() {
    let server = TestServer::start().await;
    let mut body = patient("ord");
    body["id"] = json!("ord");
    server.put("Patient/ord", &body).await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:g", "GET", "Patient/ord", None),
        entry("urn:uuid:p", "PUT", "Patient/ord", Some(body.clone())),
        entry("urn:uuid:d", "DELETE", "Patient/ord", None),
    ]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let response = reply.json();
    // DELETE ran first (version 2), then PUT re-created it (version 3), then GET saw version 3.
    assert_eq!(response["entry"][2]["response"]["etag"], "W/\"2\"");
    assert_eq!(response["entry"][1]["response"]["status"], "201 Created");
    assert_eq!(response["entry"][0]["resource"]["meta"]["versionId"], "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_entries_fail_independently() {
    let server = TestServer::start().await;
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        entry("urn:uuid:a", "POST", "Patient", Some(patient("b1"))),
        entry("urn:uuid:b", "POST", "Patient", Some(json!({"resourceType": "Patient", "bogus": true}))),
        entry("urn:uuid:c", "GET", "Patient/missing", None),
        entry("urn:uuid:d", "GET", "Patient?identifier=b1", None),
        entry("urn:uuid:e", "POST", "Unknown", Some(json!({"resourceType": "Unknown"}))),
    ]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let response = reply.json();
    assert_eq!(response["type"], "batch-response");
    let statuses: Vec<&str> =
        response["entry"].as_array().unwrap().iter().map(|e| e["response"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201 Created", "400 Bad Request", "404 Not Found", "200 OK", "404 Not Found"]);
    assert_eq!(response["entry"][1]["response"]["outcome"]["resourceType"], "OperationOutcome");
    assert_eq!(response["entry"][3]["resource"]["entry"][0]["resource"]["identifier"][0]["value"], "b1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_shape_errors() {
    let server = TestServer::start().await;
    assert_eq!(server.post("", &json!({"resourceType": "Patient"})).await.status, 400);
    assert_eq!(server.post("", &json!({"resourceType": "Bundle", "type": "collection"})).await.status, 400);
    let no_request = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient("x")}]});
    let reply = server.post("", &no_request).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["issue"][0]["expression"][0], "Bundle.entry[0].request");
    let empty = server.post("", &json!({"resourceType": "Bundle", "type": "transaction"})).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
}
