//! Comparing the live curated table with the columns s3shift stages.
//!
//! COPY of Parquet maps columns by position, so a table whose columns were reordered, retyped or narrowed would
//! fail every load, or worse, load values into the wrong columns. The run engine checks before it reads a single
//! object and fails with one line per difference.

use s3shift_core::schema::{ColumnSpec, RedshiftType};

use crate::client::{DataApi, Rows};
use crate::sql::TableName;
use crate::{Error, Result};

/// A column as the catalog (`svv_columns`) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    /// Name.
    pub name: String,
    /// Redshift's `data_type` (`character varying`, `bigint`, ...).
    pub data_type: String,
    /// `character_maximum_length` for character types.
    pub max_length: Option<i64>,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

impl LiveColumn {
    fn ty(&self) -> Option<RedshiftType> {
        Some(match self.data_type.as_str() {
            "character varying" | "varchar" => RedshiftType::Varchar(u16::try_from(self.max_length?).ok()?),
            "smallint" | "int2" => RedshiftType::SmallInt,
            "integer" | "int4" | "int" => RedshiftType::Integer,
            "bigint" | "int8" => RedshiftType::BigInt,
            "boolean" | "bool" => RedshiftType::Boolean,
            "double precision" | "float8" => RedshiftType::Double,
            "timestamp without time zone" | "timestamp" => RedshiftType::Timestamp,
            "timestamp with time zone" | "timestamptz" => RedshiftType::TimestampTz,
            _ => return None,
        })
    }

    fn describe(&self) -> String {
        let ty = match (self.ty(), self.max_length) {
            (Some(t), _) => t.sql(),
            (None, Some(n)) => format!("{}({n})", self.data_type),
            (None, None) => self.data_type.clone(),
        };
        let null = if self.nullable { "" } else { " NOT NULL" };
        format!("{} {ty}{null}", self.name)
    }
}

fn describe_spec(c: &ColumnSpec) -> String {
    let null = if c.nullable { "" } else { " NOT NULL" };
    format!("{} {}{null}", c.name, c.ty.sql())
}

/// The differences between `live` and `expected`, one line each; empty when they match.
///
/// A NOT NULL column where s3shift allows NULL is a difference (COPY would fail on a NULL); a nullable column
/// where s3shift never writes NULL is not.
pub fn diff(expected: &[ColumnSpec], live: &[LiveColumn]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..expected.len().max(live.len()) {
        match (expected.get(i), live.get(i)) {
            (Some(e), Some(l)) => {
                let same = l.name == e.name && l.ty() == Some(e.ty) && (e.nullable <= l.nullable);
                if !same {
                    out.push(format!(
                        "column {}: s3shift writes `{}`, the table has `{}`",
                        i + 1,
                        describe_spec(e),
                        l.describe()
                    ));
                }
            }
            (Some(e), None) => out.push(format!(
                "column {}: s3shift writes `{}`, the table has no such column",
                i + 1,
                describe_spec(e)
            )),
            (None, Some(l)) => out.push(format!(
                "column {}: the table has `{}`, which s3shift does not write",
                i + 1,
                l.describe()
            )),
            (None, None) => {}
        }
    }
    out
}

/// Reads the live columns of `table` from `svv_columns`, in position order.
pub async fn live_columns(api: &DataApi, table: &TableName) -> Result<Vec<LiveColumn>> {
    let rows: Rows = api
        .query(
            "SELECT column_name, data_type, character_maximum_length, is_nullable FROM svv_columns \
             WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position",
            &[
                ("schema", table.schema.to_string()),
                ("table", table.table.to_string()),
            ],
        )
        .await?;
    rows.rows
        .iter()
        .map(|r| {
            let text = |i: usize| r.get(i).and_then(|v| v.as_str()).map(str::to_owned);
            Ok(LiveColumn {
                name: text(0).ok_or_else(|| bad(table, "column_name is not text"))?,
                data_type: text(1).ok_or_else(|| bad(table, "data_type is not text"))?,
                max_length: r.get(2).and_then(|v| v.as_i64()),
                nullable: text(3).is_none_or(|v| v.eq_ignore_ascii_case("yes")),
            })
        })
        .collect()
}

fn bad(table: &TableName, problem: &str) -> Error {
    Error::BadResult {
        id: format!("svv_columns of {table}"),
        problem: problem.to_owned(),
    }
}

/// Checks that `table` exists and has exactly the columns s3shift stages into it.
///
/// # Errors
/// [`Error::SchemaDrift`] with one line per difference (a missing table shows every column as missing).
pub async fn check_table(api: &DataApi, table: &TableName, expected: &[ColumnSpec]) -> Result<()> {
    let live = live_columns(api, table).await?;
    if live.is_empty() {
        return Err(Error::SchemaDrift {
            table: table.to_string(),
            diff: "the table does not exist: run `s3shift migrate` first".into(),
        });
    }
    let d = diff(expected, &live);
    if d.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaDrift {
            table: table.to_string(),
            diff: d.join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3shift_core::schema::IMAGES;

    fn live_from(specs: &[ColumnSpec]) -> Vec<LiveColumn> {
        specs
            .iter()
            .map(|c| {
                let (data_type, max_length) = match c.ty {
                    RedshiftType::Varchar(n) => ("character varying".to_owned(), Some(i64::from(n))),
                    RedshiftType::SmallInt => ("smallint".into(), None),
                    RedshiftType::Integer => ("integer".into(), None),
                    RedshiftType::BigInt => ("bigint".into(), None),
                    RedshiftType::Boolean => ("boolean".into(), None),
                    RedshiftType::Double => ("double precision".into(), None),
                    RedshiftType::Timestamp => ("timestamp without time zone".into(), None),
                    RedshiftType::TimestampTz => ("timestamp with time zone".into(), None),
                };
                LiveColumn {
                    name: c.name.into(),
                    data_type,
                    max_length,
                    nullable: c.nullable,
                }
            })
            .collect()
    }

    #[test]
    fn drift_is_named_column_by_column() {
        let mut live = live_from(IMAGES);
        assert!(diff(IMAGES, &live).is_empty());
        live.swap(1, 2);
        live[10].max_length = Some(10);
        live.pop();
        let d = diff(IMAGES, &live);
        assert_eq!(d.len(), 4, "{d:#?}");
        assert!(d[0].starts_with("column 2: s3shift writes `bucket VARCHAR(63) NOT NULL`"));
        assert!(d[3].contains("no such column"));
    }
}
