//! JPEG: walk the marker segments from SOI to the first frame header (SOF), reading EXIF on the way.
//!
//! Segments may come in any order and with fill bytes (`FF FF`) or junk between them, as real encoders write.
//! On the way, XMP (APP1, with its extension chunks), ICC (APP2) and IPTC (APP13) segments are read; a C2PA
//! store (APP11), comments and unknown segments only as far as they are already held.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::source::{PResult, Source, be16, byte, corrupt};
use crate::{c2pa, exif};

/// Most junk bytes skipped between two segments before the file is called corrupt.
const MAX_JUNK: u64 = 4096;
/// The APP1 signature of an XMP packet.
const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The APP1 signature of an extended-XMP chunk.
const XMP_EXTENSION_SIG: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
/// Most ICC chunks gathered (a profile of 16 chunks is about 1 MiB).
const MAX_ICC_CHUNKS: usize = 16;

/// Hands the segments gathered before the frame header to the record: the ICC profile's chunks joined in
/// sequence order (from the first, as far as they run without a gap), the C2PA store's packets.
fn finish_embedded(b: &mut Builder, icc: &mut [(u8, Vec<u8>)], c2pa_packets: &[Vec<u8>]) {
    icc.sort_by_key(|(seq, _)| *seq);
    let mut profile = Vec::new();
    for (n, (seq, data)) in icc.iter().enumerate() {
        if usize::from(*seq) != n + 1 {
            break;
        }
        profile.extend_from_slice(data);
    }
    if !profile.is_empty() {
        b.embedded.icc(&profile);
    }
    if !c2pa_packets.is_empty() {
        let bodies: Vec<&[u8]> = c2pa_packets.iter().map(Vec::as_slice).collect();
        b.embedded.c2pa(&c2pa::join_jpeg_packets(&bodies));
    }
}

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Jpeg, "image/jpeg");
    b.rec.animated = Some(false);
    let mut at: u64 = 2;
    let mut adobe_transform: Option<u8> = None;
    let mut exif_seen = false;
    let mut icc: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut c2pa_packets: Vec<Vec<u8>> = Vec::new();
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
                finish_embedded(b, &mut icc, &c2pa_packets);
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
                } else if sig == b"http:/" {
                    let segment = src.bytes(body, (len - 2) as usize, "JPEG XMP segment")?;
                    if let Some(packet) = segment.strip_prefix(XMP_SIG) {
                        b.embedded.xmp(packet);
                    } else if let Some(chunk) = segment.strip_prefix(XMP_EXTENSION_SIG) {
                        b.embedded.xmp_extension(chunk);
                    }
                }
            }
            // ICC profile chunks: `ICC_PROFILE\0`, sequence number, count, then the profile's bytes.
            // The first chunk holds the header and, in practice, the description; later chunks of a large
            // profile are read only as far as they are held.
            0xE2 if len >= 16 => {
                let head: [u8; 14] = src.array(body, "JPEG APP2 signature")?;
                if head.starts_with(b"ICC_PROFILE\0") && icc.len() < MAX_ICC_CHUNKS {
                    let seq = head[12];
                    let data_len = (len - 16) as usize;
                    let data = if seq == 1 {
                        Some(src.bytes(body + 14, data_len, "JPEG ICC segment")?)
                    } else {
                        src.held(body + 14, data_len, "JPEG ICC segment")?
                    };
                    if let Some(data) = data {
                        icc.push((seq, data.to_vec()));
                    }
                }
            }
            // Photoshop image resources, which hold the IPTC IIM block.
            0xED if len >= 16 => {
                let segment = src.bytes(body, (len - 2) as usize, "JPEG APP13 segment")?;
                if let Some(resources) = segment.strip_prefix(b"Photoshop 3.0\0") {
                    b.embedded.photoshop(resources);
                }
            }
            // JPEG XT boxes: a C2PA manifest store's JUMBF, read only as far as it is already held.
            0xEB if len >= 12 => {
                if let Some(segment) = src.held(body, (len - 2) as usize, "JPEG APP11 segment")?
                    && segment.starts_with(b"JP")
                {
                    c2pa_packets.push(segment.to_vec());
                }
            }
            // Comments and unknown application segments: where a polyglot hides its markup.
            0xFE | 0xE3..=0xEA | 0xEC | 0xEF | 0xE0 => {
                if let Some(segment) = src.held(body, (len - 2) as usize, "JPEG segment")? {
                    b.embedded.scan_markup(segment);
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
