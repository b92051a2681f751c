//! End-to-end throughput and peak memory of `s3shift run` through the embedded servers.
//!
//! `cargo bench -p s3shift-cli --bench pipeline -- [OBJECTS...]` (default: 10000 100000), or `scripts/bench-pipeline`.
//! For each size: starts the S3 and Data API stand-ins in this process, uploads that many objects (the fixture
//! corpus, cycled: every format, broken files included), migrates, then runs the release `s3shift` binary under
//! `/usr/bin/time` and prints a Markdown table: objects/s over the whole run (list, read, extract, stage, COPY,
//! merge, report), the run process's peak RSS, and the COPY statements issued. The stand-ins share the 2 cores
//! with the run, as they would on a laptop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use s3shift_local::LocalStack;
use s3shift_s3::{S3Store, StoreConfig};

use s3shift_testkit::repo::manifest_dir;
use s3shift_testkit::stack as support;

struct Row {
    objects: usize,
    seconds: f64,
    peak_rss_mib: f64,
    copies: u64,
    files: u64,
    gets: u64,
    bytes_read: u64,
    stages: String,
    replan_seconds: f64,
    replan_rss_mib: f64,
}

fn corpus() -> Vec<Bytes> {
    let root = manifest_dir().join("../../tests/fixtures/images");
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|p| Bytes::from(std::fs::read(root.join(p)).unwrap()))
        .collect()
}

async fn seed(store: &S3Store, n: usize, files: &[Bytes]) {
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let (store, body) = (store.clone(), files[i % files.len()].clone());
        let prefix = ["a", "b", "c", "d"][i % 4];
        tasks.spawn(async move {
            store
                .put(
                    "bench-uploads",
                    &format!("{prefix}/{i:08}.bin"),
                    body,
                    "application/octet-stream",
                )
                .await
                .unwrap();
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

async fn measure(n: usize, files: &[Bytes]) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let stack = LocalStack::in_dir(dir.path()).await.unwrap();
    let store = S3Store::new(stack.s3_client(), StoreConfig::default());
    store.ensure_bucket("bench-uploads").await.unwrap();
    store.ensure_bucket("bench-staging").await.unwrap();
    // The 7-day rule deploy/storage.yaml gives the ingestion buckets: runs refuse a source without one (it
    // bounds how far back the ledger is read).
    store.put_expiry_rule("bench-uploads", 7).await.unwrap();
    let t = Instant::now();
    seed(&store, n, files).await;
    eprintln!("seeded {n} objects in {:.1} s", t.elapsed().as_secs_f64());
    let job = dir.path().join("bench.toml");
    let limits = "concurrency = 64\nmax_objects_per_run = 10000000";
    let text = support::job_toml(
        &stack,
        "bench",
        "bench-uploads",
        "bench-staging",
        &["a/", "b/", "c/", "d/"],
        limits,
    );
    std::fs::write(&job, text).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_s3shift"));
    let run_as = |who: &str, args: Vec<String>| {
        let mut cmd = support::command_as(Path::new("/usr/bin/time"), &stack, who);
        cmd.arg("-f")
            .arg("S3SHIFT_BENCH_RSS_KB=%M")
            .arg(&bin)
            .args(&args)
            .arg(&job);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let run = |args: Vec<String>| run_as("loader", args);
    // Migrations run as the migrate task's identity, through the namespace's admin secret (deploy/'s migrate task).
    let admin = vec![
        "migrate".into(),
        "--admin-secret-arn".into(),
        s3shift_local::identity::ADMIN_SECRET_ARN.into(),
    ];
    let m = run_as("migrator", admin).await.unwrap();
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let t = Instant::now();
    let out = run(vec!["run".into(), "--json".into()]).await.unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 3)), "run failed: {stderr}");
    let rss_kb = peak_rss_kb(&stderr);
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects_loaded"].as_u64(), Some(n as u64), "{summary}");
    let st = &summary["stage_seconds"];
    let stages = format!(
        "plan {:.1} / extract+stage {:.1} / load {:.1}",
        st["plan"].as_f64().unwrap_or(0.0),
        st["extract"].as_f64().unwrap_or(0.0),
        st["load"].as_f64().unwrap_or(0.0)
    );
    // The next scheduled run's plan: all n objects listed again, all n in the ledger, nothing to read.
    let t = Instant::now();
    let again = run(vec!["run".into(), "--dry-run".into()]).await.unwrap();
    let replan_seconds = t.elapsed().as_secs_f64();
    let again_err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "dry run failed: {again_err}");
    let replan_rss_kb = peak_rss_kb(&again_err);
    stack.stop().await;
    Row {
        replan_seconds,
        replan_rss_mib: replan_rss_kb / 1024.0,
        objects: n,
        seconds,
        peak_rss_mib: rss_kb / 1024.0,
        copies: summary["copy_statements"].as_u64().unwrap_or(0),
        files: summary["files_staged"].as_u64().unwrap_or(0),
        gets: summary["get_requests"].as_u64().unwrap_or(0),
        bytes_read: summary["bytes_read"].as_u64().unwrap_or(0),
        stages,
    }
}

/// The peak RSS that `/usr/bin/time -f S3SHIFT_BENCH_RSS_KB=%M` printed.
fn peak_rss_kb(stderr: &str) -> f64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("S3SHIFT_BENCH_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let files = corpus();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for n in sizes {
        rows.push(rt.block_on(measure(n, &files)));
    }
    println!(
        "| objects | run wall s | objects/s | peak RSS of `s3shift run` | COPY statements | Parquet files | GETs | bytes read | seconds per stage | next plan (`--dry-run`, all in the ledger): s / peak RSS |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for r in rows {
        println!(
            "| {} | {:.1} | {:.0} | {:.0} MiB | {} | {} | {} | {} | {} | {:.1} s / {:.0} MiB |",
            r.objects,
            r.seconds,
            r.objects as f64 / r.seconds,
            r.peak_rss_mib,
            r.copies,
            r.files,
            r.gets,
            r.bytes_read,
            r.stages,
            r.replan_seconds,
            r.replan_rss_mib
        );
    }
}
