//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
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
    /// Write a consistent copy of the database (embedded, or --database) to FILE while the
    /// server may run.
    Backup(BackupArgs),
    /// Replace the database (embedded, or --database) with a backup made by `hestia backup`
    /// from the same kind of database.
    Restore(RestoreArgs),
}

#[derive(Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Where to write the backup (must not exist).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// A file written by `hestia backup`.
    pub(crate) file: PathBuf,
    /// Replace a database that already holds resources.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Where the data lives; shared by every command that opens the store.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// Data directory (the embedded SQLite database lives here).
    #[arg(long, env = "HESTIA_DATA", default_value = "./hestia-data")]
    pub(crate) data: PathBuf,
    /// Database URL; empty means embedded SQLite in the data directory. PostgreSQL URLs take
    /// libpq's TLS options: `sslmode` (disable, prefer (default), require, verify-ca,
    /// verify-full) and `sslrootcert` (a PEM file of trusted roots; the system's by default).
    #[arg(long, env = "HESTIA_DATABASE_URL")]
    pub(crate) database: Option<String>,
    /// `full` fsyncs every commit (default); `normal` survives a crash of Hestia but not of the machine.
    #[arg(long, env = "HESTIA_DURABILITY", default_value = "full")]
    pub(crate) durability: String,
    /// PostgreSQL: connections per pool (the primary's, and the read replica's if any).
    #[arg(long, env = "HESTIA_DATABASE_POOL_SIZE", default_value_t = store_postgres::DEFAULT_POOL_SIZE,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub(crate) database_pool_size: usize,
    /// PostgreSQL: longest a statement may run (`30`, `30s`, `500ms`, `2m`; `0` for no limit).
    #[arg(long, env = "HESTIA_DATABASE_STATEMENT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub(crate) database_statement_timeout: Duration,
    /// PostgreSQL: a streaming replica of --database for searches and type/system history
    /// (reads by id and everything in a transaction stay on the primary).
    #[arg(long, env = "HESTIA_DATABASE_READ_REPLICA")]
    pub(crate) database_read_replica: Option<String>,
}

/// A duration: a number of seconds, or a number with `ms`, `s` or `m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at_checked(split).ok_or_else(|| format!("not a duration: '{text}'"))?;
    let number: u64 = number.parse().map_err(|_| format!("not a duration: '{text}' (try 30s or 500ms)"))?;
    match unit.trim() {
        "" | "s" => Ok(Duration::from_secs(number)),
        "ms" => Ok(Duration::from_millis(number)),
        "m" | "min" => Ok(Duration::from_secs(number.saturating_mul(60))),
        other => Err(format!("unknown unit '{other}' in '{text}' (use ms, s or m)")),
    }
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, env = "HESTIA_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Public base URL of the FHIR endpoint. Links use it (default: derived from the Host
    /// header), and absolute references under it are this server's resources (without it, every
    /// absolute reference names a resource elsewhere and is searched by its URL alone).
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
    /// The server's public base URL, as given to `serve`: absolute references under it are
    /// indexed as this server's resources.
    #[arg(long, env = "HESTIA_BASE_URL")]
    pub(crate) base_url: Option<String>,
}

#[derive(Args)]
pub(crate) struct FhirpathArgs {
    /// The FHIRPath expression.
    pub(crate) expression: String,
    /// A FHIR JSON resource; stdin when absent (empty stdin evaluates with no input).
    pub(crate) file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("").is_err());
    }
}
