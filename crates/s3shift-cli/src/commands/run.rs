//! `s3shift run`, `backfill` and `replay`: one run of a job, a reprocessing of part of its source, and a reload
//! of a past run's staged files; and how their outcomes are printed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use s3shift_core::RunId;
use s3shift_jobs::clients::ClientOverrides;
use s3shift_jobs::{Backfill, JobSpec, Pipeline, RunMode, RunOptions, RunOutcome, RunSummary};

use s3shift_jobs::schedule::JobCadence;

use super::job::{
    JobArgs, load_spec, pipeline, pipeline_with_clients, progress_mode, runtime, stop_on_signal,
};
use crate::{EXIT_PARTIAL, UsageError};

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
    /// When another run of the job holds its lease, wait for it (checking every 10 s) instead of exiting 1.
    #[arg(long)]
    wait: bool,
    /// Send the objects to the job's event queue as work items for its `run --follow` consumers to share,
    /// instead of reading them here (a job with `[source.events]`; needs sqs:SendMessage on the queue).
    #[arg(long)]
    enqueue: bool,
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
    let backfill = Backfill {
        since: args.since,
        until: args.until,
        prefixes: args.prefixes.clone(),
        keys,
    };
    if args.enqueue {
        if spec.config.source.events.is_none() {
            return Err(UsageError(format!(
                "--enqueue sends work to the job's event queue, and job {} has no [source.events]",
                spec.name()
            ))
            .into());
        }
        return runtime()?.block_on(async {
            let p = pipeline(&spec, &ClientOverrides::default()).await?;
            let sent = p
                .enqueue_backfill(&spec, &backfill, args.dry_run)
                .await
                .with_context(|| format!("backfill --enqueue of job {}", spec.name()))?;
            let mut out = std::io::stdout().lock();
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&sent)?)?;
            } else {
                let verb = if sent.dry_run { "would send" } else { "sent" };
                writeln!(
                    out,
                    "{}: {verb} {} objects ({} bytes) in {} messages to {}; the job's followers read them \
                     again unless loaded since {}",
                    sent.job,
                    sent.objects,
                    sent.bytes,
                    sent.messages,
                    sent.queue,
                    sent.reprocess_unless_loaded_since
                )?;
                if sent.objects_not_found > 0 {
                    writeln!(out, "not found: {} named keys", sent.objects_not_found)?;
                }
            }
            Ok(0)
        });
    }
    let options = RunOptions {
        dry_run: args.dry_run,
        progress: progress_mode(),
        backfill: Some(backfill),
        ..RunOptions::default()
    };
    runtime()?.block_on(async {
        let (p, clients) = pipeline_with_clients(&spec, &ClientOverrides::default()).await?;
        let cadence = dry_run_cadence(&spec, &clients, args.dry_run).await;
        // A manual backfill that finds the job busy did not do what was asked: wait when told to, else exit 1
        // (a scheduled run that finds its job busy is fine, and exits 0).
        loop {
            let outcome = p
                .run(&spec, &options)
                .await
                .with_context(|| format!("backfill of job {}", spec.name()))?;
            match outcome {
                RunOutcome::Skipped { holder, expires_at } if args.wait => {
                    tracing::info!(holder = %holder, until = %expires_at,
                        "another run of this job holds its lease: waiting for it");
                    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                }
                RunOutcome::Skipped { .. } => {
                    let code = print_outcome(outcome, args.json, true, cadence.as_ref())?;
                    eprintln!(
                        "s3shift: backfill not run: another run of job {} holds its lease; rerun with --wait to \
                         wait for it",
                        spec.name()
                    );
                    return Ok(code.max(crate::EXIT_FAILURE));
                }
                outcome => return print_outcome(outcome, args.json, true, cadence.as_ref()),
            }
        }
    })
}

/// For a dry run, the job's cadence and what it costs (see [`s3shift_jobs::schedule::CadenceCost`]).
async fn dry_run_cadence(
    spec: &JobSpec,
    clients: &s3shift_jobs::clients::AwsClients,
    dry_run: bool,
) -> Option<JobCadence> {
    if !dry_run {
        return None;
    }
    Some(s3shift_jobs::schedule::job_cadence(spec, &clients.redshift_serverless, Utc::now()).await)
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
        print_outcome(outcome, args.json, true, None)
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
    /// For a job with [source.events]: plan from a listing (the reconciliation scan), loading what no event
    /// brought; objects younger than `reconcile_grace_seconds` are left to their events.
    #[arg(long, conflicts_with = "follow")]
    scan: bool,
    /// For a job with [source.events]: keep receiving and load whenever the oldest waiting object has waited
    /// `max_latency_seconds` or `max_batch` objects wait, until SIGTERM or Ctrl-C (what an ECS service runs).
    #[arg(long, conflicts_with = "dry_run")]
    follow: bool,
}

pub(crate) fn run(args: &RunArgs) -> Result<u8> {
    let spec = load_spec(&args.job)?;
    if (args.scan || args.follow) && spec.config.source.events.is_none() {
        let flag = if args.scan { "--scan" } else { "--follow" };
        return Err(UsageError(format!(
            "{flag} is for a job in event mode, and {} has no [source.events] table",
            spec.file.display()
        ))
        .into());
    }
    runtime()?.block_on(async {
        let (p, clients) = pipeline_with_clients(&spec, &ClientOverrides::default()).await?;
        let cadence = dry_run_cadence(&spec, &clients, args.dry_run).await;
        let options = RunOptions {
            dry_run: args.dry_run,
            stop: Some(stop_on_signal(std::time::Duration::from_secs(
                args.stop_timeout_seconds,
            ))?),
            progress: progress_mode(),
            scan: args.scan,
            ..RunOptions::default()
        };
        if args.follow {
            return follow(&p, &spec, &options, args.json).await;
        }
        if args.scan && !args.dry_run {
            // The reconciliation scan shares the job's lease with a `--follow` service, which holds it only while
            // it loads a batch: wait for it rather than skip a whole reconciliation period.
            for _ in 0..LEASE_WAITS {
                match p.run(&spec, &options).await {
                    Ok(RunOutcome::Skipped { holder, .. }) => {
                        tracing::info!(%holder, "the job's lease is held; the scan waits for it");
                        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                    }
                    other => {
                        let outcome = other.with_context(|| format!("run of job {}", spec.name()))?;
                        return print_outcome(outcome, args.json, true, None);
                    }
                }
            }
        }
        run_with(&p, &spec, &options, args.json, true, cadence.as_ref()).await
    })
}

/// How many times `run --scan` tries for a held lease, 10 s apart, before its last try.
const LEASE_WAITS: u32 = 30;

/// `run --follow`: prints each run as it ends; the exit code is 3 when any run quarantined objects or left
/// some unreadable.
async fn follow(p: &Pipeline, spec: &JobSpec, options: &RunOptions, json: bool) -> Result<u8> {
    let mut code = 0;
    let mut failed = None;
    p.follow(spec, options, |s| {
        if let Err(e) = print_outcome(RunOutcome::Ran(vec![s.clone()]), json, true, None) {
            failed.get_or_insert(e);
        }
        if s.objects_quarantined + s.objects_failed > 0 {
            code = EXIT_PARTIAL;
        }
    })
    .await
    .with_context(|| format!("following the event queue of job {}", spec.name()))?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(code)
}

/// Runs the job and prints the outcome; the exit code is 3 when objects were quarantined or left unreadable.
#[cfg(feature = "local")]
pub(crate) async fn run_job(p: &Pipeline, spec: &JobSpec, dry_run: bool, json: bool) -> Result<u8> {
    let options = RunOptions {
        dry_run,
        ..RunOptions::default()
    };
    // The demo talks to a person: no metric lines, whatever stdout is.
    run_with(p, spec, &options, json, false, None).await
}

async fn run_with(
    p: &Pipeline,
    spec: &JobSpec,
    options: &RunOptions,
    json: bool,
    metrics: bool,
    cadence: Option<&JobCadence>,
) -> Result<u8> {
    let outcome = p
        .run(spec, options)
        .await
        .with_context(|| format!("run of job {}", spec.name()))?;
    print_outcome(outcome, json, metrics, cadence)
}

/// Prints the outcome; `metrics` adds the EMF line per run, on stderr with the logs, when logs are JSON lines.
fn print_outcome(outcome: RunOutcome, json: bool, metrics: bool, cadence: Option<&JobCadence>) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match outcome {
        RunOutcome::DryRun {
            run_id,
            plan,
            pending_load,
            ledger_statements,
            queue,
        } => {
            let c = &plan.counts;
            if json {
                let v = serde_json::json!({
                    "run_id": run_id.to_string(), "counts": c, "min_slack_hours": plan.min_slack_hours,
                    "most_urgent": plan.most_urgent.as_ref().map(|o| serde_json::json!({
                        "key": o.key, "last_modified": o.last_modified.to_rfc3339(),
                        "expires_at": o.expires_at.map(|e| e.to_rfc3339())})),
                    "pending_load": pending_load,
                    "cadence": cadence.map(cadence_json),
                    "queue": queue.as_ref().map(|q| serde_json::json!({
                        "visible": q.queue.visible, "in_flight": q.queue.in_flight,
                        "dead_letter": q.dead_letter.as_ref().map(|(url, d)| serde_json::json!({
                            "url": url, "visible": d.visible}))})),
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
            if let Some(q) = &queue {
                writeln!(
                    out,
                    "  event queue       {:>12}  messages waiting, {} in flight (a run receives them; this plan is \
                     the reconciliation scan's)",
                    q.queue.visible, q.queue.in_flight
                )?;
                if let Some((url, d)) = &q.dead_letter {
                    writeln!(out, "  dead-letter queue {:>12}  messages ({url})", d.visible)?;
                }
            }
            if let Some(cadence) = cadence {
                write_cadence(&mut out, cadence)?;
            }
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
                    // With the log events on stderr: stdout keeps the summary alone.
                    eprintln!(
                        "{}",
                        run_metrics(s).to_line(chrono::Utc::now().timestamp_millis())
                    );
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
    if s.mode == Some(RunMode::Reconcile) {
        metrics.push(count("event_misses", s.event_misses));
    }
    if let Some(n) = s.dead_letter_messages {
        metrics.push(count("dead_letter_messages", n));
    }
    if let Some(e) = &s.events {
        metrics.extend([
            count("event_messages", e.messages),
            count("event_duplicates", e.duplicates + e.already_loaded),
            count("event_malformed", e.malformed),
            count("event_messages_left", e.left),
        ]);
    }
    if let Some(h) = s.min_slack_hours {
        metrics.push(("s3shift_min_slack_to_expiry_hours".into(), Unit::None, h));
    }
    MetricSet {
        namespace: "s3shift".into(),
        dimensions: vec![("job".into(), s.job.clone())],
        metrics,
        properties: vec![
            ("run_id".into(), serde_json::Value::from(s.run_id.clone())),
            ("status".into(), serde_json::Value::from(status_text(s))),
        ],
    }
}

/// The summary's status as text (a finished run always has one).
fn status_text(s: &RunSummary) -> &'static str {
    s.status.map_or("", s3shift_core::RunStatus::as_str)
}

fn print_summary(out: &mut impl Write, s: &RunSummary) -> std::io::Result<()> {
    let resumed = if s.resumed {
        " (finished an interrupted run)"
    } else {
        ""
    };
    let mode = match (&s.mode, &s.replay_of) {
        (Some(m), Some(of)) => format!(" [{m} of {of}]"),
        (Some(m), None) => format!(" [{m}]"),
        _ => String::new(),
    };
    writeln!(out, "run {}: {}{mode}{resumed}", s.run_id, status_text(s))?;
    writeln!(
        out,
        "  objects   listed {}, loaded {}, already loaded {}, too young {}, deferred {}",
        s.objects_listed, s.objects_loaded, s.objects_already_loaded, s.objects_too_young, s.objects_deferred
    )?;
    writeln!(
        out,
        "            quarantined {}, vanished {}, unreadable {} (loaded counts every row, quarantined and \
         vanished included)",
        s.objects_quarantined, s.objects_vanished, s.objects_failed
    )?;
    for q in &s.quarantined {
        writeln!(out, "  quarantined {:?}: {}: {}", q.key, q.status, q.reason)?;
    }
    if s.objects_quarantined > s.quarantined.len() as u64 {
        writeln!(
            out,
            "  ... and {} more",
            s.objects_quarantined - s.quarantined.len() as u64
        )?;
    }
    if s.objects_quarantined > 0 && !s.table.is_empty() {
        writeln!(
            out,
            "  all of them: SELECT object_key, status, reason FROM {} WHERE run_id = '{}' AND status IN \
             ('corrupt', 'truncated')",
            s.table, s.run_id
        )?;
    }
    writeln!(
        out,
        "  requests  {} GETs ({} bytes read), {} LISTs, {} Data API statements, {} COPY",
        s.get_requests, s.bytes_read, s.list_requests, s.data_api_statements, s.copy_statements
    )?;
    if let Some(e) = &s.events {
        writeln!(
            out,
            "  events    {} messages: {} created, {} duplicate, {} already loaded, {} ignored, {} foreign, {} \
             malformed; {} deleted, {} released, {} left for retry",
            e.messages,
            e.created,
            e.duplicates,
            e.already_loaded,
            e.ignored,
            e.foreign,
            e.malformed,
            e.deleted,
            e.released,
            e.left
        )?;
    }
    if s.mode == Some(RunMode::Reconcile) {
        writeln!(
            out,
            "  reconcile {} objects no event had brought (late or lost events)",
            s.event_misses
        )?;
    }
    if let Some(n) = s.dead_letter_messages {
        writeln!(out, "  dead-letter queue holds {n} messages")?;
    }
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

/// The cadence lines of a dry run: runs per day and the least they cost in RPU-hours.
fn write_cadence(out: &mut impl Write, cadence: &JobCadence) -> Result<()> {
    let runs = cadence.runs_per_day;
    match &cadence.cost {
        Ok(c) => writeln!(
            out,
            "  cadence           {runs:>12.1}  runs a day: at least {:.1} RPU-hours a day \
             ({runs:.1} runs x 60 s minimum x {} RPUs base / 3600; more when a load runs longer)",
            c.rpu_hours_per_day, c.base_rpus
        )?,
        Err(why) => writeln!(
            out,
            "  cadence           {runs:>12.1}  runs a day ({why}; each run is billed at least 60 s of base capacity)"
        )?,
    }
    if let Some(f) = &cadence.follower {
        let loads = f.loads_per_day + f.scans_per_day;
        let cost = match (f.rpu_hours_per_day, f.rpu_hours_per_month()) {
            (Some(day), Some(month)) => {
                format!("at least {day:.1} RPU-hours a day, {month:.0} in a 31-day month")
            }
            _ => "each billed at least 60 s of base capacity".to_owned(),
        };
        writeln!(
            out,
            "  follower          {loads:>12.1}  loads a day with uploads all day (--follow: one each \
             max_latency_seconds = {} s, plus {:.1} reconciliation scans): {cost}; compare with the workgroup's \
             usage limit (deploy/: MonthlyRpuHours)",
            f.max_latency_seconds, f.scans_per_day
        )?;
    }
    Ok(())
}

fn cadence_json(cadence: &JobCadence) -> serde_json::Value {
    let mut json = match &cadence.cost {
        Ok(c) => serde_json::json!({
            "runs_per_day": cadence.runs_per_day, "base_rpus": c.base_rpus,
            "min_rpu_hours_per_day": c.rpu_hours_per_day}),
        Err(why) => serde_json::json!({"runs_per_day": cadence.runs_per_day, "unknown_cost": why}),
    };
    if let (Some(f), Some(map)) = (&cadence.follower, json.as_object_mut()) {
        map.insert(
            "follower".into(),
            serde_json::json!({
                "max_latency_seconds": f.max_latency_seconds,
                "loads_per_day": f.loads_per_day,
                "reconcile_scans_per_day": f.scans_per_day,
                "min_rpu_hours_per_day": f.rpu_hours_per_day,
                "min_rpu_hours_per_month": f.rpu_hours_per_month(),
            }),
        );
    }
    json
}
