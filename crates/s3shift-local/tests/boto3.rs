//! Both stand-ins driven by outside clients: boto3 and the AWS CLI, s3fs with pyarrow datasets, Parquet files
//! written by pyarrow, and boto3 from two sessions at once (locks, isolation levels) (`tests/conformance/*.py`).
//!
//! Needs the Python environment that `./scripts/test` makes (`.venv` at the repo root with
//! `scripts/requirements-test.txt`), or `S3SHIFT_PYTHON` naming an interpreter with boto3, awscli, pyarrow and s3fs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use s3shift_testkit::repo::manifest_dir;
use std::path::PathBuf;

use s3shift_local::redshift::{LocalRedshiftConfig, LocalRedshiftServer};
use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, LocalS3Config, LocalS3Server};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("S3SHIFT_PYTHON") {
        return PathBuf::from(p);
    }
    // Says how to make the venv (or to set S3SHIFT_PYTHON) when it is missing.
    s3shift_testkit::repo::venv_bin("python")
}

/// Runs `tests/conformance/<script>` against `endpoints` and checks it passed every check.
async fn conform(script: &str, endpoints: Vec<String>, tmp: PathBuf) {
    let py = python();
    let script = manifest_dir().join("tests/conformance").join(script);
    // The servers run on this runtime; the client waits on a blocking thread.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(py)
            .arg(&script)
            .args(endpoints)
            .env("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_KEY)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("TMPDIR", tmp)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_awscli_agree_with_the_s3_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start(LocalS3Config::new(dir.path()))
        .await
        .unwrap();
    conform(
        "s3_boto3.py",
        vec![server.endpoint_url()],
        dir.path().to_path_buf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3fs_and_pyarrow_datasets_work_on_the_s3_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start(LocalS3Config::new(dir.path()))
        .await
        .unwrap();
    conform(
        "s3_fsspec.py",
        vec![server.endpoint_url()],
        dir.path().to_path_buf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_awscli_agree_with_the_data_api_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalRedshiftServer::start(LocalRedshiftConfig::new(dir.path().join("w.duckdb")))
        .await
        .unwrap();
    conform(
        "redshift_boto3.py",
        vec![server.endpoint_url()],
        dir.path().to_path_buf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_from_two_sessions_sees_redshifts_locks_and_isolation_levels() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalRedshiftServer::start(LocalRedshiftConfig::new(dir.path().join("w.duckdb")))
        .await
        .unwrap();
    conform(
        "redshift_concurrency.py",
        vec![server.endpoint_url()],
        dir.path().to_path_buf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_reads_what_pyarrow_writes_in_the_documented_codecs_only() {
    let s = support::stack().await;
    conform(
        "copy_pyarrow.py",
        vec![s.s3.endpoint_url(), s.redshift.endpoint_url()],
        s.dir.path().to_path_buf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_awscli_agree_with_the_sqs_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = s3shift_local::sqs::LocalSqsServer::start(s3shift_local::sqs::LocalSqsConfig::default())
        .await
        .unwrap();
    conform(
        "sqs_boto3.py",
        vec![server.endpoint_url()],
        dir.path().to_path_buf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_event_notifications_reach_the_sqs_server_as_boto3_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let sqs = s3shift_local::sqs::LocalSqsServer::start(s3shift_local::sqs::LocalSqsConfig::default())
        .await
        .unwrap();
    let mut config = LocalS3Config::new(dir.path());
    config.events = Some(sqs.queues());
    let s3 = LocalS3Server::start(config).await.unwrap();
    conform(
        "events_boto3.py",
        vec![s3.endpoint_url(), sqs.endpoint_url()],
        dir.path().to_path_buf(),
    )
    .await;
}
