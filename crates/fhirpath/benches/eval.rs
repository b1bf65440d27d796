//! Micro-benchmark of expression evaluation over the Synthea sample (a plain `main`, no
//! harness): for each expression, evaluations per second over every resource of its type.
//! Run with `cargo bench -p fhirpath --bench eval`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use fhirpath::{EvalContext, Expression};
use serde_json::Value;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The Synthea patient bundles of the shared sample archive.
fn bundles() -> BenchResult<Vec<Value>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea-r4-sample.tgz");
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.path()?.to_string_lossy().ends_with(".json") {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        out.push(serde_json::from_str(&text)?);
    }
    Ok(out)
}

/// Every resource of `resource_type`, with the Bundle it came from (for `resolve()`).
fn resources<'b>(bundles: &'b [Value], resource_type: &str) -> Vec<(&'b Value, &'b Value)> {
    bundles
        .iter()
        .flat_map(|bundle| {
            bundle
                .get("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(move |entry| entry.get("resource").map(|r| (bundle, r)))
        })
        .filter(|(_, r)| r.get("resourceType").and_then(Value::as_str) == Some(resource_type))
        .collect()
}

/// Evaluates `expression` over all `targets` until at least a second has passed.
fn run(expression: &Expression, targets: &[(&Value, &Value)]) -> BenchResult<(u64, u64, Duration)> {
    let started = Instant::now();
    let mut evaluations = 0u64;
    let mut items = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        for (bundle, resource) in targets {
            let ctx = EvalContext::new().with_root_resource(bundle);
            let result = expression.evaluate(&ctx, resource)?;
            items += u64::try_from(result.len())?;
            evaluations += 1;
        }
    }
    Ok((evaluations, items, started.elapsed()))
}

fn main() -> BenchResult<()> {
    let loading = Instant::now();
    let bundles = bundles()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "loaded {} Synthea bundles in {:?}", bundles.len(), loading.elapsed())?;
    let cases = [
        ("Patient", "Patient.name"),
        ("Observation", "Observation.subject.where(resolve() is Patient)"),
        ("Observation", "(Observation.value as Quantity)"),
        ("Condition", "Condition.onset.as(dateTime) | Condition.onset.as(Period)"),
    ];
    for (resource_type, text) in cases {
        let expression = fhirpath::parse(text)?;
        let targets = resources(&bundles, resource_type);
        let (evaluations, items, elapsed) = run(&expression, &targets)?;
        let per_second = evaluations as f64 / elapsed.as_secs_f64();
        writeln!(
            out,
            "{text}\n    {} {resource_type} resources, {evaluations} evaluations in {elapsed:.2?}: \
             {per_second:.0} evaluations/s ({:.2} µs each), {:.2} items/evaluation",
            targets.len(),
            elapsed.as_secs_f64() * 1e6 / evaluations.max(1) as f64,
            items as f64 / evaluations.max(1) as f64,
        )?;
    }
    Ok(())
}
