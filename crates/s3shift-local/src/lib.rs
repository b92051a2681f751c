//! The embedded stand-ins for AWS: real wire protocols on loopback, so that the one code path of s3shift (the
//! real AWS SDK clients) runs, is tested and is demonstrated without an AWS account.
//!
//! This crate owns:
//! - [`s3`]: an S3-compatible server over a local directory, built on `s3s` / `s3s-fs`, with what the pipeline
//!   needs beyond them (stored lifecycle configuration, atomic conditional puts) and seeded fault injection
//!   (latency, 503 SlowDown, connections dropped mid-body) for reliability tests.
//!
//! - [`redshift`]: a Redshift Data API server over an embedded DuckDB file: the awsJson1_1 protocol, the
//!   asynchronous statement lifecycle, and the subset of Redshift SQL that `sql/` and the loader use, including
//!   `COPY ... FORMAT AS PARQUET` read through the S3 server with Redshift's checks.
//!
//! - [`sqs`]: an SQS server (standard queues in memory, the JSON protocol, long polling, visibility timeouts and
//!   dead-letter redrive), for event-driven ingestion.
//!
//! - [`identity`]: the IAM identities both accept, and the database user each becomes (the loader, analyst,
//!   admin and no-role identities the tests and `s3shift local` use).
//!
//! - [`stack`]: both, wired to each other ([`LocalStack`]): what `s3shift local`, `s3shift demo`, the end-to-end
//!   tests and the pipeline benchmark start.
//!
//! The DuckDB engine is DuckDB 1.5.6's release library, fetched from the npm registry and checked against a
//! pinned SHA-512 by this crate's `build.rs` (compiling DuckDB from source was most of a cold build); the
//! `bundled-duckdb` feature compiles it from source instead, for machines without the registry.
//!
//! It must never be needed in production: the `s3shift` binary links it only behind its `local` feature, and
//! nothing in the pipeline branches on it. Servers bind loopback only and stop when dropped.

pub mod identity;
mod listener;
pub mod redshift;
pub mod s3;
pub mod sqs;
pub mod stack;

pub use stack::LocalStack;

/// Errors of the stand-ins.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory the server needs could not be created or opened.
    #[error("{path}: {source}")]
    Dir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A request to the stack's own S3 server failed.
    #[error("{op} on the S3 stand-in: {message}")]
    S3 {
        /// The operation.
        op: &'static str,
        /// What the client said.
        message: String,
    },
    /// The listening socket could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The S3 backend could not start over the directory.
    #[error("starting the S3 store over {path}: {message}")]
    Store {
        /// The directory.
        path: std::path::PathBuf,
        /// What s3s-fs said.
        message: String,
    },
    /// The Data API stand-in could not open its DuckDB file.
    #[error("opening the warehouse {path}: {message}")]
    Warehouse {
        /// The DuckDB file.
        path: std::path::PathBuf,
        /// What DuckDB said, with the next step when there is one.
        message: String,
    },
}

/// Result with the stand-ins' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
