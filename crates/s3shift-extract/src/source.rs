//! Byte access for the parsers: a sparse view of an object, and plain slices.

use std::fmt;

/// A byte range of an object, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl ByteRange {
    /// The number of bytes in the range.
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The value of an HTTP `Range` header for this range (`bytes=start-last`, inclusive).
    pub fn http_header(&self) -> String {
        format!("bytes={}-{}", self.start, self.end.saturating_sub(1))
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Why a parser stopped early.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fail {
    /// The bytes `offset..offset+len` are needed and not held.
    Need {
        offset: u64,
        len: u64,
        what: &'static str,
    },
    /// The structure is invalid; the text names it.
    Corrupt(String),
}

pub(crate) type PResult<T> = Result<T, Fail>;

pub(crate) fn corrupt<T>(msg: impl Into<String>) -> PResult<T> {
    Err(Fail::Corrupt(msg.into()))
}

/// Random access to bytes the parsers may ask for.
pub(crate) trait Source {
    /// `len` bytes at `offset`, or why not. `what` names the structure being read, for messages.
    fn bytes(&self, offset: u64, len: usize, what: &'static str) -> PResult<&[u8]>;

    /// `len` bytes at `offset` when they are already held; `None` when reading them would take another read
    /// (for what is worth having only when it costs nothing: a C2PA store's claim, a comment to scan).
    fn held(&self, offset: u64, len: usize, what: &'static str) -> PResult<Option<&[u8]>> {
        match self.bytes(offset, len, what) {
            Ok(b) => Ok(Some(b)),
            Err(Fail::Need { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Total length of the addressable bytes (the object's size).
    fn size(&self) -> u64;

    fn u8_at(&self, offset: u64, what: &'static str) -> PResult<u8> {
        let b = self.bytes(offset, 1, what)?;
        b.first()
            .copied()
            .ok_or_else(|| Fail::Corrupt(format!("{what}: empty read")))
    }

    fn array<const N: usize>(&self, offset: u64, what: &'static str) -> PResult<[u8; N]> {
        let b = self.bytes(offset, N, what)?;
        b.try_into()
            .map_err(|_| Fail::Corrupt(format!("{what}: short read")))
    }
}

/// The bytes of an object that have been fetched so far: a sorted set of disjoint ranges.
///
/// Guarantees: holds only what was inserted (never more memory than that), merges overlapping and adjacent
/// ranges, and never reports a byte past `size`.
#[derive(Debug, Clone)]
pub struct ObjectBytes {
    size: u64,
    segments: Vec<(u64, Vec<u8>)>,
}

impl ObjectBytes {
    /// An empty view of an object of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            segments: Vec::new(),
        }
    }

    /// A view holding the whole object.
    pub fn whole(bytes: Vec<u8>) -> Self {
        let size = bytes.len() as u64;
        Self {
            size,
            segments: vec![(0, bytes)],
        }
    }

    /// The object's size.
    pub fn object_size(&self) -> u64 {
        self.size
    }

    /// How many bytes are held.
    pub fn held(&self) -> u64 {
        self.segments.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Adds bytes read at `offset`. Bytes past the object's size are dropped; bytes already held are kept once.
    pub fn insert(&mut self, offset: u64, mut bytes: Vec<u8>) {
        if offset >= self.size || bytes.is_empty() {
            return;
        }
        let room = (self.size - offset).min(usize::MAX as u64) as usize;
        bytes.truncate(room);
        let mut start = offset;
        let mut data = bytes;
        let mut kept = Vec::with_capacity(self.segments.len() + 1);
        for (seg_start, seg) in std::mem::take(&mut self.segments) {
            let seg_end = seg_start + seg.len() as u64;
            let end = start + data.len() as u64;
            if seg_end < start || seg_start > end {
                kept.push((seg_start, seg));
                continue;
            }
            // Overlapping or adjacent: merge into one run covering both.
            let new_start = start.min(seg_start);
            let new_end = end.max(seg_end);
            let mut merged = vec![0u8; (new_end - new_start) as usize];
            copy_into(&mut merged, seg_start - new_start, &seg);
            copy_into(&mut merged, start - new_start, &data);
            start = new_start;
            data = merged;
        }
        kept.push((start, data));
        kept.sort_by_key(|(s, _)| *s);
        self.segments = kept;
    }

    /// The held ranges, in order.
    pub fn ranges(&self) -> impl Iterator<Item = ByteRange> + '_ {
        self.segments.iter().map(|(s, b)| ByteRange {
            start: *s,
            end: s + b.len() as u64,
        })
    }
}

/// What a growth step needs to know about the bytes held, beyond reading them.
pub(crate) trait Held: Source {
    /// Bytes held in all.
    fn held_bytes(&self) -> u64;
    /// How many held bytes follow `offset` without a gap (0 when `offset` is not held).
    fn run_len_at(&self, offset: u64) -> u64;
    /// Start offsets of the held runs.
    fn run_starts(&self) -> Vec<u64>;
}

impl Held for ObjectBytes {
    fn held_bytes(&self) -> u64 {
        self.held()
    }
    fn run_len_at(&self, offset: u64) -> u64 {
        self.segments
            .iter()
            .find_map(|(s, b)| {
                let end = s + b.len() as u64;
                if offset >= *s && offset < end {
                    Some(end - offset)
                } else {
                    None
                }
            })
            .unwrap_or(0)
    }
    fn run_starts(&self) -> Vec<u64> {
        self.segments.iter().map(|(s, _)| *s).collect()
    }
}

/// A borrowed prefix `0..data.len()` of an object of `size` bytes: the first read, without a copy.
pub(crate) struct Prefix<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) size: u64,
}

impl Source for Prefix<'_> {
    fn bytes(&self, offset: u64, len: usize, what: &'static str) -> PResult<&[u8]> {
        let need = || Fail::Need {
            offset,
            len: len as u64,
            what,
        };
        let end = offset.checked_add(len as u64).ok_or_else(need)?;
        if end > self.size || end > self.data.len() as u64 {
            return Err(need());
        }
        self.data.get(offset as usize..end as usize).ok_or_else(need)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

impl Held for Prefix<'_> {
    fn held_bytes(&self) -> u64 {
        self.data.len() as u64
    }
    fn run_len_at(&self, offset: u64) -> u64 {
        (self.data.len() as u64).saturating_sub(offset)
    }
    fn run_starts(&self) -> Vec<u64> {
        vec![0]
    }
}

fn copy_into(dst: &mut [u8], at: u64, src: &[u8]) {
    if let Some(slot) = dst.get_mut(at as usize..at as usize + src.len()) {
        slot.copy_from_slice(src);
    }
}

impl Source for ObjectBytes {
    fn bytes(&self, offset: u64, len: usize, what: &'static str) -> PResult<&[u8]> {
        let need = Fail::Need {
            offset,
            len: len as u64,
            what,
        };
        let end = offset.checked_add(len as u64).ok_or_else(|| need.clone())?;
        if end > self.size {
            return Err(need);
        }
        for (s, b) in &self.segments {
            let seg_end = s + b.len() as u64;
            if offset >= *s && end <= seg_end {
                let from = (offset - s) as usize;
                return b.get(from..from + len).ok_or(need);
            }
        }
        Err(need)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// A self-contained block (an EXIF segment, a chunk): offsets outside it are a corruption, not a need.
pub(crate) struct Slice<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) name: &'static str,
}

impl Source for Slice<'_> {
    fn bytes(&self, offset: u64, len: usize, what: &'static str) -> PResult<&[u8]> {
        let start = usize::try_from(offset).ok();
        start
            .and_then(|s| s.checked_add(len).map(|e| (s, e)))
            .and_then(|(s, e)| self.data.get(s..e))
            .ok_or_else(|| {
                Fail::Corrupt(format!(
                    "{what} at offset {offset} (+{len}) lies outside the {} block of {} bytes",
                    self.name,
                    self.data.len()
                ))
            })
    }

    fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

/// Big- or little-endian integer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Self::Little => u16::from_le_bytes(b),
            Self::Big => u16::from_be_bytes(b),
        }
    }
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Self::Little => u32::from_le_bytes(b),
            Self::Big => u32::from_be_bytes(b),
        }
    }
    pub(crate) fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Self::Little => u64::from_le_bytes(b),
            Self::Big => u64::from_be_bytes(b),
        }
    }
}

/// Reads a big-endian u16 at `i` of `b`, or 0 when out of range (callers check lengths first).
pub(crate) fn be16(b: &[u8], i: usize) -> u16 {
    b.get(i..i + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_be_bytes)
        .unwrap_or(0)
}
/// Big-endian u32 at `i`, or 0 when out of range.
pub(crate) fn be32(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0)
}
/// Big-endian u64 at `i`, or 0 when out of range.
pub(crate) fn be64(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}
/// Little-endian u16 at `i`, or 0 when out of range.
pub(crate) fn le16(b: &[u8], i: usize) -> u16 {
    b.get(i..i + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0)
}
/// Little-endian u32 at `i`, or 0 when out of range.
pub(crate) fn le32(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}
/// Byte at `i`, or 0 when out of range.
pub(crate) fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_adjacent_ranges() {
        let mut o = ObjectBytes::new(100);
        o.insert(10, vec![1; 10]);
        o.insert(30, vec![3; 10]);
        assert_eq!(o.ranges().count(), 2);
        o.insert(20, vec![2; 10]);
        let r: Vec<_> = o.ranges().collect();
        assert_eq!(r, vec![ByteRange { start: 10, end: 40 }]);
        assert_eq!(o.bytes(19, 2, "t"), Ok(&[1u8, 2][..]));
        assert_eq!(o.bytes(29, 2, "t"), Ok(&[2u8, 3][..]));
        o.insert(95, vec![9; 10]);
        assert_eq!(o.held(), 35);
        assert!(matches!(o.bytes(95, 6, "t"), Err(Fail::Need { .. })));
    }

    #[test]
    fn slices_report_corruption_not_need() {
        let s = Slice {
            data: &[1, 2, 3],
            name: "EXIF",
        };
        assert!(matches!(s.bytes(2, 2, "tag"), Err(Fail::Corrupt(_))));
        assert!(matches!(s.bytes(u64::MAX, 2, "tag"), Err(Fail::Corrupt(_))));
    }
}
