//! PNG and APNG: IHDR, then the chunks before the first IDAT (`acTL` for animation, `eXIf` for EXIF).
//!
//! Chunks are hopped by their length, so large text or ICC chunks cost no bytes. The PNG spec puts `eXIf` before
//! IDAT, but Pillow writes it after the image data: past the first IDAT the walk goes on through the bytes
//! already read (the whole file, when it fits in the first read) and asks for nothing more, so an `eXIf` after
//! the image data of a large PNG is not found. EXIF that ImageMagick hides as hex in a `zTXt` "Raw profile type
//! exif" chunk is not decoded.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::exif;
use crate::source::{Fail, PResult, Source, be32, byte, corrupt};

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
    let mut past_image_data = false;
    let mut exif_seen = false;
    loop {
        let h: [u8; 8] = match src.array(at, "PNG chunk header") {
            Ok(h) => h,
            // Past the image data, only what is already held is walked.
            Err(Fail::Need { .. }) if past_image_data => return Ok(()),
            Err(e) => return Err(e),
        };
        let len = u64::from(be32(&h, 0));
        let kind = &h[4..8];
        if len > MAX_CHUNK {
            return corrupt(format!("PNG chunk at offset {at} has length {len}"));
        }
        match kind {
            b"IEND" => return Ok(()),
            b"IDAT" if exif_seen => return Ok(()),
            b"IDAT" => past_image_data = true,
            b"acTL" if len >= 8 => {
                let frames = be32(src.bytes(at + 8, 8, "PNG acTL chunk")?, 0);
                b.rec.animated = Some(frames > 1);
                if frames > 1 {
                    // Registered in 2022; exiftool reports it too.
                    b.rec.mime_type = Some("image/apng".into());
                }
            }
            b"eXIf" if !exif_seen => {
                exif_seen = true;
                let data = match src.bytes(at + 8, len as usize, "PNG eXIf chunk") {
                    Ok(d) => d,
                    Err(Fail::Need { .. }) if past_image_data => return Ok(()),
                    Err(e) => return Err(e),
                };
                // Some writers keep the JPEG-style "Exif\0\0" prefix.
                let data = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
                exif::read_block(data, b);
            }
            _ => {}
        }
        at += 12 + len;
    }
}
