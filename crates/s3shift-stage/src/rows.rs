//! One row per object, and Arrow batches of rows in the curated table's column order.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use s3shift_core::claims::{self, Claims};
use s3shift_core::schema::{
    ColumnSpec, IMAGES, RedshiftType, USER_METADATA, images_arrow_schema, keywords_json,
};
use s3shift_core::text::truncate_utf8;
use s3shift_core::{ImageRecord, ObjectRef};

use crate::{Error, Result};

/// Everything one row of `s3shift.images` holds: the object as listed, what its read returned, what the
/// extractor found, and the run that loads it.
#[derive(Debug, Clone, Copy)]
pub struct StagedRow<'a> {
    /// The job's source name.
    pub source: &'a str,
    /// The object version.
    pub object: &'a ObjectRef,
    /// `Content-Type` from the read, if any.
    pub content_type: Option<&'a str>,
    /// The object's user metadata (`x-amz-meta-*`) as a JSON object, cut to its column (see
    /// `s3shift_core::schema::json_object`).
    pub user_metadata: Option<&'a str>,
    /// The checksum S3 keeps for the object: algorithm, Base64 value, type (with `limits.checksums`).
    pub checksum: Option<(&'a str, &'a str, &'a str)>,
    /// The extraction result.
    pub record: &'a ImageRecord,
    /// The run id.
    pub run_id: &'a str,
    /// When the row was staged (the load replaces it with the warehouse's clock).
    pub loaded_at: DateTime<Utc>,
}

/// A typed value of one cell.
enum Cell<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Micros(Option<i64>),
}

fn micros(t: Option<DateTime<Utc>>) -> Cell<'static> {
    Cell::Micros(t.map(|t| t.timestamp_micros()))
}

/// What a row's cells are computed from besides the row: once per row, not once per column.
struct Derived {
    claims: Claims,
    keywords: Option<String>,
}

impl Derived {
    fn of(row: &StagedRow<'_>) -> Self {
        Self {
            claims: claims::assess(&row.object.key, row.content_type, row.record),
            keywords: keywords_json(&row.record.keywords),
        }
    }
}

/// The value of `column` for `row`; `None` for a column the stager does not know (caught by
/// [`ImagesBatchBuilder::new`]).
fn cell<'a>(column: &str, row: &StagedRow<'a>, d: &'a Derived) -> Option<Cell<'a>> {
    let r = row.record;
    let o = row.object;
    let text = |v: &'a Option<String>| Cell::Text(v.as_deref());
    let int = |v: Option<u32>| Cell::Int(v.map(i64::from));
    let small = |v: Option<u16>| Cell::Int(v.map(i64::from));
    Some(match column {
        "source" => Cell::Text(Some(row.source)),
        "bucket" => Cell::Text(Some(&o.bucket)),
        "object_key" => Cell::Text(Some(&o.key)),
        "version_id" => Cell::Text(o.version_id.as_deref()),
        "etag" => Cell::Text(Some(&o.etag)),
        "size_bytes" => Cell::Int(Some(i64::try_from(o.size).unwrap_or(i64::MAX))),
        "last_modified" => micros(Some(o.last_modified)),
        "expires_at" => micros(o.expires_at),
        "content_type" => Cell::Text(row.content_type),
        "status" => Cell::Text(Some(r.status.as_str())),
        "reason" => Cell::Text(r.reason.as_deref()),
        "format" => Cell::Text(r.format.map(|f| f.as_str())),
        "mime_type" => Cell::Text(r.mime_type.as_deref()),
        "width" => int(r.width),
        "height" => int(r.height),
        "display_width" => int(r.display_width),
        "display_height" => int(r.display_height),
        "orientation" => small(r.orientation),
        "bit_depth" => small(r.bit_depth),
        "color_type" => Cell::Text(r.color_type.as_deref()),
        "animated" => Cell::Bool(r.animated),
        "camera_make" => Cell::Text(r.camera_make.as_deref()),
        "camera_model" => Cell::Text(r.camera_model.as_deref()),
        "lens_model" => Cell::Text(r.lens_model.as_deref()),
        "software" => Cell::Text(r.software.as_deref()),
        "taken_at_local" => Cell::Micros(r.taken_at_local.map(|t| t.and_utc().timestamp_micros())),
        "taken_at_offset" => Cell::Text(r.taken_at_offset.as_deref()),
        "taken_at_utc" => micros(r.taken_at_utc),
        "gps_latitude" => Cell::Float(r.gps_latitude),
        "gps_longitude" => Cell::Float(r.gps_longitude),
        "gps_altitude_m" => Cell::Float(r.gps_altitude_m),
        "exposure_time_s" => Cell::Float(r.exposure_time_s),
        "f_number" => Cell::Float(r.f_number),
        "iso" => int(r.iso),
        "focal_length_mm" => Cell::Float(r.focal_length_mm),
        "bytes_read" => Cell::Int(Some(i64::try_from(r.bytes_read).unwrap_or(i64::MAX))),
        "run_id" => Cell::Text(Some(row.run_id)),
        "loaded_at" => micros(Some(row.loaded_at)),
        "taken_at_source" => text(&r.taken_at_source),
        "title" => text(&r.title),
        "caption" => text(&r.caption),
        "keywords" => Cell::Text(d.keywords.as_deref()),
        "creator" => text(&r.creator),
        "rights" => text(&r.rights),
        "rating" => Cell::Float(r.rating),
        "city" => text(&r.city),
        "country" => text(&r.country),
        "icc_profile" => text(&r.icc_profile),
        "icc_color_space" => text(&r.icc_color_space),
        "digital_source_type" => text(&r.digital_source_type),
        "c2pa_manifest_present" => Cell::Bool(r.c2pa_manifest_present),
        "c2pa_claim_generator" => text(&r.c2pa_claim_generator),
        "c2pa_digital_source_type" => text(&r.c2pa_digital_source_type),
        "key_extension" => Cell::Text(d.claims.key_extension.as_deref()),
        "extension_matches" => Cell::Bool(d.claims.extension_matches),
        "content_type_matches" => Cell::Bool(d.claims.content_type_matches),
        "claim_signal" => Cell::Text(d.claims.signal),
        "user_metadata" => Cell::Text(row.user_metadata),
        "checksum_algorithm" => Cell::Text(row.checksum.map(|c| c.0)),
        "checksum" => Cell::Text(row.checksum.map(|c| c.1)),
        "checksum_type" => Cell::Text(row.checksum.map(|c| c.2)),
        _ => return None,
    })
}

/// One column's Arrow builder.
enum ColumnBuilder {
    Text(StringBuilder),
    /// A SMALLINT column: staged as INT32 (see `RedshiftType::staged`), its values still held to 16 bits so
    /// the merge's cast cannot fail.
    Small(Int32Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    Bool(BooleanBuilder),
    F64(Float64Builder),
    /// TIMESTAMP and TIMESTAMPTZ: microseconds without zone (UTC wall-clock time for TIMESTAMPTZ).
    Ts(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    fn for_type(ty: RedshiftType) -> Self {
        match ty {
            RedshiftType::Varchar(_) => Self::Text(StringBuilder::new()),
            RedshiftType::SmallInt => Self::Small(Int32Builder::new()),
            RedshiftType::Integer => Self::I32(Int32Builder::new()),
            RedshiftType::BigInt => Self::I64(Int64Builder::new()),
            RedshiftType::Boolean => Self::Bool(BooleanBuilder::new()),
            RedshiftType::Double => Self::F64(Float64Builder::new()),
            RedshiftType::Timestamp | RedshiftType::TimestampTz => {
                Self::Ts(TimestampMicrosecondBuilder::new())
            }
        }
    }

    /// Appends one cell; `Err` names the problem when the value does not fit the column.
    fn append(&mut self, spec: &ColumnSpec, cell: Cell<'_>) -> std::result::Result<(), String> {
        if !spec.nullable && is_null(&cell) {
            return Err(format!(
                "column {} is NOT NULL but the value is missing",
                spec.name
            ));
        }
        let range = |v: i64, lo: i64, hi: i64| {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{} = {v} does not fit {}", spec.name, spec.ty.sql()))
            }
        };
        match (self, cell) {
            (Self::Text(b), Cell::Text(v)) => b.append_option(v.map(|s| truncate_utf8(s, spec.max_bytes()))),
            (Self::Small(b), Cell::Int(v)) => {
                let v = v
                    .map(|v| range(v, i16::MIN.into(), i16::MAX.into()))
                    .transpose()?;
                b.append_option(v.and_then(|v| i32::try_from(v).ok()));
            }
            (Self::I32(b), Cell::Int(v)) => {
                let v = v
                    .map(|v| range(v, i32::MIN.into(), i32::MAX.into()))
                    .transpose()?;
                b.append_option(v.and_then(|v| i32::try_from(v).ok()));
            }
            (Self::I64(b), Cell::Int(v)) => b.append_option(v),
            (Self::Bool(b), Cell::Bool(v)) => b.append_option(v),
            (Self::F64(b), Cell::Float(v)) => b.append_option(v.filter(|f| f.is_finite())),
            (Self::Ts(b), Cell::Micros(v)) => b.append_option(v),
            _ => return Err(format!("column {} has a value of the wrong kind", spec.name)),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Text(b) => Arc::new(b.finish()),
            Self::Small(b) | Self::I32(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Ts(b) => Arc::new(b.finish()),
        }
    }
}

fn is_null(c: &Cell<'_>) -> bool {
    match c {
        Cell::Text(v) => v.is_none(),
        Cell::Int(v) | Cell::Micros(v) => v.is_none(),
        Cell::Float(v) => v.is_none(),
        Cell::Bool(v) => v.is_none(),
    }
}

/// Builds `RecordBatch`es of `s3shift.images` rows, in the table's column order and types.
pub struct ImagesBatchBuilder {
    schema: Arc<Schema>,
    columns: Vec<(ColumnSpec, ColumnBuilder)>,
    rows: usize,
}

impl std::fmt::Debug for ImagesBatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImagesBatchBuilder")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ImagesBatchBuilder {
    /// A builder for the columns of `s3shift_core::schema::IMAGES`.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] when the schema has a column this stager cannot fill.
    pub fn new() -> Result<Self> {
        let probe_object = ObjectRef {
            bucket: String::new(),
            key: String::new(),
            version_id: None,
            etag: String::new(),
            size: 0,
            last_modified: DateTime::<Utc>::UNIX_EPOCH,
            expires_at: None,
        };
        let probe_record = ImageRecord::new(s3shift_core::ExtractStatus::Ok);
        let probe = StagedRow {
            source: "",
            object: &probe_object,
            content_type: None,
            user_metadata: None,
            checksum: None,
            record: &probe_record,
            run_id: "",
            loaded_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let mut columns = Vec::with_capacity(IMAGES.len());
        for spec in IMAGES {
            if cell(spec.name, &probe, &Derived::of(&probe)).is_none() {
                return Err(Error::UnknownColumn(spec.name.into()));
            }
            columns.push((*spec, ColumnBuilder::for_type(spec.ty)));
        }
        Ok(Self {
            schema: images_arrow_schema(),
            columns,
            rows: 0,
        })
    }

    /// Appends one row. The record is checked against the table's guarantees first; a row that breaks one is
    /// refused whole (no column is appended), with an error naming the object.
    pub fn push(&mut self, row: &StagedRow<'_>) -> Result<()> {
        let refuse = |problem: String| Error::Row {
            bucket: row.object.bucket.clone(),
            key: row.object.key.clone(),
            problem,
        };
        row.record.check_guarantees().map_err(refuse)?;
        if let Some(m) = row.user_metadata
            && m.len() > USER_METADATA.max_bytes()
        {
            return Err(refuse(format!(
                "user_metadata is {} bytes, over its column",
                m.len()
            )));
        }
        let derived = Derived::of(row);
        // Check every cell before appending any, so a refused row leaves the builders aligned.
        for (spec, _) in &self.columns {
            let c = cell(spec.name, row, &derived).ok_or_else(|| Error::UnknownColumn(spec.name.into()))?;
            if !spec.nullable && is_null(&c) {
                return Err(refuse(format!(
                    "column {} is NOT NULL but the value is missing",
                    spec.name
                )));
            }
            if let (Cell::Int(Some(v)), RedshiftType::SmallInt | RedshiftType::Integer) = (&c, spec.ty) {
                let fits = match spec.ty {
                    RedshiftType::SmallInt => i16::try_from(*v).is_ok(),
                    _ => i32::try_from(*v).is_ok(),
                };
                if !fits {
                    return Err(refuse(format!(
                        "{} = {v} does not fit {}",
                        spec.name,
                        spec.ty.sql()
                    )));
                }
            }
        }
        for (spec, builder) in &mut self.columns {
            let c = cell(spec.name, row, &derived).ok_or_else(|| Error::UnknownColumn(spec.name.into()))?;
            builder.append(spec, c).map_err(refuse)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The pending rows as one batch; the builder is empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(|(_, b)| b.finish()).collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3shift_core::ExtractStatus;

    fn object(key: &str) -> ObjectRef {
        ObjectRef {
            bucket: "in".into(),
            key: key.into(),
            version_id: None,
            etag: "abc".into(),
            size: 10,
            last_modified: DateTime::<Utc>::UNIX_EPOCH,
            expires_at: None,
        }
    }

    #[test]
    fn every_column_is_filled_in_table_order() -> Result<()> {
        let mut b = ImagesBatchBuilder::new()?;
        let o = object("a b/é'%.jpg");
        let mut r = ImageRecord::new(ExtractStatus::Ok);
        r.width = Some(640);
        r.camera_make = Some("x".repeat(10));
        let row = StagedRow {
            source: "api",
            object: &o,
            content_type: Some(&"t".repeat(1000)),
            user_metadata: None,
            checksum: None,
            record: &r,
            run_id: "run-1",
            loaded_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        b.push(&row)?;
        let batch = b.finish()?;
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.num_columns(), IMAGES.len());
        assert_eq!(batch.schema(), images_arrow_schema());
        let ct = batch
            .column_by_name("content_type")
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>())
            .map(|c| c.value(0).len());
        assert_eq!(ct, Some(256), "cut to VARCHAR(256)");
        Ok(())
    }

    #[test]
    fn a_bad_record_is_refused_whole_and_named() -> Result<()> {
        let mut b = ImagesBatchBuilder::new()?;
        let o = object("bad.jpg");
        let mut r = ImageRecord::new(ExtractStatus::Ok);
        r.orientation = Some(99);
        let row = StagedRow {
            source: "api",
            object: &o,
            content_type: None,
            user_metadata: None,
            checksum: None,
            record: &r,
            run_id: "run-1",
            loaded_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let err = b.push(&row).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("s3://in/bad.jpg") && err.contains("orientation"),
            "{err}"
        );
        assert!(b.is_empty());
        let good = ImageRecord::new(ExtractStatus::Corrupt);
        b.push(&StagedRow { record: &good, ..row })?;
        assert_eq!(b.finish()?.num_rows(), 1);
        Ok(())
    }
}
