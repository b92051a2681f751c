//! Extractor throughput from in-memory prefixes, per format, on the fixture corpus: one core, no IO.
//!
//! `cargo bench -p s3shift-extract --bench extract` prints a table: files, mean prefix bytes, reads per file under
//! the growth protocol, nanoseconds and files per second per core. Each format runs for at least
//! `S3SHIFT_BENCH_SECONDS` (default 1) seconds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_testkit::repo::manifest_dir;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use s3shift_extract::{ExtractConfig, Step, extract_prefix, extract_with};

struct Set {
    prefixes: Vec<(Vec<u8>, u64)>,
    reads: u64,
}

fn main() {
    let dir = manifest_dir().join("../../tests/fixtures/images");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("fixtures manifest");
    let config = ExtractConfig::default();
    let min = Duration::from_secs_f64(
        std::env::var("S3SHIFT_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0),
    );
    let mut sets: BTreeMap<String, Set> = BTreeMap::new();
    for line in manifest.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(rel), Some(status)) = (cols.next(), cols.next()) else {
            continue;
        };
        let data = std::fs::read(dir.join(rel)).unwrap();
        let prefix = data[..data.len().min(config.first_read_bytes as usize)].to_vec();
        let reads = extract_with(data.len() as u64, &config, |r| {
            Ok::<_, ()>(data[r.start as usize..r.end as usize].to_vec())
        })
        .unwrap()
        .reads;
        let has_exif = {
            let rec = s3shift_extract::extract_bytes(&data);
            rec.camera_make.is_some() || rec.taken_at_local.is_some() || rec.gps_latitude.is_some()
        };
        let folder = rel.split('/').next().unwrap_or_default().to_owned();
        let mut keys = vec![folder, "all".to_owned()];
        if status == "ok" && has_exif {
            keys.push("with-exif".to_owned());
        }
        for key in keys {
            let set = sets.entry(key).or_insert(Set {
                prefixes: Vec::new(),
                reads: 0,
            });
            set.prefixes.push((prefix.clone(), data.len() as u64));
            set.reads += u64::from(reads);
        }
    }
    println!("| set | files | mean prefix bytes | reads/file | ns/file | files/s/core |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, set) in &sets {
        let n = set.prefixes.len() as u64;
        let mean_prefix = set.prefixes.iter().map(|(p, _)| p.len() as u64).sum::<u64>() / n.max(1);
        let mut done = 0u64;
        let started = Instant::now();
        while started.elapsed() < min {
            for (prefix, size) in &set.prefixes {
                match extract_prefix(black_box(prefix), *size, &config) {
                    Step::Done(rec) => {
                        black_box(rec);
                    }
                    Step::Need(r) => {
                        black_box(r);
                    }
                }
            }
            done += n;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "| {name} | {n} | {mean_prefix} | {:.3} | {:.0} | {:.0} |",
            set.reads as f64 / n as f64,
            secs * 1e9 / done as f64,
            done as f64 / secs
        );
    }
}
