//! Who may call the stand-ins: IAM identities, each an access key pair, and the database user each becomes in the
//! Data API stand-in.
//!
//! How AWS maps them, and where the pages say so:
//! - a Data API call on a Serverless workgroup runs as a database user derived from the caller's IAM identity:
//!   `IAM:<user>` for an IAM user (ExecuteStatement, Amazon Redshift Data API: "arn:iam::123456789012:user:foo
//!   has the database user name IAM:foo"), `IAMR:<role>` for a role (Authenticating a scheduled query, where
//!   `IAMR:MyRedshiftQEv2Scheduler` is granted privileges);
//! - the roles in the identity's `RedshiftDbRoles` tag are given to that user when it signs in (Defining database
//!   roles to grant to federated users in Amazon Redshift Serverless);
//! - a call with `SecretArn` runs as the user in the secret; the caller needs `secretsmanager:GetSecretValue` on
//!   it (Authorizing access to the Amazon Redshift Data API). The namespace's admin secret
//!   (`ManageAdminPassword`) holds the admin user, a superuser;
//! - the identity that created a namespace with default settings is a database superuser (Getting started with
//!   IAM credentials for Amazon Redshift): the stand-in's `admin` identity stands for it.
//!
//! [`standard`] is the set `s3shift local`, `s3shift demo` and the tests start with.

/// What an identity is in IAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM user: database user `IAM:<name>`.
    User {
        /// The user name.
        name: String,
        /// Whether its database user is a superuser (the identity that created the namespace).
        superuser: bool,
    },
    /// An IAM role (an ECS task's, an analyst's): database user `IAMR:<name>`.
    Role {
        /// The role name.
        name: String,
    },
}

/// One IAM identity of the stand-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// A short name for people (`loader`, `analyst`): what `s3shift local` prints it as.
    pub name: String,
    /// Its access key id.
    pub access_key: String,
    /// Its secret access key.
    pub secret_key: String,
    /// The user or role it is.
    pub principal: Principal,
    /// The database roles of its `RedshiftDbRoles` tag (the tag's value is these names joined by `:`).
    pub db_roles: Vec<String>,
    /// Whether its IAM policy allows `secretsmanager:GetSecretValue` on the namespace's admin secret.
    pub reads_admin_secret: bool,
}

impl Identity {
    /// The database user its Data API calls run as when they name no secret.
    pub fn db_user(&self) -> String {
        match &self.principal {
            Principal::User { name, .. } => format!("IAM:{name}"),
            Principal::Role { name } => format!("IAMR:{name}"),
        }
    }

    /// Whether that database user is a superuser.
    pub fn superuser(&self) -> bool {
        matches!(self.principal, Principal::User { superuser: true, .. })
    }

    /// The ARN the IAM errors name.
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::User { name, .. } => format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            Principal::Role { name } => format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/s3shift-local"),
        }
    }

    fn role(name: &str, role: &str, db_roles: &[&str]) -> Self {
        Self {
            name: name.into(),
            access_key: format!("s3shift-local-{name}"),
            secret_key: format!("s3shift-local-{name}-secret"),
            principal: Principal::Role { name: role.into() },
            db_roles: db_roles.iter().map(|r| (*r).to_owned()).collect(),
            reads_admin_secret: false,
        }
    }
}

/// The account id the stand-ins' ARNs carry.
pub const ACCOUNT: &str = "000000000000";

/// The namespace's admin secret (what `ManageAdminPassword` creates); a Data API call naming it runs as
/// [`ADMIN_DB_USER`].
pub const ADMIN_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:redshift!s3shift-local-admin-Ab12Cd";

/// The namespace's admin user, a superuser.
pub const ADMIN_DB_USER: &str = "admin";

/// The database role of the jobs' task roles (see `sql/0003_roles.sql`).
pub const LOADER_ROLE: &str = "s3shift_loader";
/// The database role of analysts.
pub const ANALYST_ROLE: &str = "s3shift_analyst";
/// The database role that may read exact GPS coordinates.
pub const GPS_ROLE: &str = "s3shift_gps";

/// The identities the stand-ins start with:
/// - `admin`: the account's administrator (the default keys, [`crate::s3::DEFAULT_ACCESS_KEY`]); a database
///   superuser, may read the admin secret;
/// - `migrator`: the one-off migrate task's role: no database role, may read the admin secret;
/// - `loader` and `kafka-loader`: the two jobs' task roles, tagged with the loader role;
/// - `analyst`: tagged with the analyst role; `gps-analyst`: analyst and GPS roles;
/// - `nobody`: a role with no database role.
pub fn standard() -> Vec<Identity> {
    let mut migrator = Identity::role("migrator", "s3shift-local-migrate-task", &[]);
    migrator.reads_admin_secret = true;
    vec![
        Identity {
            name: "admin".into(),
            access_key: crate::s3::DEFAULT_ACCESS_KEY.into(),
            secret_key: crate::s3::DEFAULT_SECRET_KEY.into(),
            principal: Principal::User {
                name: "s3shift-local-admin".into(),
                superuser: true,
            },
            db_roles: Vec::new(),
            reads_admin_secret: true,
        },
        migrator,
        Identity::role("loader", "s3shift-local-api-images-task", &[LOADER_ROLE]),
        Identity::role("kafka-loader", "s3shift-local-kafka-images-task", &[LOADER_ROLE]),
        Identity::role("analyst", "s3shift-local-analyst", &[ANALYST_ROLE]),
        Identity::role(
            "gps-analyst",
            "s3shift-local-gps-analyst",
            &[ANALYST_ROLE, GPS_ROLE],
        ),
        Identity::role("nobody", "s3shift-local-nobody", &[]),
    ]
}

/// The identity of that short name in `identities`.
pub fn named<'a>(identities: &'a [Identity], name: &str) -> Option<&'a Identity> {
    identities.iter().find(|i| i.name == name)
}
