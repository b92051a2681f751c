//! The record under construction: fields set by the format parsers, plus warnings.

use s3shift_core::schema::{self, ColumnSpec};
use s3shift_core::text::{clean_text, truncate_utf8};
use s3shift_core::{ExtractStatus, ImageFormat, ImageRecord};

use crate::embedded::Embedded;
use crate::source::{PResult, corrupt};

/// Most warnings kept per object; the rest are counted, so one hostile file cannot grow the reason unboundedly.
const MAX_WARNINGS: usize = 4;

pub(crate) struct Builder {
    pub(crate) rec: ImageRecord,
    warnings: Vec<String>,
    dropped_warnings: usize,
    /// Quarter turns clockwise for display, set by HEIF/AVIF `irot` (which overrides EXIF orientation there).
    pub(crate) irot_quarter_turns: Option<u8>,
    /// HEIF/AVIF clean-aperture size: what is displayed of a padded coded image, before rotation.
    pub(crate) clean_size: Option<(u32, u32)>,
    /// Whether the format is fully known and parsed as an image (false for unsupported objects).
    pub(crate) unsupported: bool,
    /// XMP, IPTC, ICC and C2PA found beside the image data, put into the record by [`Builder::finish`].
    pub(crate) embedded: Embedded,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Self {
            rec: ImageRecord::new(ExtractStatus::Ok),
            warnings: Vec::new(),
            dropped_warnings: 0,
            irot_quarter_turns: None,
            clean_size: None,
            unsupported: false,
            embedded: Embedded::default(),
        }
    }

    pub(crate) fn format(&mut self, format: ImageFormat, mime: &str) {
        self.rec.format = Some(format);
        self.rec.mime_type = Some(mime.to_owned());
    }

    pub(crate) fn warn(&mut self, msg: impl Into<String>) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(msg.into());
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// Sets stored pixel dimensions, rejecting sizes no real image has (zero, or beyond a signed 32-bit column).
    pub(crate) fn dimensions(&mut self, width: u64, height: u64, what: &str) -> PResult<()> {
        let limit = i32::MAX as u64;
        if width == 0 || height == 0 {
            return corrupt(format!("{what} declares a zero size ({width}x{height})"));
        }
        if width > limit || height > limit {
            return corrupt(format!("{what} declares an implausible size ({width}x{height})"));
        }
        self.rec.width = Some(width as u32);
        self.rec.height = Some(height as u32);
        Ok(())
    }

    pub(crate) fn color(&mut self, color: &str) {
        self.rec.color_type = Some(truncate_utf8(color, schema::COLOR_TYPE.max_bytes()).to_owned());
    }

    /// Decodes, cleans and cuts a text value to its column; empty text leaves the field unset.
    pub(crate) fn text(column: &ColumnSpec, raw: &[u8]) -> Option<String> {
        clean_text(raw, column.max_bytes())
    }

    /// Finishes the record: status, reason (status reason first, then warnings), display size.
    pub(crate) fn finish(
        mut self,
        status: ExtractStatus,
        reason: Option<String>,
        bytes_read: u64,
    ) -> ImageRecord {
        let status = if self.unsupported && status == ExtractStatus::Ok {
            ExtractStatus::Unsupported
        } else {
            status
        };
        let image = !self.unsupported && self.rec.format.is_some();
        let embedded = std::mem::take(&mut self.embedded);
        for w in embedded.apply(&mut self.rec, image) {
            self.warn(w);
        }
        let mut parts: Vec<String> = reason.into_iter().collect();
        parts.append(&mut self.warnings);
        if self.dropped_warnings > 0 {
            parts.push(format!("{} more warnings", self.dropped_warnings));
        }
        let mut rec = self.rec;
        if !parts.is_empty() {
            let joined = parts.join("; ");
            rec.reason = Some(truncate_utf8(&joined, schema::REASON.max_bytes()).to_owned());
        }
        if let (Some(w), Some(h)) = (rec.width, rec.height) {
            let (w, h) = self
                .clean_size
                .filter(|&(cw, ch)| cw <= w && ch <= h && cw > 0 && ch > 0)
                .unwrap_or((w, h));
            let swap = match self.irot_quarter_turns {
                Some(turns) => turns % 2 == 1,
                None => matches!(rec.orientation, Some(5..=8)),
            };
            let (dw, dh) = if swap { (h, w) } else { (w, h) };
            rec.display_width = Some(dw);
            rec.display_height = Some(dh);
        }
        rec.status = status;
        rec.bytes_read = bytes_read;
        rec
    }
}
