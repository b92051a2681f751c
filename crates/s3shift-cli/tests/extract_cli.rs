//! `s3shift extract` as a user runs it: the real binary over the fixture corpus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_testkit::repo::manifest_dir;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    manifest_dir().join("../../tests/fixtures/images")
}

fn s3shift(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args(args)
        .output()
        .expect("the s3shift binary runs")
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn file_count(dir: &PathBuf) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        n += if p.is_dir() { file_count(&p) } else { 1 };
    }
    n
}

#[test]
fn a_directory_gives_one_line_per_file_and_exit_3_for_broken_files() {
    let dir = fixtures();
    let out = s3shift(&["extract", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = lines(&out);
    assert_eq!(rows.len(), file_count(&dir));
    for r in &rows {
        assert!(
            r["path"].is_string() && r["status"].is_string() && r["bytes_read"].is_u64(),
            "{r}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{} files", rows.len())) && stderr.contains("corrupt="),
        "{stderr}"
    );
}

#[test]
fn good_files_exit_0_with_every_field() {
    let jpeg = fixtures().join("jpeg");
    let out = s3shift(&["extract", jpeg.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = lines(&out);
    let first = rows.first().expect("one row at least");
    for field in [
        "format",
        "width",
        "height",
        "display_width",
        "orientation",
        "camera_make",
        "taken_at_utc",
    ] {
        assert!(first.get(field).is_some(), "{field} missing from {first}");
    }
}

#[test]
fn prefix_mode_reads_less_than_the_whole_of_large_files() {
    let dir = fixtures();
    let out = s3shift(&["extract", "--prefix-bytes", "131072", dir.to_str().unwrap()]);
    let rows = lines(&out);
    let large: Vec<&Value> = rows
        .iter()
        .filter(|r| r["size_bytes"].as_u64().unwrap() > 140_000)
        .collect();
    assert!(!large.is_empty());
    for r in large {
        if r["status"] == "ok" {
            assert!(
                r["bytes_read"].as_u64().unwrap() < r["size_bytes"].as_u64().unwrap(),
                "{r}"
            );
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reads/file"), "{stderr}");
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let out = s3shift(&["extract", "/no/such/image.jpg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/image.jpg"));
}

#[test]
fn bad_usage_exits_2() {
    let out = s3shift(&["extract", "--prefix-bytes", "0", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = s3shift(&["extract"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unknown_log_format_is_refused_before_anything_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args(["extract", fixtures().to_str().unwrap()])
        .env("S3SHIFT_LOG_FORMAT", "JSON")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing was extracted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("S3SHIFT_LOG_FORMAT=\"JSON\" is not a log format: use json or text"),
        "{err}"
    );
}
