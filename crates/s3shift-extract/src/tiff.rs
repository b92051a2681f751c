//! TIFF, BigTIFF and TIFF-based raw (DNG): IFD0 gives the size unless it is a reduced-resolution thumbnail, in
//! which case the full-resolution image is found among the SubIFDs (as DNG writers lay it out).
//!
//! IFDs may lie anywhere (libtiff writes them after the pixel data), so every read goes through the sparse
//! source and asks for the bytes it lacks.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::exif;
use crate::ifd::{Ifd, Tiff};
use crate::source::{Fail, PResult, Source, corrupt};

const NEW_SUBFILE_TYPE: u16 = 0x00FE;
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_LENGTH: u16 = 0x0101;
const BITS_PER_SAMPLE: u16 = 0x0102;
const PHOTOMETRIC: u16 = 0x0106;
const SAMPLES_PER_PIXEL: u16 = 0x0115;
const SUB_IFDS: u16 = 0x014A;
const EXTRA_SAMPLES: u16 = 0x0152;
const DNG_VERSION: u16 = 0xC612;
const XMP: u16 = 700;
const IPTC: u16 = 33723;
const ICC_PROFILE: u16 = 34675;
/// Photoshop image resources: read for the IPTC digest only, when both XMP and IPTC are there.
const PHOTOSHOP: u16 = 34377;
/// C2PA 2.1, "Embedding manifests into TIFF".
const C2PA: u16 = 52545;

/// Most bytes read of one embedded block (XMP, IPTC, ICC); a larger one is left unread.
const MAX_BLOCK: u64 = 512 * 1024;

/// Most SubIFDs looked at for the full-resolution image.
const MAX_SUB_IFDS: u64 = 8;

fn image_tag(tag: u16) -> bool {
    matches!(
        tag,
        NEW_SUBFILE_TYPE
            | IMAGE_WIDTH
            | IMAGE_LENGTH
            | BITS_PER_SAMPLE
            | PHOTOMETRIC
            | SAMPLES_PER_PIXEL
            | SUB_IFDS
            | EXTRA_SAMPLES
            | DNG_VERSION
            | XMP
            | IPTC
            | ICC_PROFILE
            | PHOTOSHOP
            | C2PA
    ) || exif::ifd0_tag(tag)
}

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    b.format(ImageFormat::Tiff, "image/tiff");
    b.rec.animated = Some(false);
    let (tiff, ifd0_at) = Tiff::open(src, 0)?;
    if ifd0_at == 0 {
        return corrupt("TIFF header points to no IFD");
    }
    if ifd0_at >= src.size() {
        return Err(Fail::Need {
            offset: ifd0_at,
            len: 2,
            what: "TIFF IFD0",
        });
    }
    let ifd0 = tiff.ifd(ifd0_at, "TIFF IFD0", image_tag)?;
    if ifd0.get(DNG_VERSION).is_some() {
        b.format(ImageFormat::Dng, "image/x-adobe-dng");
    }
    // IFD0 is the main image unless it is flagged as a reduced-resolution copy (bit 0 of NewSubfileType).
    let reduced = |tiff: &Tiff<'_, S>, ifd: &Ifd| -> PResult<bool> {
        Ok(match ifd.get(NEW_SUBFILE_TYPE) {
            Some(e) => tiff.uint(e, 0, "NewSubfileType")? & 1 == 1,
            None => false,
        })
    };
    let mut main_found = false;
    if reduced(&tiff, &ifd0)?
        && let Some(e) = ifd0.get(SUB_IFDS)
    {
        for i in 0..tiff.count(e).min(MAX_SUB_IFDS) {
            let at = tiff.uint(e, i, "SubIFDs")?;
            let sub = tiff.ifd(at, "TIFF SubIFD", image_tag)?;
            if !reduced(&tiff, &sub)? && sub.get(IMAGE_WIDTH).is_some() {
                image_fields(&tiff, &sub, b)?;
                main_found = true;
                break;
            }
        }
    }
    if !main_found {
        image_fields(&tiff, &ifd0, b)?;
    }
    embedded(&tiff, &ifd0, b)?;
    exif::read_fields(&tiff, &ifd0, b)
}

/// IFD0's XMP packet, IPTC block (and the Photoshop resources holding its digest, when XMP is there too) and ICC
/// profile, read wherever they lie, and its C2PA store if held.
fn embedded<S: Source>(tiff: &Tiff<'_, S>, ifd0: &Ifd, b: &mut Builder) -> PResult<()> {
    if let Some(e) = ifd0.get(XMP)
        && let Some(packet) = tiff.blob(e, MAX_BLOCK, "TIFF XMP")?
    {
        b.embedded.xmp(&packet);
    }
    if let Some(e) = ifd0.get(IPTC)
        && let Some(block) = tiff.blob(e, MAX_BLOCK, "TIFF IPTC")?
    {
        b.embedded.iptc(&block);
    }
    if b.embedded.needs_iptc_digest()
        && let Some(e) = ifd0.get(PHOTOSHOP)
        && let Some(resources) = tiff.blob(e, MAX_BLOCK, "TIFF Photoshop resources")?
    {
        b.embedded.photoshop(&resources);
    }
    if let Some(e) = ifd0.get(ICC_PROFILE)
        && let Some(profile) = tiff.blob(e, MAX_BLOCK, "TIFF ICC profile")?
    {
        b.embedded.icc(&profile);
    }
    if let Some(e) = ifd0.get(C2PA) {
        // Its presence is known from the tag; its claim only from bytes already held.
        match tiff.blob(e, MAX_BLOCK, "TIFF C2PA") {
            Ok(Some(store)) => b.embedded.c2pa(&store),
            Ok(None) | Err(Fail::Need { .. }) => b.embedded.c2pa_present(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn image_fields<S: Source>(tiff: &Tiff<'_, S>, ifd: &Ifd, b: &mut Builder) -> PResult<()> {
    let (Some(w), Some(h)) = (ifd.get(IMAGE_WIDTH), ifd.get(IMAGE_LENGTH)) else {
        return corrupt("TIFF IFD has no ImageWidth/ImageLength");
    };
    let w = tiff.uint(w, 0, "ImageWidth")?;
    let h = tiff.uint(h, 0, "ImageLength")?;
    b.dimensions(w, h, "TIFF IFD")?;
    if let Some(e) = ifd.get(BITS_PER_SAMPLE) {
        b.rec.bit_depth = u16::try_from(tiff.uint(e, 0, "BitsPerSample")?).ok();
    } else {
        b.rec.bit_depth = Some(1);
    }
    let samples = match ifd.get(SAMPLES_PER_PIXEL) {
        Some(e) => tiff.uint(e, 0, "SamplesPerPixel")?,
        None => 1,
    };
    let extra = ifd.get(EXTRA_SAMPLES).map(|e| tiff.count(e)).unwrap_or(0);
    let color = match ifd
        .get(PHOTOMETRIC)
        .map(|e| tiff.uint(e, 0, "PhotometricInterpretation"))
        .transpose()?
    {
        Some(0 | 1) if extra > 0 || samples >= 2 => "gray-alpha",
        Some(0 | 1) => "gray",
        Some(2) if extra > 0 || samples >= 4 => "rgba",
        Some(2) => "rgb",
        Some(3) => "palette",
        Some(5) => "cmyk",
        Some(6) => "ycbcr",
        Some(8) => "cielab",
        Some(32803) => "cfa",
        Some(34892) => "linear-raw",
        Some(_) | None => "unknown",
    };
    b.color(color);
    Ok(())
}
