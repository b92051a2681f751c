//! Loads that fail for a reason that passes are submitted again within the run: the loser of two concurrent
//! loads into one table (Redshift's serialization conflict, error 1023) and a COPY that could not read S3. A
//! load that fails on its data is not (see `exactly_once::a_failing_load_commits_nothing...`). The stand-in
//! injects both failures deterministically (`RedshiftFaults`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_local::s3::FaultConfig;
use s3shift_testkit::{Stack, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");
const RETRIED: &str = "submitting it again";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_shipped_jobs_loading_at_the_same_instant_both_succeed_exactly_once() {
    // The first three loads to commit lose to a concurrent one, as on Redshift when both jobs fire at :15.
    let stack = Stack::start_with(BIN, "", FaultConfig::default(), |rs| {
        rs.faults.load_conflicts = 3;
    })
    .await;
    stack.migrate().await;
    let api_env = stack.shipped_job_env("api-up");
    let kafka_env = stack.shipped_job_env("kafka-up");
    let mut retried = 0;
    for round in 0..3 {
        let a = format!("uploads/r{round}-a.jpg");
        let b = format!("uploads/r{round}-b.jpg");
        let k = format!("partition=1/r{round}-k.jpg");
        stack.put_settled("api-up", &[&a, &b]).await;
        stack.put_settled("kafka-up", &[&k]).await;
        let (api, kafka) = tokio::join!(
            stack.run_as("loader", &["run", "api-images"], &api_env),
            stack.run_as("kafka-loader", &["run", "kafka-images"], &kafka_env),
        );
        for (job, out) in [("api-images", &api), ("kafka-images", &kafka)] {
            let err = stderr(out);
            assert_eq!(out.status.code(), Some(0), "round {round}, {job}: {err}");
            retried += err.matches(RETRIED).count();
        }
        stack.assert_exactly_once(3 * (round + 1)).await;
    }
    assert_eq!(retried, 3, "each injected conflict was retried once, and logged");
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.runs").await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_could_not_read_s3_is_submitted_again_by_the_same_run() {
    let stack = Stack::start_with(BIN, "", FaultConfig::default(), |rs| {
        rs.faults.copy_read_failures = 2;
    })
    .await;
    for i in 0..3 {
        stack
            .put(&format!("a/{i}.jpg"), s3shift_testkit::repo::a_jpeg())
            .await;
    }
    stack.migrate().await;
    let out = stack.s3shift(&["run", "--json"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches(RETRIED).count(), 2, "{err}");
    assert!(err.contains("S3ServiceException"), "the log says why: {err}");
    stack.assert_exactly_once(3).await;
    let summary: serde_json::Value = serde_json::from_str(s3shift_testkit::stdout(&out).trim()).unwrap();
    assert_eq!(summary["copy_statements"], 3, "{summary}");
    assert_eq!(summary["status"], "finished", "{summary}");
}
