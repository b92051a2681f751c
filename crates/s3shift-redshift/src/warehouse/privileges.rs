//! The database privileges a job's run needs, and which of them the calling identity lacks.
//!
//! A run's statements need, and only need (see `sql/0003_roles.sql`, which grants them to `s3shift_loader`):
//! USAGE on the schema; SELECT, INSERT, DELETE on the curated table and on the ledger (the load batch deletes
//! the rows it replaces; DELETE and UPDATE also need SELECT, "The SELECT privilege is also required to reference
//! existing column values for UPDATE or DELETE operations", GRANT); SELECT, INSERT, UPDATE, DELETE on the runs
//! table; SELECT, INSERT, DELETE on the load fences (which every load also locks: see `sql::LoadSql`); TEMP on
//! the database, for the stage table (PUBLIC's by default, "Default database user permissions", and revocable);
//! and, for a job whose COPY names its role by ARN, the ASSUMEROLE permission on it for COPY (PUBLIC's on every
//! role until `sql/0005_copy_role.sql` revokes it, GRANT's "Usage notes for granting the ASSUMEROLE
//! permission"). A COPY with `IAM_ROLE default` is not asked about: HAS_ASSUMEROLE_PRIVILEGE's page takes a role
//! ARN, and names no `default`; the load's own COPY then refuses in Redshift's words.
//!
//! They are asked with HAS_SCHEMA_PRIVILEGE, HAS_TABLE_PRIVILEGE, HAS_DATABASE_PRIVILEGE (`([user,] object,
//! privilege)`) and HAS_ASSUMEROLE_PRIVILEGE (`([user,] iam_role_arn, cmd_type)`), each from its page, in one
//! statement, with the database user (`current_user`) named in the answer so that the fix can name it.

use std::fmt;

use crate::client::DataApi;
use crate::sql::{IamRole, Ident, TableName, safe_literal};
use crate::{Error, Result};

/// What a privilege is held on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// A schema.
    Schema,
    /// A table or view.
    Table,
    /// The database (`object` is its name).
    Database,
    /// An IAM role the user assumes in a command (`object` is its ARN, `privilege` the command).
    IamRole,
}

/// One privilege on one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privilege {
    /// Schema or table.
    pub on: On,
    /// `schema` or `schema.table`.
    pub object: String,
    /// `USAGE`, `SELECT`, ... (upper case, as GRANT writes it).
    pub privilege: &'static str,
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = match self.on {
            On::Schema => "schema",
            On::Table => "table",
            On::Database => "database",
            On::IamRole => {
                return write!(f, "ASSUMEROLE for {} on IAM role {}", self.privilege, self.object);
            }
        };
        write!(f, "{} on {on} {}", self.privilege, self.object)
    }
}

/// Every privilege a run of a job that loads `table` in `database`, copying with `copy_role`, needs, in the order
/// a run uses them.
///
/// # Errors
/// [`Error::Invalid`] when a sibling table's name is not valid (never for a parsed `table`).
pub fn run_needs(table: &TableName, database: &Ident, copy_role: &IamRole) -> Result<Vec<Privilege>> {
    let mut out = vec![Privilege {
        on: On::Schema,
        object: table.schema.to_string(),
        privilege: "USAGE",
    }];
    let ledger = table.sibling("loaded_objects")?;
    let runs = table.sibling("runs")?;
    let fences = table.sibling(crate::sql::FENCE_TABLE)?;
    for (t, privileges) in [
        (table, &["SELECT", "INSERT", "DELETE"][..]),
        (&ledger, &["SELECT", "INSERT", "DELETE"][..]),
        (&runs, &["SELECT", "INSERT", "UPDATE", "DELETE"][..]),
        (&fences, &["SELECT", "INSERT", "DELETE"][..]),
    ] {
        for p in privileges {
            out.push(Privilege {
                on: On::Table,
                object: t.to_string(),
                privilege: p,
            });
        }
    }
    out.push(Privilege {
        on: On::Database,
        object: database.to_string(),
        privilege: "TEMP",
    });
    if let IamRole::Arn(arn) = copy_role {
        out.push(Privilege {
            on: On::IamRole,
            object: arn.clone(),
            privilege: "COPY",
        });
    }
    Ok(out)
}

/// What the identity the Data API runs as lacks of `needs`: (its database user, the missing privileges).
///
/// # Errors
/// The statement's error: a schema or table that does not exist fails it (see
/// [`Error::missing_relation`]).
pub async fn missing(api: &DataApi, needs: &[Privilege]) -> Result<(String, Vec<Privilege>)> {
    let mut columns = vec!["current_user".to_owned()];
    for n in needs {
        let function = match n.on {
            On::Schema => "has_schema_privilege",
            On::Table => "has_table_privilege",
            On::Database => "has_database_privilege",
            On::IamRole => "has_assumerole_privilege",
        };
        columns.push(format!(
            "{function}({}, {})",
            safe_literal("object name", &n.object)?,
            safe_literal("privilege", &n.privilege.to_ascii_lowercase())?
        ));
    }
    let rows = api.query(&format!("SELECT {}", columns.join(", ")), &[]).await?;
    let bad = |problem: String| Error::BadResult {
        id: "privilege check".into(),
        problem,
    };
    let row = rows.rows.first().ok_or_else(|| bad("no row came back".into()))?;
    let user = row
        .first()
        .and_then(|v| v.as_str())
        .unwrap_or("(unknown user)")
        .to_owned();
    let mut out = Vec::new();
    for (n, v) in needs.iter().zip(row.iter().skip(1)) {
        // BOOLEAN, though HAS_SCHEMA_PRIVILEGE's page calls its result a CHAR or VARCHAR: read either.
        let held = match v {
            crate::Value::Bool(b) => *b,
            crate::Value::Text(t) => matches!(t.as_str(), "t" | "true" | "TRUE" | "1"),
            crate::Value::Long(n) => *n != 0,
            other => return Err(bad(format!("{n}: the answer was {other}"))),
        };
        if !held {
            out.push(n.clone());
        }
    }
    if row.len() != needs.len() + 1 {
        return Err(bad(format!(
            "{} columns for {} privileges",
            row.len(),
            needs.len()
        )));
    }
    Ok((user, out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_run_needs_what_the_loader_role_grants() {
        let arn = "arn:aws:iam::123456789012:role/copy";
        let needs = run_needs(
            &TableName::parse("s3shift.images").unwrap(),
            &Ident::new("database", "dev").unwrap(),
            &IamRole::parse(arn).unwrap(),
        )
        .unwrap();
        let text: Vec<String> = needs.iter().map(ToString::to_string).collect();
        assert_eq!(text[0], "USAGE on schema s3shift");
        assert!(text.contains(&"DELETE on table s3shift.loaded_objects".to_owned()));
        assert!(text.contains(&"UPDATE on table s3shift.runs".to_owned()));
        assert!(
            !text.iter().any(|t| t.contains("CREATE")),
            "a run creates nothing: {text:?}"
        );
        // Every one of them is granted to the loader role by the migrations.
        let roles = [
            include_str!("../../../../sql/0003_roles.sql"),
            include_str!("../../../../sql/0004_load_fences.sql"),
        ]
        .concat()
        .to_ascii_uppercase();
        assert!(text.contains(&"TEMP on database dev".to_owned()), "{text:?}");
        assert!(
            text.contains(&format!("ASSUMEROLE for COPY on IAM role {arn}")),
            "{text:?}"
        );
        // Those two are the job's grants (`s3shift migrate <job>`); every other one a migration grants.
        for n in needs.iter().filter(|n| matches!(n.on, On::Schema | On::Table)) {
            let table = n.object.to_ascii_uppercase();
            let granted = roles.lines().any(|l| {
                l.starts_with("GRANT")
                    && l.contains(n.privilege)
                    && l.contains(&format!(" {table} "))
                    && l.ends_with("TO ROLE S3SHIFT_LOADER;")
            });
            assert!(granted, "no migration grants {n} to s3shift_loader");
        }
    }
}
