//! A TIFF/EXIF IFD reader over any [`Source`]: classic TIFF and BigTIFF, both byte orders.
//!
//! It keeps only the tags a caller asks for, reads value bytes lazily and only as many as needed, and never
//! follows a pointer chain on its own, so a cyclic or hostile file cannot make it loop or allocate much.

use crate::source::{Endian, Fail, PResult, Source, corrupt};

/// Most entries an IFD may claim before it is treated as corrupt (real IFDs hold a few dozen).
const MAX_ENTRIES: u64 = 4096;
/// Most bytes read for one text value; longer values are cut to their column anyway.
const MAX_TEXT_BYTES: u64 = 1024;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) tag: u16,
    typ: u16,
    count: u64,
    /// The value-or-offset field as stored (4 bytes in TIFF, 8 in BigTIFF).
    field: [u8; 8],
}

#[derive(Debug, Default)]
pub(crate) struct Ifd {
    pub(crate) entries: Vec<Entry>,
    pub(crate) next: u64,
}

impl Ifd {
    pub(crate) fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// A TIFF structure starting at `base` in `src`; offsets inside it are relative to `base`.
pub(crate) struct Tiff<'s, S: Source> {
    pub(crate) src: &'s S,
    base: u64,
    pub(crate) endian: Endian,
    big: bool,
}

impl<'s, S: Source> Tiff<'s, S> {
    /// Reads the TIFF header at `base`; returns the reader and the offset of IFD0.
    pub(crate) fn open(src: &'s S, base: u64) -> PResult<(Self, u64)> {
        let head: [u8; 8] = src.array(base, "TIFF header")?;
        let endian = match &head[..2] {
            b"II" => Endian::Little,
            b"MM" => Endian::Big,
            _ => return corrupt("TIFF header has no II/MM byte-order mark"),
        };
        let magic = endian.u16([head[2], head[3]]);
        match magic {
            42 => {
                let t = Self {
                    src,
                    base,
                    endian,
                    big: false,
                };
                Ok((t, u64::from(endian.u32([head[4], head[5], head[6], head[7]]))))
            }
            43 => {
                let bytesize = endian.u16([head[4], head[5]]);
                if bytesize != 8 {
                    return corrupt(format!("BigTIFF header declares offset size {bytesize}, not 8"));
                }
                let off: [u8; 8] = src.array(base + 8, "BigTIFF header")?;
                let t = Self {
                    src,
                    base,
                    endian,
                    big: true,
                };
                Ok((t, endian.u64(off)))
            }
            other => corrupt(format!(
                "TIFF header magic is {other}, not 42 (TIFF) or 43 (BigTIFF)"
            )),
        }
    }

    fn entry_size(&self) -> u64 {
        if self.big { 20 } else { 12 }
    }

    /// Reads the IFD at `offset`, keeping the entries whose tag `keep` accepts.
    pub(crate) fn ifd(&self, offset: u64, what: &'static str, keep: impl Fn(u16) -> bool) -> PResult<Ifd> {
        if offset < 8 {
            return corrupt(format!("{what} offset {offset} points into the TIFF header"));
        }
        let at = self
            .base
            .checked_add(offset)
            .ok_or_else(|| Fail::Corrupt(format!("{what} offset overflows")))?;
        let (count, head) = if self.big {
            (self.endian.u64(self.src.array(at, what)?), 8)
        } else {
            (u64::from(self.endian.u16(self.src.array(at, what)?)), 2)
        };
        if count > MAX_ENTRIES {
            return corrupt(format!("{what} at offset {offset} claims {count} entries"));
        }
        let ptr = if self.big { 8 } else { 4 };
        let body_len = count * self.entry_size() + ptr;
        if at + head + body_len > self.src.size() && count > 1000 {
            return corrupt(format!(
                "{what} at offset {offset} claims {count} entries, past the end of the file"
            ));
        }
        let body = self.src.bytes(at + head, body_len as usize, what)?;
        let mut ifd = Ifd::default();
        for raw in body.chunks_exact(self.entry_size() as usize).take(count as usize) {
            let tag = self.endian.u16([raw[0], raw[1]]);
            if !keep(tag) {
                continue;
            }
            let typ = self.endian.u16([raw[2], raw[3]]);
            let mut field = [0u8; 8];
            let count = if self.big {
                field.copy_from_slice(&raw[12..20]);
                self.endian.u64(raw[4..12].try_into().unwrap_or_default())
            } else {
                field[..4].copy_from_slice(&raw[8..12]);
                u64::from(self.endian.u32(raw[4..8].try_into().unwrap_or_default()))
            };
            ifd.entries.push(Entry {
                tag,
                typ,
                count,
                field,
            });
        }
        let tail = body.get(body.len() - ptr as usize..).unwrap_or_default();
        ifd.next = if self.big {
            self.endian.u64(tail.try_into().unwrap_or_default())
        } else {
            u64::from(self.endian.u32(tail.try_into().unwrap_or_default()))
        };
        Ok(ifd)
    }

    fn type_size(typ: u16) -> Option<u64> {
        Some(match typ {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 | 16 | 17 | 18 => 8,
            _ => return None,
        })
    }

    /// `len` bytes of an out-of-line value starting at element byte `skip` (bounds checked by `read`).
    fn value_bytes(&self, e: &Entry, skip: u64, len: u64, what: &'static str) -> PResult<&'s [u8]> {
        let off = if self.big {
            self.endian.u64(e.field)
        } else {
            u64::from(self.endian.u32([e.field[0], e.field[1], e.field[2], e.field[3]]))
        };
        let at = self
            .base
            .checked_add(off)
            .and_then(|a| a.checked_add(skip))
            .ok_or_else(|| Fail::Corrupt(format!("{what} value offset overflows")))?;
        self.src.bytes(at, len as usize, what)
    }

    /// Reads `len` value bytes at element byte `skip` into a small owned buffer (inline or not).
    fn read(&self, e: &Entry, skip: u64, len: u64, what: &'static str) -> PResult<Vec<u8>> {
        let size = Self::type_size(e.typ)
            .ok_or_else(|| Fail::Corrupt(format!("{what} has unknown TIFF type {}", e.typ)))?;
        let total = e
            .count
            .checked_mul(size)
            .ok_or_else(|| Fail::Corrupt(format!("{what} count overflows")))?;
        if skip + len > total {
            return corrupt(format!("{what} holds {total} bytes, needed {}", skip + len));
        }
        let inline = if self.big { 8 } else { 4 };
        if total <= inline {
            return Ok(e
                .field
                .get(skip as usize..(skip + len) as usize)
                .unwrap_or_default()
                .to_vec());
        }
        self.value_bytes(e, skip, len, what).map(<[u8]>::to_vec)
    }

    /// The `idx`-th value of an unsigned (or non-negative signed) integer entry.
    pub(crate) fn uint(&self, e: &Entry, idx: u64, what: &'static str) -> PResult<u64> {
        let size = Self::type_size(e.typ).unwrap_or(0);
        let b = self.read(e, idx * size, size, what)?;
        let en = self.endian;
        let v: i128 = match (e.typ, b.as_slice()) {
            (1 | 7, [x]) => i128::from(*x),
            (6, [x]) => i128::from(*x as i8),
            (3, &[a, c]) => i128::from(en.u16([a, c])),
            (8, &[a, c]) => i128::from(en.u16([a, c]) as i16),
            (4 | 13, &[a, c, d, f]) => i128::from(en.u32([a, c, d, f])),
            (9, &[a, c, d, f]) => i128::from(en.u32([a, c, d, f]) as i32),
            (16 | 18, s) => i128::from(en.u64(s.try_into().unwrap_or_default())),
            (17, s) => i128::from(en.u64(s.try_into().unwrap_or_default()) as i64),
            _ => return corrupt(format!("{what} has type {}, not an integer", e.typ)),
        };
        u64::try_from(v).map_err(|_| Fail::Corrupt(format!("{what} is negative ({v})")))
    }

    /// The `idx`-th value of a RATIONAL or SRATIONAL entry (integers and floats accepted too); `None` when the
    /// denominator is zero.
    pub(crate) fn real(&self, e: &Entry, idx: u64, what: &'static str) -> PResult<Option<f64>> {
        let en = self.endian;
        match e.typ {
            5 | 10 => {
                let b = self.read(e, idx * 8, 8, what)?;
                let n = en.u32(b[0..4].try_into().unwrap_or_default());
                let d = en.u32(b[4..8].try_into().unwrap_or_default());
                let (n, d) = if e.typ == 10 {
                    (f64::from(n as i32), f64::from(d as i32))
                } else {
                    (f64::from(n), f64::from(d))
                };
                Ok(if d == 0.0 { None } else { Some(n / d) })
            }
            11 => {
                let b = self.read(e, idx * 4, 4, what)?;
                Ok(Some(f64::from(f32::from_bits(
                    en.u32(b[0..4].try_into().unwrap_or_default()),
                ))))
            }
            12 => {
                let b = self.read(e, idx * 8, 8, what)?;
                Ok(Some(f64::from_bits(
                    en.u64(b[0..8].try_into().unwrap_or_default()),
                )))
            }
            _ => self.uint(e, idx, what).map(|v| Some(v as f64)),
        }
    }

    /// The number of values in the entry.
    pub(crate) fn count(&self, e: &Entry) -> u64 {
        e.count
    }

    /// The raw bytes of any entry's value (an embedded XMP packet, IPTC block or ICC profile), at most `max`;
    /// `None` when the value is longer than `max` (left unread rather than cut).
    pub(crate) fn blob(&self, e: &Entry, max: u64, what: &'static str) -> PResult<Option<Vec<u8>>> {
        let Some(size) = Self::type_size(e.typ) else {
            return Ok(None);
        };
        let total = e.count.saturating_mul(size);
        if total == 0 || total > max {
            return Ok(None);
        }
        self.read(e, 0, total, what).map(Some)
    }

    /// The raw bytes of a text (ASCII/UNDEFINED/BYTE) entry, at most [`MAX_TEXT_BYTES`].
    pub(crate) fn text_bytes(&self, e: &Entry, what: &'static str) -> PResult<Vec<u8>> {
        if !matches!(e.typ, 1 | 2 | 7) {
            return corrupt(format!("{what} has type {}, not text", e.typ));
        }
        self.read(e, 0, e.count.min(MAX_TEXT_BYTES), what)
    }
}
