//! JPEG: walk the marker segments from SOI to the first frame header (SOF), reading EXIF on the way.
//!
//! Segments may come in any order and with fill bytes (`FF FF`) or junk between them, as real encoders write;
//! only segment headers are read on the way, so a large ICC or XMP segment costs no bytes, just a hop.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::exif;
use crate::source::{PResult, Source, be16, byte, corrupt};

/// Most junk bytes skipped between two segments before the file is called corrupt.
const MAX_JUNK: u64 = 4096;

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Jpeg, "image/jpeg");
    b.rec.animated = Some(false);
    let mut at: u64 = 2;
    let mut adobe_transform: Option<u8> = None;
    let mut exif_seen = false;
    loop {
        // Find the marker: skip junk until 0xFF, then any fill bytes.
        let mut junk = 0;
        while src.u8_at(at, "JPEG marker")? != 0xFF {
            at += 1;
            junk += 1;
            if junk > MAX_JUNK {
                return corrupt(format!("no JPEG marker in {MAX_JUNK} bytes before offset {at}"));
            }
        }
        let mut marker = src.u8_at(at + 1, "JPEG marker")?;
        while marker == 0xFF {
            at += 1;
            marker = src.u8_at(at + 1, "JPEG marker")?;
        }
        match marker {
            0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            0x00 => {
                at += 2;
                continue;
            }
            0xD8 => return corrupt(format!("second start-of-image marker at offset {at}")),
            0xD9 => {
                return corrupt(format!(
                    "end-of-image marker at offset {at} before any frame header"
                ));
            }
            0xDA => return corrupt(format!("scan at offset {at} before any frame header")),
            _ => {}
        }
        let len = u64::from(be16(&src.array::<2>(at + 2, "JPEG segment length")?, 0));
        if len < 2 {
            return corrupt(format!(
                "JPEG segment FF{marker:02X} at offset {at} has length {len}"
            ));
        }
        let body = at + 4;
        match marker {
            // Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if len < 8 {
                    return corrupt(format!("JPEG frame header at offset {at} is {len} bytes long"));
                }
                let f: [u8; 6] = src.array(body, "JPEG frame header")?;
                let precision = byte(&f, 0);
                let height = be16(&f, 1);
                let width = be16(&f, 3);
                let components = byte(&f, 5);
                if width == 0 {
                    return corrupt(format!("JPEG frame header at offset {at} declares width 0"));
                }
                if height == 0 {
                    return corrupt(format!(
                        "JPEG frame header at offset {at} declares height 0 (DNL-defined heights are not read)"
                    ));
                }
                b.dimensions(u64::from(width), u64::from(height), "JPEG frame header")?;
                b.rec.bit_depth = Some(u16::from(precision));
                match (components, adobe_transform) {
                    (1, _) => b.color("gray"),
                    (3, Some(0)) => b.color("rgb"),
                    (3, _) => b.color("ycbcr"),
                    (4, Some(2)) => b.color("ycck"),
                    (4, _) => b.color("cmyk"),
                    (n, _) => b.color(&format!("{n} components")),
                }
                return Ok(());
            }
            0xE1 => {
                let sig = src.bytes(body, 6.min(len as usize - 2), "JPEG APP1 signature")?;
                if sig == b"Exif\0\0" || sig == b"Exif\0\xFF" {
                    let block = src.bytes(body + 6, (len - 8) as usize, "JPEG EXIF segment")?;
                    // Only the first EXIF segment counts, as in every reader.
                    if !exif_seen {
                        exif_seen = true;
                        exif::read_block(block, b);
                    }
                }
            }
            0xEE if len >= 14 => {
                let a = src.bytes(body, 12, "JPEG APP14 segment")?;
                if a.starts_with(b"Adobe") {
                    adobe_transform = Some(byte(a, 11));
                }
            }
            _ => {}
        }
        at += 2 + len;
    }
}
