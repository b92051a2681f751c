//! GIF 87a/89a: the logical screen descriptor, then the blocks up to the second frame, with the XMP
//! application extension when its bytes are already held.
//!
//! `animated` is true when a NETSCAPE2.0/ANIMEXTS1.0 looping extension or a second image is seen. Walking frame
//! data needs every sub-block header, so the walk stops at the end of the bytes already read: an animation whose
//! second frame and loop extension both lie beyond them is reported as not animated.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::source::{Fail, PResult, Source, byte, corrupt, le16};

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Gif, "image/gif");
    let lsd: [u8; 7] = src.array(6, "GIF logical screen descriptor")?;
    // `GIF89a/*`: a width that opens a JavaScript comment, the mark of a GIF/JavaScript polyglot.
    if lsd.starts_with(b"/*") {
        b.embedded.mark("GIF89a/*");
    }
    b.dimensions(
        u64::from(le16(&lsd, 0)),
        u64::from(le16(&lsd, 2)),
        "GIF logical screen descriptor",
    )?;
    let packed = byte(&lsd, 4);
    b.rec.bit_depth = Some(u16::from(packed & 7) + 1);
    b.color("palette");
    b.rec.animated = Some(false);
    let mut at = 13;
    if packed & 0x80 != 0 {
        at += 3 * (1u64 << ((packed & 7) + 1));
    }
    match walk(src, at, b) {
        // Frame data beyond the bytes held: what was seen decides.
        Err(Fail::Need { .. }) => Ok(()),
        other => other,
    }
}

fn walk<S: Source>(src: &S, mut at: u64, b: &mut Builder) -> PResult<()> {
    let mut frames = 0;
    loop {
        match src.u8_at(at, "GIF block")? {
            0x3B => return Ok(()),
            0x21 => {
                let label = src.u8_at(at + 1, "GIF extension")?;
                let first = src.u8_at(at + 2, "GIF extension")?;
                if label == 0xFE
                    && let Some(comment) = src.held(at + 3, usize::from(first), "GIF comment")?
                {
                    b.embedded.scan_markup(comment);
                }
                let mut xmp = false;
                if label == 0xFF && first == 11 {
                    let id = src.bytes(at + 3, 11, "GIF application extension")?;
                    if id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0" {
                        b.rec.animated = Some(true);
                        return Ok(());
                    }
                    xmp = id == b"XMP DataXMP";
                }
                let next = skip_sub_blocks(src, at + 2)?;
                let packet_len = usize::try_from(next.saturating_sub(at + 14)).unwrap_or(usize::MAX);
                if xmp && let Some(data) = src.held(at + 14, packet_len, "GIF XMP")? {
                    b.embedded.xmp(xmp_packet(data));
                }
                at = next;
            }
            0x2C => {
                frames += 1;
                if frames > 1 {
                    b.rec.animated = Some(true);
                    return Ok(());
                }
                let d: [u8; 9] = src.array(at + 1, "GIF image descriptor")?;
                let mut next = at + 10;
                let packed = byte(&d, 8);
                if packed & 0x80 != 0 {
                    next += 3 * (1u64 << ((packed & 7) + 1));
                }
                at = skip_sub_blocks(src, next + 1)?;
            }
            other => return corrupt(format!("GIF block at offset {at} starts with 0x{other:02X}")),
        }
    }
}

/// The packet of a GIF XMP application extension. XMP part 3 stores it as raw bytes, which a GIF reader walks
/// as sub-blocks, followed by a 258-byte "magic trailer" (0x01, 0xFF, 0xFE, ... 0x00) that ends the walk
/// wherever it began; the packet is UTF-8, where 0xFF never occurs, so it ends before the trailer's 0x01 0xFF.
fn xmp_packet(data: &[u8]) -> &[u8] {
    match memchr::memmem::find(data, &[0x01, 0xFF, 0xFE]) {
        Some(end) => data.get(..end).unwrap_or(data),
        None => data,
    }
}

/// Skips a chain of data sub-blocks starting at `at`; returns the offset after the terminator.
fn skip_sub_blocks<S: Source>(src: &S, mut at: u64) -> PResult<u64> {
    loop {
        let n = src.u8_at(at, "GIF data sub-block")?;
        at += 1 + u64::from(n);
        if n == 0 {
            return Ok(at);
        }
    }
}
