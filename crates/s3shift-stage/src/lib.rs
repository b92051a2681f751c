//! s3shift's stager: image records become Arrow batches, Parquet files of bounded size and a COPY manifest.
//!
//! This crate owns the bytes that Redshift's `COPY ... FORMAT AS PARQUET MANIFEST` reads. The Arrow schema comes
//! from `s3shift_core::schema::IMAGES`, so the column order and types of every file are those of the curated
//! table, and every string is cut to its column's byte length before it is written.
//!
//! It must never do IO: the run engine uploads what it produces.
//!
//! # Organization
//! - [`rows`]: [`StagedRow`] (one object's row) and [`ImagesBatchBuilder`] (rows to a `RecordBatch`).
//! - [`files`]: [`ParquetStager`], which cuts the stream of rows into zstd Parquet files of bounded size.
//! - [`manifest`]: [`CopyManifest`], the manifest with `mandatory` and `meta.content_length` per file.
//! - [`contract`]: the COPY contract, each staged Parquet column kind with the stage column COPY loads it into
//!   and the AWS page that documents the pair, and [`contract::check_file`], which holds a file to it.

pub mod contract;
pub mod files;
pub mod manifest;
pub mod rows;

pub use files::{ParquetStager, StagedFile, StagerConfig};
pub use manifest::{CopyManifest, ManifestEntry};
pub use rows::{ImagesBatchBuilder, StagedRow};

/// What went wrong while staging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Arrow refused a batch (a bug: the builders follow the schema).
    #[error("building a record batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The Parquet writer failed.
    #[error("writing Parquet file {file}: {source}")]
    Parquet {
        /// The file being written.
        file: String,
        /// The writer's error.
        source: parquet::errors::ParquetError,
    },
    /// A row broke a guarantee of the table (a value the COPY would refuse).
    #[error("object s3://{bucket}/{key}: {problem}")]
    Row {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The broken guarantee.
        problem: String,
    },
    /// The schema names a column this crate does not know how to fill.
    #[error("column {0} of the images table has no value source in the stager")]
    UnknownColumn(String),
}

/// Result with the stage [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
