//! `s3shift doctor`: every precondition of a job's runs, one line each, each failure with its fix.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use s3shift_jobs::clients::ClientOverrides;

use super::job::{JobArgs, load_spec, runtime, unchecked_pipeline};

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// JSON on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

/// `s3shift doctor`: one line per check; exit 1 when any check fails.
pub(crate) fn run(args: &DoctorArgs) -> Result<u8> {
    use s3shift_jobs::doctor::Verdict;
    let spec = load_spec(&args.job)?;
    runtime()?.block_on(async {
        let (p, clients) = unchecked_pipeline(&spec, &ClientOverrides::default()).await?;
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
                    Verdict::Skip => "SKIP",
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
