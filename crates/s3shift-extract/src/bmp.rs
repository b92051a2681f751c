//! BMP: the file header and the DIB header, read by hand because common readers get two variants wrong: OS/2
//! headers (12-byte BITMAPCOREHEADER with 16-bit sizes, 64-byte OS/2 2.x) and top-down bitmaps (negative height).

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::source::{PResult, Source, corrupt, le16, le32};

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Bmp, "image/bmp");
    b.rec.animated = Some(false);
    let dib_size = le32(&src.array::<4>(14, "BMP DIB header size")?, 0);
    let (width, height, bpp, compression, alpha_mask) = match dib_size {
        12 => {
            let h: [u8; 12] = src.array(14, "BMP core header")?;
            (i64::from(le16(&h, 4)), i64::from(le16(&h, 6)), le16(&h, 10), 0, 0)
        }
        16 | 40 | 52 | 56 | 64 | 108 | 124 => {
            let h: [u8; 16] = src.array(14, "BMP info header")?;
            let w = i64::from(le32(&h, 4) as i32);
            let ht = i64::from(le32(&h, 8) as i32);
            let bpp = le16(&h, 14);
            let compression = if dib_size >= 20 {
                le32(&src.array::<4>(30, "BMP info header")?, 0)
            } else {
                0
            };
            // The alpha mask follows the RGB masks in V3-with-alpha (56) and V4/V5 headers.
            let alpha = if matches!(dib_size, 56 | 108 | 124) {
                le32(&src.array::<4>(14 + 52, "BMP alpha mask")?, 0)
            } else {
                0
            };
            (w, ht, bpp, compression, alpha)
        }
        other => return corrupt(format!("BMP DIB header size {other} is not a known BMP header")),
    };
    if width <= 0 {
        return corrupt(format!("BMP header declares width {width}"));
    }
    b.dimensions(width as u64, height.unsigned_abs(), "BMP header")?;
    let (depth, color) = match (bpp, compression) {
        (_, 4) => (None, "jpeg-embedded"),
        (_, 5) => (None, "png-embedded"),
        (1 | 2 | 4 | 8, _) => (Some(bpp), "palette"),
        (16, _) => (Some(5), "rgb"),
        (24, _) => (Some(8), "rgb"),
        (32, _) if alpha_mask != 0 => (Some(8), "rgba"),
        (32, _) => (Some(8), "rgb"),
        (other, _) => return corrupt(format!("BMP header declares {other} bits per pixel")),
    };
    b.rec.bit_depth = depth;
    b.color(color);
    Ok(())
}
