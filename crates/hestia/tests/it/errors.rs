//! Every bad input gets the right 4xx and an OperationOutcome, never a 5xx.

use serde_json::json;
use testkit::{ServerOptions, TestServer};

use crate::patient;

fn assert_outcome(reply: &testkit::Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["resourceType"], "OperationOutcome", "{}", reply.text);
    assert_eq!(body["issue"][0]["code"], code, "{}", reply.text);
    assert!(body["issue"][0]["diagnostics"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies() {
    let server = TestServer::start().await;
    let send = |body: &str| {
        server.send(
            server
                .client
                .post(server.url("Patient"))
                .header("content-type", "application/fhir+json")
                .body(body.to_owned()),
        )
    };
    assert_outcome(&send("{not json").await, 400, "structure");
    assert_outcome(&send("[1, 2]").await, 400, "structure");
    assert_outcome(&send("{\"name\": []}").await, 400, "structure");
    assert_outcome(&send("").await, 400, "structure");
    assert_outcome(
        &server
            .post("Patient", &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}))
            .await,
        400,
        "structure",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_reports_every_problem_with_its_location() {
    let server = TestServer::start().await;
    let bad = json!({"resourceType": "Patient", "foo": 1, "birthDate": "1970-13-01", "gender": "nope", "name": [{"given": "x"}], "active": "yes"});
    let reply = server.post("Patient", &bad).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let issues = reply.json()["issue"].as_array().unwrap().clone();
    let locations: Vec<&str> = issues.iter().map(|i| i["expression"][0].as_str().unwrap_or("")).collect();
    for expected in ["Patient.foo", "Patient.birthDate", "Patient.gender", "Patient.name[0].given", "Patient.active"] {
        assert!(locations.contains(&expected), "{expected} missing from {locations:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_id_rules() {
    let server = TestServer::start().await;
    let mut body = patient("e1");
    assert_outcome(&server.put("Patient/e1", &body).await, 400, "invalid");
    body["id"] = json!("other");
    assert_outcome(&server.put("Patient/e1", &body).await, 400, "invalid");
    body["id"] = json!("bad id!");
    assert_outcome(&server.put("Patient/bad%20id!", &body).await, 400, "invalid");
    let long = "x".repeat(65);
    assert_outcome(&server.get(&format!("Patient/{long}")).await, 400, "invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things() {
    let server = TestServer::start().await;
    assert_outcome(&server.get("Frobnicator/1").await, 404, "not-supported");
    assert_outcome(&server.post("Frobnicator", &json!({"resourceType": "Frobnicator"})).await, 404, "not-supported");
    assert_outcome(&server.get("Patient/nobody").await, 404, "not-found");
    assert_outcome(&server.get("Patient/nobody/_history/1").await, 404, "not-found");
    assert_outcome(&server.get("Patient/x/_history/one").await, 400, "invalid");
    assert_outcome(&server.get("Patient/a/b/c/d").await, 404, "not-found");
    assert_outcome(
        &server.send(server.client.request(reqwest::Method::OPTIONS, server.url("Patient"))).await,
        405,
        "not-supported",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_and_media_types() {
    let server = TestServer::start().await;
    assert_outcome(&server.get("metadata?_format=xml").await, 406, "not-supported");
    assert_outcome(
        &server.send(server.client.get(server.url("metadata")).header("accept", "application/fhir+xml")).await,
        406,
        "not-supported",
    );
    assert_eq!(
        server.send(server.client.get(server.url("metadata")).header("accept", "application/json")).await.status,
        200
    );
    assert_eq!(server.get("metadata?_format=json").await.status, 200);
    let xml = server
        .send(
            server.client.post(server.url("Patient")).header("content-type", "application/fhir+xml").body("<Patient/>"),
        )
        .await;
    assert_outcome(&xml, 415, "not-supported");
    let plain = server
        .send(
            server
                .client
                .post(server.url("Patient"))
                .header("content-type", "application/json")
                .body(patient("m").to_string()),
        )
        .await;
    assert_eq!(plain.status, 201, "application/json is FHIR JSON too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused() {
    let server = TestServer::start_with(ServerOptions { max_body_bytes: 1024, ..ServerOptions::default() }).await;
    let mut body = patient("big");
    body["name"][0]["family"] = json!("x".repeat(4096));
    assert_outcome(&server.post("Patient", &body).await, 413, "too-costly");
    assert_eq!(server.post("Patient", &patient("small")).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_parameter_errors() {
    let server = TestServer::start().await;
    assert_outcome(&server.get("Patient?_count=abc").await, 400, "invalid");
    assert_outcome(&server.get("Patient?_count=-1").await, 400, "invalid");
    assert_outcome(&server.get("Patient?nonsense=1").await, 400, "not-supported");
    assert_outcome(&server.get("Patient?_lastUpdated=gt2020-99").await, 400, "invalid");
    assert_outcome(&server.get("Patient?_total=sometimes").await, 400, "invalid");
    assert_outcome(&server.get("Patient?_cursor=garbage").await, 400, "invalid");
    // Contained resources are not matched on their own: asking for the default is fine, asking
    // for them is refused (or, leniently, ignored with a note).
    assert_eq!(server.get("Patient?_contained=false&_containedType=container").await.status, 200);
    assert_outcome(&server.get("Patient?_contained=true").await, 400, "not-supported");
    assert_outcome(&server.get("Patient?_contained=both").await, 400, "not-supported");
    assert_outcome(&server.get("Patient?_containedType=contained").await, 400, "not-supported");
    assert_outcome(&server.get("Patient?_contained=maybe").await, 400, "invalid");
    let lenient =
        server.send(server.client.get(server.url("Patient?nonsense=1")).header("prefer", "handling=lenient")).await;
    assert_eq!(lenient.status, 200);
    let bundle = lenient.json();
    let outcome = bundle["entry"].as_array().unwrap().iter().find(|e| e["search"]["mode"] == "outcome").unwrap();
    assert!(outcome["resource"]["issue"][0]["diagnostics"].as_str().unwrap().contains("nonsense"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_table_is_stable() {
    let rows: Vec<String> = fhir_rest::Code::ALL
        .iter()
        .map(|code| {
            let (name, status, issue) = code.describe();
            format!("{name} {} {issue}", status.as_u16())
        })
        .collect();
    insta::assert_snapshot!(rows.join("\n"), @r"
    not-found 404 not-found
    unknown-resource-type 404 not-supported
    deleted 410 deleted
    version-conflict 409 conflict
    precondition-failed 412 conflict
    multiple-matches 412 multiple-matches
    invalid-resource 400 structure
    invalid-request 400 invalid
    validation-failed 422 invalid
    unknown-search-param 400 not-supported
    unsupported-search-param 400 not-supported
    not-acceptable 406 not-supported
    unsupported-media-type 415 not-supported
    payload-too-large 413 too-costly
    method-not-allowed 405 not-supported
    store-unavailable 503 transient
    internal 500 exception
    ");
}
