//! `s3shift schedule`: the jobs' schedules, printed (`--print`) or served by a long-running scheduler.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use s3shift_jobs::clients::ClientOverrides;
use s3shift_jobs::schedule::{eventbridge_expression, next_fires};

use super::job::{job_names, load_specs, pipeline, runtime, stop_on_signal};
use crate::UsageError;

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

pub(crate) fn run(args: &ScheduleArgs) -> Result<u8> {
    let names = job_names(args.jobs.clone(), &args.jobs_dir)?;
    let Some(format) = args.print else {
        return serve_schedule(args, &names);
    };
    let mut out = std::io::stdout().lock();
    let mut json = serde_json::Map::new();
    for spec in load_specs(&names, &args.jobs_dir)? {
        // A job in event mode also has its reconciliation scan (`run <job> --scan`), on its own cron.
        let mut entries = vec![(
            spec.name().to_owned(),
            spec.config.schedule.cron.clone(),
            "schedule.cron",
        )];
        if let Some(e) = &spec.config.source.events {
            entries.push((
                format!("{}-reconcile", spec.name()),
                e.reconcile_cron.clone(),
                "source.events.reconcile_cron",
            ));
        }
        for (name, cron, field) in entries {
            match format {
                PrintFormat::Eventbridge => {
                    let expr = eventbridge_expression(&cron)
                        .map_err(|e| UsageError(format!("{}: {field}: {e}", spec.file.display())))?;
                    if args.json {
                        json.insert(name, serde_json::Value::String(expr));
                    } else {
                        writeln!(out, "{name}\t{expr}")?;
                    }
                }
                PrintFormat::Cron => {
                    let schedule = if field == "schedule.cron" {
                        &spec.schedule
                    } else {
                        spec.reconcile.as_ref().unwrap_or(&spec.schedule)
                    };
                    let next: Vec<String> = next_fires(schedule, chrono::Utc::now(), 3)
                        .iter()
                        .map(|t| t.to_rfc3339())
                        .collect();
                    if args.json {
                        json.insert(name, serde_json::json!({"cron": cron, "next": next}));
                    } else {
                        writeln!(out, "{name}\t{cron}\tnext: {}", next.join(", "))?;
                    }
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
        let stop = stop_on_signal(timeout + std::time::Duration::from_secs(5))?;
        let mut jobs = HashMap::new();
        let mut scheduled = Vec::new();
        for spec in specs {
            let p = pipeline(&spec, &ClientOverrides::default()).await?;
            scheduled.push(Scheduled {
                name: spec.name().to_owned(),
                schedule: spec.schedule.clone(),
            });
            if let Some(reconcile) = &spec.reconcile {
                let name = format!("{}-reconcile", spec.name());
                scheduled.push(Scheduled {
                    name: name.clone(),
                    schedule: reconcile.clone(),
                });
                jobs.insert(name, (spec.clone(), p.clone(), true));
            }
            jobs.insert(spec.name().to_owned(), (spec, p, false));
        }
        let jobs = Arc::new(jobs);
        let run_stop = stop.clone();
        let runner: Runner = Arc::new(move |name, tick| {
            let (jobs, stop) = (jobs.clone(), run_stop.clone());
            Box::pin(async move {
                let Some((spec, p, scan)) = jobs.get(&name) else { return };
                let options = s3shift_jobs::RunOptions {
                    stop: Some(stop),
                    scan: *scan,
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
