//! WebP: the RIFF container's first chunk (`VP8 `, `VP8L` or `VP8X`), then, for extended files that flag EXIF,
//! XMP or an ICC profile, a hop along the chunks to them (`EXIF` and `XMP ` often at the end, after the image
//! data); a `C2PA` chunk met on the way is noted.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::exif;
use crate::source::{PResult, Source, byte, corrupt, le16, le32};

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Webp, "image/webp");
    b.rec.bit_depth = Some(8);
    b.rec.animated = Some(false);
    let riff: [u8; 12] = src.array(0, "WebP RIFF header")?;
    // The RIFF size may overstate a truncated file; chunks are bounded by the object's size instead.
    let riff_end = (8 + u64::from(le32(&riff, 4))).min(src.size());
    let h: [u8; 8] = src.array(12, "WebP first chunk header")?;
    let kind = &h[..4];
    let len = u64::from(le32(&h, 4));
    match kind {
        b"VP8 " => {
            let f: [u8; 10] = src.array(20, "WebP VP8 frame header")?;
            if f[3..6] != [0x9D, 0x01, 0x2A] {
                return corrupt("WebP VP8 frame header lacks the start code 9D 01 2A");
            }
            let w = le16(&f, 6) & 0x3FFF;
            let h = le16(&f, 8) & 0x3FFF;
            b.dimensions(u64::from(w), u64::from(h), "WebP VP8 frame header")?;
            b.color("rgb");
            held_c2pa(src, 20 + len + (len & 1), riff_end, b)
        }
        b"VP8L" => {
            let f: [u8; 5] = src.array(20, "WebP VP8L header")?;
            if byte(&f, 0) != 0x2F {
                return corrupt("WebP VP8L header lacks the signature byte 0x2F");
            }
            let bits = le32(&f, 1);
            let w = (bits & 0x3FFF) + 1;
            let h = ((bits >> 14) & 0x3FFF) + 1;
            b.dimensions(u64::from(w), u64::from(h), "WebP VP8L header")?;
            b.color(if bits & (1 << 28) != 0 { "rgba" } else { "rgb" });
            held_c2pa(src, 20 + len + (len & 1), riff_end, b)
        }
        b"VP8X" => {
            let f: [u8; 10] = src.array(20, "WebP VP8X chunk")?;
            let flags = byte(&f, 0);
            let w = u64::from(le32(&[f[4], f[5], f[6], 0], 0)) + 1;
            let h = u64::from(le32(&[f[7], f[8], f[9], 0], 0)) + 1;
            b.dimensions(w, h, "WebP VP8X chunk")?;
            b.color(if flags & 0x10 != 0 { "rgba" } else { "rgb" });
            b.rec.animated = Some(flags & 0x02 != 0);
            // ICC (0x20), EXIF (0x08) and XMP (0x04) flagged: walk the chunks to them.
            if flags & 0x2C == 0 {
                return Ok(());
            }
            walk_chunks(src, 20 + len + (len & 1), riff_end, flags, b)
        }
        other => corrupt(format!(
            "WebP first chunk is '{}', not VP8, VP8L or VP8X",
            String::from_utf8_lossy(other)
        )),
    }
}

/// A simple (non-VP8X) WebP may still carry a `C2PA` chunk after its image (c2pa-rs appends one without adding
/// VP8X): the chunks after the image are walked as far as they are held, never read for.
fn held_c2pa<S: Source>(src: &S, mut at: u64, end: u64, b: &mut Builder) -> PResult<()> {
    while at + 8 <= end {
        let Some(h) = src.held(at, 8, "WebP chunk header")? else {
            return Ok(());
        };
        let len = u64::from(le32(h, 4));
        if h.starts_with(b"C2PA") {
            match src.held(at + 8, len as usize, "WebP C2PA chunk")? {
                Some(data) => b.embedded.c2pa(data),
                None => b.embedded.c2pa_present(),
            }
            return Ok(());
        }
        at += 8 + len + (len & 1);
    }
    Ok(())
}

/// Walks the chunks after VP8X to the end: `EXIF`, `XMP ` and `ICCP` are read, a `C2PA` store as far as it is
/// held. Stops once every flagged chunk was found.
fn walk_chunks<S: Source>(src: &S, mut at: u64, end: u64, flags: u8, b: &mut Builder) -> PResult<()> {
    let (mut exif_left, mut xmp_left, mut icc_left) =
        (flags & 0x08 != 0, flags & 0x04 != 0, flags & 0x20 != 0);
    while at + 8 <= end && (exif_left || xmp_left || icc_left) {
        let h: [u8; 8] = src.array(at, "WebP chunk header")?;
        let len = u64::from(le32(&h, 4));
        match &h[..4] {
            b"EXIF" if exif_left => {
                exif_left = false;
                let data = src.bytes(at + 8, len as usize, "WebP EXIF chunk")?;
                let data = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
                exif::read_block(data, b);
            }
            b"XMP " if xmp_left => {
                xmp_left = false;
                let data = src.bytes(at + 8, len as usize, "WebP XMP chunk")?;
                b.embedded.xmp(data);
            }
            b"ICCP" if icc_left => {
                icc_left = false;
                let data = src.bytes(at + 8, len as usize, "WebP ICCP chunk")?;
                b.embedded.icc(data);
            }
            b"C2PA" => {
                if let Some(data) = src.held(at + 8, len as usize, "WebP C2PA chunk")? {
                    b.embedded.c2pa(data);
                } else {
                    b.embedded.c2pa_present();
                }
            }
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    if exif_left {
        b.warn("WebP VP8X flags EXIF but no EXIF chunk was found");
    }
    Ok(())
}
