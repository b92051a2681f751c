//! Domain types of s3shift, shared by every other crate.
//!
//! This crate owns:
//! - [`ImageRecord`]: what the extractor learned about one object, with its [`ExtractStatus`] and reason;
//! - [`schema`]: the curated `images` table, column by column. It is the one source of truth from which the
//!   Parquet writer, the DDL check and the docs derive the table, and from which the extractor takes the byte
//!   length it must cut each string to;
//! - [`text`]: cutting strings to a Redshift `VARCHAR(n)` byte length without splitting a character;
//! - [`object`]: [`ObjectRef`] (one source object version and its identity), [`RunId`], and the expiry rule;
//! - [`run_status`]: [`RunStatus`], the states a run's row passes through;
//! - [`claims`]: what an uploader claimed about an object (extension, Content-Type) against its bytes.
//!
//! It must never do IO or know about any cloud: every adapter depends on it, it depends on none of them.
//!
//! # Organization
//! - [`record`]: [`ImageRecord`], [`ExtractStatus`], [`ImageFormat`], [`LocalDateTime`].
//! - [`schema`]: [`ColumnSpec`](schema::ColumnSpec), [`RedshiftType`](schema::RedshiftType), the columns of the
//!   images table and its Arrow schema.
//! - [`text`]: cutting strings with [`text::truncate_utf8`].

pub mod claims;
pub mod key_url;
pub mod object;
pub mod record;
pub mod run_status;
pub mod schema;
pub mod text;

pub use object::{ObjectRef, RunId, expiry_of, is_valid_name};
pub use record::{ExtractStatus, ImageFormat, ImageRecord, LocalDateTime};
pub use run_status::RunStatus;

/// Errors of the core crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A column name or type in a schema check did not match the curated table.
    #[error("column {column}: {problem}")]
    Column {
        /// The column's name.
        column: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
