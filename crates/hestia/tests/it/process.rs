//! The real `hestia` binary as a process: `import`, and durability across `kill -9`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use testkit::shared_dir;

use crate::patient;

const HESTIA: &str = env!("CARGO_BIN_EXE_hestia");

/// Starts `hestia serve` on a free port and returns the process and its FHIR base URL.
pub(crate) fn serve(data: &std::path::Path) -> (Child, String) {
    serve_with(&[std::ffi::OsStr::new("--data"), data.as_os_str()])
}

/// `hestia serve` on a free port with `args` (where the data lives); returns the FHIR base.
pub(crate) fn serve_with(args: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(HESTIA)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("HESTIA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hestia");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base =
        line.trim().strip_prefix("hestia listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(data.path());
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let reply = client
            .post(format!("{base}/Patient"))
            .header("content-type", "application/fhir+json")
            .body(patient(&format!("k{i}")).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        let body: serde_json::Value = reply.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();
    let (mut child, base) = serve(data.path());
    for id in &ids {
        let reply = client.get(format!("{base}/Patient/{id}")).send().await.unwrap();
        assert_eq!(reply.status(), 200, "Patient/{id} lost after kill -9");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_loads_the_synthea_archive_then_serve_finds_it() {
    let data = tempfile::tempdir().unwrap();
    let archive = shared_dir().join("data/synthea-r4-sample.tgz");
    let output = Command::new(HESTIA)
        .arg("import")
        .arg("--data")
        .arg(data.path())
        .arg(&archive)
        .env("HESTIA_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    println!("hestia import (debug build, fsync on): {}", stdout.lines().next().unwrap_or(""));
    let summary = stdout.lines().next().unwrap();
    let imported: usize = summary.strip_prefix("imported ").and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    assert!(imported > 10_000, "{summary}");
    assert!(summary.contains("0 failed files"), "{summary}");
    let (mut child, base) = serve(data.path());
    let client = reqwest::Client::new();
    let count: serde_json::Value =
        client.get(format!("{base}/Patient?_summary=count")).send().await.unwrap().json().await.unwrap();
    assert_eq!(count["total"], json!(35));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn import_reports_bad_files_and_fails() {
    let data = tempfile::tempdir().unwrap();
    let bad = data.path().join("bad.json");
    std::fs::write(&bad, "{\"resourceType\": \"Patient\", \"gender\": 12}").unwrap();
    let ndjson = data.path().join("good.ndjson");
    std::fs::write(&ndjson, format!("{}\n{}\n", patient("n1"), patient("n2"))).unwrap();
    let output = Command::new(HESTIA)
        .arg("import")
        .arg("--data")
        .arg(data.path().join("db"))
        .arg(&bad)
        .arg(&ndjson)
        .env("HESTIA_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.starts_with("imported 2 resources"), "{stdout}");
    assert!(stdout.contains("1 failed files") && stdout.contains("bad.json"), "{stdout}");
}

fn fhirpath(expression: &str, stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(HESTIA)
        .args(["fhirpath", expression])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading (a syntax error): a broken pipe here is expected.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn fhirpath_command_prints_typed_results_and_positions_errors() {
    let patient = r#"{"resourceType":"Patient","name":[{"given":["Ann","Bo"]}],"birthDate":"1970-01-01","deceasedBoolean":false}"#;
    assert_eq!(
        fhirpath("Patient.name.given", patient).1,
        r#"[{"type":"string","value":"Ann"},{"type":"string","value":"Bo"}]"#
    );
    assert_eq!(fhirpath("Patient.birthDate + 1 'year'", patient).1, r#"[{"type":"date","value":"1971-01-01"}]"#);
    assert_eq!(fhirpath("Patient.deceased", patient).1, r#"[{"type":"boolean","value":false}]"#);
    assert_eq!(fhirpath("1.0 + 2", "").1, r#"[{"type":"decimal","value":3.0}]"#, "empty stdin: no resource");
    assert_eq!(fhirpath("2 'g' = 2000 'mg'", "").1, r#"[{"type":"boolean","value":true}]"#);
    let (ok, _, error) = fhirpath("Patient.name.(", patient);
    assert!(!ok && error.contains("1:14"), "{error}");
    let (ok, _, error) = fhirpath("'a' + 1", "");
    assert!(!ok && error.contains("evaluation error"), "{error}");
}
