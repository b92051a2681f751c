//! `s3shift run` and `s3shift migrate`: one run of a job, and the warehouse's migrations.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use s3shift_core::RunId;
use s3shift_jobs::clients::{ClientOverrides, build_clients};
use s3shift_jobs::migrate::{MigrationOutcome, migrate};
use s3shift_jobs::{
    Backfill, JobSpec, Override, Overrides, Pipeline, Progress, RunOptions, RunOutcome, RunSummary,
};
use s3shift_redshift::{DataApi, PollConfig};
use s3shift_s3::{S3Store, StoreConfig};

use crate::{EXIT_PARTIAL, UsageError};

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

const SOURCE_BUCKET_VAR: &str = "S3SHIFT_SOURCE_BUCKET";
const STAGING_BUCKET_VAR: &str = "S3SHIFT_STAGING_BUCKET";
const WORKGROUP_VAR: &str = "S3SHIFT_WORKGROUP";
const DATABASE_VAR: &str = "S3SHIFT_DATABASE";
const COPY_IAM_ROLE_VAR: &str = "S3SHIFT_COPY_IAM_ROLE";

/// The job file's deployment-specific fields, for an account whose names differ from the file's: the ECS task
/// definitions (deploy/compute.yaml) set them from the stacks' outputs. Validated like the fields they replace.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Deployment (replace fields of the job file)")]
pub(crate) struct DeployArgs {
    /// The ingestion bucket (source.bucket).
    #[arg(long, value_name = "BUCKET", env = SOURCE_BUCKET_VAR)]
    source_bucket: Option<String>,
    /// The staging bucket (staging.bucket).
    #[arg(long, value_name = "BUCKET", env = STAGING_BUCKET_VAR)]
    staging_bucket: Option<String>,
    /// The Redshift Serverless workgroup (warehouse.workgroup).
    #[arg(long, value_name = "NAME", env = WORKGROUP_VAR)]
    workgroup: Option<String>,
    /// The database (warehouse.database).
    #[arg(long, value_name = "NAME", env = DATABASE_VAR)]
    database: Option<String>,
    /// The role COPY reads the staging bucket with: `default` or an ARN (warehouse.copy_iam_role).
    #[arg(long, value_name = "ARN", env = COPY_IAM_ROLE_VAR)]
    copy_iam_role: Option<String>,
}

impl DeployArgs {
    /// What these replace, each naming its flag and variable.
    pub(crate) fn overrides(&self) -> Overrides {
        let given = |value: &Option<String>, flag: &str, var: &str| {
            value.as_ref().map(|value| Override {
                value: value.clone(),
                from: format!("--{flag} or {var}"),
            })
        };
        Overrides {
            source_bucket: given(&self.source_bucket, "source-bucket", SOURCE_BUCKET_VAR),
            staging_bucket: given(&self.staging_bucket, "staging-bucket", STAGING_BUCKET_VAR),
            workgroup: given(&self.workgroup, "workgroup", WORKGROUP_VAR),
            database: given(&self.database, "database", DATABASE_VAR),
            copy_iam_role: given(&self.copy_iam_role, "copy-iam-role", COPY_IAM_ROLE_VAR),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// Oldest LastModified to reprocess: RFC 3339, `YYYY-MM-DDTHH:MM:SS` (UTC) or `YYYY-MM-DD` (midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// LastModified from which objects are left out (same formats).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// List these prefixes instead of the job's (repeatable).
    #[arg(long = "prefix", value_name = "PREFIX")]
    prefixes: Vec<String>,
    /// Only the keys in this file, one per line (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    keys_from: Option<PathBuf>,
    /// Print counts, bytes, estimated S3 requests and Redshift statements; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// The run whose staged Parquet files to load again.
    #[arg(long = "run", value_name = "RUN_ID")]
    run_id: String,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Parses a time given on the command line (always UTC).
fn parse_time(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!(
        "{s:?} is not a time: use RFC 3339, YYYY-MM-DDTHH:MM:SS (UTC) or YYYY-MM-DD"
    ))
}

pub(crate) fn backfill(args: &BackfillArgs) -> Result<u8> {
    let spec = load_spec(&args.job)?;
    if args.since.is_none() && args.keys_from.is_none() {
        return Err(UsageError("backfill needs --since TIME or --keys-from FILE".into()).into());
    }
    if let (Some(a), Some(b)) = (args.since, args.until)
        && a >= b
    {
        return Err(UsageError(format!("--since {a} is not before --until {b}")).into());
    }
    let keys = match &args.keys_from {
        None => None,
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading keys from standard input")?
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading keys from {}", path.display()))?
            };
            let keys: std::collections::HashSet<String> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if keys.is_empty() {
                return Err(UsageError(format!("{}: no keys", path.display())).into());
            }
            Some(keys)
        }
    };
    let options = RunOptions {
        dry_run: args.dry_run,
        progress: progress_mode(),
        backfill: Some(Backfill {
            since: args.since,
            until: args.until,
            prefixes: args.prefixes.clone(),
            keys,
        }),
        ..RunOptions::default()
    };
    runtime()?.block_on(async {
        let p = pipeline(&spec, &ClientOverrides::default()).await?;
        run_with(&p, &spec, &options, args.json, true).await
    })
}

pub(crate) fn replay(args: &ReplayArgs) -> Result<u8> {
    let spec = load_spec(&args.job)?;
    let run = RunId::parse(&args.run_id).map_err(|e| UsageError(format!("--run: {e}")))?;
    runtime()?.block_on(async {
        let p = pipeline(&spec, &ClientOverrides::default()).await?;
        let outcome = p
            .replay(&spec, &run, &RunOptions::default())
            .await
            .with_context(|| format!("replay of run {run}"))?;
        print_outcome(outcome, args.json, true)
    })
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// Print the plan (counts, bytes, estimated requests, most urgent object) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// After SIGTERM or Ctrl-C: stop reading new objects, stage and load what was read, and give up (exit 1;
    /// the next run finishes any pending load) if that takes longer than this. ECS waits 30 s by default.
    #[arg(long, value_name = "SECONDS", default_value_t = 25)]
    stop_timeout_seconds: u64,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
}

/// Loads and validates the job, with the deployment's replacements, and logs each replacement.
pub(crate) fn load_spec(args: &JobArgs) -> Result<JobSpec> {
    let path = s3shift_jobs::resolve_job(&args.jobs_dir, &args.job);
    let spec = s3shift_jobs::load_job_with(&path, &args.deploy.overrides())
        .map_err(|e| UsageError(e.to_string()))?;
    for (field, o) in spec.overrides.fields() {
        tracing::info!(job = %spec.name(), field, value = %o.value, from = %o.from, "job file field replaced");
    }
    Ok(spec)
}

/// The pipeline's clients for `spec`.
pub(crate) async fn pipeline(spec: &JobSpec, overrides: &ClientOverrides) -> Result<Pipeline> {
    Ok(pipeline_with_clients(spec, overrides).await?.0)
}

/// [`pipeline`], and the clients it was built from (for `doctor`, which also needs the Serverless client).
pub(crate) async fn pipeline_with_clients(
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
    };
    Ok((p, clients))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")
}

pub(crate) fn run(args: &RunArgs) -> Result<u8> {
    let spec = load_spec(&args.job)?;
    runtime()?.block_on(async {
        let p = pipeline(&spec, &ClientOverrides::default()).await?;
        let options = RunOptions {
            dry_run: args.dry_run,
            stop: Some(stop_on_signal(std::time::Duration::from_secs(
                args.stop_timeout_seconds,
            ))?),
            progress: progress_mode(),
            ..RunOptions::default()
        };
        run_with(&p, &spec, &options, args.json, true).await
    })
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
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::warn!(
            timeout_s = timeout.as_secs(),
            "stop requested: draining to a consistent point"
        );
        let _ = tx.send(true);
        tokio::time::sleep(timeout).await;
        eprintln!(
            "s3shift: the drain did not finish within {} s; exiting (the next run finishes any pending load)",
            timeout.as_secs()
        );
        std::process::exit(i32::from(crate::EXIT_FAILURE));
    });
    Ok(rx)
}

pub(crate) fn migrate_cmd(args: &MigrateArgs) -> Result<u8> {
    let spec = load_spec(&args.job)?;
    runtime()?.block_on(async {
        let p = pipeline(&spec, &ClientOverrides::default()).await?;
        apply_migrations(&p.api).await
    })
}

pub(crate) async fn apply_migrations(api: &DataApi) -> Result<u8> {
    let done = migrate(api).await.context("migrating the warehouse")?;
    let mut out = std::io::stdout().lock();
    for (m, outcome) in done {
        match outcome {
            MigrationOutcome::AlreadyApplied => writeln!(out, "migration {}: already applied", m.name)?,
            MigrationOutcome::Applied(n) => writeln!(out, "migration {}: applied ({n} statements)", m.name)?,
        }
    }
    Ok(0)
}

/// Runs the job and prints the outcome; the exit code is 3 when objects were quarantined or left unreadable.
#[cfg(feature = "local")]
pub(crate) async fn run_job(p: &Pipeline, spec: &JobSpec, dry_run: bool, json: bool) -> Result<u8> {
    let options = RunOptions {
        dry_run,
        ..RunOptions::default()
    };
    // The demo talks to a person: no metric lines, whatever stdout is.
    run_with(p, spec, &options, json, false).await
}

async fn run_with(
    p: &Pipeline,
    spec: &JobSpec,
    options: &RunOptions,
    json: bool,
    metrics: bool,
) -> Result<u8> {
    let outcome = p
        .run(spec, options)
        .await
        .with_context(|| format!("run of job {}", spec.name()))?;
    print_outcome(outcome, json, metrics)
}

/// Prints the outcome; `metrics` adds the EMF line per run when logs are JSON lines.
fn print_outcome(outcome: RunOutcome, json: bool, metrics: bool) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match outcome {
        RunOutcome::DryRun {
            run_id,
            plan,
            pending_load,
            ledger_statements,
        } => {
            let c = &plan.counts;
            if json {
                let v = serde_json::json!({
                    "run_id": run_id.to_string(), "counts": c, "min_slack_hours": plan.min_slack_hours,
                    "most_urgent": plan.most_urgent.as_ref().map(|o| serde_json::json!({
                        "key": o.key, "last_modified": o.last_modified.to_rfc3339(),
                        "expires_at": o.expires_at.map(|e| e.to_rfc3339())})),
                    "pending_load": pending_load,
                });
                writeln!(out, "{v}")?;
                return Ok(0);
            }
            writeln!(out, "plan for {run_id} (dry run: nothing read or written)")?;
            writeln!(out, "  listed            {:>12}", c.listed)?;
            writeln!(out, "  already loaded    {:>12}", c.already_loaded)?;
            writeln!(out, "  too young         {:>12}", c.too_young)?;
            writeln!(out, "  over the limits   {:>12}", c.deferred)?;
            writeln!(
                out,
                "  to load           {:>12}  ({} bytes of objects)",
                c.planned, c.planned_bytes
            )?;
            writeln!(
                out,
                "  estimated reads   {:>12}  GETs, {} bytes; 1 COPY in 1 Data API batch",
                c.estimated_get_requests, c.estimated_bytes_read
            )?;
            if let Some(o) = &plan.most_urgent {
                let expiry = o
                    .expires_at
                    .map_or("never (no lifecycle rule)".into(), |e| e.to_rfc3339());
                writeln!(
                    out,
                    "  most urgent       {:?} modified {}, expires {expiry}",
                    o.key,
                    o.last_modified.to_rfc3339()
                )?;
            }
            if let Some(h) = plan.min_slack_hours {
                writeln!(out, "  min slack         {h:>12.1} hours to expiry")?;
            }
            if let Some(r) = pending_load {
                writeln!(out, "  pending load      {r} (a real run finishes it first)")?;
            }
            writeln!(
                out,
                "  Data API          {:>12}  statements ({ledger_statements} to read the ledger, {}report)",
                ledger_statements + if c.planned > 0 { 2 } else { 1 },
                if c.planned > 0 { "one load batch, " } else { "" }
            )?;
            Ok(0)
        }
        RunOutcome::Skipped { holder, expires_at } => {
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"skipped": true, "lease_holder": holder, "lease_expires_at": expires_at})
                )?;
            } else {
                writeln!(
                    out,
                    "skipped: another run of this job holds its lease ({holder}, until {expires_at})"
                )?;
            }
            Ok(0)
        }
        RunOutcome::Ran(summaries) => {
            let mut code = 0;
            for s in &summaries {
                if metrics
                    && s3shift_telemetry::LogFormat::from_env() == Ok(s3shift_telemetry::LogFormat::Json)
                {
                    writeln!(
                        out,
                        "{}",
                        run_metrics(s).to_line(chrono::Utc::now().timestamp_millis())
                    )?;
                }
                if json {
                    writeln!(out, "{}", serde_json::to_string(s)?)?;
                } else {
                    print_summary(&mut out, s)?;
                }
                if s.objects_quarantined + s.objects_failed > 0 {
                    code = EXIT_PARTIAL;
                }
            }
            Ok(code)
        }
    }
}

/// The run's metrics as one CloudWatch EMF line (dimension: the job; names `s3shift_<thing>_<unit>`).
pub(crate) fn run_metrics(s: &RunSummary) -> s3shift_telemetry::emf::MetricSet {
    use s3shift_telemetry::emf::{MetricSet, Unit};
    let count = |name: &str, v: u64| (format!("s3shift_{name}_count"), Unit::Count, v as f64);
    let mut metrics = vec![
        count("objects_listed", s.objects_listed),
        count("objects_loaded", s.objects_loaded),
        count("objects_quarantined", s.objects_quarantined),
        count("objects_vanished", s.objects_vanished),
        count("objects_unreadable", s.objects_failed),
        count("objects_already_loaded", s.objects_already_loaded),
        count("get_requests", s.get_requests),
        count("data_api_statements", s.data_api_statements),
        (
            "s3shift_bytes_read_bytes".into(),
            Unit::Bytes,
            s.bytes_read as f64,
        ),
        ("s3shift_run_duration_seconds".into(), Unit::Seconds, s.duration_s),
        count("expiry_warnings", u64::from(s.expiry_warning)),
    ];
    if let Some(h) = s.min_slack_hours {
        metrics.push(("s3shift_min_slack_to_expiry_hours".into(), Unit::None, h));
    }
    MetricSet {
        namespace: "s3shift".into(),
        dimensions: vec![("job".into(), s.job.clone())],
        metrics,
        properties: vec![
            ("run_id".into(), serde_json::Value::from(s.run_id.clone())),
            ("status".into(), serde_json::Value::from(s.status.clone())),
        ],
    }
}

fn print_summary(out: &mut impl Write, s: &RunSummary) -> std::io::Result<()> {
    let resumed = if s.resumed {
        " (finished an interrupted run)"
    } else {
        ""
    };
    writeln!(out, "run {}: {}{resumed}", s.run_id, s.status)?;
    writeln!(
        out,
        "  objects   listed {}, loaded {}, already loaded {}, too young {}, deferred {}",
        s.objects_listed, s.objects_loaded, s.objects_already_loaded, s.objects_too_young, s.objects_deferred
    )?;
    writeln!(
        out,
        "            quarantined {}, vanished {}, unreadable {}",
        s.objects_quarantined, s.objects_vanished, s.objects_failed
    )?;
    writeln!(
        out,
        "  requests  {} GETs ({} bytes read), {} LISTs, {} Data API statements, {} COPY",
        s.get_requests, s.bytes_read, s.list_requests, s.data_api_statements, s.copy_statements
    )?;
    let slack = s.min_slack_hours.map_or("n/a".into(), |h| format!("{h:.1} h"));
    let warn = if s.expiry_warning {
        "  WARNING: under the job's threshold"
    } else {
        ""
    };
    writeln!(out, "  expiry    min slack {slack}{warn}")?;
    let t = &s.stage_seconds;
    writeln!(
        out,
        "  time      {:.2} s (plan {:.2}, extract+stage {:.2}, load {:.2}, report {:.2}; slowest: {})",
        s.duration_s, t.plan, t.extract, t.load, t.report, s.slowest_stage
    )
}
