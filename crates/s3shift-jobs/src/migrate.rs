//! `sql/` migrations: applied in order, each in one transaction with its record in `s3shift.schema_migrations`.
//!
//! The files are compiled into the binary (the container has no `sql/` folder); a test checks that the list
//! below is exactly the folder's content.

use s3shift_redshift::DataApi;
use s3shift_redshift::sql::{IamRole, checksum, safe_literal, split_statements};

use crate::spec::JobSpec;
use crate::{Error, Result};

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number (the file name's leading digits).
    pub version: u32,
    /// The file name.
    pub name: &'static str,
    /// Its text.
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_tables.sql",
        sql: include_str!("../../../sql/0001_tables.sql"),
    },
    Migration {
        version: 2,
        name: "0002_analyst_views.sql",
        sql: include_str!("../../../sql/0002_analyst_views.sql"),
    },
    Migration {
        version: 3,
        name: "0003_roles.sql",
        sql: include_str!("../../../sql/0003_roles.sql"),
    },
    Migration {
        version: 4,
        name: "0004_load_fences.sql",
        sql: include_str!("../../../sql/0004_load_fences.sql"),
    },
    Migration {
        version: 5,
        name: "0005_copy_role.sql",
        sql: include_str!("../../../sql/0005_copy_role.sql"),
    },
    Migration {
        version: 6,
        name: "0006_embedded_metadata.sql",
        sql: include_str!("../../../sql/0006_embedded_metadata.sql"),
    },
];

const BOOTSTRAP: &[&str] = &[
    "CREATE SCHEMA IF NOT EXISTS s3shift",
    "CREATE TABLE IF NOT EXISTS s3shift.schema_migrations (version INTEGER NOT NULL, name VARCHAR(256) NOT NULL, \
     checksum VARCHAR(16) NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
];

/// What `migrate` did to one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationOutcome {
    /// Already applied, unchanged.
    AlreadyApplied,
    /// Applied now, with this many statements.
    Applied(usize),
}

/// Applies the pending migrations in order; each is one Data API batch (one transaction) that also records it.
///
/// # Errors
/// [`Error::Migration`] when an applied migration's file has changed since (its checksum differs), or when a
/// migration fails (its transaction is rolled back; the ones before it stay applied).
pub async fn migrate(api: &DataApi) -> Result<Vec<(Migration, MigrationOutcome)>> {
    let bootstrap: Vec<String> = BOOTSTRAP.iter().map(|s| (*s).to_owned()).collect();
    let id = api.submit_batch(&bootstrap).await?;
    api.wait(&id).await?;
    let applied = api
        .query(
            "SELECT version, checksum FROM s3shift.schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    let mut done = std::collections::HashMap::new();
    for row in &applied.rows {
        if let (Some(v), Some(sum)) = (
            row.first().and_then(|v| v.as_i64()),
            row.get(1).and_then(|v| v.as_str()),
        ) {
            done.insert(v, sum.to_owned());
        }
    }
    let mut out = Vec::new();
    for m in MIGRATIONS {
        let sum = checksum(m.sql);
        if let Some(old) = done.get(&i64::from(m.version)) {
            if *old != sum {
                return Err(Error::Migration {
                    name: m.name.into(),
                    problem: format!(
                        "was edited after it was applied (checksum {old} applied, {sum} now): add a new migration \
                         instead"
                    ),
                });
            }
            out.push((*m, MigrationOutcome::AlreadyApplied));
            continue;
        }
        let mut statements = split_statements(m.sql);
        let count = statements.len();
        statements.push(format!(
            "INSERT INTO s3shift.schema_migrations (version, name, checksum, applied_at) VALUES ({}, {}, {}, \
             CAST(GETDATE() AS TIMESTAMPTZ))",
            m.version,
            safe_literal("migration name", m.name)?,
            safe_literal("checksum", &sum)?,
        ));
        let id = api.submit_batch(&statements).await?;
        api.wait(&id).await.map_err(|e| Error::Migration {
            name: m.name.into(),
            problem: e.to_string(),
        })?;
        tracing::info!(migration = m.name, statements = count, "applied migration");
        out.push((*m, MigrationOutcome::Applied(count)));
    }
    Ok(out)
}

/// What a job's loads need of the warehouse beyond the migrations, which cannot name it: statements granting
/// the loader role TEMP on the job's database (PUBLIC's by default, "Default database user permissions", but an
/// admin may revoke it: the load's stage table is temporary) and, for a job whose COPY names its role by ARN, the
/// ASSUMEROLE permission on that ARN for COPY (GRANT, "Usage notes for granting the ASSUMEROLE permission";
/// `sql/0005_copy_role.sql` grants `default`). Every statement is idempotent.
///
/// # Errors
/// [`Error::Redshift`] for a database name that is not a plain identifier.
pub fn job_grants(spec: &JobSpec) -> Result<Vec<String>> {
    let database = s3shift_redshift::sql::Ident::new("database", &spec.config.warehouse.database)?;
    let mut out = vec![format!(
        "GRANT TEMP ON DATABASE {database} TO ROLE s3shift_loader"
    )];
    if let IamRole::Arn(arn) = &spec.iam_role {
        out.push(format!(
            "GRANT ASSUMEROLE ON {} TO ROLE s3shift_loader FOR COPY",
            safe_literal("IAM role", arn)?
        ));
    }
    Ok(out)
}

/// Runs [`job_grants`] for `spec` as one batch; returns the statements.
///
/// # Errors
/// The batch's error.
pub async fn grant_job(api: &DataApi, spec: &JobSpec) -> Result<Vec<String>> {
    let statements = job_grants(spec)?;
    let id = api.submit_batch(&statements).await?;
    api.wait(&id).await?;
    Ok(statements)
}

/// What migrate did for one loader identity (see [`grant_loader_users`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoaderGrant {
    /// The user exists: it now holds `s3shift_loader` directly, whatever its tag gave it at sign-in.
    Granted(String),
    /// The user has not signed in yet: its first sign-in maps its `RedshiftDbRoles` tag to `s3shift_loader`,
    /// which exists now.
    NotSignedIn(String),
}

/// The database user an IAM role signs in as through the Data API: `IAMR:<role name>` ("Authenticating a
/// scheduled query": `IAMR:MyRedshiftQEv2Scheduler`); the name is the ARN's last path segment.
///
/// # Errors
/// [`Error::Config`] when `arn` is not an IAM role ARN.
pub fn database_user_of_role(arn: &str) -> Result<String> {
    let name = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":role/"))
        .map(|(_, path)| path.rsplit('/').next().unwrap_or(path))
        .filter(|n| {
            !n.is_empty()
                && n.len() <= 64
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        })
        .ok_or_else(|| Error::Config {
            file: std::path::PathBuf::from("--loader-role"),
            field: "loader role".into(),
            problem: format!("{arn:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
        })?;
    Ok(format!("IAMR:{name}"))
}

/// Grants `s3shift_loader` to the database users of the task roles `role_arns`, the ones that exist.
///
/// Why: a task role's tag (`RedshiftDbRoles`) gives its user the loader role at sign-in, but roles that do not
/// exist then are ignored ("Defining database roles to grant to federated users in Amazon Redshift
/// Serverless"), and a task that ran before migrate signed in before `s3shift_loader` existed. A direct grant
/// makes the order of migrate and the first run not matter. A user is looked up in PG_USER first (GRANT to a user
/// that does not exist fails): one that has not signed in yet gets the role from its tag when it does.
///
/// # Errors
/// A role ARN that is not one, or the warehouse's error.
pub async fn grant_loader_users(api: &DataApi, role_arns: &[String]) -> Result<Vec<LoaderGrant>> {
    let mut out = Vec::new();
    for arn in role_arns {
        let user = database_user_of_role(arn)?;
        let known = api
            .query(
                "SELECT usename FROM pg_user WHERE usename = :user",
                &[("user", user.clone())],
            )
            .await?;
        if known.rows.is_empty() {
            out.push(LoaderGrant::NotSignedIn(user));
            continue;
        }
        api.execute(&format!("GRANT ROLE s3shift_loader TO \"{user}\""), &[])
            .await?;
        out.push(LoaderGrant::Granted(user));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3shift_core::schema::{IMAGES, ddl_columns};
    use s3shift_testkit::repo::manifest_dir;

    #[test]
    fn a_task_role_signs_in_as_iamr_and_its_name() {
        let user = |arn: &str| database_user_of_role(arn).ok();
        assert_eq!(
            user("arn:aws:iam::123456789012:role/prod-s3shift-api-task").as_deref(),
            Some("IAMR:prod-s3shift-api-task")
        );
        assert_eq!(
            user("arn:aws:iam::123456789012:role/service/ecs/api").as_deref(),
            Some("IAMR:api")
        );
        assert_eq!(user("arn:aws:iam::1:user/alice"), None);
        assert_eq!(user("arn:aws:iam::1:role/x\"; drop"), None);
    }

    #[test]
    fn embedded_list_is_the_sql_folder() -> std::io::Result<()> {
        let dir = manifest_dir().join("../../sql");
        let mut files: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, embedded);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
        Ok(())
    }

    #[test]
    fn images_ddl_matches_the_schema() {
        let sql = MIGRATIONS[0].sql;
        let start = sql
            .find("CREATE TABLE IF NOT EXISTS s3shift.images (")
            .unwrap_or(0);
        let body = &sql[start..];
        let mut lines: Vec<&str> = body
            .lines()
            .skip(1)
            .map(|l| l.trim().trim_end_matches(','))
            .take_while(|l| !l.starts_with("PRIMARY KEY"))
            .collect();
        // Later migrations append columns, in order.
        for m in &MIGRATIONS[1..] {
            lines.extend(m.sql.lines().filter_map(|l| {
                l.strip_prefix("ALTER TABLE s3shift.images ADD COLUMN ")
                    .map(|c| c.trim_end_matches(';'))
            }));
        }
        assert_eq!(lines, ddl_columns(IMAGES));
    }
}
