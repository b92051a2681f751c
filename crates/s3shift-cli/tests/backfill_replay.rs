//! End to end, reprocessing: backfills by window and by key replace rows without duplicates; replay reloads a
//! past run's staged files after its objects are gone.
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfills_reprocess_a_window_or_named_keys_without_duplicates() {
    let stack = Stack::start(BIN, "").await;
    for i in 0..6 {
        stack.put(&format!("b/img-{i}.jpg"), repo::a_jpeg()).await;
    }
    stack.migrate().await;
    let first = stack.s3shift(&["run"], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));

    let dry = stack
        .s3shift(&["backfill", "--since", "2000-01-01", "--dry-run"], &[])
        .await;
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("to load                      6"),
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains("Data API"), "{}", stdout(&dry));

    let keys = stack.dir.path().join("keys.txt");
    std::fs::write(&keys, "b/img-1.jpg\nb/img-4.jpg\nb/expired-long-ago.jpg\n").unwrap();
    let by_key = stack
        .s3shift(
            &["backfill", "--keys-from", keys.to_str().unwrap(), "--json"],
            &[],
        )
        .await;
    assert_eq!(by_key.status.code(), Some(0), "{}", stderr(&by_key));
    let summary: serde_json::Value = serde_json::from_str(stdout(&by_key).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects_loaded"], 2);
    assert_eq!(summary["objects_not_found"], 1);
    assert!(
        stderr(&by_key).contains("b/expired-long-ago.jpg"),
        "{}",
        stderr(&by_key)
    );

    let window = stack
        .s3shift(&["backfill", "--since", "2000-01-01", "--prefix", "b/img-5"], &[])
        .await;
    assert!(stdout(&window).contains("loaded 1"), "{}", stdout(&window));
    stack.assert_exactly_once(6).await;
    let reloaded = stack
        .count("SELECT COUNT(*) FROM s3shift.images WHERE object_key IN ('b/img-1.jpg', 'b/img-4.jpg', 'b/img-5.jpg') AND run_id <> (SELECT MIN(run_id) FROM s3shift.runs)")
        .await;
    assert_eq!(reloaded, 3, "backfilled rows carry the backfill's run id");

    let usage = stack.s3shift(&["backfill"], &[]).await;
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_reloads_a_past_run_after_its_objects_are_gone() {
    let stack = Stack::start(BIN, "").await;
    for i in 0..3 {
        stack.put(&format!("a/img-{i}.jpg"), repo::a_jpeg()).await;
    }
    stack.migrate().await;
    let first = stack.s3shift(&["run", "--json"], &[]).await;
    let summary: serde_json::Value = serde_json::from_str(stdout(&first).lines().last().unwrap()).unwrap();
    let run_id = summary["run_id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        stack
            .store
            .delete("uploads", &format!("a/img-{i}.jpg"))
            .await
            .unwrap();
    }
    stack
        .api
        .execute("DELETE FROM s3shift.images", &[])
        .await
        .unwrap();
    let replay = stack.s3shift(&["replay", "--run", &run_id], &[]).await;
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    stack.assert_exactly_once(3).await;
    // The replay is a run of its own, said so; the replayed run's row is left as it was.
    assert!(
        stdout(&replay).contains(&format!("[replay of {run_id}]")),
        "{}",
        stdout(&replay)
    );
    let rows = stack
        .query("SELECT run_id, status, objects_staged FROM s3shift.runs ORDER BY started_at")
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][0].as_str(), Some(run_id.as_str()), "{rows:?}");
    assert_eq!(rows[0][1].as_str(), Some("finished"), "{rows:?}");
    assert_ne!(rows[1][0].as_str(), Some(run_id.as_str()), "{rows:?}");
    assert_eq!(rows[1][2].as_i64(), Some(3), "{rows:?}");
    let missing = stack
        .s3shift(&["replay", "--run", "e2e-20000101T000000000Z-1"], &[])
        .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no staged manifest"),
        "{}",
        stderr(&missing)
    );
}
