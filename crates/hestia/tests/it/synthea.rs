//! The Synthea sample (35 patients, ~12,000 resources) loaded through `POST [base]` transaction
//! bundles, as a client would.

use std::io::Read;
use std::time::Instant;

use serde_json::Value;
use testkit::{TestServer, shared_dir};

/// The sample's bundles, organizations and practitioners first.
pub(crate) fn synthea_bundles() -> Vec<(String, String)> {
    let path = shared_dir().join("data/synthea-r4-sample.tgz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut bundles = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if name.ends_with(".json") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            bundles.push((name, text));
        }
    }
    bundles.sort_by_key(|(name, _)| (!name.contains("Information"), name.clone()));
    bundles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthea_sample_loads_through_transactions() {
    let server = TestServer::start().await;
    let bundles = synthea_bundles();
    assert_eq!(bundles.len(), 37);
    let started = Instant::now();
    let mut resources = 0usize;
    let mut patients = 0usize;
    for (name, text) in &bundles {
        let bundle: Value = serde_json::from_str(text).unwrap();
        let entries = bundle["entry"].as_array().unwrap();
        resources += entries.len();
        patients += entries.iter().filter(|e| e["resource"]["resourceType"] == "Patient").count();
        let reply = server
            .send(
                server
                    .client
                    .post(&server.base)
                    .header("content-type", "application/fhir+json")
                    .header("prefer", "return=minimal")
                    .body(text.clone()),
            )
            .await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text.chars().take(500).collect::<String>());
        let response = reply.json();
        assert_eq!(response["entry"].as_array().unwrap().len(), entries.len(), "{name}");
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "synthea via POST transaction: {resources} resources in {seconds:.2} s ({:.0} resources/s, test build, no fsync)",
        resources as f64 / seconds
    );
    assert_eq!(patients, 35);
    assert_eq!(server.get("Patient?_summary=count").await.json()["total"], 35);
    assert_eq!(server.get("_history?_count=1").await.json()["total"], resources);
    // References inside a bundle now point at the created resources.
    let observation = server.get("Observation?_count=1").await.json();
    let subject = observation["entry"][0]["resource"]["subject"]["reference"].as_str().unwrap().to_owned();
    assert!(subject.starts_with("Patient/"), "{subject}");
    assert_eq!(server.get(&subject).await.status, 200);
    let by_code = server.get("Observation?code=http://loinc.org|8302-2&_total=accurate").await.json();
    assert!(by_code["total"].as_u64().unwrap() > 0, "body height observations are indexed by code");
}
