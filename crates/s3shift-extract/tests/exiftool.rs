//! Field-by-field comparison with exiftool (`exiftool -json -n`), the outside judge, over the whole corpus:
//! once reading each file whole and once through the growth protocol from the default 128 KiB prefix.
//!
//! Where we disagree with exiftool on purpose, [`deliberate`] says why; every other disagreement fails the test.
//! The test prints the accuracy per format. It needs exiftool on the PATH (`./scripts/test` installs it); set
//! `S3SHIFT_SKIP_EXIFTOOL=1` to skip it knowingly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::process::Command;

use s3shift_extract::{ExtractConfig, ImageRecord, extract_bytes, extract_with};
use serde_json::Value;

/// A value either side may report for a field.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Num(f64),
    Text(String),
}

fn text(v: &Value) -> Option<V> {
    match v {
        Value::String(s) => Some(V::Text(s.trim().to_owned())),
        Value::Number(n) => Some(V::Text(n.to_string())),
        _ => None,
    }
}

fn num(v: &Value) -> Option<V> {
    match v {
        Value::Number(n) => n.as_f64().map(V::Num),
        // Lists like BitsPerSample "8 8 8": the first value.
        Value::String(s) => s
            .split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .map(V::Num),
        _ => None,
    }
}

fn same(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Num(x), V::Num(y)) => (x - y).abs() <= 1e-4_f64.max(y.abs() * 1e-6),
        (V::Text(x), V::Text(y)) => x == y,
        _ => false,
    }
}

/// Our fields and exiftool's, side by side: (field, ours, theirs).
fn pairs(rec: &ImageRecord, ex: &HashMap<String, Value>) -> Vec<(&'static str, Option<V>, Option<V>)> {
    let get = |k: &str| ex.get(k);
    let n = |v: Option<f64>| v.map(V::Num);
    let t = |v: &Option<String>| v.as_ref().map(|s| V::Text(s.clone()));
    let depth_tag = get("BitsPerSample")
        .or_else(|| get("BitDepth"))
        .or_else(|| get("BitsPerPixel"));
    let animated_theirs = get("FrameCount")
        .or_else(|| get("AnimationFrames"))
        .and_then(Value::as_f64)
        .map(|frames| V::Text((frames > 1.0).to_string()));
    let subsec = get("SubSecTimeOriginal").and_then(text).and_then(|v| match v {
        V::Text(s) => format!("0.{s}").parse::<f64>().ok().map(V::Num),
        V::Num(_) => None,
    });
    vec![
        ("mime_type", t(&rec.mime_type), get("MIMEType").and_then(text)),
        (
            "width",
            n(rec.width.map(f64::from)),
            get("ImageWidth").and_then(num),
        ),
        (
            "height",
            n(rec.height.map(f64::from)),
            get("ImageHeight").and_then(num),
        ),
        (
            "orientation",
            n(rec.orientation.map(f64::from)),
            get("Orientation").and_then(num),
        ),
        (
            "bit_depth",
            n(rec.bit_depth.map(f64::from)),
            depth_tag.and_then(num),
        ),
        (
            "animated",
            animated_theirs
                .as_ref()
                .and(rec.animated.map(|a| V::Text(a.to_string()))),
            animated_theirs,
        ),
        ("camera_make", t(&rec.camera_make), get("Make").and_then(text)),
        ("camera_model", t(&rec.camera_model), get("Model").and_then(text)),
        ("lens_model", t(&rec.lens_model), get("LensModel").and_then(text)),
        ("software", t(&rec.software), get("Software").and_then(text)),
        (
            "taken_at_local",
            rec.taken_at_local
                .map(|d| V::Text(d.format("%Y:%m:%d %H:%M:%S").to_string())),
            get("DateTimeOriginal").and_then(text),
        ),
        (
            "taken_at_subsec",
            rec.taken_at_local.filter(|_| subsec.is_some()).map(|d| {
                use chrono::Timelike;
                V::Num(f64::from(d.nanosecond()) / 1e9)
            }),
            subsec,
        ),
        (
            "taken_at_offset",
            t(&rec.taken_at_offset),
            get("OffsetTimeOriginal").and_then(text),
        ),
        (
            "gps_latitude",
            n(rec.gps_latitude),
            get("GPSLatitude").and_then(num),
        ),
        (
            "gps_longitude",
            n(rec.gps_longitude),
            get("GPSLongitude").and_then(num),
        ),
        (
            "gps_altitude_m",
            n(rec.gps_altitude_m),
            get("GPSAltitude").and_then(num),
        ),
        (
            "exposure_time_s",
            n(rec.exposure_time_s),
            get("ExposureTime").and_then(num),
        ),
        ("f_number", n(rec.f_number), get("FNumber").and_then(num)),
        ("iso", n(rec.iso.map(f64::from)), get("ISO").and_then(num)),
        (
            "focal_length_mm",
            n(rec.focal_length_mm),
            get("FocalLength").and_then(num),
        ),
    ]
}

/// Fields that describe the container rather than EXIF: exiftool does not report them for every format (bit
/// depth of WebP or HEIF, for one), so they are compared only where it does.
const STRUCTURAL: &[&str] = &["mime_type", "bit_depth", "animated"];

/// Disagreements we keep on purpose: (fixture path prefix, field) and why.
fn deliberate(rel: &str, field: &str, ours: &Option<V>, theirs: &Option<V>) -> Option<&'static str> {
    let folder = rel.split('/').next().unwrap_or_default();
    let text = |v: &Option<V>| match v {
        Some(V::Text(s)) => s.clone(),
        _ => String::new(),
    };
    match (folder, field) {
        (_, "taken_at_local") if text(theirs).starts_with("0000") && ours.is_none() => {
            Some("a zero date is no date: we store NULL, exiftool prints it as written")
        }
        (_, "camera_make" | "camera_model" | "lens_model" | "software")
            if !text(ours).is_empty() && text(theirs).starts_with(&text(ours)) =>
        {
            Some("text is cut to its column's VARCHAR byte length; exiftool prints it whole")
        }
        ("bmp", "bit_depth") => {
            Some("exiftool's BitDepth is bits per pixel; ours is bits per sample (8 for 24/32-bit)")
        }
        ("bmp", "height") if rel.contains("os2-v2") => Some(
            "exiftool 12.57 reads the OS/2 2.x (64-byte) BMP header's height as 0; the header says otherwise",
        ),
        ("tiff", "mime_type") if text(theirs) == "image/x-tiff-big" => {
            Some("BigTIFF has no MIME type of its own; we say image/tiff as servers do")
        }
        ("avif", "mime_type") if text(theirs) == "video/mp4" => Some(
            "an AVIF image sequence (avis brand) is image/avif by the AVIF spec; exiftool says video/mp4",
        ),
        _ => None,
    }
}

fn exiftool_json() -> Option<HashMap<String, HashMap<String, Value>>> {
    if std::env::var_os("S3SHIFT_SKIP_EXIFTOOL").is_some() {
        return None;
    }
    let dir = support::fixtures_dir();
    let out = Command::new("exiftool")
        .args(["-json", "-n", "-r", "-q", "-q", "-m", "."])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("exiftool is needed (./scripts/test installs it; S3SHIFT_SKIP_EXIFTOOL=1 skips): {e}")
        });
    let list: Vec<HashMap<String, Value>> =
        serde_json::from_slice(&out.stdout).expect("exiftool printed JSON");
    Some(
        list.into_iter()
            .filter_map(|m| {
                let src = m.get("SourceFile")?.as_str()?.trim_start_matches("./").to_owned();
                Some((src, m))
            })
            .collect(),
    )
}

#[derive(Default)]
struct Tally {
    compared: u64,
    matched: u64,
    deliberate: u64,
}

#[test]
fn fields_agree_with_exiftool() {
    let Some(judge) = exiftool_json() else {
        eprintln!("S3SHIFT_SKIP_EXIFTOOL is set: exiftool comparison skipped");
        return;
    };
    let config = ExtractConfig::default();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut deliberate_seen: BTreeMap<String, u64> = BTreeMap::new();
    for f in support::fixtures() {
        if f.expected != "ok" {
            continue;
        }
        let Some(ex) = judge.get(&f.rel) else {
            failures.push(format!("{}: exiftool printed nothing for it", f.rel));
            continue;
        };
        let data = support::read(&f);
        let whole = extract_bytes(&data);
        let grown = extract_with(data.len() as u64, &config, |r| {
            Ok::<_, ()>(data[r.start as usize..r.end as usize].to_vec())
        })
        .unwrap()
        .record;
        for (mode, rec) in [("whole", &whole), ("prefix", &grown)] {
            let tally = tallies
                .entry(format!("{:<6} {mode}", support::folder(&f)))
                .or_default();
            for (field, ours, theirs) in pairs(rec, ex) {
                if (ours.is_none() && theirs.is_none()) || (theirs.is_none() && STRUCTURAL.contains(&field)) {
                    continue;
                }
                tally.compared += 1;
                let agree = match (&ours, &theirs) {
                    (Some(a), Some(b)) => same(a, b),
                    _ => false,
                };
                if agree {
                    tally.matched += 1;
                } else if let Some(why) = deliberate(&f.rel, field, &ours, &theirs) {
                    tally.deliberate += 1;
                    *deliberate_seen.entry(format!("{field}: {why}")).or_default() += 1;
                } else {
                    failures.push(format!(
                        "{} [{mode}] {field}: ours {ours:?}, exiftool {theirs:?}",
                        f.rel
                    ));
                }
            }
        }
    }
    println!("format/mode     fields  match  deliberate  accuracy");
    for (k, t) in &tallies {
        let acc = if t.compared > 0 {
            100.0 * t.matched as f64 / t.compared as f64
        } else {
            100.0
        };
        println!(
            "{k:<14} {:>6} {:>6} {:>11} {:>8.1}%",
            t.compared, t.matched, t.deliberate, acc
        );
    }
    for (why, count) in &deliberate_seen {
        println!("deliberate x{count}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreements with exiftool:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
