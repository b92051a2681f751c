//! `s3shift status` and `s3shift schedule`: what the jobs did, and when they run.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use s3shift_jobs::clients::ClientOverrides;
use s3shift_jobs::schedule::{eventbridge_expression, next_fires};
use s3shift_jobs::status::job_status;

use super::run::{JobArgs, load_spec, pipeline, runtime};
use crate::UsageError;

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Job name or job file; default every job in --jobs-dir.
    job: Option<String>,
    /// Folder of job files.
    #[arg(long, value_name = "DIR", default_value = "jobs", env = "S3SHIFT_JOBS_DIR")]
    jobs_dir: PathBuf,
    /// How many recent runs to show per job.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    limit: u32,
    /// JSON on stdout, for scripts (one object per job, one line each).
    #[arg(long)]
    json: bool,
}

pub(crate) fn status(args: &StatusArgs) -> Result<u8> {
    let names = job_names(args.job.iter().cloned().collect(), &args.jobs_dir)?;
    let specs = load_specs(&names, &args.jobs_dir)?;
    runtime()?.block_on(async {
        let mut out = std::io::stdout().lock();
        for spec in &specs {
            let p = pipeline(spec, &ClientOverrides::default()).await?;
            let st = job_status(&p.api, spec, args.limit, chrono::Utc::now())
                .await
                .with_context(|| format!("reading the runs of job {}", spec.name()))?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&st)?)?;
                continue;
            }
            let hours = |h: Option<f64>| h.map_or("n/a".into(), |h| format!("{h:.1} h"));
            writeln!(
                out,
                "job {}: lag {}, min slack to expiry {}{}",
                st.job,
                hours(st.lag_hours),
                hours(st.min_slack_hours),
                if st.expiry_warning {
                    "  WARNING: under the job's threshold"
                } else {
                    ""
                }
            )?;
            writeln!(
                out,
                "  {:<40} {:<9} {:>9} {:>9} {:>11} {:>10} {:>8}",
                "run", "status", "listed", "loaded", "quarantined", "unreadable", "seconds"
            )?;
            let n = |v: Option<i64>| v.map_or("-".into(), |v| v.to_string());
            for r in &st.runs {
                writeln!(
                    out,
                    "  {:<40} {:<9} {:>9} {:>9} {:>11} {:>10} {:>8}",
                    r.run_id,
                    r.status,
                    n(r.objects_listed),
                    n(r.objects_loaded),
                    n(r.objects_quarantined),
                    n(r.objects_failed),
                    r.duration_s.map_or("-".into(), |d| format!("{d:.1}"))
                )?;
            }
            if st.runs.is_empty() {
                writeln!(out, "  (no runs recorded yet)")?;
            }
        }
        Ok(0)
    })
}

/// Output formats of `schedule --print`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PrintFormat {
    /// EventBridge Scheduler `cron(...)` expressions, as deploy/ uses them.
    Eventbridge,
    /// The job files' own cron expressions and their next fire times.
    Cron,
}

#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    /// Jobs (names or files); default every job in --jobs-dir.
    jobs: Vec<String>,
    /// Folder of job files.
    #[arg(long, value_name = "DIR", default_value = "jobs", env = "S3SHIFT_JOBS_DIR")]
    jobs_dir: PathBuf,
    /// Print the schedules instead of running them.
    #[arg(long, value_enum)]
    print: Option<PrintFormat>,
    /// With --print: JSON on stdout.
    #[arg(long)]
    json: bool,
    /// After SIGTERM or Ctrl-C: stop scheduling, let running runs drain, and exit after at most this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 25)]
    stop_timeout_seconds: u64,
}

/// Reads and validates every named job file (names or paths, resolved against `dir`), as written: the
/// deployment replacements of single-job commands name one job's buckets.
fn load_specs(names: &[String], dir: &std::path::Path) -> Result<Vec<s3shift_jobs::JobSpec>> {
    names
        .iter()
        .map(|name| {
            load_spec(&JobArgs {
                job: name.clone(),
                jobs_dir: dir.to_owned(),
                deploy: super::run::DeployArgs::default(),
            })
        })
        .collect()
}

/// `names`, or every job file in `dir` when there are none.
fn job_names(names: Vec<String>, dir: &std::path::Path) -> Result<Vec<String>> {
    if !names.is_empty() {
        return Ok(names);
    }
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    found.sort();
    if found.is_empty() {
        bail!("no job files in {}", dir.display());
    }
    Ok(found)
}

pub(crate) fn schedule(args: &ScheduleArgs) -> Result<u8> {
    let names = job_names(args.jobs.clone(), &args.jobs_dir)?;
    let Some(format) = args.print else {
        return serve_schedule(args, &names);
    };
    let mut out = std::io::stdout().lock();
    let mut json = serde_json::Map::new();
    for spec in load_specs(&names, &args.jobs_dir)? {
        let cron = &spec.config.schedule.cron;
        match format {
            PrintFormat::Eventbridge => {
                let expr = eventbridge_expression(cron)
                    .map_err(|e| UsageError(format!("{}: schedule.cron: {e}", spec.file.display())))?;
                if args.json {
                    json.insert(spec.name().to_owned(), serde_json::Value::String(expr));
                } else {
                    writeln!(out, "{}\t{expr}", spec.name())?;
                }
            }
            PrintFormat::Cron => {
                let next: Vec<String> = next_fires(&spec, chrono::Utc::now(), 3)
                    .iter()
                    .map(|t| t.to_rfc3339())
                    .collect();
                if args.json {
                    json.insert(
                        spec.name().to_owned(),
                        serde_json::json!({"cron": cron, "next": next}),
                    );
                } else {
                    writeln!(out, "{}\t{cron}\tnext: {}", spec.name(), next.join(", "))?;
                }
            }
        }
    }
    if args.json {
        writeln!(out, "{}", serde_json::Value::Object(json))?;
    }
    Ok(0)
}

/// The long-running scheduler: every job on its cron schedule, one run of a job at a time, in this process.
fn serve_schedule(args: &ScheduleArgs, names: &[String]) -> Result<u8> {
    use s3shift_jobs::schedule::{Runner, Scheduled, SystemClock, run_schedule};
    use std::collections::HashMap;
    use std::sync::Arc;
    let specs = load_specs(names, &args.jobs_dir)?;
    runtime()?.block_on(async {
        let timeout = std::time::Duration::from_secs(args.stop_timeout_seconds);
        let stop = super::run::stop_on_signal(timeout + std::time::Duration::from_secs(5))?;
        let mut jobs = HashMap::new();
        let mut scheduled = Vec::new();
        for spec in specs {
            let p = pipeline(&spec, &ClientOverrides::default()).await?;
            scheduled.push(Scheduled {
                name: spec.name().to_owned(),
                schedule: spec.schedule.clone(),
            });
            jobs.insert(spec.name().to_owned(), (spec, p));
        }
        let jobs = Arc::new(jobs);
        let run_stop = stop.clone();
        let runner: Runner = Arc::new(move |name, tick| {
            let (jobs, stop) = (jobs.clone(), run_stop.clone());
            Box::pin(async move {
                let Some((spec, p)) = jobs.get(&name) else { return };
                let options = s3shift_jobs::RunOptions {
                    stop: Some(stop),
                    ..s3shift_jobs::RunOptions::default()
                };
                match p.run(spec, &options).await {
                    Ok(_) => tracing::info!(job = %name, tick = %tick.to_rfc3339(), "scheduled run ended"),
                    Err(e) => tracing::error!(job = %name, tick = %tick.to_rfc3339(), error = %e, "scheduled run failed"),
                }
            })
        });
        tracing::info!(jobs = scheduled.len(), "scheduler started");
        run_schedule(scheduled, Arc::new(SystemClock), runner, stop, timeout).await;
        Ok(0)
    })
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// JSON on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

/// `s3shift doctor`: one line per check; exit 1 when any check fails.
pub(crate) fn doctor(args: &DoctorArgs) -> Result<u8> {
    use s3shift_jobs::doctor::Verdict;
    let spec = load_spec(&args.job)?;
    runtime()?.block_on(async {
        let (p, clients) = super::run::pipeline_with_clients(&spec, &ClientOverrides::default()).await?;
        let checks = s3shift_jobs::doctor::doctor(&spec, &clients, &p.s3, &p.api).await;
        let failed = checks.iter().any(|c| c.verdict == Verdict::Fail);
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&checks)?)?;
        } else {
            for c in &checks {
                let v = match c.verdict {
                    Verdict::Pass => "PASS",
                    Verdict::Warn => "WARN",
                    Verdict::Fail => "FAIL",
                };
                if c.fix.is_empty() {
                    writeln!(out, "{v}  {}: {}", c.name, c.detail)?;
                } else {
                    writeln!(out, "{v}  {}: {}\n      fix: {}", c.name, c.detail, c.fix)?;
                }
            }
        }
        Ok(if failed { crate::EXIT_FAILURE } else { 0 })
    })
}
