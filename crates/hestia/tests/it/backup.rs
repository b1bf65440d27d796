//! `hestia backup` while the server runs, `hestia restore` into a fresh database, and the
//! restored server answering exactly as the original: current and old versions, history, a
//! deletion, searches through the index (a date range among them, through the envelope table).
//! A database holding resources is replaced only with `--force`; a damaged backup is refused and
//! changes nothing. Once for the embedded database, once for PostgreSQL.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use serde_json::{Value, json};

use crate::patient;
use crate::postgres::database_or_skip;
use crate::process::serve_with;

const HESTIA: &str = env!("CARGO_BIN_EXE_hestia");

/// Where a server keeps its resources: a data directory, and a PostgreSQL URL if not embedded.
struct Place {
    data: PathBuf,
    database: Option<String>,
}

impl Place {
    fn args(&self) -> Vec<&OsStr> {
        let mut args = vec![OsStr::new("--data"), self.data.as_os_str()];
        if let Some(url) = &self.database {
            args.extend([OsStr::new("--database"), OsStr::new(url.as_str())]);
        }
        args
    }

    fn serve(&self) -> (Child, String) {
        serve_with(&self.args())
    }

    fn hestia(&self, command: &[&str]) -> Output {
        Command::new(HESTIA).args(command).args(self.args()).env("HESTIA_LOG", "error").output().unwrap()
    }
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn stop(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_backup_while_serving_then_restore_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let place = |name: &str| Place { data: dir.path().join(name), database: None };
    round_trip(dir.path(), &place("a"), &place("b"), &place("c")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_while_serving_then_restore_answers_the_same() {
    let Some(original) = database_or_skip("PostgreSQL backup (original)").await else { return };
    let Some(restored) = database_or_skip("PostgreSQL backup (restored)").await else { return };
    let Some(fresh) = database_or_skip("PostgreSQL backup (damaged)").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let place = |name: &str, url: &str| Place { data: dir.path().join(name), database: Some(url.to_owned()) };
    round_trip(dir.path(), &place("a", &original.url), &place("b", &restored.url), &place("c", &fresh.url)).await;
    // The damaged restore left the fresh database as it was: no Hestia schema at all.
    let (client, connection) = tokio_postgres::connect(&fresh.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client.query_one("SELECT to_regclass('resource') IS NULL", &[]).await.unwrap();
    assert!(row.get::<_, bool>(0), "a refused restore leaves nothing behind");
}

async fn round_trip(dir: &Path, original: &Place, restored: &Place, fresh: &Place) {
    let backup_file = dir.join("a.backup");
    let client = reqwest::Client::new();
    let (server, base) = original.serve();
    let post = |path: &str, body: Value| {
        client.post(format!("{base}/{path}")).header("content-type", "application/fhir+json").body(body.to_string())
    };
    let mut ids = Vec::new();
    for mrn in ["b-1", "b-2", "b-3"] {
        let created: Value = post("Patient", patient(mrn)).send().await.unwrap().json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let encounter = json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": format!("Patient/{}", ids[2])},
        "period": {"start": "2020-02-03", "end": "2020-02-05"}
    });
    assert_eq!(post("Encounter", encounter).send().await.unwrap().status().as_u16(), 201);
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

    let backup = original.hestia(&["backup", "--out", backup_file.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    let said = String::from_utf8_lossy(&backup.stdout);
    assert!(said.contains("backed up 4 resources (6 versions"), "{said}");
    let paths = [
        format!("Patient/{}", ids[0]),
        format!("Patient/{}/_history/1", ids[0]),
        format!("Patient/{}/_history", ids[0]),
        format!("Patient/{}", ids[1]),
        format!("Patient/{}", ids[2]),
        "Patient?identifier=urn:test:mrn%7Cb-1-updated".to_owned(),
        "Patient?identifier=urn:test:mrn%7Cb-1".to_owned(),
        "Encounter?date=ge2020-02-04&date=lt2020-02-10".to_owned(),
        format!("Encounter?subject=Patient/{}&_include=Encounter:subject", ids[2]),
    ];
    let mut answers = Vec::new();
    for path in &paths {
        answers.push(get(&client, &format!("{base}/{path}")).await);
    }
    stop(server);

    let restore = restored.hestia(&["restore", backup_file.to_str().unwrap()]);
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let (server, base) = restored.serve();
    for (path, (status, body)) in paths.iter().zip(&answers) {
        let (restored_status, restored_body) = get(&client, &format!("{base}/{path}")).await;
        assert_eq!(restored_status, *status, "{path}");
        // Bundles carry fresh ids and the server's own links; resources must be identical.
        if body["resourceType"] == "Bundle" {
            let resources = |b: &Value| -> Vec<Value> {
                b["entry"].as_array().into_iter().flatten().map(|e| e["resource"].clone()).collect()
            };
            assert_eq!(resources(&restored_body), resources(body), "{path}");
        } else {
            assert_eq!(&restored_body, body, "{path}");
        }
    }
    assert_eq!(answers[3].0, 410, "the deletion survives the round trip");
    assert_eq!(answers[7].1["entry"].as_array().map(Vec::len), Some(1), "the date range finds the encounter");
    assert_eq!(answers[8].1["entry"].as_array().map(Vec::len), Some(2), "the encounter and its patient");
    // The restored store keeps writing after the restored rows.
    let created = post_to(&client, &base, &patient("b-4")).await;
    assert_eq!(created.0, 201, "{}", created.1);
    let (status, history) = get(&client, &format!("{base}/Patient/{}/_history", ids[0])).await;
    assert_eq!((status, history["entry"].as_array().map(Vec::len)), (200, Some(2)));
    stop(server);

    // A database that holds resources is not replaced without --force.
    let again = restored.hestia(&["restore", backup_file.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"), "{}", String::from_utf8_lossy(&again.stderr));
    let forced = restored.hestia(&["restore", "--force", backup_file.to_str().unwrap()]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    let (server, base) = restored.serve();
    let (status, _) = get(&client, &format!("{base}/Patient?identifier=urn:test:mrn%7Cb-4")).await;
    assert_eq!(status, 200);
    let (_, found) = get(&client, &format!("{base}/Patient?identifier=urn:test:mrn%7Cb-4")).await;
    assert_eq!(found["entry"].as_array().map(Vec::len).unwrap_or(0), 0, "--force put back the backup's state");
    stop(server);

    // A truncated backup is refused and leaves nothing behind.
    let bytes = std::fs::read(&backup_file).unwrap();
    let damaged = dir.join("damaged.backup");
    std::fs::write(&damaged, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let refused = fresh.hestia(&["restore", damaged.to_str().unwrap()]);
    assert!(!refused.status.success());
    if fresh.database.is_none() {
        assert!(!fresh.data.join("hestia.db").exists());
    }
}

async fn post_to(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(format!("{base}/Patient"))
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}
