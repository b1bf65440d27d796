//! `hestia backup --out FILE` and `hestia restore FILE`: a consistent copy of the database taken
//! while the server runs, and putting one back, for either backend. The embedded database backs up
//! as an SQLite file (`store_sqlite::backup`); PostgreSQL as Hestia's own snapshot export
//! (`store_postgres::backup`). Restoring needs the same kind of database the backup came from.

use std::io::Write;
use std::time::Instant;

use store::BackupSummary;

use crate::cli::{BackupArgs, RestoreArgs, StoreArgs};

/// The PostgreSQL URL, if the store is PostgreSQL.
fn postgres(store: &StoreArgs) -> Option<&str> {
    store.database.as_deref().filter(|u| !u.is_empty())
}

pub(crate) async fn backup(args: BackupArgs) -> Result<(), String> {
    let started = Instant::now();
    let summary = match postgres(&args.store) {
        Some(url) => store_postgres::backup(url, &args.out).await,
        None => {
            let database = args.store.data.join("hestia.db");
            if !database.is_file() {
                return Err(format!("no database at {}", database.display()));
            }
            store_sqlite::backup(database, args.out.clone()).await
        }
    }
    .map_err(|e| e.to_string())?;
    report("backed up", &summary, started, &args.out.display().to_string());
    Ok(())
}

pub(crate) async fn restore(args: RestoreArgs) -> Result<(), String> {
    let started = Instant::now();
    if let Some(url) = postgres(&args.store) {
        let summary = store_postgres::restore(url, &args.file, args.force).await.map_err(|e| e.to_string())?;
        report("restored", &summary, started, "the PostgreSQL database");
        return Ok(());
    }
    std::fs::create_dir_all(&args.store.data)
        .map_err(|e| format!("cannot create data directory {}: {e}", args.store.data.display()))?;
    let database = args.store.data.join("hestia.db");
    let summary =
        store_sqlite::restore(args.file.clone(), database.clone(), args.force).await.map_err(|e| e.to_string())?;
    report("restored", &summary, started, &database.display().to_string());
    Ok(())
}

fn report(what: &str, summary: &BackupSummary, started: Instant, place: &str) {
    let seconds = started.elapsed().as_secs_f64();
    let _ = writeln!(
        std::io::stdout().lock(),
        "{what} {} resources ({} versions, {} bytes) in {seconds:.2} s: {place}",
        summary.resources,
        summary.versions,
        summary.bytes
    );
}
