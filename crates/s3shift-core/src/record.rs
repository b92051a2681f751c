//! What extraction learned about one object.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Serialize, Serializer};

/// The outcome of extracting one object. Every object gets exactly one, so nothing is ever silently dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractStatus {
    /// A supported image whose header was read in full. `reason` may still carry warnings (an unreadable EXIF
    /// block, an out-of-range orientation) about fields left empty.
    Ok,
    /// Not an image format s3shift reads; `mime_type` holds the sniffed type when it is known.
    Unsupported,
    /// A supported format whose structure is invalid; `reason` names the structure that failed.
    Corrupt,
    /// The object ends, or the read cap was reached, before the metadata did; the fields known by then are kept.
    Truncated,
    /// The object has no bytes at all.
    Empty,
    /// The object was listed but deleted (or replaced by a new version) before it could be read; only what the
    /// listing said about it is known.
    Vanished,
}

impl ExtractStatus {
    /// The value stored in the `status` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unsupported => "unsupported",
            Self::Corrupt => "corrupt",
            Self::Truncated => "truncated",
            Self::Empty => "empty",
            Self::Vanished => "vanished",
        }
    }

    /// Whether an object with this status should count as a failure of the run (quarantined).
    pub const fn is_failure(self) -> bool {
        matches!(self, Self::Corrupt | Self::Truncated)
    }
}

impl std::fmt::Display for ExtractStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An image container format that s3shift reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG, including APNG.
    Png,
    /// GIF 87a and 89a.
    Gif,
    /// WebP: lossy, lossless and extended.
    Webp,
    /// TIFF and BigTIFF.
    Tiff,
    /// Adobe DNG (TIFF-based camera raw).
    Dng,
    /// Windows and OS/2 bitmaps.
    Bmp,
    /// HEIF / HEIC (ISOBMFF with HEVC or other non-AV1 coding).
    Heif,
    /// AVIF (ISOBMFF with AV1 coding).
    Avif,
}

impl ImageFormat {
    /// The value stored in the `format` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Tiff => "tiff",
            Self::Dng => "dng",
            Self::Bmp => "bmp",
            Self::Heif => "heif",
            Self::Avif => "avif",
        }
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wall-clock time as the camera wrote it, with no time zone (EXIF `DateTimeOriginal` + `SubSecTimeOriginal`).
pub type LocalDateTime = NaiveDateTime;

/// Image metadata of one object, as extracted from its first bytes.
///
/// Guarantees: every string is valid UTF-8 and no longer (in bytes) than its column in [`crate::schema`];
/// `width`/`height` and the display sizes are in `1..=i32::MAX`; `orientation` is in `1..=8`; latitude is in
/// `-90..=90` and longitude in `-180..=180`; every float is finite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRecord {
    /// How extraction ended.
    pub status: ExtractStatus,
    /// Why the status is not `ok`, or warnings about fields left empty; `None` when there is nothing to say.
    pub reason: Option<String>,
    /// The container format, once recognised.
    pub format: Option<ImageFormat>,
    /// The MIME type: of the image, or the sniffed type of an unsupported object.
    pub mime_type: Option<String>,
    /// Pixel width as stored (never taken from EXIF tags).
    pub width: Option<u32>,
    /// Pixel height as stored.
    pub height: Option<u32>,
    /// Width as displayed, after EXIF orientation (or HEIF `irot`) is applied.
    pub display_width: Option<u32>,
    /// Height as displayed, after EXIF orientation (or HEIF `irot`) is applied.
    pub display_height: Option<u32>,
    /// EXIF Orientation, 1..=8.
    pub orientation: Option<u16>,
    /// Bits per sample (per palette index for palette images) as the header states it.
    pub bit_depth: Option<u16>,
    /// Colour model as the header states it: `gray`, `gray-alpha`, `rgb`, `rgba`, `palette`, `ycbcr`, `cmyk`, ...
    pub color_type: Option<String>,
    /// Whether the image has more than one frame meant to be played (GIF, APNG, WebP, AVIF/HEIF sequences).
    pub animated: Option<bool>,
    /// EXIF Make.
    pub camera_make: Option<String>,
    /// EXIF Model.
    pub camera_model: Option<String>,
    /// EXIF LensModel.
    pub lens_model: Option<String>,
    /// EXIF Software.
    pub software: Option<String>,
    /// EXIF DateTimeOriginal with SubSecTimeOriginal, as a local time.
    #[serde(serialize_with = "ser_local")]
    pub taken_at_local: Option<LocalDateTime>,
    /// EXIF OffsetTimeOriginal as written (`+05:30`).
    pub taken_at_offset: Option<String>,
    /// The UTC instant of `taken_at_local`, present only when the offset is known.
    #[serde(serialize_with = "ser_utc")]
    pub taken_at_utc: Option<DateTime<Utc>>,
    /// Signed decimal degrees, north positive.
    pub gps_latitude: Option<f64>,
    /// Signed decimal degrees, east positive.
    pub gps_longitude: Option<f64>,
    /// Metres, negative below sea level.
    pub gps_altitude_m: Option<f64>,
    /// Exposure time in seconds.
    pub exposure_time_s: Option<f64>,
    /// F-number.
    pub f_number: Option<f64>,
    /// ISO speed (EXIF PhotographicSensitivity).
    pub iso: Option<u32>,
    /// Focal length in millimetres.
    pub focal_length_mm: Option<f64>,
    /// Bytes of the object read to produce this record.
    pub bytes_read: u64,
    /// Where `taken_at_local` came from: `exif`, `xmp` or `iptc` (EXIF first, as exiftool's composite date and
    /// the Metadata Working Group's guidance order them).
    pub taken_at_source: Option<String>,
    /// Title: XMP `dc:title` (its `x-default` language), else IPTC ObjectName.
    pub title: Option<String>,
    /// Caption: XMP `dc:description`, else IPTC Caption-Abstract.
    pub caption: Option<String>,
    /// Keywords: XMP `dc:subject`, else IPTC Keywords, in the file's order without repeats.
    pub keywords: Vec<String>,
    /// Creator: XMP `dc:creator` (joined with `; `), else IPTC By-line.
    pub creator: Option<String>,
    /// Rights: XMP `dc:rights`, else IPTC CopyrightNotice.
    pub rights: Option<String>,
    /// XMP `xmp:Rating`: -1 (rejected), 0 (unrated) or 1..=5.
    pub rating: Option<f64>,
    /// City: XMP `photoshop:City`, else IPTC City.
    pub city: Option<String>,
    /// Country: XMP `photoshop:Country` (or `Iptc4xmpCore:CountryName`), else IPTC Country-PrimaryLocationName.
    pub country: Option<String>,
    /// The embedded ICC profile's description.
    pub icc_profile: Option<String>,
    /// The ICC profile's data colour space (`RGB`, `GRAY`, `CMYK`, `Lab`, ...).
    pub icc_color_space: Option<String>,
    /// IPTC digital source type from XMP (`Iptc4xmpExt:DigitalSourceType`): the IPTC NewsCode's name
    /// (`trainedAlgorithmicMedia`, `digitalCapture`, ...) or the value as written when it is not one.
    pub digital_source_type: Option<String>,
    /// Whether a C2PA manifest store was found in the bytes read: present, never verified (verifying needs the
    /// whole object and a trust list). `None` when the object is not an image s3shift reads.
    pub c2pa_manifest_present: Option<bool>,
    /// The found manifest's claim generator, as the claim states it (unverified).
    pub c2pa_claim_generator: Option<String>,
    /// The digital source type a found manifest's actions assert (unverified).
    pub c2pa_digital_source_type: Option<String>,
    /// Active content (markup or script) found inside a recognised image's bytes: the marker, e.g. `<script`.
    pub embedded_markup: Option<&'static str>,
}

impl ImageRecord {
    /// An empty record with the given status and no fields set.
    pub fn new(status: ExtractStatus) -> Self {
        Self {
            status,
            reason: None,
            format: None,
            mime_type: None,
            width: None,
            height: None,
            display_width: None,
            display_height: None,
            orientation: None,
            bit_depth: None,
            color_type: None,
            animated: None,
            camera_make: None,
            camera_model: None,
            lens_model: None,
            software: None,
            taken_at_local: None,
            taken_at_offset: None,
            taken_at_utc: None,
            gps_latitude: None,
            gps_longitude: None,
            gps_altitude_m: None,
            exposure_time_s: None,
            f_number: None,
            iso: None,
            focal_length_mm: None,
            bytes_read: 0,
            taken_at_source: None,
            title: None,
            caption: None,
            keywords: Vec::new(),
            creator: None,
            rights: None,
            rating: None,
            city: None,
            country: None,
            icc_profile: None,
            icc_color_space: None,
            digital_source_type: None,
            c2pa_manifest_present: None,
            c2pa_claim_generator: None,
            c2pa_digital_source_type: None,
            embedded_markup: None,
        }
    }
}

impl ImageRecord {
    /// Checks the guarantees stated on [`ImageRecord`]; `Err` names the first field that breaks one.
    ///
    /// The extractor always produces records that pass; the stager and the tests call it as a last line of
    /// defence, since one bad value would fail a whole COPY.
    pub fn check_guarantees(&self) -> Result<(), String> {
        use crate::schema;
        let texts = [
            (&self.reason, schema::REASON),
            (&self.mime_type, schema::MIME_TYPE),
            (&self.color_type, schema::COLOR_TYPE),
            (&self.camera_make, schema::CAMERA_MAKE),
            (&self.camera_model, schema::CAMERA_MODEL),
            (&self.lens_model, schema::LENS_MODEL),
            (&self.software, schema::SOFTWARE),
            (&self.taken_at_offset, schema::TAKEN_AT_OFFSET),
            (&self.taken_at_source, schema::TAKEN_AT_SOURCE),
            (&self.title, schema::TITLE),
            (&self.caption, schema::CAPTION),
            (&self.creator, schema::CREATOR),
            (&self.rights, schema::RIGHTS),
            (&self.city, schema::CITY),
            (&self.country, schema::COUNTRY),
            (&self.icc_profile, schema::ICC_PROFILE),
            (&self.icc_color_space, schema::ICC_COLOR_SPACE),
            (&self.digital_source_type, schema::DIGITAL_SOURCE_TYPE),
            (&self.c2pa_claim_generator, schema::C2PA_CLAIM_GENERATOR),
            (&self.c2pa_digital_source_type, schema::C2PA_DIGITAL_SOURCE_TYPE),
        ];
        for (value, column) in texts {
            if let Some(v) = value
                && v.len() > column.max_bytes()
            {
                return Err(format!(
                    "{} is {} bytes, over its {}",
                    column.name,
                    v.len(),
                    column.ty.sql()
                ));
            }
        }
        let sizes = [
            ("width", self.width),
            ("height", self.height),
            ("display_width", self.display_width),
            ("display_height", self.display_height),
        ];
        for (name, v) in sizes {
            if let Some(v) = v
                && (v == 0 || v > i32::MAX as u32)
            {
                return Err(format!("{name} {v} is outside 1..=i32::MAX"));
            }
        }
        if let Some(o) = self.orientation
            && !(1..=8).contains(&o)
        {
            return Err(format!("orientation {o} is outside 1..=8"));
        }
        if let Some(l) = self.gps_latitude
            && !(-90.0..=90.0).contains(&l)
        {
            return Err(format!("gps_latitude {l} is outside -90..=90"));
        }
        if let Some(l) = self.gps_longitude
            && !(-180.0..=180.0).contains(&l)
        {
            return Err(format!("gps_longitude {l} is outside -180..=180"));
        }
        // `keywords` needs no check: `schema::keywords_json` keeps whole keywords only as far as they fit.
        if let Some(r) = self.rating
            && !(-1.0..=5.0).contains(&r)
        {
            return Err(format!("rating {r} is outside -1..=5"));
        }
        let floats = [
            ("gps_altitude_m", self.gps_altitude_m),
            ("exposure_time_s", self.exposure_time_s),
            ("f_number", self.f_number),
            ("focal_length_mm", self.focal_length_mm),
        ];
        for (name, v) in floats {
            if let Some(v) = v
                && !v.is_finite()
            {
                return Err(format!("{name} is not finite"));
            }
        }
        Ok(())
    }
}

fn ser_local<S: Serializer>(v: &Option<LocalDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.f")),
        None => s.serialize_none(),
    }
}

fn ser_utc<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.fZ")),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn serialises_times_as_iso_8601() -> Result<(), Box<dyn std::error::Error>> {
        let mut r = ImageRecord::new(ExtractStatus::Ok);
        let local = NaiveDate::from_ymd_opt(2024, 2, 29)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 58, 120))
            .ok_or("bad date")?;
        r.taken_at_local = Some(local);
        r.taken_at_utc = Some(local.and_utc());
        let v = serde_json::to_value(&r)?;
        assert_eq!(v["taken_at_local"], "2024-02-29T23:59:58.120");
        assert_eq!(v["taken_at_utc"], "2024-02-29T23:59:58.120Z");
        assert_eq!(v["status"], "ok");
        assert_eq!(v["format"], serde_json::Value::Null);
        Ok(())
    }
}
