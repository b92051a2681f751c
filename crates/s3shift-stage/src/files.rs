//! Cutting a stream of rows into zstd Parquet files of bounded size.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterVersion};

use crate::rows::{ImagesBatchBuilder, StagedRow};
use crate::{Error, Result};

/// How files are cut.
#[derive(Debug, Clone, Copy)]
pub struct StagerConfig {
    /// A file is closed once its encoded size reaches this many bytes (it may exceed it by one batch).
    pub target_file_bytes: usize,
    /// Rows per Arrow batch handed to the Parquet writer (and per row group page flush check).
    pub batch_rows: usize,
    /// zstd level.
    pub zstd_level: i32,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
}

impl Default for StagerConfig {
    fn default() -> Self {
        Self {
            target_file_bytes: 64 * 1024 * 1024,
            batch_rows: 4096,
            zstd_level: 3,
            row_group_rows: 32 * 1024,
        }
    }
}

/// A finished Parquet file.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Sequence number within the run (`part-NNNNN.parquet`).
    pub index: usize,
    /// Rows in the file.
    pub rows: usize,
    /// The encoded file.
    pub bytes: Bytes,
}

impl StagedFile {
    /// The file name: `part-00000.parquet`.
    pub fn name(&self) -> String {
        format!("part-{:05}.parquet", self.index)
    }
}

/// Turns rows into Parquet files of bounded size. Memory held is one open file (at most about
/// `target_file_bytes` plus one batch), whatever the number of rows.
pub struct ParquetStager {
    config: StagerConfig,
    props: WriterProperties,
    batch: ImagesBatchBuilder,
    writer: Option<ArrowWriter<Vec<u8>>>,
    rows_in_file: usize,
    next_index: usize,
}

impl std::fmt::Debug for ParquetStager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStager")
            .field("config", &self.config)
            .field("rows_in_file", &self.rows_in_file)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl ParquetStager {
    /// A stager whose first file is `part-{first_index}`.
    pub fn new(config: StagerConfig, first_index: usize) -> Result<Self> {
        let level = ZstdLevel::try_new(config.zstd_level).map_err(|source| Error::Parquet {
            file: "(settings)".into(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            // Version 1 data pages: "Amazon Redshift supports the Apache Parquet v1 data file format" (Data files
            // for queries in Amazon Redshift Spectrum). See `contract`.
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_created_by(format!("s3shift {}", env!("CARGO_PKG_VERSION")))
            // Row groups are flushed (encoded and compressed) every this many rows, so the uncompressed buffers
            // stay small whatever the file size.
            .set_max_row_group_row_count(Some(config.row_group_rows.max(1)))
            .build();
        Ok(Self {
            config,
            props,
            batch: ImagesBatchBuilder::new()?,
            writer: None,
            rows_in_file: 0,
            next_index: first_index,
        })
    }

    fn file_name(&self) -> String {
        format!("part-{:05}.parquet", self.next_index)
    }

    /// Adds one row; returns a file when this row completed one. A row that breaks the table's guarantees is
    /// refused with an error naming its object, and nothing else is affected.
    pub fn push(&mut self, row: &StagedRow<'_>) -> Result<Option<StagedFile>> {
        self.batch.push(row)?;
        if self.batch.len() < self.config.batch_rows.max(1) {
            return Ok(None);
        }
        self.write_batch()?;
        let w = self.writer.as_ref();
        let size = w.map_or(0, |w| w.bytes_written() + w.in_progress_size());
        if size >= self.config.target_file_bytes {
            return self.close_file();
        }
        Ok(None)
    }

    fn write_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = self.batch.finish()?;
        let file = self.file_name();
        if self.writer.is_none() {
            let w = ArrowWriter::try_new(Vec::new(), self.batch.schema(), Some(self.props.clone())).map_err(
                |source| Error::Parquet {
                    file: file.clone(),
                    source,
                },
            )?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch)
                .map_err(|source| Error::Parquet { file, source })?;
        }
        self.rows_in_file += batch.num_rows();
        Ok(())
    }

    fn close_file(&mut self) -> Result<Option<StagedFile>> {
        let Some(writer) = self.writer.take() else {
            return Ok(None);
        };
        let file = self.file_name();
        let bytes = writer
            .into_inner()
            .map_err(|source| Error::Parquet { file, source })?;
        let out = StagedFile {
            index: self.next_index,
            rows: std::mem::take(&mut self.rows_in_file),
            bytes: Bytes::from(bytes),
        };
        self.next_index += 1;
        Ok(Some(out))
    }

    /// Writes what is pending and closes the last file; `None` when no row is pending.
    pub fn finish(mut self) -> Result<Option<StagedFile>> {
        self.write_batch()?;
        self.close_file()
    }
}

/// The number of rows a Parquet file holds, from its footer; `None` when it is not a readable Parquet file.
pub fn row_count(file: Bytes) -> Option<usize> {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    usize::try_from(builder.metadata().file_metadata().num_rows()).ok()
}

/// The earliest and latest `last_modified` of a staged Parquet file's rows; `None` when the file cannot be read,
/// has no such column, or no row. A replay's load searches earlier rows within this range (`MergeRange`).
pub fn last_modified_range(file: Bytes) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    use arrow::array::{Array, TimestampMicrosecondArray};
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    let index = builder.schema().index_of("last_modified").ok()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let mut range: Option<(i64, i64)> = None;
    for batch in builder.with_projection(mask).build().ok()? {
        let batch = batch.ok()?;
        let times = batch
            .column(0)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()?;
        for t in times.iter().flatten() {
            range = Some(range.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
        }
    }
    let (lo, hi) = range?;
    Some((
        DateTime::<Utc>::from_timestamp_micros(lo)?,
        DateTime::<Utc>::from_timestamp_micros(hi)?,
    ))
}

/// The `object_key` of row `row` (0-based) of a staged Parquet file; `None` when the file cannot be read or has
/// no such row. Used to name the object behind a load error.
pub fn object_key_at(file: Bytes, row: usize) -> Option<String> {
    use arrow::array::{Array, StringArray};
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    let index = builder.schema().index_of("object_key").ok()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder.with_projection(mask).build().ok()?;
    let mut skip = row;
    for batch in reader {
        let batch = batch.ok()?;
        if skip < batch.num_rows() {
            let keys = batch.column(0).as_any().downcast_ref::<StringArray>()?;
            return (!keys.is_null(skip)).then(|| keys.value(skip).to_owned());
        }
        skip -= batch.num_rows();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use s3shift_core::{ExtractStatus, ImageRecord, ObjectRef};

    #[test]
    fn files_are_bounded_and_hold_every_row() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let config = StagerConfig {
            target_file_bytes: 8 * 1024,
            batch_rows: 100,
            zstd_level: 3,
            row_group_rows: 500,
        };
        let mut stager = ParquetStager::new(config, 0)?;
        let mut files = Vec::new();
        let record = ImageRecord::new(ExtractStatus::Ok);
        for i in 0..2000u32 {
            let o = ObjectRef {
                bucket: "in".into(),
                key: format!("images/{i:08}-{}.jpg", i.wrapping_mul(2_654_435_761)),
                version_id: None,
                etag: format!("{:032x}", u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                size: u64::from(i),
                last_modified: DateTime::<Utc>::UNIX_EPOCH,
                expires_at: None,
            };
            let row = StagedRow {
                source: "api",
                object: &o,
                content_type: Some("image/jpeg"),
                user_metadata: None,
                checksum: None,
                record: &record,
                run_id: "r",
                loaded_at: DateTime::<Utc>::UNIX_EPOCH,
            };
            files.extend(stager.push(&row)?);
        }
        files.extend(stager.finish()?);
        assert!(files.len() > 1, "small target cuts several files");
        let mut total = 0;
        for (n, f) in files.iter().enumerate() {
            assert_eq!(f.index, n);
            let reader = ParquetRecordBatchReaderBuilder::try_new(f.bytes.clone())?.build()?;
            let rows: usize = reader
                .map(|b| b.map(|b| b.num_rows()))
                .sum::<std::result::Result<_, _>>()?;
            assert_eq!(rows, f.rows);
            total += rows;
            // Every file keeps to the documented COPY pairs, ZSTD and version 1 data pages.
            let stage: Vec<_> = s3shift_core::schema::IMAGES
                .iter()
                .map(|c| c.ty.staged())
                .collect();
            crate::contract::check_file(f.bytes.clone(), &stage).map_err(|e| format!("{}: {e}", f.name()))?;
        }
        assert_eq!(total, 2000);
        assert_eq!(row_count(files[0].bytes.clone()), Some(files[0].rows));
        assert_eq!(row_count(Bytes::from_static(b"not parquet")), None);
        let second = files
            .get(1)
            .map(|f| (f.bytes.clone(), files[0].rows))
            .ok_or("one file")?;
        let key = object_key_at(second.0, 0).ok_or("no key")?;
        assert!(key.starts_with(&format!("images/{:08}-", second.1)), "{key}");
        // Every row of the test is modified at the epoch.
        assert_eq!(
            last_modified_range(files[0].bytes.clone()),
            Some((DateTime::<Utc>::UNIX_EPOCH, DateTime::<Utc>::UNIX_EPOCH))
        );
        assert_eq!(last_modified_range(Bytes::from_static(b"not parquet")), None);
        Ok(())
    }
}
