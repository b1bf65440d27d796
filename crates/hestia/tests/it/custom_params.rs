//! A SearchParameter posted to the server becomes searchable, for resources written before it
//! (after the background reindex) and after it.

use std::time::Duration;

use serde_json::json;
use testkit::TestServer;

use crate::patient;
use crate::search::sorted_ids;

fn with_eye_colour(mrn: &str, colour: &str) -> serde_json::Value {
    let mut body = patient(mrn);
    body["extension"] = json!([{"url": "http://example.org/eye-colour", "valueCode": colour}]);
    body
}

async fn wait_for_reindex(server: &TestServer) -> serde_json::Value {
    for _ in 0..100 {
        let status = server.get("$reindex").await.json();
        let params = status["parameter"].as_array().unwrap().clone();
        let get = |name: &str| params.iter().find(|p| p["name"] == name).cloned().unwrap_or_default();
        if get("status")["valueCode"] == "complete" && get("customParameters")["valueInteger"] == 1 {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("reindex did not complete: {}", server.get("$reindex").await.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_search_parameter_is_indexed_and_searchable() {
    let server = TestServer::start().await;
    server.post("Patient", &with_eye_colour("e1", "blue")).await;
    server.post("Patient", &with_eye_colour("e2", "green")).await;
    assert_eq!(server.get("Patient?eye-colour=blue").await.status, 400, "unknown before it is defined");
    let definition = json!({
        "resourceType": "SearchParameter", "url": "http://example.org/SearchParameter/eye-colour", "name": "EyeColour",
        "status": "active", "description": "Eye colour", "code": "eye-colour", "base": ["Patient"], "type": "token",
        "expression": "Patient.extension('http://example.org/eye-colour').value"
    });
    assert_eq!(server.post("SearchParameter", &definition).await.status, 201);
    let status = wait_for_reindex(&server).await;
    assert!(status.to_string().contains("Patient"), "{status}");
    server.post("Patient", &with_eye_colour("e3", "blue")).await;
    let found = server.get("Patient?eye-colour=blue&_total=accurate").await.json();
    assert_eq!(found["total"], 2, "{found}");
    let metadata = server.get("metadata").await.json();
    let patient =
        metadata["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == "Patient").unwrap().clone();
    assert!(patient["searchParam"].as_array().unwrap().iter().any(|p| p["name"] == "eye-colour"));
}

/// `combo-code` is stored as `code` and `component-code` (`IndexedParam::stored_as`). A
/// SearchParameter that gives `component-code` another meaning ends that: after the reindex
/// `combo-code` has rows of its own and still finds codes in components, while `component-code`
/// means the new expression.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_part_of_a_union_parameter_gives_it_rows_of_its_own() {
    let server = TestServer::start().await;
    let coding = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
    let top = json!({"resourceType": "Observation", "status": "final", "code": coding("8480-6")});
    let nested = json!({"resourceType": "Observation", "status": "final", "code": coding("55284-4"),
        "category": [coding("vital-signs")], "component": [{"code": coding("8480-6")}]});
    let top = server.post("Observation", &top).await.json()["id"].as_str().unwrap().to_owned();
    let nested = server.post("Observation", &nested).await.json()["id"].as_str().unwrap().to_owned();
    let mut expected = vec![top, nested.clone()];
    expected.sort();
    assert_eq!(sorted_ids(&server, "Observation?combo-code=http://loinc.org|8480-6").await, expected);
    let definition = json!({
        "resourceType": "SearchParameter", "url": "http://example.org/SearchParameter/component-code",
        "name": "ComponentCategory", "status": "active", "description": "the category, under a core code",
        "code": "component-code", "base": ["Observation"], "type": "token", "expression": "Observation.category"
    });
    assert_eq!(server.post("SearchParameter", &definition).await.status, 201);
    wait_for_reindex(&server).await;
    assert_eq!(sorted_ids(&server, "Observation?combo-code=http://loinc.org|8480-6").await, expected);
    assert!(sorted_ids(&server, "Observation?component-code=http://loinc.org|8480-6").await.is_empty());
    assert_eq!(sorted_ids(&server, "Observation?component-code=vital-signs").await, vec![nested]);
}
