//! PNG and APNG: IHDR, then the chunks before the first IDAT (`acTL` for animation, `eXIf` for EXIF, `iTXt`
//! XMP, `iCCP` profiles, `caBX` C2PA stores, text chunks scanned for markup).
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
/// The keyword (with its NUL) of an `iTXt` chunk holding XMP.
const XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp\0";
/// Most bytes a compressed chunk may inflate to (an XMP packet, an ICC profile).
const MAX_INFLATED: usize = 1024 * 1024;

/// An `iTXt` XMP packet, an `iCCP` profile, a `caBX` C2PA store; other text chunks are scanned for markup.
fn text_chunk(kind: &[u8], data: &[u8], b: &mut Builder) {
    let inflate = |z: &[u8]| miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, MAX_INFLATED).ok();
    match kind {
        b"iCCP" => {
            // name, NUL, compression method (0: zlib), then the compressed profile.
            if let Some(nul) = data.iter().position(|&c| c == 0)
                && let Some(profile) = data.get(nul + 2..).and_then(inflate)
            {
                b.embedded.icc(&profile);
            }
        }
        b"iTXt" => {
            // keyword, NUL, compressed flag, method, language tag, NUL, translated keyword, NUL, text.
            let Some(nul) = data.iter().position(|&c| c == 0) else {
                return;
            };
            let keyword = data.get(..nul).unwrap_or_default();
            let Some(&compressed) = data.get(nul + 1) else {
                return;
            };
            let rest = data.get(nul + 3..).unwrap_or_default();
            let mut parts = rest.splitn(3, |&c| c == 0);
            let (_, _, Some(text)) = (parts.next(), parts.next(), parts.next()) else {
                return;
            };
            let text = if compressed == 1 {
                match inflate(text) {
                    Some(t) => std::borrow::Cow::Owned(t),
                    None => {
                        b.warn("PNG iTXt chunk does not inflate");
                        return;
                    }
                }
            } else {
                std::borrow::Cow::Borrowed(text)
            };
            if keyword == b"XML:com.adobe.xmp" {
                b.embedded.xmp(&text);
            } else {
                b.embedded.scan_markup(&text);
            }
        }
        b"caBX" => b.embedded.c2pa(data),
        b"zTXt" => {
            if let Some(nul) = data.iter().position(|&c| c == 0)
                && let Some(text) = data.get(nul + 2..).and_then(inflate)
            {
                b.embedded.scan_markup(&text);
            }
        }
        _ => b.embedded.scan_markup(data),
    }
}

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
            b"IDAT" => past_image_data = true,
            b"iTXt" | b"iCCP" | b"caBX" | b"tEXt" | b"zTXt" => {
                // Before the image data these are read (growing the read); after it, only when held.
                // Only an XMP packet or an ICC profile is worth a read; other text is scanned if held.
                let wanted = kind == b"iCCP"
                    || (kind == b"iTXt"
                        && src.bytes(at + 8, 18.min(len as usize), "PNG iTXt keyword")? == XMP_KEYWORD);
                let data = if past_image_data || !wanted {
                    src.held(at + 8, len as usize, "PNG text or profile chunk")?
                } else {
                    Some(src.bytes(at + 8, len as usize, "PNG text or profile chunk")?)
                };
                if let Some(data) = data {
                    text_chunk(kind, data, b);
                }
            }
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
