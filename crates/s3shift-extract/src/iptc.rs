//! IPTC IIM (the "IPTC-NAA" record): in JPEG inside a Photoshop APP13 segment (image resource 0x0404), in TIFF
//! as tag 33723. Datasets are `1C record dataset length data`; only the application record's (2) fields that
//! analysts ask for are kept, with the envelope's (1) character set.
//!
//! Text is UTF-8 when dataset 1:90 says so (`ESC % G`); otherwise it is Latin-1, as exiftool reads it by
//! default.

/// The IIM fields kept.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Iptc {
    pub(crate) object_name: Option<String>,
    pub(crate) caption: Option<String>,
    pub(crate) keywords: Vec<String>,
    pub(crate) by_line: Vec<String>,
    pub(crate) copyright: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) country: Option<String>,
    /// 2:55 `CCYYMMDD`.
    pub(crate) date_created: Option<String>,
    /// 2:60 `HHMMSS±HHMM`.
    pub(crate) time_created: Option<String>,
}

/// Most repeated values kept of one dataset.
const MAX_ITEMS: usize = 1000;

/// Reads the datasets of an IIM block; stops quietly at the first malformed one (what came before is kept).
pub(crate) fn parse(block: &[u8]) -> Iptc {
    let mut raw: Vec<(u8, u8, &[u8])> = Vec::new();
    let mut at = 0usize;
    while let Some(&[0x1C, record, dataset, hi, lo]) = block.get(at..at + 5) {
        // An extended length (high bit set) is for binary data the fields here never use.
        if hi & 0x80 != 0 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let Some(data) = block.get(at + 5..at + 5 + len) else {
            break;
        };
        raw.push((record, dataset, data));
        at += 5 + len;
    }
    let utf8 = raw.iter().any(|&(r, d, v)| r == 1 && d == 90 && v == b"\x1b%G");
    let text = |v: &[u8]| -> Option<String> {
        let s = if utf8 {
            String::from_utf8_lossy(v).into_owned()
        } else {
            v.iter().map(|&b| char::from(b)).collect()
        };
        let s = s
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned();
        (!s.is_empty()).then_some(s)
    };
    let mut out = Iptc::default();
    for &(record, dataset, v) in &raw {
        if record != 2 {
            continue;
        }
        let one = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = text(v);
            }
        };
        match dataset {
            5 => one(&mut out.object_name),
            120 => one(&mut out.caption),
            116 => one(&mut out.copyright),
            90 => one(&mut out.city),
            101 => one(&mut out.country),
            55 => one(&mut out.date_created),
            60 => one(&mut out.time_created),
            25 | 80 => {
                let list = if dataset == 25 {
                    &mut out.keywords
                } else {
                    &mut out.by_line
                };
                if let Some(t) = text(v)
                    && list.len() < MAX_ITEMS
                    && !list.contains(&t)
                {
                    list.push(t);
                }
            }
            _ => {}
        }
    }
    out
}

/// What a Photoshop image-resource block holds for IPTC: the IIM block (resource 0x0404) and the MD5 digest of
/// the IIM block as it was when XMP was last brought in line with it (resource 0x0425, "IPTCDigest").
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Photoshop<'a> {
    pub(crate) iim: Option<&'a [u8]>,
    pub(crate) digest: Option<[u8; 16]>,
}

/// Reads a Photoshop image-resource block (the body of a JPEG APP13 after `Photoshop 3.0\0`, TIFF tag 34377):
/// resources 0x0404 and 0x0425. Stops quietly at the first malformed resource, keeping what came before.
pub(crate) fn from_photoshop(resources: &[u8]) -> Photoshop<'_> {
    let mut found = Photoshop::default();
    let mut at = 0usize;
    while resources.get(at..at + 4) == Some(b"8BIM") {
        let Some((id, data, next)) = resource(resources, at) else {
            break;
        };
        match id {
            0x0404 if found.iim.is_none() => found.iim = Some(data),
            0x0425 if found.digest.is_none() => found.digest = data.try_into().ok(),
            _ => {}
        }
        at = next;
    }
    found
}

/// The resource at `at`: its id, its data and where the next one starts.
fn resource(resources: &[u8], at: usize) -> Option<(u16, &[u8], usize)> {
    let id = u16::from_be_bytes([*resources.get(at + 4)?, *resources.get(at + 5)?]);
    // A Pascal name padded to an even length (its length byte included).
    let name_len = usize::from(*resources.get(at + 6)?);
    let name_total = (1 + name_len + 1) & !1;
    let size_at = at + 6 + name_total;
    let size = u32::from_be_bytes(resources.get(size_at..size_at + 4)?.try_into().ok()?);
    let size = usize::try_from(size).ok()?;
    let data_at = size_at + 4;
    let data = resources.get(data_at..data_at.checked_add(size)?)?;
    Some((id, data, data_at + size + (size & 1)))
}

/// The MD5 of an IIM block: what Photoshop stores as resource 0x0425 when it brings XMP in line with the IIM,
/// so a stored digest that differs shows the IIM was edited later by a tool that does not know XMP.
pub(crate) fn digest(iim: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(iim).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(record: u8, dataset: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x1C, record, dataset];
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_utf8_and_latin1_text_and_repeated_keywords() {
        let mut block = dataset(1, 90, b"\x1b%G");
        block.extend(dataset(2, 5, "Tür".as_bytes()));
        block.extend(dataset(2, 25, b"one"));
        block.extend(dataset(2, 25, b"two"));
        block.extend(dataset(2, 25, b"one"));
        block.extend(dataset(2, 55, b"20240501"));
        let i = parse(&block);
        assert_eq!(i.object_name.as_deref(), Some("Tür"));
        assert_eq!(i.keywords, ["one", "two"]);
        assert_eq!(i.date_created.as_deref(), Some("20240501"));
        let latin = parse(&dataset(2, 120, b"caf\xe9"));
        assert_eq!(latin.caption.as_deref(), Some("café"));
        // A length past the end stops the walk, keeping what came before.
        let mut cut = dataset(2, 90, b"Oslo");
        cut.extend_from_slice(&[0x1C, 2, 101, 0x10, 0]);
        assert_eq!(parse(&cut).city.as_deref(), Some("Oslo"));
    }

    #[test]
    fn finds_the_iptc_resource_among_photoshop_resources() {
        let iim = dataset(2, 5, b"x");
        let mut res = b"8BIM\x04\x25\0\0\0\0\0\x10".to_vec();
        res.extend([0u8; 16]);
        res.extend_from_slice(b"8BIM\x04\x04\x03abc");
        res.extend_from_slice(&(iim.len() as u32).to_be_bytes());
        res.extend_from_slice(&iim);
        let found = from_photoshop(&res);
        assert_eq!(found.iim, Some(&iim[..]));
        assert_eq!(found.digest, Some([0u8; 16]));
        assert_eq!(from_photoshop(b"8BIM\x04\x04"), Photoshop::default());
        // The digest is the MD5 of the IIM block (RFC 1321's test vector for "abc").
        let abc: [u8; 16] = [
            0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72,
        ];
        assert_eq!(digest(b"abc"), abc);
    }
}
