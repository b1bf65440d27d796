//! Every example instance of the official R4 examples package: create it over HTTP, read it back,
//! and compare (apart from `id` and the server-set `meta` fields). Examples that the spec itself
//! gets wrong are listed, with reasons, in fhir-validate's known-invalid list and must be refused.

use std::collections::BTreeSet;
use std::io::Read;

use serde_json::Value;
use testkit::{TestServer, shared_dir};

fn known_invalid() -> BTreeSet<String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fhir-validate/tests/known-invalid-examples.txt");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split('#').next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn without_server_fields(mut resource: Value) -> Value {
    if let Value::Object(fields) = &mut resource {
        fields.shift_remove("id");
        if let Some(Value::Object(meta)) = fields.get_mut("meta") {
            meta.shift_remove("versionId");
            meta.shift_remove("lastUpdated");
            if meta.is_empty() {
                fields.shift_remove("meta");
            }
        }
    }
    resource
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_official_example_round_trips() {
    let server = TestServer::start().await;
    let model = fhir_model_types();
    let invalid = known_invalid();
    let path = shared_dir().join("fhir/r4/hl7.fhir.r4.examples-4.0.1.tgz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let (mut passed, mut refused, mut failures) = (0usize, 0usize, Vec::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let Some(file_name) = name.strip_prefix("package/").filter(|n| n.ends_with(".json") && !n.contains('/')) else {
            continue;
        };
        let file_name = file_name.to_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let Ok(resource) = serde_json::from_str::<Value>(&text) else { continue };
        let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if !model.contains(&resource_type) {
            continue;
        }
        let created = server.post(&resource_type, &resource).await;
        if invalid.contains(&file_name) {
            if created.status == 400 || created.status == 422 {
                refused += 1;
            } else {
                failures.push(format!("{file_name}: listed as invalid but got {}", created.status));
            }
            continue;
        }
        if created.status != 201 {
            failures.push(format!(
                "{file_name}: create answered {}: {}",
                created.status,
                created.text.chars().take(300).collect::<String>()
            ));
            continue;
        }
        let id = created.json()["id"].as_str().unwrap_or_default().to_owned();
        let read = server.get(&format!("{resource_type}/{id}")).await;
        if without_server_fields(read.json()) == without_server_fields(resource) {
            passed += 1;
        } else {
            failures.push(format!("{file_name}: read back differs"));
        }
    }
    println!("examples round trip: {passed} passed, {} failed, {refused} refused as listed invalid", failures.len());
    assert!(passed > 5000, "only {passed} examples round-tripped");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

fn fhir_model_types() -> BTreeSet<String> {
    fhir_model::r4().resource_types().iter().cloned().collect()
}
