//! Latency and error bookkeeping per operation kind, percentiles from sorted durations, and the
//! two outputs: a human table and one JSON object.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::{Map, Value, json};

/// What one kind of operation did.
#[derive(Default)]
pub(crate) struct KindStats {
    pub(crate) latencies: Vec<Duration>,
    /// Failures by status code, or `transport` when no response came.
    pub(crate) errors: BTreeMap<String, u64>,
}

impl KindStats {
    fn merge(&mut self, other: KindStats) {
        self.latencies.extend(other.latencies);
        for (status, count) in other.errors {
            *self.errors.entry(status).or_default() += count;
        }
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Per-kind statistics, merged from every worker.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) kinds: BTreeMap<String, KindStats>,
}

impl Recorder {
    /// Records one request: its latency and, if it failed, why (`None` means success).
    pub(crate) fn record(&mut self, kind: &str, latency: Duration, failure: Option<String>) {
        let stats = match self.kinds.get_mut(kind) {
            Some(stats) => stats,
            None => self.kinds.entry(kind.to_owned()).or_default(),
        };
        stats.latencies.push(latency);
        if let Some(status) = failure {
            *stats.errors.entry(status).or_default() += 1;
        }
    }

    pub(crate) fn merge(&mut self, other: Recorder) {
        for (kind, stats) in other.kinds {
            self.kinds.entry(kind).or_default().merge(stats);
        }
    }

    pub(crate) fn total(&self) -> KindStats {
        let mut total = KindStats::default();
        for stats in self.kinds.values() {
            total.latencies.extend(stats.latencies.iter().copied());
            for (status, count) in &stats.errors {
                *total.errors.entry(status.clone()).or_default() += count;
            }
        }
        total
    }
}

/// p50/p90/p99/max in milliseconds of a set of latencies.
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Percentiles {
    pub(crate) fn of(latencies: &[Duration]) -> Percentiles {
        let mut sorted = latencies.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least q of the samples at or below it.
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a rank within the length")]
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted.get(rank - 1).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        Percentiles { p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({"p50_ms": round(self.p50), "p90_ms": round(self.p90), "p99_ms": round(self.p99), "max_ms": round(self.max)})
    }
}

pub(crate) fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

pub(crate) fn rate(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { count / seconds } else { 0.0 }
}

fn errors_json(errors: &BTreeMap<String, u64>) -> Value {
    Value::Object(errors.iter().map(|(status, count)| (status.clone(), Value::from(*count))).collect())
}

fn errors_text(errors: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = errors.iter().map(|(status, count)| format!("{status}×{count}")).collect();
    parts.join(" ")
}

/// The JSON object of a timed run: totals plus one entry per operation kind.
pub(crate) fn drive_json(command: &str, base: &str, concurrency: usize, seconds: f64, recorder: &Recorder) -> Value {
    let mut operations = Map::new();
    for (kind, stats) in &recorder.kinds {
        operations.insert(kind.clone(), stats_json(stats, seconds));
    }
    let total = recorder.total();
    let mut object = json!({
        "command": command,
        "base": base,
        "concurrency": concurrency,
        "elapsed_s": round(seconds),
    });
    if let (Value::Object(object), Value::Object(total)) = (&mut object, stats_json(&total, seconds)) {
        object.extend(total);
        object.insert("operations".to_owned(), Value::Object(operations));
    }
    object
}

fn stats_json(stats: &KindStats, seconds: f64) -> Value {
    let requests = stats.latencies.len();
    let mut object = json!({
        "requests": requests,
        "errors": stats.error_count(),
        "requests_per_s": round(rate(requests as f64, seconds)),
        "errors_by_status": errors_json(&stats.errors),
    });
    if let (Value::Object(object), Value::Object(latency)) = (&mut object, Percentiles::of(&stats.latencies).to_json())
    {
        object.extend(latency);
    }
    object
}

/// The human table of a timed run.
pub(crate) fn drive_table(command: &str, base: &str, concurrency: usize, seconds: f64, recorder: &Recorder) -> String {
    let mut text = format!("bench {command} against {base}: {concurrency} workers for {seconds:.1} s\n");
    text.push_str(&format!(
        "{:<52} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}  errors by status\n",
        "operation", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
    ));
    let total = recorder.total();
    let rows = recorder.kinds.iter().map(|(kind, stats)| (kind.as_str(), stats)).chain([("total", &total)]);
    for (kind, stats) in rows {
        let p = Percentiles::of(&stats.latencies);
        let requests = stats.latencies.len();
        let row = format!(
            "{:<52} {:>8} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}  {}\n",
            kind,
            requests,
            rate(requests as f64, seconds),
            p.p50,
            p.p90,
            p.p99,
            p.max,
            stats.error_count(),
            errors_text(&stats.errors)
        );
        text.push_str(row.trim_end());
        text.push('\n');
    }
    text
}

/// Writes a report to stdout.
pub(crate) fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end()).map_err(|e| format!("cannot write the report: {e}"))
}
