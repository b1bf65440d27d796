//! hestia: the one binary. Parses the command line, wires the configured store into the REST
//! layer, and runs a command.
//!
//! Owns: CLI, configuration, the real clock and id generator, process start-up and shutdown.
//! Must not know: business rules (they live in the library crates).

mod backup;
mod bench;
mod cli;
mod fhirpath_cmd;
mod import;
mod runtime;
mod serve;

use std::process::ExitCode;

use clap::Parser;

/// The server allocates and frees many small objects per request (JSON trees, index rows,
/// FHIRPath collections) from many threads; mimalloc does that in a fraction of glibc's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // A pure computation: no runtime, no logging set-up; errors go to stderr as they are.
    if let cli::Command::Fhirpath(args) = &cli.command {
        return fhirpath_cmd::run(args);
    }
    runtime::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Import(args) => import::run(args).await,
            cli::Command::Bench(args) => bench::run(args).await,
            cli::Command::Backup(args) => backup::backup(args).await,
            cli::Command::Restore(args) => backup::restore(args).await,
            cli::Command::Fhirpath(_) => Ok(()), // handled above, before the runtime starts
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
