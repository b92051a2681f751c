//! Image metadata from the first bytes of an object: pure, synchronous, no IO.
//!
//! This crate owns reading image headers — format, pixel size, orientation, depth, colour model, animation and
//! EXIF camera, time and GPS fields — from as few bytes as the format allows. It must never do IO, panic, loop
//! without bound or allocate beyond a fixed bound on any input: objects come from strangers.
//!
//! # The growth protocol
//! The caller reads [`first_range`] (by default `bytes=0-131071`), puts the bytes in an [`ObjectBytes`] and
//! calls [`extract_step`]. It answers [`Step::Done`] with an [`ImageRecord`], or [`Step::Need`] with the next
//! range to read: the rest of a large EXIF block, the next JPEG segment header past a huge ICC profile, a TIFF
//! IFD or a WebP `EXIF` chunk at the end of the file, a HEIF `meta` box after `mdat`. Each need is rounded up to
//! [`ExtractConfig::grow_bytes`] so that one read usually covers what follows. The total never passes
//! [`ExtractConfig::max_bytes`]: past it, the record is finished with status `truncated` and what is known. The
//! whole object is only ever read when it is smaller than the first range. [`extract_with`] runs the loop for
//! synchronous callers; the S3 reader runs the same loop with async ranged GETs.
//!
//! # Why parsers are written here
//! Every format needs a structure walk that can stop and say "I need bytes at offset X". `imagesize` (pixel
//! size from a contiguous prefix) and `kamadak-exif` (EXIF from one contiguous TIFF buffer) have no such
//! interface, so they cannot follow an IFD to the end of a TIFF or hop past a large JPEG segment without the
//! whole file. They also get cases wrong that matter here (the `oracles` test lists them): OS/2 and top-down BMP
//! headers, a DNG's preview taken for its image, HEIF's first `ispe` taken for the primary item's; and EXIF
//! quirks need care: junk bytes between JPEG segments, GPS stored as signed rationals, `0000:00:00` dates. Both
//! crates serve as oracles in this crate's tests instead, next to exiftool.
//!
//! # Beyond EXIF
//! The containers also carry XMP (`xmp`), IPTC IIM (`iptc`), ICC profiles (`icc`) and C2PA manifest stores
//! (`c2pa`); `embedded` decides which source fills each column. XMP, IPTC and ICC are read wherever the
//! container puts them before the image data, growing the read if need be; a C2PA store's claim is read only
//! from bytes already held (its presence costs nothing, its claim no extra read). Comments and text chunks are
//! scanned for markup or script, which marks a polyglot upload.
//!
//! # Organization
//! [`source`] holds the sparse byte view; `sniff` picks a parser; `jpeg`, `png`, `gif`, `webp`, `tiff`, `bmp`
//! and `isobmff` (HEIF/AVIF) walk their containers; `ifd` reads TIFF directories and `exif` the EXIF fields;
//! `xmp`, `iptc`, `icc` and `c2pa` parse the blocks the containers find, and `embedded` decides which source
//! fills each column. `fuzzing` (the `fuzzing` feature only) feeds those parsers directly.

mod bmp;
mod builder;
mod c2pa;
mod embedded;
mod exif;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gif;
mod icc;
mod ifd;
mod iptc;
mod isobmff;
mod jpeg;
mod png;
mod sniff;
pub mod source;
mod tiff;
mod webp;
mod xmp;

pub use s3shift_core::{ExtractStatus, ImageFormat, ImageRecord};
pub use source::{ByteRange, ObjectBytes};

use builder::Builder;
use sniff::Kind;
use source::{Fail, Held, Source};

/// How much to read, and how far to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractConfig {
    /// Bytes read first, from offset 0 (default 128 KiB: a maximal JPEG EXIF segment ends past 64 KiB).
    pub first_read_bytes: u64,
    /// Least bytes read for each further need (default 64 KiB).
    pub grow_bytes: u64,
    /// Most bytes read per object in all (default 1 MiB); past it the record is `truncated`.
    pub max_bytes: u64,
}

impl ExtractConfig {
    /// Default first read: 128 KiB.
    pub const DEFAULT_FIRST_READ_BYTES: u64 = 128 * 1024;
    /// Default growth: 64 KiB.
    pub const DEFAULT_GROW_BYTES: u64 = 64 * 1024;
    /// Default cap: 1 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;
}

impl Default for ExtractConfig {
    fn default() -> Self {
        Self {
            first_read_bytes: Self::DEFAULT_FIRST_READ_BYTES,
            grow_bytes: Self::DEFAULT_GROW_BYTES,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// The answer of one [`extract_step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Extraction is finished.
    Done(Box<ImageRecord>),
    /// Read this range, add it to the [`ObjectBytes`], and call again. Never empty, never past the object's end,
    /// never overlapping what is held at its start, and never taking the total past the cap.
    Need(ByteRange),
}

/// The first range to read for an object of `size` bytes; `None` for an empty object (nothing to read).
pub fn first_range(size: u64, config: &ExtractConfig) -> Option<ByteRange> {
    let end = size.min(config.first_read_bytes.clamp(1, config.max_bytes.max(1)));
    (size > 0).then_some(ByteRange { start: 0, end })
}

/// Runs the parsers over what is held; answers a record or the next range to read.
///
/// Deterministic and pure: the same bytes and configuration give the same answer.
pub fn extract_step(bytes: &ObjectBytes, config: &ExtractConfig) -> Step {
    step(bytes, config)
}

/// [`extract_step`] over a borrowed prefix (`prefix` holds bytes `0..prefix.len()` of an object of `size`
/// bytes), without copying it: the common case where the first read answers everything.
pub fn extract_prefix(prefix: &[u8], size: u64, config: &ExtractConfig) -> Step {
    let len = prefix.len().min(usize::try_from(size).unwrap_or(usize::MAX));
    step(
        &source::Prefix {
            data: prefix.get(..len).unwrap_or_default(),
            size,
        },
        config,
    )
}

fn step<S: Held>(bytes: &S, config: &ExtractConfig) -> Step {
    let size = bytes.size();
    let held = bytes.held_bytes();
    if size == 0 {
        let rec = Builder::new().finish(ExtractStatus::Empty, Some("object has no bytes".into()), 0);
        return Step::Done(Box::new(rec));
    }
    let mut b = Builder::new();
    let result = parse(bytes, &mut b);
    let (status, reason) = match result {
        Ok(()) => (ExtractStatus::Ok, None),
        Err(Fail::Corrupt(msg)) => (ExtractStatus::Corrupt, Some(msg)),
        Err(Fail::Need { offset, len, what }) => match next_range(bytes, offset, len, config) {
            Ok(range) => return Step::Need(range),
            Err(reason) => (ExtractStatus::Truncated, Some(format!("{what}: {reason}"))),
        },
    };
    Step::Done(Box::new(b.finish(status, reason, held)))
}

/// Where to read next for a need of `len` bytes at `offset`, or why not (the reason for `truncated`).
fn next_range<S: Held>(
    bytes: &S,
    offset: u64,
    len: u64,
    config: &ExtractConfig,
) -> Result<ByteRange, String> {
    let size = bytes.size();
    let needed_end = offset.saturating_add(len.max(1));
    if needed_end > size {
        return Err(format!(
            "needs bytes {offset}..{needed_end} but the object ends at {size}"
        ));
    }
    // Skip what is already held at the start of the need.
    let start = offset + bytes.run_len_at(offset);
    let start = start.min(needed_end.saturating_sub(1));
    let room = config.max_bytes.saturating_sub(bytes.held_bytes());
    if needed_end - start > room {
        return Err(format!(
            "needs bytes {offset}..{needed_end}, past the read cap of {} bytes per object",
            config.max_bytes
        ));
    }
    let mut end = needed_end.max(start.saturating_add(config.grow_bytes)).min(size);
    end = end.min(start + room);
    // Do not re-read a held run that begins inside the new range.
    for run_start in bytes.run_starts() {
        if run_start > start && run_start < end && run_start >= needed_end {
            end = run_start;
        }
    }
    Ok(ByteRange { start, end })
}

fn parse<S: Source>(src: &S, b: &mut Builder) -> Result<(), Fail> {
    let head_len = src.size().min(64) as usize;
    let head = src.bytes(0, head_len, "file signature")?;
    match sniff::sniff(head) {
        Kind::Jpeg => jpeg::parse(src, b),
        Kind::Png => png::parse(src, b),
        Kind::Gif => gif::parse(src, b),
        Kind::Webp => webp::parse(src, b),
        Kind::Tiff => tiff::parse(src, b),
        Kind::Bmp => bmp::parse(src, b),
        Kind::Isobmff => isobmff::parse(src, b),
        Kind::Other(mime) => {
            b.unsupported = true;
            b.rec.mime_type = mime.map(str::to_owned);
            b.warn(match mime {
                Some(m) => format!("not an image format s3shift reads ({m})"),
                None => "not an image format s3shift reads (unknown signature)".to_owned(),
            });
            Ok(())
        }
    }
}

/// The result of a whole extraction loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// The record.
    pub record: ImageRecord,
    /// How many reads the growth protocol made (ranged GETs, for an S3 object).
    pub reads: u32,
}

/// Runs the growth protocol with a synchronous `read` of a byte range; stops at the first read error.
///
/// Guarantees: reads only the ranges [`extract_step`] asks for, in order, and at most
/// [`ExtractConfig::max_bytes`] bytes in all. If `read` returns fewer bytes than asked (the object shrank), the
/// missing bytes are asked for again at most once before the record is finished as it stands.
pub fn extract_with<E>(
    size: u64,
    config: &ExtractConfig,
    mut read: impl FnMut(ByteRange) -> Result<Vec<u8>, E>,
) -> Result<Extraction, E> {
    let mut bytes = ObjectBytes::new(size);
    let mut reads = 0;
    let mut range = first_range(size, config);
    let mut last: Option<ByteRange> = None;
    loop {
        if let Some(r) = range {
            if last == Some(r) {
                // The same range again means the read came back short: stop rather than loop.
                let mut record = ImageRecord::new(ExtractStatus::Truncated);
                record.reason = Some(format!("read of bytes {r} returned short twice"));
                record.bytes_read = bytes.held();
                return Ok(Extraction { record, reads });
            }
            let data = read(r)?;
            reads += 1;
            bytes.insert(r.start, data);
            last = Some(r);
        }
        match extract_step(&bytes, config) {
            Step::Done(record) => {
                return Ok(Extraction {
                    record: *record,
                    reads,
                });
            }
            Step::Need(r) => range = Some(r),
        }
    }
}

/// Extracts from an object held whole in memory (reads nothing; `bytes_read` is the object's size).
pub fn extract_bytes(data: &[u8]) -> ImageRecord {
    let bytes = ObjectBytes::whole(data.to_vec());
    let config = ExtractConfig {
        max_bytes: u64::MAX,
        ..ExtractConfig::default()
    };
    match extract_step(&bytes, &config) {
        Step::Done(rec) => *rec,
        // Unreachable in practice: the whole object is held, so every need lies past its end.
        Step::Need(r) => {
            let mut rec = ImageRecord::new(ExtractStatus::Truncated);
            rec.reason = Some(format!("needs bytes {r} of a fully held object"));
            rec
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_keeps_coming_back_short_ends_truncated_not_in_a_loop() {
        let mut calls = 0;
        let e = extract_with(1000, &ExtractConfig::default(), |_| {
            calls += 1;
            Ok::<_, ()>(Vec::new())
        });
        let e = e.ok();
        assert_eq!(calls, 1);
        assert_eq!(
            e.as_ref().map(|e| e.record.status),
            Some(ExtractStatus::Truncated)
        );
        assert!(
            e.and_then(|e| e.record.reason)
                .is_some_and(|r| r.contains("short"))
        );
    }

    #[test]
    fn read_errors_stop_the_loop_and_reach_the_caller() {
        let r = extract_with(1000, &ExtractConfig::default(), |_| Err::<Vec<u8>, _>("gone"));
        assert_eq!(r, Err("gone"));
    }

    #[test]
    fn empty_objects_need_no_read() {
        assert_eq!(first_range(0, &ExtractConfig::default()), None);
        let e = extract_with(0, &ExtractConfig::default(), |_| Err::<Vec<u8>, ()>(()));
        assert_eq!(
            e.map(|e| (e.record.status, e.reads)),
            Ok((ExtractStatus::Empty, 0))
        );
    }
}
