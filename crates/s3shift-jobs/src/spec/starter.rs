//! A starter job file (`s3shift init`): every field of the format, with the default it takes when left out and
//! what it is for, so that a new job is written from one document rather than learned from errors.
//!
//! The values shown are read from the format itself (a minimal file parsed with its defaults), so the starter
//! never drifts from them.

use std::path::Path;

use super::parse_job;
use crate::Result;

/// What a new job names; the rest takes the format's defaults.
#[derive(Debug, Clone)]
pub struct Starter<'a> {
    /// The job's name (and its file's stem).
    pub name: &'a str,
    /// The ingestion bucket.
    pub bucket: &'a str,
    /// Key prefixes to read (empty: the whole bucket).
    pub prefixes: &'a [String],
    /// The staging bucket.
    pub staging_bucket: &'a str,
    /// Redshift Serverless workgroup.
    pub workgroup: &'a str,
    /// Database.
    pub database: &'a str,
    /// COPY's role: `default` or an ARN.
    pub copy_iam_role: &'a str,
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

impl Starter<'_> {
    /// The file's text. It parses and validates as written (see the tests).
    ///
    /// # Errors
    /// A name, bucket or other value the format refuses, named as a job file error would name it.
    pub fn text(&self) -> Result<String> {
        let prefixes = if self.prefixes.is_empty() {
            vec![String::new()]
        } else {
            self.prefixes.to_vec()
        };
        let prefixes = prefixes.iter().map(|p| quoted(p)).collect::<Vec<_>>().join(", ");
        // The defaults, as the format gives them.
        let minimal = format!(
            "name = {name}\n[source]\nname = \"src\"\nbucket = \"source-bucket\"\n[source.events]\n\
             queue_url = \"https://sqs.us-east-1.amazonaws.com/123456789012/q\"\n\
             reconcile_cron = \"0 30 * * * *\"\n[staging]\nbucket = \"staging-bucket\"\n[warehouse]\n\
             workgroup = \"work\"\ndatabase = \"dev\"\ncopy_iam_role = \"default\"\n[schedule]\n\
             cron = \"0 0/15 * * * *\"\n",
            name = quoted(self.name)
        );
        let d = parse_job(Path::new("(defaults)"), &minimal)?.config;
        let (src, ev, lim) = (
            &d.source,
            d.source.events.as_ref().ok_or_else(|| crate::Error::Config {
                file: "(defaults)".into(),
                field: "source.events".into(),
                problem: "no defaults".into(),
            })?,
            &d.limits,
        );
        let t = format!(
            r#"# The job {name}: written by `s3shift init`. Every field is shown with the value it takes
# when left out; the README's "A run" says what each step does with them.
name = {q_name}
description = ""

[source]
# A short name for the source, stored in every row (`source` column).
name = {q_name}
bucket = {bucket}
prefixes = [{prefixes}]
# Objects younger than this are left for the next run (uploads still settling).
settle_seconds = {settle}
# Days objects are kept when no lifecycle rule of the bucket expires everything under the
# prefixes (0: none; a scan then refuses to run rather than read the whole ledger).
assume_lifecycle_days = {assume}

# Event mode: plan from the bucket's ObjectCreated notifications in an SQS queue instead of a
# listing (uncomment, or pass --queue-url / S3SHIFT_QUEUE_URL). reconcile_cron is required:
# the scan on that schedule loads what no event brought.
# [source.events]
# queue_url = "https://sqs.<region>.amazonaws.com/<account>/<queue>"
# reconcile_cron = "0 30 * * * *"
# reconcile_grace_seconds = {grace}
# max_messages_per_run = {max_messages}
# visibility_timeout_seconds = {visibility}
# receivers = {receivers}
# max_latency_seconds = {latency:<8}# --follow: load when the oldest waiting upload is this old
# max_batch = {batch:<18}# --follow: or when this many wait
# consumers = {consumers:<18}# --follow processes that may load at once

[staging]
bucket = {staging}
# Staged files, the COPY manifest, the lease and the pending-load pointer go under <prefix>/<job>/.
prefix = {staging_prefix}

[warehouse]
workgroup = {workgroup}
database = {database}
# The role COPY reads the staged files with: `default` (the namespace's default role) or an ARN.
copy_iam_role = {copy_role}
# The curated table; `s3shift migrate` creates {migrated}.
table = {table}

[schedule]
# sec min hour day-of-month month day-of-week (UTC)
cron = "0 0/15 * * * *"

[limits]
concurrency = {concurrency:<19}# objects read at once
range_bytes = {range:<19}# first ranged GET of an object
grow_bytes = {grow:<20}# each further GET when the metadata goes on
max_read_bytes = {max_read:<16}# never more of one object
max_objects_per_run = {max_objects}
max_bytes_per_run = {max_bytes}
parquet_file_bytes = {parquet}
ledger_read_bytes = {ledger:<15}# per ledger statement (the Data API refuses 500 MB)
lease_ttl_seconds = {lease}
# One HeadObject more per object for the checksum S3 keeps (ranged GETs carry none): finds the same bytes under
# two keys (view s3shift.duplicate_uploads).
checksums = false

[alerts]
# Warn when an object still unloaded after a run expires within this many hours.
expiry_warning_hours = {expiry}

[aws]
# All optional: the standard chain (environment, profile, ECS task role) gives the rest.
# region = "eu-west-1"
# s3_endpoint_url, redshift_data_endpoint_url, redshift_serverless_endpoint_url, sqs_endpoint_url:
#   other endpoints (`s3shift local` prints them as AWS_ENDPOINT_URL_* exports instead)
# log_group = "/s3shift/jobs"   # also ship this job's logs to CloudWatch Logs
"#,
            name = self.name,
            q_name = quoted(self.name),
            bucket = quoted(self.bucket),
            prefixes = prefixes,
            settle = src.settle_seconds,
            assume = src.assume_lifecycle_days,
            grace = ev.reconcile_grace_seconds,
            max_messages = ev.max_messages_per_run,
            visibility = ev.visibility_timeout_seconds,
            receivers = ev.receivers,
            latency = ev.max_latency_seconds,
            batch = ev.max_batch,
            consumers = ev.consumers,
            staging = quoted(self.staging_bucket),
            staging_prefix = quoted(&d.staging.prefix),
            workgroup = quoted(self.workgroup),
            database = quoted(self.database),
            copy_role = quoted(self.copy_iam_role),
            migrated = crate::MIGRATED_TABLE,
            table = quoted(&d.warehouse.table),
            concurrency = lim.concurrency,
            range = lim.range_bytes,
            grow = lim.grow_bytes,
            max_read = lim.max_read_bytes,
            max_objects = lim.max_objects_per_run,
            max_bytes = lim.max_bytes_per_run,
            parquet = lim.parquet_file_bytes,
            ledger = lim.ledger_read_bytes,
            lease = lim.lease_ttl_seconds,
            expiry = d.alerts.expiry_warning_hours,
        );
        // It must read back as written.
        parse_job(Path::new(&format!("{}.toml", self.name)), &t)?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_starter_parses_with_the_formats_defaults() {
        let prefixes = vec!["uploads/".to_owned()];
        let s = Starter {
            name: "photos",
            bucket: "my-uploads",
            prefixes: &prefixes,
            staging_bucket: "my-staging",
            workgroup: "analytics",
            database: "dev",
            copy_iam_role: "default",
        };
        let text = s.text().unwrap();
        let spec = parse_job(Path::new("photos.toml"), &text).unwrap();
        assert_eq!(spec.config.source.bucket, "my-uploads");
        assert_eq!(spec.config.source.prefixes, prefixes);
        assert_eq!(spec.config.limits.lease_ttl_seconds, 900);
        assert!(text.contains("# [source.events]") && text.contains("assume_lifecycle_days = 0"));
        let bad = Starter {
            name: "no spaces allowed",
            ..s
        };
        assert!(bad.text().is_err());
    }
}
