//! C2PA (Content Credentials) manifest stores: whether one is embedded, and what its claim says about its
//! generator and the digital source type its actions assert. Never verified: verifying needs the whole object
//! (the hard binding hashes it) and a trust list, so every value here is what the manifest *claims*.
//!
//! Where C2PA 2.1 ("Embedding manifests into assets") puts the store: JPEG APP11 segments (JPEG XT boxes of a
//! JUMBF superbox), PNG `caBX` chunks, WebP `C2PA` chunks, ISO BMFF (HEIF, AVIF) `uuid` boxes with the C2PA
//! UUID, TIFF tag 52545. The store is a JUMBF superbox (`jumb`) whose description box (`jumd`) is labelled
//! `c2pa`; claims and assertions are CBOR.
//!
//! Why not the Content Authenticity Initiative's `c2pa` crate: it reads and validates a whole asset (its
//! readers want the full stream, to check the hard binding), pulls a cryptography stack and an HTTP client into
//! a crate that must stay pure and bounded, and still could not verify from the first bytes. Here only the
//! bytes already read are scanned, the CBOR text values after the keys `claim_generator`,
//! `claim_generator_info` (its first `name`) and `digitalSourceType`: a store whose claim lies past the bytes
//! read is reported present with those fields unknown.

/// What was found of a manifest store.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct C2pa {
    pub(crate) claim_generator: Option<String>,
    pub(crate) digital_source_type: Option<String>,
}

/// The UUID of the C2PA `uuid` box in ISO BMFF files.
pub(crate) const BMFF_UUID: [u8; 16] = [
    0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81,
];

/// Whether `jumbf` begins a C2PA manifest store: a `jumb` superbox whose `jumd` is labelled `c2pa`.
pub(crate) fn is_store(jumbf: &[u8]) -> bool {
    // jumb header (8), jumd header (8), the content type UUID (16), a toggles byte, then the label.
    jumbf.get(4..8) == Some(b"jumb")
        && jumbf.get(12..16) == Some(b"jumd")
        && jumbf.get(33..37) == Some(b"c2pa")
}

/// Scans the held bytes of a store for the claim generator and the asserted digital source type.
pub(crate) fn scan(store: &[u8]) -> C2pa {
    let claim_generator = text_after(store, b"claim_generator").or_else(|| {
        // claim_generator_info: [{ "name": ..., "version": ... }]
        let at = find_key(store, b"claim_generator_info")?;
        let rest = store.get(at..store.len().min(at + 512))?;
        let name = text_after(rest, b"name")?;
        Some(match text_after(rest, b"version") {
            Some(v) => format!("{name}/{v}"),
            None => name,
        })
    });
    C2pa {
        claim_generator,
        digital_source_type: text_after(store, b"digitalSourceType"),
    }
}

/// The CBOR encoding of `key` as a text string's header and bytes, for `key`s under 256 bytes.
fn cbor_text(key: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.len() + 2);
    match key.len() {
        n @ 0..=23 => v.push(0x60 | n as u8),
        n => {
            v.push(0x78);
            v.push(n as u8);
        }
    }
    v.extend_from_slice(key);
    v
}

/// The offset just past the first CBOR text string equal to `key`.
fn find_key(data: &[u8], key: &[u8]) -> Option<usize> {
    let needle = cbor_text(key);
    data.windows(needle.len())
        .position(|w| w == needle.as_slice())
        .map(|p| p + needle.len())
}

/// The CBOR text string right after the key `key`, if that is what follows it.
fn text_after(data: &[u8], key: &[u8]) -> Option<String> {
    let at = find_key(data, key)?;
    let head = *data.get(at)?;
    if head >> 5 != 3 {
        return None;
    }
    let (len, skip) = match head & 0x1f {
        n @ 0..=23 => (usize::from(n), 1),
        24 => (usize::from(*data.get(at + 1)?), 2),
        25 => (
            usize::from(u16::from_be_bytes([*data.get(at + 1)?, *data.get(at + 2)?])),
            3,
        ),
        _ => return None,
    };
    let bytes = data.get(at + skip..at + skip + len)?;
    let s = std::str::from_utf8(bytes).ok()?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The JUMBF of a run of JPEG APP11 segment bodies (each `JP`, box instance, packet sequence, then box bytes;
/// later packets repeat the superbox's 8-byte header).
pub(crate) fn join_jpeg_packets(bodies: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let skip = if i == 0 { 8 } else { 16 };
        out.extend_from_slice(body.get(skip..).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(cbor: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(b"jumb");
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(b"jumd");
        v.extend_from_slice(&[
            0x63, 0x32, 0x70, 0x61, 0, 0x11, 0, 0x10, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71,
        ]);
        v.push(3);
        v.extend_from_slice(b"c2pa\0");
        v.extend_from_slice(cbor);
        v
    }

    #[test]
    fn finds_the_claim_generator_in_both_claim_versions() {
        let mut v1 = cbor_text(b"claim_generator");
        v1.extend(cbor_text(b"make_test_images/0.33.1 c2pa-rs/0.33.1"));
        v1.extend(cbor_text(b"digitalSourceType"));
        v1.extend(cbor_text(
            b"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        ));
        let s = store(&v1);
        assert!(is_store(&s));
        let c = scan(&s);
        assert_eq!(
            c.claim_generator.as_deref(),
            Some("make_test_images/0.33.1 c2pa-rs/0.33.1")
        );
        assert!(
            c.digital_source_type
                .is_some_and(|d| d.ends_with("trainedAlgorithmicMedia"))
        );

        let mut v2 = cbor_text(b"claim_generator_info");
        v2.extend_from_slice(&[0x81, 0xa2]);
        v2.extend(cbor_text(b"name"));
        v2.extend(cbor_text(b"s3shift-fixtures"));
        v2.extend(cbor_text(b"version"));
        v2.extend(cbor_text(b"1.0"));
        assert_eq!(
            scan(&store(&v2)).claim_generator.as_deref(),
            Some("s3shift-fixtures/1.0")
        );
    }

    #[test]
    fn other_boxes_and_cut_values_are_not_stores_or_values() {
        assert!(!is_store(b"\0\0\0\x10jumb\0\0\0\x08jumdxxxx"));
        let mut cut = cbor_text(b"claim_generator");
        cut.push(0x78);
        cut.push(200);
        cut.extend_from_slice(b"short");
        assert_eq!(scan(&cut).claim_generator, None);
    }
}
