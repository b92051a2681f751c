//! Replacements, from flags or environment variables, for the fields of a job file that differ per account.

use super::JobConfig;
use crate::Error;

/// One deployment-specific field of a job file and the flag and environment variable that replace it: the one
/// place their names are spelled (the CLI's flags, the errors and the task definitions' tests read them here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The job file's field (`source.bucket`).
    pub field: &'static str,
    /// The flag, without its dashes (`source-bucket`).
    pub flag: &'static str,
    /// The environment variable (`S3SHIFT_SOURCE_BUCKET`).
    pub var: &'static str,
}

impl Setting {
    /// Where a value given for it came from, as errors name it: `--source-bucket or S3SHIFT_SOURCE_BUCKET`.
    pub fn given_by(&self) -> String {
        format!("--{} or {}", self.flag, self.var)
    }

    /// An override of this setting by `value`.
    pub fn given(&self, value: &str) -> Override {
        Override {
            value: value.to_owned(),
            from: self.given_by(),
        }
    }
}

/// `source.bucket`.
pub const SOURCE_BUCKET: Setting = Setting {
    field: "source.bucket",
    flag: "source-bucket",
    var: "S3SHIFT_SOURCE_BUCKET",
};
/// `staging.bucket`.
pub const STAGING_BUCKET: Setting = Setting {
    field: "staging.bucket",
    flag: "staging-bucket",
    var: "S3SHIFT_STAGING_BUCKET",
};
/// `warehouse.workgroup`.
pub const WORKGROUP: Setting = Setting {
    field: "warehouse.workgroup",
    flag: "workgroup",
    var: "S3SHIFT_WORKGROUP",
};
/// `warehouse.database`.
pub const DATABASE: Setting = Setting {
    field: "warehouse.database",
    flag: "database",
    var: "S3SHIFT_DATABASE",
};
/// `warehouse.copy_iam_role`.
pub const COPY_IAM_ROLE: Setting = Setting {
    field: "warehouse.copy_iam_role",
    flag: "copy-iam-role",
    var: "S3SHIFT_COPY_IAM_ROLE",
};
/// `source.events.queue_url`.
pub const QUEUE_URL: Setting = Setting {
    field: "source.events.queue_url",
    flag: "queue-url",
    var: "S3SHIFT_QUEUE_URL",
};

/// A value given outside the job file for one of its deployment-specific fields, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The value that replaces the file's.
    pub value: String,
    /// Where it came from (`--source-bucket or S3SHIFT_SOURCE_BUCKET`): named in every error about the field.
    pub from: String,
}

/// Replacements for the fields of a job file that differ per AWS account and environment: bucket names,
/// workgroup, database and COPY role. The rest of a job (prefixes, schedule, limits, table) is the same
/// everywhere, so one job file serves every deployment; the ECS task definitions set these from the stacks.
/// An override is validated like the field it replaces, and errors name both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `source.bucket`.
    pub source_bucket: Option<Override>,
    /// `staging.bucket`.
    pub staging_bucket: Option<Override>,
    /// `warehouse.workgroup`.
    pub workgroup: Option<Override>,
    /// `warehouse.database`.
    pub database: Option<Override>,
    /// `warehouse.copy_iam_role`.
    pub copy_iam_role: Option<Override>,
    /// `source.events.queue_url` (only for a job with `[source.events]`).
    pub queue_url: Option<Override>,
}

impl Overrides {
    /// The overrides that are set, by the job-file field they replace.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &Override)> {
        [
            (SOURCE_BUCKET.field, &self.source_bucket),
            (STAGING_BUCKET.field, &self.staging_bucket),
            (WORKGROUP.field, &self.workgroup),
            (DATABASE.field, &self.database),
            (COPY_IAM_ROLE.field, &self.copy_iam_role),
            (QUEUE_URL.field, &self.queue_url),
        ]
        .into_iter()
        .filter_map(|(field, o)| o.as_ref().map(|o| (field, o)))
    }

    pub(super) fn apply(&self, config: &mut JobConfig) {
        let set = |slot: &mut String, o: &Option<Override>| {
            if let Some(o) = o {
                slot.clone_from(&o.value);
            }
        };
        set(&mut config.source.bucket, &self.source_bucket);
        set(&mut config.staging.bucket, &self.staging_bucket);
        set(&mut config.warehouse.database, &self.database);
        set(&mut config.warehouse.copy_iam_role, &self.copy_iam_role);
        if let (Some(o), Some(events)) = (&self.queue_url, config.source.events.as_mut()) {
            events.queue_url.clone_from(&o.value);
        }
        if let Some(o) = &self.workgroup {
            config.warehouse.workgroup = Some(o.value.clone());
        }
    }

    /// Adds the origin of an overridden field to an error about it (or, for the workgroup, about the
    /// `warehouse` rule that it and the cluster fields share).
    pub(super) fn name_origin(&self, err: Error) -> Error {
        match err {
            Error::Config {
                file,
                mut field,
                problem,
            } => {
                let origins: Vec<&str> = self
                    .fields()
                    .filter(|(f, _)| *f == field || (field == "warehouse" && *f == "warehouse.workgroup"))
                    .map(|(_, o)| o.from.as_str())
                    .collect();
                if !origins.is_empty() {
                    field = format!("{field} (set by {})", origins.join(", "));
                }
                Error::Config { file, field, problem }
            }
            other => other,
        }
    }
}
