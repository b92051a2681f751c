//! The catalog beyond DuckDB's own: the Redshift system tables and views the pipeline reads ([`SETUP`]), a
//! table's columns with the byte limits of its VARCHARs (kept as the CHECK constraints the translated CREATE
//! TABLE added), and `CREATE TABLE ... (LIKE ...)`.

use duckdb::Connection;

use super::copy::Column;
use super::wording::redshift_error;

/// What every database file gets when it opens: `sys_load_history`, `sys_load_error_detail`, `svv_columns`,
/// and the macros that give DuckDB Redshift's `GETDATE()` and `OCTET_LENGTH`.
pub(crate) const SETUP: &str = r#"
CREATE TABLE IF NOT EXISTS main.sys_load_history (
  query_id BIGINT, status VARCHAR, database_name VARCHAR, table_name VARCHAR, start_time TIMESTAMP,
  end_time TIMESTAMP, duration BIGINT, data_source VARCHAR, file_format VARCHAR, loaded_rows BIGINT,
  loaded_bytes BIGINT, source_file_count INTEGER, source_file_bytes BIGINT, error_count INTEGER,
  error_message VARCHAR);
CREATE TABLE IF NOT EXISTS main.sys_load_error_detail (
  query_id BIGINT, start_time TIMESTAMP, table_name VARCHAR, file_name VARCHAR, line_number BIGINT,
  column_name VARCHAR, column_type VARCHAR, column_length INTEGER, error_code INTEGER, error_message VARCHAR,
  raw_field_value VARCHAR);
CREATE OR REPLACE MACRO getdate() AS CAST(now() AS TIMESTAMP);
-- Redshift divides integers as integers (7 / 2 is 3: INT8 / INT8 is INT8, "Computations with numeric values");
-- DuckDB's `/` gives a DOUBLE unless told.
SET GLOBAL integer_division = true;
-- Redshift's OCTET_LENGTH counts the bytes of a VARCHAR; DuckDB's takes only BLOB and BIT.
CREATE OR REPLACE MACRO octet_length(s) AS strlen(s);
CREATE OR REPLACE VIEW main.svv_columns AS
SELECT c.database_name AS table_catalog,
  CASE c.schema_name WHEN 'main' THEN 'public' ELSE c.schema_name END AS table_schema, c.table_name, c.column_name,
  c.column_index AS ordinal_position, CASE WHEN c.is_nullable THEN 'YES' ELSE 'NO' END AS is_nullable,
  CASE c.data_type WHEN 'VARCHAR' THEN 'character varying' WHEN 'INTEGER' THEN 'integer'
    WHEN 'BIGINT' THEN 'bigint' WHEN 'SMALLINT' THEN 'smallint' WHEN 'BOOLEAN' THEN 'boolean'
    WHEN 'DOUBLE' THEN 'double precision' WHEN 'FLOAT' THEN 'real' WHEN 'DATE' THEN 'date'
    WHEN 'TIMESTAMP' THEN 'timestamp without time zone'
    WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp with time zone'
    ELSE lower(c.data_type) END AS data_type,
  k.n AS character_maximum_length
FROM duckdb_columns() c
LEFT JOIN (
  SELECT database_name, schema_name, table_name,
    regexp_extract(constraint_text, 'strlen\("?([^")]+)"?\)\s*<=\s*([0-9]+)', 1) AS col,
    TRY_CAST(regexp_extract(constraint_text, 'strlen\("?([^")]+)"?\)\s*<=\s*([0-9]+)', 2) AS INTEGER) AS n
  FROM duckdb_constraints() WHERE constraint_type = 'CHECK'
) k ON k.database_name = c.database_name AND k.schema_name = c.schema_name AND k.table_name = c.table_name
  AND k.col = c.column_name
WHERE c.database_name NOT IN ('system');
"#;

/// Why a catalog lookup, `CREATE TABLE ... (LIKE ...)` or a view replacement failed; shown in Redshift's words.
#[derive(Debug)]
pub(crate) enum CatalogError {
    /// A table name of more than two parts (as written).
    BadName(String),
    /// No such table (as written).
    NoRelation(String),
    /// The table's DDL cannot be read back.
    NoDefinition(String),
    /// A replacing view's query has another number of columns.
    ViewColumnCount,
    /// A replacing view renames a column.
    ViewColumnName {
        /// The view's column.
        old: String,
        /// The query's.
        new: String,
    },
    /// A replacing view changes a column's type.
    ViewColumnType {
        /// The column.
        column: String,
        /// Its type, as Redshift names it.
        old: String,
        /// The query's.
        new: String,
    },
    /// The statement does not split into tokens.
    Lex(super::lex::LexError),
    /// DuckDB failed.
    Duck(duckdb::Error),
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Self::Duck(e) = self {
            return f.write_str(&redshift_error(&e.to_string()));
        }
        f.write_str("ERROR: ")?;
        match self {
            Self::BadName(name) => write!(f, "bad table name {name}"),
            Self::NoRelation(name) => write!(f, "relation \"{name}\" does not exist"),
            Self::NoDefinition(name) => write!(f, "cannot read the definition of {name}"),
            Self::ViewColumnCount => f.write_str("cannot change number of columns in view"),
            Self::ViewColumnName { old, new } => {
                write!(f, "cannot change name of view column \"{old}\" to \"{new}\"")
            }
            Self::ViewColumnType { column, old, new } => {
                write!(
                    f,
                    "cannot change data type of view column \"{column}\" from {old} to {new}"
                )
            }
            Self::Lex(e) => e.fmt(f),
            Self::Duck(_) => Ok(()),
        }
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Lex(e) => Some(e),
            Self::Duck(e) => Some(e),
            _ => None,
        }
    }
}

impl From<duckdb::Error> for CatalogError {
    fn from(e: duckdb::Error) -> Self {
        Self::Duck(e)
    }
}

impl From<super::lex::LexError> for CatalogError {
    fn from(e: super::lex::LexError) -> Self {
        Self::Lex(e)
    }
}

/// At the edge: the engine passes Redshift's text.
impl From<CatalogError> for String {
    fn from(e: CatalogError) -> Self {
        e.to_string()
    }
}

/// (catalog, schema, columns) of a table, temp tables first for unqualified names.
pub(crate) fn table_columns(
    conn: &Connection,
    name: &[String],
) -> Result<(String, String, Vec<Column>), CatalogError> {
    let (schema, table) = match name {
        [t] => (None, t.clone()),
        [s, t] => (Some(s.clone()), t.clone()),
        _ => return Err(CatalogError::BadName(name.join("."))),
    };
    let mut stmt = conn.prepare(
        "SELECT database_name, schema_name, column_name, data_type, is_nullable FROM duckdb_columns() \
             WHERE table_name = ? AND (? IS NULL OR schema_name = ?) \
             ORDER BY database_name <> 'temp', database_name, schema_name, column_index",
    )?;
    let rows = stmt.query_map(duckdb::params![table, schema, schema], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut found: Option<(String, String)> = None;
    let mut columns = Vec::new();
    for row in rows {
        let (db, sch, col, ty, nullable) = row?;
        let key = (db.clone(), sch.clone());
        if found.as_ref().is_some_and(|f| f != &key) {
            break;
        }
        found = Some(key);
        columns.push(Column {
            name: col,
            ty,
            nullable,
            max_bytes: None,
        });
    }
    let Some((catalog, schema)) = found else {
        return Err(CatalogError::NoRelation(name.join(".")));
    };
    // VARCHAR byte limits live in the CHECK constraints CREATE TABLE added.
    let mut stmt = conn.prepare(
        "SELECT constraint_text FROM duckdb_constraints() WHERE database_name = ? AND schema_name = ? \
             AND table_name = ? AND constraint_type = 'CHECK'",
    )?;
    let checks = stmt.query_map(duckdb::params![catalog, schema, table], |r| r.get::<_, String>(0))?;
    for text in checks.flatten() {
        if let Some((col, limit)) = parse_length_check(&text)
            && let Some(c) = columns.iter_mut().find(|c| c.name == col)
        {
            c.max_bytes = Some(limit);
        }
    }
    Ok((catalog, schema, columns))
}

/// `CHECK((strlen(col) <= 10))` to (col, 10).
pub(crate) fn parse_length_check(text: &str) -> Option<(String, usize)> {
    let rest = &text[text.find("strlen(")? + 7..];
    let close = rest.find(')')?;
    let col = rest[..close].trim().trim_matches('"').to_owned();
    let after = &rest[close + 1..];
    let n: String = after[after.find("<=")? + 2..]
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((col, n.parse().ok()?))
}

/// CREATE [TEMP] TABLE name (LIKE source): the source's own DDL (types, NOT NULL, length checks) under the new
/// name.
pub(crate) fn create_like(
    conn: &Connection,
    temp: bool,
    if_not_exists: bool,
    name: &[String],
    source: &[String],
) -> Result<(), CatalogError> {
    let (schema, table) = match source {
        [t] => (None, t.clone()),
        [s, t] => (Some(s.clone()), t.clone()),
        _ => return Err(CatalogError::BadName(source.join("."))),
    };
    let ddl: String = conn
        .query_row(
            "SELECT sql FROM duckdb_tables() WHERE table_name = ? AND (? IS NULL OR schema_name = ?) \
             ORDER BY database_name <> 'temp' LIMIT 1",
            duckdb::params![table, schema, schema],
            |r| r.get(0),
        )
        .map_err(|_| CatalogError::NoRelation(source.join(".")))?;
    let open = ddl
        .find('(')
        .ok_or_else(|| CatalogError::NoDefinition(source.join(".")))?;
    let quoted: Vec<String> = name
        .iter()
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect();
    let sql = format!(
        "CREATE {}TABLE {}{}{}",
        if temp { "TEMP " } else { "" },
        if if_not_exists { "IF NOT EXISTS " } else { "" },
        quoted.join("."),
        &ddl[open..]
    );
    Ok(conn.execute_batch(&sql)?)
}

/// `ALTER TABLE name ADD COLUMN`: DuckDB adds no column with a constraint, and a VARCHAR's byte length is one
/// here, so the table is rebuilt in the statement's transaction: its own DDL with the column appended, its rows
/// copied with NULL in the new column ("ALTER TABLE": existing rows get the default, NULL without one), the old
/// table dropped and the new one renamed. Views name tables, so they read the new one; grants in the privilege
/// catalog are kept by name.
pub(crate) fn add_column(conn: &Connection, name: &[String], column: &str) -> Result<(), CatalogError> {
    let (schema, table) = match name {
        [t] => ("main".to_owned(), t.clone()),
        [s, t] => (s.clone(), t.clone()),
        _ => return Err(CatalogError::BadName(name.join("."))),
    };
    let ddl: String = conn
        .query_row(
            "SELECT sql FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? AND NOT temporary",
            duckdb::params![schema, table],
            |r| r.get(0),
        )
        .map_err(|_| CatalogError::NoRelation(name.join(".")))?;
    let open = ddl
        .find('(')
        .ok_or_else(|| CatalogError::NoDefinition(name.join(".")))?;
    let close = ddl
        .rfind(')')
        .filter(|c| *c > open)
        .ok_or_else(|| CatalogError::NoDefinition(name.join(".")))?;
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let rebuilt = format!("{}.{}", q(&schema), q(&format!("{table}__s3shift_rebuild")));
    let sql = format!(
        "CREATE TABLE {rebuilt} {}, {column}); INSERT INTO {rebuilt} SELECT *, NULL FROM {schema_q}.{table_q}; \
         DROP TABLE {schema_q}.{table_q}; ALTER TABLE {rebuilt} RENAME TO {table_q};",
        &ddl[open..close],
        schema_q = q(&schema),
        table_q = q(&table),
    );
    Ok(conn.execute_batch(&sql)?)
}

/// Refuses `CREATE OR REPLACE VIEW` (translated SQL) when the view exists and the new query's columns differ
/// from its columns in number, name or type. "CREATE VIEW": "You can only replace a view with a new query that
/// generates the identical set of columns, using the same column names and data types." DuckDB would replace
/// it. No AWS page shows the errors; the texts are PostgreSQL's, which Redshift is reported to answer.
pub(crate) fn check_view_replacement(conn: &Connection, sql: &str) -> Result<(), CatalogError> {
    if !sql
        .trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("create"))
    {
        return Ok(());
    }
    let toks = super::lex::lex(sql)?;
    let words: Vec<&super::lex::Tok> = toks
        .iter()
        .filter(|t| !matches!(t, super::lex::Tok::Space(_)))
        .collect();
    let head = ["create", "or", "replace", "view"];
    if words.len() < 6 || !head.iter().zip(&words).all(|(k, t)| t.is(k)) {
        return Ok(());
    }
    let mut i = 4;
    let mut name = vec![words[i].ident().unwrap_or_default()];
    while words.get(i + 1).is_some_and(|t| t.is_punct(".")) {
        name.push(words.get(i + 2).and_then(|t| t.ident()).unwrap_or_default());
        i += 2;
    }
    i += 1;
    let mut listed = Vec::new();
    if words.get(i).is_some_and(|t| t.is_punct("(")) {
        i += 1;
        while let Some(t) = words.get(i) {
            i += 1;
            if t.is_punct(")") {
                break;
            }
            listed.extend(t.ident());
        }
    }
    if !words.get(i).is_some_and(|t| t.is("as")) {
        return Ok(());
    }
    let (schema, view) = match name.as_slice() {
        [v] => ("main".to_owned(), v.clone()),
        [.., s, v] => (s.clone(), v.clone()),
        [] => return Ok(()),
    };
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ? AND NOT internal",
        duckdb::params![schema, view],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(());
    }
    let describe = |query: &str| -> Result<Vec<(String, String)>, CatalogError> {
        let mut stmt = conn.prepare(&format!("DESCRIBE {query}"))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    };
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let old = describe(&format!("{}.{}", quote(&schema), quote(&view)))?;
    // The query is everything after AS, as written (the lexer keeps every token's text).
    let at = toks
        .iter()
        .position(|t| std::ptr::eq(t, words[i]))
        .unwrap_or(toks.len());
    let query: String = toks[at + 1..].iter().map(super::lex::Tok::text).collect();
    let mut new = describe(query.trim().trim_end_matches(';'))?;
    for (column, name) in new.iter_mut().zip(&listed) {
        column.0.clone_from(name);
    }
    if old.len() != new.len() {
        return Err(CatalogError::ViewColumnCount);
    }
    for ((old_name, old_type), (new_name, new_type)) in old.iter().zip(&new) {
        if old_name != new_name {
            return Err(CatalogError::ViewColumnName {
                old: old_name.clone(),
                new: new_name.clone(),
            });
        }
        if old_type != new_type {
            return Err(CatalogError::ViewColumnType {
                column: old_name.clone(),
                old: super::copy::types::redshift_name(old_type).to_lowercase(),
                new: super::copy::types::redshift_name(new_type).to_lowercase(),
            });
        }
    }
    Ok(())
}
