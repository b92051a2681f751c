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
//! - [`serverless`]: the Redshift Serverless preflight (workgroup status, namespace roles).
//! - [`warehouse`]: the owner of `s3shift.runs` and `s3shift.loaded_objects` outside the load transaction.

pub mod client;
pub mod schema_check;
pub mod serverless;
pub mod sql;
pub mod warehouse;

pub use client::{DataApi, Failure, Finished, PollConfig, Rows, StatementState, SubStatement, Target, Value};

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
        /// The SDK's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A Redshift Serverless API call failed (after the SDK's retries).
    #[error("Redshift Serverless {op} failed: {message}")]
    Serverless {
        /// The operation.
        op: &'static str,
        /// What the SDK or the service said.
        message: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The statement ran and failed; `message` is Redshift's error.
    #[error("statement {id} failed: {}{message}", sub_statement.map(|s| format!("{s}: ")).unwrap_or_default())]
    StatementFailed {
        /// Statement id.
        id: String,
        /// Redshift's error.
        message: String,
        /// Which statement of a batch failed (`None` for a single statement).
        sub_statement: Option<SubStatement>,
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
    /// One of s3shift's tables answered something it cannot hold.
    #[error("table {table}: {problem}")]
    Table {
        /// The table.
        table: String,
        /// What was wrong.
        problem: String,
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

impl Error {
    /// Which statement of a failed batch failed.
    pub fn sub_statement(&self) -> Option<SubStatement> {
        match self {
            Self::StatementFailed { sub_statement, .. } => *sub_statement,
            _ => None,
        }
    }

    /// Whether the failed statement may succeed when submitted again unchanged (see [`Retry`]).
    ///
    /// Redshift Serverless runs under snapshot isolation by default, and no AWS page found gives the text of its
    /// concurrent-write conflict; "conflict with concurrent transaction" (PostgreSQL's wording) is taken as one.
    /// An S3 read failure counts as transient only with a status or cause that says so: a 403 or a missing file
    /// will fail the same way again.
    pub fn retry(&self) -> Retry {
        let Self::StatementFailed { message, .. } = self else {
            return Retry::No;
        };
        let m = message.to_ascii_lowercase();
        if (m.contains("1023") && m.contains("serializable isolation violation"))
            || m.contains("conflict with concurrent transaction")
        {
            return Retry::Conflict;
        }
        let transient_cause = [
            "status 500",
            "status 502",
            "status 503",
            "status 504",
            "slowdown",
            "reduce your request rate",
            "internalerror",
            "timed out",
            "connection reset",
            "connection to s3 failed",
            "streaming error",
        ];
        if m.contains("s3serviceexception") && transient_cause.iter().any(|c| m.contains(c)) {
            return Retry::Transient;
        }
        // A Parquet COPY reads through Redshift Spectrum, whose throttles and timeouts have words of their own
        // ("Query troubleshooting in Amazon Redshift Spectrum": "Spectrum Scan Error: Retries exceeded" after five
        // timed-out requests, "Spectrum Scan Error: Access throttled" when S3 or KMS slowed it down).
        if m.contains("spectrum scan error")
            && (m.contains("retries exceeded") || m.contains("access throttled"))
        {
            return Retry::Transient;
        }
        Retry::No
    }

    /// The relation a failed statement named as missing (Redshift's `relation "schema.table" does not exist`),
    /// or the schema (`schema "s3shift" does not exist`, as HAS_SCHEMA_PRIVILEGE answers for one).
    ///
    /// No AWS page documents this text; it is the PostgreSQL wording Redshift answers with, as its users report
    /// it. Any other wording is left alone (`None`), so at worst the operator reads Redshift's own message.
    pub fn missing_relation(&self) -> Option<&str> {
        let Self::StatementFailed { message, .. } = self else {
            return None;
        };
        if let Some((_, rest)) = message.split_once("schema \"")
            && let Some((name, rest)) = rest.split_once('"')
            && rest.trim_start().starts_with("does not exist")
        {
            return Some(name);
        }
        let (before, rest) = message.split_once("relation \"")?;
        // `column "x" of relation "t" does not exist` is about a column, not a missing table.
        if before.trim_end().ends_with(" of") {
            return None;
        }
        let (name, rest) = rest.split_once('"')?;
        rest.trim_start().starts_with("does not exist").then_some(name)
    }
}

/// Whether a failed statement may succeed when submitted again, unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It lost to a concurrent transaction ("ERROR:1023 DETAIL: Serializable isolation violation on table",
    /// whose fix "Troubleshooting serializable isolation errors" gives first: "Retry the canceled transaction").
    Conflict,
    /// It failed on something outside the data: COPY could not read its files from S3 (an `S3ServiceException`
    /// with a server-side or connection failure, or a throttled read).
    Transient,
    /// It failed on the data or the SQL (a bad value, a schema mismatch, a refused privilege): the same
    /// statement will fail the same way.
    No,
}

/// Result with the Redshift [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicts_and_transient_s3_reads_are_worth_a_retry() {
        let failed = |message: &str| Error::StatementFailed {
            id: "x".into(),
            message: message.into(),
            sub_statement: None,
        };
        let conflict = "ERROR: 1023 DETAIL: Serializable isolation violation on table - \
                        12345, transactions forming the cycle are: 1, 2 (pid:3)";
        assert_eq!(failed(conflict).retry(), Retry::Conflict);
        assert_eq!(
            failed("ERROR: S3ServiceException:Please reduce your request rate.,Status 503,Error SlowDown")
                .retry(),
            Retry::Transient
        );
        assert_eq!(
            failed("ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied").retry(),
            Retry::No
        );
        assert_eq!(
            failed("error:  Spectrum Scan Error: Access throttled").retry(),
            Retry::Transient
        );
        assert_eq!(
            failed("error:  Spectrum Scan Error: Retries exceeded").retry(),
            Retry::Transient
        );
        assert_eq!(
            failed("ERROR: Spectrum Scan Error. File 's3://b/k' row 2, column 'k': String length exceeds DDL length")
                .retry(),
            Retry::No
        );
        assert_eq!(
            failed("ERROR: value too long for type character varying(20)").retry(),
            Retry::No
        );
        assert_eq!(
            failed("ERROR: permission denied for relation images").retry(),
            Retry::No
        );
        assert_eq!(Error::Aborted { id: "x".into() }.retry(), Retry::No);
    }

    #[test]
    fn a_missing_relation_is_named_from_redshifts_text() {
        let failed = |message: &str| Error::StatementFailed {
            id: "x".into(),
            message: message.into(),
            sub_statement: None,
        };
        assert_eq!(
            failed("ERROR: relation \"s3shift.runs\" does not exist").missing_relation(),
            Some("s3shift.runs")
        );
        assert_eq!(
            failed("ERROR: column \"x\" of relation \"s3shift.runs\" does not exist").missing_relation(),
            None
        );
        assert_eq!(
            failed("ERROR: permission denied for relation runs").missing_relation(),
            None
        );
        assert_eq!(Error::Aborted { id: "x".into() }.missing_relation(), None);
    }
}
