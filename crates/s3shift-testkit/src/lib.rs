//! What s3shift's tests share, in one dev-only crate (nothing shipped depends on it).
//!
//! - [`Stack`]: the embedded S3 and Data API servers over a temporary folder, an ingestion and a staging
//!   bucket, a job file pointing at them, and the `s3shift` binary run against them with a clean environment;
//! - [`crash`]: running the binary stopped or paused at a named [`CrashPoint`](s3shift_jobs::CrashPoint);
//! - [`moto`]: moto's server (the CloudWatch Logs stand-in) on a free loopback port;
//! - [`bench`]: a run of the release binary under `/usr/bin/time`, for the benchmarks' tables;
//! - [`repo`]: the repository's folders, the image fixtures, and the Python tools of the test venv, each with
//!   the command that installs it when it is missing.
//!
//! Every server it starts binds 127.0.0.1 on a free port and stops when its handle is dropped. Tests may unwrap:
//! a failed setup is a failed test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bench;
pub mod crash;
pub mod moto;
pub mod repo;
pub mod stack;

pub use stack::{Stack, data_api, job_toml};

/// The output's standard error, as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The output's standard output, as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
