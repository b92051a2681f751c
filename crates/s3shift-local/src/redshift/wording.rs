//! DuckDB's errors in Redshift's words, for the errors clients act on (a missing relation named as the
//! statement wrote it, a value too long for its VARCHAR, a NULL into NOT NULL, a cancelled query). The engine
//! keeps DuckDB's text until here; only these functions decide what a client reads, and [`StatementError`]
//! carries every layer's typed error to them.

use super::catalog::parse_length_check;

/// DuckDB names a missing table without its schema; Redshift names it as the statement wrote it.
pub(crate) fn qualify_relation(sql: &str, error: String) -> String {
    let Some(name) = error
        .strip_prefix("ERROR: relation \"")
        .and_then(|r| r.strip_suffix("\" does not exist"))
    else {
        return error;
    };
    if name.contains('.') {
        return error;
    }
    let Ok(toks) = super::lex::lex(sql) else {
        return error;
    };
    let s = super::lex::solid(&toks);
    for w in s.windows(3) {
        if w[1].is_punct(".")
            && let (Some(schema), Some(table)) = (w[0].ident(), w[2].ident())
            && table == name.to_ascii_lowercase()
        {
            return format!("ERROR: relation \"{schema}.{table}\" does not exist");
        }
    }
    error
}

/// Why a statement failed, as the engine knows it: each layer's typed error, or the engine's own facts. The
/// text a client reads is made once, by `Display`, when the statement's record is written.
#[derive(Debug)]
pub(crate) enum StatementError {
    /// The statement does not split into tokens.
    Lex(super::lex::LexError),
    /// It does not plan (syntax, unsupported, a COPY that does not parse).
    Plan(super::translate::PlanError),
    /// The privilege layer refused it.
    Acl(super::access::AclError),
    /// COPY failed.
    Copy(super::copy::CopyError),
    /// A catalog lookup or a view replacement failed.
    Catalog(super::catalog::CatalogError),
    /// Its result cannot be returned.
    Result(super::results::ResultError),
    /// DuckDB refused it.
    Duck(duckdb::Error),
    /// A lock or a commit was refused.
    Refused(super::concurrency::Refusal),
    /// Only the database's owner may do this (`SET` of the isolation level).
    NotDatabaseOwner(String),
    /// The user may not assume COPY's role.
    AssumeRole {
        /// The user.
        user: String,
        /// The role.
        arn: String,
    },
    /// A parameter the statement names was not given.
    NoParameter(String),
    /// A relation to lock does not exist (as written).
    NoRelation(String),
    /// The result is over the Data API's size limit.
    TooLarge {
        /// Its size.
        bytes: i64,
        /// The limit.
        limit: u64,
    },
    /// ROLLBACK inside a batch.
    RollbackInBatch,
    /// A connection could not be opened.
    Connection(duckdb::Error),
    /// An error of `sql`, with a missing relation named as the statement wrote it.
    In {
        /// The statement.
        sql: String,
        /// The error.
        error: Box<StatementError>,
    },
}

impl std::fmt::Display for StatementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::concurrency::Refusal;
        match self {
            Self::Lex(e) => write!(f, "ERROR: {e}"),
            Self::Plan(e) => e.fmt(f),
            Self::Acl(e) => e.fmt(f),
            Self::Copy(e) => e.fmt(f),
            Self::Catalog(e) => e.fmt(f),
            Self::Result(e) => e.fmt(f),
            Self::Duck(e) => f.write_str(&redshift_error(&e.to_string())),
            Self::Refused(Refusal::Cancelled) => f.write_str("ERROR: Query cancelled on user's request"),
            Self::Refused(Refusal::Conflict { .. }) => f.write_str(SERIALIZATION_CONFLICT),
            Self::Refused(Refusal::Failed(text)) => f.write_str(text),
            // PostgreSQL's words (SQLSTATE 40P01); the Redshift pages describe deadlocks without quoting the text.
            Self::Refused(Refusal::Deadlock { table }) => {
                write!(
                    f,
                    "ERROR: deadlock detected\nDETAIL: waiting for a lock on relation {table}"
                )
            }
            Self::NotDatabaseOwner(database) => write!(f, "ERROR: must be owner of database {database}"),
            Self::AssumeRole { user, arn } => write!(
                f,
                "ERROR: User {user} does not have ASSUMEROLE permission on IAM role \"{arn}\" for COPY"
            ),
            Self::NoParameter(name) => write!(f, "ERROR: no value was supplied for the parameter :{name}"),
            Self::NoRelation(name) => write!(f, "ERROR: relation \"{name}\" does not exist"),
            Self::TooLarge { bytes, limit } => write!(
                f,
                "ERROR: Database response exceeded size limit: the result set is {bytes} bytes, over the Data \
                 API's limit of {limit} (return less per statement, for example with LIMIT)"
            ),
            Self::RollbackInBatch => f.write_str("ERROR: ROLLBACK inside a batch: the batch is rolled back"),
            Self::Connection(e) => write!(f, "ERROR: cannot open a connection: {e}"),
            Self::In { sql, error } => f.write_str(&qualify_relation(sql, error.to_string())),
        }
    }
}

impl std::error::Error for StatementError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Lex(e) => Some(e),
            Self::Plan(e) => Some(e),
            Self::Acl(e) => Some(e),
            Self::Copy(e) => Some(e),
            Self::Catalog(e) => Some(e),
            Self::Result(e) => Some(e),
            Self::Duck(e) | Self::Connection(e) => Some(e),
            Self::In { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}

macro_rules! from_layer {
    ($($variant:ident($t:ty)),* $(,)?) => {$(
        impl From<$t> for StatementError {
            fn from(e: $t) -> Self {
                Self::$variant(e)
            }
        }
    )*};
}

from_layer!(
    Lex(super::lex::LexError),
    Plan(super::translate::PlanError),
    Acl(super::access::AclError),
    Copy(super::copy::CopyError),
    Catalog(super::catalog::CatalogError),
    Result(super::results::ResultError),
    Duck(duckdb::Error),
    Refused(super::concurrency::Refusal),
);

/// Redshift's refusal of a transaction that conflicts with a concurrent one, as "Troubleshooting serializable
/// isolation errors" shows it.
pub(crate) const SERIALIZATION_CONFLICT: &str =
    "ERROR: 1023 DETAIL: Serializable isolation violation on table in Redshift";

/// DuckDB's error text in Redshift's words, for the errors clients act on.
pub(crate) fn redshift_error(duck: &str) -> String {
    let first = duck.lines().next().unwrap_or(duck).trim();
    let body = first.split_once(": ").map_or(
        first,
        |(kind, rest)| if kind.ends_with("Error") { rest } else { first },
    );
    if let Some(rest) = body.strip_prefix("Table with name ") {
        // DuckDB quotes the name (`Table with name "runs" does not exist!`); Redshift's text quotes it once.
        let name = rest
            .split(" does not exist")
            .next()
            .unwrap_or(rest)
            .trim_matches('"');
        return format!("ERROR: relation \"{name}\" does not exist");
    }
    if body.contains("CHECK constraint failed")
        && let Some((_, n)) = parse_length_check(body)
    {
        return format!("ERROR: value too long for type character varying({n})");
    }
    if let Some(rest) = body.strip_prefix("Could not convert string '")
        && let Some((value, target)) = rest.rsplit_once("' to ")
        && let Some(text) = failed_integer_cast(value, target.split_whitespace().next().unwrap_or(target))
    {
        return text;
    }
    if let Some(rest) = body.strip_prefix("NOT NULL constraint failed: ") {
        let col = rest.rsplit('.').next().unwrap_or(rest);
        return format!("ERROR: Cannot insert a NULL value into column {col}");
    }
    // DuckDB's optimistic concurrency refuses the second of two transactions that write the same rows or catalog
    // entry; Redshift refuses such a writer with error 1023 ("Troubleshooting serializable isolation errors").
    if body.contains("write-write conflict")
        || body.contains("Conflict on")
        || body.contains("Transaction conflict")
    {
        return SERIALIZATION_CONFLICT.into();
    }
    if body.contains("Interrupted") {
        return "ERROR: Query cancelled on user's request".into();
    }
    format!("ERROR: {body}")
}

/// Redshift's text for a string that does not convert to an integer type: the first character that is not a
/// digit and its position, or the type's range when every character is a digit. "Load error reference" lists
/// the load error 1207 ("Data contained a value outside of the expected range of 0-9"), and "Tutorial: Loading
/// data from Amazon S3" shows its `Invalid digit, Value '#', Pos 0, Type: Integ...`; the full wording and the
/// overflow text are as Redshift is reported to answer, no AWS page shows them whole.
fn failed_integer_cast(value: &str, duck_type: &str) -> Option<String> {
    let (name, min, max) = match duck_type {
        "INT16" => ("Short", i64::from(i16::MIN), i64::from(i16::MAX)),
        "INT32" => ("Integer", i64::from(i32::MIN), i64::from(i32::MAX)),
        "INT64" => ("Long", i64::MIN, i64::MAX),
        _ => return None,
    };
    let bad = value.char_indices().find(|&(i, c)| {
        let sign = i == 0 && (c == '-' || c == '+') && value.len() > 1;
        !(c.is_ascii_digit() || sign)
    });
    Some(match bad {
        Some((pos, c)) => format!("ERROR: Invalid digit, Value '{c}', Pos {pos}, Type: {name}"),
        None if !value.is_empty() => format!("ERROR: Overflow ({name} valid range {min} to {max})"),
        None => format!("ERROR: Invalid digit, Value '', Pos 0, Type: {name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_casts_read_like_redshift() {
        assert_eq!(
            redshift_error("Conversion Error: Could not convert string 'row count check failed' to INT32"),
            "ERROR: Invalid digit, Value 'r', Pos 0, Type: Integer"
        );
        assert_eq!(
            redshift_error("Conversion Error: Could not convert string '12a' to INT64\n\nLINE 1: ..."),
            "ERROR: Invalid digit, Value 'a', Pos 2, Type: Long"
        );
        assert_eq!(
            redshift_error("Conversion Error: Could not convert string '99999999999' to INT32"),
            "ERROR: Overflow (Integer valid range -2147483648 to 2147483647)"
        );
    }

    #[test]
    fn duckdbs_write_conflicts_read_as_redshifts_serialization_error() {
        for duck in [
            "TransactionContext Error: Conflict on tuple deletion!",
            "TransactionContext Error: Catalog write-write conflict on create with \"stage\"",
            "TransactionContext Error: Transaction conflict: cannot update a table that has been altered!",
        ] {
            assert_eq!(redshift_error(duck), SERIALIZATION_CONFLICT, "{duck}");
        }
    }
}
