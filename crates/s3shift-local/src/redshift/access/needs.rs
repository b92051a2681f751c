//! What a statement needs: the privileges on each relation, schema or the database it names, read from its
//! tokens, and what it creates or drops.
//!
//! Relations are found where SQL names them: after FROM, JOIN, INTO, UPDATE, USING, COPY, TABLE, TRUNCATE,
//! LIKE, and in the comma lists after FROM. Names defined by WITH are not relations; a name followed by `(` is a
//! function. A name that resolves to no relation is left to the engine, which answers "does not exist".

use super::super::lex::Tok;
use super::error::{AclError, Denied};
use super::{Catalog, DbUser, Object};

/// A privilege a statement needs on an object named in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    target: Target,
    privilege: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Database,
    Schema(String),
    /// A relation as written (1 to 3 parts).
    Relation(Vec<String>),
    /// The relation's owner (DROP, ALTER, COMMENT, CREATE OR REPLACE of an existing view).
    OwnerOf(Vec<String>),
    /// The schema's owner.
    OwnerOfSchema(String),
}

/// What a statement changes in ownership once it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A schema (`name` None) or a relation was created.
    Created {
        schema: Option<String>,
        name: Option<String>,
    },
    /// A schema (`name` None, with everything in it) or a relation was dropped.
    Dropped { schema: String, name: Option<String> },
}

/// The needs and effects of one statement.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub(crate) needs: Vec<Need>,
    pub(crate) effects: Vec<Effect>,
}

impl Analysis {
    /// The relations the statement reads and those it writes, as written.
    pub(crate) fn tables(&self) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        let (mut reads, mut writes) = (Vec::new(), Vec::new());
        for n in &self.needs {
            if let Target::Relation(name) = &n.target {
                match n.privilege {
                    "select" => reads.push(name.clone()),
                    "insert" | "update" | "delete" | "truncate" => writes.push(name.clone()),
                    _ => {}
                }
            }
        }
        (reads, writes)
    }
}

impl Need {
    /// Refuses with Redshift's words unless `user` holds this.
    pub(crate) fn check(&self, catalog: &Catalog, user: &DbUser, database: &str) -> Result<(), AclError> {
        if user.superuser {
            return Ok(());
        }
        match &self.target {
            Target::Database => {
                if !catalog.holds(user, &Object::Database, self.privilege) {
                    return Err(AclError::Denied(Denied::For {
                        kind: "database",
                        name: database.to_owned(),
                    }));
                }
            }
            Target::Schema(s) => {
                if catalog.schema_exists(s)
                    && !catalog.holds(user, &Object::Schema(s.clone()), self.privilege)
                {
                    return Err(AclError::Denied(Denied::For {
                        kind: "schema",
                        name: shown(s).to_string(),
                    }));
                }
            }
            Target::OwnerOfSchema(s) => {
                if catalog.schema_exists(s) && !catalog.owns(&user.name, &Object::Schema(s.clone())) {
                    return Err(AclError::NotOwner {
                        kind: "schema",
                        name: shown(s).to_string(),
                    });
                }
            }
            Target::Relation(name) | Target::OwnerOf(name) => {
                let Some((schema, rel)) = catalog.resolve(name) else {
                    return Ok(());
                };
                if schema.is_empty() {
                    return Ok(()); // a temporary table: its session's own
                }
                let object = Object::Schema(schema.clone());
                if !catalog.holds(user, &object, "usage") {
                    return Err(AclError::Denied(Denied::For {
                        kind: "schema",
                        name: shown(&schema).to_string(),
                    }));
                }
                let relation = Object::Relation(schema, rel.clone());
                if matches!(self.target, Target::OwnerOf(_)) {
                    if !catalog.owns(&user.name, &relation) {
                        return Err(AclError::NotOwner {
                            kind: "relation",
                            name: rel.to_string(),
                        });
                    }
                } else if !catalog.holds(user, &relation, self.privilege) {
                    return Err(AclError::Denied(Denied::For {
                        kind: "relation",
                        name: rel.to_string(),
                    }));
                }
            }
        }
        Ok(())
    }
}

/// A schema as Redshift names it (DuckDB's `main` is Redshift's `public`).
fn shown(schema: &str) -> &str {
    if schema == "main" { "public" } else { schema }
}

fn word(t: Option<&&Tok>) -> String {
    match t {
        Some(Tok::Word(w)) => w.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// A dotted name starting at `i`: its parts and the index after it.
fn name_at(s: &[&Tok], i: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![s.get(i)?.ident()?];
    let mut j = i + 1;
    while s.get(j).is_some_and(|t| t.is_punct(".")) {
        parts.push(s.get(j + 1)?.ident()?);
        j += 2;
    }
    Some((parts, j))
}

/// Words after which a relation is named.
const INTRODUCERS: &[&str] = &[
    "from", "join", "into", "update", "using", "table", "truncate", "like", "copy", "lock",
];

/// Words that end a FROM list item's alias position (never an alias themselves).
const NOT_ALIAS: &[&str] = &[
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "natural",
    "on",
    "group",
    "order",
    "limit",
    "union",
    "except",
    "intersect",
    "having",
    "set",
    "values",
    "select",
    "when",
    "using",
    "as",
    "window",
    "offset",
    "returning",
    "with",
    "qualify",
    "lateral",
    "tablesample",
    "for",
];

/// Every relation the statement names, with the index of its first token; names that WITH defines excluded.
fn relations(s: &[&Tok]) -> Vec<(usize, Vec<String>)> {
    let mut ctes: Vec<String> = Vec::new();
    for i in 0..s.len() {
        // `name AS (` or `name (cols) AS (` after WITH or a comma.
        if s.get(i + 1).is_some_and(|t| t.is("as")) && s.get(i + 2).is_some_and(|t| t.is_punct("(")) {
            let prev = i.checked_sub(1).and_then(|p| s.get(p));
            if prev.is_some_and(|t| t.is("with") || t.is("recursive") || t.is_punct(","))
                && let Some(n) = s[i].ident()
            {
                ctes.push(n);
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let w = word(s.get(i));
        let in_from_list = w == "from" || w == "join" || w == "using" || w == "lock";
        // `LOCK TABLE t`: the names were read at LOCK.
        let after_lock = w == "table" && i > 0 && word(s.get(i - 1)) == "lock";
        if INTRODUCERS.contains(&w.as_str()) && !after_lock {
            let mut j = i + 1;
            if word(s.get(j)) == "only"
                || word(s.get(j)) == "lateral"
                || (w == "lock" && word(s.get(j)) == "table")
            {
                j += 1;
            }
            while let Some((parts, after)) = name_at(s, j) {
                if s.get(after).is_some_and(|t| t.is_punct("(")) && w != "into" && w != "table" && w != "copy"
                {
                    break; // a function (or a table function)
                }
                if matches!(s.get(j), Some(Tok::Word(_)))
                    && NOT_ALIAS.contains(&parts[0].as_str())
                    && parts.len() == 1
                {
                    break;
                }
                if !(parts.len() == 1 && ctes.contains(&parts[0])) {
                    out.push((j, parts));
                }
                if !in_from_list {
                    break;
                }
                // Skip an alias, then continue after a comma.
                let mut k = after;
                if word(s.get(k)) == "as" {
                    k += 1;
                }
                if matches!(s.get(k), Some(Tok::Word(_) | Tok::Quoted(_)))
                    && !NOT_ALIAS.contains(&word(s.get(k)).as_str())
                {
                    k += 1;
                }
                if s.get(k).is_some_and(|t| t.is_punct(",")) {
                    j = k + 1;
                    continue;
                }
                break;
            }
        }
        i += 1;
    }
    out
}

/// Reads what `toks` (one statement) needs.
pub(crate) fn analyse(toks: &[Tok]) -> Result<Analysis, AclError> {
    let s: Vec<&Tok> = toks.iter().filter(|t| !matches!(t, Tok::Space(_))).collect();
    let mut a = Analysis::default();
    let w = |i: usize| word(s.get(i));
    let rels = relations(&s);
    let select_all = |a: &mut Analysis, skip: Option<usize>| {
        for (at, r) in &rels {
            if Some(*at) != skip {
                a.needs.push(Need {
                    target: Target::Relation(r.clone()),
                    privilege: "select",
                });
            }
        }
    };
    let relation = |priv_: &'static str, name: &[String]| Need {
        target: Target::Relation(name.to_vec()),
        privilege: priv_,
    };
    let has = |kw: &str| s.iter().any(|t| t.is(kw));
    let first_rel = rels.first().cloned();
    match w(0).as_str() {
        "select" | "with" | "values" | "show" | "describe" | "explain" | "(" | "" => select_all(&mut a, None),
        "insert" => {
            if let Some((at, r)) = &first_rel {
                a.needs.push(relation("insert", r));
                select_all(&mut a, Some(*at));
            }
        }
        "update" => {
            if let Some((at, r)) = &first_rel {
                a.needs.push(relation("update", r));
                if has("where") || has("from") {
                    a.needs.push(relation("select", r));
                }
                select_all(&mut a, Some(*at));
            }
        }
        "delete" => {
            if let Some((at, r)) = &first_rel {
                a.needs.push(relation("delete", r));
                if has("where") || has("using") {
                    a.needs.push(relation("select", r));
                }
                select_all(&mut a, Some(*at));
            }
        }
        "merge" => {
            if let Some((at, r)) = &first_rel {
                a.needs.push(relation("select", r));
                for p in ["insert", "update", "delete"] {
                    if s.iter().skip(3).any(|t| t.is(p)) {
                        a.needs.push(relation(p, r));
                    }
                }
                select_all(&mut a, Some(*at));
            }
        }
        "copy" => {
            if let Some((_, r)) = &first_rel {
                a.needs.push(relation("insert", r));
            }
        }
        "truncate" => {
            if let Some((_, r)) = &first_rel {
                a.needs.push(relation("truncate", r));
            }
        }
        // LOCK's page names no privilege. Conservatively, as PostgreSQL asks for ACCESS EXCLUSIVE (UPDATE,
        // DELETE or TRUNCATE): DELETE on each table, which every s3shift writer of a table holds.
        "lock" => {
            for (_, r) in &rels {
                a.needs.push(relation("delete", r));
            }
        }
        "create" => analyse_create(&s, &rels, &mut a),
        "drop" => {
            let what = w(1);
            let at = if w(2) == "if" && w(3) == "exists" { 4 } else { 2 };
            if what == "schema" {
                if let Some((parts, _)) = name_at(&s, at) {
                    let schema = parts[0].clone();
                    a.needs.push(Need {
                        target: Target::OwnerOfSchema(schema.clone()),
                        privilege: "",
                    });
                    a.effects.push(Effect::Dropped { schema, name: None });
                }
            } else if what == "table" || what == "view" {
                let mut j = at;
                while let Some((parts, after)) = name_at(&s, j) {
                    a.needs.push(Need {
                        target: Target::OwnerOf(parts.clone()),
                        privilege: "",
                    });
                    if let [schema, name] = parts.as_slice() {
                        a.effects.push(Effect::Dropped {
                            schema: schema.clone(),
                            name: Some(name.clone()),
                        });
                    } else if let [name] = parts.as_slice() {
                        a.effects.push(Effect::Dropped {
                            schema: "main".into(),
                            name: Some(name.clone()),
                        });
                    }
                    if !s.get(after).is_some_and(|t| t.is_punct(",")) {
                        break;
                    }
                    j = after + 1;
                }
            }
        }
        "alter" | "comment" => {
            let at = s
                .iter()
                .position(|t| t.is("table") || t.is("view"))
                .map(|p| p + 1);
            if let Some((parts, _)) = at.and_then(|p| name_at(&s, p)) {
                a.needs.push(Need {
                    target: Target::OwnerOf(parts),
                    privilege: "",
                });
            }
        }
        _ => {}
    }
    Ok(a)
}

fn analyse_create(s: &[&Tok], rels: &[(usize, Vec<String>)], a: &mut Analysis) {
    let words: Vec<String> = s.iter().take(8).map(|t| word(Some(t))).collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    if words.get(1).is_some_and(|w| w == "schema") {
        a.needs.push(Need {
            target: Target::Database,
            privilege: "create",
        });
        let at = if has("if") { 5 } else { 2 };
        if let Some((parts, _)) = name_at(s, at) {
            a.effects.push(Effect::Created {
                schema: Some(parts[0].clone()),
                name: None,
            });
        }
        return;
    }
    let is_view = has("view");
    let Some(kw) = s.iter().position(|t| t.is("table") || t.is("view")) else {
        return;
    };
    let at = if s.get(kw + 1).is_some_and(|t| t.is("if")) {
        kw + 4
    } else {
        kw + 1
    };
    let Some((parts, _)) = name_at(s, at) else { return };
    let temp = has("temp") || has("temporary");
    if temp {
        a.needs.push(Need {
            target: Target::Database,
            privilege: "temp",
        });
    } else {
        let schema = if parts.len() >= 2 {
            parts[parts.len() - 2].clone()
        } else {
            "main".into()
        };
        a.needs.push(Need {
            target: Target::Schema(schema.clone()),
            privilege: "create",
        });
        if is_view && has("replace") {
            a.needs.push(Need {
                target: Target::OwnerOf(parts.clone()),
                privilege: "",
            });
        }
        a.effects.push(Effect::Created {
            schema: Some(schema),
            name: parts.last().cloned(),
        });
    }
    // A late-binding view checks its owner's rights when it is queried, not when it is created.
    let late_binding = s.iter().any(|t| t.is("binding"));
    if !(is_view && late_binding) {
        for (i, r) in rels {
            if *i != at {
                a.needs.push(Need {
                    target: Target::Relation(r.clone()),
                    privilege: "select",
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::super::lex::lex;
    use super::*;

    fn rel_names(sql: &str) -> Vec<String> {
        let toks = lex(sql).unwrap();
        let s: Vec<&Tok> = toks.iter().filter(|t| !matches!(t, Tok::Space(_))).collect();
        relations(&s).into_iter().map(|(_, p)| p.join(".")).collect()
    }

    #[test]
    fn relations_are_found_where_sql_names_them() {
        assert_eq!(
            rel_names(
                "WITH d AS (SELECT * FROM s.stage) SELECT d.x FROM d, s.images i JOIN s.runs r ON true"
            ),
            ["s.stage", "s.images", "s.runs"]
        );
        assert_eq!(
            rel_names("DELETE FROM s3shift.images USING stage WHERE s3shift.images.etag = stage.etag"),
            ["s3shift.images", "stage"]
        );
        assert_eq!(rel_names("INSERT INTO t (a) SELECT upper(a) FROM u"), ["t", "u"]);
        assert_eq!(
            rel_names("CREATE TEMP TABLE st (LIKE s3shift.images)"),
            ["st", "s3shift.images"]
        );
        assert_eq!(rel_names("SELECT * FROM read_parquet('x')"), Vec::<String>::new());
        assert_eq!(rel_names("SELECT 1 FROM a AS x, b y WHERE 1 = 1"), ["a", "b"]);
        assert_eq!(rel_names("LOCK s.fences, s.images"), ["s.fences", "s.images"]);
        assert_eq!(rel_names("LOCK TABLE s.fences"), ["s.fences"]);
    }

    #[test]
    fn each_statement_needs_its_privileges() {
        let needs = |sql: &str| {
            analyse(&lex(sql).unwrap())
                .unwrap()
                .needs
                .into_iter()
                .map(|n| format!("{:?} {}", n.target, n.privilege))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            needs("UPDATE s.runs SET a = 1 WHERE run_id = 'x'"),
            [
                "Relation([\"s\", \"runs\"]) update",
                "Relation([\"s\", \"runs\"]) select"
            ]
        );
        assert_eq!(
            needs("COPY st FROM 's3://b/m' IAM_ROLE default FORMAT AS PARQUET"),
            ["Relation([\"st\"]) insert"]
        );
        assert_eq!(needs("CREATE SCHEMA IF NOT EXISTS s3shift"), ["Database create"]);
        assert_eq!(needs("LOCK s.f"), ["Relation([\"s\", \"f\"]) delete"]);
        assert_eq!(needs("DROP TABLE s.t"), ["OwnerOf([\"s\", \"t\"]) "]);
        assert_eq!(
            needs("CREATE OR REPLACE VIEW s.v AS SELECT * FROM s.t WITH NO SCHEMA BINDING"),
            ["Schema(\"s\") create", "OwnerOf([\"s\", \"v\"]) "]
        );
    }
}
