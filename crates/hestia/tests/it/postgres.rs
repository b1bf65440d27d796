//! Two real `hestia serve` processes over one PostgreSQL database (a fresh one on
//! `HESTIA_TEST_DATABASE_URL`): conditional creates and `If-Match` updates racing across nodes,
//! and a paging link from one node followed on the other. Without a reachable server the test
//! prints a SKIP notice, unless `CI=true`, where it fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use testkit::{TestDatabase, test_database_url};

use crate::patient;

const HESTIA: &str = env!("CARGO_BIN_EXE_hestia");

/// A `hestia serve --database` process, killed on drop.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(url: &str, data: &std::path::Path) -> Node {
        Node::start_with(url, &[], data)
    }

    fn start_with(url: &str, extra: &[&str], data: &std::path::Path) -> Node {
        let mut child = Command::new(HESTIA)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url, "--data"])
            .arg(data)
            .args(extra)
            .env("HESTIA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start hestia");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("hestia listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Node { child, base }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn fhir(request: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    request.header("content-type", "application/fhir+json").body(body.to_string())
}

/// A fresh database, or `None` (after a loud notice) when PostgreSQL is absent outside CI.
pub(crate) async fn database_or_skip(test: &str) -> Option<TestDatabase> {
    match TestDatabase::try_create(&test_database_url()).await {
        Ok(database) => Some(database),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and no PostgreSQL at {}: {error}", test_database_url())
        }
        Err(error) => {
            println!("\n!!!!! SKIP {test}: no PostgreSQL at {} ({error})\n", test_database_url());
            None
        }
    }
}

/// `--database-read-replica`: searches answer from the replica, reads by id from the primary.
/// The "replica" here is a second database with different content, so the answers show which
/// server each request went to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_go_to_the_read_replica_and_reads_by_id_to_the_primary() {
    let Some(primary) = database_or_skip("read replica (primary)").await else { return };
    let Some(replica) = database_or_skip("read replica (replica)").await else { return };
    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let on_replica = {
        let node = Node::start(&replica.url, &data.path().join("replica"));
        let (status, body) = send(fhir(client.post(format!("{}/Patient", node.base)), &patient("OnReplica"))).await;
        assert_eq!(status, 201);
        body["id"].as_str().unwrap().to_owned()
    };
    let args = ["--database-read-replica", replica.url.as_str(), "--database-statement-timeout", "5s"];
    let node = Node::start_with(&primary.url, &args, &data.path().join("primary"));
    let (status, body) = send(fhir(client.post(format!("{}/Patient", node.base)), &patient("OnPrimary"))).await;
    assert_eq!(status, 201);
    let on_primary = body["id"].as_str().unwrap().to_owned();

    let count = |bundle: &Value| bundle["entry"].as_array().map_or(0, Vec::len);
    let (_, found) = send(client.get(format!("{}/Patient?identifier=urn:test:mrn%7COnReplica", node.base))).await;
    assert_eq!(count(&found), 1, "the search ran on the replica: {found}");
    let (_, found) = send(client.get(format!("{}/Patient?identifier=urn:test:mrn%7COnPrimary", node.base))).await;
    assert_eq!(count(&found), 0, "the primary's resource is not on this replica: {found}");
    let (status, _) = send(client.get(format!("{}/Patient/{on_primary}", node.base))).await;
    assert_eq!(status, 200, "a read by id sees the primary at once");
    let (status, _) = send(client.get(format!("{}/Patient/{on_replica}", node.base))).await;
    assert_eq!(status, 404, "reads by id never go to the replica");
}

/// A replica without Hestia's schema is refused at start with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_the_schema_is_refused() {
    let Some(primary) = database_or_skip("replica schema (primary)").await else { return };
    let Some(empty) = database_or_skip("replica schema (empty)").await else { return };
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(HESTIA)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &primary.url, "--database-read-replica", &empty.url])
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no Hestia schema"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_over_one_database_agree() {
    let Some(database) = database_or_skip("two_nodes_over_one_database_agree").await else { return };
    let data = tempfile::tempdir().unwrap();
    let a = Node::start(&database.url, &data.path().join("a"));
    let b = Node::start(&database.url, &data.path().join("b"));
    let nodes = Arc::new([a.base.clone(), b.base.clone()]);
    let client = reqwest::Client::new();

    conditional_creates_race(&client, &nodes).await;
    if_match_updates_race(&client, &nodes).await;
    paging_crosses_nodes(&client, &nodes).await;
}

/// Ten `If-None-Exist` creates split across both nodes make exactly one Patient.
async fn conditional_creates_race(client: &reqwest::Client, nodes: &Arc<[String; 2]>) {
    let mut body = patient("race");
    body["identifier"] = json!([{"system": "urn:race", "value": "1"}]);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (client, base, body) = (client.clone(), nodes[i % 2].clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let request =
                fhir(client.post(format!("{base}/Patient")), &body).header("if-none-exist", "identifier=urn:race|1");
            send(request).await.0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert!(statuses.iter().all(|s| [200, 201, 503].contains(s)), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    for base in nodes.iter() {
        let (status, found) = send(client.get(format!("{base}/Patient?identifier=urn:race|1&_total=accurate"))).await;
        assert_eq!(status, 200);
        assert_eq!(found["total"], 1, "{found}");
    }
}

/// Rounds of `If-Match` updates across both nodes: exactly one winner per version.
async fn if_match_updates_race(client: &reqwest::Client, nodes: &Arc<[String; 2]>) {
    let mut body = patient("match");
    body["id"] = json!("race-match");
    let (status, _) = send(fhir(client.put(format!("{}/Patient/race-match", nodes[0])), &body)).await;
    assert_eq!(status, 201);
    for version in 1..=3_u64 {
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (client, base) = (client.clone(), nodes[i % 2].clone());
            let mut body = body.clone();
            body["name"][0]["family"] = json!(format!("Racer{version}-{i}"));
            tasks.push(tokio::spawn(async move {
                let request = fhir(client.put(format!("{base}/Patient/race-match")), &body)
                    .header("if-match", format!("W/\"{version}\""));
                send(request).await.0
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "version {version}: {statuses:?}");
        assert!(statuses.iter().all(|s| [200, 409, 503].contains(s)), "{statuses:?}");
        for base in nodes.iter() {
            let (_, current) = send(client.get(format!("{base}/Patient/race-match"))).await;
            assert_eq!(current["meta"]["versionId"], (version + 1).to_string());
        }
    }
    let (_, history) = send(client.get(format!("{}/Patient/race-match/_history", nodes[1]))).await;
    assert_eq!(history["total"], 4, "{history}");
}

/// A `next` link served by node A is followed on node B.
async fn paging_crosses_nodes(client: &reqwest::Client, nodes: &Arc<[String; 2]>) {
    for i in 0..5 {
        let mut body = patient(&format!("page{i}"));
        body["name"][0]["family"] = json!("Pager");
        let (status, _) = send(fhir(client.post(format!("{}/Patient", nodes[i % 2])), &body)).await;
        assert_eq!(status, 201);
    }
    let (status, mut page) = send(client.get(format!("{}/Patient?family=Pager&_count=2", nodes[0]))).await;
    assert_eq!(status, 200, "{page}");
    let mut ids = Vec::new();
    let mut hops = 0;
    loop {
        for entry in page["entry"].as_array().cloned().unwrap_or_default() {
            ids.push(entry["resource"]["id"].as_str().unwrap().to_owned());
        }
        let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").cloned();
        let Some(next) = next else { break };
        let url = next["url"].as_str().unwrap();
        let on_other = url.replacen(&nodes[hops % 2], &nodes[(hops + 1) % 2], 1);
        assert_ne!(url, on_other, "the next link names its node: {url}");
        hops += 1;
        let (status, body) = send(client.get(on_other)).await;
        assert_eq!(status, 200, "{body}");
        page = body;
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(hops >= 2);
}

/// First versions are written without looking the resource up (the unique key is the check):
/// a first version of an existing resource must still conflict and change nothing, and a bundle
/// of first versions must come back whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_version_of_an_existing_resource_conflicts() {
    use store::{Method, RequestContext, Store, StoreError, Timestamp, WriteVersion};
    let Some(database) = database_or_skip("a_first_version_of_an_existing_resource_conflicts").await else {
        return;
    };
    let store = store_postgres::PostgresStore::open(store_postgres::PostgresConfig::new(&database.url)).await.unwrap();
    let ctx = RequestContext::system("test", Timestamp::from_micros(1_700_000_000_000_000));
    let patient = |id: &str, family: &str| WriteVersion {
        resource_type: "Patient".into(),
        id: id.into(),
        version: 1,
        method: Method::Put,
        body: Some(json!({"resourceType": "Patient", "id": id, "name": [{"family": family}]}).to_string()),
        index: Default::default(),
    };
    let mut tx = store.begin(&ctx).await.unwrap();
    let written = tx.write_all(vec![patient("p1", "First"), patient("p2", "Second")]).await.unwrap();
    assert_eq!(written.len(), 2);
    tx.commit().await.unwrap();

    let mut tx = store.begin(&ctx).await.unwrap();
    let again = tx.write(patient("p1", "Again")).await;
    assert!(matches!(again, Err(StoreError::VersionConflict { version: 1, .. })), "{again:?}");
    drop(tx);
    let stored = store.read(&ctx, "Patient", "p1").await.unwrap();
    assert_eq!(stored.version, 1);
    assert!(stored.body.unwrap().contains("First"));
}

/// `sslmode` as libpq reads it: `require` encrypts (PostgreSQL's own view of the connection
/// says so), `verify-full` against roots that did not sign the server's certificate refuses to
/// start and says why. Needs a server with `ssl = on` (Debian's default); without it the test
/// says so loudly and checks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_follows_libpq_sslmode() {
    let Some(database) = database_or_skip("tls").await else { return };
    let (admin, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        println!("\n!!!!! SKIP tls: the PostgreSQL server has ssl = {ssl}\n");
        return;
    }
    let separator = if database.url.contains('?') { '&' } else { '?' };
    let application = format!("hestia-tls-{}", std::process::id());
    let data = tempfile::tempdir().unwrap();

    let node =
        Node::start(&format!("{}{separator}sslmode=require&application_name={application}", database.url), data.path());
    let client = reqwest::Client::new();
    let (status, created) = send(fhir(client.post(format!("{}/Patient", node.base)), &patient("Tls"))).await;
    assert_eq!(status, 201, "{created}");
    let encrypted = admin
        .query(
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap();
    assert!(!encrypted.is_empty(), "no connection of the node is visible");
    assert!(encrypted.iter().all(|row| row.get::<_, bool>(0)), "a connection of the node is not encrypted");
    drop(node);

    // `verify-ca` with the server's own (self-signed) certificate as the root: the chain holds,
    // whatever name the certificate is for (Debian's is for the machine, not for 127.0.0.1).
    let certificate: String = admin.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    if std::fs::read(&certificate).is_ok() {
        let url = format!("{}{separator}sslmode=verify-ca&sslrootcert={certificate}", database.url);
        let node = Node::start(&url, data.path());
        let (status, _) = send(client.get(format!("{}/Patient/{}", node.base, created["id"].as_str().unwrap()))).await;
        assert_eq!(status, 200);
    } else {
        println!("\n!!!!! SKIP tls (verify-ca): cannot read the server's certificate {certificate}\n");
    }

    // Roots that never signed the server's certificate: the public CAs of the system bundle.
    let roots = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !roots.exists() {
        println!("\n!!!!! SKIP tls (verify-full): no {} to use as unrelated roots\n", roots.display());
        return;
    }
    let url = format!("{}{separator}sslmode=verify-full&sslrootcert={}", database.url, roots.display());
    let output = Command::new(HESTIA)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url, "--data"])
        .arg(data.path())
        .env("HESTIA_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success(), "started against a certificate its roots did not sign");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("certificate"), "the refusal does not say why: {stderr}");
}
