//! Entry points for fuzzing the metadata parsers one at a time (the `fuzzing` feature; never in a release
//! build). Each feeds its bytes where a container parser would hand them over, then lands the result in a
//! record the way an extraction does, so a fuzz target checks the parser and the precedence rules together.

use s3shift_core::{ExtractStatus, ImageRecord};

use crate::embedded::Embedded;

/// Which parser a fuzz input is for.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// An XMP packet (JPEG APP1 after its namespace, PNG iTXt text, WebP `XMP `, TIFF 700, a HEIF `mime` item).
    Xmp,
    /// A main XMP packet and a JPEG extended-XMP chunk, split at the first NUL.
    ExtendedXmp,
    /// An IPTC IIM block (TIFF 33723).
    Iptc,
    /// A Photoshop image-resource block (JPEG APP13 after `Photoshop 3.0\0`), its IIM and digest inside.
    Photoshop,
    /// An ICC profile.
    Icc,
    /// A C2PA manifest store (JUMBF).
    C2pa,
    /// The body of a BMFF C2PA `uuid` box after its UUID.
    C2paBmff,
    /// Bytes scanned for markup.
    Markup,
}

impl Part {
    /// The part chosen by a fuzz input's first byte.
    pub fn from_byte(b: u8) -> Self {
        match b % 8 {
            0 => Self::Xmp,
            1 => Self::ExtendedXmp,
            2 => Self::Iptc,
            3 => Self::Photoshop,
            4 => Self::Icc,
            5 => Self::C2pa,
            6 => Self::C2paBmff,
            _ => Self::Markup,
        }
    }
}

/// Parses `body` as `part` and applies what was found to an OK record; returns the record and the warnings.
/// Never panics, for any input.
pub fn metadata(part: Part, body: &[u8]) -> (ImageRecord, Vec<String>) {
    let mut e = Embedded::default();
    match part {
        Part::Xmp => e.xmp(body),
        Part::ExtendedXmp => {
            let split = body.iter().position(|&b| b == 0).unwrap_or(body.len());
            let (main, rest) = body.split_at(split);
            e.xmp(main);
            e.xmp_extension(rest.get(1..).unwrap_or_default());
        }
        Part::Iptc => e.iptc(body),
        Part::Photoshop => e.photoshop(body),
        Part::Icc => e.icc(body),
        Part::C2pa => e.c2pa(body),
        Part::C2paBmff => e.c2pa_bmff(body),
        Part::Markup => e.scan_markup(body),
    }
    let mut rec = ImageRecord::new(ExtractStatus::Ok);
    let warnings = e.apply(&mut rec, true);
    (rec, warnings)
}
