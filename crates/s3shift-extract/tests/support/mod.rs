//! Shared by the corpus tests: where the fixtures are and what MANIFEST.tsv says of each.

#![allow(dead_code)]

pub use s3shift_testkit::repo::manifest_dir;
use std::path::PathBuf;

/// One row of `tests/fixtures/images/MANIFEST.tsv`.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Path relative to the fixtures folder.
    pub rel: String,
    /// Absolute path.
    pub path: PathBuf,
    /// Expected status (`ok`, `corrupt`, ...).
    pub expected: String,
    /// What the file covers.
    pub covers: String,
}

/// The fixtures folder.
pub fn fixtures_dir() -> PathBuf {
    manifest_dir().join("../../tests/fixtures/images")
}

/// Every fixture listed in the manifest. Fails when the manifest is missing or names a missing file, so a
/// broken corpus can never make the tests pass vacuously.
pub fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let manifest = dir.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(rel), Some(expected)) = (cols.next(), cols.next()) else {
            panic!(
                "{}:{}: expected path<TAB>status<TAB>covers",
                manifest.display(),
                n + 1
            );
        };
        let path = dir.join(rel);
        assert!(
            path.is_file(),
            "{}:{}: {} does not exist",
            manifest.display(),
            n + 1,
            path.display()
        );
        out.push(Fixture {
            rel: rel.to_owned(),
            path,
            expected: expected.to_owned(),
            covers: cols.next().unwrap_or_default().to_owned(),
        });
    }
    assert!(out.len() >= 50, "the corpus holds only {} files", out.len());
    out
}

/// The file's bytes.
pub fn read(f: &Fixture) -> Vec<u8> {
    std::fs::read(&f.path).unwrap_or_else(|e| panic!("reading {}: {e}", f.path.display()))
}

/// The format folder of a fixture (`jpeg`, `broken`, ...).
pub fn folder(f: &Fixture) -> &str {
    f.rel.split('/').next().unwrap_or_default()
}
