//! Backup and restore of a Hestia PostgreSQL database as one file.
//!
//! A backup is every Hestia table copied out (`COPY … TO STDOUT`, text format) inside one
//! `REPEATABLE READ READ ONLY` transaction: one snapshot, so the tables agree with each other
//! while the nodes keep serving, and nothing is locked but against DDL. Restore copies the tables
//! back in one transaction (PostgreSQL's DDL is transactional too): it recreates the schema at
//! the backup's version, loads every table, checks each table's row count and SHA-256 against
//! the backup, moves the id sequences past the restored rows, migrates to this build's schema,
//! and only then commits. A damaged or truncated file therefore changes nothing.
//!
//! The file is gzip over frames: one byte of kind, four of length (big-endian), the payload.
//! `H` header (JSON: format, schema version, tables), then per table `T` (JSON: name, columns),
//! `D` chunks of COPY text, `E` (JSON: rows, sha256), and finally `Z` (JSON: summary). This is
//! Hestia's own format, streamed both ways in constant memory; `pg_dump` remains the tool for
//! whole-cluster backups with WAL archiving.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{BackupSummary, StoreError};
use tokio_postgres::Client;

use crate::connection::{backend, describe, parse_url};
use crate::schema;

const FORMAT: &str = "hestia-postgres-backup";
const FORMAT_VERSION: u64 = 1;
/// The largest frame a restore accepts: COPY chunks are far smaller; a corrupt length is not.
const MAX_FRAME: u32 = 64 << 20;

/// The tables a Hestia schema consists of (and the only ones a forced restore drops).
const HESTIA_TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
     AND (table_name IN ('resource', 'resource_version', 'schema_migration') OR table_name LIKE 'search\\_%') \
     ORDER BY table_name";

fn failed(what: &str) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (config, tls) = parse_url(url)?;
    let server = describe(&config);
    let (client, connection) = config.connect(crate::tls::connector(&tls)?).await.map_err(|e| {
        StoreError::Unavailable(format!("cannot connect to {server}: {}", crate::connection::with_causes(&e)))
    })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "backup connection ended");
        }
    });
    Ok(client)
}

/// Writes a consistent copy of the Hestia tables of the database at `url` to `out` (which must
/// not exist; the file appears only once complete).
pub async fn backup(url: &str, out: &Path) -> Result<BackupSummary, StoreError> {
    if out.exists() {
        return Err(StoreError::Backend(format!("{} exists; backups never overwrite", out.display())));
    }
    let client = connect(url).await?;
    client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(backend)?;
    let Some(version) = schema::version_of(&client).await? else {
        return Err(StoreError::Backend("the database has no Hestia schema".to_owned()));
    };
    let tables = table_names(&client).await?;
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let file = File::create(&partial).map_err(failed("creating the backup"))?;
    let mut writer = FrameWriter::new(file);
    let header =
        json!({"format": FORMAT, "format_version": FORMAT_VERSION, "schema_version": version, "tables": tables});
    let result = async {
        writer.frame(b'H', header.to_string().as_bytes())?;
        for table in &tables {
            copy_out(&client, &mut writer, table).await?;
        }
        let summary = count(&client).await?;
        client.batch_execute("COMMIT").await.map_err(backend)?;
        writer.frame(b'Z', json!({"resources": summary.0, "versions": summary.1}).to_string().as_bytes())?;
        writer.finish()?;
        Ok::<_, StoreError>(summary)
    }
    .await;
    let (resources, versions) = match result {
        Ok(summary) => summary,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, out).map_err(failed("moving the backup into place"))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary { resources, versions, bytes })
}

async fn table_names(client: &Client) -> Result<Vec<String>, StoreError> {
    let rows = client.query(HESTIA_TABLES, &[]).await.map_err(backend)?;
    rows.iter().map(|row| row.try_get::<_, String>(0).map_err(backend)).collect()
}

async fn columns(client: &Client, table: &str) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .map_err(backend)?;
    rows.iter().map(|row| row.try_get::<_, String>(0).map_err(backend)).collect()
}

/// `(resources, versions)` in the current snapshot.
async fn count(client: &Client) -> Result<(u64, u64), StoreError> {
    let row = client
        .query_one("SELECT (SELECT COUNT(*) FROM resource), (SELECT COUNT(*) FROM resource_version)", &[])
        .await
        .map_err(backend)?;
    let resources: i64 = row.try_get(0).map_err(backend)?;
    let versions: i64 = row.try_get(1).map_err(backend)?;
    Ok((u64::try_from(resources).unwrap_or(0), u64::try_from(versions).unwrap_or(0)))
}

/// A column list for SQL: names come from the catalog (or a checked backup) and are quoted.
fn column_list(columns: &[String]) -> String {
    columns.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(", ")
}

async fn copy_out(client: &Client, writer: &mut FrameWriter, table: &str) -> Result<(), StoreError> {
    let columns = columns(client, table).await?;
    writer.frame(b'T', json!({"table": table, "columns": columns}).to_string().as_bytes())?;
    let sql = format!("COPY \"{table}\" ({}) TO STDOUT", column_list(&columns));
    let stream = client.copy_out(sql.as_str()).await.map_err(backend)?;
    futures::pin_mut!(stream);
    let mut digest = TableDigest::default();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(backend)?;
        digest.update(&chunk);
        writer.frame(b'D', &chunk)?;
    }
    writer.frame(b'E', digest.to_json().to_string().as_bytes())
}

/// Rows (COPY text ends every row with a newline, and escapes newlines inside values) and a
/// SHA-256 of one table's data.
#[derive(Default)]
struct TableDigest {
    rows: u64,
    sha256: Sha256,
}

impl TableDigest {
    fn update(&mut self, chunk: &[u8]) {
        self.rows += u64::try_from(chunk.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u64::MAX);
        self.sha256.update(chunk);
    }

    fn to_json(&self) -> Value {
        let hex: String = self.sha256.clone().finalize().iter().map(|b| format!("{b:02x}")).collect();
        json!({"rows": self.rows, "sha256": hex})
    }
}

struct FrameWriter {
    out: flate2::write::GzEncoder<BufWriter<File>>,
}

impl FrameWriter {
    fn new(file: File) -> FrameWriter {
        FrameWriter { out: flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast()) }
    }

    fn frame(&mut self, kind: u8, payload: &[u8]) -> Result<(), StoreError> {
        let len = u32::try_from(payload.len()).map_err(|_| StoreError::Backend("a frame too large".to_owned()))?;
        let write = failed("writing the backup");
        self.out.write_all(&[kind]).map_err(&write)?;
        self.out.write_all(&len.to_be_bytes()).map_err(&write)?;
        self.out.write_all(payload).map_err(&write)
    }

    /// Completes the gzip stream and makes the file durable.
    fn finish(self) -> Result<(), StoreError> {
        let write = failed("writing the backup");
        let buffered = self.out.finish().map_err(&write)?;
        let file = buffered.into_inner().map_err(|e| write(e.into_error()))?;
        file.sync_all().map_err(write)
    }
}

struct FrameReader {
    input: flate2::read::GzDecoder<BufReader<File>>,
}

impl FrameReader {
    fn open(path: &Path) -> Result<FrameReader, StoreError> {
        let file = File::open(path).map_err(failed("opening the backup"))?;
        Ok(FrameReader { input: flate2::read::GzDecoder::new(BufReader::new(file)) })
    }

    /// The next frame; a file that ends inside a frame (or before `Z`) is damaged.
    fn next(&mut self) -> Result<(u8, Vec<u8>), StoreError> {
        let damaged = |e: std::io::Error| StoreError::Backend(format!("the backup is damaged or truncated: {e}"));
        let mut head = [0_u8; 5];
        self.input.read_exact(&mut head).map_err(damaged)?;
        let [kind, a, b, c, d] = head;
        let len = u32::from_be_bytes([a, b, c, d]);
        if len > MAX_FRAME {
            return Err(StoreError::Backend(format!("the backup is damaged: a frame of {len} bytes")));
        }
        let mut payload = vec![0_u8; usize::try_from(len).unwrap_or(usize::MAX)];
        self.input.read_exact(&mut payload).map_err(damaged)?;
        Ok((kind, payload))
    }

    fn json(&mut self, expected: u8) -> Result<Value, StoreError> {
        let (kind, payload) = self.next()?;
        if kind != expected {
            return Err(unexpected(kind, expected));
        }
        serde_json::from_slice(&payload).map_err(|e| StoreError::Backend(format!("the backup is damaged: {e}")))
    }
}

fn unexpected(kind: u8, expected: u8) -> StoreError {
    StoreError::Backend(format!(
        "the backup is damaged: frame '{}' where '{}' belongs",
        char::from(kind),
        char::from(expected)
    ))
}

/// Replaces the Hestia tables of the database at `url` with the backup `file`. Refuses a database
/// that holds resources unless `force`. All or nothing: one transaction.
pub async fn restore(url: &str, file: &Path, force: bool) -> Result<BackupSummary, StoreError> {
    let mut reader = FrameReader::open(file)?;
    let header = reader.json(b'H')?;
    if header["format"] != FORMAT || header["format_version"].as_u64() != Some(FORMAT_VERSION) {
        return Err(StoreError::Backend(format!("{} is not a Hestia PostgreSQL backup", file.display())));
    }
    let version = header["schema_version"].as_i64().unwrap_or(0);
    if version < 1 || version > schema::current_version() {
        return Err(StoreError::Backend(format!(
            "{} has schema version {version}; this build restores versions 1 to {}",
            file.display(),
            schema::current_version()
        )));
    }
    let client = connect(url).await?;
    client.batch_execute("BEGIN").await.map_err(backend)?;
    let result = restore_in_transaction(&client, &mut reader, version, force).await;
    match result {
        Ok(summary) => {
            client.batch_execute("COMMIT").await.map_err(backend)?;
            // Fresh statistics, or the first searches plan against empty tables.
            client.batch_execute("ANALYZE").await.map_err(backend)?;
            let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            Ok(BackupSummary { resources: summary.0, versions: summary.1, bytes })
        }
        Err(error) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(error)
        }
    }
}

async fn restore_in_transaction(
    client: &Client,
    reader: &mut FrameReader,
    version: i64,
    force: bool,
) -> Result<(u64, u64), StoreError> {
    // The migration lock keeps a starting node from migrating the half-restored schema.
    schema::lock(client).await?;
    let existing = table_names(client).await?;
    if !existing.is_empty() {
        if existing.iter().any(|t| t == "resource") && !force {
            let (resources, _) = count(client).await?;
            if resources > 0 {
                return Err(StoreError::Backend(format!(
                    "the database already holds {resources} resources; restore with --force to replace them"
                )));
            }
        }
        let list: Vec<String> = existing.iter().map(|t| format!("\"{t}\"")).collect();
        client.batch_execute(&format!("DROP TABLE {} CASCADE", list.join(", "))).await.map_err(backend)?;
    }
    schema::apply_up_to(client, version).await?;
    // The migrations recorded themselves; the backup's own record replaces theirs.
    client.batch_execute("TRUNCATE schema_migration").await.map_err(backend)?;
    loop {
        let (kind, payload) = reader.next()?;
        match kind {
            b'T' => copy_in(client, reader, &payload).await?,
            b'Z' => break,
            other => return Err(unexpected(other, b'T')),
        }
    }
    advance_sequences(client).await?;
    schema::apply_up_to(client, schema::current_version()).await?;
    count(client).await
}

async fn copy_in(client: &Client, reader: &mut FrameReader, start: &[u8]) -> Result<(), StoreError> {
    let damaged = |what: &str| StoreError::Backend(format!("the backup is damaged: {what}"));
    let start: Value = serde_json::from_slice(start).map_err(|_| damaged("a table header is not JSON"))?;
    let table = start["table"].as_str().ok_or_else(|| damaged("a table without a name"))?.to_owned();
    let columns: Vec<String> = start["columns"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let known = columns_if_hestia(client, &table).await?;
    if columns.is_empty() || columns.iter().any(|c| !known.contains(c)) {
        return Err(damaged(&format!("table {table} does not match the schema of its version")));
    }
    let sql = format!("COPY \"{table}\" ({}) FROM STDIN", column_list(&columns));
    let sink = client.copy_in::<str, Bytes>(sql.as_str()).await.map_err(backend)?;
    futures::pin_mut!(sink);
    let mut digest = TableDigest::default();
    let end = loop {
        let (kind, payload) = reader.next()?;
        match kind {
            b'D' => {
                digest.update(&payload);
                sink.send(Bytes::from(payload)).await.map_err(backend)?;
            }
            b'E' => break payload,
            other => return Err(unexpected(other, b'D')),
        }
    };
    let rows = sink.as_mut().finish().await.map_err(backend)?;
    let recorded: Value = serde_json::from_slice(&end).map_err(|_| damaged("a table trailer is not JSON"))?;
    if recorded != digest.to_json() || recorded["rows"].as_u64() != Some(rows) {
        return Err(damaged(&format!("table {table} does not match its checksum")));
    }
    Ok(())
}

/// The table's columns, if it is a table of the restored schema; a backup naming any other table
/// is refused before anything is copied into it.
async fn columns_if_hestia(client: &Client, table: &str) -> Result<Vec<String>, StoreError> {
    if !table_names(client).await?.iter().any(|t| t == table) {
        return Err(StoreError::Backend(format!("the backup is damaged: {table} is not a Hestia table")));
    }
    columns(client, table).await
}

/// Serial columns continue after the largest restored value.
async fn advance_sequences(client: &Client) -> Result<(), StoreError> {
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
            &[],
        )
        .await
        .map_err(backend)?;
    for row in rows {
        let table: String = row.try_get(0).map_err(backend)?;
        let column: String = row.try_get(1).map_err(backend)?;
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), COALESCE(MAX(\"{column}\"), 0) + 1, false) \
             FROM \"{table}\""
        );
        client.batch_execute(&sql).await.map_err(backend)?;
    }
    Ok(())
}
