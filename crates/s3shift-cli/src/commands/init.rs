//! `s3shift init`: writes a starter job file with every field, its default and what it is for.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use s3shift_jobs::spec::starter::Starter;

use crate::UsageError;

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The new job's name (its file is `<jobs-dir>/<name>.toml`).
    name: String,
    /// The ingestion bucket the job reads.
    #[arg(long, value_name = "BUCKET")]
    bucket: String,
    /// Key prefixes to read (repeatable; default the whole bucket).
    #[arg(long = "prefix", value_name = "PREFIX")]
    prefixes: Vec<String>,
    /// The bucket staged Parquet files go to.
    #[arg(long, value_name = "BUCKET")]
    staging_bucket: String,
    /// The Redshift Serverless workgroup.
    #[arg(long, value_name = "NAME", default_value = "default-workgroup")]
    workgroup: String,
    /// The database.
    #[arg(long, value_name = "NAME", default_value = "dev")]
    database: String,
    /// The role COPY reads the staged files with: `default` or an ARN.
    #[arg(long, value_name = "ROLE", default_value = "default")]
    copy_iam_role: String,
    /// Folder of job files.
    #[arg(long, value_name = "DIR", default_value = "jobs", env = "S3SHIFT_JOBS_DIR")]
    jobs_dir: PathBuf,
    /// Replace a job file of that name.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(args: &InitArgs) -> Result<u8> {
    let text = Starter {
        name: &args.name,
        bucket: &args.bucket,
        prefixes: &args.prefixes,
        staging_bucket: &args.staging_bucket,
        workgroup: &args.workgroup,
        database: &args.database,
        copy_iam_role: &args.copy_iam_role,
    }
    .text()
    .map_err(|e| UsageError(format!("{e}")))?;
    let path = args.jobs_dir.join(format!("{}.toml", args.name));
    if path.exists() && !args.force {
        return Err(UsageError(format!(
            "{} exists: pick another name, or pass --force to replace it",
            path.display()
        ))
        .into());
    }
    std::fs::create_dir_all(&args.jobs_dir)
        .with_context(|| format!("creating {}", args.jobs_dir.display()))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "wrote {}", path.display())?;
    writeln!(
        out,
        "next: s3shift doctor {name}; s3shift migrate {name} (as the admin); s3shift run {name} --dry-run",
        name = args.name
    )?;
    Ok(0)
}
