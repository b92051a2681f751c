//! What the end-to-end tests and the pipeline benchmark share: a job file for the embedded stack, a Data API
//! handle on it, and the `s3shift` command with a clean environment.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3shift_local::LocalStack;
use s3shift_redshift::{DataApi, PollConfig, Target};

/// A job file reading `bucket` under `prefixes`, staging to `staging`, loading through `stack`.
pub fn job_toml(
    stack: &LocalStack,
    name: &str,
    bucket: &str,
    staging: &str,
    prefixes: &[&str],
    limits: &str,
) -> String {
    let prefixes = prefixes
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"name = "{name}"
[source]
name = "api"
bucket = "{bucket}"
prefixes = [{prefixes}]
settle_seconds = 0
[staging]
bucket = "{staging}"
prefix = "staged"
[warehouse]
workgroup = "local"
database = "dev"
copy_iam_role = "default"
[schedule]
cron = "0 * * * * *"
[limits]
{limits}
[aws]
region = "us-east-1"
s3_endpoint_url = "{}"
redshift_data_endpoint_url = "{rs}"
redshift_serverless_endpoint_url = "{rs}"
"#,
        stack.s3.endpoint_url(),
        rs = stack.redshift.endpoint_url()
    )
}

/// A Data API handle on the stack's warehouse, polling fast.
pub fn data_api(stack: &LocalStack) -> DataApi {
    let client = aws_sdk_redshiftdata::Client::from_conf(
        aws_sdk_redshiftdata::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(stack.redshift.endpoint_url())
            .credentials_provider(Credentials::new(
                &stack.access_key,
                &stack.secret_key,
                None,
                None,
                "t",
            ))
            .build(),
    );
    DataApi::new(
        client,
        Target::Serverless {
            workgroup: "local".into(),
        },
        "dev".into(),
        PollConfig {
            first: Duration::from_millis(2),
            ..PollConfig::default()
        },
    )
}

/// `program` (the s3shift binary, or a wrapper such as /usr/bin/time with the binary as first argument) with
/// only PATH, the stack's credentials and warn-level logs in its environment, so that nothing from the caller's
/// AWS setup leaks in. Logs are text on stderr (a test that wants JSON lines sets `S3SHIFT_LOG_FORMAT`).
pub fn command(program: &Path, stack: &LocalStack) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", &stack.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &stack.secret_key)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("S3SHIFT_LOG", "warn")
        .env("S3SHIFT_LOG_FORMAT", "text");
    cmd
}
