//! Search over the Synthea sample, checked against answers computed here by walking the
//! bundles' JSON, not by the server's code: every parameter type, modifiers, chains, `_has`,
//! `_include`/`_revinclude`, `_sort`, compartments and deep paging.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use testkit::TestServer;

use crate::synthea::synthea_bundles;

/// The loaded sample: every resource as sent, with the references rewritten to the ids the
/// server assigned (taken from the transaction responses).
struct Loaded {
    server: TestServer,
    resources: Vec<Value>,
}

impl Loaded {
    fn of_type<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.resources.iter().filter(move |r| r["resourceType"] == resource_type)
    }

    async fn ids(&self, query: &str) -> BTreeSet<String> {
        self.matches(query).await.iter().map(key).collect()
    }

    /// The matches of every page of `query`, in order, following `next` links.
    async fn matches(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(self.server.url(query));
        while let Some(url) = next {
            let page = self.server.send(self.server.client.get(url)).await;
            assert_eq!(page.status, 200, "{query}: {}", page.text);
            let mut page = page.json();
            for entry in page["entry"].as_array_mut().into_iter().flatten().filter(|e| e["search"]["mode"] == "match") {
                out.push(entry["resource"].take());
            }
            next = page["link"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["relation"] == "next")
                .map(|l| l["url"].as_str().unwrap().to_owned());
        }
        out
    }
}

fn key(resource: &Value) -> String {
    format!("{}/{}", resource["resourceType"].as_str().unwrap(), resource["id"].as_str().unwrap())
}

fn rewrite(value: &mut Value, map: &HashMap<String, String>) {
    match value {
        Value::Object(fields) => {
            for (k, v) in fields.iter_mut() {
                match (k.as_str(), v) {
                    ("reference", Value::String(r)) => {
                        if let Some(target) = map.get(r.as_str()) {
                            *r = target.clone();
                        }
                    }
                    (_, v) => rewrite(v, map),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite(i, map)),
        _ => {}
    }
}

async fn load() -> Loaded {
    let server = TestServer::start().await;
    let mut resources = Vec::new();
    for (name, text) in synthea_bundles() {
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
        assert_eq!(reply.status, 200, "{name}");
        let response = reply.json();
        let bundle: Value = serde_json::from_str(&text).unwrap();
        let mut map = HashMap::new();
        let mut batch = Vec::new();
        for (entry, answer) in bundle["entry"].as_array().unwrap().iter().zip(response["entry"].as_array().unwrap()) {
            let location = answer["response"]["location"].as_str().unwrap();
            let target = location.split("/_history").next().unwrap().to_owned();
            map.insert(entry["fullUrl"].as_str().unwrap().to_owned(), target.clone());
            let mut resource = entry["resource"].clone();
            resource["id"] = Value::String(target.split('/').nth(1).unwrap().to_owned());
            batch.push(resource);
        }
        for mut resource in batch {
            rewrite(&mut resource, &map);
            resources.push(resource);
        }
    }
    Loaded { server, resources }
}

fn codings(concept: &Value) -> impl Iterator<Item = &Value> {
    concept["coding"].as_array().into_iter().flatten()
}

fn has_code(concept: &Value, system: &str, code: &str) -> bool {
    codings(concept).any(|c| c["system"] == system && c["code"] == code)
}

/// Seconds since the epoch of a FHIR dateTime with seconds and an offset (Synthea's form).
fn epoch(date_time: &str) -> i64 {
    let (date, rest) = date_time.split_at(10);
    let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (y, m, d) = (parts[0], parts[1], parts[2]);
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let clock = &rest[1..9];
    let hms: Vec<i64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    let zone = &rest[9..];
    let offset = if zone == "Z" || zone.is_empty() {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        sign * (zone[1..3].parse::<i64>().unwrap() * 3600 + zone[4..6].parse::<i64>().unwrap() * 60)
    };
    days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2] - offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_answers_match_the_data() {
    let data = load().await;
    tokens_and_references(&data).await;
    dates_strings_and_quantities(&data).await;
    chains_has_and_includes(&data).await;
    sorting_paging_and_compartments(&data).await;
    composites_and_text(&data).await;
    unions_of_parameters(&data).await;
}

/// An Observation and its components: what the `combo-*` parameters look at.
fn with_components(observation: &Value) -> impl Iterator<Item = &Value> {
    std::iter::once(observation).chain(observation["component"].as_array().into_iter().flatten())
}

/// The quantity values of an Observation in mm[Hg]: its own and its components'.
fn quantities(observation: &Value) -> Vec<f64> {
    with_components(observation)
        .filter(|o| o["valueQuantity"]["code"] == "mm[Hg]")
        .filter_map(|o| o["valueQuantity"]["value"].as_f64())
        .collect()
}

/// A systolic blood pressure over 140 (an Observation or a component).
fn systolic_over_140(element: &Value) -> bool {
    has_code(&element["code"], "http://loinc.org", "8480-6")
        && element["valueQuantity"]["value"].as_f64().is_some_and(|v| v > 140.0)
}

/// Observation's `combo-*` parameters have no rows of their own (`IndexedParam::stored_as`):
/// each is answered from the code and component parameters, and must mean the same as if it
/// were indexed, for values, `:not`, `:missing`, composites and sorting.
async fn unions_of_parameters(data: &Loaded) {
    let code_or_component =
        |o: &Value, code: &str| with_components(o).any(|c| has_code(&c["code"], "http://loinc.org", code));
    let systolic: BTreeSet<String> =
        data.of_type("Observation").filter(|o| code_or_component(o, "8480-6")).map(key).collect();
    let panels: BTreeSet<String> =
        data.of_type("Observation").filter(|o| code_or_component(o, "55284-4")).map(key).collect();
    assert!(!systolic.is_empty() && !panels.is_empty());
    assert_eq!(data.ids("Observation?combo-code=http://loinc.org|8480-6&_count=1000").await, systolic);
    let either: BTreeSet<String> = systolic.union(&panels).cloned().collect();
    assert_eq!(data.ids("Observation?combo-code=8480-6,55284-4&_count=1000").await, either);
    let neither: BTreeSet<String> =
        data.of_type("Observation").filter(|o| !code_or_component(o, "8480-6")).map(key).collect();
    assert_eq!(data.ids("Observation?combo-code:not=http://loinc.org|8480-6&_count=1000").await, neither);
    assert!(data.ids("Observation?combo-code:missing=true").await.is_empty(), "every Observation has a code");
    let high: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| quantities(o).iter().any(|v| *v > 140.0 && *v < 150.0))
        .map(key)
        .collect();
    assert!(!high.is_empty());
    assert_eq!(data.ids("Observation?combo-value-quantity=gt140|http://unitsofmeasure.org|mm[Hg]&combo-value-quantity=lt150|http://unitsofmeasure.org|mm[Hg]&_count=1000").await, {
        // Both conditions, each on any of the resource's quantities.
        data.of_type("Observation")
            .filter(|o| {
                let q = quantities(o);
                q.iter().any(|v| *v > 140.0) && q.iter().any(|v| *v < 150.0)
            })
            .map(key)
            .collect::<BTreeSet<String>>()
    });
    let systolic_high: BTreeSet<String> =
        data.of_type("Observation").filter(|o| with_components(o).any(systolic_over_140)).map(key).collect();
    assert!(!systolic_high.is_empty());
    assert_eq!(
        data.ids("Observation?combo-code-value-quantity=http://loinc.org|8480-6$gt140&_count=1000").await,
        systolic_high
    );
    // Newest-first by the largest of each resource's quantities, its own or its components'.
    let page = data.server.get("Observation?combo-code=55284-4&_sort=-combo-value-quantity&_count=1000").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let largest: Vec<f64> = page.json()["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| quantities(&e["resource"]).into_iter().fold(f64::MIN, f64::max))
        .collect();
    assert_eq!(largest.len(), panels.len());
    assert!(largest.windows(2).all(|w| w[0] >= w[1]), "{largest:?}");
}

async fn composites_and_text(data: &Loaded) {
    let systolic_high: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| o["component"].as_array().into_iter().flatten().any(systolic_over_140))
        .map(key)
        .collect();
    assert!(!systolic_high.is_empty());
    assert_eq!(
        data.ids("Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140&_count=1000").await,
        systolic_high
    );
    let weight: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| {
            has_code(&o["code"], "http://loinc.org", "29463-7")
                && o["valueQuantity"]["value"].as_f64().is_some_and(|v| v <= 60.0)
        })
        .map(key)
        .collect();
    assert!(!weight.is_empty());
    assert_eq!(data.ids("Observation?code-value-quantity=http://loinc.org|29463-7$le60&_count=1000").await, weight);
    assert_eq!(
        data.ids(
            "Observation?code-value-quantity=http://loinc.org|29463-7$le60|http://unitsofmeasure.org|kg&_count=1000"
        )
        .await,
        weight
    );
    assert!(
        data.server.get("Observation?code-value-quantity=8480-6").await.status == 400,
        "a composite needs every component"
    );
    let word = "hypertension";
    let mentions: BTreeSet<String> =
        data.of_type("Condition").filter(|c| c.to_string().to_lowercase().contains(word)).map(key).collect();
    assert!(!mentions.is_empty());
    assert_eq!(data.ids(&format!("Condition?_content={word}&_count=1000")).await, mentions);
}

async fn tokens_and_references(data: &Loaded) {
    let expected: BTreeSet<String> =
        data.of_type("Observation").filter(|o| has_code(&o["code"], "http://loinc.org", "8302-2")).map(key).collect();
    assert!(expected.len() > 10);
    assert_eq!(data.ids("Observation?code=http://loinc.org|8302-2&_count=500").await, expected);
    assert_eq!(data.ids("Observation?code=8302-2&_count=500").await, expected);
    assert!(data.ids("Observation?code=http://snomed.info/sct|8302-2").await.is_empty());
    let not_final: BTreeSet<String> = data
        .of_type("Condition")
        .filter(|c| {
            !has_code(&c["clinicalStatus"], "http://terminology.hl7.org/CodeSystem/condition-clinical", "active")
        })
        .map(key)
        .collect();
    assert_eq!(data.ids("Condition?clinical-status:not=active&_count=1000").await, not_final);
    let display = "Body Height";
    let by_text: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| {
            codings(&o["code"])
                .any(|c| c["display"].as_str().is_some_and(|d| d.to_lowercase().starts_with(&display.to_lowercase())))
                || o["code"]["text"].as_str().is_some_and(|t| t.to_lowercase().starts_with(&display.to_lowercase()))
        })
        .map(key)
        .collect();
    assert_eq!(data.ids("Observation?code:text=body%20height&_count=500").await, by_text);
    let patient = data.of_type("Patient").next().map(key).unwrap();
    let observations: BTreeSet<String> =
        data.of_type("Observation").filter(|o| o["subject"]["reference"] == patient.as_str()).map(key).collect();
    assert_eq!(data.ids(&format!("Observation?subject={patient}&_count=1000")).await, observations);
    let bare_id = patient.split('/').nth(1).unwrap();
    assert_eq!(data.ids(&format!("Observation?patient={bare_id}&_count=1000")).await, observations);
    assert_eq!(data.ids(&format!("Observation?subject:Patient={bare_id}&_count=1000")).await, observations);
    let without_encounter: BTreeSet<String> =
        data.of_type("Observation").filter(|o| o.get("encounter").is_none()).map(key).collect();
    assert_eq!(data.ids("Observation?encounter:missing=true&_count=1000").await, without_encounter);
}

async fn dates_strings_and_quantities(data: &Loaded) {
    let (low, high) = (epoch("2015-01-01T00:00:00Z"), epoch("2016-01-01T00:00:00Z"));
    let in_2015: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| o["effectiveDateTime"].as_str().is_some_and(|d| (low..high).contains(&epoch(d))))
        .map(key)
        .collect();
    assert!(!in_2015.is_empty());
    assert_eq!(
        data.ids("Observation?date=ge2015-01-01T00:00:00Z&date=lt2016-01-01T00:00:00Z&_count=1000").await,
        in_2015
    );
    let born_before: BTreeSet<String> =
        data.of_type("Patient").filter(|p| p["birthDate"].as_str().unwrap() < "1960-01-01").map(key).collect();
    assert_eq!(data.ids("Patient?birthdate=lt1960-01-01").await, born_before);
    let family = data.of_type("Patient").next().unwrap()["name"][0]["family"].as_str().unwrap().to_owned();
    let prefix: String = family.chars().take(3).collect::<String>().to_lowercase();
    let by_name: BTreeSet<String> = data
        .of_type("Patient")
        .filter(|p| {
            p["name"].as_array().unwrap().iter().any(|n| {
                n["family"].as_str().is_some_and(|f| f.to_lowercase().starts_with(&prefix))
                    || n["given"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|g| g.as_str().unwrap().to_lowercase().starts_with(&prefix))
                    || n["prefix"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|g| g.as_str().unwrap().to_lowercase().starts_with(&prefix))
                    || n["suffix"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|g| g.as_str().unwrap().to_lowercase().starts_with(&prefix))
            })
        })
        .map(key)
        .collect();
    assert!(!by_name.is_empty());
    assert_eq!(data.ids(&format!("Patient?name={}", prefix.to_uppercase())).await, by_name);
    let exact: BTreeSet<String> = data
        .of_type("Patient")
        .filter(|p| p["name"].as_array().unwrap().iter().any(|n| n["family"] == family.as_str()))
        .map(key)
        .collect();
    assert_eq!(data.ids(&format!("Patient?family:exact={family}")).await, exact);
    assert!(data.ids(&format!("Patient?family:exact={}", family.to_lowercase())).await.is_empty());
    let heavy: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| {
            o["valueQuantity"]["code"] == "kg" && o["valueQuantity"]["value"].as_f64().is_some_and(|v| v > 80.0)
        })
        .map(key)
        .collect();
    assert!(!heavy.is_empty());
    assert_eq!(data.ids("Observation?value-quantity=gt80|http://unitsofmeasure.org|kg&_count=1000").await, heavy);
    // UCUM: the same search in grams finds the same observations.
    assert_eq!(data.ids("Observation?value-quantity=gt80000|http://unitsofmeasure.org|g&_count=1000").await, heavy);
}

async fn chains_has_and_includes(data: &Loaded) {
    let patients: HashMap<String, &Value> = data.of_type("Patient").map(|p| (key(p), p)).collect();
    let first = data.of_type("Patient").next().unwrap();
    let family = first["name"][0]["family"].as_str().unwrap();
    let chained: BTreeSet<String> = data
        .of_type("Encounter")
        .filter(|e| {
            patients.get(e["subject"]["reference"].as_str().unwrap()).is_some_and(|p| p["name"][0]["family"] == family)
        })
        .map(key)
        .collect();
    assert!(!chained.is_empty());
    assert_eq!(data.ids(&format!("Encounter?subject:Patient.family:exact={family}&_count=1000")).await, chained);
    assert_eq!(data.ids(&format!("Encounter?patient.family:exact={family}&_count=1000")).await, chained);
    let with_a1c: BTreeSet<String> = data
        .of_type("Observation")
        .filter(|o| has_code(&o["code"], "http://loinc.org", "4548-4"))
        .map(|o| o["subject"]["reference"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data.ids("Patient?_has:Observation:patient:code=http://loinc.org|4548-4").await, with_a1c);
    let query = "Observation?code=http://loinc.org|4548-4&_include=Observation:subject&_count=1000";
    let bundle = data.server.get(query).await.json();
    let included: BTreeSet<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| key(&e["resource"]))
        .collect();
    assert_eq!(included, with_a1c);
    let patient = key(first);
    let encounters: BTreeSet<String> =
        data.of_type("Encounter").filter(|e| e["subject"]["reference"] == patient.as_str()).map(key).collect();
    let bundle = data
        .server
        .get(&format!("Patient?_id={}&_revinclude=Encounter:subject&_count=1", patient.split('/').nth(1).unwrap()))
        .await
        .json();
    let revincluded: BTreeSet<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| key(&e["resource"]))
        .collect();
    assert_eq!(revincluded, encounters);
    // Observation -> Encounter (include), then Encounter -> Patient (iterate over the included).
    let iterate = data
        .server
        .get("Observation?_count=5&_include=Observation:encounter&_include:iterate=Encounter:subject")
        .await
        .json();
    let kinds: BTreeSet<&str> = iterate["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["Encounter", "Patient"]));
    let without = data.server.get("Observation?_count=5&_include=Observation:encounter").await.json();
    assert!(without["entry"].as_array().unwrap().iter().all(|e| e["resource"]["resourceType"] != "Patient"));
}

async fn sorting_paging_and_compartments(data: &Loaded) {
    let page = data.server.get("Observation?_sort=-date&_count=50").await.json();
    let dates: Vec<i64> = page["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["effectiveDateTime"].as_str())
        .map(epoch)
        .collect();
    assert_eq!(dates.len(), 50);
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "sorted newest first");
    let newest = data.of_type("Observation").filter_map(|o| o["effectiveDateTime"].as_str()).map(epoch).max().unwrap();
    assert_eq!(dates[0], newest);
    let births: Vec<String> = {
        let sorted = data.matches("Patient?_sort=birthdate&_count=7").await;
        let all: BTreeSet<String> = sorted.iter().map(key).collect();
        assert_eq!((all.len(), sorted.len()), (35, 35), "no repeats across sorted pages");
        sorted.iter().map(|p| p["birthDate"].as_str().unwrap().to_owned()).collect()
    };
    assert!(births.windows(2).all(|w| w[0] <= w[1]), "{births:?}");
    // Most Conditions have no abatement: they follow the others, on pages of their own.
    let all_conditions: BTreeSet<String> = data.of_type("Condition").map(key).collect();
    for descending in [true, false] {
        let sort = if descending { "-abatement-date" } else { "abatement-date" };
        let sorted = data.matches(&format!("Condition?_sort={sort}&_count=40")).await;
        assert_eq!(sorted.iter().map(key).collect::<BTreeSet<_>>(), all_conditions, "{sort}");
        assert_eq!(sorted.len(), all_conditions.len(), "{sort}: no repeats");
        let abated: Vec<i64> = sorted.iter().map_while(|c| c["abatementDateTime"].as_str()).map(epoch).collect();
        let expected = data.of_type("Condition").filter(|c| c["abatementDateTime"].is_string()).count();
        assert!(expected > 40 && abated.len() == expected, "{sort}: the abated first ({} of {expected})", abated.len());
        assert!(abated.windows(2).all(|w| if descending { w[0] >= w[1] } else { w[0] <= w[1] }), "{sort}");
    }
    let all_observations: BTreeSet<String> = data.of_type("Observation").map(key).collect();
    assert_eq!(
        data.ids("Observation?_count=1000").await,
        all_observations,
        "deep keyset paging sees every resource once"
    );
    let patient = key(data.of_type("Patient").nth(3).unwrap());
    let conditions: BTreeSet<String> =
        data.of_type("Condition").filter(|c| c["subject"]["reference"] == patient.as_str()).map(key).collect();
    assert_eq!(data.ids(&format!("{patient}/Condition")).await, conditions);
    let everything = data.ids(&format!("{patient}/$everything?_count=1000")).await;
    assert!(everything.contains(&patient) && conditions.is_subset(&everything));
    let compartment_all = data.ids(&format!("{patient}/*?_count=1000")).await;
    assert!(conditions.is_subset(&compartment_all) && !compartment_all.contains(&patient));
    let typed = data.ids(&format!("?_type=Patient,Organization&_id={}", patient.split('/').nth(1).unwrap())).await;
    assert_eq!(typed, BTreeSet::from([patient]));
}
