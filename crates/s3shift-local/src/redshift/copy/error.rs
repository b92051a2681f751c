//! Why a COPY failed, as facts: which part of the statement, which file, which column, which counts. Redshift's
//! wording (Spectrum's "Spectrum Scan Error. File '...'", S3's "S3ServiceException:...") is made only by
//! `Display`, which the engine calls where the Data API sends the text.

use std::fmt;

/// What is wrong with a COPY statement itself (before any file is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// No table after COPY.
    Table,
    /// A dotted table name with no part after a dot.
    TablePart,
    /// No `FROM`.
    From,
    /// `FROM` without a quoted location.
    Location,
    /// `IAM_ROLE` at the end of the statement.
    RoleValue,
    /// Neither `IAM_ROLE` nor `CREDENTIALS`.
    Authorization,
    /// No `FORMAT AS PARQUET` (or `PARQUET`).
    Parquet,
}

/// Why a COPY was refused or failed.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// A required part of the statement is missing.
    Missing(Missing),
    /// `FROM` names something other than an `s3://` location.
    NotS3(String),
    /// `IAM_ROLE` names something other than `default` or a quoted role ARN (the token as written).
    BadRole(String),
    /// A `FORMAT AS` other than PARQUET (upper case).
    Format(String),
    /// A parameter a Parquet COPY does not take (upper case).
    Option(String),
    /// `IAM_ROLE default` while the namespace has no default role.
    NoDefaultRole,
    /// The role ARN is not associated with the namespace.
    RoleNotAssociated(String),
    /// The server was started without an S3 endpoint.
    NoEndpoint,
    /// An `s3://` URL without a bucket, or not an `s3://` URL at all.
    Url {
        /// The URL.
        url: String,
        /// Whether it had the `s3://` scheme (then it names no bucket).
        s3: bool,
    },
    /// The manifest object does not exist.
    ManifestMissing(String),
    /// The manifest is not JSON.
    ManifestJson {
        /// The manifest's URL.
        url: String,
        /// The parser's error.
        error: serde_json::Error,
    },
    /// The manifest has no `entries` list.
    ManifestEntries(String),
    /// A manifest entry has no `url`.
    ManifestEntryUrl {
        /// The manifest's URL.
        url: String,
        /// The entry's position.
        n: usize,
    },
    /// A manifest entry has no `meta.content_length` (Parquet needs it).
    ManifestEntryLength {
        /// The manifest's URL.
        url: String,
        /// The entry's file.
        file: String,
    },
    /// S3 answered a GET with an error.
    S3 {
        /// The object.
        url: String,
        /// S3's message.
        message: String,
        /// The HTTP status; `None` when no response came (the connection failed).
        status: Option<u16>,
        /// S3's error code.
        code: String,
    },
    /// The object's body stopped while streaming.
    Stream {
        /// The object.
        url: String,
        /// Why.
        message: String,
    },
    /// Listing the prefix failed.
    Listing {
        /// The prefix.
        url: String,
        /// S3's error.
        message: String,
    },
    /// Nothing lies under the prefix.
    EmptyPrefix(String),
    /// A mandatory manifest entry does not exist.
    MandatoryMissing(String),
    /// A file's size differs from its manifest entry's `meta.content_length`.
    Length {
        /// The file.
        url: String,
        /// Its size.
        actual: u64,
        /// The manifest's.
        manifest: u64,
    },
    /// None of a manifest's files exists.
    NoFiles(String),
    /// The file is not Parquet.
    NotParquet {
        /// The file.
        url: String,
        /// The decoder's error.
        error: parquet::errors::ParquetError,
    },
    /// A column chunk's codec is not one AWS documents.
    Codec {
        /// The file.
        url: String,
        /// The column.
        column: String,
        /// The codec's name.
        codec: &'static str,
    },
    /// The file has version 2 data pages.
    PageV2 {
        /// The file.
        url: String,
        /// The first column that has one.
        column: String,
    },
    /// The file has nested columns.
    Nested(String),
    /// The file's column count is not the target's.
    ColumnCount {
        /// The file.
        url: String,
        /// Target columns.
        table: usize,
        /// The file's columns.
        file: usize,
    },
    /// A target column's type is not loadable from Parquet at all.
    Unloadable {
        /// The column.
        column: String,
        /// Its DuckDB type.
        ty: String,
    },
    /// The file's type for a column is not one that loads into it.
    Incompatible {
        /// The file.
        url: String,
        /// The column.
        column: String,
        /// Its type, as Redshift names it.
        ty: String,
        /// The Parquet column, as Spectrum prints it.
        parquet: String,
    },
    /// The decoder failed after the footer was read.
    Read {
        /// The file.
        url: String,
        /// The decoder's error.
        error: parquet::errors::ParquetError,
    },
    /// A batch failed to decode, or a value failed to convert or to take the table's shape.
    Decode {
        /// The file.
        url: String,
        /// The column, when one is to blame.
        column: Option<String>,
        /// Whether the failure was decoding (rather than converting or shaping).
        decoding: bool,
        /// Arrow's error.
        error: arrow::error::ArrowError,
    },
    /// A named target column is not in the table.
    NoColumn {
        /// The column.
        column: String,
        /// The table as written.
        table: String,
    },
    /// The first rejected value (the one row left in `sys_load_error_detail`).
    Value {
        /// The file.
        file: String,
        /// Its row.
        line: u64,
        /// The column.
        column: String,
        /// Why.
        message: String,
    },
    /// The statement was cancelled.
    Cancelled,
    /// The target table's columns could not be read.
    Catalog(super::super::catalog::CatalogError),
    /// The engine around the COPY failed (the append), already in Redshift's words.
    Engine(String),
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ERROR: ")?;
        let spectrum = "Spectrum Scan Error. File";
        let guide = "(Data files for queries in Amazon Redshift Spectrum)";
        match self {
            Self::Missing(m) => f.write_str(match m {
                Missing::Table => "COPY needs a table name",
                Missing::TablePart => "COPY: bad table name",
                Missing::From => "COPY needs FROM 's3://...'",
                Missing::Location => "COPY FROM needs a quoted s3:// location",
                Missing::RoleValue => "IAM_ROLE needs default or an ARN",
                Missing::Authorization => "COPY needs IAM_ROLE (default or a role ARN) or CREDENTIALS",
                Missing::Parquet => "s3shift-local supports COPY ... FORMAT AS PARQUET only",
            }),
            Self::NotS3(from) => write!(f, "s3shift-local copies only from s3:// locations, not '{from}'"),
            Self::BadRole(token) => write!(f, "IAM_ROLE must be default or a quoted role ARN, not {token}"),
            Self::Format(format) => write!(f, "s3shift-local supports COPY ... FORMAT AS PARQUET only, not {format}"),
            Self::Option(option) => write!(f, "COPY option {option} is not supported with FORMAT AS PARQUET"),
            Self::NoDefaultRole => f.write_str(
                "IAM_ROLE default names no role: the namespace has no default IAM role. Set one (an associated \
                 role, made default) or name a role ARN",
            ),
            Self::RoleNotAssociated(arn) => write!(
                f,
                "exception name : UnauthorizedException, error type : 135, message: Not authorized to get \
                 credentials of role {arn}, should retry : 0 (the role is not associated with the namespace)"
            ),
            Self::NoEndpoint => f.write_str("no S3 endpoint is configured for COPY"),
            Self::Url { url, s3: true } => write!(f, "'{url}' names no bucket"),
            Self::Url { url, s3: false } => write!(f, "'{url}' is not an s3:// URL"),
            Self::ManifestMissing(url) => write!(f, "Manifest file '{url}' does not exist"),
            Self::ManifestJson { url, error } => write!(f, "Manifest file '{url}' is not valid JSON: {error}"),
            Self::ManifestEntries(url) => write!(f, "Manifest file '{url}' has no \"entries\" list"),
            Self::ManifestEntryUrl { url, n } => write!(f, "Manifest file '{url}' entry {n} has no \"url\""),
            Self::ManifestEntryLength { url, file } => write!(
                f,
                "Manifest file '{url}' entry '{file}' has no meta.content_length, which COPY needs for Parquet"
            ),
            // Redshift's COPY names S3's failure an S3ServiceException with its status and error code
            // ("Troubleshooting data loads"); without a response the connection itself failed.
            Self::S3 {
                url,
                message,
                status: Some(status),
                code,
            } => write!(f, "S3ServiceException:{message},Status {status},Error {code} reading '{url}'"),
            Self::S3 {
                url,
                message,
                status: None,
                ..
            } => write!(f, "S3ServiceException:connection to S3 failed reading '{url}': {message}"),
            Self::Stream { url, message } => {
                write!(f, "S3ServiceException:reading '{url}': {message} (streaming error)")
            }
            Self::Listing { url, message } => write!(f, "S3 error listing '{url}': {message}"),
            Self::EmptyPrefix(url) => write!(f, "The specified S3 prefix '{url}' does not exist"),
            Self::MandatoryMissing(url) => {
                write!(f, "Manifest file entry '{url}' is mandatory but the file does not exist")
            }
            Self::Length { url, actual, manifest } => write!(
                f,
                "File '{url}' is {actual} bytes, but the manifest's meta.content_length says {manifest}"
            ),
            Self::NoFiles(url) => write!(
                f,
                "Manifest file '{url}': none of the files it lists exists; COPY found no file to load"
            ),
            Self::NotParquet { url, error } => write!(f, "File '{url}' is not a valid Parquet file: {error}"),
            Self::Codec { url, column, codec } => write!(
                f,
                "{spectrum} '{url}' column '{column}' is compressed with {codec}: s3shift-local reads only the \
                 Parquet codecs AWS documents, SNAPPY and ZSTD {guide}"
            ),
            Self::PageV2 { url, column } => write!(
                f,
                "{spectrum} '{url}' column '{column}' has version 2 data pages: AWS documents the Apache Parquet \
                 v1 data file format {guide}"
            ),
            Self::Nested(url) => write!(
                f,
                "{spectrum} '{url}' has nested columns, which a COPY into these column types cannot load"
            ),
            Self::ColumnCount { url, table, file } => write!(
                f,
                "{spectrum} '{url}': Unmatched number of columns between table and file. Table columns: {table}, \
                 Data columns: {file}"
            ),
            Self::Unloadable { column, ty } => {
                write!(f, "column \"{column}\" has type {ty} that COPY cannot load from Parquet")
            }
            // "Troubleshooting queries in Amazon Redshift Spectrum" shows this error's form.
            Self::Incompatible {
                url,
                column,
                ty,
                parquet,
            } => write!(
                f,
                "{spectrum} '{url}' has an incompatible Parquet schema for column '{column}'. Column type: {ty}, \
                 Parquet schema:\n{parquet}"
            ),
            Self::Read { url, error } => write!(f, "File '{url}' cannot be read: {error}"),
            Self::Decode {
                url,
                column: None,
                decoding: true,
                error,
            } => write!(f, "File '{url}' cannot be decoded: {error}"),
            Self::Decode {
                url,
                column: Some(column),
                error,
                ..
            } => write!(f, "File '{url}', column '{column}': {error}"),
            Self::Decode { url, error, .. } => write!(f, "File '{url}': {error}"),
            Self::NoColumn { column, table } => {
                write!(f, "column \"{column}\" of relation \"{table}\" does not exist")
            }
            Self::Value {
                file,
                line,
                column,
                message,
            } => write!(f, "{spectrum} '{file}' row {line}, column '{column}': {message}"),
            Self::Cancelled => f.write_str("Query cancelled on user's request"),
            Self::Catalog(e) => {
                let text = e.to_string();
                f.write_str(text.strip_prefix("ERROR: ").unwrap_or(&text))
            }
            Self::Engine(text) => f.write_str(text.strip_prefix("ERROR: ").unwrap_or(text)),
        }
    }
}

impl std::error::Error for CopyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ManifestJson { error, .. } => Some(error),
            Self::NotParquet { error, .. } | Self::Read { error, .. } => Some(error),
            Self::Decode { error, .. } => Some(error),
            Self::Catalog(e) => Some(e),
            _ => None,
        }
    }
}

impl From<super::super::catalog::CatalogError> for CopyError {
    fn from(e: super::super::catalog::CatalogError) -> Self {
        Self::Catalog(e)
    }
}

/// At the edge: the engine passes Redshift's text.
impl From<CopyError> for String {
    fn from(e: CopyError) -> Self {
        e.to_string()
    }
}
