//! Jobs whose sources overlap: the same bucket, and a prefix of one job inside a prefix of the other. Each
//! object there is read, staged and loaded by both jobs. The loads stay exactly once (they merge on the
//! object's identity, one after another: see `run/load.rs`), but the work is done twice and the two jobs'
//! runs race for the same objects, which is rarely what an operator meant; so validation, `doctor` and
//! `status` name it.

use std::fmt;
use std::path::{Path, PathBuf};

use super::JobSpec;

/// Two jobs reading some of the same objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The job checked.
    pub job: String,
    /// The other job.
    pub other: String,
    /// The other job's file.
    pub other_file: PathBuf,
    /// The bucket both read.
    pub bucket: String,
    /// The narrower of the two overlapping prefixes (empty: the whole bucket): what both read.
    pub prefix: String,
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "jobs {} and {} ({}) both read s3://{}/{}: each object there is read and loaded by both (it still \
             lands once); give each job prefixes of its own",
            self.job,
            self.other,
            self.other_file.display(),
            self.bucket,
            self.prefix
        )
    }
}

/// The job's prefixes; none means the whole bucket.
fn prefixes(spec: &JobSpec) -> Vec<&str> {
    let p: Vec<&str> = spec.config.source.prefixes.iter().map(String::as_str).collect();
    if p.is_empty() { vec![""] } else { p }
}

/// The narrower prefix both of `a` and `b` cover, when one contains the other.
fn shared<'a>(a: &'a str, b: &'a str) -> Option<&'a str> {
    if a.starts_with(b) {
        Some(a)
    } else if b.starts_with(a) {
        Some(b)
    } else {
        None
    }
}

/// The overlaps of `spec` with `others` (itself, by name or file, excluded): one per other job, at its first
/// shared prefix.
pub fn overlaps_with<'a>(spec: &JobSpec, others: impl IntoIterator<Item = &'a JobSpec>) -> Vec<Overlap> {
    let mut out = Vec::new();
    for other in others {
        if other.file == spec.file
            || other.name() == spec.name()
            || other.config.source.bucket != spec.config.source.bucket
        {
            continue;
        }
        let found = prefixes(spec)
            .into_iter()
            .flat_map(|a| prefixes(other).into_iter().filter_map(move |b| shared(a, b)))
            .next();
        if let Some(prefix) = found {
            out.push(Overlap {
                job: spec.name().to_owned(),
                other: other.name().to_owned(),
                other_file: other.file.clone(),
                bucket: spec.config.source.bucket.clone(),
                prefix: prefix.to_owned(),
            });
        }
    }
    out
}

/// The jobs of the folder `dir` (every `*.toml`, as written) whose sources overlap `spec`'s. Files that cannot be
/// read or do not validate are passed over: the commands that load them report them.
pub fn overlapping_jobs(spec: &JobSpec, dir: &Path) -> Vec<Overlap> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let others: Vec<JobSpec> = files
        .iter()
        .filter(|f| !same_file(f, &spec.file))
        .filter_map(|f| super::load_job(f).ok())
        .collect();
    overlaps_with(spec, &others)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn job(name: &str, bucket: &str, prefixes: &[&str]) -> JobSpec {
        let prefixes = prefixes
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "name = \"{name}\"\n[source]\nname = \"api\"\nbucket = \"{bucket}\"\nprefixes = [{prefixes}]\n\
             [staging]\nbucket = \"stage\"\n[warehouse]\nworkgroup = \"wg\"\ndatabase = \"dev\"\n\
             copy_iam_role = \"default\"\n[schedule]\ncron = \"0 * * * * *\"\n"
        );
        super::super::parse_job(Path::new(&format!("jobs/{name}.toml")), &text).unwrap()
    }

    #[test]
    fn overlapping_prefixes_of_one_bucket_are_named_and_others_are_not() {
        let a = job("a", "uploads", &["api/"]);
        let nested = job("nested", "uploads", &["api/2026/"]);
        let whole = job("whole", "uploads", &[""]);
        let beside = job("beside", "uploads", &["kafka/"]);
        let elsewhere = job("elsewhere", "other", &["api/"]);
        let found = overlaps_with(&a, [&nested, &whole, &beside, &elsewhere, &a]);
        let named: Vec<(&str, &str)> = found
            .iter()
            .map(|o| (o.other.as_str(), o.prefix.as_str()))
            .collect();
        assert_eq!(named, [("nested", "api/2026/"), ("whole", "api/")]);
        assert!(found[0].to_string().contains("both read s3://uploads/api/2026/"));
        // `api` and `api-old/` overlap too: S3 prefixes are strings, not folders.
        let loose = job("loose", "uploads", &["api"]);
        let old = job("old", "uploads", &["api-old/"]);
        assert_eq!(overlaps_with(&loose, [&old]).len(), 1);
    }
}
