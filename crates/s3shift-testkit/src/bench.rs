//! A run of the `s3shift` binary as the benchmarks measure it: under `/usr/bin/time`, as the loader identity,
//! with `--json`, its wall time, peak RSS and summary.

use std::path::Path;
use std::time::Instant;

use crate::Stack;

/// What one measured run took and reported.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Wall time of the process, seconds.
    pub seconds: f64,
    /// Its peak resident set, MiB (`/usr/bin/time`'s `%M`).
    pub rss_mib: f64,
    /// The run's summary (the last line of its `--json` output).
    pub summary: serde_json::Value,
}

/// Runs `bin run --json <job>` against `stack` as the loader, under `/usr/bin/time`. Panics when the run fails.
pub async fn timed_run(stack: &Stack, bin: &str, job: &Path) -> Measured {
    let mut cmd = crate::stack::command_as(Path::new("/usr/bin/time"), &stack.local, "loader");
    cmd.arg("-f")
        .arg("S3SHIFT_BENCH_RSS_KB=%M")
        .arg(bin)
        .args(["run", "--json"])
        .arg(job);
    let t = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run failed: {stderr}");
    let rss_kb: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("S3SHIFT_BENCH_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let summary = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    Measured {
        seconds,
        rss_mib: rss_kb / 1024.0,
        summary,
    }
}
