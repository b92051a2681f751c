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
//! - [`events`]: event mode: S3 notifications in an SQS queue, read into what a run loads.
//! - [`plan`]: planning: the pure plan, the ledger window it reads, and the streamed listing.
//! - [`run`]: [`Pipeline::run`], the run engine, one file per phase; `run/load.rs` holds the load's states and
//!   the exactly-once argument.
//! - [`lease`]: one run per job at a time, through a lease object in the staging bucket.
//! - [`migrate`]: the embedded `sql/` migrations.
//! - [`schedule`]: cron expressions, and the EventBridge Scheduler expressions they become.
//! - [`status`]: recent runs from the `runs` table.

pub mod clients;
pub mod doctor;
pub mod events;
pub mod lease;
pub mod migrate;
pub mod plan;
pub mod run;
pub mod schedule;
pub mod spec;
pub mod status;

use std::path::PathBuf;

/// The curated table `sql/` creates (`sql/0001_tables.sql`).
pub const MIGRATED_TABLE: &str = "s3shift.images";

pub use run::{Backfill, CrashPoint, Pipeline, Progress, RunMode, RunOptions, RunOutcome, RunSummary};
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
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// No AWS region is configured.
    #[error("no AWS region: set AWS_REGION, a profile region, or `region` under [aws] in the job file")]
    NoRegion,
    /// No credentials could be found (environment, profile, container or instance role).
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile of \
         ~/.aws/config), or run where a role provides them (an ECS task role); the SDK said: {why}"
    )]
    NoCredentials {
        /// The provider chain's answer, on one line.
        why: String,
    },
    /// A run id could not be made from the job's name.
    #[error("job {job}: {problem}")]
    RunId {
        /// The job.
        job: String,
        /// Why.
        problem: String,
    },
    /// Run state in the staging bucket is unreadable or inconsistent.
    #[error("run state {location}: {problem}")]
    State {
        /// Where.
        location: String,
        /// What.
        problem: String,
    },
    /// A run state object in the staging bucket is not what s3shift writes.
    #[error("run state {location} is unreadable; {hint}")]
    BadState {
        /// Where.
        location: String,
        /// What to do about it.
        hint: &'static str,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// Encoding a state object failed.
    #[error("encoding {what}")]
    Encode {
        /// What was encoded.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// Another run took the job's lease over, so this one may not load.
    #[error(
        "run {run_id}: another run took the job's lease over; not loading (its staged files stay for a replay)"
    )]
    LeaseLost {
        /// The run that lost it.
        run_id: String,
    },
    /// The lease object changed hands between every read and write.
    #[error("the lease {location} keeps changing hands")]
    LeaseContended {
        /// `s3://bucket/key` of the lease.
        location: String,
    },
    /// A task of the run (a listing, the stager thread) panicked or was cancelled.
    #[error("{what} failed")]
    Task {
        /// Which task.
        what: &'static str,
        /// The join error (a panic or a cancellation).
        #[source]
        source: tokio::task::JoinError,
    },
    /// A reading worker panicked while it held `key`: the object is neither loaded nor left unread, so the run
    /// stops before its load (nothing of its batch is committed or acknowledged; the next run reads it again).
    #[error("reading {key:?} failed inside s3shift (a bug; please report it); the run stops before its load")]
    Worker {
        /// The object the worker held.
        key: String,
        /// The panic.
        #[source]
        source: tokio::task::JoinError,
    },
    /// A stage of the run stopped taking work before the run ended (its own error is reported instead, when it
    /// has one).
    #[error("{what} stopped")]
    Stopped {
        /// Which stage.
        what: &'static str,
    },
    /// The load transaction failed; nothing of it was committed.
    #[error("load of run {run_id} failed, nothing was committed{failure}")]
    LoadFailed {
        /// The run.
        run_id: String,
        /// Which part of the load failed, with what it found.
        failure: LoadFailure,
        /// Redshift's error.
        #[source]
        source: Box<s3shift_redshift::Error>,
    },
    /// A scan cannot bound the ledger window it would read: no lifecycle rule that deletes everything the job
    /// lists, or no permission to read the rules, and no `assume_lifecycle_days`. Nothing was read.
    #[error(
        "job {job}: {why}; without a bound the ledger lookup would read every row the bucket ever had. {fix}"
    )]
    UnboundedLedger {
        /// The job.
        job: String,
        /// What is missing (naming the bucket and prefix, or the refused call).
        why: String,
        /// The next step.
        fix: String,
        /// S3's answer, when the lifecycle could not be read.
        #[source]
        source: Option<Box<s3shift_s3::Error>>,
    },
    /// A bucket the job names does not exist.
    #[error(
        "bucket {bucket} does not exist. It is the job's {role} bucket, named by {origin}: create it (deploy/storage.yaml \
         does), or name the bucket that exists"
    )]
    MissingBucket {
        /// The bucket.
        bucket: String,
        /// `source` or `staging`.
        role: &'static str,
        /// Where its name comes from: the job file's field, or the flag or variable that replaced it.
        origin: String,
        /// S3's answer.
        #[source]
        source: Box<s3shift_s3::Error>,
    },
    /// The job's curated table does not exist, and it is not the table the migrations create.
    #[error(
        "table {table} does not exist. It is warehouse.table in {}: the migrations (`s3shift migrate`) create \
         {MIGRATED_TABLE}; name that, or create {table} with the staged columns (sql/0001_tables.sql)",
        file.display()
    )]
    MissingTable {
        /// The table the job names.
        table: String,
        /// The job file.
        file: std::path::PathBuf,
        /// Redshift's answer.
        #[source]
        source: Box<s3shift_redshift::Error>,
    },
    /// s3shift's schema or one of its tables does not exist: the warehouse was never migrated.
    #[error(
        "{what} does not exist: the warehouse has not been migrated; `s3shift migrate {job}` creates s3shift's \
         schema, tables and roles (run it as the admin: --admin-secret-arn or S3SHIFT_ADMIN_SECRET_ARN)"
    )]
    NotMigrated {
        /// What is missing: `table s3shift.runs` or `schema s3shift`.
        what: String,
        /// The job (for the command to run).
        job: String,
        /// Redshift's answer.
        #[source]
        source: Box<s3shift_redshift::Error>,
    },
    /// The identity the run calls the Data API with lacks database privileges a run needs; nothing was read.
    #[error(
        "the database user {user} lacks {missing}: give the job's task role the RedshiftDbRoles tag `s3shift_loader` \
         (deploy/iam.yaml does), or, as the admin, `GRANT ROLE s3shift_loader TO \"{user}\"`; \
         `s3shift migrate {job}` creates the role and its grants (TEMP and the COPY role's included)"
    )]
    MissingPrivileges {
        /// The database user (`IAMR:<role>` for an ECS task).
        user: String,
        /// The missing privileges, joined (`USAGE on schema s3shift, SELECT on table s3shift.images`).
        missing: String,
        /// The job.
        job: String,
    },
    /// A migration failed or was edited after it was applied.
    #[error("migration {name}: {problem}")]
    Migration {
        /// The file.
        name: String,
        /// What.
        problem: String,
    },
    /// The job's SQS queue refused or failed a call.
    #[error("queue {queue}: {op}: {problem}")]
    Queue {
        /// The queue's URL.
        queue: String,
        /// The SQS operation.
        op: &'static str,
        /// SQS's answer (`Code: message`), or what was wrong with it.
        problem: String,
        /// The SDK's error, with its own chain (dispatch failure, I/O error, ...), where a call failed.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
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

impl Error {
    /// The same error, told in the job's terms where an adapter's error has a cause the operator can fix: a
    /// bucket that does not exist names the job field (or flag) that named it; a missing s3shift table says
    /// that `migrate` creates it.
    pub fn explain(self, spec: &JobSpec) -> Self {
        match self {
            Self::S3(source) => {
                let named = match &source {
                    s3shift_s3::Error::NoSuchBucket { bucket, .. } => {
                        spec.bucket_origin(bucket).map(|origin| (bucket.clone(), origin))
                    }
                    _ => None,
                };
                match named {
                    Some((bucket, (role, origin))) => Self::MissingBucket {
                        bucket,
                        role,
                        origin,
                        source: Box::new(source),
                    },
                    None => Self::S3(source),
                }
            }
            Self::Redshift(source) => match source.missing_relation() {
                // The job's own table is missing while it is not the one the migrations create: a name to fix,
                // not a warehouse to migrate.
                Some(table) if table == spec.table.to_string() && table != MIGRATED_TABLE => {
                    Self::MissingTable {
                        table: table.to_owned(),
                        file: spec.file.clone(),
                        source: Box::new(source),
                    }
                }
                Some(table)
                    if table == spec.table.schema.to_string()
                        || table.starts_with(&format!("{}.", spec.table.schema)) =>
                {
                    Self::NotMigrated {
                        what: if table.contains('.') {
                            format!("table {table}")
                        } else {
                            format!("schema {table}")
                        },
                        job: spec.name().to_owned(),
                        source: Box::new(source),
                    }
                }
                _ => Self::Redshift(source),
            },
            other => other,
        }
    }
}

/// Which part of a load transaction failed (see `s3shift_redshift::sql::LoadSql`), with what it found. Printed
/// as the lines that follow the load's error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadFailure {
    /// COPY failed on the staged files: the rows of `sys_load_error_detail` for them, each mapped to the object
    /// key of the failing row (empty for a COPY that may pass when submitted again).
    Copy {
        /// One line per error row.
        detail: Vec<String>,
    },
    /// COPY loaded another number of rows than were staged.
    RowCount {
        /// Rows staged.
        staged: u64,
        /// Rows COPY loaded, where Redshift reports it.
        loaded: Option<i64>,
    },
    /// A later holder of the run's lease committed a load first: this run stalled past its lease's TTL and was
    /// fenced off.
    Fenced {
        /// `s3://bucket/key` of the lease.
        lease: String,
        /// This run's generation.
        generation: u64,
        /// The generation and run recorded for the lease now, where they could be read.
        current: Option<(u64, String)>,
    },
    /// Another statement of the batch (the lock, the merge, the run's row): Redshift's error says it all.
    Other,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Copy { detail } => {
                for d in detail {
                    write!(f, "\n  load error: {d}")?;
                }
                Ok(())
            }
            Self::RowCount {
                staged,
                loaded: Some(n),
            } => write!(
                f,
                "\n  load error: row count check failed: staged {staged} rows, COPY loaded {n}"
            ),
            Self::RowCount { staged, loaded: None } => write!(
                f,
                "\n  load error: row count check failed: staged {staged} rows, COPY loaded another number \
                 (Redshift did not report it)"
            ),
            Self::Fenced {
                lease,
                generation,
                current,
            } => {
                write!(
                    f,
                    "\n  fenced: this run held generation {generation} of the lease {lease}, which another run \
                     took over"
                )?;
                if let Some((g, run)) = current {
                    write!(f, " (run {run} committed a load under generation {g})")?;
                }
                write!(
                    f,
                    "; the next run of the job loads what this one staged (or `s3shift replay` it)"
                )
            }
            Self::Other => Ok(()),
        }
    }
}

/// Result with the jobs [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
