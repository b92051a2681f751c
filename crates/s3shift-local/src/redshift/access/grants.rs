//! The statements that change privileges (GRANT, REVOKE, CREATE ROLE, DROP ROLE, ALTER DEFAULT PRIVILEGES, and
//! GRANT / REVOKE ASSUMEROLE), with Redshift's syntax.

use duckdb::Connection;

use super::super::lex::Tok;
use super::error::{AclError, Denied};
use super::{Catalog, DbUser, Object, role_key, user_key};

/// Table privileges (REVOKE's list, the longest of the pages).
pub(super) const TABLE_PRIVILEGES: &[&str] = &[
    "select",
    "insert",
    "update",
    "delete",
    "drop",
    "references",
    "alter",
    "truncate",
];
pub(super) const SCHEMA_PRIVILEGES: &[&str] = &["create", "usage"];
pub(super) const DATABASE_PRIVILEGES: &[&str] = &["create", "temp"];

/// What a privilege statement grants or revokes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum On {
    Tables(Vec<Vec<String>>),
    AllTablesIn(Vec<String>),
    Schemas(Vec<String>),
    Database(String),
}

/// A grantee: `u:<user>`, `r:<role>` or `public`.
type Grantee = String;

/// A statement that changes privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AclStatement {
    CreateRole(String),
    DropRole {
        name: String,
        if_exists: bool,
    },
    /// GRANT ROLE r TO ... / REVOKE ROLE r FROM ...
    Membership {
        roles: Vec<String>,
        to: Vec<Grantee>,
        revoke: bool,
    },
    Privileges {
        privileges: Vec<String>,
        on: On,
        to: Vec<Grantee>,
        revoke: bool,
    },
    Defaults {
        for_users: Vec<String>,
        schemas: Vec<String>,
        privileges: Vec<String>,
        to: Vec<Grantee>,
        revoke: bool,
    },
    /// GRANT / REVOKE ASSUMEROLE ON { 'arn' [, ...] | default | ALL } TO|FROM ... FOR { ALL | command [, ...] }
    AssumeRole {
        /// `*` for ALL, `default`, or ARNs (a role chain as written).
        roles: Vec<String>,
        to: Vec<Grantee>,
        /// Lower case: `copy`, `unload`, `external function`, `create model`.
        commands: Vec<String>,
        revoke: bool,
    },
}

/// The commands ASSUMEROLE is granted for (GRANT; HAS_ASSUMEROLE_PRIVILEGE's `cmd_type`).
pub(super) const ASSUMEROLE_COMMANDS: &[&str] = &["copy", "unload", "external function", "create model"];

pub(super) fn not_supported(what: &str) -> AclError {
    AclError::NotSupported(what.to_owned())
}

struct Cursor<'a> {
    s: Vec<&'a Tok>,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek_is(&self, kw: &str) -> bool {
        self.s.get(self.i).is_some_and(|t| t.is(kw))
    }
    fn eat(&mut self, kw: &str) -> bool {
        let yes = self.peek_is(kw);
        if yes {
            self.i += 1;
        }
        yes
    }
    fn expect(&mut self, kw: &str) -> Result<(), AclError> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(AclError::Syntax { near: self.here() })
        }
    }
    fn here(&self) -> String {
        self.s
            .get(self.i)
            .map_or_else(|| "end of input".into(), |t| t.text().to_owned())
    }
    fn ident(&mut self) -> Result<String, AclError> {
        let t = self.s.get(self.i).and_then(|t| t.ident());
        match t {
            Some(n) => {
                self.i += 1;
                Ok(n)
            }
            None => Err(AclError::Syntax { near: self.here() }),
        }
    }
    fn name(&mut self) -> Result<Vec<String>, AclError> {
        let mut parts = vec![self.ident()?];
        while self.s.get(self.i).is_some_and(|t| t.is_punct(".")) {
            self.i += 1;
            parts.push(self.ident()?);
        }
        Ok(parts)
    }
    fn comma(&mut self) -> bool {
        let yes = self.s.get(self.i).is_some_and(|t| t.is_punct(","));
        if yes {
            self.i += 1;
        }
        yes
    }
    fn done(&self) -> Result<(), AclError> {
        match self.s.get(self.i) {
            None => Ok(()),
            Some(t) if t.is_punct(";") => Ok(()),
            Some(_) => Err(AclError::Syntax { near: self.here() }),
        }
    }
}

/// The privilege statement in `toks`, if it is one.
pub(crate) fn parse_acl(toks: &[Tok]) -> Result<Option<AclStatement>, AclError> {
    let s: Vec<&Tok> = toks.iter().filter(|t| !matches!(t, Tok::Space(_))).collect();
    let mut c = Cursor { s, i: 0 };
    if c.eat("create") {
        if !c.eat("role") {
            if c.peek_is("user") {
                return Err(not_supported(
                    "CREATE USER: database users come from IAM identities (IAM:<user>, IAMR:<role>) or the admin secret",
                ));
            }
            return Ok(None);
        }
        let name = c.ident()?;
        c.done()?;
        return Ok(Some(AclStatement::CreateRole(name)));
    }
    if c.eat("drop") {
        if !c.eat("role") {
            return Ok(None);
        }
        let if_exists = c.eat("if") && c.eat("exists");
        let name = c.ident()?;
        let _ = c.eat("force") || c.eat("restrict");
        c.done()?;
        return Ok(Some(AclStatement::DropRole { name, if_exists }));
    }
    if c.eat("alter") {
        if !(c.eat("default") && c.eat("privileges")) {
            return Ok(None);
        }
        let mut for_users = Vec::new();
        let mut schemas = Vec::new();
        if c.eat("for") {
            c.expect("user")?;
            loop {
                for_users.push(c.ident()?);
                if !c.comma() {
                    break;
                }
            }
        }
        if c.eat("in") {
            c.expect("schema")?;
            loop {
                schemas.push(c.ident()?);
                if !c.comma() {
                    break;
                }
            }
        }
        let revoke = if c.eat("grant") {
            false
        } else if c.eat("revoke") {
            true
        } else {
            return Err(AclError::Syntax { near: c.here() });
        };
        let privileges = privilege_list(&mut c, TABLE_PRIVILEGES)?;
        c.expect("on")?;
        if !c.eat("tables") {
            return Err(not_supported("default privileges on anything but TABLES"));
        }
        c.expect(if revoke { "from" } else { "to" })?;
        let to = grantees(&mut c)?;
        c.done()?;
        return Ok(Some(AclStatement::Defaults {
            for_users,
            schemas,
            privileges,
            to,
            revoke,
        }));
    }
    let revoke = if c.eat("grant") {
        false
    } else if c.eat("revoke") {
        true
    } else {
        return Ok(None);
    };
    if c.eat("assumerole") {
        return assume_role(&mut c, revoke).map(Some);
    }
    if c.eat("role") {
        let mut roles = vec![c.ident()?];
        while c.comma() {
            let _ = c.eat("role");
            roles.push(c.ident()?);
        }
        c.expect(if revoke { "from" } else { "to" })?;
        let to = grantees(&mut c)?;
        c.done()?;
        return Ok(Some(AclStatement::Membership { roles, to, revoke }));
    }
    // Privileges first, then what they are on.
    let start = c.i;
    while c.s.get(c.i).is_some_and(|t| !t.is("on")) {
        c.i += 1;
    }
    let on_at = c.i;
    c.expect("on")?;
    let on = if c.eat("schema") {
        let mut v = vec![c.ident()?];
        while c.comma() {
            v.push(c.ident()?);
        }
        On::Schemas(v)
    } else if c.eat("database") {
        On::Database(c.ident()?)
    } else if c.eat("all") {
        c.expect("tables")?;
        c.expect("in")?;
        c.expect("schema")?;
        let mut v = vec![c.ident()?];
        while c.comma() {
            v.push(c.ident()?);
        }
        On::AllTablesIn(v)
    } else if c.peek_is("function") || c.peek_is("procedure") || c.peek_is("language") {
        return Err(not_supported(&format!("GRANT ON {}", c.here().to_uppercase())));
    } else {
        let _ = c.eat("table");
        let mut v = vec![c.name()?];
        while c.comma() {
            v.push(c.name()?);
        }
        On::Tables(v)
    };
    let allowed = match on {
        On::Schemas(_) => SCHEMA_PRIVILEGES,
        On::Database(_) => DATABASE_PRIVILEGES,
        _ => TABLE_PRIVILEGES,
    };
    let mut pc = Cursor {
        s: c.s[start..on_at].to_vec(),
        i: 0,
    };
    let privileges = privilege_list(&mut pc, allowed)?;
    pc.done()?;
    c.expect(if revoke { "from" } else { "to" })?;
    let to = grantees(&mut c)?;
    if c.peek_is("with") {
        return Err(not_supported("WITH GRANT OPTION"));
    }
    let _ = c.eat("cascade") || c.eat("restrict");
    c.done()?;
    Ok(Some(AclStatement::Privileges {
        privileges,
        on,
        to,
        revoke,
    }))
}

/// The rest of GRANT / REVOKE ASSUMEROLE, after the keyword.
fn assume_role(c: &mut Cursor<'_>, revoke: bool) -> Result<AclStatement, AclError> {
    c.expect("on")?;
    let roles = if c.eat("all") {
        vec!["*".to_owned()]
    } else if c.eat("default") {
        vec!["default".to_owned()]
    } else {
        let mut v = Vec::new();
        loop {
            let Some(arn) = c.s.get(c.i).and_then(|t| t.string_value()) else {
                return Err(AclError::Syntax { near: c.here() });
            };
            c.i += 1;
            v.push(arn);
            if !c.comma() {
                break;
            }
        }
        v
    };
    c.expect(if revoke { "from" } else { "to" })?;
    let to = grantees(c)?;
    c.expect("for")?;
    let mut commands = Vec::new();
    loop {
        if c.eat("all") {
            commands.extend(ASSUMEROLE_COMMANDS.iter().map(|s| (*s).to_owned()));
        } else if c.eat("copy") {
            commands.push("copy".to_owned());
        } else if c.eat("unload") {
            commands.push("unload".to_owned());
        } else if c.eat("external") {
            c.expect("function")?;
            commands.push("external function".to_owned());
        } else if c.eat("create") {
            c.expect("model")?;
            commands.push("create model".to_owned());
        } else {
            return Err(AclError::Syntax { near: c.here() });
        }
        if !c.comma() {
            break;
        }
    }
    c.done()?;
    Ok(AclStatement::AssumeRole {
        roles,
        to,
        commands,
        revoke,
    })
}

fn privilege_list(c: &mut Cursor<'_>, allowed: &[&str]) -> Result<Vec<String>, AclError> {
    if c.eat("all") {
        let _ = c.eat("privileges");
        return Ok(allowed.iter().map(|p| (*p).to_owned()).collect());
    }
    let mut out = Vec::new();
    loop {
        let p = c.ident()?;
        let p = if p == "temporary" { "temp".to_owned() } else { p };
        if c.s.get(c.i).is_some_and(|t| t.is_punct("(")) {
            return Err(not_supported("column-level privileges"));
        }
        if !allowed.contains(&p.as_str()) {
            return Err(AclError::Unrecognized {
                what: "privilege",
                value: p,
            });
        }
        out.push(p);
        if !c.comma() {
            break;
        }
    }
    Ok(out)
}

fn grantees(c: &mut Cursor<'_>) -> Result<Vec<Grantee>, AclError> {
    let mut out = Vec::new();
    loop {
        if c.eat("role") {
            out.push(role_key(&c.ident()?));
        } else if c.eat("group") {
            return Err(not_supported("GROUP grantees (use ROLE)"));
        } else if c.eat("public") {
            out.push("public".into());
        } else {
            out.push(user_key(&c.ident()?));
        }
        if !c.comma() {
            break;
        }
    }
    Ok(out)
}

/// Checks that each grantee exists.
fn check_grantees(catalog: &Catalog, to: &[Grantee]) -> Result<(), AclError> {
    for g in to {
        if let Some(r) = g.strip_prefix("r:") {
            if !catalog.role_exists(r) {
                return Err(AclError::Missing {
                    kind: "role",
                    name: r.to_owned(),
                });
            }
        } else if let Some(u) = g.strip_prefix("u:")
            && catalog.user(u).is_none()
        {
            return Err(AclError::Missing {
                kind: "user",
                name: u.to_owned(),
            });
        }
    }
    Ok(())
}

fn exec(conn: &Connection, sql: &str, args: &[&dyn duckdb::ToSql]) -> Result<(), AclError> {
    conn.execute(sql, args).map(|_| ()).map_err(AclError::from)
}

/// Runs a privilege statement for `user`.
pub(crate) fn run(
    conn: &Connection,
    user: &DbUser,
    st: &AclStatement,
    database: &str,
) -> Result<(), AclError> {
    let catalog = match st {
        AclStatement::Privileges { .. } => Catalog::load(conn)?,
        _ => Catalog::load_privileges(conn)?,
    };
    match st {
        AclStatement::CreateRole(name) => {
            if !user.superuser {
                return Err(AclError::Denied(Denied::To("create role")));
            }
            if catalog.role_exists(name) {
                return Err(AclError::Exists {
                    kind: "role",
                    name: name.clone(),
                });
            }
            exec(conn, "INSERT INTO s3shift_acl.roles VALUES (?)", &[name])
        }
        AclStatement::DropRole { name, if_exists } => {
            if !user.superuser {
                return Err(AclError::Denied(Denied::To("drop role")));
            }
            if !catalog.role_exists(name) {
                return if *if_exists {
                    Ok(())
                } else {
                    Err(AclError::Missing {
                        kind: "role",
                        name: name.clone(),
                    })
                };
            }
            exec(conn, "DELETE FROM s3shift_acl.roles WHERE name = ?", &[name])?;
            exec(
                conn,
                "DELETE FROM s3shift_acl.members WHERE role = ? OR member = ?",
                &[name, &role_key(name)],
            )?;
            exec(
                conn,
                "DELETE FROM s3shift_acl.grants WHERE grantee = ?",
                &[&role_key(name)],
            )?;
            exec(
                conn,
                "DELETE FROM s3shift_acl.default_grants WHERE grantee = ?",
                &[&role_key(name)],
            )?;
            exec(
                conn,
                "DELETE FROM s3shift_acl.assumerole WHERE grantee = ?",
                &[&role_key(name)],
            )
        }
        AclStatement::AssumeRole {
            roles,
            to,
            commands,
            revoke,
        } => {
            // "Only a database superuser can grant or revoke the ASSUMEROLE permission" (GRANT, usage notes).
            if !user.superuser {
                return Err(AclError::Denied(Denied::SuperuserOnly(
                    "only a superuser may grant or revoke the ASSUMEROLE permission",
                )));
            }
            check_grantees(&catalog, to)?;
            for g in to {
                for cmd in commands {
                    for r in roles {
                        if *revoke && r == "*" {
                            exec(
                                conn,
                                "DELETE FROM s3shift_acl.assumerole WHERE grantee = ? AND command = ?",
                                &[g, cmd],
                            )?;
                            continue;
                        }
                        if *revoke
                            && catalog
                                .assumerole
                                .iter()
                                .any(|(cr, cg, cc)| cr == "*" && cg == g && cc == cmd)
                        {
                            return Err(not_supported(
                                "revoking ASSUMEROLE on one role from a grantee that holds it on ALL (revoke ON ALL, \
                                 then grant the roles it keeps)",
                            ));
                        }
                        exec(
                            conn,
                            "DELETE FROM s3shift_acl.assumerole WHERE iam_role = ? AND grantee = ? AND command = ?",
                            &[r, g, cmd],
                        )?;
                        if !revoke {
                            exec(
                                conn,
                                "INSERT INTO s3shift_acl.assumerole VALUES (?, ?, ?)",
                                &[r, g, cmd],
                            )?;
                        }
                    }
                }
            }
            Ok(())
        }
        AclStatement::Membership { roles, to, revoke } => {
            if !user.superuser {
                return Err(AclError::Denied(Denied::To("grant role")));
            }
            for r in roles {
                if !catalog.role_exists(r) {
                    return Err(AclError::Missing {
                        kind: "role",
                        name: r.to_owned(),
                    });
                }
            }
            check_grantees(&catalog, to)?;
            for r in roles {
                for g in to {
                    if g == "public" {
                        return Err(AclError::RoleToPublic);
                    }
                    exec(
                        conn,
                        "DELETE FROM s3shift_acl.members WHERE role = ? AND member = ? AND NOT via_tag",
                        &[r, g],
                    )?;
                    if !revoke {
                        exec(
                            conn,
                            "INSERT INTO s3shift_acl.members VALUES (?, ?, false)",
                            &[r, g],
                        )?;
                    }
                }
            }
            Ok(())
        }
        AclStatement::Privileges {
            privileges,
            on,
            to,
            revoke,
        } => {
            check_grantees(&catalog, to)?;
            let objects: Vec<Object> = match on {
                On::Database(d) => {
                    if d != database {
                        return Err(AclError::Missing {
                            kind: "database",
                            name: d.clone(),
                        });
                    }
                    if !user.superuser {
                        return Err(AclError::Denied(Denied::For {
                            kind: "database",
                            name: d.clone(),
                        }));
                    }
                    vec![Object::Database]
                }
                On::Schemas(v) => v.iter().map(|s| Object::Schema(s.clone())).collect(),
                On::Tables(v) => {
                    let mut out = Vec::new();
                    for name in v {
                        let Some((schema, rel)) = catalog.resolve(name) else {
                            return Err(AclError::Missing {
                                kind: "relation",
                                name: name.join("."),
                            });
                        };
                        if schema.is_empty() {
                            return Err(not_supported("GRANT on a temporary table"));
                        }
                        out.push(Object::Relation(schema, rel));
                    }
                    out
                }
                On::AllTablesIn(schemas) => {
                    let mut out = Vec::new();
                    for schema in schemas {
                        for rel in catalog.relations_in(schema) {
                            out.push(Object::Relation(schema.clone(), rel));
                        }
                    }
                    out
                }
            };
            for object in &objects {
                if !user.superuser && !catalog.owns(&user.name, object) {
                    return Err(match object {
                        Object::Relation(_, n) => AclError::Denied(Denied::For {
                            kind: "relation",
                            name: n.clone(),
                        }),
                        Object::Schema(s) => AclError::Denied(Denied::For {
                            kind: "schema",
                            name: s.clone(),
                        }),
                        Object::Database => AclError::Denied(Denied::For {
                            kind: "database",
                            name: database.to_owned(),
                        }),
                    });
                }
                let (schema, name) = object.keys();
                for p in privileges {
                    for g in to {
                        exec(
                            conn,
                            "DELETE FROM s3shift_acl.grants WHERE schema_name = ? AND name IS NOT DISTINCT FROM ? \
                             AND grantee = ? AND privilege = ?",
                            &[&schema, &name, g, p],
                        )?;
                        if !revoke {
                            exec(
                                conn,
                                "INSERT INTO s3shift_acl.grants VALUES (?, ?, ?, ?)",
                                &[&schema, &name, g, p],
                            )?;
                        }
                    }
                }
            }
            Ok(())
        }
        AclStatement::Defaults {
            for_users,
            schemas,
            privileges,
            to,
            revoke,
        } => {
            check_grantees(&catalog, to)?;
            let owners: Vec<String> = if for_users.is_empty() {
                vec![user.name.clone()]
            } else {
                for_users.clone()
            };
            if !user.superuser && owners.iter().any(|o| *o != user.name) {
                return Err(AclError::Denied(Denied::SuperuserOnly(
                    "only a superuser may alter the default privileges of another user",
                )));
            }
            let schemas: Vec<Option<&String>> = if schemas.is_empty() {
                vec![None]
            } else {
                schemas.iter().map(Some).collect()
            };
            for o in &owners {
                for s in &schemas {
                    for p in privileges {
                        for g in to {
                            exec(
                                conn,
                                "DELETE FROM s3shift_acl.default_grants WHERE owner = ? AND schema_name IS NOT \
                                 DISTINCT FROM ? AND grantee = ? AND privilege = ?",
                                &[o, s, g, p],
                            )?;
                            if !revoke {
                                exec(
                                    conn,
                                    "INSERT INTO s3shift_acl.default_grants VALUES (?, ?, ?, ?)",
                                    &[o, s, g, p],
                                )?;
                            }
                        }
                    }
                }
            }
            Ok(())
        }
    }
}
