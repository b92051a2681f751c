//! Running a COPY inside its statement: the files are listed and read through S3 ([`super::files`]), every
//! value is checked ([`super::check_file`]), then every row is appended or none is. Each attempt is recorded in
//! `sys_load_history` (and the first bad value in `sys_load_error_detail`) on a connection of its own, so those rows
//! stay when the statement's transaction rolls back, as Redshift's system tables do.

use std::sync::atomic::{AtomicBool, Ordering};

use duckdb::Connection;

use super::files::{Unread, fetch, list_entries};
use super::{CopyError, CopyFailure, CopySpec, LoadError};
use crate::redshift::catalog::table_columns;
use crate::redshift::engine::S3Source;
use crate::redshift::wording::redshift_error;

/// What a COPY needs from the statement running it.
pub(crate) struct CopyContext<'a> {
    /// The statement's connection (its transaction).
    pub(crate) conn: &'a Connection,
    /// A connection of its own for the system tables; `None` when none could be opened (nothing is recorded).
    pub(crate) log: Option<Connection>,
    /// Where the files are read from.
    pub(crate) s3: Option<&'a S3Source>,
    /// Set when the statement is cancelled.
    pub(crate) cancel: &'a AtomicBool,
    /// The statement's query id.
    pub(crate) query_id: i64,
    /// The database it runs in.
    pub(crate) database: &'a str,
}

/// Runs `spec`: read, check, then append everything or nothing; records the attempt in the system tables.
pub(crate) fn run_copy(cx: &CopyContext<'_>, spec: &CopySpec) -> Result<u64, CopyError> {
    let (query_id, database) = (cx.query_id, cx.database);
    let started = chrono::Utc::now().naive_utc();
    let table_name = spec.table.join(".");
    let result = copy_files(cx, spec);
    let (status, rows, bytes, files, file_bytes, err_msg, details) = match &result {
        Ok(s) => ("completed", s.rows, s.bytes, s.files, s.bytes, None, Vec::new()),
        Err(f) => (
            "aborted",
            0,
            0,
            0,
            0,
            Some(f.error.to_string()),
            f.details.clone(),
        ),
    };
    // Load history and error rows are written on their own connection: they stay when the COPY's
    // transaction rolls back, as Redshift's system tables do.
    if let Some(log) = &cx.log {
        let ended = chrono::Utc::now().naive_utc();
        let took = (ended - started).num_microseconds().unwrap_or(0);
        let _ = log.execute(
            "INSERT INTO main.sys_load_history VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, \
             'PARQUET', ?, ?, ?, ?, ?, ?)",
            duckdb::params![
                query_id, status, database, table_name, ts(started), ts(ended), took, spec.from,
                rows as i64, bytes as i64, files as i32, file_bytes as i64, details.len() as i32, err_msg
            ],
        );
        for d in &details {
            let _ = log.execute(
                // file_name is CHAR(256), blank-padded, as in Redshift's SYS_LOAD_ERROR_DETAIL: readers must trim.
                "INSERT INTO main.sys_load_error_detail VALUES (?, CAST(? AS TIMESTAMP), ?, rpad(?, 256, ' '), ?, ?, \
                 ?, ?, ?, ?, ?)",
                duckdb::params![
                    query_id, ts(started), table_name, d.file, d.line as i64, d.column, d.column_type,
                    d.column_length.map(|l| l as i32), d.code, d.message, d.value
                ],
            );
        }
    }
    result.map(|s| s.rows).map_err(|f| *f.error)
}

/// Lists and reads the files, checks every value, then appends all rows in the statement's transaction.
fn copy_files(cx: &CopyContext<'_>, spec: &CopySpec) -> Result<CopyStats, CopyFailure> {
    let conn = cx.conn;
    let s3 = cx.s3.ok_or(CopyError::NoEndpoint)?;
    let (catalog, schema, columns) = table_columns(conn, &spec.table).map_err(CopyError::from)?;
    let targets: Vec<usize> = match &spec.columns {
        None => (0..columns.len()).collect(),
        Some(list) => list
            .iter()
            .map(|c| {
                columns
                    .iter()
                    .position(|col| &col.name == c)
                    .ok_or_else(|| CopyError::NoColumn {
                        column: c.clone(),
                        table: spec.table.join("."),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let entries = s3.runtime.block_on(list_entries(&s3.client, spec))?;
    let mut errors: Vec<LoadError> = Vec::new();
    let mut all = Vec::new();
    let (mut rows, mut bytes, mut files) = (0u64, 0u64, 0u64);
    for e in &entries {
        if cx.cancel.load(Ordering::SeqCst) {
            return Err(CopyError::Cancelled.into());
        }
        let body = match s3.runtime.block_on(fetch(&s3.client, &e.url)) {
            Ok(b) => b,
            Err(Unread::Failed(e)) => return Err(e.into()),
            Err(Unread::Missing) if !e.mandatory => continue,
            Err(Unread::Missing) => {
                return Err(CopyError::MandatoryMissing(e.url.clone()).into());
            }
        };
        if let Some(len) = e.content_length
            && len != body.len() as u64
        {
            return Err(CopyError::Length {
                url: e.url.clone(),
                actual: body.len() as u64,
                manifest: len,
            }
            .into());
        }
        bytes += body.len() as u64;
        files += 1;
        let (batches, n) = super::check_file(&e.url, body, &columns, &targets, 0, &mut errors)?;
        rows += n;
        all.extend(batches);
    }
    // "Regardless of any mandatory settings, COPY will terminate if no files are found" ("Using a manifest to
    // specify data files").
    if files == 0 && spec.manifest {
        return Err(CopyError::NoFiles(spec.from.clone()).into());
    }
    // A Parquet COPY runs through Redshift Spectrum: it fails on the first bad value with Spectrum's error, and
    // "Some errors are logged in STL_LOAD_ERRORS and STL_ERROR" (COPY from columnar data formats). So the
    // error names the first bad value, and only that one is logged: a reader of the log must not count on it.
    if let Some(first) = errors.into_iter().next() {
        return Err(CopyFailure {
            error: Box::new(CopyError::Value {
                file: first.file.clone(),
                line: first.line,
                column: first.column.clone(),
                message: first.message.clone(),
            }),
            details: vec![first],
        });
    }
    let mut app = conn
        .appender_to_catalog_and_db(spec.table.last().map_or("", String::as_str), &catalog, &schema)
        .map_err(|e| CopyError::Engine(redshift_error(&e.to_string())))?;
    for b in all {
        app.append_record_batch(b)
            .map_err(|e| CopyError::Engine(redshift_error(&e.to_string())))?;
    }
    app.flush()
        .map_err(|e| CopyError::Engine(redshift_error(&e.to_string())))?;
    Ok(CopyStats { rows, bytes, files })
}

fn ts(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

struct CopyStats {
    rows: u64,
    bytes: u64,
    files: u64,
}
