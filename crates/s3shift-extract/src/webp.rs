//! WebP: the RIFF container's first chunk (`VP8 `, `VP8L` or `VP8X`), then, for extended files that flag EXIF,
//! a hop along the chunks to the `EXIF` chunk (often at the end, after the image data).

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
            Ok(())
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
            Ok(())
        }
        b"VP8X" => {
            let f: [u8; 10] = src.array(20, "WebP VP8X chunk")?;
            let flags = byte(&f, 0);
            let w = u64::from(le32(&[f[4], f[5], f[6], 0], 0)) + 1;
            let h = u64::from(le32(&[f[7], f[8], f[9], 0], 0)) + 1;
            b.dimensions(w, h, "WebP VP8X chunk")?;
            b.color(if flags & 0x10 != 0 { "rgba" } else { "rgb" });
            b.rec.animated = Some(flags & 0x02 != 0);
            if flags & 0x08 == 0 {
                return Ok(());
            }
            find_exif(src, 20 + len + (len & 1), riff_end, b)
        }
        other => corrupt(format!(
            "WebP first chunk is '{}', not VP8, VP8L or VP8X",
            String::from_utf8_lossy(other)
        )),
    }
}

fn find_exif<S: Source>(src: &S, mut at: u64, end: u64, b: &mut Builder) -> PResult<()> {
    while at + 8 <= end {
        let h: [u8; 8] = src.array(at, "WebP chunk header")?;
        let len = u64::from(le32(&h, 4));
        if &h[..4] == b"EXIF" {
            let data = src.bytes(at + 8, len as usize, "WebP EXIF chunk")?;
            let data = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
            exif::read_block(data, b);
            return Ok(());
        }
        at += 8 + len + (len & 1);
    }
    b.warn("WebP VP8X flags EXIF but no EXIF chunk was found");
    Ok(())
}
