//! HEIF/HEIC and AVIF (ISOBMFF): `ftyp` for the brand, then the `meta` box — which may come after `mdat` —
//! for the primary item's properties (`ispe` size, `clap` crop and `irot` rotation for the displayed size,
//! `pixi`/`av1C`/`hvcC` depth) and
//! the location of its `Exif` item.
//!
//! Written by hand because size readers report the first `ispe` they meet (often a thumbnail's) and ignore
//! `irot`, so stored and displayed sizes come out wrong for rotated photos.

use s3shift_core::ImageFormat;

use crate::builder::Builder;
use crate::exif;
use crate::source::{Fail, PResult, Slice, Source, be16, be32, be64, byte, corrupt};

/// Most boxes looked at in one container before the file is treated as corrupt.
const MAX_BOXES: usize = 4096;
/// Largest `meta` box read (the cap on reads bounds it further).
const MAX_META: u64 = 16 << 20;

#[derive(Clone, Copy)]
struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the payload.
    body: u64,
    /// Offset one past the box.
    end: u64,
}

/// Reads the box header at `at` within a container ending at `limit`.
fn header<S: Source>(src: &S, at: u64, limit: u64) -> PResult<BoxHeader> {
    let h: [u8; 8] = src.array(at, "ISOBMFF box header")?;
    let size32 = be32(&h, 0);
    let kind = [h[4], h[5], h[6], h[7]];
    let (size, body) = match size32 {
        0 => (limit - at, at + 8),
        1 => (
            be64(&src.array::<8>(at + 8, "ISOBMFF large box size")?, 0),
            at + 16,
        ),
        n => (u64::from(n), at + 8),
    };
    if size < body - at {
        return corrupt(format!(
            "ISOBMFF box '{}' at offset {at} has size {size}, smaller than its header",
            String::from_utf8_lossy(&kind)
        ));
    }
    let end = at
        .checked_add(size)
        .ok_or_else(|| Fail::Corrupt(format!("ISOBMFF box at {at} overflows")))?;
    Ok(BoxHeader { kind, body, end })
}

/// The child boxes of a container held fully in `data` (`data[0]` is at offset 0 of the slice).
fn children(data: &[u8], from: usize) -> PResult<Vec<(BoxHeader, &[u8])>> {
    let src = Slice { data, name: "meta" };
    let mut out = Vec::new();
    let mut at = from as u64;
    let limit = data.len() as u64;
    while at + 8 <= limit {
        if out.len() >= MAX_BOXES {
            return corrupt("ISOBMFF container holds too many boxes");
        }
        let h = header(&src, at, limit)?;
        if h.end > limit {
            return corrupt(format!(
                "ISOBMFF box '{}' at offset {at} runs past its container",
                String::from_utf8_lossy(&h.kind)
            ));
        }
        let body = data.get(h.body as usize..h.end as usize).unwrap_or_default();
        out.push((h, body));
        at = h.end;
    }
    Ok(out)
}

fn brand_format(brand: &[u8]) -> Option<(ImageFormat, &'static str, bool)> {
    Some(match brand {
        b"avif" => (ImageFormat::Avif, "image/avif", false),
        b"avis" => (ImageFormat::Avif, "image/avif", true),
        b"heic" | b"heix" | b"heim" | b"heis" => (ImageFormat::Heif, "image/heic", false),
        b"hevc" | b"hevx" | b"hevm" | b"hevs" => (ImageFormat::Heif, "image/heic-sequence", true),
        b"mif1" | b"mif2" => (ImageFormat::Heif, "image/heif", false),
        b"msf1" => (ImageFormat::Heif, "image/heif-sequence", true),
        _ => return None,
    })
}

/// Whether an `ftyp` box names an image brand this module reads.
pub(crate) fn is_image_ftyp(head: &[u8]) -> bool {
    let size = be32(head, 0) as usize;
    if head.get(4..8) != Some(b"ftyp") || size < 16 {
        return false;
    }
    let brands = head.get(8..size.min(head.len())).unwrap_or_default();
    brand_format(brands.get(..4).unwrap_or_default()).is_some()
        || brands.chunks_exact(4).skip(2).any(|b| brand_format(b).is_some())
}

pub(crate) fn parse<S: Source>(src: &S, b: &mut Builder) -> PResult<()> {
    let size = src.size();
    let ftyp = header(src, 0, size)?;
    let ftyp_len = (ftyp.end - ftyp.body).min(1024);
    let brands = src.bytes(ftyp.body, ftyp_len as usize, "ISOBMFF ftyp box")?;
    let major = brands.get(..4).unwrap_or_default();
    let compatible: Vec<&[u8]> = brands.get(8..).unwrap_or_default().chunks_exact(4).collect();
    // The major brand decides; else the most specific compatible brand (AVIF before generic HEIF).
    let chosen = brand_format(major)
        .or_else(|| {
            compatible
                .iter()
                .find(|c| matches!(**c, b"avif" | b"avis"))
                .and_then(|c| brand_format(c))
        })
        .or_else(|| compatible.iter().find_map(|c| brand_format(c)));
    let Some((format, mime, sequence)) = chosen else {
        return corrupt("ISOBMFF ftyp names no HEIF or AVIF brand");
    };
    b.format(format, mime);
    b.rec.animated = Some(sequence);
    let mut at = ftyp.end;
    let mut boxes = 0;
    while at < size {
        boxes += 1;
        if boxes > MAX_BOXES {
            return corrupt("ISOBMFF file holds too many top-level boxes");
        }
        let h = header(src, at, size)?;
        match &h.kind {
            b"meta" => {
                let len = h.end - h.body;
                if len > MAX_META {
                    return corrupt(format!("ISOBMFF meta box is {len} bytes"));
                }
                let meta = src.bytes(h.body, len as usize, "ISOBMFF meta box")?;
                return parse_meta(src, meta, h.body, b);
            }
            b"moov" => b.rec.animated = Some(true),
            // A C2PA store (C2PA 2.1, "Embedding manifests into BMFF-based assets"): read as far as it is held.
            b"uuid" if src.held(h.body, 16, "ISOBMFF uuid box")? == Some(&crate::c2pa::BMFF_UUID[..]) => {
                let len = (h.end - h.body).saturating_sub(16);
                match src.held(h.body + 16, len.min(MAX_META) as usize, "C2PA uuid box")? {
                    Some(data) => b.embedded.c2pa_bmff(data),
                    None => b.embedded.c2pa_present(),
                }
            }
            _ => {}
        }
        at = h.end;
    }
    // The file ended before any meta box: nothing says it is not merely cut short.
    Err(Fail::Need {
        offset: size,
        len: 8,
        what: "ISOBMFF meta box",
    })
}

#[derive(Default, Clone)]
struct Props {
    /// An ICC profile from a `colr` property of type `prof` or `rICC`.
    icc: Option<Vec<u8>>,
    size: Option<(u32, u32)>,
    irot: Option<u8>,
    /// Clean-aperture (`clap`) size: the displayed crop of a padded coded image.
    clean: Option<(u32, u32)>,
    depth: Option<u8>,
    monochrome: Option<bool>,
}

fn parse_meta<S: Source>(src: &S, meta: &[u8], meta_at: u64, b: &mut Builder) -> PResult<()> {
    // meta is a FullBox: 4 bytes of version and flags before its children.
    let boxes = children(meta, 4)?;
    let find = |k: &[u8; 4]| boxes.iter().find(|(h, _)| &h.kind == k).map(|(h, d)| (*h, *d));
    let primary = match find(b"pitm") {
        Some((_, d)) if byte(d, 0) == 0 => u32::from(be16(d, 4)),
        Some((_, d)) => be32(d, 4),
        None => return corrupt("HEIF meta box has no pitm (primary item)"),
    };
    let props = find(b"iprp")
        .map(|(_, d)| item_props(d, primary))
        .transpose()?
        .unwrap_or_default();
    let Some((w, h)) = props.size else {
        return corrupt(format!(
            "HEIF primary item {primary} has no ispe (image size) property"
        ));
    };
    b.dimensions(u64::from(w), u64::from(h), "HEIF ispe")?;
    b.irot_quarter_turns = Some(props.irot.map_or(0, |anticlockwise| (4 - anticlockwise) % 4));
    b.clean_size = props.clean;
    if let Some(d) = props.depth {
        b.rec.bit_depth = Some(u16::from(d));
    }
    match props.monochrome {
        Some(true) => b.color("gray"),
        Some(false) => b.color("ycbcr"),
        None => {}
    }
    if let Some(icc) = &props.icc {
        b.embedded.icc(icc);
    }
    let items = find(b"iinf")
        .map(|(_, d)| metadata_items(d))
        .transpose()?
        .unwrap_or_default();
    let idat = find(b"idat").map(|(h, _)| h.body + meta_at);
    // The XMP item (a `mime` item of type application/rdf+xml), read wherever it lies.
    if let (Some(xmp_id), Some((_, iloc))) = (items.xmp, find(b"iloc"))
        && let Some((offset, len)) = item_location(iloc, xmp_id, idat)?
        && len > 0
        && len <= MAX_META
    {
        let packet = src.bytes(offset, len as usize, "HEIF XMP item")?;
        b.embedded.xmp(packet);
    }
    // The Exif item, if any: find its id in iinf, its bytes in iloc.
    let Some(exif_id) = items.exif else {
        return Ok(());
    };
    let Some((_, iloc)) = find(b"iloc") else {
        b.warn("HEIF Exif item has no location (no iloc box)");
        return Ok(());
    };
    let Some((offset, len)) = item_location(iloc, exif_id, idat)? else {
        b.warn("HEIF Exif item is not in iloc");
        return Ok(());
    };
    if len < 4 {
        b.warn("HEIF Exif item is shorter than its header");
        return Ok(());
    }
    let data = src.bytes(offset, len as usize, "HEIF Exif item")?;
    let skip = be32(data, 0) as usize;
    match data.get(4 + skip..) {
        Some(tiff) => exif::read_block(tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff), b),
        None => b.warn("HEIF Exif item's TIFF header offset lies outside the item"),
    }
    Ok(())
}

/// Properties of item `item` from `iprp` (`ipco` holds the properties, `ipma` associates them with items).
fn item_props(iprp: &[u8], item: u32) -> PResult<Props> {
    let boxes = children(iprp, 0)?;
    let ipco: Vec<(BoxHeader, &[u8])> = match boxes.iter().find(|(h, _)| &h.kind == b"ipco") {
        Some((_, d)) => children(d, 0)?,
        None => return corrupt("HEIF iprp box has no ipco"),
    };
    let mut props = Props::default();
    for (h, ipma) in boxes.iter().filter(|(h, _)| &h.kind == b"ipma") {
        let _ = h;
        let version = byte(ipma, 0);
        let flags = be32(ipma, 0) & 0xFF_FFFF;
        let count = be32(ipma, 4);
        let mut at = 8usize;
        for _ in 0..count {
            // Each entry takes at least 3 bytes: a count past the box's end is corrupt, not a long loop.
            if at + 3 > ipma.len() {
                return corrupt(format!(
                    "HEIF ipma box claims {count} entries, more than it holds"
                ));
            }
            let id = read_id(ipma, &mut at, version >= 1);
            let n = byte(ipma, at);
            at += 1;
            for _ in 0..n {
                let index = if flags & 1 != 0 {
                    let v = be16(ipma, at) & 0x7FFF;
                    at += 2;
                    usize::from(v)
                } else {
                    let v = byte(ipma, at) & 0x7F;
                    at += 1;
                    usize::from(v)
                };
                if at > ipma.len() {
                    return corrupt("HEIF ipma box runs past its end");
                }
                if id != item || index == 0 {
                    continue;
                }
                let Some((ph, pd)) = ipco.get(index - 1) else {
                    return corrupt(format!(
                        "HEIF ipma refers to property {index}, ipco holds {}",
                        ipco.len()
                    ));
                };
                match &ph.kind {
                    b"ispe" if pd.len() >= 12 => props.size = Some((be32(pd, 4), be32(pd, 8))),
                    b"irot" if !pd.is_empty() => props.irot = Some(byte(pd, 0) & 3),
                    b"clap" if pd.len() >= 16 => {
                        // Rounded n / d, in u64: n and d are untrusted 32-bit values and n + d / 2 may overflow.
                        let ratio = |n: u32, d: u32| {
                            (d != 0 && n >= d)
                                .then(|| (u64::from(n) + u64::from(d) / 2) / u64::from(d))
                                .and_then(|v| u32::try_from(v).ok())
                        };
                        if let (Some(w), Some(h)) =
                            (ratio(be32(pd, 0), be32(pd, 4)), ratio(be32(pd, 8), be32(pd, 12)))
                        {
                            props.clean = Some((w, h));
                        }
                    }
                    b"pixi" if pd.len() >= 6 => props.depth = Some(byte(pd, 5)),
                    b"colr" if matches!(pd.get(..4), Some(b"prof" | b"rICC")) && props.icc.is_none() => {
                        props.icc = pd.get(4..).map(<[u8]>::to_vec);
                    }
                    b"av1C" if pd.len() >= 3 => {
                        let f = byte(pd, 2);
                        let depth = if f & 0x40 != 0 {
                            if f & 0x20 != 0 { 12 } else { 10 }
                        } else {
                            8
                        };
                        props.depth.get_or_insert(depth);
                        props.monochrome = Some(f & 0x10 != 0);
                    }
                    b"hvcC" if pd.len() >= 19 => {
                        props.depth.get_or_insert((byte(pd, 17) & 7) + 8);
                        props.monochrome = Some(byte(pd, 16) & 3 == 0);
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(props)
}

/// The metadata items of `iinf`: the first `Exif` item, the first XMP item.
#[derive(Default)]
struct MetadataItems {
    exif: Option<u32>,
    xmp: Option<u32>,
}

/// Finds the first item of type `Exif` and the first `mime` item whose content type is
/// `application/rdf+xml` (XMP, as ISO/IEC 23008-12 stores it).
fn metadata_items(iinf: &[u8]) -> PResult<MetadataItems> {
    let skip = if byte(iinf, 0) == 0 { 6 } else { 8 };
    let mut out = MetadataItems::default();
    for (h, infe) in children(iinf, skip)? {
        if &h.kind != b"infe" || byte(infe, 0) < 2 {
            continue;
        }
        let (id, kind_at) = if byte(infe, 0) == 2 {
            (u32::from(be16(infe, 4)), 8)
        } else {
            (be32(infe, 4), 10)
        };
        match infe.get(kind_at..kind_at + 4) {
            Some(b"Exif") if out.exif.is_none() => out.exif = Some(id),
            Some(b"mime") if out.xmp.is_none() => {
                // item_name, NUL, content_type, NUL.
                let rest = infe.get(kind_at + 4..).unwrap_or_default();
                let mut parts = rest.split(|&c| c == 0);
                let _name = parts.next();
                if parts.next() == Some(b"application/rdf+xml") {
                    out.xmp = Some(id);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Reads a 16-bit (or, when `wide`, 32-bit) big-endian item id or count at `*at` and advances; 0 past the end
/// (callers check the box's length before each entry).
fn read_id(d: &[u8], at: &mut usize, wide: bool) -> u32 {
    let v = if wide {
        be32(d, *at)
    } else {
        u32::from(be16(d, *at))
    };
    *at += if wide { 4 } else { 2 };
    v
}

/// Reads a `size`-byte big-endian unsigned field at `*at` and advances.
fn field(d: &[u8], at: &mut usize, size: u8) -> PResult<u64> {
    let v = match size {
        0 => 0,
        4 => u64::from(be32(d, *at)),
        8 => be64(d, *at),
        other => return corrupt(format!("HEIF iloc field size {other}")),
    };
    *at += usize::from(size);
    if *at > d.len() {
        return corrupt("HEIF iloc box runs past its end");
    }
    Ok(v)
}

/// File offset and length of `item`'s first extent, from `iloc` (construction method 0 = file, 1 = idat).
fn item_location(iloc: &[u8], item: u32, idat: Option<u64>) -> PResult<Option<(u64, u64)>> {
    let version = byte(iloc, 0);
    let sizes = be16(iloc, 4);
    let offset_size = (sizes >> 12) as u8;
    let length_size = ((sizes >> 8) & 0xF) as u8;
    let base_size = ((sizes >> 4) & 0xF) as u8;
    let index_size = if version >= 1 { (sizes & 0xF) as u8 } else { 0 };
    let mut at = 6usize;
    let count = read_id(iloc, &mut at, version >= 2);
    for _ in 0..count {
        // Each item takes at least 6 bytes: a count past the box's end is corrupt, not a long loop.
        if at + 6 > iloc.len() {
            return corrupt(format!("HEIF iloc box claims {count} items, more than it holds"));
        }
        let id = read_id(iloc, &mut at, version >= 2);
        let method = if version >= 1 {
            let v = be16(iloc, at) & 0xF;
            at += 2;
            v
        } else {
            0
        };
        at += 2; // data_reference_index
        let base = field(iloc, &mut at, base_size)?;
        let extents = be16(iloc, at);
        at += 2;
        let mut first = None;
        for _ in 0..extents {
            if at >= iloc.len() && offset_size + length_size + index_size > 0 {
                return corrupt("HEIF iloc box runs past its end");
            }
            field(iloc, &mut at, index_size)?;
            let off = field(iloc, &mut at, offset_size)?;
            let len = field(iloc, &mut at, length_size)?;
            first.get_or_insert((off, len));
        }
        if id != item {
            continue;
        }
        let Some((off, len)) = first else { return Ok(None) };
        let start = match (method, idat) {
            (0, _) => base.checked_add(off),
            (1, Some(idat_at)) => idat_at.checked_add(base).and_then(|v| v.checked_add(off)),
            _ => return Ok(None),
        };
        return Ok(start.map(|s| (s, len)));
    }
    Ok(None)
}
