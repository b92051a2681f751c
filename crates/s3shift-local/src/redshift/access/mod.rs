//! Who may do what in the warehouse: database users, roles, ownership and privileges, enforced on every statement
//! with Redshift's words.
//!
//! The model, with the AWS page each rule comes from:
//! - "Default database user permissions": only a superuser or an object's owner may query, change or grant on it
//!   until privileges are granted; all users have CREATE and USAGE on the PUBLIC schema (here DuckDB's `main`,
//!   which also holds the system views every user may read).
//! - "Schema-based permissions": without USAGE on a schema, no object in it can be reached.
//! - GRANT / REVOKE: SELECT, INSERT, UPDATE, DELETE, DROP, REFERENCES, ALTER, TRUNCATE on tables and views (one
//!   by one or `ALL TABLES IN SCHEMA`); CREATE, USAGE on schemas; CREATE, TEMP on the database; grantees are
//!   users, `ROLE r` or `PUBLIC`. Roles are granted to users and to roles ("Role hierarchy").
//! - "ALTER DEFAULT PRIVILEGES": privileges the tables a user creates later get, optionally in one schema.
//! - GRANT: "The SELECT privilege is also required to reference existing column values for UPDATE or DELETE
//!   operations"; "Using a COPY command to load data": COPY needs INSERT.
//! - CREATE VIEW: querying a late-binding view needs SELECT on the view only; the owner's rights reach the tables.
//! - HAS_TABLE_PRIVILEGE / HAS_SCHEMA_PRIVILEGE / HAS_DATABASE_PRIVILEGE: `([user,] object, privilege)`;
//!   HAS_ASSUMEROLE_PRIVILEGE: `([user,] iam_role_arn, cmd_type)`.
//! - "Default database user permissions": PUBLIC may create temporary tables (TEMP on the database) until it is
//!   revoked (`REVOKE TEMP ON DATABASE d FROM PUBLIC`), seeded once per database file as a grant.
//! - GRANT, "Usage notes for granting the ASSUMEROLE permission": until a superuser runs `revoke assumerole on
//!   all from public for all`, every user may use every IAM role associated with the namespace; afterwards only
//!   those granted `ASSUMEROLE ON { 'arn' [, ...] | default | ALL } ... FOR { ALL | COPY | UNLOAD | EXTERNAL
//!   FUNCTION | CREATE MODEL }`; only a superuser grants or revokes it, and a superuser always holds it. A COPY
//!   without it fails with the page's words (`User u does not have ASSUMEROLE permission on IAM role "arn" for
//!   COPY`). Conservative where the page is silent: a grant ON default covers `IAM_ROLE default` only, and one
//!   on an ARN covers `IAM_ROLE '<that ARN>'` only (a deployment reports that a grant on default did not
//!   cover COPY naming the default role's ARN).
//! - PG_USER: the database's users (`usename`, `usesuper`), readable by every user, as in PostgreSQL.
//! - The refusal reads like Redshift's ("Examples" of GRANT: `permission denied for relation test`).
//!
//! Conservative where the pages are silent: `CREATE TABLE ... (LIKE parent)` needs SELECT on the parent;
//! `MERGE` needs SELECT on the target and each of INSERT, UPDATE, DELETE its clauses use; `CREATE SCHEMA IF NOT
//! EXISTS` needs CREATE on the database even when the schema exists; `TRUNCATE` needs ownership or a TRUNCATE
//! grant. Not modelled, and refused: `WITH GRANT OPTION`, `GROUP` grantees, column-level grants, `CREATE USER`.
//!
//! The catalog lives in the database file (schema `s3shift_acl`), so privileges persist and a GRANT inside a
//! batch commits or rolls back with it. SVV_COLUMNS stays visible to every user, as it is by default ("SVV_COLUMNS
//! is visible to all users by default"; metadata security is not modelled).

mod error;

pub(crate) use error::AclError;
mod functions;
mod grants;
mod needs;

pub(crate) use grants::{AclStatement, parse_acl};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use duckdb::Connection;

use super::lex::Tok;

/// What every database file gets: the privilege catalog.
pub(crate) const SETUP: &str = r"
CREATE SCHEMA IF NOT EXISTS s3shift_acl;
CREATE TABLE IF NOT EXISTS s3shift_acl.users (name VARCHAR NOT NULL, superuser BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.roles (name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.members (role VARCHAR NOT NULL, member VARCHAR NOT NULL, via_tag BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.owners (schema_name VARCHAR NOT NULL, name VARCHAR, owner VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.grants (schema_name VARCHAR NOT NULL, name VARCHAR, grantee VARCHAR NOT NULL, privilege VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.default_grants (owner VARCHAR NOT NULL, schema_name VARCHAR, grantee VARCHAR NOT NULL, privilege VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.assumerole (iam_role VARCHAR NOT NULL, grantee VARCHAR NOT NULL, command VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS s3shift_acl.seeded (what VARCHAR NOT NULL);
INSERT INTO s3shift_acl.grants SELECT '', NULL, 'public', 'temp'
  WHERE NOT EXISTS (SELECT 1 FROM s3shift_acl.seeded WHERE what = 'public defaults');
INSERT INTO s3shift_acl.assumerole SELECT '*', 'public', c
  FROM (VALUES ('copy'), ('unload'), ('external function'), ('create model')) AS v (c)
  WHERE NOT EXISTS (SELECT 1 FROM s3shift_acl.seeded WHERE what = 'public defaults');
INSERT INTO s3shift_acl.seeded SELECT 'public defaults'
  WHERE NOT EXISTS (SELECT 1 FROM s3shift_acl.seeded WHERE what = 'public defaults');
CREATE OR REPLACE VIEW main.pg_user AS SELECT name AS usename, superuser AS usesuper FROM s3shift_acl.users;
";

/// The schema of the catalog above, which no statement may touch.
const ACL_SCHEMA: &str = "s3shift_acl";
/// The schema standing for Redshift's PUBLIC.
const PUBLIC_SCHEMA: &str = "main";
/// How the database itself is keyed in the catalog (schema name of a database-level grant).
const DATABASE: &str = "";
/// Relations of the public schema every user may read (the system views the stand-in provides).
const SYSTEM_RELATIONS: &[&str] = &[
    "svv_columns",
    "sys_load_history",
    "sys_load_error_detail",
    "pg_user",
];

/// The database user a statement runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbUser {
    pub(crate) name: String,
    pub(crate) superuser: bool,
}

/// A grantee as the catalog keys it: `u:<user>`, `r:<role>` or `public`.
fn user_key(name: &str) -> String {
    format!("u:{name}")
}
fn role_key(name: &str) -> String {
    format!("r:{name}")
}

/// Records a user's sign-in: creates the user on first sign-in and makes its tag's roles (those that exist) its
/// tag memberships. Writes only when something changed.
pub(crate) fn sign_in(conn: &Connection, user: &DbUser, tag_roles: &[String]) -> Result<(), AclError> {
    let known: i64 = conn
        .query_row(
            "SELECT count(*) FROM s3shift_acl.users WHERE name = ?",
            [&user.name],
            |r| r.get(0),
        )
        .map_err(AclError::from)?;
    if known == 0 {
        conn.execute(
            "INSERT INTO s3shift_acl.users VALUES (?, ?)",
            duckdb::params![user.name, user.superuser],
        )
        .map_err(AclError::from)?;
    }
    let catalog = Catalog::load_privileges(conn)?;
    let mut want: Vec<String> = Vec::new();
    for r in tag_roles {
        if catalog.role_exists(r) && !want.contains(r) {
            want.push(r.clone());
        }
    }
    want.sort();
    let mut have = strings(
        conn,
        "SELECT role FROM s3shift_acl.members WHERE member = ? AND via_tag ORDER BY role",
        &[&user_key(&user.name)],
    )?;
    have.sort();
    if have != want {
        conn.execute(
            "DELETE FROM s3shift_acl.members WHERE member = ? AND via_tag",
            [user_key(&user.name)],
        )
        .map_err(AclError::from)?;
        for r in &want {
            conn.execute(
                "INSERT INTO s3shift_acl.members VALUES (?, ?, true)",
                [r, &user_key(&user.name)],
            )
            .map_err(AclError::from)?;
        }
    }
    Ok(())
}

fn strings(conn: &Connection, sql: &str, args: &[&dyn duckdb::ToSql]) -> Result<Vec<String>, AclError> {
    let mut stmt = conn.prepare(sql).map_err(AclError::from)?;
    let rows = stmt
        .query_map(args, |r| r.get::<_, String>(0))
        .map_err(AclError::from)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(AclError::from)
}

/// An object privileges are held on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    /// The database.
    Database,
    /// A schema.
    Schema(String),
    /// A table or view (schema, name), as the catalog resolved it.
    Relation(String, String),
}

impl Object {
    fn keys(&self) -> (&str, Option<&str>) {
        match self {
            Object::Database => (DATABASE, None),
            Object::Schema(s) => (s, None),
            Object::Relation(s, n) => (s, Some(n)),
        }
    }
}

/// The privilege catalog and the relations of the database, read in one statement: every check of a statement
/// is answered from it (DuckDB queries are the stand-in's cost; a statement's checks cost one).
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    users: HashMap<String, bool>,
    roles: HashSet<String>,
    /// (role, member key)
    members: Vec<(String, String)>,
    /// (schema, name or None for the schema, owner)
    owners: Vec<(String, Option<String>, String)>,
    /// (schema, name or None, grantee key, privilege)
    grants: Vec<(String, Option<String>, String, String)>,
    /// (schema, name, temporary)
    relations: Vec<(String, String, bool)>,
    schemas: HashSet<String>,
    /// ASSUMEROLE grants: (IAM role: `*` for ALL, `default`, or an ARN; grantee key; command in lower case)
    assumerole: Vec<(String, String, String)>,
}

impl Catalog {
    /// Reads it through `conn` (so a batch sees its own uncommitted changes).
    pub(crate) fn load(conn: &Connection) -> Result<Self, AclError> {
        Self::read(conn, true)
    }

    /// Reads the privilege catalog only, without the database's relations and schemas (enough for statements
    /// about roles and users).
    pub(crate) fn load_privileges(conn: &Connection) -> Result<Self, AclError> {
        Self::read(conn, false)
    }

    fn read(conn: &Connection, with_relations: bool) -> Result<Self, AclError> {
        let mut sql = "SELECT 'user', name, CAST(superuser AS VARCHAR), NULL, NULL FROM s3shift_acl.users
                 UNION ALL SELECT 'role', name, NULL, NULL, NULL FROM s3shift_acl.roles
                 UNION ALL SELECT 'member', role, member, NULL, NULL FROM s3shift_acl.members
                 UNION ALL SELECT 'owner', schema_name, name, owner, NULL FROM s3shift_acl.owners
                 UNION ALL SELECT 'grant', schema_name, name, grantee, privilege FROM s3shift_acl.grants
                 UNION ALL SELECT 'assumerole', iam_role, grantee, command, NULL FROM s3shift_acl.assumerole"
            .to_owned();
        if with_relations {
            sql.push_str(
                " UNION ALL SELECT 'relation', schema_name, table_name, CAST(database_name = 'temp' AS VARCHAR), NULL
                   FROM duckdb_tables()
                 UNION ALL SELECT 'relation', schema_name, view_name, CAST(database_name = 'temp' AS VARCHAR), NULL
                   FROM duckdb_views() WHERE NOT internal
                 UNION ALL SELECT 'schema', schema_name, NULL, NULL, NULL FROM duckdb_schemas()
                   WHERE database_name <> 'temp'",
            );
        }
        let mut stmt = conn.prepare(&sql).map_err(AclError::from)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(AclError::from)?;
        let mut c = Catalog::default();
        for row in rows {
            let (kind, a, b, c3, d) = row.map_err(AclError::from)?;
            match kind.as_str() {
                "user" => {
                    c.users.insert(a, b.as_deref() == Some("true"));
                }
                "role" => {
                    c.roles.insert(a);
                }
                "member" => c.members.push((a, b.unwrap_or_default())),
                "owner" => c.owners.push((a, b, c3.unwrap_or_default())),
                "grant" => c
                    .grants
                    .push((a, b, c3.unwrap_or_default(), d.unwrap_or_default())),
                "assumerole" => {
                    c.assumerole
                        .push((a, b.unwrap_or_default(), c3.unwrap_or_default()));
                }
                "relation" => c
                    .relations
                    .push((a, b.unwrap_or_default(), c3.as_deref() == Some("true"))),
                _ => {
                    c.schemas.insert(a);
                }
            }
        }
        Ok(c)
    }

    fn role_exists(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// `Some(superuser)` for a user the database knows.
    fn user(&self, name: &str) -> Option<bool> {
        self.users.get(name).copied()
    }

    fn schema_exists(&self, schema: &str) -> bool {
        self.schemas.contains(schema)
    }

    /// Everything a user acts as: itself, PUBLIC and every role it holds, directly or through other roles.
    fn principals(&self, user: &str) -> Vec<String> {
        let mut out = vec![user_key(user), "public".to_owned()];
        let mut i = 0;
        while i < out.len() {
            for (role, member) in &self.members {
                let key = role_key(role);
                if *member == out[i] && !out.contains(&key) {
                    out.push(key);
                }
            }
            i += 1;
        }
        out
    }

    /// Whether `user` owns `object`. An object the catalog has no owner for belongs to the system: only
    /// superusers (and, for the PUBLIC schema's system relations, every reader) reach it.
    fn owns(&self, user: &str, object: &Object) -> bool {
        let (schema, name) = object.keys();
        self.owners
            .iter()
            .any(|(s, n, o)| s == schema && n.as_deref() == name && o == user)
    }

    /// Whether `user` holds `privilege` on `object` (superuser, owner, or a grant to one of its principals).
    pub(crate) fn holds(&self, user: &DbUser, object: &Object, privilege: &str) -> bool {
        if user.superuser {
            return true;
        }
        let (schema, name) = object.keys();
        if schema == ACL_SCHEMA {
            return false;
        }
        if schema == PUBLIC_SCHEMA {
            match name {
                None if matches!(privilege, "usage" | "create") => return true,
                Some(n) if privilege == "select" && SYSTEM_RELATIONS.contains(&n) => return true,
                _ => {}
            }
        }
        if self.owns(&user.name, object) {
            return true;
        }
        let who = self.principals(&user.name);
        self.grants
            .iter()
            .any(|(s, n, g, p)| s == schema && n.as_deref() == name && p == privilege && who.contains(g))
    }

    /// Whether `user` may assume `iam_role` (`default` or an ARN, as COPY names it) for `command` (lower case):
    /// a superuser always may; anyone else through an ASSUMEROLE grant to one of its principals (PUBLIC's, on
    /// ALL, until revoked).
    pub(crate) fn may_assume(&self, user: &DbUser, iam_role: &str, command: &str) -> bool {
        if user.superuser {
            return true;
        }
        let who = self.principals(&user.name);
        self.assumerole
            .iter()
            .any(|(r, g, c)| (r == "*" || r == iam_role) && c == command && who.contains(g))
    }

    /// Finds a relation: (schema, name), temporary tables first for an unqualified name; `None` when there is
    /// none (the statement then fails with DuckDB's own "does not exist", reworded), `Some(("", name))` for a
    /// temporary table (its creator's alone).
    pub(crate) fn resolve(&self, name: &[String]) -> Option<(String, String)> {
        let (schema, table) = match name {
            [t] => (None, t.as_str()),
            [s, t] | [_, s, t] => (Some(s.as_str()), t.as_str()),
            _ => return None,
        };
        let found = |temp: bool, sch: Option<&str>| {
            self.relations
                .iter()
                .find(|(s, n, t)| n == table && *t == temp && sch.is_none_or(|want| s == want))
        };
        match schema {
            None => found(true, None)
                .map(|(_, n, _)| (String::new(), n.clone()))
                .or_else(|| found(false, Some(PUBLIC_SCHEMA)).map(|(s, n, _)| (s.clone(), n.clone()))),
            Some(want) => found(false, Some(want)).map(|(s, n, _)| (s.clone(), n.clone())),
        }
    }

    /// The relations (tables and views) of a schema, not temporary.
    fn relations_in(&self, schema: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .relations
            .iter()
            .filter(|(s, _, t)| s == schema && !*t)
            .map(|(_, n, _)| n.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Refuses `sql` unless `user` may run it; returns what the statement changes in ownership, to be recorded
/// with [`record`] once it succeeded.
pub(crate) fn authorize(
    catalog: impl FnOnce() -> Result<Arc<Catalog>, AclError>,
    user: &DbUser,
    toks: &[Tok],
    database: &str,
) -> Result<Vec<needs::Effect>, AclError> {
    let plan = needs::analyse(toks)?;
    if user.superuser || plan.needs.is_empty() {
        return Ok(plan.effects);
    }
    let catalog = catalog()?;
    for need in &plan.needs {
        need.check(&catalog, user, database)?;
    }
    Ok(plan.effects)
}

/// The tables (`schema.table`, temporary ones left out) a statement reads and those it writes, for the
/// serializable check (see `concurrency`).
pub(crate) fn touched(catalog: &Catalog, toks: &[Tok]) -> Result<(Vec<String>, Vec<String>), AclError> {
    let (reads, writes) = needs::analyse(toks)?.tables();
    let resolve = |names: Vec<Vec<String>>| {
        names
            .iter()
            .filter_map(|n| catalog.resolve(n))
            .filter(|(schema, _)| !schema.is_empty())
            .map(|(schema, table)| format!("{schema}.{table}"))
            .collect::<Vec<_>>()
    };
    Ok((resolve(reads), resolve(writes)))
}

/// Records what a successful statement changed: the owner of what it created (with the default privileges of
/// its creator), and the grants of what it dropped.
pub(crate) fn record(conn: &Connection, user: &DbUser, effects: &[needs::Effect]) -> Result<(), AclError> {
    for e in effects {
        match e {
            needs::Effect::Created { schema, name } => {
                // A statement that creates something names its schema, or creates in the public one (a
                // temporary table records no effect).
                let Some(schema) = schema
                    .clone()
                    .or_else(|| name.as_ref().map(|_| PUBLIC_SCHEMA.to_owned()))
                else {
                    continue;
                };
                let owned: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM s3shift_acl.owners WHERE schema_name = ? AND name IS NOT DISTINCT FROM ?",
                        duckdb::params![schema, name],
                        |r| r.get(0),
                    )
                    .map_err(AclError::from)?;
                if owned > 0 {
                    continue; // IF NOT EXISTS on an existing object, or OR REPLACE: owner and grants stay
                }
                conn.execute(
                    "INSERT INTO s3shift_acl.owners VALUES (?, ?, ?)",
                    duckdb::params![schema, name, user.name],
                )
                .map_err(AclError::from)?;
                if name.is_some() {
                    conn.execute(
                        "INSERT INTO s3shift_acl.grants SELECT ?, ?, grantee, privilege FROM s3shift_acl.default_grants \
                         WHERE owner = ? AND (schema_name IS NULL OR schema_name = ?)",
                        duckdb::params![schema, name, user.name, schema],
                    )
                    .map_err(AclError::from)?;
                }
            }
            needs::Effect::Dropped { schema, name } => {
                for table in ["owners", "grants"] {
                    conn.execute(
                        &format!(
                            "DELETE FROM s3shift_acl.{table} WHERE schema_name = ? AND \
                             (? IS NULL OR name = ?)"
                        ),
                        duckdb::params![schema, name, name],
                    )
                    .map_err(AclError::from)?;
                }
            }
        }
    }
    Ok(())
}

/// Replaces calls of `has_table_privilege`, `has_schema_privilege`, `has_database_privilege` and
/// `has_assumerole_privilege` whose arguments are literals with their
/// answer for `user`; other arguments are refused with a clear error (not modelled).
pub(crate) fn answer_privilege_functions(
    catalog: impl FnOnce() -> Result<Arc<Catalog>, AclError>,
    user: &DbUser,
    database: &str,
    toks: Vec<Tok>,
) -> Result<Vec<Tok>, AclError> {
    functions::answer_functions(catalog, user, database, toks)
}

/// Whether a statement may change what [`Catalog`] holds for everyone (any DDL but a temporary table's
/// creation, any privilege statement): a cached catalog is stale after it.
pub(crate) fn changes_catalog(toks: &[Tok]) -> bool {
    let words: Vec<String> = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            Tok::Space(_) => None,
            _ => Some(String::new()),
        })
        .take(4)
        .collect();
    let first = words.first().map_or("", String::as_str);
    match first {
        "create" => !words.iter().any(|w| w == "temp" || w == "temporary"),
        "drop" | "alter" | "comment" | "grant" | "revoke" | "truncate" => true,
        _ => false,
    }
}

/// Whether the statement is `DROP TABLE [IF EXISTS] name` of an unqualified name that is a temporary table of
/// this session. Such a drop touches nobody else's catalog: it needs no privilege (a session owns its temporary
/// tables), records no effect and leaves cached catalogs valid. The load batch ends with one.
pub(crate) fn drops_temporary(conn: &Connection, toks: &[Tok]) -> Result<bool, AclError> {
    let words: Vec<&Tok> = toks.iter().filter(|t| !matches!(t, Tok::Space(_))).collect();
    let mut i = 2;
    if !(words.first().is_some_and(|t| t.is("drop")) && words.get(1).is_some_and(|t| t.is("table"))) {
        return Ok(false);
    }
    if words.get(2).is_some_and(|t| t.is("if")) && words.get(3).is_some_and(|t| t.is("exists")) {
        i = 4;
    }
    let Some(name) = words.get(i).and_then(|t| t.ident()) else {
        return Ok(false);
    };
    let rest_is_end = words[i + 1..].iter().all(|t| t.is_punct(";"));
    if !rest_is_end {
        return Ok(false); // qualified, a list, CASCADE: the general path
    }
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
            [&name],
            |r| r.get(0),
        )
        .map_err(AclError::from)?;
    Ok(n > 0)
}

/// Runs GRANT, REVOKE, CREATE/DROP ROLE or ALTER DEFAULT PRIVILEGES for `user`.
pub(crate) fn run_acl(
    conn: &Connection,
    user: &DbUser,
    statement: &AclStatement,
    database: &str,
) -> Result<(), AclError> {
    grants::run(conn, user, statement, database)
}
