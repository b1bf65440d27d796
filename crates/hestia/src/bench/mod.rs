//! `hestia bench`: a load generator that drives any FHIR server by its base URL, so Hestia can be
//! measured side by side with other servers. `load` posts Synthea transaction bundles; `read`,
//! `search` and `mixed` run concurrent workers for a fixed duration and report latencies.

mod discover;
mod drive;
mod load;
mod report;
mod synthea;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

#[derive(Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    pub(crate) command: BenchCommand,
}

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// POST the Synthea transaction bundles (a directory of .json bundles or a .tgz) to the base.
    Load(LoadArgs),
    /// GET random Patients and Observations by id.
    Read(DriveArgs),
    /// Run a fixed set of searches.
    Search(DriveArgs),
    /// A CRUD mix: 50% read, 20% search, 15% create, 10% update (If-Match), 5% delete.
    Mixed(DriveArgs),
}

/// The server under test and how hard to drive it.
#[derive(Args, Clone)]
pub(crate) struct Target {
    /// FHIR base URL, e.g. http://127.0.0.1:8080/fhir.
    #[arg(long)]
    pub(crate) base: String,
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// Bearer token sent as `Authorization: Bearer T`.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct LoadArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    /// A directory of .json transaction bundles, or a .tgz archive of them.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Post every bundle N times, each copy with fresh `urn:uuid:` ids.
    #[arg(long, default_value_t = 1)]
    pub(crate) copies: usize,
}

#[derive(Args)]
pub(crate) struct DriveArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    /// Seconds to run the workers for.
    #[arg(long, default_value_t = 10)]
    pub(crate) duration: u64,
    /// `bench search` only: run just these kinds (the labels before `:`, e.g. `token,_has`), so
    /// that slow searches do not queue the fast ones behind them.
    #[arg(long, value_delimiter = ',')]
    pub(crate) only: Vec<String>,
}

pub(crate) async fn run(args: BenchArgs) -> Result<(), String> {
    match args.command {
        BenchCommand::Load(args) => load::run(args).await,
        BenchCommand::Read(args) => drive::run(drive::Mode::Read, args).await,
        BenchCommand::Search(args) => drive::run(drive::Mode::Search, args).await,
        BenchCommand::Mixed(args) => drive::run(drive::Mode::Mixed, args).await,
    }
}

/// The one source of randomness in bench: fresh uuids for copied bundles, created resources and
/// the seeds of the workers' generators.
#[expect(clippy::disallowed_methods, reason = "bench needs fresh random ids; this is its single source")]
pub(crate) fn fresh_uuid() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}

/// A small xorshift generator, seeded from a fresh uuid: enough to pick ids and operations.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new() -> Rng {
        let bits = fresh_uuid().as_u128();
        // Truncation is the point: fold the 128 random bits into a non-zero 64-bit state.
        #[expect(clippy::cast_possible_truncation, reason = "folding 128 random bits into 64")]
        let state = (bits as u64) ^ ((bits >> 64) as u64);
        Rng(state | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 when n is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % (n as u64)).unwrap_or(0)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let index = self.below(items.len());
        items.get(index)
    }
}

/// The shared HTTP client; the base URL without a trailing slash.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder().timeout(timeout).build().map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Target {
    pub(crate) fn base(&self) -> String {
        self.base.trim_end_matches('/').to_owned()
    }

    /// Adds the bearer token, if any.
    pub(crate) fn auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}
