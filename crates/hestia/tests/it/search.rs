//! The basic search of the foundation: `_id`, `_lastUpdated`, token parameters, `_count`,
//! paging, `_summary=count`, `_total`, `POST _search`.

use serde_json::json;
use testkit::{ServerOptions, TestServer};

use crate::patient;

/// The ids a search matches, sorted; the search must succeed.
pub(crate) async fn sorted_ids(server: &TestServer, query: &str) -> Vec<String> {
    let reply = server.get(query).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    let mut ids = ids(&reply.json());
    ids.sort();
    ids
}

pub(crate) fn ids(bundle: &serde_json::Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_identifier_and_tokens() {
    let server = TestServer::start().await;
    let a = server.post("Patient", &patient("a")).await.json()["id"].as_str().unwrap().to_owned();
    let mut male = patient("b");
    male["gender"] = json!("male");
    let b = server.post("Patient", &male).await.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&server.get(&format!("Patient?_id={a}")).await.json()), vec![a.clone()]);
    assert_eq!(ids(&server.get(&format!("Patient?_id={a},{b}")).await.json()).len(), 2);
    assert_eq!(ids(&server.get("Patient?identifier=urn:test:mrn|b").await.json()), vec![b.clone()]);
    assert_eq!(ids(&server.get("Patient?identifier=b").await.json()), vec![b.clone()]);
    assert_eq!(ids(&server.get("Patient?identifier=urn:other|b").await.json()).len(), 0);
    assert_eq!(ids(&server.get("Patient?identifier=urn:test:mrn|").await.json()).len(), 2);
    assert_eq!(ids(&server.get("Patient?identifier=|b").await.json()).len(), 0, "|b means no system");
    assert_eq!(ids(&server.get("Patient?gender=male").await.json()), vec![b.clone()]);
    assert_eq!(ids(&server.get("Patient?gender:not=male").await.json()), vec![a.clone()]);
    assert_eq!(ids(&server.get("Patient?gender=male&identifier=a").await.json()).len(), 0, "repeated parameters AND");
    assert_eq!(ids(&server.get("Patient?active:missing=true").await.json()).len(), 2);
    assert_eq!(ids(&server.get("Patient?gender:missing=false").await.json()).len(), 2);
    let form = server
        .send(
            server
                .client
                .post(server.url("Patient/_search"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("identifier=urn%3Atest%3Amrn%7Ca"),
        )
        .await;
    assert_eq!(ids(&form.json()), [a]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_updated_prefixes() {
    let server = TestServer::start().await;
    // The test clock starts at 2026-01-01T00:00:00Z and advances 1 ms per reading.
    server.post("Patient", &patient("t1")).await;
    let second = server.post("Patient", &patient("t2")).await.json();
    let instant = second["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    let count = |query: String| {
        let server = &server;
        async move { ids(&server.get(&query).await.json()).len() }
    };
    assert_eq!(count("Patient?_lastUpdated=2026".to_owned()).await, 2);
    assert_eq!(count("Patient?_lastUpdated=2025".to_owned()).await, 0);
    assert_eq!(count("Patient?_lastUpdated=gt2025-12-31".to_owned()).await, 2);
    assert_eq!(count("Patient?_lastUpdated=lt2026-01-01".to_owned()).await, 0);
    assert_eq!(count(format!("Patient?_lastUpdated=ge{instant}")).await, 1);
    assert_eq!(count(format!("Patient?_lastUpdated=lt{instant}")).await, 1);
    assert_eq!(
        count("Patient?_lastUpdated=ge2026-01-01T00:00:00%2B01:00".to_owned()).await,
        2,
        "a + offset must survive"
    );
    assert_eq!(count("Patient?_lastUpdated=ne2026-01-01".to_owned()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_totals_and_counts() {
    let server = TestServer::start().await;
    for i in 0..25 {
        server.post("Patient", &patient(&format!("pg{i}"))).await;
    }
    let count = server.get("Patient?_summary=count").await.json();
    assert_eq!(count["total"], 25);
    assert!(count.get("entry").is_none());
    let first = server.get("Patient?_count=10").await.json();
    assert!(first.get("total").is_none(), "no counting unless asked");
    assert_eq!(server.get("Patient?_count=10&_total=accurate").await.json()["total"], 25);
    let mut seen = ids(&first);
    let mut next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_owned());
    let mut pages = 1;
    while let Some(url) = next {
        // Writes between pages must neither duplicate nor skip what was there.
        server.post("Patient", &patient("between")).await;
        let page = server.send(server.client.get(url)).await.json();
        seen.extend(ids(&page));
        pages += 1;
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_owned());
    }
    assert!(pages >= 3);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no duplicates across pages");
    assert!(seen.len() >= 25);
    let sorted = server.get("Patient?_sort=-_lastUpdated&_count=3").await.json();
    let newest = &sorted["entry"][0]["resource"];
    assert_eq!(newest["identifier"][0]["value"], "between");
    let zero = server.get("Patient?_count=0&_total=accurate").await.json();
    assert!(zero.get("entry").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_and_elements() {
    let server = TestServer::start().await;
    let mut body = patient("sum");
    body["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"});
    body["photo"] = json!([{"contentType": "image/png", "data": "AAAA"}]);
    server.post("Patient", &body).await;
    let summary = server.get("Patient?_summary=true").await.json();
    let resource = &summary["entry"][0]["resource"];
    assert!(resource.get("photo").is_none() && resource.get("text").is_none(), "{resource}");
    assert_eq!(resource["meta"]["tag"][0]["code"], "SUBSETTED");
    let elements = server.get("Patient?_elements=gender").await.json();
    let resource = &elements["entry"][0]["resource"];
    assert_eq!(resource["gender"], "female");
    assert!(resource.get("name").is_none());
    let data = server.get("Patient?_summary=data").await.json();
    assert!(data["entry"][0]["resource"].get("text").is_none());
    assert!(data["entry"][0]["resource"].get("photo").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_replace_every_kind_of_index_row() {
    let server = TestServer::start().await;
    let observation = |systolic: u32| {
        json!({"resourceType": "Observation", "id": "bp", "status": "final", "code": {"text": "bp"},
            "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": systolic, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]})
    };
    server.put("Observation/bp", &observation(150)).await;
    let query = "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140";
    assert_eq!(ids(&server.get(query).await.json()), vec!["bp".to_owned()]);
    server.put("Observation/bp", &observation(120)).await;
    assert!(ids(&server.get(query).await.json()).is_empty(), "the old composite row must be gone");
    server.delete("Observation/bp").await;
    assert!(ids(&server.get("Observation?code:text=bp").await.json()).is_empty(), "a deletion leaves no index rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifier_of_type() {
    let server = TestServer::start().await;
    let mut body = patient("ot");
    body["identifier"] = json!([{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "system": "urn:mrn", "value": "12345"}]);
    let id = server.post("Patient", &body).await.json()["id"].as_str().unwrap().to_owned();
    let query = "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345";
    assert_eq!(ids(&server.get(query).await.json()), vec![id]);
    assert!(
        ids(&server
            .get("Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|SS|12345")
            .await
            .json())
        .is_empty()
    );
    assert_eq!(server.get("Patient?identifier:of-type=MR").await.status, 400);
}

/// A reference to another server is found by its absolute URL (`search_reference_url`, an
/// index over absolute references only), and only by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_references_by_url() {
    let server = TestServer::start().await;
    let observation = |subject: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": subject}})
    };
    let far = server.post("Observation", &observation("http://other.example/fhir/Patient/9")).await;
    let far = far.json()["id"].as_str().unwrap().to_owned();
    server.post("Observation", &observation("Patient/7")).await;
    let found = ids(&server.get("Observation?subject=http://other.example/fhir/Patient/9").await.json());
    assert_eq!(found, vec![far]);
    assert!(ids(&server.get("Observation?subject=http://other.example/fhir/Patient/8").await.json()).is_empty());
    // Another server's Patient/9 is not this server's.
    assert!(ids(&server.get("Observation?subject=Patient/9").await.json()).is_empty());
}

/// Under a configured base, an absolute reference to this server is the local resource, written
/// either way and searched either way; the same path on another server is not.
#[tokio::test]
async fn absolute_references_under_the_own_base_are_local() {
    let own = "https://fhir.example.org/fhir";
    let options = ServerOptions { base_url: Some(own.to_owned()), ..ServerOptions::default() };
    let server = TestServer::start_with(options).await;
    let observation = |subject: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": subject}})
    };
    let mut posted = Vec::new();
    for subject in
        [format!("{own}/Patient/7"), "Patient/7".to_owned(), "http://other.example/fhir/Patient/7".to_owned()]
    {
        let reply = server.post("Observation", &observation(&subject)).await;
        posted.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let local = sorted(posted[..2].to_vec());
    assert_eq!(sorted(ids(&server.get("Observation?subject=Patient/7").await.json())), local);
    assert_eq!(sorted(ids(&server.get(&format!("Observation?subject={own}/Patient/7")).await.json())), local);
    assert_eq!(sorted(ids(&server.get("Observation?subject:Patient=7").await.json())), local);
    let foreign = ids(&server.get("Observation?subject=http://other.example/fhir/Patient/7").await.json());
    assert_eq!(foreign, posted[2..].to_vec());
}

/// `:in` and `:not-in` expand a stored ValueSet (listed codes and an `is-a` filter over a stored
/// CodeSystem); an unknown value set is a 400, not an empty match.
#[tokio::test]
async fn token_in_and_not_in_expand_stored_value_sets() {
    let server = TestServer::start().await;
    let system = "http://example.org/codes";
    let code_system = json!({"resourceType": "CodeSystem", "url": system, "status": "active", "content": "complete",
        "concept": [{"code": "a", "concept": [{"code": "b"}]}, {"code": "c"}]});
    assert_eq!(server.post("CodeSystem", &code_system).await.status, 201);
    let value_set = json!({"resourceType": "ValueSet", "url": "http://example.org/vs", "status": "active",
    "compose": {"include": [
        {"system": system, "filter": [{"property": "concept", "op": "is-a", "value": "a"}]},
        {"system": "http://loinc.org", "concept": [{"code": "8480-6"}]}
    ]}});
    assert_eq!(server.post("ValueSet", &value_set).await.status, 201);
    let mut posted = Vec::new();
    for (s, c) in [(system, "a"), (system, "b"), (system, "c"), ("http://loinc.org", "8480-6"), ("http://other", "a")] {
        let observation = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": s, "code": c}]}});
        let reply = server.post("Observation", &observation).await;
        posted.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let inside = sorted(vec![posted[0].clone(), posted[1].clone(), posted[3].clone()]);
    let outside = sorted(vec![posted[2].clone(), posted[4].clone()]);
    assert_eq!(sorted(ids(&server.get("Observation?code:in=http://example.org/vs").await.json())), inside);
    assert_eq!(sorted(ids(&server.get("Observation?code:not-in=http://example.org/vs").await.json())), outside);
    assert_eq!(server.get("Observation?code:in=http://example.org/unknown").await.status, 400);

    // Conditional operations take `:in`/`:not-in` too.
    let loinc = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}});
    let in_loinc = "code:in=http://example.org/vs&code=http://loinc.org|8480-6";
    let create = server.fhir(server.client.post(server.url("Observation")), &loinc).header("if-none-exist", in_loinc);
    let found = server.send(create).await;
    assert_eq!(found.status, 200, "If-None-Exist with :in finds the one match: {}", found.text);
    assert_eq!(found.json()["id"], posted[3].as_str());
    let other = json!({"resourceType": "Observation", "status": "amended",
        "code": {"coding": [{"system": "http://other", "code": "a"}]}});
    let updated = server.put("Observation?code:not-in=http://example.org/vs&code=http://other|a", &other).await;
    assert_eq!(updated.status, 200, "conditional update with :not-in: {}", updated.text);
    assert_eq!(updated.json()["id"], posted[4].as_str());
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": loinc, "request": {"method": "POST", "url": "Observation", "ifNoneExist": in_loinc}}]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let response = &reply.json()["entry"][0]["response"];
    assert!(response["status"].as_str().unwrap().starts_with("200"), "{response}");
    assert!(response["location"].as_str().unwrap().contains(posted[3].as_str()), "{response}");
    // A search entry of a transaction takes `:in` as well.
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Observation?code:in=http://example.org/vs"}}]});
    let reply = server.post("", &bundle).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let searchset = &reply.json()["entry"][0]["resource"];
    assert_eq!(sorted(ids(searchset)), inside, "{searchset}");
    let unknown = server.send(
        server
            .fhir(server.client.post(server.url("Observation")), &loinc)
            .header("if-none-exist", "code:in=http://example.org/unknown"),
    );
    assert_eq!(unknown.await.status, 400, "an unknown value set in a condition is refused");
}

/// Token `:below` (the code and what it subsumes) and `:above` (the code and what subsumes it)
/// over a stored CodeSystem's hierarchy, nested concepts and `parent` properties both; the same
/// code in another system never matches. A system the server does not hold, or a value without
/// a system, is a 400.
#[tokio::test]
async fn value_sets_are_found_by_version() {
    let server = TestServer::start().await;
    let system = "http://example.org/versioned-codes";
    // Three versions of one CodeSystem and two of one ValueSet, held as separate resources.
    for (version, children) in [("1", vec!["a1"]), ("2", vec!["a2"]), ("3", vec!["a3"])] {
        let concepts: Vec<serde_json::Value> = children.iter().map(|c| json!({"code": c})).collect();
        let code_system = json!({"resourceType": "CodeSystem", "url": system, "version": version, "status": "active",
            "content": "complete", "concept": [{"code": "a", "concept": concepts}, {"code": "z"}]});
        assert_eq!(server.post("CodeSystem", &code_system).await.status, 201);
    }
    let url = "http://example.org/versioned-vs";
    for (version, code) in [("1", "x"), ("2", "y")] {
        let value_set = json!({"resourceType": "ValueSet", "url": url, "version": version, "status": "active",
            "compose": {"include": [{"system": system, "concept": [{"code": code}]}]}});
        assert_eq!(server.post("ValueSet", &value_set).await.status, 201);
    }
    // A ValueSet that filters version 2 of the CodeSystem: neither the first held nor the current.
    let pinned = json!({"resourceType": "ValueSet", "url": "http://example.org/pinned", "status": "active",
        "compose": {"include": [{"system": system, "version": "2",
            "filter": [{"property": "concept", "op": "is-a", "value": "a"}]}]}});
    assert_eq!(server.post("ValueSet", &pinned).await.status, 201);
    let mut posted = std::collections::BTreeMap::new();
    for code in ["x", "y", "a", "a1", "a2", "a3", "z"] {
        let observation = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": system, "code": code}]}});
        posted.insert(code, server.post("Observation", &observation).await.json()["id"].as_str().unwrap().to_owned());
    }
    let expect = |codes: &[&str]| {
        let mut ids: Vec<String> = codes.iter().map(|c| posted[c].clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(sorted_ids(&server, &format!("Observation?code:in={url}|1")).await, expect(&["x"]));
    assert_eq!(sorted_ids(&server, &format!("Observation?code:in={url}|2")).await, expect(&["y"]));
    assert_eq!(
        sorted_ids(&server, &format!("Observation?code:in={url}")).await,
        expect(&["y"]),
        "no version: the current one"
    );
    assert_eq!(sorted_ids(&server, "Observation?code:in=http://example.org/pinned").await, expect(&["a", "a2"]));
    let unpinned = json!({"resourceType": "ValueSet", "url": "http://example.org/unpinned", "status": "active",
        "compose": {"include": [{"system": system, "filter": [{"property": "concept", "op": "is-a", "value": "a"}]}]}});
    assert_eq!(server.post("ValueSet", &unpinned).await.status, 201);
    assert_eq!(sorted_ids(&server, "Observation?code:in=http://example.org/unpinned").await, expect(&["a", "a3"]));
    let unknown = server.get(&format!("Observation?code:in={url}|3")).await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert!(unknown.text.contains(&format!("{url}|3")), "{}", unknown.text);
}

#[tokio::test]
async fn token_above_and_below_follow_a_stored_hierarchy() {
    let server = TestServer::start().await;
    let system = "http://example.org/body-sites";
    // limb > arm > hand, limb > leg; foot's parent is leg (a property, not nesting).
    let code_system = json!({"resourceType": "CodeSystem", "url": system, "status": "active", "content": "complete",
        "concept": [
            {"code": "limb", "concept": [{"code": "arm", "concept": [{"code": "hand"}]}, {"code": "leg"}]},
            {"code": "foot", "property": [{"code": "parent", "valueCode": "leg"}]}]});
    assert_eq!(server.post("CodeSystem", &code_system).await.status, 201);
    let mut posted = std::collections::BTreeMap::new();
    for (s, c) in [
        (system, "limb"),
        (system, "arm"),
        (system, "hand"),
        (system, "leg"),
        (system, "foot"),
        ("http://other", "arm"),
    ] {
        let observation = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": s, "code": c}]}});
        let reply = server.post("Observation", &observation).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        posted.insert(format!("{s}|{c}"), reply.json()["id"].as_str().unwrap().to_owned());
    }
    let expect = |codes: &[&str]| {
        let mut ids: Vec<String> = codes.iter().map(|c| posted[&format!("{system}|{c}")].clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(sorted_ids(&server, &format!("Observation?code:below={system}|arm")).await, expect(&["arm", "hand"]));
    assert_eq!(sorted_ids(&server, &format!("Observation?code:below={system}|leg")).await, expect(&["leg", "foot"]));
    assert_eq!(
        sorted_ids(&server, &format!("Observation?code:above={system}|foot")).await,
        expect(&["limb", "leg", "foot"])
    );
    assert_eq!(
        sorted_ids(&server, &format!("Observation?code:above={system}|hand,{system}|leg")).await,
        expect(&["limb", "arm", "hand", "leg"])
    );
    // At the end of a chain and of a `_has`: a panel whose member is the hand, and its patient.
    let patient =
        server.post("Patient", &json!({"resourceType": "Patient"})).await.json()["id"].as_str().unwrap().to_owned();
    let member = json!({"resourceType": "Observation", "status": "final", "subject": {"reference": format!("Patient/{patient}")},
        "code": {"coding": [{"system": system, "code": "hand"}]}});
    let member = server.post("Observation", &member).await.json()["id"].as_str().unwrap().to_owned();
    let panel = json!({"resourceType": "Observation", "status": "final", "code": {"text": "panel"},
        "hasMember": [{"reference": format!("Observation/{member}")}]});
    let panel = server.post("Observation", &panel).await.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sorted_ids(&server, &format!("Observation?has-member:Observation.code:below={system}|arm")).await,
        vec![panel]
    );
    assert!(sorted_ids(&server, &format!("Observation?has-member.code:below={system}|leg")).await.is_empty());
    assert_eq!(
        sorted_ids(&server, &format!("Patient?_has:Observation:subject:code:below={system}|limb")).await,
        vec![patient]
    );
    assert!(sorted_ids(&server, &format!("Patient?_has:Observation:subject:code:above={system}|leg")).await.is_empty());
    assert_eq!(server.get("Observation?code:below=http://unknown.example/cs|arm").await.status, 400);
    assert_eq!(server.get("Observation?code:below=arm").await.status, 400);
    assert_eq!(server.get(&format!("Observation?code:below={system}|wing")).await.status, 400, "not a code of it");
    // A CodeSystem held as a fragment cannot say what a code subsumes: refused, not short.
    let fragment = json!({"resourceType": "CodeSystem", "url": "http://example.org/fragment", "status": "active",
        "content": "fragment", "concept": [{"code": "x", "concept": [{"code": "y"}]}]});
    assert_eq!(server.post("CodeSystem", &fragment).await.status, 201);
    let refused = server.get("Observation?code:below=http://example.org/fragment|x").await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("complete"), "{}", refused.text);
}
