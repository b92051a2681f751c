//! ExecuteStatement → FINISHED round trips per second against the Data API stand-in, with the real
//! aws-sdk-redshiftdata client in the same process: execute `SELECT 1`, poll DescribeStatement every
//! millisecond until FINISHED.
//!
//! `cargo bench -p s3shift-local --bench redshift_roundtrip` prints a table per step delay (the time the
//! stand-in holds each statement in SUBMITTED and PICKED; 2 ms by default) and client count. Each row runs for
//! `S3SHIFT_BENCH_SECONDS` (default 5).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use aws_sdk_redshiftdata::types::StatusString;
use s3shift_local::redshift::{LocalRedshiftConfig, LocalRedshiftServer};
use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

fn client(server: &LocalRedshiftServer) -> aws_sdk_redshiftdata::Client {
    let creds = aws_sdk_redshiftdata::config::Credentials::new(
        DEFAULT_ACCESS_KEY,
        DEFAULT_SECRET_KEY,
        None,
        None,
        "bench",
    );
    aws_sdk_redshiftdata::Client::from_conf(
        aws_sdk_redshiftdata::Config::builder()
            .behavior_version(aws_sdk_redshiftdata::config::BehaviorVersion::latest())
            .region(aws_sdk_redshiftdata::config::Region::new("us-east-1"))
            .endpoint_url(server.endpoint_url())
            .credentials_provider(creds)
            .build(),
    )
}

async fn round_trips(
    c: &aws_sdk_redshiftdata::Client,
    clients: usize,
    secs: f64,
) -> (usize, Vec<Duration>, f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let out = c
                    .execute_statement()
                    .workgroup_name("local")
                    .database("dev")
                    .sql("SELECT 1")
                    .send()
                    .await
                    .unwrap();
                loop {
                    let d = c.describe_statement().id(out.id().unwrap()).send().await.unwrap();
                    match d.status() {
                        Some(StatusString::Finished) => break,
                        Some(StatusString::Failed | StatusString::Aborted) => panic!("{:?}", d.error()),
                        _ => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    (all.len(), all, started.elapsed().as_secs_f64())
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
        println!("| step delay | clients | round trips/s | p50 ms | p99 ms |");
        println!("|---:|---:|---:|---:|---:|");
        for delay_ms in [2u64, 0] {
            let dir = tempfile::tempdir().unwrap();
            let mut config = LocalRedshiftConfig::new(dir.path().join("bench.duckdb"));
            config.step_delay = Duration::from_millis(delay_ms);
            let server = LocalRedshiftServer::start(config).await.unwrap();
            let c = client(&server);
            round_trips(&c, 4, 0.5).await;
            for clients in [1, 8, 32] {
                let (n, lat, elapsed) = round_trips(&c, clients, secs).await;
                let pct = |p: f64| {
                    lat.get(((lat.len() as f64 - 1.0) * p) as usize)
                        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
                };
                println!(
                    "| {delay_ms} ms | {clients} | {:.0} | {:.2} | {:.2} |",
                    n as f64 / elapsed,
                    pct(0.5),
                    pct(0.99)
                );
            }
            server.stop().await;
        }
    });
}
