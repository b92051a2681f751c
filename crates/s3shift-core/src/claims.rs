//! What the uploader claimed about an object, against what its bytes are.
//!
//! An uploader says what it sends twice: in the key's extension and in the `Content-Type` it sets. Neither is
//! checked by S3. A `.jpg` that is a PNG is data quality; an `image/png` that is an HTML page, or an image that
//! carries script, is a security signal. [`assess`] compares both claims with the format the extractor found
//! in the bytes (or sniffed, for objects it does not read) and names the signal, without reading anything.

use crate::record::{ImageFormat, ImageRecord};
use crate::schema;

/// The comparison of one object's claims with its bytes: the `key_extension`, `extension_matches`,
/// `content_type_matches` and `claim_signal` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The key's extension, lower case, when it has one of 1 to 16 ASCII letters and digits.
    pub key_extension: Option<String>,
    /// Whether the extension names the format the bytes are; `None` without an extension, or when the bytes'
    /// type is unknown.
    pub extension_matches: Option<bool>,
    /// Whether the Content-Type names the format the bytes are; `None` without a Content-Type, for a generic
    /// one (`application/octet-stream`, `binary/octet-stream`), or when the bytes' type is unknown.
    pub content_type_matches: Option<bool>,
    /// [`NOT_AN_IMAGE`] or [`MARKUP_IN_IMAGE`], when either holds.
    pub signal: Option<&'static str>,
}

/// The uploader claimed an image (by extension or Content-Type) and the bytes are no image format s3shift
/// reads, nor the type it claimed (an HTML page named `.png`, a PDF sent as `image/jpeg`).
pub const NOT_AN_IMAGE: &str = "not_an_image";
/// The bytes are an image that also carries markup or script (a polyglot): see `ImageRecord::embedded_markup`.
pub const MARKUP_IN_IMAGE: &str = "markup_in_image";

/// The extensions and MIME types that name each format, first the canonical one.
fn names(format: ImageFormat) -> (&'static [&'static str], &'static [&'static str]) {
    match format {
        ImageFormat::Jpeg => (
            &["jpg", "jpeg", "jpe", "jfif", "jif", "pjpeg", "pjp"],
            &["image/jpeg", "image/jpg", "image/pjpeg"],
        ),
        ImageFormat::Png => (&["png", "apng"], &["image/png", "image/apng", "image/x-png"]),
        ImageFormat::Gif => (&["gif"], &["image/gif"]),
        ImageFormat::Webp => (&["webp"], &["image/webp"]),
        ImageFormat::Tiff => (&["tif", "tiff"], &["image/tiff", "image/tiff-fx"]),
        // A DNG is a TIFF: both names are honest.
        ImageFormat::Dng => (
            &["dng", "tif", "tiff"],
            &["image/x-adobe-dng", "image/dng", "image/tiff"],
        ),
        ImageFormat::Bmp => (&["bmp", "dib"], &["image/bmp", "image/x-bmp", "image/x-ms-bmp"]),
        ImageFormat::Heif => (
            &["heic", "heif", "hif", "heics", "heifs"],
            &[
                "image/heic",
                "image/heif",
                "image/heic-sequence",
                "image/heif-sequence",
            ],
        ),
        ImageFormat::Avif => (&["avif", "avifs"], &["image/avif", "image/avif-sequence"]),
    }
}

/// Extensions of the sniffed types of objects s3shift does not read.
fn other_extensions(mime: &str) -> Option<&'static [&'static str]> {
    Some(match mime {
        "application/pdf" => &["pdf"],
        "application/zip" => &["zip"],
        "application/gzip" => &["gz", "tgz"],
        "image/svg+xml" => &["svg", "svgz"],
        "text/html" => &["html", "htm", "xhtml"],
        "application/xml" => &["xml"],
        "application/json" => &["json"],
        "text/plain" => &["txt", "text", "log", "csv"],
        "image/jxl" => &["jxl"],
        "image/jp2" => &["jp2", "j2k", "jpf"],
        "image/vnd.adobe.photoshop" => &["psd"],
        "image/vnd.microsoft.icon" | "image/x-icon" => &["ico", "cur"],
        "video/mp4" => &["mp4", "m4v"],
        "video/quicktime" => &["mov", "qt"],
        "audio/mpeg" => &["mp3"],
        _ => return None,
    })
}

/// Every extension that names some image format.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "jif", "pjpeg", "pjp", "png", "apng", "gif", "webp", "tif", "tiff", "dng",
    "bmp", "dib", "heic", "heif", "hif", "heics", "heifs", "avif", "avifs", "svg", "ico", "jxl", "jp2",
];

/// The extension of `key`'s last path segment, lower case; `None` when it has none, or one that is no
/// plausible extension (empty, over 16 bytes, or not ASCII letters and digits).
pub fn key_extension(key: &str) -> Option<String> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let (stem, ext) = name.rsplit_once('.')?;
    let plausible = !stem.is_empty()
        && (1..=schema::KEY_EXTENSION.max_bytes()).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| ext.to_ascii_lowercase())
}

/// A Content-Type's essence (type/subtype, lower case, parameters dropped); `None` for a generic one.
fn essence(content_type: &str) -> Option<String> {
    let e = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let generic = e.is_empty() || e == "application/octet-stream" || e == "binary/octet-stream";
    (!generic).then_some(e)
}

/// Compares the claims of the object at `key` (its `content_type`) with what `record` says its bytes are.
pub fn assess(key: &str, content_type: Option<&str>, record: &ImageRecord) -> Claims {
    let key_extension = key_extension(key);
    let essence = content_type.and_then(essence);
    let (extensions, mimes): (Option<&[&str]>, Vec<&str>) = match record.format {
        Some(f) => {
            let (e, m) = names(f);
            (Some(e), m.to_vec())
        }
        None => match record.mime_type.as_deref() {
            Some(m) => (other_extensions(m), vec![m]),
            None => (None, Vec::new()),
        },
    };
    let extension_matches = match (&key_extension, extensions) {
        (Some(ext), Some(list)) => Some(list.contains(&ext.as_str())),
        // The bytes' type is known but has no extension list here: an image extension on it is still false.
        (Some(ext), None) if !mimes.is_empty() && IMAGE_EXTENSIONS.contains(&ext.as_str()) => Some(false),
        _ => None,
    };
    let content_type_matches = match &essence {
        Some(e) if !mimes.is_empty() => Some(mimes.contains(&e.as_str())),
        _ => None,
    };
    let claims_image = essence.as_deref().is_some_and(|e| e.starts_with("image/"))
        || key_extension
            .as_deref()
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e));
    let honest = extension_matches == Some(true) || content_type_matches == Some(true);
    let signal = if record.format.is_some() && record.embedded_markup.is_some() {
        Some(MARKUP_IN_IMAGE)
    } else if record.format.is_none() && claims_image && !honest && record.bytes_read > 0 {
        Some(NOT_AN_IMAGE)
    } else {
        None
    };
    Claims {
        key_extension,
        extension_matches,
        content_type_matches,
        signal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ExtractStatus;

    fn image(format: ImageFormat) -> ImageRecord {
        let mut r = ImageRecord::new(ExtractStatus::Ok);
        r.format = Some(format);
        r.bytes_read = 100;
        r
    }

    fn other(mime: Option<&str>) -> ImageRecord {
        let mut r = ImageRecord::new(ExtractStatus::Unsupported);
        r.mime_type = mime.map(str::to_owned);
        r.bytes_read = 100;
        r
    }

    #[test]
    fn extensions_are_the_last_segments_plausible_suffix() {
        assert_eq!(key_extension("a/b/photo.JPG").as_deref(), Some("jpg"));
        assert_eq!(key_extension("a.d/photo"), None);
        assert_eq!(key_extension("a/.hidden"), None);
        assert_eq!(key_extension("x.tar.gz").as_deref(), Some("gz"));
        assert_eq!(key_extension("x.a b"), None);
        assert_eq!(key_extension("x.abcdefghijklmnopq"), None);
        assert_eq!(key_extension("trailing."), None);
    }

    #[test]
    fn honest_uploads_match_and_raise_nothing() {
        let c = assess(
            "u/1.jpeg",
            Some("image/jpeg; charset=binary"),
            &image(ImageFormat::Jpeg),
        );
        assert_eq!(
            (c.extension_matches, c.content_type_matches, c.signal),
            (Some(true), Some(true), None)
        );
        let c = assess("u/1", Some("application/octet-stream"), &image(ImageFormat::Png));
        assert_eq!(
            (c.key_extension, c.extension_matches, c.content_type_matches),
            (None, None, None)
        );
    }

    #[test]
    fn a_png_named_jpg_is_a_mismatch_not_a_threat() {
        let c = assess("u/1.jpg", Some("image/jpeg"), &image(ImageFormat::Png));
        assert_eq!(
            (c.extension_matches, c.content_type_matches, c.signal),
            (Some(false), Some(false), None)
        );
    }

    #[test]
    fn html_sent_as_an_image_is_named() {
        let c = assess("u/avatar.png", Some("image/png"), &other(Some("text/html")));
        assert_eq!(
            (c.extension_matches, c.content_type_matches, c.signal),
            (Some(false), Some(false), Some(NOT_AN_IMAGE))
        );
        // An SVG that says it is one is not a false claim.
        let c = assess("u/logo.svg", Some("image/svg+xml"), &other(Some("image/svg+xml")));
        assert_eq!((c.extension_matches, c.signal), (Some(true), None));
        // Not claimed as an image: nothing to say.
        let c = assess(
            "u/report.pdf",
            Some("application/pdf"),
            &other(Some("application/pdf")),
        );
        assert_eq!(c.signal, None);
        // An empty object claims nothing about its bytes.
        let mut empty = other(None);
        empty.bytes_read = 0;
        assert_eq!(assess("u/a.png", Some("image/png"), &empty).signal, None);
    }

    #[test]
    fn markup_inside_an_image_is_a_polyglot() {
        let mut r = image(ImageFormat::Jpeg);
        r.embedded_markup = Some("<script");
        let c = assess("u/1.jpg", Some("image/jpeg"), &r);
        assert_eq!(c.signal, Some(MARKUP_IN_IMAGE));
    }
}
