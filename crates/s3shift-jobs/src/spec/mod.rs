//! Job files (`jobs/<job>.toml`): what a job reads, where it stages, where it loads, when and within what limits.
//!
//! A file is parsed with unknown keys refused, then validated without any IO. Every error names the file, the
//! field and what is allowed.
//!
//! - [`config`]: the file's format, table by table, with its defaults;
//! - [`overrides`]: the deployment-specific fields a flag or variable replaces;
//! - `validate`: [`validate`], every field checked without IO;
//! - this module: [`JobSpec`] and loading.

pub mod config;
pub mod overlap;
pub mod overrides;
pub mod starter;
mod validate;

pub use config::*;
pub use overlap::{Overlap, overlapping_jobs};
pub use overrides::{Override, Overrides};
pub use validate::validate;

use validate::bad;

use std::path::{Path, PathBuf};

use s3shift_redshift::sql::{IamRole, TableName};

use crate::{Error, Result};

/// A validated job.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Where it was read from.
    pub file: PathBuf,
    /// The file as written, with [`Overrides`] applied.
    pub config: JobConfig,
    /// What replaced fields of the file.
    pub overrides: Overrides,
    /// The curated table.
    pub table: TableName,
    /// The COPY role.
    pub iam_role: IamRole,
    /// The parsed schedule.
    pub schedule: cron::Schedule,
    /// The reconciliation scan's schedule, for a job in event mode.
    pub reconcile: Option<cron::Schedule>,
    /// The Redshift target.
    pub target: s3shift_redshift::Target,
}

impl JobSpec {
    /// Which of the job's buckets `bucket` is (`source` or `staging`) and where its name comes from: the job
    /// file's field (which a flag or variable could replace), or the flag or variable that replaced it.
    pub fn bucket_origin(&self, bucket: &str) -> Option<(&'static str, String)> {
        let file = self.file.display();
        let origin = |o: &Option<Override>, setting: overrides::Setting| match o {
            Some(o) => format!("{} (replacing {} in {file})", o.from, setting.field),
            None => format!(
                "{} in {file} (replaced by {} when set)",
                setting.field,
                setting.given_by()
            ),
        };
        if bucket == self.config.source.bucket {
            Some((
                "source",
                origin(&self.overrides.source_bucket, overrides::SOURCE_BUCKET),
            ))
        } else if bucket == self.config.staging.bucket {
            Some((
                "staging",
                origin(&self.overrides.staging_bucket, overrides::STAGING_BUCKET),
            ))
        } else {
            None
        }
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// `<staging prefix>/<job>` (no trailing slash).
    pub fn staging_root(&self) -> String {
        let p = self.config.staging.prefix.trim_end_matches('/');
        if p.is_empty() {
            self.config.name.clone()
        } else {
            format!("{p}/{}", self.config.name)
        }
    }
}

/// Reads and validates a job file.
pub fn load_job(path: &Path) -> Result<JobSpec> {
    load_job_with(path, &Overrides::default())
}

/// Reads a job file, replaces the fields that `overrides` sets, and validates the result.
pub fn load_job_with(path: &Path, overrides: &Overrides) -> Result<JobSpec> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_job_with(path, &text, overrides)
}

/// Finds `jobs/<name>.toml` (or takes `name_or_path` as a path when it names a file).
pub fn resolve_job(jobs_dir: &Path, name_or_path: &str) -> PathBuf {
    let as_path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || as_path.is_file() {
        as_path.to_owned()
    } else {
        jobs_dir.join(format!("{name_or_path}.toml"))
    }
}

/// Parses and validates job file text; `path` is only used in messages.
pub fn parse_job(path: &Path, text: &str) -> Result<JobSpec> {
    parse_job_with(path, text, &Overrides::default())
}

/// [`parse_job`] with `overrides` applied before validation.
pub fn parse_job_with(path: &Path, text: &str, overrides: &Overrides) -> Result<JobSpec> {
    let mut config: JobConfig = toml::from_str(text).map_err(|e| Error::Config {
        file: path.to_owned(),
        field: e
            .span()
            .map(|s| field_at(text, s.start))
            .unwrap_or_else(|| "(file)".into()),
        problem: e.message().to_owned(),
    })?;
    if let (Some(o), None) = (&overrides.queue_url, &config.source.events) {
        return Err(bad(
            path,
            "source.events",
            format!(
                "{} names a queue, but the job file has no [source.events] table (add one to run it in event mode)",
                o.from
            ),
        ));
    }
    overrides.apply(&mut config);
    let mut spec = validate(path, config).map_err(|e| overrides.name_origin(e))?;
    spec.overrides = overrides.clone();
    Ok(spec)
}

/// Names the field at byte `offset` of a TOML text: `table.key (line N)`, from the key on that line and the
/// last `[table]` header above it.
fn field_at(text: &str, offset: usize) -> String {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    // The error is on a table's header itself (`[limit]`, an unknown table): name that table, not the one
    // before it.
    let header = line.trim();
    if header.starts_with('[') && header.ends_with(']') {
        return format!("{header} (line {line_no})");
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k} (line {line_no})"),
        (None, Some(k)) => format!("{k} (line {line_no})"),
        (Some(t), None) => format!("{t} (line {line_no})"),
        (None, None) => format!("line {line_no}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3shift_testkit::repo::manifest_dir;

    const GOOD: &str = r#"
name = "api-images"
[source]
name = "api"
bucket = "acme-api-uploads"
prefixes = ["uploads/"]
[staging]
bucket = "acme-staging"
[warehouse]
workgroup = "analytics"
database = "dev"
copy_iam_role = "default"
[schedule]
cron = "0 */15 * * * *"
"#;

    fn err(text: &str) -> String {
        parse_job(Path::new("jobs/x.toml"), text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn an_unknown_table_is_named_by_its_own_header() {
        let e = err(&format!("{GOOD}[limit]\nconcurrency = 4\n"));
        assert!(e.contains("[limit] (line 15)"), "{e}");
        assert!(e.contains("unknown field `limit`"), "{e}");
        assert!(!e.contains("schedule (line"), "{e}");
    }

    #[test]
    fn a_good_file_validates_with_defaults() -> Result<()> {
        let spec = parse_job(Path::new("jobs/api-images.toml"), GOOD)?;
        assert_eq!(spec.config.limits.concurrency.get(), 64);
        assert_eq!(spec.staging_root(), "s3shift/api-images");
        assert_eq!(spec.table.to_string(), "s3shift.images");
        Ok(())
    }

    #[test]
    fn an_events_table_validates_and_its_queue_url_can_be_replaced() -> Result<()> {
        let with = |extra: &str| {
            let text = format!(
                "{GOOD}\n[source.events]\nqueue_url = \"https://sqs.eu-west-1.amazonaws.com/123456789012/api\"\n\
                 reconcile_cron = \"0 20 * * * *\"\n{extra}"
            );
            parse_job(Path::new("jobs/x.toml"), &text)
        };
        let spec = with("")?;
        let events = spec
            .config
            .source
            .events
            .clone()
            .unwrap_or_else(|| unreachable!());
        assert_eq!(events.max_latency_seconds, 900);
        assert!(spec.reconcile.is_some());
        let err = |extra: &str| with(extra).map(|_| ()).map_err(|e| e.to_string());
        assert!(
            err("max_latency_seconds = 0").is_err_and(|e| e.contains("source.events.max_latency_seconds"))
        );
        assert!(err("visibility_timeout_seconds = 30").is_err_and(|e| {
            e.contains("source.events.visibility_timeout_seconds") && e.contains("too short")
        }));
        let fifo = parse_job(
            Path::new("jobs/x.toml"),
            &format!(
                "{GOOD}\n[source.events]\nqueue_url = \"https://sqs.eu-west-1.amazonaws.com/1/q.fifo\"\n\
                 reconcile_cron = \"0 20 * * * *\"\n"
            ),
        );
        assert!(fifo.is_err_and(|e| e.to_string().contains("FIFO")));
        // Settings without a queue wait for one: scan mode.
        let waiting = parse_job(
            Path::new("jobs/x.toml"),
            &format!("{GOOD}\n[source.events]\nreconcile_cron = \"0 20 * * * *\"\n"),
        )?;
        assert!(waiting.config.source.events.is_none() && waiting.reconcile.is_none());
        let replaced = parse_job_with(
            Path::new("jobs/x.toml"),
            &format!("{GOOD}\n[source.events]\nreconcile_cron = \"0 20 * * * *\"\n"),
            &Overrides {
                queue_url: from(
                    "https://sqs.eu-west-1.amazonaws.com/1/prod-api",
                    "S3SHIFT_QUEUE_URL",
                ),
                ..Overrides::default()
            },
        )?;
        assert_eq!(
            replaced
                .config
                .source
                .events
                .map(|e| e.queue_url)
                .unwrap_or_default(),
            "https://sqs.eu-west-1.amazonaws.com/1/prod-api"
        );
        Ok(())
    }

    #[test]
    fn the_shipped_job_files_validate() -> Result<()> {
        let dir = manifest_dir().join("../../jobs");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })? {
            let path = entry
                .map_err(|source| Error::Io {
                    path: dir.clone(),
                    source,
                })?
                .path();
            let spec = load_job(&path)?;
            assert_eq!(
                path.file_stem().and_then(|s| s.to_str()),
                Some(spec.name()),
                "file named after its job"
            );
            names.push(spec.name().to_owned());
        }
        names.sort();
        assert_eq!(names, ["api-images", "demo", "kafka-images"]);
        Ok(())
    }

    #[test]
    fn a_bucket_is_traced_to_the_field_or_flag_that_named_it() -> Result<()> {
        let spec = parse_job(Path::new("jobs/api-images.toml"), GOOD)?;
        let (role, origin) = spec.bucket_origin("acme-api-uploads").unwrap_or_default();
        assert_eq!(role, "source");
        assert!(
            origin.starts_with("source.bucket in jobs/api-images.toml"),
            "{origin}"
        );
        assert!(
            origin.contains("--source-bucket or S3SHIFT_SOURCE_BUCKET"),
            "{origin}"
        );
        assert_eq!(
            spec.bucket_origin("acme-staging").map(|(r, _)| r),
            Some("staging")
        );
        assert_eq!(spec.bucket_origin("someone-elses"), None);
        let overrides = Overrides {
            staging_bucket: Some(Override {
                value: "prod-staging".into(),
                from: "--staging-bucket or S3SHIFT_STAGING_BUCKET".into(),
            }),
            ..Overrides::default()
        };
        let spec = parse_job_with(Path::new("jobs/api-images.toml"), GOOD, &overrides)?;
        let (role, origin) = spec.bucket_origin("prod-staging").unwrap_or_default();
        assert_eq!(role, "staging");
        assert_eq!(
            origin,
            "--staging-bucket or S3SHIFT_STAGING_BUCKET (replacing staging.bucket in jobs/api-images.toml)"
        );
        Ok(())
    }

    #[test]
    fn errors_name_file_and_field() {
        let e = err(&GOOD.replace("[schedule]", "colour = 1\n[schedule]"));
        assert!(e.contains("jobs/x.toml") && e.contains("colour"), "{e}");
        let e = err(&GOOD.replace("0 */15 * * * *", "every minute"));
        assert!(e.contains("schedule.cron"), "{e}");
        let e = err(&GOOD.replace("acme-staging", "Acme_Staging"));
        assert!(e.contains("staging.bucket"), "{e}");
        let e = err(&GOOD.replace("\"default\"", "\"arn:aws:iam::1:role/x' or 1=1\""));
        assert!(e.contains("warehouse.copy_iam_role"), "{e}");
        let e = err(&GOOD.replace("[staging]\n", "[staging]\nprefix = \"a b\"\n"));
        assert!(e.contains("staging.prefix"), "{e}");
        let e = err(&GOOD.replace("[\"uploads/\"]", "[\"a/\", \"a/b/\"]"));
        assert!(e.contains("source.prefixes[1]"), "{e}");
        let e = err(&GOOD.replace("[schedule]", "[limits]\nconcurrency = 0\n[schedule]"));
        assert!(e.contains("limits.concurrency (line "), "{e}");
        let e = err(&GOOD.replace("workgroup = \"analytics\"", "cluster_identifier = \"c\""));
        assert!(e.contains("warehouse"), "{e}");
    }

    fn from(value: &str, var: &str) -> Option<Override> {
        Some(Override {
            value: value.into(),
            from: var.into(),
        })
    }

    #[test]
    fn overrides_replace_the_deployment_fields_and_are_validated_like_them() -> Result<()> {
        let overrides = Overrides {
            source_bucket: from(
                "prod-s3shift-api-uploads-123456789012-eu-west-1",
                "S3SHIFT_SOURCE_BUCKET",
            ),
            staging_bucket: from(
                "prod-s3shift-staging-123456789012-eu-west-1",
                "S3SHIFT_STAGING_BUCKET",
            ),
            workgroup: from("prod-wg", "S3SHIFT_WORKGROUP"),
            database: from("warehouse", "S3SHIFT_DATABASE"),
            copy_iam_role: from(
                "arn:aws:iam::123456789012:role/prod-s3shift-copy",
                "S3SHIFT_COPY_IAM_ROLE",
            ),
            queue_url: None,
        };
        let spec = parse_job_with(Path::new("jobs/api-images.toml"), GOOD, &overrides)?;
        assert_eq!(
            spec.config.source.bucket,
            "prod-s3shift-api-uploads-123456789012-eu-west-1"
        );
        assert_eq!(
            spec.config.staging.bucket,
            "prod-s3shift-staging-123456789012-eu-west-1"
        );
        assert_eq!(
            spec.target,
            s3shift_redshift::Target::Serverless {
                workgroup: "prod-wg".into()
            }
        );
        assert_eq!(spec.config.warehouse.database, "warehouse");
        assert_eq!(
            spec.iam_role,
            IamRole::Arn("arn:aws:iam::123456789012:role/prod-s3shift-copy".into())
        );
        assert_eq!(spec.overrides.fields().count(), 5);
        // Untouched fields stay as written.
        assert_eq!(spec.config.source.prefixes, ["uploads/"]);
        assert_eq!(spec.overrides, overrides);

        // A bad value is refused, naming the field, the variable and the file.
        let bad = Overrides {
            source_bucket: from("Prod_Uploads", "--source-bucket or S3SHIFT_SOURCE_BUCKET"),
            ..Overrides::default()
        };
        let e = parse_job_with(Path::new("jobs/x.toml"), GOOD, &bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("jobs/x.toml: source.bucket (set by --source-bucket or S3SHIFT_SOURCE_BUCKET)")
                && e.contains("Prod_Uploads"),
            "{e}"
        );
        // A workgroup given to a provisioned-cluster job breaks the either-or rule; the error says who set it.
        let cluster = GOOD.replace(
            "workgroup = \"analytics\"",
            "cluster_identifier = \"c\"\ndb_user = \"u\"",
        );
        parse_job(Path::new("jobs/x.toml"), &cluster)?;
        let wg = Overrides {
            workgroup: from("wg", "S3SHIFT_WORKGROUP"),
            database: from("dev", "S3SHIFT_DATABASE"),
            ..Overrides::default()
        };
        let e = parse_job_with(Path::new("jobs/x.toml"), &cluster, &wg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("warehouse (set by S3SHIFT_WORKGROUP):"), "{e}");
        // Errors in fields nobody overrode are reported as before.
        let e = parse_job_with(
            Path::new("jobs/x.toml"),
            &GOOD.replace("0 */15 * * * *", "soon"),
            &overrides,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("jobs/x.toml: schedule.cron: "), "{e}");
        Ok(())
    }
}
