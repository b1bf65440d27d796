//! `hestia bench read|search|mixed`: discovers ids, then runs concurrent workers until the
//! duration is up, recording every request's latency and failure per operation kind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::discover::{Corpus, discover};
use super::report::{self, Recorder};
use super::{DriveArgs, Rng, Target, fresh_uuid};

#[derive(Clone, Copy)]
pub(crate) enum Mode {
    Read,
    Search,
    Mixed,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Read => "read",
            Mode::Search => "search",
            Mode::Mixed => "mixed",
        }
    }
}

/// Placeholder in a search for a random discovered Patient id.
const PATIENT: &str = "{patient}";

/// The searches a mixed run picks from (by label).
const MIXED_SEARCHES: [&str; 5] = ["token:", "reference:", "identifier:", "string prefix:", "_include:"];

/// The fixed searches: a label for the report and the path relative to the base, in which
/// `{patient}` is replaced per request. Each exercises one kind of search the way clinical
/// systems use it; the selective ones are what the latency targets are about.
fn searches(corpus: &Corpus) -> Vec<(String, String)> {
    // The code (heart rate); Synthea's sample has none, so the same searches also run
    // with body height, which every Synthea patient has (28,560 of a million resources).
    let heart_rate = "http://loinc.org%7C8867-4";
    let height = "http://loinc.org%7C8302-2";
    let mut searches = vec![
        ("token".to_owned(), format!("Observation?code={heart_rate}")),
        ("frequent token".to_owned(), format!("Observation?code={height}")),
        ("reference".to_owned(), format!("Observation?subject=Patient/{PATIENT}")),
        // A week the sample's observations fill (1,764 matches at a million resources).
        ("date range".to_owned(), "Observation?date=ge2020-03-01&date=lt2020-03-08&_count=50".to_owned()),
        ("lastUpdated".to_owned(), "Patient?_lastUpdated=gt2000-01-01&_count=50".to_owned()),
        ("first page".to_owned(), "Observation?_count=50".to_owned()),
        ("_has".to_owned(), format!("Patient?_has:Observation:subject:code={heart_rate}&_count=50")),
        ("frequent _has".to_owned(), format!("Patient?_has:Observation:subject:code={height}&_count=50")),
        (
            "_include".to_owned(),
            format!("Observation?subject=Patient/{PATIENT}&_include=Observation:encounter&_count=50"),
        ),
        ("_sort=-date".to_owned(), format!("Observation?code={heart_rate}&_sort=-date&_count=50")),
        ("frequent _sort=-date".to_owned(), format!("Observation?code={height}&_sort=-date&_count=50")),
    ];
    if let Some(identifier) = &corpus.identifier {
        searches.push(("identifier".to_owned(), format!("Patient?identifier={identifier}")));
        searches.push(("chain".to_owned(), format!("Observation?subject:Patient.identifier={identifier}&_count=50")));
    }
    if let Some(ssn) = &corpus.shared_identifier {
        // Every copy of the patient has this number: 84 patients, ~12,600 observations at a
        // million resources, of which the page keeps 50.
        searches.push(("frequent chain".to_owned(), format!("Observation?subject:Patient.identifier={ssn}&_count=50")));
    }
    if let Some(prefix) = &corpus.family_prefix {
        searches.push(("string prefix".to_owned(), format!("Patient?name={prefix}")));
    }
    if let Some(page) = &corpus.deep_page {
        searches.push((format!("page {}", super::discover::DEEP_PAGE), page.clone()));
    }
    if corpus.patients.is_empty() {
        searches.retain(|(_, path)| !path.contains(PATIENT));
    }
    // Labels say what was asked; discovered values differ per server, so they stay symbolic.
    let readable = |path: &str| {
        let path = path.replace("%7C", "|");
        let decoded = |identifier: &Option<String>| identifier.as_ref().map(|i| i.replace("%7C", "|"));
        match (decoded(&corpus.identifier), decoded(&corpus.shared_identifier), &corpus.family_prefix) {
            (Some(identifier), _, _) if path.contains(&identifier) => path.replace(&identifier, "{identifier}"),
            (_, Some(ssn), _) if path.contains(&ssn) => path.replace(&ssn, "{ssn}"),
            (_, _, Some(prefix)) if path.ends_with(&format!("name={prefix}")) => path.replace(prefix.as_str(), "{abc}"),
            _ => path,
        }
    };
    searches
        .into_iter()
        .map(|(kind, path)| {
            let label = if kind.starts_with("page ") {
                format!("{kind} of Observation?_count=50")
            } else {
                format!("{kind}: {}", readable(&path))
            };
            (label, path)
        })
        .collect()
}

struct Context {
    client: reqwest::Client,
    target: Target,
    base: String,
    corpus: Corpus,
    /// Labelled search paths relative to the base; `{patient}` is filled in per request.
    searches: Vec<(String, String)>,
    mode: Mode,
    deadline: Instant,
}

/// What came back: a status, `Location` and `ETag`, and the body.
struct Reply {
    status: reqwest::StatusCode,
    location: Option<String>,
    etag: Option<String>,
    body: String,
}

pub(crate) async fn run(mode: Mode, args: DriveArgs) -> Result<(), String> {
    let client = super::client(Duration::from_secs(60))?;
    let corpus = discover(&client, &args.target).await?;
    if corpus.patients.is_empty() && !matches!(mode, Mode::Mixed) {
        return Err(format!("no Patients found at {}; run `hestia bench load` first", args.target.base()));
    }
    let mut searches = searches(&corpus);
    if matches!(mode, Mode::Mixed) {
        // The CRUD mix reads like a clinical application: by patient, code and identifier.
        // Range scans, reverse chains and deep pages are measured by `bench search` alone.
        searches.retain(|(label, _)| MIXED_SEARCHES.iter().any(|kind| label.starts_with(kind)));
    }
    if !args.only.is_empty() {
        let kind = |label: &str| label.split(':').next().unwrap_or_default().trim().to_owned();
        searches.retain(|(label, _)| args.only.iter().any(|only| kind(label) == only.trim()));
        if searches.is_empty() {
            return Err(format!("--only {} names no search kind", args.only.join(",")));
        }
    }
    let concurrency = args.target.concurrency.max(1);
    let started = Instant::now();
    let context = Arc::new(Context {
        client,
        base: args.target.base(),
        target: args.target,
        corpus,
        searches,
        mode,
        deadline: started + Duration::from_secs(args.duration),
    });
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        workers.spawn(worker(Arc::clone(&context)));
    }
    let mut recorder = Recorder::default();
    while let Some(result) = workers.join_next().await {
        match result {
            Ok(done) => recorder.merge(done),
            Err(error) => tracing::error!(%error, "a bench worker failed"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let text = if context.target.json {
        report::drive_json(mode.name(), &context.base, concurrency, seconds, &recorder).to_string()
    } else {
        report::drive_table(mode.name(), &context.base, concurrency, seconds, &recorder)
    };
    report::emit(&text)
}

async fn worker(context: Arc<Context>) -> Recorder {
    let mut recorder = Recorder::default();
    let mut rng = Rng::new();
    // Patients this worker created in a mixed run, with their current ETag.
    let mut created: Vec<(String, Option<String>)> = Vec::new();
    while Instant::now() < context.deadline {
        match context.mode {
            Mode::Read => read(&context, &mut rng, &mut recorder, "read ").await,
            Mode::Search => search(&context, &mut rng, &mut recorder, None).await,
            Mode::Mixed => mixed(&context, &mut rng, &mut recorder, &mut created).await,
        }
    }
    recorder
}

async fn mixed(context: &Context, rng: &mut Rng, recorder: &mut Recorder, created: &mut Vec<(String, Option<String>)>) {
    let roll = rng.below(100);
    if roll < 50 && !context.corpus.patients.is_empty() {
        read(context, rng, recorder, "").await;
    } else if roll < 70 {
        search(context, rng, recorder, Some("search")).await;
    } else if (85..95).contains(&roll) && !created.is_empty() {
        let index = rng.below(created.len());
        if let Some(entry) = created.get_mut(index) {
            update(context, recorder, entry).await;
        }
    } else if roll >= 95 && !created.is_empty() {
        let index = rng.below(created.len());
        let (id, _) = created.swap_remove(index);
        let request = context.client.delete(format!("{}/Patient/{id}", context.base));
        timed(context, recorder, "delete", request).await;
    } else if let Some(reply) = create(context, recorder).await {
        let id = reply.location.as_deref().and_then(id_from_location).or_else(|| {
            let body: Value = serde_json::from_str(&reply.body).ok()?;
            body.get("id").and_then(Value::as_str).map(str::to_owned)
        });
        if let Some(id) = id {
            created.push((id, reply.etag));
        }
    }
}

/// GET a random Patient or Observation; the kind is `{prefix}Patient` or `{prefix}Observation`
/// (`read` alone when the prefix is empty).
async fn read(context: &Context, rng: &mut Rng, recorder: &mut Recorder, prefix: &str) {
    let corpus = &context.corpus;
    let (kind, ids) = if corpus.observations.is_empty() || rng.below(2) == 0 {
        ("Patient", &corpus.patients)
    } else {
        ("Observation", &corpus.observations)
    };
    let Some(id) = rng.pick(ids) else { return };
    let label = if prefix.is_empty() { "read".to_owned() } else { format!("{prefix}{kind}") };
    let request = context.client.get(format!("{}/{kind}/{id}", context.base));
    timed(context, recorder, &label, request).await;
}

/// One of the fixed searches; recorded under `kind`, or under the search itself when `None`.
async fn search(context: &Context, rng: &mut Rng, recorder: &mut Recorder, kind: Option<&str>) {
    let Some((name, template)) = rng.pick(&context.searches) else { return };
    let path = match rng.pick(&context.corpus.patients) {
        Some(patient) => template.replace(PATIENT, patient),
        None => template.clone(),
    };
    let label = match kind {
        Some(kind) => kind.to_owned(),
        None => format!("search {name}"),
    };
    let url = if path.starts_with("http://") || path.starts_with("https://") {
        path
    } else {
        format!("{}/{path}", context.base)
    };
    let request = context.client.get(url);
    timed(context, recorder, &label, request).await;
}

fn bench_patient(id: Option<&str>, family: &str) -> Value {
    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:hestia:bench", "value": fresh_uuid().to_string()}],
        "name": [{"family": family, "given": ["Bench"]}],
        "gender": "other",
        "birthDate": "1980-01-01"
    });
    if let (Some(id), Value::Object(object)) = (id, &mut patient) {
        object.insert("id".to_owned(), Value::from(id));
    }
    patient
}

async fn create(context: &Context, recorder: &mut Recorder) -> Option<Reply> {
    let request = context
        .client
        .post(format!("{}/Patient", context.base))
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=minimal")
        .body(bench_patient(None, "Created").to_string());
    timed(context, recorder, "create", request).await
}

async fn update(context: &Context, recorder: &mut Recorder, entry: &mut (String, Option<String>)) {
    let (id, etag) = entry;
    let mut request = context
        .client
        .put(format!("{}/Patient/{id}", context.base))
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=minimal")
        .body(bench_patient(Some(id), "Updated").to_string());
    if let Some(etag) = etag.as_deref() {
        request = request.header("if-match", etag);
    }
    if let Some(reply) = timed(context, recorder, "update", request).await {
        *etag = reply.etag;
    }
}

/// Sends a request, reads the whole body, records latency and failure; the reply if it was 2xx.
async fn timed(
    context: &Context,
    recorder: &mut Recorder,
    kind: &str,
    request: reqwest::RequestBuilder,
) -> Option<Reply> {
    let request = context.target.auth(request.header("accept", "application/fhir+json"));
    let started = Instant::now();
    let reply = match request.send().await {
        Ok(response) => {
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (status, location, etag) = (response.status(), header("location"), header("etag"));
            match response.text().await {
                Ok(body) => Ok(Reply { status, location, etag, body }),
                Err(_) => Err("transport".to_owned()),
            }
        }
        Err(_) => Err("transport".to_owned()),
    };
    let latency = started.elapsed();
    match reply {
        Ok(reply) if reply.status.is_success() => {
            recorder.record(kind, latency, None);
            Some(reply)
        }
        Ok(reply) => {
            recorder.record(kind, latency, Some(reply.status.as_u16().to_string()));
            None
        }
        Err(failure) => {
            recorder.record(kind, latency, Some(failure));
            None
        }
    }
}

/// `…/Patient/{id}/_history/{v}` or `…/Patient/{id}` → `id`.
fn id_from_location(location: &str) -> Option<String> {
    let (_, rest) = location.rsplit_once("Patient/")?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_owned())
}
