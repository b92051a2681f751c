//! What every job command shares: which job (`JobArgs`) with the deployment's replacements (`DeployArgs`), job
//! lists, the clients a job talks through, the runtime, progress, and the stop signal.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use s3shift_jobs::clients::{ClientOverrides, build_clients};
use s3shift_jobs::{JobSpec, Overrides, Pipeline, Progress};
use s3shift_redshift::{DataApi, PollConfig};
use s3shift_s3::{S3Store, StoreConfig};

use crate::UsageError;

/// Which job, and where job files live.
#[derive(Debug, Args)]
pub(crate) struct JobArgs {
    /// Job name (`jobs/<name>.toml`) or path to a job file.
    pub(crate) job: String,
    /// Folder of job files.
    #[arg(long, value_name = "DIR", default_value = "jobs", env = "S3SHIFT_JOBS_DIR")]
    pub(crate) jobs_dir: PathBuf,
    #[command(flatten)]
    pub(crate) deploy: DeployArgs,
}

use s3shift_jobs::spec::overrides::{
    COPY_IAM_ROLE, DATABASE, QUEUE_URL, SOURCE_BUCKET, STAGING_BUCKET, Setting, WORKGROUP,
};

/// The help heading of [`DeployArgs`].
const DEPLOYMENT: &str = "Deployment (replace fields of the job file)";

/// The job file's deployment-specific fields, for an account whose names differ from the file's: the ECS task
/// definitions (deploy/compute.yaml) set them from the stacks' outputs. Validated like the fields they replace.
///
/// Each field names its help heading: a struct-level `next_help_heading` would carry over to the options the
/// command declares after it (`--dry-run` listed as a deployment field).
#[derive(Debug, Default, Args)]
pub(crate) struct DeployArgs {
    /// The ingestion bucket (source.bucket).
    #[arg(long, value_name = "BUCKET", env = SOURCE_BUCKET.var, help_heading = DEPLOYMENT)]
    source_bucket: Option<String>,
    /// The staging bucket (staging.bucket).
    #[arg(long, value_name = "BUCKET", env = STAGING_BUCKET.var, help_heading = DEPLOYMENT)]
    staging_bucket: Option<String>,
    /// The Redshift Serverless workgroup (warehouse.workgroup).
    #[arg(long, value_name = "NAME", env = WORKGROUP.var, help_heading = DEPLOYMENT)]
    workgroup: Option<String>,
    /// The database (warehouse.database).
    #[arg(long, value_name = "NAME", env = DATABASE.var, help_heading = DEPLOYMENT)]
    database: Option<String>,
    /// The role COPY reads the staging bucket with: `default` or an ARN (warehouse.copy_iam_role).
    #[arg(long, value_name = "ARN", env = COPY_IAM_ROLE.var, help_heading = DEPLOYMENT)]
    copy_iam_role: Option<String>,
    /// The event queue's URL (source.events.queue_url; the job file must have [source.events]).
    #[arg(long, value_name = "URL", env = QUEUE_URL.var, help_heading = DEPLOYMENT)]
    queue_url: Option<String>,
}

impl DeployArgs {
    /// What these replace, each naming its flag and variable.
    pub(crate) fn overrides(&self) -> Overrides {
        let given = |value: &Option<String>, setting: Setting| value.as_deref().map(|v| setting.given(v));
        Overrides {
            source_bucket: given(&self.source_bucket, SOURCE_BUCKET),
            staging_bucket: given(&self.staging_bucket, STAGING_BUCKET),
            workgroup: given(&self.workgroup, WORKGROUP),
            database: given(&self.database, DATABASE),
            copy_iam_role: given(&self.copy_iam_role, COPY_IAM_ROLE),
            queue_url: given(&self.queue_url, QUEUE_URL),
        }
    }
}

/// Loads and validates the job, with the deployment's replacements, and logs each replacement.
pub(crate) fn load_spec(args: &JobArgs) -> Result<JobSpec> {
    let path = s3shift_jobs::resolve_job(&args.jobs_dir, &args.job);
    // A name (not a path) with no file behind it: say which jobs there are.
    let a_name = !args.job.ends_with(".toml") && !args.job.contains(std::path::MAIN_SEPARATOR);
    if a_name && !path.exists() {
        return Err(UsageError(no_such_job(&args.jobs_dir, &args.job, &path)).into());
    }
    // A job file that cannot be read or does not validate exits 2: see `is_usage` in main.rs.
    let spec = s3shift_jobs::load_job_with(&path, &args.deploy.overrides())?;
    for (field, o) in spec.overrides.fields() {
        tracing::info!(job = %spec.name(), field, value = %o.value, from = %o.from, "job file field replaced");
    }
    for overlap in overlaps(&spec) {
        tracing::warn!(job = %spec.name(), other = %overlap.other, "{overlap}");
    }
    Ok(spec)
}

/// What to say when the job file is not there: the jobs the folder has, and how to point at another folder.
fn no_such_job(jobs_dir: &std::path::Path, job: &str, path: &std::path::Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(jobs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension().is_some_and(|x| x == "toml"))
                .then(|| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .flatten()
        })
        .collect();
    names.sort();
    let found = if names.is_empty() {
        format!("{} holds no job files", jobs_dir.display())
    } else {
        format!("jobs in {}: {}", jobs_dir.display(), names.join(", "))
    };
    format!(
        "no job {job:?}: {} does not exist; {found} (another folder: --jobs-dir DIR or S3SHIFT_JOBS_DIR)",
        path.display()
    )
}

/// The other jobs of `spec`'s folder that read some of its objects.
pub(crate) fn overlaps(spec: &JobSpec) -> Vec<s3shift_jobs::spec::Overlap> {
    spec.file
        .parent()
        .map(|dir| s3shift_jobs::spec::overlapping_jobs(spec, dir))
        .unwrap_or_default()
}

/// The pipeline's clients for `spec`.
pub(crate) async fn pipeline(spec: &JobSpec, overrides: &ClientOverrides) -> Result<Pipeline> {
    Ok(pipeline_with_clients(spec, overrides).await?.0)
}

/// [`pipeline`], and the clients it was built from (for the dry run's cadence, which needs the Serverless
/// client). Fails at once, in one line, when no credentials can be found.
pub(crate) async fn pipeline_with_clients(
    spec: &JobSpec,
    overrides: &ClientOverrides,
) -> Result<(Pipeline, s3shift_jobs::clients::AwsClients)> {
    let (p, clients) = unchecked_pipeline(spec, overrides).await?;
    clients.require_credentials().await?;
    Ok((p, clients))
}

/// [`pipeline_with_clients`] without the credentials check: for `doctor`, which reports it among its checks.
pub(crate) async fn unchecked_pipeline(
    spec: &JobSpec,
    overrides: &ClientOverrides,
) -> Result<(Pipeline, s3shift_jobs::clients::AwsClients)> {
    let clients = build_clients(&spec.config.aws, overrides).await?;
    let p = Pipeline {
        s3: S3Store::new(clients.s3.clone(), StoreConfig::default()),
        api: DataApi::new(
            clients.redshift_data.clone(),
            spec.target.clone(),
            spec.config.warehouse.database.clone(),
            PollConfig::default(),
        ),
        events: spec
            .config
            .source
            .events
            .as_ref()
            .map(|e| s3shift_jobs::events::EventQueue::new(clients.sqs.clone(), e.queue_url.clone())),
    };
    Ok((p, clients))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")
}

/// A redrawn bar on a terminal (text logs), a `progress` event every 10 s (`S3SHIFT_PROGRESS_MS`) and at the
/// end of reading otherwise (JSON logs).
pub(crate) fn progress_mode() -> Progress {
    use std::io::IsTerminal;
    let json = s3shift_telemetry::LogFormat::from_env() == Ok(s3shift_telemetry::LogFormat::Json);
    if !json && std::io::stderr().is_terminal() {
        Progress::Bar
    } else if json {
        let ms = std::env::var("S3SHIFT_PROGRESS_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        Progress::Events(std::time::Duration::from_millis(ms))
    } else {
        Progress::Off
    }
}

/// A flag that turns `true` on SIGTERM or Ctrl-C; `timeout` later the process exits with code 1 if it has not
/// finished draining (a pending load is then finished by the next run).
pub(crate) fn stop_on_signal(timeout: std::time::Duration) -> Result<tokio::sync::watch::Receiver<bool>> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {
                INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        // On a line of its own: a progress bar may be drawn on the terminal.
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!();
        }
        tracing::warn!(
            timeout_s = timeout.as_secs(),
            "stop requested: draining to a consistent point (Ctrl-C again exits at once)"
        );
        let _ = tx.send(true);
        tokio::select! {
            () = tokio::time::sleep(timeout) => {
                eprintln!(
                    "s3shift: the drain did not finish within {} s; exiting (the next run finishes any pending load)",
                    timeout.as_secs()
                );
                std::process::exit(i32::from(crate::EXIT_FAILURE));
            }
            _ = tokio::signal::ctrl_c() => {
                eprintln!("s3shift: interrupted again: exiting now (the next run finishes any pending load)");
                std::process::exit(i32::from(crate::EXIT_INTERRUPTED));
            }
        }
    });
    Ok(rx)
}

/// Set when the stop came from Ctrl-C (SIGINT): the command then exits 130 once drained, the shell's
/// convention for a process ended by SIGINT; a SIGTERM drain (ECS stopping a task) exits as the run ended.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether Ctrl-C stopped this command.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Reads and validates every named job file (names or paths, resolved against `dir`), as written: the
/// deployment replacements of single-job commands name one job's buckets.
pub(crate) fn load_specs(names: &[String], dir: &std::path::Path) -> Result<Vec<s3shift_jobs::JobSpec>> {
    names
        .iter()
        .map(|name| {
            load_spec(&JobArgs {
                job: name.clone(),
                jobs_dir: dir.to_owned(),
                deploy: DeployArgs::default(),
            })
        })
        .collect()
}

/// `names`, or every job file in `dir` when there are none.
///
/// # Errors
/// A [`UsageError`] naming the folder, where its name came from and what to do, when it cannot be read or
/// holds no job file.
pub(crate) fn job_names(names: Vec<String>, dir: &std::path::Path) -> Result<Vec<String>> {
    if !names.is_empty() {
        return Ok(names);
    }
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let hint = "name the folder of job files with --jobs-dir DIR or S3SHIFT_JOBS_DIR (default: `jobs` in the \
                current folder), or name the jobs themselves";
    let entries = std::fs::read_dir(dir).map_err(|e| {
        UsageError(format!(
            "cannot read the job folder {}: {e}; {hint}",
            shown.display()
        ))
    })?;
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(UsageError(format!("no job files (*.toml) in {}; {hint}", shown.display())).into());
    }
    Ok(found)
}
