//! `COPY table [(columns)] FROM 's3://...' IAM_ROLE ... FORMAT AS PARQUET [MANIFEST]`, as Redshift runs it.
//!
//! The files are read through S3 (a real S3 client of the configured endpoint, never a path shortcut) and
//! decoded with the parquet crate. Before a single row goes in, the whole load is checked as Redshift checks it:
//! columns map by position and their count must match; each Parquet type must be one AWS documents for the
//! column, and each codec one AWS documents ([`types`]);
//! VARCHAR lengths are bytes; NOT NULL columns get no nulls; a manifest entry needs `meta.content_length` and a
//! missing `mandatory` file fails the COPY. A bad value fails the whole COPY with Spectrum's error naming the
//! first one, which is the one row it leaves in `sys_load_error_detail`; every COPY is a row in
//! `sys_load_history`.
//!
//! This module parses the statement and the manifest and checks the decoded files; [`files`] reads them through
//! S3; [`load`] runs a COPY inside its statement (cancel, the system tables' rows, the append).

pub(crate) mod error;
pub(crate) mod files;
pub(crate) mod load;
pub(crate) mod types;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, new_null_array};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub(crate) use self::error::{CopyError, Missing};
use super::lex::Tok;

/// A parsed COPY.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CopySpec {
    /// Target table, as dotted parts.
    pub(crate) table: Vec<String>,
    /// Target columns, when listed.
    pub(crate) columns: Option<Vec<String>>,
    /// `s3://bucket/key-or-prefix`.
    pub(crate) from: String,
    /// Whether `from` is a manifest.
    pub(crate) manifest: bool,
    /// How COPY is authorized.
    pub(crate) role: CopyRole,
}

/// COPY's authorization parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CopyRole {
    /// `IAM_ROLE default`: the namespace's default role.
    Default,
    /// `IAM_ROLE 'arn:...'`.
    Arn(String),
    /// `CREDENTIALS '...'` (not checked).
    Credentials,
}

/// The IAM roles associated with the namespace: what `IAM_ROLE` may name.
#[derive(Debug, Clone, Default)]
pub(crate) struct NamespaceRoles {
    /// The default role, if one is set.
    pub(crate) default: Option<String>,
    /// Every associated role.
    pub(crate) associated: Vec<String>,
}

impl NamespaceRoles {
    /// The role COPY would assume, or Redshift's refusal. "Authorization parameters" (COPY): `default` uses
    /// "the IAM role that is set as default and associated with the cluster"; "Granting permissions to Amazon
    /// Redshift Serverless": "You also need to associate the role with Amazon Redshift Serverless". No AWS page
    /// gives the refusals' text: the unassociated role's is the one Serverless is reported to answer, the missing
    /// default's says what to do.
    pub(crate) fn assume(&self, role: &CopyRole) -> Result<(), CopyError> {
        match role {
            CopyRole::Credentials => Ok(()),
            CopyRole::Default => match &self.default {
                Some(_) => Ok(()),
                None => Err(CopyError::NoDefaultRole),
            },
            CopyRole::Arn(arn) if self.associated.iter().any(|a| a == arn) => Ok(()),
            CopyRole::Arn(arn) => Err(CopyError::RoleNotAssociated(arn.clone())),
        }
    }
}

/// Parses COPY's tokens (whitespace removed).
pub(crate) fn parse(s: &[&Tok]) -> Result<CopySpec, CopyError> {
    let mut i = 1;
    let mut table = vec![
        s.get(i)
            .and_then(|t| t.ident())
            .ok_or(CopyError::Missing(Missing::Table))?,
    ];
    i += 1;
    while s.get(i).is_some_and(|t| t.is_punct(".")) {
        table.push(
            s.get(i + 1)
                .and_then(|t| t.ident())
                .ok_or(CopyError::Missing(Missing::TablePart))?,
        );
        i += 2;
    }
    let mut columns = None;
    if s.get(i).is_some_and(|t| t.is_punct("(")) {
        let mut cols = Vec::new();
        i += 1;
        while let Some(t) = s.get(i) {
            if t.is_punct(")") {
                break;
            }
            if let Some(c) = t.ident() {
                cols.push(c);
            }
            i += 1;
        }
        i += 1;
        columns = Some(cols);
    }
    if !s.get(i).is_some_and(|t| t.is("from")) {
        return Err(CopyError::Missing(Missing::From));
    }
    let from = s
        .get(i + 1)
        .and_then(|t| t.string_value())
        .ok_or(CopyError::Missing(Missing::Location))?;
    if !from.starts_with("s3://") {
        return Err(CopyError::NotS3(from));
    }
    i += 2;
    let (mut manifest, mut parquet, mut role) = (false, false, None);
    while let Some(t) = s.get(i) {
        if t.is("iam_role") {
            let v = s.get(i + 1).ok_or(CopyError::Missing(Missing::RoleValue))?;
            role = Some(match v.string_value() {
                _ if v.is("default") => CopyRole::Default,
                Some(arn) if arn.starts_with("arn:aws") => CopyRole::Arn(arn),
                _ => return Err(CopyError::BadRole(v.text().to_owned())),
            });
            i += 2;
        } else if t.is("credentials") {
            role = Some(CopyRole::Credentials);
            i += 2;
        } else if t.is("format") {
            i += 1;
            if s.get(i).is_some_and(|t| t.is("as")) {
                i += 1;
            }
            let f = s.get(i).and_then(|t| t.ident()).unwrap_or_default();
            if f != "parquet" {
                return Err(CopyError::Format(f.to_uppercase()));
            }
            parquet = true;
            i += 1;
        } else if t.is("parquet") {
            parquet = true;
            i += 1;
        } else if t.is("manifest") {
            manifest = true;
            i += 1;
        } else if t.is_punct(";") {
            i += 1;
        } else {
            // "COPY from columnar data formats" lists the few parameters a Parquet COPY takes (REGION is not
            // one: the bucket must be in the warehouse's Region); the rest are refused.
            return Err(CopyError::Option(t.text().to_uppercase()));
        }
    }
    let Some(role) = role else {
        return Err(CopyError::Missing(Missing::Authorization));
    };
    if !parquet {
        return Err(CopyError::Missing(Missing::Parquet));
    }
    Ok(CopySpec {
        table,
        columns,
        from,
        manifest,
        role,
    })
}

/// One column of the target table.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// DuckDB type name (`VARCHAR`, `INTEGER`, `TIMESTAMP WITH TIME ZONE`, ...).
    pub(crate) ty: String,
    pub(crate) nullable: bool,
    /// VARCHAR byte limit from the column's CHECK constraint.
    pub(crate) max_bytes: Option<usize>,
}

/// One rejected value, for `sys_load_error_detail`.
#[derive(Debug, Clone)]
pub(crate) struct LoadError {
    pub(crate) file: String,
    pub(crate) line: u64,
    pub(crate) column: String,
    pub(crate) column_type: String,
    pub(crate) column_length: Option<usize>,
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) value: Option<String>,
}

/// Why a COPY failed: the statement's error, and the rows for `sys_load_error_detail`.
#[derive(Debug)]
pub(crate) struct CopyFailure {
    pub(crate) error: Box<CopyError>,
    pub(crate) details: Vec<LoadError>,
}

impl From<CopyError> for CopyFailure {
    fn from(error: CopyError) -> Self {
        Self {
            error: Box::new(error),
            details: Vec::new(),
        }
    }
}

/// Most rejected values recorded per COPY (Redshift keeps a bounded number too).
const MAX_DETAILS: usize = 100;

/// The Arrow type DuckDB's appender takes for a column type; `None` when the type is not loadable from Parquet.
pub(crate) fn arrow_type(duck: &str) -> Option<DataType> {
    let t = duck.to_ascii_uppercase();
    Some(match t.as_str() {
        "VARCHAR" => DataType::Utf8,
        "BOOLEAN" => DataType::Boolean,
        "SMALLINT" => DataType::Int16,
        "INTEGER" => DataType::Int32,
        "BIGINT" => DataType::Int64,
        "REAL" | "FLOAT" => DataType::Float32,
        "DOUBLE" => DataType::Float64,
        "DATE" => DataType::Date32,
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "TIMESTAMP WITH TIME ZONE" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ if t.starts_with("DECIMAL(") => {
            let inner = t.trim_start_matches("DECIMAL(").trim_end_matches(')');
            let (p, s) = inner.split_once(',')?;
            DataType::Decimal128(p.trim().parse().ok()?, s.trim().parse().ok()?)
        }
        _ => return None,
    })
}

/// Decodes one file and checks it against the target columns; returns batches shaped like the table.
pub(crate) fn check_file(
    url: &str,
    bytes: Bytes,
    columns: &[Column],
    targets: &[usize],
    first_line: u64,
    errors: &mut Vec<LoadError>,
) -> Result<(Vec<RecordBatch>, u64), CopyFailure> {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).map_err(|error| CopyError::NotParquet {
            url: url.to_owned(),
            error,
        })?;
    if let Some(refused) = types::refusal(url, &bytes, builder.metadata()) {
        return Err(refused.into());
    }
    let file_schema = builder.schema().clone();
    let leaves = builder.parquet_schema();
    if leaves.num_columns() != file_schema.fields().len() {
        return Err(CopyError::Nested(url.to_owned()).into());
    }
    if file_schema.fields().len() != targets.len() {
        return Err(CopyError::ColumnCount {
            url: url.to_owned(),
            table: targets.len(),
            file: file_schema.fields().len(),
        }
        .into());
    }
    let mut out_types = Vec::new();
    for (i, &col) in targets.iter().enumerate() {
        let c = &columns[col];
        let leaf = leaves.column(i);
        let want = arrow_type(&c.ty).ok_or_else(|| CopyError::Unloadable {
            column: c.name.clone(),
            ty: c.ty.clone(),
        })?;
        if !types::accepts(&leaf, &c.ty) {
            return Err(CopyError::Incompatible {
                url: url.to_owned(),
                column: c.name.clone(),
                ty: types::redshift_name(&c.ty),
                parquet: types::describe(&leaf, i),
            }
            .into());
        }
        out_types.push(want);
    }
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|error| CopyError::Read {
            url: url.to_owned(),
            error,
        })?;
    let mut batches = Vec::new();
    let mut line = first_line;
    for batch in reader {
        let decode = |column: Option<String>, decoding: bool| {
            move |error: arrow::error::ArrowError| CopyError::Decode {
                url: url.to_owned(),
                column,
                decoding,
                error,
            }
        };
        let batch = batch.map_err(decode(None, true))?;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
        let mut cast_cols: Vec<Option<ArrayRef>> = vec![None; columns.len()];
        for (i, &col) in targets.iter().enumerate() {
            let c = &columns[col];
            let src = batch.column(i);
            let cast =
                arrow::compute::cast(src, &out_types[i]).map_err(decode(Some(c.name.clone()), false))?;
            check_values(url, line, c, &cast, errors);
            cast_cols[col] = Some(cast);
        }
        for (col, c) in columns.iter().enumerate() {
            let want = arrow_type(&c.ty).unwrap_or(DataType::Utf8);
            let arr = cast_cols[col]
                .take()
                .unwrap_or_else(|| new_null_array(&want, batch.num_rows()));
            if !c.nullable && !targets.contains(&col) && batch.num_rows() > 0 {
                push(
                    errors,
                    LoadError {
                        file: url.to_owned(),
                        line,
                        column: c.name.clone(),
                        column_type: c.ty.clone(),
                        column_length: c.max_bytes,
                        code: 1203,
                        message: "Missing data for not-null field".into(),
                        value: None,
                    },
                );
            }
            arrays.push(arr);
        }
        let fields: Vec<Field> = columns
            .iter()
            .zip(&arrays)
            .map(|(c, a)| Field::new(&c.name, a.data_type().clone(), true))
            .collect();
        let shaped =
            RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(decode(None, false))?;
        line += batch.num_rows() as u64;
        batches.push(shaped);
    }
    Ok((batches, line - first_line))
}

fn push(errors: &mut Vec<LoadError>, e: LoadError) {
    if errors.len() < MAX_DETAILS {
        errors.push(e);
    }
}

/// Records every value Redshift would reject: over-long strings and nulls in NOT NULL columns.
fn check_values(url: &str, first_line: u64, c: &Column, arr: &ArrayRef, errors: &mut Vec<LoadError>) {
    if !c.nullable && arr.null_count() > 0 {
        for row in 0..arr.len() {
            if arr.is_null(row) {
                push(
                    errors,
                    LoadError {
                        file: url.to_owned(),
                        line: first_line + row as u64 + 1,
                        column: c.name.clone(),
                        column_type: c.ty.clone(),
                        column_length: c.max_bytes,
                        code: 1213,
                        message: "Missing data for not-null field".into(),
                        value: None,
                    },
                );
            }
        }
    }
    let (Some(limit), Some(strings)) = (c.max_bytes, arr.as_any().downcast_ref::<StringArray>()) else {
        return;
    };
    for (row, v) in strings.iter().enumerate() {
        if let Some(v) = v
            && v.len() > limit
        {
            let mut shown = v.to_owned();
            let mut cut = shown.len().min(1024);
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            push(
                errors,
                LoadError {
                    file: url.to_owned(),
                    line: first_line + row as u64 + 1,
                    column: c.name.clone(),
                    column_type: format!("varchar({limit})"),
                    column_length: Some(limit),
                    code: 1204,
                    message: format!(
                        "String length exceeds DDL length. Length: {} bytes, limit: {limit}",
                        v.len()
                    ),
                    value: Some(shown),
                },
            );
        }
    }
}

/// Splits `s3://bucket/key` into bucket and key.
pub(crate) fn split_url(url: &str) -> Result<(String, String), CopyError> {
    let bad = |s3| CopyError::Url {
        url: url.to_owned(),
        s3,
    };
    let rest = url.strip_prefix("s3://").ok_or_else(|| bad(false))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad(true));
    }
    Ok((bucket.to_owned(), key.to_owned()))
}

/// One file to load, from a manifest or a prefix listing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) url: String,
    pub(crate) mandatory: bool,
    pub(crate) content_length: Option<u64>,
}

/// Parses a COPY manifest; Parquet manifests need `meta.content_length` on every entry.
pub(crate) fn parse_manifest(url: &str, json: &[u8]) -> Result<Vec<Entry>, CopyError> {
    let v: serde_json::Value = serde_json::from_slice(json).map_err(|error| CopyError::ManifestJson {
        url: url.to_owned(),
        error,
    })?;
    let entries = v
        .get("entries")
        .and_then(|e| e.as_array())
        .ok_or_else(|| CopyError::ManifestEntries(url.to_owned()))?;
    let mut out = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let file = e
            .get("url")
            .and_then(|u| u.as_str())
            .ok_or_else(|| CopyError::ManifestEntryUrl {
                url: url.to_owned(),
                n,
            })?;
        let mandatory = e
            .get("mandatory")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let length = e
            .get("meta")
            .and_then(|m| m.get("content_length"))
            .and_then(serde_json::Value::as_u64);
        if length.is_none() {
            return Err(CopyError::ManifestEntryLength {
                url: url.to_owned(),
                file: file.to_owned(),
            });
        }
        out.push(Entry {
            url: file.to_owned(),
            mandatory,
            content_length: length,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redshift::lex::{lex, solid};

    fn spec(sql: &str) -> Result<CopySpec, String> {
        let t = lex(sql).unwrap();
        parse(&solid(&t)).map_err(String::from)
    }

    #[test]
    fn parses_what_the_loader_sends() {
        let s = spec("COPY stage FROM 's3://b/p/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST")
            .unwrap();
        assert_eq!(
            s,
            CopySpec {
                table: vec!["stage".into()],
                columns: None,
                from: "s3://b/p/manifest.json".into(),
                manifest: true,
                role: CopyRole::Default,
            }
        );
        let s = spec("copy s.t (a, b) from 's3://b/x/' iam_role 'arn:aws:iam::1:role/r' parquet").unwrap();
        assert_eq!(s.columns, Some(vec!["a".into(), "b".into()]));
        assert_eq!(s.role, CopyRole::Arn("arn:aws:iam::1:role/r".into()));
        let roles = NamespaceRoles {
            default: None,
            associated: vec!["arn:aws:iam::1:role/r".into()],
        };
        assert!(roles.assume(&s.role).is_ok());
        assert!(
            roles
                .assume(&CopyRole::Default)
                .unwrap_err()
                .to_string()
                .contains("no default IAM role")
        );
        assert!(
            roles
                .assume(&CopyRole::Arn("arn:aws:iam::1:role/other".into()))
                .unwrap_err()
                .to_string()
                .contains("Not authorized to get credentials of role arn:aws:iam::1:role/other")
        );
        assert!(
            spec("COPY t FROM 's3://b/x' IAM_ROLE default FORMAT AS CSV")
                .unwrap_err()
                .contains("PARQUET")
        );
        assert!(
            spec("COPY t FROM 's3://b/x' FORMAT AS PARQUET")
                .unwrap_err()
                .contains("IAM_ROLE")
        );
        assert!(
            spec("COPY t FROM 's3://b/x' IAM_ROLE default PARQUET DELIMITER ','")
                .unwrap_err()
                .contains("DELIMITER")
        );
    }

    #[test]
    fn manifests_need_content_length() {
        let ok = br#"{"entries":[{"url":"s3://b/a.parquet","mandatory":true,"meta":{"content_length":10}}]}"#;
        assert_eq!(parse_manifest("m", ok).unwrap()[0].content_length, Some(10));
        let bad = br#"{"entries":[{"url":"s3://b/a.parquet","mandatory":true}]}"#;
        assert!(
            parse_manifest("m", bad)
                .unwrap_err()
                .to_string()
                .contains("content_length")
        );
    }
}
