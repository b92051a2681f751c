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
    /// The jobs' task roles: their database users (`IAMR:<name>`) get s3shift_loader directly, so that a task
    /// that signed in before migrate made the role loads at its next run. Repeat, or separate with commas (the
    /// migrate task of deploy/migrate.yaml names both task roles). A user that has not signed in yet is left to
    /// its tag.
    #[arg(
        long = "loader-role",
        env = "S3SHIFT_LOADER_ROLES",
        value_name = "ARN",
        value_delimiter = ','
    )]
    pub(crate) loader_roles: Vec<String>,
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
        let loaders = s3shift_jobs::migrate::grant_loader_users(&api, &args.loader_roles)
            .await
            .context("granting s3shift_loader to the task roles' database users")?;
        let mut out = std::io::stdout().lock();
        for statement in granted {
            writeln!(out, "job {}: {statement}", spec.name())?;
        }
        for l in loaders {
            match l {
                s3shift_jobs::migrate::LoaderGrant::Granted(user) => {
                    writeln!(out, "loader {user}: granted s3shift_loader")?;
                }
                s3shift_jobs::migrate::LoaderGrant::NotSignedIn(user) => writeln!(
                    out,
                    "loader {user}: not signed in yet; its RedshiftDbRoles tag gives it s3shift_loader when it does"
                )?,
            }
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
