//! Event consumers side by side: objects per second with 1, 2 and 4 `run --follow` followers of one queue, over
//! the S3 stand-in with 50 ms added to every request, so that the work waits on I/O as it does on AWS rather
//! than on this machine's two cores.
//!
//! `cargo bench -p s3shift-cli --bench followers -- [OBJECTS] [FOLLOWERS...]` (defaults: 4000, then 1 2 4), or
//! `scripts/bench-followers ...`.
//!
//! For each follower count N, on fresh stand-ins: OBJECTS images are uploaded (the bucket notifies the job's
//! queue of each), then N followers of the job (`[source.events] consumers = N`, `[limits] concurrency = 8`
//! reads in flight each) start at once, each the release `s3shift` binary. The clock runs from their start to the
//! first poll (every 100 ms) that finds every object in the ledger; then each follower's peak RSS (`VmHWM`) is
//! read and they get SIGTERM. Prints one Markdown table: wall time, objects per second, speed-up against one follower, and the
//! largest peak RSS of one follower.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use s3shift_local::s3::FaultConfig;
use s3shift_testkit::Stack;
use s3shift_testkit::stack as support;

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");
const LATENCY: Duration = Duration::from_millis(50);

async fn upload(stack: &Stack, n: usize) {
    let keys = (0..n).map(|i| format!("a/up/{i:06}.jpg")).collect();
    stack.put_distinct_jpegs(keys, 64).await;
}

fn follower(stack: &Stack) -> Child {
    let mut cmd = support::command_as(Path::new(BIN), &stack.local, "loader");
    cmd.args(["run", "--follow"])
        .arg(&stack.job)
        .current_dir(stack.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().unwrap()
}

/// The peak resident set of a running process (`VmHWM`), MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

struct Row {
    followers: usize,
    objects: usize,
    seconds: f64,
    rss_mib: f64,
}

async fn measure(objects: usize, n: usize) -> Row {
    let faults = FaultConfig {
        latency: LATENCY,
        ..FaultConfig::default()
    };
    let stack = Stack::start_with_faults(BIN, "concurrency = 8", faults).await;
    stack
        .enable_events(
            100,
            &format!(
                "visibility_timeout_seconds = 300\nmax_latency_seconds = 1\nmax_batch = 1000\nconsumers = {n}"
            ),
        )
        .await;
    stack.migrate().await;
    let t = Instant::now();
    upload(&stack, objects).await;
    eprintln!(
        "{n} followers: {objects} uploaded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut children: Vec<Child> = (0..n).map(|_| follower(&stack)).collect();
    loop {
        let loaded = stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await;
        if loaded >= objects as i64 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(1800),
            "{loaded} of {objects} loaded after 30 min"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seconds = t.elapsed().as_secs_f64();
    let rss_mib = children.iter().map(|c| peak_rss_mib(c.id())).fold(0.0, f64::max);
    for c in &children {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for c in &mut children {
        let _ = c.wait();
    }
    stack.assert_exactly_once(objects as i64).await;
    Row {
        followers: n,
        objects,
        seconds,
        rss_mib,
    }
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let objects = args.first().copied().unwrap_or(4000);
    let counts: Vec<usize> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        vec![1, 2, 4]
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows: Vec<Row> = counts.iter().map(|&n| rt.block_on(measure(objects, n))).collect();
    let base = rows.first().map_or(1.0, |r| r.objects as f64 / r.seconds);
    println!("| followers | objects | wall s | objects/s | speed-up | peak RSS per follower (MiB) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let rate = r.objects as f64 / r.seconds;
        println!(
            "| {} | {} | {:.1} | {:.0} | {:.2}x | {:.0} |",
            r.followers,
            r.objects,
            r.seconds,
            rate,
            rate / base,
            r.rss_mib
        );
    }
}
