//! The COPY contract: every kind of Parquet column s3shift stages, the stage-table column `COPY ... FORMAT AS
//! PARQUET` loads it into, how the merge turns that into the curated column, and the AWS page behind each pair.
//!
//! COPY from Parquet runs through Redshift Spectrum ("COPY from columnar data formats": "COPY from the Parquet
//! and ORC file formats uses Redshift Spectrum"), and Spectrum requires the Parquet type to match the column
//! ("Troubleshooting queries in Amazon Redshift Spectrum": "The column type in the CREATE EXTERNAL TABLE
//! definition must match the column type of the data file"). No AWS page tabulates Parquet types against
//! Redshift types for COPY; the closest is the Iceberg type table, whose Iceberg types have one Parquet encoding
//! each (Apache Iceberg spec, "Parquet" appendix). So s3shift stages only those, and where the curated type has
//! no documented Parquet pair (SMALLINT, TIMESTAMPTZ) it COPYs into a documented type and casts in the merge.
//!
//! | Parquet column (physical, logical type) | Stage column | Curated column | AWS page |
//! |---|---|---|---|
//! | BYTE_ARRAY, STRING | `VARCHAR(n)` | `VARCHAR(n)` | "Supported data types with Apache Iceberg tables" (string → VARCHAR); "Troubleshooting queries in Amazon Redshift Spectrum" (use VARCHAR, not STRING) |
//! | INT32, none | `INTEGER` | `INTEGER`, or `SMALLINT` by `CAST` | "Supported data types with Apache Iceberg tables" (int → INTEGER; smallint "Not supported") |
//! | INT64, none | `BIGINT` | `BIGINT` | "Supported data types with Apache Iceberg tables" (long → bigint) |
//! | BOOLEAN, none | `BOOLEAN` | `BOOLEAN` | "Supported data types with Apache Iceberg tables" (boolean → boolean) |
//! | DOUBLE, none | `DOUBLE PRECISION` | `DOUBLE PRECISION` | "Supported data types with Apache Iceberg tables" (double → double precision) |
//! | INT64, TIMESTAMP(MICROS, isAdjustedToUTC = false) | `TIMESTAMP` | `TIMESTAMP`, or `TIMESTAMPTZ` by `AT TIME ZONE 'UTC'` | "Supported data types with Apache Iceberg tables" (timestamp without time zone → timestamp; timestamptz has no Redshift type); "CREATE EXTERNAL TABLE" (TIMESTAMP is a Spectrum type, TIMESTAMPTZ is not); "AT TIME ZONE function" (TIMESTAMPTZ "when used with a TIMESTAMP expression") |
//!
//! Every column chunk is compressed with **ZSTD** ("Data files for queries in Amazon Redshift Spectrum":
//! "Amazon Redshift also supports Zstandard (zstd) compression for Apache Parquet files"), and every data page is
//! a version 1 page (same page: "Amazon Redshift supports the Apache Parquet v1 data file format").
//!
//! [`check_file`] holds a written file to this table; the stager's tests run it on what the stager writes, and
//! the COPY stand-in of `s3shift-local` refuses every pair and codec outside the documented ones.

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescPtr;
use s3shift_core::schema::RedshiftType;

/// The Parquet logical type of a staged column, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logical {
    /// No logical type annotation.
    None,
    /// `STRING` (UTF-8).
    String,
    /// `TIMESTAMP(MICROS, isAdjustedToUTC = false)`.
    TimestampMicrosLocal,
}

/// One documented pair: a Parquet column kind and the stage column COPY loads it into.
#[derive(Debug, Clone, Copy)]
pub struct CopyPair {
    /// Parquet physical type.
    pub physical: PhysicalType,
    /// Parquet logical type.
    pub logical: Logical,
    /// The stage table's column type (a VARCHAR's length is the curated column's).
    pub stage: RedshiftType,
    /// The AWS page that documents the pair.
    pub source: &'static str,
}

const ICEBERG_TYPES: &str = "Supported data types with Apache Iceberg tables";

/// The pairs of the table above, one per stage column type.
pub const PAIRS: &[CopyPair] = &[
    CopyPair {
        physical: PhysicalType::BYTE_ARRAY,
        logical: Logical::String,
        stage: RedshiftType::Varchar(0),
        source: ICEBERG_TYPES,
    },
    CopyPair {
        physical: PhysicalType::INT32,
        logical: Logical::None,
        stage: RedshiftType::Integer,
        source: ICEBERG_TYPES,
    },
    CopyPair {
        physical: PhysicalType::INT64,
        logical: Logical::None,
        stage: RedshiftType::BigInt,
        source: ICEBERG_TYPES,
    },
    CopyPair {
        physical: PhysicalType::BOOLEAN,
        logical: Logical::None,
        stage: RedshiftType::Boolean,
        source: ICEBERG_TYPES,
    },
    CopyPair {
        physical: PhysicalType::DOUBLE,
        logical: Logical::None,
        stage: RedshiftType::Double,
        source: ICEBERG_TYPES,
    },
    CopyPair {
        physical: PhysicalType::INT64,
        logical: Logical::TimestampMicrosLocal,
        stage: RedshiftType::Timestamp,
        source: ICEBERG_TYPES,
    },
];

/// The documented pair for a stage column type, if any.
pub fn pair_for(stage: RedshiftType) -> Option<&'static CopyPair> {
    PAIRS.iter().find(|p| match (p.stage, stage) {
        (RedshiftType::Varchar(_), RedshiftType::Varchar(_)) => true,
        (a, b) => a == b,
    })
}

fn logical_of(column: &ColumnDescPtr) -> Option<Logical> {
    match column.logical_type_ref() {
        None => Some(Logical::None),
        Some(LogicalType::String) => Some(Logical::String),
        Some(LogicalType::Timestamp {
            is_adjusted_to_u_t_c,
            unit,
        }) if !is_adjusted_to_u_t_c && *unit == TimeUnit::MICROS => Some(Logical::TimestampMicrosLocal),
        Some(_) => None,
    }
}

/// Checks a Parquet file against the contract for the stage columns `stage` (in file order): each column's
/// physical and logical type is the documented pair of its stage type, every column chunk is ZSTD, and every
/// data page is a version 1 page.
///
/// # Errors
/// A message naming the first column (or chunk) that breaks the contract.
pub fn check_file(bytes: Bytes, stage: &[RedshiftType]) -> Result<(), String> {
    let reader = SerializedFileReader::new(bytes).map_err(|e| format!("not a Parquet file: {e}"))?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    if schema.num_columns() != stage.len() {
        return Err(format!(
            "{} columns in the file, {} in the stage table",
            schema.num_columns(),
            stage.len()
        ));
    }
    for (i, want) in stage.iter().enumerate() {
        let column = schema.column(i);
        let pair =
            pair_for(*want).ok_or_else(|| format!("stage type {} has no documented pair", want.sql()))?;
        let got = (column.physical_type(), logical_of(&column));
        if got != (pair.physical, Some(pair.logical)) {
            return Err(format!(
                "column {} is {:?} {:?}, but the documented pair for {} is {:?} {:?}",
                column.name(),
                column.physical_type(),
                column.logical_type_ref(),
                want.sql(),
                pair.physical,
                pair.logical
            ));
        }
    }
    for group in meta.row_groups() {
        for chunk in group.columns() {
            if !matches!(chunk.compression(), Compression::ZSTD(_)) {
                return Err(format!(
                    "column {} is compressed with {}, not ZSTD",
                    chunk.column_descr().name(),
                    chunk.compression()
                ));
            }
        }
    }
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| e.to_string())?;
        for c in 0..group.num_columns() {
            let pages = group.get_column_page_reader(c).map_err(|e| e.to_string())?;
            for page in pages {
                match page.map_err(|e| e.to_string())? {
                    Page::DataPage { .. } | Page::DictionaryPage { .. } => {}
                    Page::DataPageV2 { .. } => {
                        return Err(format!(
                            "column {} has version 2 data pages",
                            schema.column(c).name()
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
