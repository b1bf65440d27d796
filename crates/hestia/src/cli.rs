//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hestia", version, about = "Hestia: a FHIR R4 server and health-data platform")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the FHIR server.
    Serve(ServeArgs),
    /// Load FHIR bundles, resources or NDJSON files (also inside .tgz archives) into the store.
    Import(ImportArgs),
    /// Evaluate a FHIRPath expression against a FHIR JSON resource (FILE, or stdin) and print
    /// the result collection as one line of JSON.
    Fhirpath(FhirpathArgs),
    /// Benchmark any FHIR server by its base URL: load Synthea bundles, or time reads, searches
    /// and a CRUD mix.
    Bench(crate::bench::BenchArgs),
}

/// Where the data lives; shared by every command that opens the store.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// Data directory (the embedded SQLite database lives here).
    #[arg(long, env = "HESTIA_DATA", default_value = "./hestia-data")]
    pub(crate) data: PathBuf,
    /// Database URL; empty means embedded SQLite in the data directory.
    #[arg(long, env = "HESTIA_DATABASE_URL")]
    pub(crate) database: Option<String>,
    /// `full` fsyncs every commit (default); `normal` survives a crash of Hestia but not of the machine.
    #[arg(long, env = "HESTIA_DURABILITY", default_value = "full")]
    pub(crate) durability: String,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, env = "HESTIA_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Public base URL of the FHIR endpoint (default: derived from the Host header).
    #[arg(long, env = "HESTIA_BASE_URL")]
    pub(crate) base_url: Option<String>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "HESTIA_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub(crate) max_body_bytes: usize,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Files or directories: .json (Bundle or resource), .ndjson, .tgz/.tar.gz archives of those.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Args)]
pub(crate) struct FhirpathArgs {
    /// The FHIRPath expression.
    pub(crate) expression: String,
    /// A FHIR JSON resource; stdin when absent (empty stdin evaluates with no input).
    pub(crate) file: Option<PathBuf>,
}
