//! Strings cut to what a Redshift column holds, and errors as one readable line.
//!
//! Redshift counts `VARCHAR(n)` in bytes, not characters, and a COPY fails as a whole on one over-long value.
//! Every string that reaches the curated table goes through [`truncate_utf8`] with the column's byte length.

/// Cuts `s` to at most `max_bytes` bytes without splitting a UTF-8 character.
///
/// Guarantees: the result is valid UTF-8, a prefix of `s`, and `result.len() <= max_bytes`.
pub fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Decodes bytes as UTF-8 (invalid sequences become U+FFFD), drops trailing NULs and surrounding whitespace, and
/// cuts the result to `max_bytes`. Returns `None` when nothing printable is left.
pub fn clean_text(bytes: &[u8], max_bytes: usize) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let raw = bytes.get(..end).unwrap_or_default();
    let decoded = String::from_utf8_lossy(raw);
    let trimmed = decoded.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if trimmed.is_empty() {
        return None;
    }
    Some(truncate_utf8(trimmed, max_bytes).to_owned())
}

/// An error and its causes as one line of their messages (`a: b: c`), each said once, without the Rust debug
/// text some SDK errors append: what a person reads, where `{:?}` would dump the structures.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        // One line: the first of a multi-line message (the SDK lists each credential provider it tried).
        let full = err.to_string();
        let first = full.lines().next().unwrap_or_default();
        let text = first
            .strip_suffix(" Attempted:")
            .unwrap_or(first)
            .trim_end_matches('.')
            .to_owned();
        // `message (Debug(Of { the: error }))`, as the AWS SDK's DisplayErrorContext writes: keep the message.
        let text = match text.find(" (") {
            Some(i) if text[i..].contains(" { ") || text[i + 2..].starts_with(char::is_uppercase) => {
                text[..i].to_owned()
            }
            _ => text,
        };
        let text = text.trim().to_owned();
        let debug_only = text.contains(" { ") && text.ends_with('}');
        if !text.is_empty() && !debug_only && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_reads_as_one_line_without_debug_text() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
            }
        }
        let e = E(
            "dispatch failure",
            Some(Box::new(E(
                "an error occurred while loading credentials (ProviderError(ProviderError { source: X }))",
                Some(Box::new(E(
                    "Error { code: \"NoSuchBucket\", s3_extended_request_id: \"x\" }",
                    None,
                ))),
            ))),
        );
        assert_eq!(
            error_chain(&e),
            "dispatch failure: an error occurred while loading credentials"
        );
    }

    #[test]
    fn never_splits_a_character() {
        let s = "aé✓😀";
        for max in 0..=s.len() + 1 {
            let cut = truncate_utf8(s, max);
            assert!(cut.len() <= max);
            assert!(s.starts_with(cut));
        }
        assert_eq!(truncate_utf8(s, 3), "aé");
        assert_eq!(truncate_utf8(s, 5), "aé");
        assert_eq!(truncate_utf8(s, 6), "aé✓");
    }

    #[test]
    fn clean_text_drops_nuls_and_decodes_lossily() {
        assert_eq!(clean_text(b"Canon\0\0\0", 64).as_deref(), Some("Canon"));
        assert_eq!(clean_text(b"  Nikon  ", 64).as_deref(), Some("Nikon"));
        assert_eq!(clean_text(b"\0abc", 64), None);
        assert_eq!(clean_text(b"   ", 64), None);
        assert_eq!(clean_text(b"a\xffb", 64).as_deref(), Some("a\u{fffd}b"));
        assert_eq!(clean_text("Ünïcode".as_bytes(), 3).as_deref(), Some("Ün"));
    }
}
