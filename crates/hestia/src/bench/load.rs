//! `hestia bench load`: posts transaction bundles to `POST {base}`, shared organization and
//! practitioner bundles first (one at a time, since patient bundles refer to them conditionally),
//! then patient bundles from concurrent workers; each copy gets fresh `urn:uuid:` ids.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use super::report::{self, Percentiles, Recorder, round};
use super::synthea::{self, BundleFile};
use super::{LoadArgs, Target, fresh_uuid};

/// What a worker did: per-bundle latencies (as kind `bundle`) and the entries it loaded.
#[derive(Default)]
struct Outcome {
    recorder: Recorder,
    bundles: usize,
    resources: usize,
}

struct Shared {
    client: reqwest::Client,
    target: Target,
    bundles: Vec<BundleFile>,
}

/// Bundle indexes in posting order (one per copy), taken by the workers one at a time.
struct Jobs {
    list: Vec<usize>,
    next: AtomicUsize,
}

pub(crate) async fn run(args: LoadArgs) -> Result<(), String> {
    let bundles = synthea::collect(&args.data)?;
    if bundles.is_empty() {
        return Err(format!("no transaction bundles found in {}", args.data.display()));
    }
    let client = super::client(Duration::from_secs(300))?;
    let copies = args.copies.max(1);
    let shared_jobs: Vec<usize> =
        (0..copies).flat_map(|_| bundles.iter().enumerate().filter(|(_, b)| b.shared).map(|(i, _)| i)).collect();
    let patient_jobs: Vec<usize> =
        (0..copies).flat_map(|_| bundles.iter().enumerate().filter(|(_, b)| !b.shared).map(|(i, _)| i)).collect();
    let concurrency = args.target.concurrency.max(1);
    let started = Instant::now();
    let shared = Arc::new(Shared { client, target: args.target, bundles });
    let mut outcome = post_all(&shared, shared_jobs, 1).await;
    let second = post_all(&shared, patient_jobs, concurrency).await;
    outcome.recorder.merge(second.recorder);
    outcome.bundles += second.bundles;
    outcome.resources += second.resources;
    let seconds = started.elapsed().as_secs_f64();
    let base = shared.target.base();
    report::emit(&render(&outcome, &base, concurrency, copies, seconds, shared.target.json))
}

fn render(outcome: &Outcome, base: &str, concurrency: usize, copies: usize, seconds: f64, as_json: bool) -> String {
    let total = outcome.recorder.total();
    let latency = Percentiles::of(&total.latencies);
    let errors = total.error_count();
    let resources_per_s = report::rate(outcome.resources as f64, seconds);
    let bundles_per_s = report::rate(outcome.bundles as f64, seconds);
    if as_json {
        let mut value = json!({
            "command": "load",
            "base": base,
            "concurrency": concurrency,
            "copies": copies,
            "elapsed_s": round(seconds),
            "bundles": outcome.bundles,
            "resources": outcome.resources,
            "errors": errors,
            "errors_by_status": total.errors,
            "bundles_per_s": round(bundles_per_s),
            "resources_per_s": round(resources_per_s),
        });
        if let (serde_json::Value::Object(object), serde_json::Value::Object(latency)) = (&mut value, latency.to_json())
        {
            object.extend(latency);
        }
        return value.to_string();
    }
    let statuses: Vec<String> = total.errors.iter().map(|(s, n)| format!("{s}×{n}")).collect();
    format!(
        "bench load against {base}: {copies} copies, {concurrency} workers\n\
         loaded {} resources in {} bundles in {seconds:.2} s: {resources_per_s:.0} resources/s, {bundles_per_s:.2} bundles/s\n\
         per-bundle latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}\n\
         errors: {errors} {}",
        outcome.resources,
        outcome.bundles,
        latency.p50,
        latency.p90,
        latency.p99,
        latency.max,
        statuses.join(" ")
    )
}

/// Runs `concurrency` workers over the shared job list until it is exhausted.
async fn post_all(shared: &Arc<Shared>, list: Vec<usize>, concurrency: usize) -> Outcome {
    let jobs = Arc::new(Jobs { list, next: AtomicUsize::new(0) });
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        workers.spawn(worker(Arc::clone(shared), Arc::clone(&jobs)));
    }
    let mut outcome = Outcome::default();
    while let Some(result) = workers.join_next().await {
        match result {
            Ok(done) => {
                outcome.recorder.merge(done.recorder);
                outcome.bundles += done.bundles;
                outcome.resources += done.resources;
            }
            Err(error) => tracing::error!(%error, "a load worker failed"),
        }
    }
    outcome
}

async fn worker(shared: Arc<Shared>, jobs: Arc<Jobs>) -> Outcome {
    let mut outcome = Outcome::default();
    let url = format!("{}/", shared.target.base());
    loop {
        let job = jobs.next.fetch_add(1, Ordering::Relaxed);
        let Some(bundle) = jobs.list.get(job).and_then(|&i| shared.bundles.get(i)) else {
            return outcome;
        };
        let body = synthea::fresh_copy(&bundle.text, &mut || fresh_uuid().to_string());
        let request = shared
            .client
            .post(&url)
            .header("content-type", "application/fhir+json")
            .header("accept", "application/fhir+json")
            .header("prefer", "return=minimal")
            .body(body);
        let started = Instant::now();
        let failure = match shared.target.auth(request).send().await {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if status.is_success() {
                    None
                } else {
                    let excerpt: String = text.chars().take(300).collect();
                    tracing::warn!(bundle = %bundle.name, %status, "bundle failed: {excerpt}");
                    Some(status.as_u16().to_string())
                }
            }
            Err(error) => {
                tracing::warn!(bundle = %bundle.name, %error, "bundle failed");
                Some("transport".to_owned())
            }
        };
        let ok = failure.is_none();
        outcome.recorder.record("bundle", started.elapsed(), failure);
        if ok {
            outcome.bundles += 1;
            outcome.resources += bundle.entries;
        }
    }
}
