//! s3shift's Redshift adapter, over the real `aws-sdk-redshiftdata` client.
//!
//! This crate owns every statement the pipeline sends to Redshift: submitting statements and batches through the
//! Data API, polling them with backoff, reading typed results page by page, the SQL of the load transaction
//! (built from typed, validated pieces: identifiers match a strict pattern, untrusted values only ever travel in
//! Parquet or as Data API parameters), splitting migration files into statements, and the schema check of the
//! curated table. SDK errors are converted to our [`Error`] kinds here.
//!
//! It must never decide what to load or when: the run engine in `s3shift-jobs` does.
//!
//! # Retries
//! Throttled or failed API calls are retried by the SDK's standard retry strategy. This crate never re-submits a
//! statement on its own: a statement's outcome (failed, aborted) is reported to the caller, who knows whether
//! the statement is safe to run again.
//!
//! # Organization
//! - [`client`]: [`DataApi`], [`Target`], [`PollConfig`], [`Rows`] and [`Value`].
//! - [`sql`]: identifiers and literals, the load transaction ([`sql::LoadSql`]), statement splitting.
//! - [`schema_check`]: comparing the live table with `s3shift_core::schema::IMAGES`.

pub mod client;
pub mod schema_check;
pub mod sql;

pub use client::{DataApi, Finished, PollConfig, Rows, StatementState, Target, Value};

/// What went wrong talking to Redshift.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Data API call failed (after the SDK's retries).
    #[error("Redshift Data API {op} failed: {message}")]
    Api {
        /// The operation.
        op: &'static str,
        /// What the SDK or the service said.
        message: String,
    },
    /// The statement ran and failed; `message` is Redshift's error.
    #[error("statement {id} failed: {message}")]
    StatementFailed {
        /// Statement id.
        id: String,
        /// Redshift's error, prefixed by the failing sub-statement of a batch.
        message: String,
    },
    /// The statement was cancelled.
    #[error("statement {id} was aborted")]
    Aborted {
        /// Statement id.
        id: String,
    },
    /// The statement did not finish within the poll timeout (it may still be running).
    #[error("statement {id} still running after {seconds} s")]
    Timeout {
        /// Statement id.
        id: String,
        /// How long it was polled.
        seconds: u64,
    },
    /// A result did not have the expected shape.
    #[error("statement {id}: unexpected result: {problem}")]
    BadResult {
        /// Statement id.
        id: String,
        /// What was wrong.
        problem: String,
    },
    /// An identifier or literal was refused before any SQL was built.
    #[error("invalid SQL {what} {value:?}: {rule}")]
    Invalid {
        /// What it is (table name, IAM role, ...).
        what: &'static str,
        /// The refused value.
        value: String,
        /// The rule it broke.
        rule: &'static str,
    },
    /// The live table does not match the schema s3shift writes.
    #[error("table {table} does not match what s3shift stages:\n{diff}")]
    SchemaDrift {
        /// The table.
        table: String,
        /// One line per difference.
        diff: String,
    },
}

/// Result with the Redshift [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
