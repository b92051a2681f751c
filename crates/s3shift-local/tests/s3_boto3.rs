//! The S3 stand-in driven by an outside client: boto3 and the AWS CLI (`tests/conformance/s3_boto3.py`).
//!
//! Needs the Python environment that `./scripts/test` makes (`.venv` at the repo root with
//! `scripts/requirements-test.txt`), or `S3SHIFT_PYTHON` naming an interpreter with boto3 and awscli.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;

use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, LocalS3Config, LocalS3Server};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("S3SHIFT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run ./scripts/test (it creates the venv) or set S3SHIFT_PYTHON",
        venv.display()
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_awscli_agree_with_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start(LocalS3Config::new(dir.path()))
        .await
        .unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/s3_boto3.py");
    let py = python();
    let endpoint = server.endpoint_url();
    let tmp = dir.path().to_path_buf();
    // The server runs on this runtime; the client waits on a blocking thread.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(py)
            .arg(&script)
            .arg(endpoint)
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
