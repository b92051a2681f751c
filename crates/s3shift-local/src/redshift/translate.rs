//! Redshift SQL to DuckDB: what each statement becomes, or a clear error naming what is not supported.
//!
//! Rewrites work on tokens (see `lex`), never on raw text, so literals and quoted names are never touched.
//! Redshift-only DDL (DISTSTYLE, DISTKEY, SORTKEY, ENCODE, BACKUP) is checked (names must be valid, columns must
//! exist) and then dropped; informational constraints (PRIMARY KEY, UNIQUE, REFERENCES) are dropped because
//! Redshift does not enforce them and DuckDB would; `VARCHAR(n)` becomes `VARCHAR` with a
//! `CHECK (strlen(col) <= n)`, since Redshift counts VARCHAR lengths in bytes and DuckDB ignores them.

use super::lex::{Tok, lex, render, solid};

/// What to do with one statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// Run this DuckDB SQL. `rows` says whether it returns a result set.
    Sql {
        sql: String,
        kind: Kind,
        params: Vec<String>,
    },
    /// BEGIN / START TRANSACTION.
    Begin,
    /// COMMIT / END.
    Commit,
    /// ROLLBACK / ABORT.
    Rollback,
    /// CREATE [TEMP] TABLE name (LIKE source): copies the source's definition (types and checks).
    CreateLike {
        temp: bool,
        if_not_exists: bool,
        name: Vec<String>,
        source: Vec<String>,
    },
    /// COPY ... FORMAT AS PARQUET.
    Copy(super::copy::CopySpec),
    /// Accepted and ignored (maintenance commands with no meaning here).
    NoOp,
    /// GRANT, REVOKE, CREATE/DROP ROLE, ALTER DEFAULT PRIVILEGES: run on the privilege catalog (see `access`).
    Acl(super::access::AclStatement),
    /// `LOCK [TABLE] name [, ...]`: the tables as written (see `concurrency`).
    Lock(Vec<Vec<String>>),
    /// `ALTER DATABASE name ISOLATION LEVEL { SERIALIZABLE | SNAPSHOT }`.
    SetIsolation(super::concurrency::Isolation),
    /// `ALTER TABLE name ADD [COLUMN] definition`: the column as DuckDB DDL, its VARCHAR byte length a CHECK,
    /// which DuckDB cannot add to an existing table: the engine rebuilds the table (see `catalog::add_column`).
    AddColumn { table: Vec<String>, column: String },
}

/// What a statement returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Rows (SELECT, WITH, VALUES, SHOW).
    Rows,
    /// A count of affected rows (INSERT, UPDATE, DELETE, MERGE).
    Count,
    /// Nothing (DDL).
    Nothing,
}

const ENCODINGS: &[&str] = &[
    "raw",
    "az64",
    "bytedict",
    "delta",
    "delta32k",
    "lzo",
    "mostly8",
    "mostly16",
    "mostly32",
    "runlength",
    "text255",
    "text32k",
    "zstd",
    "auto",
];

/// Why a statement could not be planned: typed here, worded as Redshift words it by `Display`, which the
/// engine sends.
#[derive(Debug)]
pub(crate) enum PlanError {
    /// It does not parse at `near` (a token).
    Syntax {
        /// Where.
        near: String,
    },
    /// It ends where more is needed.
    SyntaxAtEnd,
    /// A statement or clause Redshift has that the stand-in does not model (refused, never ignored).
    NotSupported(String),
    /// Something the statement needs is missing or wrong: what, in Redshift's terms.
    Invalid(String),
    /// The statement is empty.
    Empty,
    /// A privilege statement that does not parse.
    Acl(super::access::AclError),
    /// A COPY that does not parse or is not one the stand-in runs.
    Copy(super::copy::CopyError),
    /// The statement does not split into tokens.
    Lex(super::lex::LexError),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Acl(e) => return e.fmt(f),
            Self::Copy(e) => return e.fmt(f),
            _ => {}
        }
        f.write_str("ERROR: ")?;
        match self {
            Self::Acl(_) | Self::Copy(_) => Ok(()),
            Self::Syntax { near } => write!(f, "syntax error at or near \"{near}\""),
            Self::SyntaxAtEnd => f.write_str("syntax error at end of input"),
            Self::NotSupported(what) => write!(f, "s3shift-local does not support {what}"),
            Self::Invalid(what) => f.write_str(what),
            Self::Empty => f.write_str("empty statement"),
            Self::Lex(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PlanError {}

impl From<super::access::AclError> for PlanError {
    fn from(e: super::access::AclError) -> Self {
        Self::Acl(e)
    }
}

/// At the edge: the engine passes Redshift's text.
impl From<PlanError> for String {
    fn from(e: PlanError) -> Self {
        e.to_string()
    }
}

fn err(msg: impl Into<String>) -> PlanError {
    PlanError::Invalid(msg.into())
}

/// Plans one statement of Redshift SQL.
pub(crate) fn plan(sql: &str) -> Result<Plan, PlanError> {
    let toks = lex(sql).map_err(PlanError::Lex)?;
    let s = solid(&toks);
    let Some(first) = s.first() else {
        return Err(PlanError::Empty);
    };
    if let Some(statement) = super::access::parse_acl(&toks)? {
        return Ok(Plan::Acl(statement));
    }
    let params: Vec<String> = toks
        .iter()
        .filter_map(|t| {
            if let Tok::Param(p) = t {
                Some(p.clone())
            } else {
                None
            }
        })
        .collect();
    let word = |i: usize| {
        s.get(i).and_then(|t| {
            if let Tok::Word(w) = t {
                Some(w.to_ascii_lowercase())
            } else {
                None
            }
        })
    };
    let w0 = word(0).unwrap_or_default();
    let escaped = like_escapes_with_backslash(toks.clone());
    let simple = |kind| {
        Ok(Plan::Sql {
            sql: render(&escaped),
            kind,
            params: params.clone(),
        })
    };
    match w0.as_str() {
        "select" | "with" | "values" | "show" | "describe" | "explain" => simple(Kind::Rows),
        "insert" | "update" | "delete" | "merge" => simple(Kind::Count),
        "begin" | "start" => Ok(Plan::Begin),
        "commit" | "end" => Ok(Plan::Commit),
        "rollback" | "abort" => Ok(Plan::Rollback),
        "vacuum" | "analyze" => Ok(Plan::NoOp),
        "copy" => super::copy::parse(&s).map(Plan::Copy).map_err(PlanError::Copy),
        "create" => plan_create(&toks, &params),
        "lock" => plan_lock(&s),
        "alter" if word(1).as_deref() == Some("database") => plan_isolation(&s),
        "alter" if word(1).as_deref() == Some("table") && s.iter().any(|t| t.is("add")) => {
            plan_add_column(&s)
        }
        "drop" | "truncate" | "alter" | "comment" => simple(Kind::Nothing),
        "unload" | "call" | "set" | "reset" | "prepare" | "execute" | "declare" | "fetch" | "close" => {
            Err(PlanError::NotSupported(w0.to_uppercase()))
        }
        _ => match first {
            Tok::Punct(p) if p == "(" => simple(Kind::Rows),
            _ => Err(PlanError::Syntax {
                near: first.text().to_owned(),
            }),
        },
    }
}

/// `ALTER TABLE name ADD [COLUMN] column_name type [NOT NULL] [ENCODE e] ...` ("ALTER TABLE": one column per
/// statement). The definition goes through the CREATE TABLE translation, so a VARCHAR keeps its byte length.
fn plan_add_column(s: &[&Tok]) -> Result<Plan, PlanError> {
    let mut i = 2;
    let mut table = Vec::new();
    loop {
        let part = s.get(i).and_then(|t| t.ident()).ok_or(PlanError::SyntaxAtEnd)?;
        table.push(part);
        i += 1;
        if !s.get(i).is_some_and(|t| t.is_punct(".")) {
            break;
        }
        i += 1;
    }
    if !s.get(i).is_some_and(|t| t.is("add")) {
        return Err(PlanError::NotSupported(
            "ALTER TABLE other than ADD [COLUMN] (rename, drop, alter column)".into(),
        ));
    }
    i += 1;
    if s.get(i).is_some_and(|t| t.is("column")) {
        i += 1;
    }
    let rest = s.get(i..).unwrap_or_default();
    if rest
        .first()
        .is_some_and(|t| t.is("constraint") || t.is("primary") || t.is("unique") || t.is("foreign"))
    {
        return Err(PlanError::NotSupported(
            "ALTER TABLE ADD of a table constraint".into(),
        ));
    }
    let definition: Vec<&str> = rest
        .iter()
        .filter(|t| !t.is_punct(";"))
        .map(|t| t.text())
        .collect();
    let probe = format!("CREATE TABLE s3shift_local_add_column ({})", definition.join(" "));
    let toks = super::lex::lex(&probe).map_err(PlanError::Lex)?;
    let Plan::Sql { sql, .. } = plan_create(&toks, &[])? else {
        return Err(PlanError::Invalid(
            "ALTER TABLE ADD COLUMN: bad column definition".into(),
        ));
    };
    let column = sql
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map(|(def, _)| def.trim().to_owned())
        .filter(|d| !d.is_empty() && !d.contains(','))
        .ok_or_else(|| PlanError::Invalid("ALTER TABLE ADD COLUMN takes one column".into()))?;
    Ok(Plan::AddColumn { table, column })
}

/// `LOCK [TABLE] name [, name ...]` ("LOCK": "You can't lock views").
fn plan_lock(s: &[&Tok]) -> Result<Plan, PlanError> {
    let mut i = 1;
    if s.get(i).is_some_and(|t| t.is("table")) {
        i += 1;
    }
    let mut tables = Vec::new();
    loop {
        let mut name = vec![
            s.get(i)
                .and_then(|t| t.ident())
                .ok_or_else(|| err("syntax error in LOCK: a table name is expected"))?,
        ];
        i += 1;
        while s.get(i).is_some_and(|t| t.is_punct(".")) {
            name.push(
                s.get(i + 1)
                    .and_then(|t| t.ident())
                    .ok_or_else(|| err("syntax error in LOCK: a table name is expected"))?,
            );
            i += 2;
        }
        tables.push(name);
        match s.get(i) {
            None => return Ok(Plan::Lock(tables)),
            Some(t) if t.is_punct(",") => i += 1,
            Some(t) => {
                return Err(PlanError::Syntax {
                    near: t.text().to_owned(),
                });
            }
        }
    }
}

/// `ALTER DATABASE name ISOLATION LEVEL { SERIALIZABLE | SNAPSHOT [ISOLATION] }` (What's New, May 2022: the
/// level "can be changed using the Amazon Redshift CREATE or ALTER DATABASE ISOLATION LEVEL SQL commands").
fn plan_isolation(s: &[&Tok]) -> Result<Plan, PlanError> {
    use super::concurrency::Isolation;
    let is = |i: usize, w: &str| s.get(i).is_some_and(|t| t.is(w));
    if !(is(3, "isolation") && is(4, "level")) {
        return Err(err(
            "s3shift-local supports ALTER DATABASE only for ISOLATION LEVEL",
        ));
    }
    match s.get(5) {
        Some(t) if t.is("serializable") && s.len() == 6 => Ok(Plan::SetIsolation(Isolation::Serializable)),
        Some(t) if t.is("snapshot") && (s.len() == 6 || (s.len() == 7 && is(6, "isolation"))) => {
            Ok(Plan::SetIsolation(Isolation::Snapshot))
        }
        _ => Err(err("ISOLATION LEVEL must be SERIALIZABLE or SNAPSHOT")),
    }
}

/// Redshift's LIKE takes the backslash as its escape character when none is given ("LIKE": "The default escape
/// character is two backslashes ('\\\\')", that is one backslash in the pattern); DuckDB's LIKE has none, so
/// `x LIKE 'a\_b'` would look for a backslash. Adds `ESCAPE '\'` after a LIKE or ILIKE whose pattern is one
/// literal or parameter and that names no escape of its own.
fn like_escapes_with_backslash(toks: Vec<Tok>) -> Vec<Tok> {
    let solid_at: Vec<usize> = toks
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Tok::Space(_)))
        .map(|(i, _)| i)
        .collect();
    let mut insert_after = Vec::new();
    for (n, &i) in solid_at.iter().enumerate() {
        if !(toks[i].is("like") || toks[i].is("ilike")) {
            continue;
        }
        let Some(&pattern) = solid_at.get(n + 1) else {
            continue;
        };
        if !matches!(toks[pattern], Tok::Str(_) | Tok::Param(_)) {
            continue;
        }
        let next = solid_at.get(n + 2).map(|&j| &toks[j]);
        if next.is_some_and(|t| t.is("escape")) {
            continue;
        }
        insert_after.push(pattern);
    }
    let mut out = Vec::with_capacity(toks.len() + insert_after.len() * 4);
    for (i, t) in toks.into_iter().enumerate() {
        out.push(t);
        if insert_after.contains(&i) {
            out.push(Tok::Space(" ".into()));
            out.push(Tok::Word("ESCAPE".into()));
            out.push(Tok::Space(" ".into()));
            out.push(Tok::Str("'\\'".into()));
        }
    }
    out
}

/// Redshift's `public` schema is DuckDB's `main`: every database has it and unqualified names resolve to it
/// ("By default, all users have CREATE and USAGE permissions on the PUBLIC schema of a database", Default
/// database user permissions). Rewrites `public.` and `SCHEMA public`; `TO PUBLIC` (the grantee) stays.
pub(crate) fn public_is_main(mut toks: Vec<Tok>) -> Vec<Tok> {
    let next_solid = |toks: &[Tok], from: usize| {
        toks.iter()
            .enumerate()
            .skip(from)
            .find(|(_, t)| !matches!(t, Tok::Space(_)))
            .map(|(i, _)| i)
    };
    let mut prev_schema = false;
    for i in 0..toks.len() {
        if matches!(toks[i], Tok::Space(_)) {
            continue;
        }
        let is_public = toks[i].ident().as_deref() == Some("public");
        let dotted = next_solid(&toks, i + 1).is_some_and(|j| toks[j].is_punct("."));
        if is_public && (dotted || prev_schema) {
            toks[i] = Tok::Word("main".into());
        }
        prev_schema = toks[i].is("schema");
    }
    toks
}

/// Joins tokens back into Redshift SQL, parameters written `:name` as the Data API takes them.
pub(crate) fn render_with_params(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Param(name) => format!(":{name}"),
            other => other.text().to_owned(),
        })
        .collect()
}

/// Index of the `)` matching the `(` at `open`.
fn matching(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// A dotted name starting at solid index `i` of `s`; returns the parts and the index after it.
fn dotted(s: &[&Tok], mut i: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![s.get(i)?.ident()?];
    i += 1;
    while s.get(i).is_some_and(|t| t.is_punct(".")) {
        parts.push(s.get(i + 1)?.ident()?);
        i += 2;
    }
    Some((parts, i))
}

fn plan_create(toks: &[Tok], params: &[String]) -> Result<Plan, PlanError> {
    let s = solid(toks);
    let mut i = 1;
    let mut temp = false;
    if s.get(i).is_some_and(|t| t.is("or")) {
        // CREATE OR REPLACE VIEW
        return plan_view(toks, params);
    }
    while s
        .get(i)
        .is_some_and(|t| t.is("temp") || t.is("temporary") || t.is("local"))
    {
        temp = true;
        i += 1;
    }
    let Some(what) = s.get(i) else {
        return Err(PlanError::SyntaxAtEnd);
    };
    if what.is("view") || what.is("materialized") {
        return plan_view(toks, params);
    }
    if what.is("schema") || what.is("database") {
        return Ok(Plan::Sql {
            sql: render(toks),
            kind: Kind::Nothing,
            params: params.to_vec(),
        });
    }
    if what.is("external")
        || what.is("user")
        || what.is("group")
        || what.is("function")
        || what.is("procedure")
    {
        return Err(PlanError::NotSupported(format!(
            "CREATE {}",
            what.text().to_uppercase()
        )));
    }
    if !what.is("table") {
        return Err(PlanError::Syntax {
            near: what.text().to_owned(),
        });
    }
    i += 1;
    let mut if_not_exists = false;
    if s.get(i).is_some_and(|t| t.is("if")) {
        if_not_exists = true;
        i += 3;
    }
    let (name, after) = dotted(&s, i).ok_or_else(|| err("CREATE TABLE needs a table name"))?;
    // CREATE TABLE t (LIKE s)
    if s.get(after).is_some_and(|t| t.is_punct("(")) && s.get(after + 1).is_some_and(|t| t.is("like")) {
        let (source, _) = dotted(&s, after + 2).ok_or_else(|| err("LIKE needs a table name"))?;
        return Ok(Plan::CreateLike {
            temp,
            if_not_exists,
            name,
            source,
        });
    }
    if s.get(after).is_some_and(|t| t.is("as")) {
        return Ok(Plan::Sql {
            sql: render(toks),
            kind: Kind::Nothing,
            params: params.to_vec(),
        });
    }
    rewrite_create_table(toks).map(|sql| Plan::Sql {
        sql,
        kind: Kind::Nothing,
        params: params.to_vec(),
    })
}

fn plan_view(toks: &[Tok], params: &[String]) -> Result<Plan, PlanError> {
    // Late-binding views: DuckDB views bind late anyway, so the clause is dropped.
    let mut out: Vec<Tok> = toks.to_vec();
    let sol: Vec<usize> = (0..out.len())
        .filter(|&i| !matches!(out[i], Tok::Space(_)))
        .collect();
    for w in sol.windows(4) {
        if out[w[0]].is("with") && out[w[1]].is("no") && out[w[2]].is("schema") && out[w[3]].is("binding") {
            for &j in w {
                out[j] = Tok::Space(String::new());
            }
        }
    }
    Ok(Plan::Sql {
        sql: render(&out),
        kind: Kind::Nothing,
        params: params.to_vec(),
    })
}

/// Rewrites CREATE TABLE ... (columns) attributes for DuckDB.
fn rewrite_create_table(toks: &[Tok]) -> Result<String, PlanError> {
    let open = toks
        .iter()
        .position(|t| t.is_punct("("))
        .ok_or_else(|| err("CREATE TABLE needs a column list"))?;
    let close = matching(toks, open).ok_or_else(|| err("unbalanced parentheses in CREATE TABLE"))?;
    // Split the column list on top-level commas.
    let mut items: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut depth = 0;
    for t in &toks[open + 1..close] {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
        }
        if depth == 0 && t.is_punct(",") {
            items.push(Vec::new());
        } else if let Some(last) = items.last_mut() {
            last.push(t.clone());
        }
    }
    let mut columns: Vec<String> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new(); // (clause, column) to check after
    let mut defs: Vec<String> = Vec::new();
    for item in items {
        let s = solid(&item);
        let Some(head) = s.first() else { continue };
        if head.is("primary")
            || head.is("unique")
            || head.is("foreign")
            || head.is("constraint")
            || head.is("check")
        {
            // Table constraints: informational in Redshift, so not enforced here either.
            continue;
        }
        let name = head.ident().ok_or_else(|| PlanError::Syntax {
            near: head.text().to_owned(),
        })?;
        columns.push(name.clone());
        let mut out: Vec<String> = vec![head.text().to_owned()];
        let mut check: Option<String> = None;
        let mut j = 1;
        while j < s.len() {
            let t = s[j];
            if t.is("encode") {
                let enc = s.get(j + 1).and_then(|t| t.ident()).unwrap_or_default();
                if !ENCODINGS.contains(&enc.as_str()) {
                    return Err(err(format!(
                        "type \"{enc}\" does not exist (ENCODE of column \"{name}\")"
                    )));
                }
                j += 2;
            } else if t.is("distkey") {
                keys.push(("DISTKEY".into(), name.clone()));
                j += 1;
            } else if t.is("sortkey") {
                keys.push(("SORTKEY".into(), name.clone()));
                j += 1;
            } else if t.is("primary") && s.get(j + 1).is_some_and(|t| t.is("key")) {
                j += 2;
            } else if t.is("unique") {
                j += 1;
            } else if t.is("references") {
                // REFERENCES t [(col)]
                j += 2;
                while s.get(j).is_some_and(|t| t.is_punct(".")) {
                    j += 2;
                }
                if s.get(j).is_some_and(|t| t.is_punct("(")) {
                    while j < s.len() && !s[j].is_punct(")") {
                        j += 1;
                    }
                    j += 1;
                }
            } else if t.is("identity") || (t.is("generated") && s.iter().any(|t| t.is("identity"))) {
                return Err(PlanError::NotSupported(format!(
                    "IDENTITY columns (column \"{name}\")"
                )));
            } else if (t.is("varchar")
                || t.is("nvarchar")
                || t.is("char")
                || t.is("character")
                || t.is("nchar")
                || t.is("bpchar"))
                && j == 1
            {
                // VARCHAR(n) / CHARACTER VARYING(n) / CHAR(n): keep the type, enforce the byte length.
                let mut k = j + 1;
                if t.is("character") && s.get(k).is_some_and(|t| t.is("varying")) {
                    k += 1;
                }
                let limit = if s.get(k).is_some_and(|t| t.is_punct("(")) {
                    let n = s
                        .get(k + 1)
                        .map(|t| t.text().to_ascii_lowercase())
                        .unwrap_or_default();
                    if !s.get(k + 2).is_some_and(|t| t.is_punct(")")) {
                        return Err(err(format!("bad length for column \"{name}\"")));
                    }
                    k += 3;
                    if n == "max" {
                        65535
                    } else {
                        n.parse::<u32>()
                            .ok()
                            .filter(|n| (1..=65535).contains(n))
                            .ok_or_else(|| {
                                err(format!(
                                    "length for type varchar cannot exceed 65535 (column \"{name}\": {n})"
                                ))
                            })?
                    }
                } else if t.is("char") || t.is("character") || t.is("nchar") || t.is("bpchar") {
                    1
                } else {
                    256
                };
                out.push("VARCHAR".into());
                check = Some(format!("CHECK (strlen({}) <= {limit})", head.text()));
                j = k;
            } else if t.is("text") && j == 1 {
                out.push("VARCHAR".into());
                check = Some(format!("CHECK (strlen({}) <= 256)", head.text()));
                j += 1;
            } else {
                out.push(t.text().to_owned());
                j += 1;
            }
        }
        if let Some(c) = check {
            out.push(c);
        }
        defs.push(join_sql(&out));
    }
    // Table attributes after the column list.
    let tail = solid(&toks[close + 1..]);
    let mut j = 0;
    let mut diststyle: Option<String> = None;
    let mut has_distkey = false;
    while j < tail.len() {
        let t = tail[j];
        if t.is("diststyle") {
            let v = tail.get(j + 1).and_then(|t| t.ident()).unwrap_or_default();
            if !["all", "even", "key", "auto"].contains(&v.as_str()) {
                return Err(err(format!(
                    "syntax error at or near \"{v}\" (DISTSTYLE takes ALL, EVEN, KEY or AUTO)"
                )));
            }
            diststyle = Some(v);
            j += 2;
        } else if t.is("distkey") || t.is("sortkey") || t.is("compound") || t.is("interleaved") {
            let clause = if t.is("distkey") { "DISTKEY" } else { "SORTKEY" };
            has_distkey |= clause == "DISTKEY";
            j += 1;
            if tail.get(j).is_some_and(|t| t.is("sortkey")) {
                j += 1;
            }
            if tail.get(j).is_some_and(|t| t.is("auto")) {
                j += 1;
                continue;
            }
            if !tail.get(j).is_some_and(|t| t.is_punct("(")) {
                return Err(err(format!("{clause} needs a column list")));
            }
            j += 1;
            while j < tail.len() && !tail[j].is_punct(")") {
                if let Some(c) = tail[j].ident() {
                    keys.push((clause.into(), c));
                }
                j += 1;
            }
            j += 1;
        } else if (t.is("encode") && tail.get(j + 1).is_some_and(|t| t.is("auto"))) || t.is("backup") {
            j += 2;
        } else if t.is_punct(";") {
            j += 1;
        } else {
            return Err(PlanError::NotSupported(format!(
                "the table attribute \"{}\"",
                t.text()
            )));
        }
    }
    for (clause, col) in &keys {
        if !columns.contains(col) {
            return Err(err(format!("column \"{col}\" named in {clause} does not exist")));
        }
    }
    if diststyle.as_deref() == Some("key") && !keys.iter().any(|(c, _)| c == "DISTKEY") && !has_distkey {
        return Err(err("DISTSTYLE KEY needs a DISTKEY column"));
    }
    Ok(format!("{}({})", render(&toks[..open]), defs.join(", ")))
}

fn join_sql(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        let glue = !(out.is_empty() || p == "(" || p == ")" || p == "," || out.ends_with('('));
        if glue {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(p: Plan) -> String {
        match p {
            Plan::Sql { sql, .. } => sql,
            other => panic!("not SQL: {other:?}"),
        }
    }

    #[test]
    fn redshift_ddl_is_checked_then_dropped() {
        let p = plan(
            "CREATE TABLE s.t (id BIGINT NOT NULL ENCODE az64 DISTKEY, k VARCHAR(10) ENCODE zstd, \
             t TIMESTAMPTZ SORTKEY, PRIMARY KEY (id)) DISTSTYLE KEY COMPOUND SORTKEY (t, id)",
        )
        .unwrap();
        assert_eq!(
            sql(p),
            "CREATE TABLE s.t (id BIGINT NOT NULL, k VARCHAR CHECK (strlen(k) <= 10), t TIMESTAMPTZ)"
        );
        assert!(
            plan("CREATE TABLE t (a INT) SORTKEY (b)")
                .unwrap_err()
                .to_string()
                .contains("\"b\" named in SORTKEY")
        );
        assert!(
            plan("CREATE TABLE t (a INT ENCODE fancy)")
                .unwrap_err()
                .to_string()
                .contains("fancy")
        );
        assert!(
            plan("CREATE TABLE t (a INT) DISTSTYLE sideways")
                .unwrap_err()
                .to_string()
                .contains("DISTSTYLE")
        );
        assert!(
            plan("CREATE TABLE t (a INT IDENTITY(1,1))")
                .unwrap_err()
                .to_string()
                .contains("IDENTITY")
        );
        assert!(sql(plan("CREATE TABLE t (a VARCHAR(MAX))").unwrap()).contains("<= 65535"));
    }

    #[test]
    fn like_escapes_with_a_backslash_as_redshift_does() {
        assert_eq!(
            sql(plan("SELECT 1 WHERE a LIKE :p AND b ILIKE 'x\\_%' AND c LIKE 'y' ESCAPE '!'").unwrap()),
            "SELECT 1 WHERE a LIKE $p ESCAPE '\\' AND b ILIKE 'x\\_%' ESCAPE '\\' AND c LIKE 'y' ESCAPE '!'"
        );
    }

    #[test]
    fn like_views_params_and_transactions() {
        assert_eq!(
            plan("create temp table stage (like s3shift.images)").unwrap(),
            Plan::CreateLike {
                temp: true,
                if_not_exists: false,
                name: vec!["stage".into()],
                source: vec!["s3shift".into(), "images".into()]
            }
        );
        let v = sql(plan("CREATE VIEW v AS SELECT 1 WITH NO SCHEMA BINDING").unwrap());
        assert!(!v.to_lowercase().contains("binding"), "{v}");
        match plan("select * from t where k = :key and j = ':not'").unwrap() {
            Plan::Sql { sql, params, kind } => {
                assert_eq!(sql, "select * from t where k = $key and j = ':not'");
                assert_eq!(params, ["key"]);
                assert_eq!(kind, Kind::Rows);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(plan("END").unwrap(), Plan::Commit);
        assert_eq!(plan("begin transaction").unwrap(), Plan::Begin);
        assert!(
            plan("UNLOAD ('select 1') TO 's3://x'")
                .unwrap_err()
                .to_string()
                .contains("UNLOAD")
        );
    }
}
