//! Validation of a parsed job file: every field checked without IO, each error naming the file, the field and
//! what is allowed.

use std::path::Path;
use std::str::FromStr;

use s3shift_core::is_valid_name;
use s3shift_redshift::sql::{IamRole, TableName};

use super::{EventsConfig, JobConfig, JobSpec, Overrides};
use crate::{Error, Result};

pub(crate) fn bad(path: &Path, field: &str, problem: impl Into<String>) -> Error {
    Error::Config {
        file: path.to_owned(),
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// S3 bucket naming rules (general purpose buckets): 3-63 of `[a-z0-9.-]`, starting and ending with a letter or
/// digit.
fn valid_bucket(b: &str) -> bool {
    let bytes = b.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !b.contains("..")
}

/// A staging prefix is written into COPY's source literal, so it is held to `[A-Za-z0-9._/-]`.
fn valid_staging_prefix(p: &str) -> bool {
    p.len() <= 256
        && p.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._/-".contains(&c))
        && !p.starts_with('/')
        && !p.contains("//")
}

/// Checks every field without IO.
pub fn validate(path: &Path, mut config: JobConfig) -> Result<JobSpec> {
    let name_rule = "1 to 48 of [a-z0-9-], starting with a letter";
    if !is_valid_name(&config.name) {
        return Err(bad(
            path,
            "name",
            format!("{:?} is not allowed: {name_rule}", config.name),
        ));
    }
    let s = &config.source;
    if !is_valid_name(&s.name) {
        return Err(bad(
            path,
            "source.name",
            format!("{:?} is not allowed: {name_rule}", s.name),
        ));
    }
    if !valid_bucket(&s.bucket) {
        return Err(bad(
            path,
            "source.bucket",
            format!("{:?} is not an S3 bucket name (3-63 of [a-z0-9.-])", s.bucket),
        ));
    }
    if s.prefixes.is_empty() {
        return Err(bad(
            path,
            "source.prefixes",
            "list at least one prefix (\"\" for the whole bucket)",
        ));
    }
    for (i, p) in s.prefixes.iter().enumerate() {
        if p.len() > 1024 {
            return Err(bad(
                path,
                &format!("source.prefixes[{i}]"),
                "longer than an S3 key (1024 bytes)",
            ));
        }
        for (j, q) in s.prefixes.iter().enumerate() {
            if i != j && q.starts_with(p.as_str()) {
                return Err(bad(
                    path,
                    &format!("source.prefixes[{j}]"),
                    format!("{q:?} is inside {p:?}: objects would be listed twice"),
                ));
            }
        }
    }
    if s.assume_lifecycle_days > 3650 {
        return Err(bad(path, "source.assume_lifecycle_days", "at most 3650"));
    }
    if !valid_bucket(&config.staging.bucket) {
        return Err(bad(
            path,
            "staging.bucket",
            format!(
                "{:?} is not an S3 bucket name (3-63 of [a-z0-9.-])",
                config.staging.bucket
            ),
        ));
    }
    if !valid_staging_prefix(&config.staging.prefix) {
        return Err(bad(
            path,
            "staging.prefix",
            format!(
                "{:?} is not allowed: only [A-Za-z0-9._/-], no leading or double slash (it is written into COPY)",
                config.staging.prefix
            ),
        ));
    }
    let w = &config.warehouse;
    let target = match (&w.workgroup, &w.cluster_identifier, &w.db_user) {
        (Some(wg), None, None) if !wg.is_empty() => s3shift_redshift::Target::Serverless {
            workgroup: wg.clone(),
        },
        (None, Some(c), Some(u)) if !c.is_empty() && !u.is_empty() => s3shift_redshift::Target::Cluster {
            cluster_identifier: c.clone(),
            db_user: u.clone(),
        },
        _ => {
            return Err(bad(
                path,
                "warehouse",
                "set either `workgroup` (Redshift Serverless) or both `cluster_identifier` and `db_user`",
            ));
        }
    };
    if w.database.is_empty() || w.database.len() > 127 {
        return Err(bad(path, "warehouse.database", "must be 1 to 127 bytes"));
    }
    let iam_role =
        IamRole::parse(&w.copy_iam_role).map_err(|e| bad(path, "warehouse.copy_iam_role", e.to_string()))?;
    let table = TableName::parse(&w.table).map_err(|e| bad(path, "warehouse.table", e.to_string()))?;
    let schedule = cron::Schedule::from_str(&config.schedule.cron).map_err(|e| {
        bad(
            path,
            "schedule.cron",
            format!(
                "{:?} is not a cron expression with seconds (sec min hour day month weekday [year]): {e}",
                config.schedule.cron
            ),
        )
    })?;
    let l = &config.limits;
    if l.concurrency.get() > 1024 {
        return Err(bad(path, "limits.concurrency", "at most 1024"));
    }
    if !(1024..=16 * 1024 * 1024).contains(&l.range_bytes) {
        return Err(bad(path, "limits.range_bytes", "between 1024 and 16 MiB"));
    }
    if !(1024..=16 * 1024 * 1024).contains(&l.grow_bytes) {
        return Err(bad(path, "limits.grow_bytes", "between 1024 and 16 MiB"));
    }
    if l.max_read_bytes < l.range_bytes || l.max_read_bytes > 256 * 1024 * 1024 {
        return Err(bad(
            path,
            "limits.max_read_bytes",
            "at least range_bytes and at most 256 MiB",
        ));
    }
    if l.max_objects_per_run == 0 {
        return Err(bad(path, "limits.max_objects_per_run", "at least 1"));
    }
    if l.max_bytes_per_run == 0 {
        return Err(bad(path, "limits.max_bytes_per_run", "at least 1"));
    }
    if !(64 * 1024..=1024 * 1024 * 1024).contains(&l.parquet_file_bytes) {
        return Err(bad(path, "limits.parquet_file_bytes", "between 64 KiB and 1 GiB"));
    }
    if !(1024..=256 * 1024 * 1024).contains(&l.ledger_read_bytes) {
        return Err(bad(
            path,
            "limits.ledger_read_bytes",
            "between 1 KiB and 256 MiB (the Data API fails a result set over 500 MB)",
        ));
    }
    if !(3..=86_400).contains(&l.lease_ttl_seconds) {
        return Err(bad(
            path,
            "limits.lease_ttl_seconds",
            "between 3 and 86400 (the holder renews it every third of it)",
        ));
    }
    if let Some(g) = &config.aws.log_group
        && (g.is_empty()
            || g.len() > 512
            || !g
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-/.#".contains(&b)))
    {
        return Err(bad(
            path,
            "aws.log_group",
            format!("{g:?} is not a log group name (1-512 of [A-Za-z0-9_-/.#])"),
        ));
    }
    if config
        .source
        .events
        .as_ref()
        .is_some_and(|e| e.queue_url.is_empty())
    {
        // Event settings without a queue: scan mode until a deployment names the queue.
        config.source.events = None;
    }
    let reconcile = match &config.source.events {
        Some(events) => Some(validate_events(path, events)?),
        None => None,
    };
    for (field, url) in [
        ("aws.s3_endpoint_url", &config.aws.s3_endpoint_url),
        ("aws.sqs_endpoint_url", &config.aws.sqs_endpoint_url),
        (
            "aws.redshift_data_endpoint_url",
            &config.aws.redshift_data_endpoint_url,
        ),
    ] {
        if let Some(u) = url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(bad(path, field, format!("{u:?} is not an http(s) URL")));
        }
    }
    Ok(JobSpec {
        file: path.to_owned(),
        config,
        overrides: Overrides::default(),
        table,
        iam_role,
        schedule,
        reconcile,
        target,
    })
}

/// Checks `[source.events]` and returns the reconciliation schedule. Limits are SQS's (see
/// [`crate::events::queue`]).
fn validate_events(path: &Path, e: &EventsConfig) -> Result<cron::Schedule> {
    let url_ok = (e.queue_url.starts_with("https://") || e.queue_url.starts_with("http://"))
        && e.queue_url
            .rsplit('/')
            .next()
            .is_some_and(|name| !name.is_empty() && !name.ends_with(".fifo"));
    if !url_ok {
        return Err(bad(
            path,
            "source.events.queue_url",
            format!(
                "{:?} is not a standard queue's URL (https://sqs.<region>.amazonaws.com/<account>/<name>;                  S3 cannot notify a FIFO queue)",
                e.queue_url
            ),
        ));
    }
    let reconcile = cron::Schedule::from_str(&e.reconcile_cron).map_err(|err| {
        bad(
            path,
            "source.events.reconcile_cron",
            format!(
                "{:?} is not a cron expression with seconds (sec min hour day month weekday [year]): {err}",
                e.reconcile_cron
            ),
        )
    })?;
    if e.visibility_timeout_seconds > crate::events::queue::SQS_MAX_VISIBILITY_SECONDS {
        return Err(bad(
            path,
            "source.events.visibility_timeout_seconds",
            "at most 43200 (12 hours, SQS's limit)",
        ));
    }
    if u64::from(e.visibility_timeout_seconds) <= e.max_latency_seconds {
        return Err(bad(
            path,
            "source.events.visibility_timeout_seconds",
            format!(
                "{} s is too short: `--follow` holds messages up to max_latency_seconds ({}) before loading, and \
                 they must stay hidden until the load ends (give max_latency_seconds plus the longest load)",
                e.visibility_timeout_seconds, e.max_latency_seconds
            ),
        ));
    }
    if e.max_latency_seconds == 0 || e.max_latency_seconds > 3600 {
        return Err(bad(
            path,
            "source.events.max_latency_seconds",
            "between 1 and 3600",
        ));
    }
    if e.max_batch == 0 || e.max_messages_per_run == 0 {
        let field = if e.max_batch == 0 {
            "source.events.max_batch"
        } else {
            "source.events.max_messages_per_run"
        };
        return Err(bad(path, field, "at least 1"));
    }
    if !(1..=64).contains(&e.consumers) {
        return Err(bad(path, "source.events.consumers", "between 1 and 64"));
    }
    if !(1..=64).contains(&e.receivers) {
        return Err(bad(path, "source.events.receivers", "between 1 and 64"));
    }
    Ok(reconcile)
}
