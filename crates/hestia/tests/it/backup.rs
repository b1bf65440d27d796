//! `hestia backup` while the server runs, `hestia restore` into a fresh data directory, and the
//! restored server answering exactly as the original: current and old versions, history, a
//! deletion, a search through the index. A damaged backup is refused.

use std::process::Command;

use serde_json::Value;

use crate::patient;
use crate::process::serve;

const HESTIA: &str = env!("CARGO_BIN_EXE_hestia");

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn hestia(args: &[&str], data: &std::path::Path) -> std::process::Output {
    Command::new(HESTIA).args(args).arg("--data").arg(data).env("HESTIA_LOG", "error").output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_then_restore_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (original, backup_file, restored) = (dir.path().join("a"), dir.path().join("a.backup"), dir.path().join("b"));
    let client = reqwest::Client::new();
    let (mut server, base) = serve(&original);
    let post = |body: Value| {
        client.post(format!("{base}/Patient")).header("content-type", "application/fhir+json").body(body.to_string())
    };
    let mut ids = Vec::new();
    for mrn in ["b-1", "b-2", "b-3"] {
        let created: Value = post(patient(mrn)).send().await.unwrap().json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let mut updated = patient("b-1-updated");
    updated["id"] = Value::from(ids[0].clone());
    let response = client
        .put(format!("{base}/Patient/{}", ids[0]))
        .header("content-type", "application/fhir+json")
        .body(updated.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(client.delete(format!("{base}/Patient/{}", ids[1])).send().await.unwrap().status().as_u16(), 200);

    let backup = hestia(&["backup", "--out", backup_file.to_str().unwrap()], &original);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    assert!(String::from_utf8_lossy(&backup.stdout).contains("backed up 3 resources (5 versions"));
    let paths = [
        format!("Patient/{}", ids[0]),
        format!("Patient/{}/_history/1", ids[0]),
        format!("Patient/{}/_history", ids[0]),
        format!("Patient/{}", ids[1]),
        format!("Patient/{}", ids[2]),
        "Patient?identifier=urn:test:mrn%7Cb-1-updated".to_owned(),
        "Patient?identifier=urn:test:mrn%7Cb-1".to_owned(),
    ];
    let mut answers = Vec::new();
    for path in &paths {
        answers.push(get(&client, &format!("{base}/{path}")).await);
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let restore = hestia(&["restore", backup_file.to_str().unwrap()], &restored);
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let (mut server, base) = serve(&restored);
    for (path, (status, body)) in paths.iter().zip(&answers) {
        let (restored_status, restored_body) = get(&client, &format!("{base}/{path}")).await;
        assert_eq!(restored_status, *status, "{path}");
        // Bundles carry fresh ids and the server's own links; resources must be identical.
        if body["resourceType"] == "Bundle" {
            let ids = |b: &Value| -> Vec<Value> {
                b["entry"].as_array().into_iter().flatten().map(|e| e["resource"].clone()).collect()
            };
            assert_eq!(ids(&restored_body), ids(body), "{path}");
        } else {
            assert_eq!(&restored_body, body, "{path}");
        }
    }
    assert_eq!(answers[3].0, 410, "the deletion survives the round trip");
    server.kill().unwrap();
    server.wait().unwrap();

    // A database that holds resources is not replaced without --force.
    let again = hestia(&["restore", backup_file.to_str().unwrap()], &restored);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = hestia(&["restore", "--force", backup_file.to_str().unwrap()], &restored);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));

    // A truncated backup is refused and leaves nothing behind.
    let bytes = std::fs::read(&backup_file).unwrap();
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let fresh = dir.path().join("c");
    let refused = hestia(&["restore", damaged.to_str().unwrap()], &fresh);
    assert!(!refused.status.success());
    assert!(!fresh.join("hestia.db").exists());
}
