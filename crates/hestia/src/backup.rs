//! `hestia backup --out FILE` and `hestia restore FILE`: a consistent copy of the embedded
//! database taken while the server runs, and putting one back.
//!
//! PostgreSQL deployments back up with the database's own tools (`pg_dump`, base backups with
//! WAL archiving); these commands say so instead of pretending.

use std::io::Write;
use std::time::Instant;

use crate::cli::{BackupArgs, RestoreArgs, StoreArgs};

fn refuse_postgres(store: &StoreArgs, command: &str) -> Result<(), String> {
    if store.database.as_deref().is_some_and(|u| !u.is_empty()) {
        return Err(format!(
            "hestia {command} covers the embedded SQLite database; for PostgreSQL use pg_dump/pg_restore \
             or a base backup with WAL archiving"
        ));
    }
    Ok(())
}

pub(crate) async fn backup(args: BackupArgs) -> Result<(), String> {
    refuse_postgres(&args.store, "backup")?;
    let database = args.store.data.join("hestia.db");
    if !database.is_file() {
        return Err(format!("no database at {}", database.display()));
    }
    let started = Instant::now();
    let summary = store_sqlite::backup(database, args.out.clone()).await.map_err(|e| e.to_string())?;
    report("backed up", &summary, started, &args.out.display().to_string());
    Ok(())
}

pub(crate) async fn restore(args: RestoreArgs) -> Result<(), String> {
    refuse_postgres(&args.store, "restore")?;
    std::fs::create_dir_all(&args.store.data)
        .map_err(|e| format!("cannot create data directory {}: {e}", args.store.data.display()))?;
    let database = args.store.data.join("hestia.db");
    let started = Instant::now();
    let summary =
        store_sqlite::restore(args.file.clone(), database.clone(), args.force).await.map_err(|e| e.to_string())?;
    report("restored", &summary, started, &database.display().to_string());
    Ok(())
}

fn report(what: &str, summary: &store_sqlite::BackupSummary, started: Instant, place: &str) {
    let seconds = started.elapsed().as_secs_f64();
    let _ = writeln!(
        std::io::stdout().lock(),
        "{what} {} resources ({} versions, {} bytes) in {seconds:.2} s: {place}",
        summary.resources,
        summary.versions,
        summary.bytes
    );
}
