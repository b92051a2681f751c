//! A starter job file (`s3shift init`): every field of the format, with the default it takes when left out and
//! what it is for, so that a new job is written from one document rather than learned from errors.
//!
//! The values shown are read from the format itself (a minimal file parsed with its defaults), so the starter
//! never drifts from them.

use std::fmt::Write as _;
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
        let mut t = String::new();
        let w = &mut t;
        let _ = writeln!(
            w,
            "# The job {name}: written by `s3shift init`. Every field is shown with the value it takes",
            name = self.name
        );
        let _ = writeln!(
            w,
            "# when left out; the README's \"A run\" says what each step does with them."
        );
        let _ = writeln!(w, "name = {}", quoted(self.name));
        let _ = writeln!(w, "description = \"\"");
        let _ = writeln!(w);
        let _ = writeln!(w, "[source]");
        let _ = writeln!(
            w,
            "# A short name for the source, stored in every row (`source` column)."
        );
        let _ = writeln!(w, "name = {}", quoted(self.name));
        let _ = writeln!(w, "bucket = {}", quoted(self.bucket));
        let _ = writeln!(w, "prefixes = [{prefixes}]");
        let _ = writeln!(
            w,
            "# Objects younger than this are left for the next run (uploads still settling)."
        );
        let _ = writeln!(w, "settle_seconds = {}", src.settle_seconds);
        let _ = writeln!(
            w,
            "# Days objects are kept when no lifecycle rule of the bucket expires everything under the"
        );
        let _ = writeln!(
            w,
            "# prefixes (0: none; a scan then refuses to run rather than read the whole ledger)."
        );
        let _ = writeln!(w, "assume_lifecycle_days = {}", src.assume_lifecycle_days);
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "# Event mode: plan from the bucket's ObjectCreated notifications in an SQS queue instead of a"
        );
        let _ = writeln!(
            w,
            "# listing (uncomment, or pass --queue-url / S3SHIFT_QUEUE_URL). reconcile_cron is required:"
        );
        let _ = writeln!(w, "# the scan on that schedule loads what no event brought.");
        let _ = writeln!(w, "# [source.events]");
        let _ = writeln!(
            w,
            "# queue_url = \"https://sqs.<region>.amazonaws.com/<account>/<queue>\""
        );
        let _ = writeln!(w, "# reconcile_cron = \"0 30 * * * *\"");
        let _ = writeln!(w, "# reconcile_grace_seconds = {}", ev.reconcile_grace_seconds);
        let _ = writeln!(w, "# max_messages_per_run = {}", ev.max_messages_per_run);
        let _ = writeln!(
            w,
            "# visibility_timeout_seconds = {}",
            ev.visibility_timeout_seconds
        );
        let _ = writeln!(w, "# receivers = {}", ev.receivers);
        let _ = writeln!(
            w,
            "# max_latency_seconds = {}      # --follow: load when the oldest waiting upload is this old",
            ev.max_latency_seconds
        );
        let _ = writeln!(
            w,
            "# max_batch = {}              # --follow: or when this many wait",
            ev.max_batch
        );
        let _ = writeln!(
            w,
            "# consumers = {}                 # --follow processes that may load at once",
            ev.consumers
        );
        let _ = writeln!(w);
        let _ = writeln!(w, "[staging]");
        let _ = writeln!(w, "bucket = {}", quoted(self.staging_bucket));
        let _ = writeln!(
            w,
            "# Staged files, the COPY manifest, the lease and the pending-load pointer go under <prefix>/<job>/."
        );
        let _ = writeln!(w, "prefix = {}", quoted(&d.staging.prefix));
        let _ = writeln!(w);
        let _ = writeln!(w, "[warehouse]");
        let _ = writeln!(w, "workgroup = {}", quoted(self.workgroup));
        let _ = writeln!(w, "database = {}", quoted(self.database));
        let _ = writeln!(
            w,
            "# The role COPY reads the staged files with: `default` (the namespace's default role) or an ARN."
        );
        let _ = writeln!(w, "copy_iam_role = {}", quoted(self.copy_iam_role));
        let _ = writeln!(
            w,
            "# The curated table; `s3shift migrate` creates {}.",
            crate::MIGRATED_TABLE
        );
        let _ = writeln!(w, "table = {}", quoted(&d.warehouse.table));
        let _ = writeln!(w);
        let _ = writeln!(w, "[schedule]");
        let _ = writeln!(w, "# sec min hour day-of-month month day-of-week (UTC)");
        let _ = writeln!(w, "cron = \"0 0/15 * * * *\"");
        let _ = writeln!(w);
        let _ = writeln!(w, "[limits]");
        let _ = writeln!(
            w,
            "concurrency = {}                 # objects read at once",
            lim.concurrency
        );
        let _ = writeln!(
            w,
            "range_bytes = {}             # first ranged GET of an object",
            lim.range_bytes
        );
        let _ = writeln!(
            w,
            "grow_bytes = {}               # each further GET when the metadata goes on",
            lim.grow_bytes
        );
        let _ = writeln!(
            w,
            "max_read_bytes = {}         # never more of one object",
            lim.max_read_bytes
        );
        let _ = writeln!(w, "max_objects_per_run = {}", lim.max_objects_per_run);
        let _ = writeln!(w, "max_bytes_per_run = {}", lim.max_bytes_per_run);
        let _ = writeln!(w, "parquet_file_bytes = {}", lim.parquet_file_bytes);
        let _ = writeln!(
            w,
            "ledger_read_bytes = {}       # per ledger statement (the Data API refuses 500 MB)",
            lim.ledger_read_bytes
        );
        let _ = writeln!(w, "lease_ttl_seconds = {}", lim.lease_ttl_seconds);
        let _ = writeln!(w);
        let _ = writeln!(w, "[alerts]");
        let _ = writeln!(
            w,
            "# Warn when an object still unloaded after a run expires within this many hours."
        );
        let _ = writeln!(w, "expiry_warning_hours = {}", d.alerts.expiry_warning_hours);
        let _ = writeln!(w);
        let _ = writeln!(w, "[aws]");
        let _ = writeln!(
            w,
            "# All optional: the standard chain (environment, profile, ECS task role) gives the rest."
        );
        let _ = writeln!(w, "# region = \"eu-west-1\"");
        let _ = writeln!(
            w,
            "# s3_endpoint_url, redshift_data_endpoint_url, redshift_serverless_endpoint_url, sqs_endpoint_url:"
        );
        let _ = writeln!(
            w,
            "#   other endpoints (`s3shift local` prints them as AWS_ENDPOINT_URL_* exports instead)"
        );
        let _ = writeln!(
            w,
            "# log_group = \"/s3shift/jobs\"   # also ship this job's logs to CloudWatch Logs"
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
