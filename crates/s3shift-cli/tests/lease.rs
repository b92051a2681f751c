//! End to end, one run per job: a run while another holds the lease is skipped; a stale lease is taken over.
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use s3shift_jobs::CrashPoint;
use s3shift_testkit::crash;
use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_while_another_holds_the_lease_is_skipped_and_loads_nothing() {
    let stack = Stack::start(BIN, "").await;
    for i in 0..5 {
        stack.put(&format!("a/img-{i}.jpg"), repo::a_jpeg()).await;
    }
    stack.migrate().await;
    let paused = crash::run_paused_at(&stack, CrashPoint::AfterPlan, &[]).await;
    let second = stack.s3shift(&["run"], &[]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("skipped: another run of this job holds its lease"),
        "{}",
        stdout(&second)
    );
    // A manual backfill is not a schedule tick: finding the job busy, it exits 1 and says how to wait ...
    let backfill = stack.s3shift(&["backfill", "--since", "2000-01-01"], &[]).await;
    assert_eq!(backfill.status.code(), Some(1), "{}", stderr(&backfill));
    assert!(
        stderr(&backfill).contains("rerun with --wait"),
        "{}",
        stderr(&backfill)
    );
    // ... and with --wait it waits for the lease, then runs.
    let waiting = tokio::spawn({
        let mut cmd = stack.command(&["backfill", "--since", "2000-01-01", "--wait"]);
        async move {
            tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "--wait waits while the lease is held");
    paused.release();
    let first = paused.child.await.unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let waited = waiting.await.unwrap();
    assert_eq!(waited.status.code(), Some(0), "{}", stderr(&waited));
    assert!(stdout(&waited).contains("loaded 5"), "{}", stdout(&waited));
    stack.assert_exactly_once(5).await;
    // Released, and kept: the next taking reads its generation from it.
    let lease = stack
        .store
        .get("stage", "staged/e2e/_state/lease.json")
        .await
        .unwrap()
        .expect("the released lease is kept");
    let lease: serde_json::Value = serde_json::from_slice(&lease).unwrap();
    assert_eq!(lease["released"], true, "the lease is released: {lease}");
    assert!(lease["generation"].as_u64().unwrap() > 0, "{lease}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lease_is_taken_over_and_said_so() {
    let stack = Stack::start(BIN, "").await;
    stack.put("a/x.jpg", repo::a_jpeg()).await;
    stack.migrate().await;
    let stale = r#"{"holder":"another-host:1:e2e-old","acquired_at":"2026-01-01T00:00:00+00:00","expires_at":"2026-01-01T00:15:00+00:00"}"#;
    stack
        .store
        .put(
            "stage",
            "staged/e2e/_state/lease.json",
            Bytes::from_static(stale.as_bytes()),
            "application/json",
        )
        .await
        .unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("took over a stale lease"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("another-host:1:e2e-old"),
        "{}",
        stderr(&out)
    );
    stack.assert_exactly_once(1).await;
}
