//! Ranged GETs per second against the S3 stand-in, with the real aws-sdk-s3 client, in one process (as the
//! pipeline and `s3shift demo` run it: client and server share the machine's cores).
//!
//! `cargo bench -p s3shift-local --bench s3_ranged_get` prints a table: concurrency, range size, GETs/s, MiB/s,
//! p50 and p99 latency. 400 objects of 1 MiB; each request reads a random 64 KiB range (and, for comparison, the
//! first 128 KiB as the extractor's first read does). Each row runs for `S3SHIFT_BENCH_SECONDS` (default 5).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, LocalS3Config, LocalS3Server};

const OBJECTS: usize = 400;
const OBJECT_BYTES: usize = 1024 * 1024;

fn client(server: &LocalS3Server) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint_url())
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            DEFAULT_ACCESS_KEY,
            DEFAULT_SECRET_KEY,
            None,
            None,
            "bench",
        ))
        .build();
    Client::from_conf(config)
}

async fn run(
    c: &Client,
    concurrency: usize,
    range_bytes: usize,
    random: bool,
    secs: f64,
) -> (u64, Vec<Duration>, f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t as u64;
            while Instant::now() < deadline {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let key = format!("obj-{:04}.jpg", x as usize % OBJECTS);
                let start = if random {
                    (x >> 20) as usize % (OBJECT_BYTES - range_bytes)
                } else {
                    0
                };
                let range = format!("bytes={}-{}", start, start + range_bytes - 1);
                let t0 = Instant::now();
                let out = c
                    .get_object()
                    .bucket("bench")
                    .key(key)
                    .range(range)
                    .send()
                    .await
                    .unwrap();
                let body = out.body.collect().await.unwrap().into_bytes();
                assert_eq!(body.len(), range_bytes);
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as u64, all, elapsed)
}

fn main() {
    let secs: f64 = std::env::var("S3SHIFT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let server = LocalS3Server::start(LocalS3Config::new(dir.path()))
            .await
            .unwrap();
        let c = client(&server);
        c.create_bucket().bucket("bench").send().await.unwrap();
        let data: Arc<Vec<u8>> = Arc::new((0..OBJECT_BYTES).map(|i| (i * 31 % 251) as u8).collect());
        for i in 0..OBJECTS {
            let body = ByteStream::from(data.as_ref().clone());
            c.put_object()
                .bucket("bench")
                .key(format!("obj-{i:04}.jpg"))
                .body(body)
                .send()
                .await
                .unwrap();
        }
        // Warm the page cache and the connection pool.
        run(&c, 64, 65536, true, 1.0).await;
        println!("| clients | range | GETs/s | MiB/s | p50 ms | p99 ms |");
        println!("|---:|---|---:|---:|---:|---:|");
        for (concurrency, range, random, label) in [
            (64, 65536, true, "64 KiB at a random offset"),
            (64, 131072, false, "first 128 KiB"),
            (16, 65536, true, "64 KiB at a random offset"),
            (1, 65536, true, "64 KiB at a random offset"),
        ] {
            let (n, lat, elapsed) = run(&c, concurrency, range, random, secs).await;
            let pct = |p: f64| {
                lat.get(((lat.len() as f64 - 1.0) * p) as usize)
                    .map_or(0.0, |d| d.as_secs_f64() * 1e3)
            };
            println!(
                "| {concurrency} | {label} | {:.0} | {:.0} | {:.2} | {:.2} |",
                n as f64 / elapsed,
                n as f64 * range as f64 / elapsed / 1048576.0,
                pct(0.5),
                pct(0.99)
            );
        }
    });
}
