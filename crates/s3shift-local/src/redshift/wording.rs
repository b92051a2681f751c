//! DuckDB's errors in Redshift's words, for the errors clients act on (a missing relation named as the
//! statement wrote it, a value too long for its VARCHAR, a NULL into NOT NULL, a cancelled query). The engine
//! keeps DuckDB's text until here; only these functions decide what a client reads.

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
        // DuckDB 2 quotes the name (`Table with name "runs" does not exist!`); Redshift's text quotes it once.
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

#[cfg(test)]
mod tests {
    use super::*;

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
