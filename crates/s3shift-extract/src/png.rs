//! PNG and APNG: IHDR, then the chunks before the first IDAT (`acTL` for animation, `eXIf` for EXIF).
//!
//! Chunks are hopped by their length, so large text or ICC chunks cost no bytes. An `eXIf` chunk after IDAT is
//! not looked for (PNG 1.5 requires it before IDAT), and EXIF that ImageMagick hides as hex in a `zTXt`
//! "Raw profile type exif" chunk is not decoded.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::exif;
use crate::source::{PResult, Source, be32, byte, corrupt};

/// Largest chunk length PNG allows (2^31 - 1).
const MAX_CHUNK: u64 = 0x7FFF_FFFF;

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Png, "image/png");
    let head: [u8; 8] = src.array(8, "PNG IHDR chunk header")?;
    if &head[4..8] != b"IHDR" {
        return corrupt("PNG first chunk is not IHDR");
    }
    if be32(&head, 0) != 13 {
        return corrupt(format!("PNG IHDR chunk has length {}, not 13", be32(&head, 0)));
    }
    let ihdr: [u8; 13] = src.array(16, "PNG IHDR chunk")?;
    b.dimensions(u64::from(be32(&ihdr, 0)), u64::from(be32(&ihdr, 4)), "PNG IHDR")?;
    let depth = byte(&ihdr, 8);
    let color = match byte(&ihdr, 9) {
        0 => "gray",
        2 => "rgb",
        3 => "palette",
        4 => "gray-alpha",
        6 => "rgba",
        other => return corrupt(format!("PNG IHDR colour type {other} is not defined")),
    };
    if !matches!(depth, 1 | 2 | 4 | 8 | 16) {
        return corrupt(format!("PNG IHDR bit depth {depth} is not defined"));
    }
    b.rec.bit_depth = Some(u16::from(depth));
    b.color(color);
    b.rec.animated = Some(false);
    let mut at: u64 = 8 + 12 + 13;
    loop {
        let h: [u8; 8] = src.array(at, "PNG chunk header")?;
        let len = u64::from(be32(&h, 0));
        let kind = &h[4..8];
        if len > MAX_CHUNK {
            return corrupt(format!("PNG chunk at offset {at} has length {len}"));
        }
        match kind {
            b"IDAT" | b"IEND" => return Ok(()),
            b"acTL" if len >= 8 => {
                let frames = be32(src.bytes(at + 8, 8, "PNG acTL chunk")?, 0);
                b.rec.animated = Some(frames > 1);
            }
            b"eXIf" => {
                let data = src.bytes(at + 8, len as usize, "PNG eXIf chunk")?;
                // Some writers keep the JPEG-style "Exif\0\0" prefix.
                let data = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
                exif::read_block(data, b);
            }
            _ => {}
        }
        at += 12 + len;
    }
}
