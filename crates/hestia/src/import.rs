//! `hestia import PATH...`: loads bundles, resources and NDJSON from files, directories and
//! `.tgz` archives, with a progress bar and a throughput summary.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use fhir_rest::{AppState, RestConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use store::RequestContext;

use crate::cli::ImportArgs;
use crate::runtime::{SystemClock, TimeOrderedIds, open_store};

/// One document to load: its name (for messages) and its text.
pub(crate) struct Document {
    pub(crate) name: String,
    pub(crate) text: String,
}

pub(crate) async fn run(args: ImportArgs) -> Result<(), String> {
    let store = open_store(&args.store).await?;
    let mut config = RestConfig::new();
    config.base_url = args.base_url.clone();
    let state = AppState::new(store, Arc::new(SystemClock), Arc::new(TimeOrderedIds), config);
    let documents = collect(&args.paths)?;
    let progress = ProgressBar::new(documents.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut resources = 0usize;
    let mut failures = Vec::new();
    // Bundles others may refer to load first, alone; the rest load a few at a time, so one
    // bundle is validated and indexed while another is being written.
    let (first, rest): (Vec<Document>, Vec<Document>) = documents.into_iter().partition(loads_first);
    let mut tasks = tokio::task::JoinSet::new();
    for (wave, concurrency) in [(first, 1), (rest, CONCURRENT_DOCUMENTS)] {
        for document in wave {
            while tasks.len() >= concurrency {
                finish_one(&mut tasks, &progress, &mut resources, &mut failures).await;
            }
            let state = state.clone();
            tasks.spawn(async move {
                let loaded = load_document(&state, &document).await;
                (document.name, loaded)
            });
        }
        while !tasks.is_empty() {
            finish_one(&mut tasks, &progress, &mut resources, &mut failures).await;
        }
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 { resources as f64 / seconds } else { 0.0 };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "imported {resources} resources in {seconds:.2} s ({rate:.0} resources/s), {} failed files",
        failures.len()
    );
    for failure in &failures {
        let _ = writeln!(out, "  failed: {failure}");
    }
    if failures.is_empty() { Ok(()) } else { Err(format!("{} files failed to import", failures.len())) }
}

/// How many documents load at once after the shared ones.
const CONCURRENT_DOCUMENTS: usize = 3;

type Loaded = (String, Result<usize, String>);

async fn finish_one(
    tasks: &mut tokio::task::JoinSet<Loaded>,
    progress: &ProgressBar,
    resources: &mut usize,
    failures: &mut Vec<String>,
) {
    match tasks.join_next().await {
        Some(Ok((_, Ok(n)))) => *resources += n,
        Some(Ok((name, Err(message)))) => failures.push(format!("{name}: {message}")),
        Some(Err(error)) => failures.push(format!("an import task failed: {error}")),
        None => return,
    }
    progress.inc(1);
    progress.set_message(format!("{resources} resources"));
}

/// Organization and practitioner bundles: patient bundles may refer to them conditionally.
fn loads_first(document: &Document) -> bool {
    document.name.contains("hospitalInformation") || document.name.contains("practitionerInformation")
}

async fn load_document(state: &AppState, document: &Document) -> Result<usize, String> {
    let ctx = RequestContext::system("import", state.clock.now());
    if document.name.ends_with(".ndjson") {
        let mut written = 0;
        for (line_number, line) in document.text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", line_number + 1))?;
            written += fhir_rest::import::load(state, &ctx, value).await.map_err(|e| describe(&e))?;
        }
        return Ok(written);
    }
    let value: Value = serde_json::from_str(&document.text).map_err(|e| e.to_string())?;
    fhir_rest::import::load(state, &ctx, value).await.map_err(|e| describe(&e))
}

fn describe(error: &fhir_rest::ApiError) -> String {
    serde_json::to_string(&error.outcome_json()).unwrap_or_default()
}

/// Expands directories and archives into documents. Organization and practitioner bundles load
/// first, because patient bundles may refer to them conditionally.
fn collect(paths: &[PathBuf]) -> Result<Vec<Document>, String> {
    let mut documents = Vec::new();
    for path in paths {
        collect_path(path, &mut documents)?;
    }
    documents.sort_by_key(|d| (!loads_first(d), d.name.clone()));
    Ok(documents)
}

/// Expands one path (a file, a directory, a `.tgz`) into its `.json`/`.ndjson` documents.
pub(crate) fn collect_path(path: &Path, out: &mut Vec<Document>) -> Result<(), String> {
    let name = path.display().to_string();
    if path.is_dir() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{name}: {e}"))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        children.sort();
        for child in children {
            collect_path(&child, out)?;
        }
        return Ok(());
    }
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in archive.entries().map_err(|e| format!("{name}: {e}"))? {
            let mut entry = entry.map_err(|e| format!("{name}: {e}"))?;
            let inner = entry.path().map_err(|e| e.to_string())?.display().to_string();
            if inner.ends_with(".json") || inner.ends_with(".ndjson") {
                let mut text = String::new();
                entry.read_to_string(&mut text).map_err(|e| format!("{name}/{inner}: {e}"))?;
                out.push(Document { name: format!("{name}/{inner}"), text });
            }
        }
        return Ok(());
    }
    if name.ends_with(".json") || name.ends_with(".ndjson") {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        out.push(Document { name, text });
    }
    Ok(())
}
