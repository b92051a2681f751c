//! `s3shift migrate`: the warehouse's migrations (`sql/`, compiled in), each file in one transaction.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use s3shift_jobs::clients::ClientOverrides;
use s3shift_jobs::migrate::{MigrationOutcome, migrate};
use s3shift_redshift::DataApi;

use super::job::{JobArgs, load_spec, pipeline, runtime};

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
}

pub(crate) fn run(args: &MigrateArgs) -> Result<u8> {
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
