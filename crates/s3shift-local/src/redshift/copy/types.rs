//! Which Parquet columns a Parquet COPY loads into which column types, and which codecs it reads: only what AWS
//! documents, everything else refused with Redshift's "incompatible Parquet schema" error.
//!
//! COPY from Parquet runs through Redshift Spectrum ("COPY from columnar data formats"), and Spectrum needs the
//! file's type to match the column ("Troubleshooting queries in Amazon Redshift Spectrum": "The column type in
//! the CREATE EXTERNAL TABLE definition must match the column type of the data file"). No AWS page tabulates
//! Parquet types against Redshift types; the nearest is "Supported data types with Apache Iceberg tables", whose
//! Iceberg types each have one Parquet encoding (Apache Iceberg spec, "Parquet" appendix). The accepted pairs:
//!
//! | Parquet (physical, logical) | Column type |
//! |---|---|
//! | BYTE_ARRAY, STRING | VARCHAR, CHAR |
//! | INT32, none or INT(32, signed) | INTEGER |
//! | INT64, none or INT(64, signed) | BIGINT |
//! | FLOAT | REAL |
//! | DOUBLE | DOUBLE PRECISION |
//! | BOOLEAN | BOOLEAN |
//! | INT32, DATE | DATE |
//! | INT64, TIMESTAMP(MICROS, isAdjustedToUTC = false) | TIMESTAMP |
//! | INT32, INT64 or FIXED_LEN_BYTE_ARRAY, DECIMAL(p, s) | DECIMAL(p, s), same p and s |
//!
//! Nothing loads into SMALLINT (the Iceberg page: "Not supported") or TIMESTAMPTZ (no Redshift type for
//! timestamptz there, and "CREATE EXTERNAL TABLE" lists no TIMESTAMPTZ). Integers never widen: the types match.
//!
//! Codecs: SNAPPY and ZSTD, the two "Data files for queries in Amazon Redshift Spectrum" names for Parquet
//! ("Individual row groups within the Parquet file are compressed using Snappy"; "Amazon Redshift also supports
//! Zstandard (zstd) compression for Apache Parquet files"). The page is silent on the others, uncompressed
//! included, so they are refused: a file that loads here loads on AWS. Data pages must be version 1 (same page:
//! "Amazon Redshift supports the Apache Parquet v1 data file format"); the first data page of each column
//! chunk is read to tell.

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use super::CopyError;

/// Whether a Parquet column may load into a column of DuckDB type `duck` (see the table above).
pub(crate) fn accepts(column: &ColumnDescriptor, duck: &str) -> bool {
    let physical = column.physical_type();
    let logical = column.logical_type_ref();
    let int = |bits: i8| match logical {
        None => true,
        Some(LogicalType::Integer { bit_width, is_signed }) => *is_signed && *bit_width == bits,
        Some(_) => false,
    };
    let t = duck.to_ascii_uppercase();
    match t.as_str() {
        "VARCHAR" => physical == PhysicalType::BYTE_ARRAY && matches!(logical, Some(LogicalType::String)),
        "INTEGER" => physical == PhysicalType::INT32 && int(32),
        "BIGINT" => physical == PhysicalType::INT64 && int(64),
        "FLOAT" => physical == PhysicalType::FLOAT && logical.is_none(),
        "DOUBLE" => physical == PhysicalType::DOUBLE && logical.is_none(),
        "BOOLEAN" => physical == PhysicalType::BOOLEAN && logical.is_none(),
        "DATE" => physical == PhysicalType::INT32 && matches!(logical, Some(LogicalType::Date)),
        "TIMESTAMP" => {
            physical == PhysicalType::INT64
                && matches!(logical, Some(LogicalType::Timestamp { is_adjusted_to_u_t_c, unit })
                    if !is_adjusted_to_u_t_c && *unit == TimeUnit::MICROS)
        }
        _ if t.starts_with("DECIMAL(") => {
            let inner = t.trim_start_matches("DECIMAL(").trim_end_matches(')');
            let Some((p, s)) = inner.split_once(',') else {
                return false;
            };
            let (Ok(p), Ok(s)) = (p.trim().parse::<i32>(), s.trim().parse::<i32>()) else {
                return false;
            };
            matches!(
                physical,
                PhysicalType::INT32 | PhysicalType::INT64 | PhysicalType::FIXED_LEN_BYTE_ARRAY
            ) && matches!(logical, Some(LogicalType::Decimal { precision, scale }) if *precision == p && *scale == s)
        }
        _ => false,
    }
}

/// The Redshift name of a DuckDB column type, as Redshift's errors print it.
pub(crate) fn redshift_name(duck: &str) -> String {
    let t = duck.to_ascii_uppercase();
    match t.as_str() {
        "VARCHAR" => "VARCHAR".into(),
        "FLOAT" => "REAL".into(),
        "DOUBLE" => "DOUBLE PRECISION".into(),
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMPTZ".into(),
        "TIMESTAMP" => "TIMESTAMP".into(),
        _ if t.starts_with("DECIMAL(") => t.replacen("DECIMAL", "NUMERIC", 1),
        _ => t,
    }
}

/// A Parquet column as Spectrum's error prints it: `optional int64 l_orderkey [i:0 d:1 r:0]`, with the logical
/// type in parentheses when there is one.
pub(crate) fn describe(column: &ColumnDescriptor, index: usize) -> String {
    let repetition = if column.max_rep_level() > 0 {
        "repeated"
    } else if column.self_type().is_optional() {
        "optional"
    } else {
        "required"
    };
    let logical = column
        .logical_type_ref()
        .map(|l| format!(" ({})", logical_name(l)))
        .unwrap_or_default();
    format!(
        "{repetition} {} {}{logical} [i:{index} d:{} r:{}]",
        column.physical_type().to_string().to_ascii_lowercase(),
        column.name(),
        column.max_def_level(),
        column.max_rep_level()
    )
}

/// A logical type as Parquet's schema text writes it: `INTEGER(16,true)`, `TIMESTAMP(MICROS,false)`, ...
fn logical_name(l: &LogicalType) -> String {
    match l {
        LogicalType::String => "STRING".into(),
        LogicalType::Date => "DATE".into(),
        LogicalType::Integer { bit_width, is_signed } => format!("INTEGER({bit_width},{is_signed})"),
        LogicalType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
        LogicalType::Timestamp {
            unit,
            is_adjusted_to_u_t_c,
        } => format!("TIMESTAMP({unit:?},{is_adjusted_to_u_t_c})"),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn codec_name(c: Compression) -> &'static str {
    match c {
        Compression::UNCOMPRESSED => "UNCOMPRESSED",
        Compression::SNAPPY => "SNAPPY",
        Compression::GZIP(_) => "GZIP",
        Compression::LZO => "LZO",
        Compression::BROTLI(_) => "BROTLI",
        Compression::LZ4 => "LZ4",
        Compression::ZSTD(_) => "ZSTD",
        Compression::LZ4_RAW => "LZ4_RAW",
    }
}

/// Why a file's codecs or page versions are refused, if they are: names the file, the column and the codec.
pub(crate) fn refusal(url: &str, bytes: &Bytes, meta: &ParquetMetaData) -> Option<CopyError> {
    for group in meta.row_groups() {
        for chunk in group.columns() {
            let codec = chunk.compression();
            if !matches!(codec, Compression::SNAPPY | Compression::ZSTD(_)) {
                return Some(CopyError::Codec {
                    url: url.to_owned(),
                    column: chunk.column_descr().name().to_owned(),
                    codec: codec_name(codec),
                });
            }
        }
    }
    let column = first_v2_page(bytes)?;
    Some(CopyError::PageV2 {
        url: url.to_owned(),
        column,
    })
}

/// The first column whose first data page is a version 2 page (writers use one version for a whole file).
/// Reads one page per column chunk; a file it cannot read is left to the decoder to report.
fn first_v2_page(bytes: &Bytes) -> Option<String> {
    let reader = SerializedFileReader::new(bytes.clone()).ok()?;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).ok()?;
        for c in 0..group.num_columns() {
            let pages = group.get_column_page_reader(c).ok()?;
            for page in pages {
                match page.ok()? {
                    Page::DictionaryPage { .. } => continue,
                    Page::DataPageV2 { .. } => {
                        return Some(group.metadata().column(c).column_descr().name().to_owned());
                    }
                    Page::DataPage { .. } => break,
                }
            }
        }
    }
    None
}
