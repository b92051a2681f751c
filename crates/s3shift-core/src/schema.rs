//! The curated `images` table, one column at a time.
//!
//! [`IMAGES`] lists the columns in table order. The Parquet writer takes its Arrow schema from
//! [`images_arrow_schema`] (COPY maps Parquet columns by position, so the order here is the order on disk), the
//! DDL check compares the live table against [`IMAGES`], and the docs render [`markdown_table`]. The extractor cuts
//! each string to the [`ColumnSpec::max_bytes`] of its column, so a value can never fail a COPY for length.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// A Redshift column type used by the curated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedshiftType {
    /// `VARCHAR(n)`: `n` is a length in bytes.
    Varchar(u16),
    /// `SMALLINT` (16-bit).
    SmallInt,
    /// `INTEGER` (32-bit).
    Integer,
    /// `BIGINT` (64-bit).
    BigInt,
    /// `BOOLEAN`.
    Boolean,
    /// `DOUBLE PRECISION`.
    Double,
    /// `TIMESTAMP`: a wall-clock time without zone, microseconds.
    Timestamp,
    /// `TIMESTAMPTZ`: an instant, stored in UTC, microseconds.
    TimestampTz,
}

impl RedshiftType {
    /// The type as written in Redshift DDL.
    pub fn sql(self) -> String {
        match self {
            Self::Varchar(n) => format!("VARCHAR({n})"),
            Self::SmallInt => "SMALLINT".into(),
            Self::Integer => "INTEGER".into(),
            Self::BigInt => "BIGINT".into(),
            Self::Boolean => "BOOLEAN".into(),
            Self::Double => "DOUBLE PRECISION".into(),
            Self::Timestamp => "TIMESTAMP".into(),
            Self::TimestampTz => "TIMESTAMPTZ".into(),
        }
    }

    /// The type this column has in the load's stage table, which COPY fills from Parquet: the curated type
    /// itself where AWS documents a Parquet type for it, otherwise a documented type the merge casts from.
    ///
    /// - `SMALLINT` stages as `INTEGER` (no AWS page maps a Parquet type to SMALLINT; the merge casts, and
    ///   every staged value fits);
    /// - `TIMESTAMPTZ` stages as `TIMESTAMP` holding the UTC wall-clock time (AWS documents Parquet timestamps
    ///   only for TIMESTAMP; the merge reads them `AT TIME ZONE 'UTC'`).
    ///
    /// The pairs and the AWS pages they come from are in the `s3shift-stage` crate's `contract` module.
    pub fn staged(self) -> Self {
        match self {
            Self::SmallInt => Self::Integer,
            Self::TimestampTz => Self::Timestamp,
            other => other,
        }
    }

    /// The Arrow type of the staged Parquet column: that of [`Self::staged`], so a `TIMESTAMPTZ` column is
    /// written as a timestamp without zone (`isAdjustedToUTC = false`) holding UTC, a `SMALLINT` as INT32.
    pub fn arrow(self) -> DataType {
        match self.staged() {
            Self::Varchar(_) => DataType::Utf8,
            Self::Integer | Self::SmallInt => DataType::Int32,
            Self::BigInt => DataType::Int64,
            Self::Boolean => DataType::Boolean,
            Self::Double => DataType::Float64,
            Self::Timestamp | Self::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }
}

/// One column of a curated table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name (lower case, a valid unquoted Redshift identifier).
    pub name: &'static str,
    /// Redshift type.
    pub ty: RedshiftType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// What the column holds, for the docs and the DDL's comments.
    pub doc: &'static str,
}

impl ColumnSpec {
    const fn new(name: &'static str, ty: RedshiftType, nullable: bool, doc: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable,
            doc,
        }
    }

    /// The most bytes a value of this column may hold (`usize::MAX` for non-string columns).
    pub const fn max_bytes(&self) -> usize {
        match self.ty {
            RedshiftType::Varchar(n) => n as usize,
            _ => usize::MAX,
        }
    }

    /// The Arrow field for this column.
    pub fn arrow_field(&self) -> Field {
        Field::new(self.name, self.ty.arrow(), self.nullable)
    }
}

use RedshiftType::*;

/// Logical name of the source (the job's source), e.g. `api`.
pub const SOURCE: ColumnSpec =
    ColumnSpec::new("source", Varchar(64), false, "Logical source name from the job");
/// S3 bucket.
pub const BUCKET: ColumnSpec = ColumnSpec::new("bucket", Varchar(63), false, "S3 bucket of the object");
/// S3 key (at most 1024 bytes in S3).
pub const OBJECT_KEY: ColumnSpec =
    ColumnSpec::new("object_key", Varchar(1024), false, "S3 key of the object");
/// S3 version id.
pub const VERSION_ID: ColumnSpec = ColumnSpec::new(
    "version_id",
    Varchar(1024),
    true,
    "S3 version id, when the bucket is versioned",
);
/// S3 ETag without quotes.
pub const ETAG: ColumnSpec = ColumnSpec::new("etag", Varchar(128), false, "S3 ETag, without quotes");
/// Object size.
pub const SIZE_BYTES: ColumnSpec = ColumnSpec::new("size_bytes", BigInt, false, "Object size in bytes");
/// S3 LastModified.
pub const LAST_MODIFIED: ColumnSpec = ColumnSpec::new(
    "last_modified",
    TimestampTz,
    false,
    "S3 LastModified (upload time)",
);
/// Lifecycle expiry.
pub const EXPIRES_AT: ColumnSpec = ColumnSpec::new(
    "expires_at",
    TimestampTz,
    true,
    "When the lifecycle rule deletes the object",
);
/// S3 Content-Type.
pub const CONTENT_TYPE: ColumnSpec = ColumnSpec::new(
    "content_type",
    Varchar(256),
    true,
    "Content-Type the uploader set",
);
/// Extraction status.
pub const STATUS: ColumnSpec = ColumnSpec::new(
    "status",
    Varchar(16),
    false,
    "ok, unsupported, corrupt, truncated or empty",
);
/// Why the status is what it is.
pub const REASON: ColumnSpec = ColumnSpec::new(
    "reason",
    Varchar(1024),
    true,
    "Why the status is not ok, or warnings",
);
/// Container format.
pub const FORMAT: ColumnSpec = ColumnSpec::new(
    "format",
    Varchar(16),
    true,
    "jpeg, png, gif, webp, tiff, dng, bmp, heif or avif",
);
/// MIME type.
pub const MIME_TYPE: ColumnSpec = ColumnSpec::new(
    "mime_type",
    Varchar(64),
    true,
    "MIME type from the bytes (sniffed if unsupported)",
);
/// Stored width.
pub const WIDTH: ColumnSpec = ColumnSpec::new("width", Integer, true, "Pixel width as stored");
/// Stored height.
pub const HEIGHT: ColumnSpec = ColumnSpec::new("height", Integer, true, "Pixel height as stored");
/// Displayed width.
pub const DISPLAY_WIDTH: ColumnSpec =
    ColumnSpec::new("display_width", Integer, true, "Width after orientation / irot");
/// Displayed height.
pub const DISPLAY_HEIGHT: ColumnSpec =
    ColumnSpec::new("display_height", Integer, true, "Height after orientation / irot");
/// EXIF orientation.
pub const ORIENTATION: ColumnSpec = ColumnSpec::new("orientation", SmallInt, true, "EXIF Orientation 1-8");
/// Bit depth.
pub const BIT_DEPTH: ColumnSpec = ColumnSpec::new(
    "bit_depth",
    SmallInt,
    true,
    "Bits per sample (per index for palette images)",
);
/// Colour model.
pub const COLOR_TYPE: ColumnSpec = ColumnSpec::new(
    "color_type",
    Varchar(32),
    true,
    "gray, gray-alpha, rgb, rgba, palette, ycbcr, cmyk",
);
/// Animation.
pub const ANIMATED: ColumnSpec = ColumnSpec::new("animated", Boolean, true, "More than one frame to play");
/// EXIF Make.
pub const CAMERA_MAKE: ColumnSpec = ColumnSpec::new("camera_make", Varchar(128), true, "EXIF Make");
/// EXIF Model.
pub const CAMERA_MODEL: ColumnSpec = ColumnSpec::new("camera_model", Varchar(128), true, "EXIF Model");
/// EXIF LensModel.
pub const LENS_MODEL: ColumnSpec = ColumnSpec::new("lens_model", Varchar(128), true, "EXIF LensModel");
/// EXIF Software.
pub const SOFTWARE: ColumnSpec = ColumnSpec::new("software", Varchar(256), true, "EXIF Software");
/// EXIF DateTimeOriginal.
pub const TAKEN_AT_LOCAL: ColumnSpec = ColumnSpec::new(
    "taken_at_local",
    Timestamp,
    true,
    "EXIF DateTimeOriginal + SubSecTimeOriginal, camera wall-clock time",
);
/// EXIF OffsetTimeOriginal.
pub const TAKEN_AT_OFFSET: ColumnSpec = ColumnSpec::new(
    "taken_at_offset",
    Varchar(8),
    true,
    "EXIF OffsetTimeOriginal, e.g. +05:30",
);
/// DateTimeOriginal as an instant.
pub const TAKEN_AT_UTC: ColumnSpec = ColumnSpec::new(
    "taken_at_utc",
    TimestampTz,
    true,
    "taken_at_local as an instant, when the offset is known",
);
/// GPS latitude.
pub const GPS_LATITUDE: ColumnSpec = ColumnSpec::new(
    "gps_latitude",
    Double,
    true,
    "Signed decimal degrees, north positive",
);
/// GPS longitude.
pub const GPS_LONGITUDE: ColumnSpec = ColumnSpec::new(
    "gps_longitude",
    Double,
    true,
    "Signed decimal degrees, east positive",
);
/// GPS altitude.
pub const GPS_ALTITUDE_M: ColumnSpec =
    ColumnSpec::new("gps_altitude_m", Double, true, "Metres, negative below sea level");
/// EXIF ExposureTime.
pub const EXPOSURE_TIME_S: ColumnSpec =
    ColumnSpec::new("exposure_time_s", Double, true, "EXIF ExposureTime in seconds");
/// EXIF FNumber.
pub const F_NUMBER: ColumnSpec = ColumnSpec::new("f_number", Double, true, "EXIF FNumber");
/// EXIF ISO.
pub const ISO: ColumnSpec = ColumnSpec::new("iso", Integer, true, "EXIF PhotographicSensitivity (ISO)");
/// EXIF FocalLength.
pub const FOCAL_LENGTH_MM: ColumnSpec =
    ColumnSpec::new("focal_length_mm", Double, true, "EXIF FocalLength in millimetres");
/// Bytes read.
pub const BYTES_READ: ColumnSpec = ColumnSpec::new(
    "bytes_read",
    BigInt,
    false,
    "Bytes of the object read to extract this row",
);
/// Run id.
pub const RUN_ID: ColumnSpec = ColumnSpec::new("run_id", Varchar(128), false, "The run that loaded the row");
/// Load time.
pub const LOADED_AT: ColumnSpec = ColumnSpec::new("loaded_at", TimestampTz, false, "When the row was loaded");

/// Where the capture time came from.
pub const TAKEN_AT_SOURCE: ColumnSpec = ColumnSpec::new(
    "taken_at_source",
    Varchar(8),
    true,
    "Where taken_at_local came from: exif, xmp or iptc",
);
/// Title.
pub const TITLE: ColumnSpec = ColumnSpec::new(
    "title",
    Varchar(512),
    true,
    "XMP dc:title (x-default), else IPTC ObjectName",
);
/// Caption.
pub const CAPTION: ColumnSpec = ColumnSpec::new(
    "caption",
    Varchar(2000),
    true,
    "XMP dc:description, else IPTC Caption-Abstract",
);
/// Keywords.
pub const KEYWORDS: ColumnSpec = ColumnSpec::new(
    "keywords",
    Varchar(2000),
    true,
    "XMP dc:subject, else IPTC Keywords: a JSON array of strings (JSON_PARSE gives a SUPER array), whole \
     keywords only",
);
/// Creator.
pub const CREATOR: ColumnSpec = ColumnSpec::new(
    "creator",
    Varchar(256),
    true,
    "XMP dc:creator (joined with '; '), else IPTC By-line",
);
/// Rights.
pub const RIGHTS: ColumnSpec = ColumnSpec::new(
    "rights",
    Varchar(512),
    true,
    "XMP dc:rights, else IPTC CopyrightNotice",
);
/// Rating.
pub const RATING: ColumnSpec = ColumnSpec::new(
    "rating",
    Double,
    true,
    "XMP xmp:Rating: -1 rejected, 0 unrated, 1 to 5",
);
/// City.
pub const CITY: ColumnSpec =
    ColumnSpec::new("city", Varchar(128), true, "XMP photoshop:City, else IPTC City");
/// Country.
pub const COUNTRY: ColumnSpec = ColumnSpec::new(
    "country",
    Varchar(128),
    true,
    "XMP photoshop:Country, else IPTC Country-PrimaryLocationName",
);
/// ICC profile description.
pub const ICC_PROFILE: ColumnSpec = ColumnSpec::new(
    "icc_profile",
    Varchar(256),
    true,
    "Embedded ICC profile's description",
);
/// ICC colour space.
pub const ICC_COLOR_SPACE: ColumnSpec = ColumnSpec::new(
    "icc_color_space",
    Varchar(8),
    true,
    "Embedded ICC profile's data colour space: RGB, GRAY, CMYK, Lab, ...",
);
/// IPTC digital source type.
pub const DIGITAL_SOURCE_TYPE: ColumnSpec = ColumnSpec::new(
    "digital_source_type",
    Varchar(128),
    true,
    "XMP Iptc4xmpExt:DigitalSourceType, e.g. trainedAlgorithmicMedia (AI-generated) or digitalCapture",
);
/// C2PA manifest presence.
pub const C2PA_MANIFEST_PRESENT: ColumnSpec = ColumnSpec::new(
    "c2pa_manifest_present",
    Boolean,
    true,
    "A C2PA manifest store was found in the bytes read: present, NOT verified",
);
/// C2PA claim generator.
pub const C2PA_CLAIM_GENERATOR: ColumnSpec = ColumnSpec::new(
    "c2pa_claim_generator",
    Varchar(256),
    true,
    "The found manifest's claim generator, unverified",
);
/// C2PA digital source type.
pub const C2PA_DIGITAL_SOURCE_TYPE: ColumnSpec = ColumnSpec::new(
    "c2pa_digital_source_type",
    Varchar(128),
    true,
    "Digital source type the found manifest's actions assert, unverified",
);
/// Key extension.
pub const KEY_EXTENSION: ColumnSpec = ColumnSpec::new(
    "key_extension",
    Varchar(16),
    true,
    "The key's extension, lower case, without the dot",
);
/// Extension against the bytes.
pub const EXTENSION_MATCHES: ColumnSpec = ColumnSpec::new(
    "extension_matches",
    Boolean,
    true,
    "Whether key_extension names the format the bytes are (NULL: no extension)",
);
/// Content-Type against the bytes.
pub const CONTENT_TYPE_MATCHES: ColumnSpec = ColumnSpec::new(
    "content_type_matches",
    Boolean,
    true,
    "Whether content_type names the format the bytes are (NULL: no Content-Type or a generic one)",
);
/// The uploader-claim signal.
pub const CLAIM_SIGNAL: ColumnSpec = ColumnSpec::new(
    "claim_signal",
    Varchar(32),
    true,
    "not_an_image: claimed an image, bytes are not one; markup_in_image: an image carrying markup or script",
);
/// User metadata.
pub const USER_METADATA: ColumnSpec = ColumnSpec::new(
    "user_metadata",
    Varchar(2048),
    true,
    "The object's x-amz-meta-* headers as a JSON object, whole entries only",
);

/// Checksum algorithm.
pub const CHECKSUM_ALGORITHM: ColumnSpec = ColumnSpec::new(
    "checksum_algorithm",
    Varchar(16),
    true,
    "Algorithm of the checksum S3 keeps: CRC64NVME, CRC32, CRC32C, SHA1, SHA256 (with limits.checksums)",
);
/// Checksum.
pub const CHECKSUM: ColumnSpec = ColumnSpec::new(
    "checksum",
    Varchar(64),
    true,
    "The object's checksum as S3 keeps it, Base64 (with limits.checksums)",
);
/// Checksum type.
pub const CHECKSUM_TYPE: ColumnSpec = ColumnSpec::new(
    "checksum_type",
    Varchar(16),
    true,
    "FULL_OBJECT (comparable across objects) or COMPOSITE (of a multipart upload's parts)",
);

/// The columns of `s3shift.images`, in table (and Parquet) order.
pub const IMAGES: &[ColumnSpec] = &[
    SOURCE,
    BUCKET,
    OBJECT_KEY,
    VERSION_ID,
    ETAG,
    SIZE_BYTES,
    LAST_MODIFIED,
    EXPIRES_AT,
    CONTENT_TYPE,
    STATUS,
    REASON,
    FORMAT,
    MIME_TYPE,
    WIDTH,
    HEIGHT,
    DISPLAY_WIDTH,
    DISPLAY_HEIGHT,
    ORIENTATION,
    BIT_DEPTH,
    COLOR_TYPE,
    ANIMATED,
    CAMERA_MAKE,
    CAMERA_MODEL,
    LENS_MODEL,
    SOFTWARE,
    TAKEN_AT_LOCAL,
    TAKEN_AT_OFFSET,
    TAKEN_AT_UTC,
    GPS_LATITUDE,
    GPS_LONGITUDE,
    GPS_ALTITUDE_M,
    EXPOSURE_TIME_S,
    F_NUMBER,
    ISO,
    FOCAL_LENGTH_MM,
    BYTES_READ,
    RUN_ID,
    LOADED_AT,
    // Migration 0006: appended, as ALTER TABLE ADD COLUMN places them.
    TAKEN_AT_SOURCE,
    TITLE,
    CAPTION,
    KEYWORDS,
    CREATOR,
    RIGHTS,
    RATING,
    CITY,
    COUNTRY,
    ICC_PROFILE,
    ICC_COLOR_SPACE,
    DIGITAL_SOURCE_TYPE,
    C2PA_MANIFEST_PRESENT,
    C2PA_CLAIM_GENERATOR,
    C2PA_DIGITAL_SOURCE_TYPE,
    KEY_EXTENSION,
    EXTENSION_MATCHES,
    CONTENT_TYPE_MATCHES,
    CLAIM_SIGNAL,
    USER_METADATA,
    CHECKSUM_ALGORITHM,
    CHECKSUM,
    CHECKSUM_TYPE,
];

/// A JSON array of `values` that fits [`KEYWORDS`]: whole values in order, as many as fit; `None` when empty.
/// Analysts read it with `JSON_PARSE(keywords)` (a SUPER array) or `JSON_EXTRACT_ARRAY_ELEMENT_TEXT`.
pub fn keywords_json(values: &[String]) -> Option<String> {
    json_list(
        values.iter().map(|v| serde_json::Value::String(v.clone())),
        KEYWORDS.max_bytes(),
        '[',
        ']',
    )
}

/// A JSON object of `entries` that fits `limit` bytes: whole entries in order, as many as fit; `None` when
/// empty.
pub fn json_object(entries: &[(String, String)], limit: usize) -> Option<String> {
    json_list(
        entries.iter().map(|(k, v)| {
            let mut m = serde_json::Map::new();
            m.insert(k.clone(), serde_json::Value::String(v.clone()));
            serde_json::Value::Object(m)
        }),
        limit,
        '{',
        '}',
    )
}

/// Joins the JSON texts of `items` between `open` and `close` (objects merged into one), stopping before the
/// first item that would pass `limit` bytes.
fn json_list(
    items: impl Iterator<Item = serde_json::Value>,
    limit: usize,
    open: char,
    close: char,
) -> Option<String> {
    let mut out = String::from(open);
    for item in items {
        let text = item.to_string();
        // An object's entry is its text without the braces.
        let text = match &item {
            serde_json::Value::Object(_) => text[1..text.len() - 1].to_owned(),
            _ => text,
        };
        let sep = usize::from(out.len() > 1);
        if out.len() + sep + text.len() + 1 > limit {
            break;
        }
        if sep == 1 {
            out.push(',');
        }
        out.push_str(&text);
    }
    out.push(close);
    (out.len() > 2).then_some(out)
}

/// The Arrow schema of `s3shift.images`, in column order.
pub fn images_arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(
        IMAGES.iter().map(ColumnSpec::arrow_field).collect::<Vec<_>>(),
    ))
}

/// The column list of `s3shift.images` as Redshift DDL lines (`name TYPE [NOT NULL]`), in order.
pub fn ddl_columns(columns: &[ColumnSpec]) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{}", c.name, c.ty.sql(), null)
        })
        .collect()
}

/// A Markdown table documenting `columns`.
pub fn markdown_table(columns: &[ColumnSpec]) -> String {
    let mut out = String::from("| column | type | null | meaning |\n|---|---|---|---|\n");
    for c in columns {
        let null = if c.nullable { "yes" } else { "no" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.name,
            c.ty.sql(),
            null,
            c.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_lowercase_identifiers() {
        let mut seen = HashSet::new();
        for c in IMAGES {
            assert!(seen.insert(c.name), "duplicate column {}", c.name);
            assert!(c.name.len() <= 127, "{} too long for Redshift", c.name);
            assert!(
                c.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{} is not a plain identifier",
                c.name
            );
        }
    }

    #[test]
    fn arrow_schema_follows_the_column_order() {
        let schema = images_arrow_schema();
        assert_eq!(schema.fields().len(), IMAGES.len());
        for (field, spec) in schema.fields().iter().zip(IMAGES) {
            assert_eq!(field.name(), spec.name);
            assert_eq!(field.is_nullable(), spec.nullable);
        }
    }

    #[test]
    fn json_lists_keep_whole_values_that_fit() {
        let words: Vec<String> = (0..1000).map(|i| format!("word, \"{i}\"")).collect();
        let json = keywords_json(&words).unwrap_or_default();
        assert!(json.len() <= KEYWORDS.max_bytes());
        let parsed: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
        assert!(parsed.len() > 10 && parsed[..] == words[..parsed.len()]);
        assert_eq!(keywords_json(&[]), None);
        let meta = json_object(&[("a".into(), "1".into()), ("b".into(), "x".repeat(100))], 20);
        assert_eq!(meta.as_deref(), Some(r#"{"a":"1"}"#));
    }

    #[test]
    fn ddl_and_docs_render_every_column() {
        let ddl = ddl_columns(IMAGES);
        assert_eq!(
            ddl.first().map(String::as_str),
            Some("source VARCHAR(64) NOT NULL")
        );
        assert!(ddl.contains(&"taken_at_utc TIMESTAMPTZ".to_owned()));
        let md = markdown_table(IMAGES);
        assert_eq!(md.lines().count(), IMAGES.len() + 2);
    }
}
