//! Before a timed run: finds Patient and Observation ids and one Patient identifier on the
//! server, with plain searches any FHIR server answers (`_elements` is optional).

use serde_json::Value;

use super::Target;

/// What the workers pick from.
pub(crate) struct Corpus {
    pub(crate) patients: Vec<String>,
    pub(crate) observations: Vec<String>,
    /// `system|value` of a Patient identifier, percent-encoded for a query.
    pub(crate) identifier: Option<String>,
    /// `system|value` of a Patient's social security number, which the copies of a Synthea
    /// patient share (`synthea::fresh_copy` renews only uuids), for a chain that finds many.
    pub(crate) shared_identifier: Option<String>,
    /// The first three letters of a Patient's family name, for a string prefix search.
    pub(crate) family_prefix: Option<String>,
    /// The link to page 100 of `Observation?_count=50`, relative to the base when it can be.
    pub(crate) deep_page: Option<String>,
}

/// Which page the deep-paging search asks for.
pub(crate) const DEEP_PAGE: usize = 100;

pub(crate) async fn discover(client: &reqwest::Client, target: &Target) -> Result<Corpus, String> {
    let base = target.base();
    let patients = get_bundle(client, target, &format!("{base}/Patient?_count=200")).await?;
    let observations = match get_bundle(client, target, &format!("{base}/Observation?_count=200&_elements=id")).await {
        Ok(bundle) => bundle,
        Err(_) => get_bundle(client, target, &format!("{base}/Observation?_count=200")).await?,
    };
    let identifier = patient_identifier(&patients, |_| true);
    let shared_identifier = patient_identifier(&patients, |system| system == SSN);
    let family_prefix = resources(&patients, "Patient").find_map(|patient| {
        let family = patient.get("name")?.as_array()?.first()?.get("family")?.as_str()?;
        let prefix: String = family.chars().take(3).collect();
        (prefix.chars().count() == 3).then(|| encode(&prefix))
    });
    let deep_page = deep_page(client, target).await;
    Ok(Corpus {
        patients: ids(&patients, "Patient"),
        observations: ids(&observations, "Observation"),
        identifier,
        shared_identifier,
        family_prefix,
        deep_page,
    })
}

const SSN: &str = "http://hl7.org/fhir/sid/us-ssn";

/// The first Patient identifier whose system passes `wanted`, as `system%7Cvalue`.
fn patient_identifier(patients: &Value, wanted: impl Fn(&str) -> bool) -> Option<String> {
    resources(patients, "Patient").find_map(|patient| {
        patient.get("identifier")?.as_array()?.iter().find_map(|identifier| {
            let system = identifier.get("system")?.as_str()?;
            let value = identifier.get("value")?.as_str()?;
            wanted(system).then(|| format!("{}%7C{}", encode(system), encode(value)))
        })
    })
}

/// Follows `next` links from `Observation?_count=50` to page `DEEP_PAGE`; `None` when there
/// are fewer pages.
async fn deep_page(client: &reqwest::Client, target: &Target) -> Option<String> {
    let base = target.base();
    let mut url = format!("{base}/Observation?_count=50");
    for _ in 1..DEEP_PAGE {
        let bundle = get_bundle(client, target, &url).await.ok()?;
        url = bundle.get("link")?.as_array()?.iter().find_map(|link| {
            (link.get("relation")?.as_str()? == "next").then(|| link.get("url")?.as_str().map(str::to_owned))?
        })?;
    }
    Some(url.strip_prefix(&format!("{base}/")).map_or(url.clone(), str::to_owned))
}

async fn get_bundle(client: &reqwest::Client, target: &Target, url: &str) -> Result<Value, String> {
    let request = target.auth(client.get(url).header("accept", "application/fhir+json"));
    let response = request.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: {status}"));
    }
    response.json::<Value>().await.map_err(|e| format!("GET {url}: {e}"))
}

fn resources<'a>(bundle: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("resource"))
        .filter(move |resource| resource.get("resourceType").and_then(Value::as_str) == Some(kind))
}

fn ids(bundle: &Value, kind: &str) -> Vec<String> {
    resources(bundle, kind).filter_map(|r| r.get("id").and_then(Value::as_str)).map(str::to_owned).collect()
}

/// Percent-encodes a query parameter value (unreserved characters, `:` and `/` stay).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
