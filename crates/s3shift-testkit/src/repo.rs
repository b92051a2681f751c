//! The repository's folders, the image fixtures, and the test venv's tools.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The folder of the package whose test is running: the `CARGO_MANIFEST_DIR` that cargo and nextest set when
/// they start the process, which is right even for a binary built in another checkout sharing the target
/// folder; else the compiled-in folder of this crate. Either is `crates/<name>`.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

/// The repository's root folder.
pub fn root() -> PathBuf {
    let dir = manifest_dir();
    dir.join("../..")
        .canonicalize()
        .unwrap_or_else(|_| dir.join("../.."))
}

/// `tests/fixtures/images`: the image corpus.
pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures/images")
}

/// The fixture corpus as `MANIFEST.tsv` lists it: relative path to expected status.
pub fn fixture_statuses() -> BTreeMap<String, String> {
    let path = fixtures().join("MANIFEST.tsv");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect()
}

/// A JPEG with EXIF from the corpus (`jpeg/exif-canon.jpg`, or any JPEG the manifest calls ok).
pub fn a_jpeg() -> Vec<u8> {
    std::fs::read(fixtures().join("jpeg/exif-canon.jpg"))
        .or_else(|_| {
            let m = fixture_statuses();
            let (p, _) = m
                .iter()
                .find(|(p, s)| p.starts_with("jpeg/") && *s == "ok")
                .expect("the corpus has an ok JPEG");
            std::fs::read(fixtures().join(p))
        })
        .unwrap()
}

/// A program of the test venv (`.venv/bin/NAME` at the repository root), which `./scripts/test` creates.
///
/// # Panics
/// When it is missing, with the commands that create it, instead of a failure deep inside the test.
pub fn venv_bin(name: &str) -> PathBuf {
    let bin = root().join(".venv/bin").join(name);
    assert!(
        bin.exists(),
        "{} is missing. The test venv is made by `./scripts/test` (or `./scripts/test rust`); to make only it: \
         `python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt`",
        bin.display()
    );
    bin
}
