//! The ledger as a deployment ages (issue 26 item 1): the same bucket, the same 1,000 new uploads, and a ledger
//! (and curated table) of 1 million or 20 million rows. Does the next run cost the same?
//!
//! `cargo bench -p s3shift-cli --bench ledger -- [ROWS...]` (default: 1000000 20000000), or `scripts/bench
//! ledger ...`.
//!
//! For each size N: `s3shift.loaded_objects` and `s3shift.images` get N rows of one source, 50,000 a day (so
//! 1 million rows span 20 days and 20 million 400), written in the order Redshift's sort keys would keep them
//! (ascending `last_modified`), so DuckDB's zone maps prune as Redshift's do, with keys in no order of time
//! (`a/<md5>.jpg`, ETags likewise), so that only `last_modified` can prune. The bucket holds only the 1,000 new
//! objects (older ones expired under its 7-day rule). Then, measured: the next scan run (it reads the ledger
//! window, 7 days plus the margin, about 550,000 rows, loads the 1,000 and prunes the ledger to its window) and,
//! on a fresh copy of the same data, the next event run with 1,000 new objects (ledger lookups by key).
//!
//! Each run is the release `s3shift` binary under `/usr/bin/time` (wall time, peak RSS), and the stand-in writes
//! each statement's DuckDB profile (`EXPLAIN ANALYZE`, JSON): the table prints, per kind of statement, how many
//! ran, the rows their scans read and their time in the warehouse.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use s3shift_local::s3::FaultConfig;
use s3shift_testkit::Stack;
use s3shift_testkit::bench::{Measured, numbers_below, timed_run};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");
const NEW: usize = 1_000;
/// Rows a day in the seeded history.
const PER_DAY: u64 = 50_000;

/// Seeds `n` rows into the ledger and the curated table, oldest first, the newest an hour ago.
async fn seed(stack: &Stack, n: u64) {
    let t = Instant::now();
    let numbers = numbers_below(n);
    let newest = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let ms_per_row = 86_400_000 / PER_DAY;
    let rows = format!(
        "{numbers} SELECT n, 'a/' || MD5(CAST(n AS \
         VARCHAR)) || '.jpg' AS object_key, '\"' || MD5('e' || CAST(n AS VARCHAR)) || '\"' AS etag, CAST('{newest}' AS TIMESTAMPTZ) - CAST(CAST({n} - 1 - n \
         AS BIGINT) * {ms_per_row} / 1000 AS INTEGER) * INTERVAL '1 second' AS last_modified FROM i WHERE n < {n}"
    );
    stack
        .api
        .execute(
            &format!(
                "INSERT INTO s3shift.loaded_objects (source, bucket, object_key, version_id, etag, size_bytes, \
                 last_modified, expires_at, status, run_id, loaded_at) SELECT 'api', 'uploads', object_key, NULL, \
                 etag, 10, last_modified, NULL, 'ok', 'seed', last_modified FROM ({rows}) AS r ORDER BY n"
            ),
            &[],
        )
        .await
        .unwrap();
    stack
        .api
        .execute(
            &format!(
                "INSERT INTO s3shift.images (source, bucket, object_key, etag, size_bytes, last_modified, status, \
                 format, width, height, bytes_read, run_id, loaded_at) SELECT 'api', 'uploads', object_key, \
                 etag, 10, last_modified, 'ok', 'jpeg', 640, 480, 10, 'seed', last_modified FROM ({rows}) AS r \
                 ORDER BY n"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
        n as i64
    );
    eprintln!(
        "seeded {n} rows into the ledger and images in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// One statement's profile: what kind it is, the rows its scans read, its time.
struct Profiled {
    kind: &'static str,
    rows_scanned: u64,
    seconds: f64,
}

/// What a statement is, from its (translated) text.
fn kind(sql: &str) -> &'static str {
    let s = sql.to_ascii_lowercase();
    if s.contains("from s3shift.loaded_objects") && s.contains("group by") {
        "ledger: size the window by minute"
    } else if s.starts_with("select object_key, etag, version_id from s3shift.loaded_objects") {
        "ledger: read a window slice"
    } else if s.contains("object_key in (") {
        "ledger: look keys up (events)"
    } else if s.starts_with("delete from s3shift.images") {
        "load: delete replaced images"
    } else if s.starts_with("insert into s3shift.images") {
        "load: insert images"
    } else if s.starts_with("delete from s3shift.loaded_objects") && s.contains("s3shift_stage") {
        "load: delete replaced ledger rows"
    } else if s.starts_with("insert into s3shift.loaded_objects") {
        "load: insert ledger rows"
    } else if s.starts_with("delete from s3shift.loaded_objects") {
        "ledger: prune"
    } else {
        "other"
    }
}

fn rows_scanned(node: &serde_json::Value) -> u64 {
    node["operator_rows_scanned"].as_u64().unwrap_or(0)
        + node["children"]
            .as_array()
            .map_or(0, |c| c.iter().map(rows_scanned).sum())
}

/// The profiles the stand-in wrote into `dir` since `seen` were read.
fn profiles(dir: &Path, seen: &mut std::collections::HashSet<PathBuf>) -> Vec<Profiled> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        if !seen.insert(p.clone()) {
            continue;
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&p).unwrap()) else {
            continue;
        };
        let sql = json["query_name"].as_str().unwrap_or_default().trim().to_owned();
        out.push(Profiled {
            kind: kind(&sql),
            rows_scanned: rows_scanned(&json),
            seconds: json["latency"].as_f64().unwrap_or(0.0),
        });
    }
    out
}

struct Row {
    n: u64,
    mode: &'static str,
    m: Measured,
    statements: BTreeMap<&'static str, (u64, u64, f64)>,
}

async fn measure(n: u64, mode: &'static str) -> Row {
    // S3SHIFT_BENCH_PROFILES=<folder> keeps the profiles for reading (a subfolder per run), else a temporary one.
    let profile_dir = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("S3SHIFT_BENCH_PROFILES").map_or_else(
        || profile_dir.path().to_owned(),
        |d| PathBuf::from(d).join(format!("{n}-{mode}")),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let stack = Stack::start_with(
        BIN,
        "concurrency = 64\nmax_objects_per_run = 100000",
        FaultConfig::default(),
        |rs| rs.profile_dir = Some(dir.clone()),
    )
    .await;
    stack.migrate().await;
    seed(&stack, n).await;
    let job = if mode == "events" {
        stack.enable_events(5, "").await;
        stack.job.clone()
    } else {
        stack.job.clone()
    };
    // Keys in the same space as the history's (`a/<32 hex digits>.jpg`, in no order of time), as uploads named
    // by a hash or a UUID are: no zone map on object_key can skip the history.
    let keys = (0..NEW)
        .map(|i| {
            let h = |seed: u64| {
                let mut x = seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                x ^= x >> 33;
                x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
                x ^ (x >> 33)
            };
            format!("a/{:016x}{:016x}.jpg", h(1), h(2))
        })
        .collect();
    stack.put_distinct_jpegs(keys, 32).await;
    let mut seen = std::collections::HashSet::new();
    profiles(&dir, &mut seen);
    let m = timed_run(&stack, BIN, &job).await;
    assert_eq!(m.summary["objects_loaded"], NEW, "{}", m.summary);
    let mut statements: BTreeMap<&'static str, (u64, u64, f64)> = BTreeMap::new();
    for p in profiles(&dir, &mut seen) {
        let e = statements.entry(p.kind).or_default();
        e.0 += 1;
        e.1 += p.rows_scanned;
        e.2 += p.seconds;
    }
    statements.remove("other");
    Row {
        n,
        mode,
        m,
        statements,
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000_000, 20_000_000]
    } else {
        sizes
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| ledger and images rows | next run | wall s | peak RSS | Data API statements | statement | count | rows scanned | warehouse ms |"
    );
    println!("|---:|---|---:|---:|---:|---|---:|---:|---:|");
    let runs = sizes
        .iter()
        .flat_map(|n| ["scan", "events"].map(|mode| (*n, mode)));
    for (n, mode) in runs {
        // Each row as soon as it is measured: a long run keeps what it has.
        let r = rt.block_on(measure(n, mode));
        let mut first = true;
        for (kind, (count, scanned, secs)) in &r.statements {
            if first {
                println!(
                    "| {} | {} | {:.2} | {:.0} MiB | {} | {kind} | {count} | {scanned} | {:.1} |",
                    r.n,
                    r.mode,
                    r.m.seconds,
                    r.m.rss_mib,
                    r.m.summary["data_api_statements"],
                    secs * 1000.0
                );
                first = false;
            } else {
                println!(
                    "| | | | | | {kind} | {count} | {scanned} | {:.1} |",
                    secs * 1000.0
                );
            }
        }
    }
}
