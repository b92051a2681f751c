//! The functions that ask about privileges, answered before the statement runs: HAS_TABLE_PRIVILEGE,
//! HAS_SCHEMA_PRIVILEGE and HAS_DATABASE_PRIVILEGE (`([user,] object, privilege)`), HAS_ASSUMEROLE_PRIVILEGE
//! (`([user,] iam_role_arn, cmd_type)`; "users can only view their own privileges"), each from its AWS page, and
//! `current_user` / `session_user`.

use std::sync::Arc;

use super::super::lex::Tok;
use super::error::{AclError, Denied};
use super::grants::{
    ASSUMEROLE_COMMANDS, DATABASE_PRIVILEGES, SCHEMA_PRIVILEGES, TABLE_PRIVILEGES, not_supported,
};
use super::{Catalog, DbUser, Object};

/// Answers `has_table_privilege(...)` and `has_schema_privilege(...)` calls with literal arguments in place, and
/// `current_user` / `session_user` with the user's name.
pub(crate) fn answer_functions(
    catalog: impl FnOnce() -> Result<Arc<Catalog>, AclError>,
    user: &DbUser,
    database: &str,
    toks: Vec<Tok>,
) -> Result<Vec<Tok>, AclError> {
    const NAMES: [&str; 4] = [
        "has_table_privilege",
        "has_schema_privilege",
        "has_database_privilege",
        "has_assumerole_privilege",
    ];
    let named = |t: &Tok| NAMES.iter().any(|n| t.is(n));
    let who = |t: &Tok| t.is("current_user") || t.is("session_user");
    if !toks.iter().any(|t| named(t) || who(t)) {
        return Ok(toks);
    }
    let catalog = if toks.iter().any(named) {
        catalog()?
    } else {
        Arc::new(Catalog::default())
    };
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if who(&toks[i]) {
            out.push(Tok::Str(format!("'{}'", user.name.replace('\'', "''"))));
            i += 1;
            continue;
        }
        if !named(&toks[i]) {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        let Some(fname) = NAMES
            .iter()
            .find(|n| toks[i].is(n))
            .map(|n| n.to_ascii_uppercase())
        else {
            out.push(toks[i].clone());
            i += 1;
            continue;
        };
        let mut j = i + 1;
        let skip = |j: &mut usize| {
            while toks.get(*j).is_some_and(|t| matches!(t, Tok::Space(_))) {
                *j += 1;
            }
        };
        skip(&mut j);
        if !toks.get(j).is_some_and(|t| t.is_punct("(")) {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        j += 1;
        let mut args = Vec::new();
        loop {
            skip(&mut j);
            let Some(v) = toks.get(j).and_then(Tok::string_value) else {
                return Err(not_supported(&format!(
                    "{fname} with arguments other than string literals"
                )));
            };
            args.push(v);
            j += 1;
            skip(&mut j);
            match toks.get(j) {
                Some(t) if t.is_punct(",") => j += 1,
                Some(t) if t.is_punct(")") => break,
                _ => return Err(AclError::SyntaxIn { function: fname }),
            }
        }
        let (who, object, privilege) = match args.as_slice() {
            [o, p] => (user.clone(), o.clone(), p.to_ascii_lowercase()),
            [u, o, p] => {
                let Some(superuser) = catalog.user(u) else {
                    return Err(AclError::Missing {
                        kind: "user",
                        name: u.clone(),
                    });
                };
                (
                    DbUser {
                        name: u.clone(),
                        superuser,
                    },
                    o.clone(),
                    p.to_ascii_lowercase(),
                )
            }
            _ => return Err(AclError::NoFunction(fname.to_lowercase())),
        };
        let answer = if fname == "HAS_ASSUMEROLE_PRIVILEGE" {
            if who.name != user.name && !user.superuser {
                return Err(AclError::Denied(Denied::SuperuserOnly(
                    "a user can only view its own ASSUMEROLE privileges",
                )));
            }
            if !ASSUMEROLE_COMMANDS.contains(&privilege.as_str()) {
                return Err(AclError::Unrecognized {
                    what: "command",
                    value: privilege,
                });
            }
            catalog.may_assume(&who, &object, &privilege)
        } else if fname == "HAS_DATABASE_PRIVILEGE" {
            let privilege = if privilege == "temporary" {
                "temp".to_owned()
            } else {
                privilege
            };
            if !DATABASE_PRIVILEGES.contains(&privilege.as_str()) {
                return Err(AclError::Unrecognized {
                    what: "privilege",
                    value: privilege,
                });
            }
            if object.trim_matches('"') != database {
                return Err(AclError::Missing {
                    kind: "database",
                    name: object,
                });
            }
            catalog.holds(&who, &Object::Database, &privilege)
        } else if fname == "HAS_TABLE_PRIVILEGE" {
            if !TABLE_PRIVILEGES.contains(&privilege.as_str()) {
                return Err(AclError::Unrecognized {
                    what: "privilege",
                    value: privilege,
                });
            }
            let parts: Vec<String> = object
                .split('.')
                .map(|p| p.trim_matches('"').to_owned())
                .map(|p| if p == "public" { "main".to_owned() } else { p })
                .collect();
            let Some((schema, rel)) = catalog.resolve(&parts) else {
                return Err(AclError::Missing {
                    kind: "relation",
                    name: object,
                });
            };
            schema.is_empty()
                || (catalog.holds(&who, &Object::Schema(schema.clone()), "usage")
                    && catalog.holds(&who, &Object::Relation(schema, rel), &privilege))
        } else {
            if !SCHEMA_PRIVILEGES.contains(&privilege.as_str()) {
                return Err(AclError::Unrecognized {
                    what: "privilege",
                    value: privilege,
                });
            }
            let object = if object == "public" {
                "main".to_owned()
            } else {
                object
            };
            if !catalog.schema_exists(&object) {
                return Err(AclError::Missing {
                    kind: "schema",
                    name: object,
                });
            }
            catalog.holds(&who, &Object::Schema(object), &privilege)
        };
        out.push(Tok::Word(if answer { "TRUE".into() } else { "FALSE".into() }));
        i = j + 1;
    }
    Ok(out)
}
