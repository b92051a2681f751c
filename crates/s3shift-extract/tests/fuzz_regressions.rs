//! Inputs the fuzzer once crashed the extractor with (`scripts/fuzz` writes them to fuzz/artifacts/extract/;
//! each is kept here under a name that says what it broke). Every one must extract, whole and through the
//! growth protocol, to a record that keeps the table's guarantees.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_extract::{ExtractConfig, extract_bytes, extract_with};
use s3shift_testkit::repo::manifest_dir;

#[test]
fn every_past_fuzz_crash_extracts_cleanly() {
    let dir = manifest_dir().join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let whole = extract_bytes(&bytes);
        whole
            .check_guarantees()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let config = ExtractConfig {
            first_read_bytes: 64,
            ..ExtractConfig::default()
        };
        let grown = extract_with(bytes.len() as u64, &config, |r| {
            Ok::<_, std::io::Error>(bytes[r.start as usize..r.end as usize].to_vec())
        })
        .unwrap();
        grown
            .record
            .check_guarantees()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 1);
}
