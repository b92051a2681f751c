//! `s3shift status`: the recent runs of each job, its lag and its slack to expiry.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use s3shift_jobs::clients::ClientOverrides;
use s3shift_jobs::status::job_status;

use super::job::{JobArgs, job_names, load_spec, pipeline, runtime};

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
    /// JSON on stdout, for scripts: one document, the job's object when a job is named, else an array with one
    /// object per job of the folder (`{"job", "file", "error"}` for a job file that does not validate).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &StatusArgs) -> Result<u8> {
    let folder = args.job.is_none();
    let names = job_names(args.job.iter().cloned().collect(), &args.jobs_dir)?;
    // A named job that does not validate is a usage error (exit 2); over the folder, one broken file is
    // reported beside the others' status and makes the exit 1.
    let mut specs = Vec::new();
    let mut broken = Vec::new();
    for name in &names {
        match load_spec(&JobArgs {
            job: name.clone(),
            jobs_dir: args.jobs_dir.clone(),
            deploy: super::job::DeployArgs::default(),
        }) {
            Ok(spec) => specs.push(spec),
            Err(e) if folder => broken.push((name.clone(), format!("{e:#}"))),
            Err(e) => return Err(e),
        }
    }
    runtime()?.block_on(async {
        let mut out = std::io::stdout().lock();
        let mut documents = Vec::new();
        for (name, error) in &broken {
            if args.json {
                let job = std::path::Path::new(name)
                    .file_stem()
                    .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned());
                documents.push(serde_json::json!({"job": job, "file": name, "error": error}));
            } else {
                writeln!(out, "job {name}: its file does not validate: {error}")?;
            }
        }
        for spec in &specs {
            let p = pipeline(spec, &ClientOverrides::default()).await?;
            let mut st = job_status(&p.api, spec, args.limit, chrono::Utc::now())
                .await
                .with_context(|| format!("reading the runs of job {}", spec.name()))?;
            if let Some(queue) = &p.events {
                st.queue = Some(
                    s3shift_jobs::status::queue_status(queue)
                        .await
                        .with_context(|| format!("reading the event queue of job {}", spec.name()))?,
                );
            }
            if args.json {
                documents.push(serde_json::to_value(&st)?);
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
            if let Some(q) = &st.queue {
                writeln!(
                    out,
                    "  event queue: {} waiting, {} in flight ({})",
                    q.visible, q.in_flight, q.url
                )?;
                match (&q.dead_letter_url, q.dead_letter_messages) {
                    (Some(url), Some(n)) => writeln!(
                        out,
                        "  dead-letter queue: {n} messages{} ({url})",
                        if n > 0 {
                            "  WARNING: events whose objects could not be read; see the runs' logs"
                        } else {
                            ""
                        }
                    )?,
                    _ => writeln!(
                        out,
                        "  dead-letter queue: none (the queue has no redrive policy: a poison message is \
                         received forever)"
                    )?,
                }
            }
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
                    r.status_text,
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
        if args.json {
            let doc = match (folder, documents.pop()) {
                (false, Some(one)) => one,
                (false, None) => serde_json::Value::Null,
                (true, last) => {
                    documents.extend(last);
                    serde_json::Value::Array(documents)
                }
            };
            writeln!(out, "{doc}")?;
        }
        Ok(if broken.is_empty() { 0 } else { crate::EXIT_FAILURE })
    })
}
