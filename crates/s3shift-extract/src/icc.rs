//! ICC profiles: the data colour space from the 128-byte header and the description from the `desc` tag
//! (`desc` text type in version 2 profiles, `mluc` multi-localised Unicode in version 4, English preferred).
//! A profile cut short (only its first JPEG chunk read, say) gives what its held bytes hold.

/// What is kept of a profile.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Icc {
    pub(crate) description: Option<String>,
    pub(crate) color_space: Option<String>,
}

/// Most tags looked at (a profile has a few dozen).
const MAX_TAGS: usize = 256;

fn be32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

/// Reads the header and the description of `profile`.
pub(crate) fn parse(profile: &[u8]) -> Icc {
    let color_space = profile.get(16..20).and_then(|sig| {
        let s = std::str::from_utf8(sig).ok()?.trim_end();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| s.to_owned())
    });
    Icc {
        description: description(profile),
        color_space,
    }
}

fn description(p: &[u8]) -> Option<String> {
    let count = usize::try_from(be32(p, 128)?).ok()?.min(MAX_TAGS);
    for i in 0..count {
        let entry = 132 + 12 * i;
        if p.get(entry..entry + 4)? != b"desc" {
            continue;
        }
        let offset = usize::try_from(be32(p, entry + 4)?).ok()?;
        let size = usize::try_from(be32(p, entry + 8)?).ok()?;
        let data = p.get(offset..offset.checked_add(size)?.min(p.len()))?;
        return match data.get(..4)? {
            b"desc" => {
                let n = usize::try_from(be32(data, 8)?).ok()?;
                let text = data.get(12..12usize.checked_add(n)?.min(data.len()))?;
                let text = text.split(|&b| b == 0).next().unwrap_or_default();
                clean(&String::from_utf8_lossy(text))
            }
            b"mluc" => mluc(data),
            _ => None,
        };
    }
    None
}

/// A `multiLocalizedUnicodeType`: the English (`en`) record, else the first.
fn mluc(data: &[u8]) -> Option<String> {
    let records = usize::try_from(be32(data, 8)?).ok()?.min(MAX_TAGS);
    let record_size = usize::try_from(be32(data, 12)?).ok()?;
    if record_size < 12 {
        return None;
    }
    let mut chosen = None;
    for i in 0..records {
        let r = 16 + i * record_size;
        let lang = data.get(r..r + 2)?;
        let len = usize::try_from(be32(data, r + 4)?).ok()?;
        let offset = usize::try_from(be32(data, r + 8)?).ok()?;
        if chosen.is_none() || lang == b"en" {
            chosen = Some((offset, len));
            if lang == b"en" {
                break;
            }
        }
    }
    let (offset, len) = chosen?;
    let utf16 = data.get(offset..offset.checked_add(len)?.min(data.len()))?;
    let units: Vec<u16> = utf16
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    clean(&String::from_utf16_lossy(&units))
}

fn clean(s: &str) -> Option<String> {
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile with one `desc` tag holding `tag`.
    fn profile(space: &[u8; 4], tag: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 128];
        p[16..20].copy_from_slice(space);
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(b"desc");
        p.extend_from_slice(&144u32.to_be_bytes());
        p.extend_from_slice(&(tag.len() as u32).to_be_bytes());
        p.extend_from_slice(tag);
        p
    }

    #[test]
    fn reads_v2_and_v4_descriptions() {
        let mut v2 = b"desc\0\0\0\0".to_vec();
        v2.extend_from_slice(&5u32.to_be_bytes());
        v2.extend_from_slice(b"sRGB\0");
        let icc = parse(&profile(b"RGB ", &v2));
        assert_eq!(icc.description.as_deref(), Some("sRGB"));
        assert_eq!(icc.color_space.as_deref(), Some("RGB"));

        let text: Vec<u8> = "Display P3".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut v4 = b"mluc\0\0\0\0".to_vec();
        v4.extend_from_slice(&2u32.to_be_bytes());
        v4.extend_from_slice(&12u32.to_be_bytes());
        v4.extend_from_slice(b"deDE");
        v4.extend_from_slice(&0u32.to_be_bytes());
        v4.extend_from_slice(&40u32.to_be_bytes());
        v4.extend_from_slice(b"enUS");
        v4.extend_from_slice(&(text.len() as u32).to_be_bytes());
        v4.extend_from_slice(&40u32.to_be_bytes());
        v4.extend_from_slice(&text);
        assert_eq!(
            parse(&profile(b"GRAY", &v4)).description.as_deref(),
            Some("Display P3")
        );
        assert_eq!(parse(&profile(b"GRAY", &v4)).color_space.as_deref(), Some("GRAY"));
    }

    #[test]
    fn short_or_hostile_profiles_give_what_they_hold() {
        assert_eq!(parse(&[0u8; 20]), Icc::default());
        let mut huge = profile(b"CMYK", b"desc");
        huge[128..132].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(parse(&huge).color_space.as_deref(), Some("CMYK"));
    }
}
