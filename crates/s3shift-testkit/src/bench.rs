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

/// A `WITH` prefix whose CTE `i` holds the integers `0..n` in column `n`, built from a cross join of digit
/// tables (Redshift has no row generator on compute nodes, and the stand-in takes the same SQL): for seeding
/// millions of rows in one statement. Rows past `n` are left to the caller's `WHERE n < {n}`.
pub fn numbers_below(n: u64) -> String {
    let digits = (0..10)
        .map(|d| format!("SELECT {d} AS n"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut places = 1;
    while 10u64.pow(places) < n {
        places += 1;
    }
    let from = (0..places)
        .map(|p| format!("d AS d{p}"))
        .collect::<Vec<_>>()
        .join(" CROSS JOIN ");
    let number = (0..places)
        .map(|p| format!("d{p}.n * {}", 10u64.pow(p)))
        .collect::<Vec<_>>()
        .join(" + ");
    format!("WITH d AS ({digits}), i AS (SELECT {number} AS n FROM {from})")
}
