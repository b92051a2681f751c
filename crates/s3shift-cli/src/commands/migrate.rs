//! `s3shift migrate`: the warehouse's migrations (`sql/`, compiled in), each file in one transaction, run as an
//! administrator.

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
    /// Run the migrations as the database user of this Secrets Manager secret: the namespace's admin secret
    /// (Redshift Serverless creates it with ManageAdminPassword; deploy/warehouse.yaml exports its ARN). The
    /// caller needs secretsmanager:GetSecretValue on it. Without it, the migrations run as the caller's own IAM
    /// identity, which must then be a database superuser.
    #[arg(long, env = "S3SHIFT_ADMIN_SECRET_ARN", value_name = "ARN")]
    pub(crate) admin_secret_arn: Option<String>,
}

pub(crate) fn run(args: &MigrateArgs) -> Result<u8> {
    let spec = load_spec(&args.job)?;
    runtime()?.block_on(async {
        let p = pipeline(&spec, &ClientOverrides::default()).await?;
        let api = match &args.admin_secret_arn {
            Some(arn) => p.api.clone().with_secret(arn),
            None => p.api.clone(),
        };
        let code = apply_migrations(&api, args.admin_secret_arn.is_some()).await?;
        let granted = s3shift_jobs::migrate::grant_job(&api, &spec)
            .await
            .with_context(|| format!("granting the loader role what job {} needs", spec.name()))?;
        let mut out = std::io::stdout().lock();
        for statement in granted {
            writeln!(out, "job {}: {statement}", spec.name())?;
        }
        Ok(code)
    })
}

/// Applies the migrations through `api`; `as_admin` says whether it runs as the admin secret's user (for the
/// advice when it may not create the schema or the roles).
pub(crate) async fn apply_migrations(api: &DataApi, as_admin: bool) -> Result<u8> {
    let done = migrate(api).await.map_err(anyhow::Error::from).with_context(|| {
        if as_admin {
            "migrating the warehouse".to_owned()
        } else {
            "migrating the warehouse (migrations create the schema, tables and roles: run them as the admin, \
             with --admin-secret-arn or S3SHIFT_ADMIN_SECRET_ARN naming the namespace's admin secret)"
                .to_owned()
        }
    })?;
    let mut out = std::io::stdout().lock();
    for (m, outcome) in done {
        match outcome {
            MigrationOutcome::AlreadyApplied => writeln!(out, "migration {}: already applied", m.name)?,
            MigrationOutcome::Applied(n) => writeln!(out, "migration {}: applied ({n} statements)", m.name)?,
        }
    }
    Ok(0)
}
