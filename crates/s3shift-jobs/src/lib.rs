//! s3shift's jobs: job files, the run engine and migrations.
//!
//! This crate owns what a run does and in which order: reading and validating `jobs/*.toml`, planning from a
//! listing and the ledger, reading objects with bounded concurrency, staging Parquet, the load transaction with
//! its crash-safe pointer, and the run's report; plus applying `sql/` migrations. It wires the adapter crates
//! (`s3shift-s3`, `s3shift-stage`, `s3shift-redshift`) together and is the only crate that depends on all of them.
//!
//! It must never branch on whether it talks to AWS or to the embedded stand-ins: only endpoints differ.
//!
//! # Organization
//! - [`spec`]: [`JobSpec`] and the job file format.
//! - [`clients`]: the one factory for AWS clients.
//! - [`doctor`]: a job's preconditions, checked one by one.
//! - [`plan`]: the pure planning step.
//! - [`run`]: [`Pipeline::run`], the run engine.
//! - [`lease`]: one run per job at a time, through a lease object in the staging bucket.
//! - [`migrate`]: the embedded `sql/` migrations.
//! - [`schedule`]: cron expressions, and the EventBridge Scheduler expressions they become.
//! - [`status`]: recent runs from the `runs` table.

pub mod clients;
pub mod doctor;
pub mod lease;
pub mod migrate;
pub mod plan;
pub mod run;
pub mod schedule;
pub mod spec;
pub mod status;

use std::path::PathBuf;

pub use run::{Backfill, Pipeline, Progress, RunOptions, RunOutcome, RunSummary};
pub use spec::{JobSpec, Override, Overrides, load_job, load_job_with, resolve_job};

/// What went wrong in a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job file is invalid.
    #[error("{}: {field}: {problem}", file.display())]
    Config {
        /// The file.
        file: PathBuf,
        /// The field (or line).
        field: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Setting up the run failed.
    #[error("{0}")]
    Setup(String),
    /// Run state in the staging bucket is unreadable.
    #[error("run state {location}: {problem}")]
    State {
        /// Where.
        location: String,
        /// What.
        problem: String,
    },
    /// The load transaction failed; nothing of it was committed.
    #[error(
        "load of run {run_id} failed, nothing was committed: {message}{}",
        detail_lines(detail)
    )]
    LoadFailed {
        /// The run.
        run_id: String,
        /// Redshift's error.
        message: String,
        /// Rows of `sys_load_error_detail`, mapped to object keys.
        detail: Vec<String>,
    },
    /// A migration failed or was edited after it was applied.
    #[error("migration {name}: {problem}")]
    Migration {
        /// The file.
        name: String,
        /// What.
        problem: String,
    },
    /// S3.
    #[error(transparent)]
    S3(#[from] s3shift_s3::Error),
    /// Redshift.
    #[error(transparent)]
    Redshift(#[from] s3shift_redshift::Error),
    /// Staging.
    #[error(transparent)]
    Stage(#[from] s3shift_stage::Error),
}

fn detail_lines(detail: &[String]) -> String {
    detail.iter().map(|d| format!("\n  load error: {d}")).collect()
}

/// Result with the jobs [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
