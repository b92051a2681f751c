//! Which parser an object goes to, from its first bytes; for objects s3shift does not read, the MIME type that
//! the bytes suggest, so the row still says what the object was.

use crate::isobmff;

/// What the first bytes say an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Isobmff,
    /// Not a format s3shift reads; the sniffed MIME type when known.
    Other(Option<&'static str>),
}

/// Classifies `head` (the first up to 64 bytes of the object).
pub(crate) fn sniff(head: &[u8]) -> Kind {
    let starts = |sig: &[u8]| head.starts_with(sig);
    // FF D8 FF, or a bare SOI (an object cut right after it still reads as a truncated JPEG).
    if starts(&[0xFF, 0xD8, 0xFF]) || head == [0xFF, 0xD8] {
        return Kind::Jpeg;
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Kind::Png;
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Kind::Gif;
    }
    if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Kind::Webp;
    }
    // A byte-order mark and a small 16-bit magic: 42 and 43 are TIFF and BigTIFF; any other small number is a
    // damaged TIFF header rather than some other format.
    if (starts(b"II") && head.get(3) == Some(&0)) || (starts(b"MM") && head.get(2) == Some(&0)) {
        return Kind::Tiff;
    }
    if starts(b"BM") && head.len() >= 18 {
        return Kind::Bmp;
    }
    if head.get(4..8) == Some(b"ftyp") {
        if isobmff::is_image_ftyp(head) {
            return Kind::Isobmff;
        }
        let brand = head.get(8..12).unwrap_or_default();
        return Kind::Other(Some(match brand {
            b"qt  " => "video/quicktime",
            b"M4A " | b"M4B " => "audio/mp4",
            b"crx " => "image/x-canon-cr3",
            b"jp2 " => "image/jp2",
            b"3gp4" | b"3gp5" | b"3gp6" => "video/3gpp",
            _ => "video/mp4",
        }));
    }
    Kind::Other(other_mime(head))
}

fn other_mime(head: &[u8]) -> Option<&'static str> {
    let starts = |sig: &[u8]| head.starts_with(sig);
    let table: &[(&[u8], &str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"8BPS", "image/vnd.adobe.photoshop"),
        (b"\0\0\x01\0", "image/vnd.microsoft.icon"),
        (b"\0\0\x02\0", "image/x-icon"),
        (b"\xff\x0a", "image/jxl"),
        (b"\0\0\0\x0cJXL \r\n\x87\n", "image/jxl"),
        (b"\0\0\0\x0cjP  \r\n\x87\n", "image/jp2"),
        (b"ID3", "audio/mpeg"),
        (b"OggS", "audio/ogg"),
        (b"fLaC", "audio/flac"),
        (b"\x1a\x45\xdf\xa3", "video/webm"),
        (b"BZh", "application/x-bzip2"),
        (b"\xfd7zXZ\0", "application/x-xz"),
        (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        (b"\x28\xb5\x2f\xfd", "application/zstd"),
        (b"qoif", "image/qoi"),
        (b"DDS ", "image/vnd.ms-dds"),
        (b"\x76\x2f\x31\x01", "image/x-exr"),
    ];
    if let Some((_, mime)) = table.iter().find(|(sig, _)| starts(sig)) {
        return Some(mime);
    }
    if starts(b"RIFF") {
        return match head.get(8..12) {
            Some(b"WAVE") => Some("audio/wav"),
            Some(b"AVI ") => Some("video/x-msvideo"),
            _ => None,
        };
    }
    text_mime(head)
}

/// Text formats: SVG and other XML, HTML, JSON, else plain text when every byte is printable UTF-8.
fn text_mime(head: &[u8]) -> Option<&'static str> {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // The cut may split a character: accept a valid prefix of at least all but 3 bytes.
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 3 >= head.len() => {
            std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default()).ok()?
        }
        Err(_) => return None,
    };
    let text = text.trim_start_matches('\u{feff}');
    if text.is_empty() || text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return None;
    }
    let lower = text.trim_start().to_ascii_lowercase();
    Some(
        if lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")) {
            "image/svg+xml"
        } else if lower.starts_with("<?xml") {
            "application/xml"
        } else if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            "text/html"
        } else if lower.starts_with('{') || lower.starts_with('[') {
            "application/json"
        } else {
            "text/plain"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_types() {
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Kind::Jpeg);
        assert_eq!(sniff(b"%PDF-1.7"), Kind::Other(Some("application/pdf")));
        assert_eq!(sniff(b"<svg xmlns="), Kind::Other(Some("image/svg+xml")));
        assert_eq!(sniff(b"hello world\n"), Kind::Other(Some("text/plain")));
        assert_eq!(sniff(b"\0\x01\x02\x03"), Kind::Other(None));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypisom\0\0\0\0isommp41"),
            Kind::Other(Some("video/mp4"))
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Kind::Isobmff);
        assert_eq!(sniff(b"\0\0\0\x1cftypmif1\0\0\0\0mif1avifmiaf"), Kind::Isobmff);
    }
}
