//! `hestia bench` as a process against a real server: `load` with copies gets fresh ids per
//! copy, and a short `mixed` run completes without errors.

use serde_json::Value;
use testkit::{TestServer, shared_dir};

const HESTIA: &str = env!("CARGO_BIN_EXE_hestia");

/// Runs `hestia bench ARGS --json` and returns its one JSON object.
async fn bench(args: &[&str]) -> Value {
    let output = tokio::process::Command::new(HESTIA)
        .arg("bench")
        .args(args)
        .arg("--json")
        .env("HESTIA_LOG", "warn")
        .output()
        .await
        .expect("run hestia bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "hestia bench {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_copies_then_mixed_run() {
    let server = TestServer::start().await;
    let data = shared_dir().join("data/synthea-r4-sample.tgz");
    let data = data.to_str().unwrap();
    let load = bench(&["load", "--base", &server.base, "--data", data, "--copies", "2", "--concurrency", "4"]).await;
    println!("bench load: {load}");
    assert_eq!(load["errors"], 0, "{load}");
    assert!(load["resources"].as_u64().unwrap() > 20_000, "{load}");
    assert_eq!(load["bundles"], 74, "{load}");
    assert_eq!(server.get("Patient?_summary=count").await.json()["total"], 70);

    let mixed = bench(&["mixed", "--base", &server.base, "--duration", "2", "--concurrency", "4"]).await;
    println!("bench mixed: {mixed}");
    assert!(mixed["requests"].as_u64().unwrap() > 0, "{mixed}");
    assert_eq!(mixed["errors"], 0, "{mixed}");
    for kind in ["read", "search", "create"] {
        assert!(mixed["operations"][kind]["requests"].as_u64().unwrap() > 0, "{kind}: {mixed}");
    }
}
