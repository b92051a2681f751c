//! Fuzz target: the metadata parsers (XMP, extended XMP, IPTC IIM, Photoshop resources with the IPTC digest,
//! ICC, C2PA stores, the markup scan) fed directly, the first byte choosing which, so the fuzzer need not build
//! a container around them. Whatever they find must land in a record that keeps every guarantee of
//! `ImageRecord`, without panicking; a second pass over the same bytes must give the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3shift_extract::fuzzing::{Part, metadata};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let part = Part::from_byte(which);
    let (rec, _warnings) = metadata(part, body);
    if let Err(broken) = rec.check_guarantees() {
        panic!("{part:?}: record breaks its guarantees: {broken}: {rec:?}");
    }
    // Keywords are whole values, none empty, none repeated.
    for (n, k) in rec.keywords.iter().enumerate() {
        assert!(!k.trim().is_empty(), "{part:?}: empty keyword");
        assert!(!rec.keywords[..n].contains(k), "{part:?}: keyword {k:?} twice");
    }
    assert_eq!(metadata(part, body).0, rec, "{part:?}: not deterministic");
});
