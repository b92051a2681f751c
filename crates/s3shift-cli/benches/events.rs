//! Scan mode against event mode, and `--follow`'s upload-to-queryable latency, through the embedded servers.
//!
//! `cargo bench -p s3shift-cli --bench events -- [OBJECTS...] [--follow UPLOADS SECONDS]` (defaults: 10000
//! 1000000, and --follow 10000 180), or `scripts/bench events ...`.
//!
//! Part 1, for each size N: a bucket holding N objects already loaded (zero-byte files written straight into the
//! S3 stand-in's folder, and N matching ledger rows inserted through the Data API), then 1,000 new uploads and
//! the next run in scan mode (a job without `[source.events]`: lists N + 1,000 keys, reads the ledger window),
//! then 1,000 more uploads and the next run in event mode (the same job with the bucket notifying its queue).
//! Each run is the release `s3shift` binary under `/usr/bin/time`: wall time, peak RSS, Data API statements, LIST
//! and ReceiveMessage calls, in one Markdown table.
//!
//! Part 2: `s3shift run --follow` (max_latency_seconds = 60) while UPLOADS images are uploaded at an even pace
//! over SECONDS; the warehouse is polled every 250 ms, and each object's latency is from the end of its upload
//! to the first poll that sees its row. Prints p50, p99 and max.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use s3shift_testkit::bench::{Measured, numbers_below, timed_run};
use s3shift_testkit::{Stack, repo};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");
const NEW: usize = 1_000;
/// ETag of the empty body (the seeded, already-loaded objects).
const EMPTY_ETAG: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// N zero-byte objects under a/ and b/ straight into the stand-in's folder, and their ledger rows.
async fn seed_loaded(stack: &Stack, n: usize) {
    let t = Instant::now();
    let root = stack.dir.path().join("s3/buckets/uploads");
    for i in 0..n {
        let key = format!("{}/{:04}/{i:08}.jpg", ["a", "b"][i % 2], i / 1000);
        let path = root.join(&key);
        if i % 1000 < 2 {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        }
        std::fs::File::create(&path).unwrap();
    }
    let files_s = t.elapsed().as_secs_f64();
    // The ledger rows in one statement: 0..n from a cross join of digit tables (Redshift has no row generator
    // on compute nodes), keys built as above.
    let t = Instant::now();
    let numbers = numbers_below(n as u64);
    let sql = format!(
        "INSERT INTO s3shift.loaded_objects (source, bucket, object_key, version_id, etag, size_bytes, last_modified, \
         expires_at, status, run_id, loaded_at) \
         {numbers} \
         SELECT 'api', 'uploads', CASE WHEN n % 2 = 0 THEN 'a' ELSE 'b' END || '/' || LPAD(CAST(n / 1000 AS VARCHAR), 4, '0') \
         || '/' || LPAD(CAST(n AS VARCHAR), 8, '0') || '.jpg', NULL, '{EMPTY_ETAG}', 0, \
         CAST('2026-12-01 00:00:00+00' AS TIMESTAMPTZ), NULL, 'empty', 'seed', CAST('2026-12-01 00:00:00+00' AS TIMESTAMPTZ) \
         FROM i WHERE n < {n}"
    );
    stack.api.execute(&sql, &[]).await.unwrap();
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
        n as i64,
        "ledger rows seeded"
    );
    eprintln!(
        "seeded {n} loaded objects: files {files_s:.1} s, ledger rows {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

async fn upload_new(stack: &Stack, tag: &str, n: usize) {
    let keys = (0..n).map(|i| format!("a/new/{tag}-{i:05}.jpg")).collect();
    stack.put_distinct_jpegs(keys, 32).await;
}

struct Row {
    n: usize,
    mode: &'static str,
    m: Measured,
}

async fn compare(n: usize) -> Vec<Row> {
    let stack = Stack::start(BIN, "concurrency = 64\nmax_objects_per_run = 10000000").await;
    stack.migrate().await;
    seed_loaded(&stack, n).await;
    let scan_job = stack.dir.path().join("scan.toml");
    std::fs::copy(&stack.job, &scan_job).unwrap();
    // Scan mode: 1,000 new objects among N loaded ones.
    upload_new(&stack, "s", NEW).await;
    let scan = timed_run(&stack, BIN, &scan_job).await;
    assert_eq!(scan.summary["objects_loaded"], NEW, "{}", scan.summary);
    // Event mode: the bucket notifies the queue from now on; 1,000 more.
    stack.enable_events(5, "").await;
    upload_new(&stack, "e", NEW).await;
    let events = timed_run(&stack, BIN, &stack.job).await;
    assert_eq!(events.summary["objects_loaded"], NEW, "{}", events.summary);
    vec![
        Row {
            n,
            mode: "scan",
            m: scan,
        },
        Row {
            n,
            mode: "events",
            m: events,
        },
    ]
}

async fn follow(uploads: usize, seconds: u64) -> (usize, f64, f64, f64, f64) {
    let stack = Stack::start(BIN, "concurrency = 64").await;
    stack.migrate().await;
    stack
        .enable_events(
            5,
            "max_latency_seconds = 60\nvisibility_timeout_seconds = 900\nmax_batch = 5000",
        )
        .await;
    let mut cmd = stack.command(&["run", "--follow", "--json"]);
    cmd.stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let uploaded: std::sync::Arc<std::sync::Mutex<HashMap<String, Instant>>> = Default::default();
    let producer = {
        let (store, uploaded) = (stack.store.clone(), uploaded.clone());
        let jpeg = repo::a_jpeg();
        tokio::spawn(async move {
            let start = Instant::now();
            let gap = Duration::from_secs(seconds).as_secs_f64() / uploads as f64;
            for i in 0..uploads {
                let due = start + Duration::from_secs_f64(gap * i as f64);
                tokio::time::sleep_until(due.into()).await;
                let key = format!("a/follow/{i:06}.jpg");
                let mut body = jpeg.clone();
                body.extend_from_slice(format!("{i}").as_bytes());
                store
                    .put("uploads", &key, bytes::Bytes::from(body), "image/jpeg")
                    .await
                    .unwrap();
                uploaded.lock().unwrap().insert(key, Instant::now());
            }
        })
    };
    let mut latencies = Vec::with_capacity(uploads);
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(seconds + 300);
    while seen.len() < uploads && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let rows = stack
            .query("SELECT object_key FROM s3shift.images WHERE object_key LIKE 'a/follow/%'")
            .await;
        let now = Instant::now();
        let up = uploaded.lock().unwrap();
        for r in rows {
            let key = r[0].as_str().unwrap().to_owned();
            if !seen.contains(&key)
                && let Some(t) = up.get(&key)
            {
                latencies.push(now.duration_since(*t).as_secs_f64());
                seen.insert(key);
            }
        }
    }
    producer.await.unwrap();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    (
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1],
        seconds as f64,
    )
}

fn main() {
    // cargo bench passes `--bench`: only `--follow` is ours among the flags.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a == "--follow" || !a.starts_with("--"))
        .collect();
    let follow_at = args.iter().position(|a| a == "--follow");
    let sizes: Vec<usize> = args[..follow_at.unwrap_or(args.len())]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() && follow_at.is_none() {
        vec![10_000, 1_000_000]
    } else {
        sizes
    };
    let (uploads, seconds) = match follow_at {
        Some(i) => (
            args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(10_000),
            args.get(i + 2).and_then(|v| v.parse().ok()).unwrap_or(180),
        ),
        None => (10_000, 180),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if !sizes.is_empty() {
        let mut rows = Vec::new();
        for n in sizes {
            rows.extend(rt.block_on(compare(n)));
        }
        println!(
            "| objects loaded in the bucket | mode | next run wall s | peak RSS | Data API statements | LIST requests | ReceiveMessage calls | seconds per stage (plan / extract+stage / load) |"
        );
        println!("|---:|---|---:|---:|---:|---:|---:|---|");
        for r in rows {
            let s = &r.m.summary;
            let st = &s["stage_seconds"];
            println!(
                "| {} | {} | {:.2} | {:.0} MiB | {} | {} | {} | {:.2} / {:.2} / {:.2} |",
                r.n,
                r.mode,
                r.m.seconds,
                r.m.rss_mib,
                s["data_api_statements"],
                s["list_requests"],
                s["events"]["receive_requests"].as_u64().unwrap_or(0),
                st["plan"].as_f64().unwrap_or(0.0),
                st["extract"].as_f64().unwrap_or(0.0),
                st["load"].as_f64().unwrap_or(0.0),
            );
        }
    }
    if follow_at.is_some() || args.is_empty() {
        let (n, p50, p99, max, secs) = rt.block_on(follow(uploads, seconds));
        println!();
        println!("| `--follow`, max_latency 60 s | uploads | over s | p50 s | p99 s | max s |");
        println!("|---|---:|---:|---:|---:|---:|");
        println!("| upload to queryable | {n} | {secs:.0} | {p50:.1} | {p99:.1} | {max:.1} |");
    }
}
