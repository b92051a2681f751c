//! End to end, crashes: a kill at every named crash point followed by a rerun converges to exactly one row per
//! object; SIGTERM mid-run drains what was read and a rerun loads the rest.
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_jobs::CrashPoint;
use s3shift_testkit::crash;
use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_any_stage_then_a_rerun_converges_to_exactly_once() {
    let jpeg = repo::a_jpeg();
    for point in CrashPoint::ALL {
        eprintln!("failpoint {point}");
        let stack = Stack::start(BIN, "").await;
        for i in 0..24 {
            let prefix = if i % 2 == 0 { "a" } else { "b" };
            let mut body = jpeg.clone();
            body.extend_from_slice(format!("{i}").as_bytes());
            stack.put(&format!("{prefix}/img-{i:03}.jpg"), body).await;
        }
        stack.migrate().await;
        let killed = stack.s3shift(&["run"], &crash::abort_at(point)).await;
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: killed by a signal; {}",
            stderr(&killed)
        );
        let rerun = stack.s3shift(&["run"], &[]).await;
        assert_eq!(rerun.status.code(), Some(0), "{point}: {}", stderr(&rerun));
        stack.assert_exactly_once(24).await;
        let again = stack.s3shift(&["run"], &[]).await;
        assert_eq!(again.status.code(), Some(0), "{point}: {}", stderr(&again));
        assert!(
            stdout(&again).contains("already loaded 24"),
            "{point}: {}",
            stdout(&again)
        );
        stack.assert_exactly_once(24).await;
        let finished = stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status IN ('finished', 'partial')")
            .await;
        assert_eq!(finished, 1, "{point}: exactly one run loaded the objects");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_drains_what_was_read_and_a_rerun_loads_the_rest() {
    drains_on("TERM", 0).await;
}

/// Ctrl-C drains as SIGTERM does, and then exits 130, the shell's code for a process stopped by SIGINT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_mid_run_drains_and_exits_130() {
    drains_on("INT", 130).await;
}

async fn drains_on(signal: &str, code: i32) {
    // One reader, so that most objects are still unread when the signal comes.
    let stack = Stack::start(BIN, "concurrency = 1").await;
    let jpeg = repo::a_jpeg();
    for i in 0..40 {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{i}").as_bytes());
        stack.put(&format!("a/img-{i:02}.jpg"), body).await;
    }
    stack.migrate().await;
    // Paused after half the rows were staged.
    let paused = crash::run_paused_at(&stack, CrashPoint::MidExtract, &["--json"]).await;
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &paused.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Let the signal reach the run before it goes on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    paused.release();
    let out = paused.child.await.unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(summary["status"], "drained");
    assert_eq!(summary["drained"], true);
    let loaded = summary["objects_loaded"].as_u64().unwrap();
    assert!(
        (20..40).contains(&loaded),
        "drained after the objects in flight: {loaded}"
    );
    assert_eq!(summary["objects_deferred"].as_u64().unwrap(), 40 - loaded);
    stack.assert_exactly_once(loaded as i64).await;

    let rerun = stack.s3shift(&["run"], &[]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    stack.assert_exactly_once(40).await;
}

/// A second Ctrl-C does not wait for the drain: the run exits 130 at once, and the next run loads everything
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_at_once() {
    let stack = Stack::start(BIN, "concurrency = 1").await;
    let jpeg = repo::a_jpeg();
    for i in 0..8 {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{i}").as_bytes());
        stack.put(&format!("a/img-{i:02}.jpg"), body).await;
    }
    stack.migrate().await;
    // Paused mid-extract: without a second signal it would wait there for the release.
    let paused = crash::run_paused_at(&stack, CrashPoint::MidExtract, &[]).await;
    for _ in 0..2 {
        let sent = Command::new("kill")
            .args(["-INT", &paused.pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(20), paused.child)
        .await
        .expect("the second Ctrl-C ends the run without the release")
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted again"), "{}", stderr(&out));
    let rerun = stack.s3shift(&["run"], &[]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    stack.assert_exactly_once(8).await;
}

/// The staging lifecycle expires everything under the staged prefix, the pending-load pointer included: each
/// attempt to finish a pending load writes the pointer anew, so its age counts from the last attempt; and a
/// pending load whose staged files are gone fails naming the run and what to do, keeping the pointer, instead
/// of a fresh run that never mentions it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_load_outlives_the_staging_lifecycle_or_says_it_was_lost() {
    let stack = Stack::start(BIN, "").await;
    for i in 0..4 {
        let mut body = repo::a_jpeg();
        body.extend_from_slice(format!("{i}").as_bytes());
        stack.put(&format!("a/img-{i}.jpg"), body).await;
    }
    stack.migrate().await;
    let pointer = "staged/e2e/_state/pending-load.json";
    let modified = || async {
        stack
            .store
            .list_prefix("stage", pointer)
            .await
            .unwrap()
            .first()
            .map(|o| o.last_modified)
    };
    let killed = stack
        .s3shift(&["run"], &crash::abort_at(CrashPoint::AfterPointer))
        .await;
    assert_eq!(killed.status.code(), None, "{}", stderr(&killed));
    let first = modified().await.expect("a pending load");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Taken up again, and killed again before its batch is submitted: the pointer was written anew.
    let again = stack
        .s3shift(&["run"], &crash::abort_at(CrashPoint::BeforeSubmit))
        .await;
    assert_eq!(again.status.code(), None, "{}", stderr(&again));
    let second = modified().await.expect("still pending");
    assert!(
        second > first,
        "the pointer's age restarts: {first} then {second}"
    );
    // Its staged files expire (the manifest goes): the next run says so, and leaves the pointer.
    let pending: serde_json::Value =
        serde_json::from_slice(&stack.store.get("stage", pointer).await.unwrap().unwrap()).unwrap();
    let run_id = pending["run_id"].as_str().unwrap().to_owned();
    let manifest = pending["manifest_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("s3://stage/")
        .to_owned();
    stack.store.delete("stage", &manifest).await.unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        format!("run {run_id} left a load pending whose staged files are gone"),
        "s3shift backfill e2e --since".to_owned(),
    ] {
        assert!(err.contains(&part), "{part:?} missing in: {err}");
    }
    assert!(modified().await.is_some(), "the pointer is kept");
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.images").await, 0);
}
