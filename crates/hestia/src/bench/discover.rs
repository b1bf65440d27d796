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
}

pub(crate) async fn discover(client: &reqwest::Client, target: &Target) -> Result<Corpus, String> {
    let base = target.base();
    let patients = get_bundle(client, target, &format!("{base}/Patient?_count=200")).await?;
    let observations = match get_bundle(client, target, &format!("{base}/Observation?_count=200&_elements=id")).await {
        Ok(bundle) => bundle,
        Err(_) => get_bundle(client, target, &format!("{base}/Observation?_count=200")).await?,
    };
    let identifier = resources(&patients, "Patient").find_map(|patient| {
        patient.get("identifier")?.as_array()?.iter().find_map(|identifier| {
            let system = identifier.get("system")?.as_str()?;
            let value = identifier.get("value")?.as_str()?;
            Some(format!("{}%7C{}", encode(system), encode(value)))
        })
    });
    Ok(Corpus { patients: ids(&patients, "Patient"), observations: ids(&observations, "Observation"), identifier })
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
