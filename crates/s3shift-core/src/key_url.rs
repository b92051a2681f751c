//! Object keys as S3 URL-encodes them: in listings asked for with `EncodingType=url`, and in event notifications.
//!
//! "ListObjectsV2" (Amazon S3 API Reference): with `encoding-type=url`, S3 "returns encoded key name values" in
//! `Key`, `Prefix`, `Delimiter` and `StartAfter`. Object keys may hold characters XML 1.0 cannot carry ("Creating
//! object key names": control characters among them), so a listing must ask for the encoding, or one such key
//! makes the whole page unparseable. S3 encodes a space as `%20` there (the S3 conformance suite's
//! `test_bucket_listv2_encoding_basic`), and as `+` in event notifications ("Event message structure": "red
//! flower.jpg" becomes "red+flower.jpg"). Unreserved characters and `/` stay as they are; every other byte is
//! `%XX`. [`decode`] reads both forms back, as botocore's form decoder does.

/// How a space is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// `%20`: listings with `EncodingType=url`.
    Percent,
    /// `+`: event notifications.
    Plus,
}

/// Encodes `key` as S3 does, with spaces written as `space` says.
pub fn encode(key: &str, space: Space) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            b' ' if space == Space::Plus => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes an encoded key: `+` is a space, `%XX` a byte, anything else itself; the bytes must be UTF-8. `None`
/// when a `%` is not followed by two hex digits or the bytes are not UTF-8.
pub fn decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_back_byte_for_byte() {
        let keys = [
            "a b+c/d%é.jpg".to_owned(),
            (1u8..=0x7f).map(char::from).collect::<String>(),
            "日本/😀\u{fffd}\u{7f}".to_owned(),
        ];
        for key in &keys {
            for space in [Space::Percent, Space::Plus] {
                let e = encode(key, space);
                assert!(e.bytes().all(|b| b.is_ascii_graphic()), "{e}");
                assert_eq!(decode(&e).as_deref(), Some(key.as_str()), "{e}");
            }
        }
        assert_eq!(encode("quux ab/thud+1", Space::Percent), "quux%20ab/thud%2B1");
        assert_eq!(encode("red flower.jpg", Space::Plus), "red+flower.jpg");
        assert_eq!(decode("%ZZ"), None);
        assert_eq!(decode("%FF"), None);
        assert_eq!(decode("%4"), None);
    }
}
