//! Source objects and runs: what a run works on and how it is named.

use std::fmt;

use chrono::{DateTime, Days, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// One version of one source object, as the listing described it.
///
/// The identity of a row in the curated table is (`bucket`, `key`, `etag`, `version_id`): a rewritten object gets
/// a new ETag and so a new row, a re-read of the same version never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Object key, exactly as S3 returned it (no decoding is ever applied twice).
    pub key: String,
    /// Version id on a versioned bucket; `None` otherwise.
    pub version_id: Option<String>,
    /// ETag without its surrounding quotes.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// LastModified, UTC.
    pub last_modified: DateTime<Utc>,
    /// When a lifecycle rule deletes the object, if one applies (see [`expiry_of`]).
    pub expires_at: Option<DateTime<Utc>>,
}

impl ObjectRef {
    /// The identity string used to compare against the ledger: bucket, key, ETag and version id, separated by
    /// a byte that cannot occur in any of them.
    pub fn identity(&self) -> String {
        identity(&self.bucket, &self.key, &self.etag, self.version_id.as_deref())
    }
}

/// The identity of an object version as [`ObjectRef::identity`] builds it.
pub fn identity(bucket: &str, key: &str, etag: &str, version_id: Option<&str>) -> String {
    format!("{bucket}\u{0}{key}\u{0}{etag}\u{0}{}", version_id.unwrap_or(""))
}

/// When S3 expires an object created at `last_modified` under a rule of `days` days: the creation time plus the
/// days, rounded up to the next midnight UTC (S3's documented rule; an exact midnight stays as it is).
pub fn expiry_of(last_modified: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    let plus = last_modified.checked_add_days(Days::new(u64::from(days)))?;
    let midnight = plus.date_naive().and_time(NaiveTime::MIN).and_utc();
    if midnight == plus {
        Some(plus)
    } else {
        midnight.checked_add_days(Days::new(1))
    }
}

/// The name of one run of one job: `<job>-<UTC start as YYYYMMDDTHHMMSSmmmZ>-<attempt>` (milliseconds, so that
/// runs started back to back never share a name).
///
/// Run ids only ever contain `[a-z0-9-]` plus the `T`/`Z` of the timestamp, so they are safe in S3 keys and as
/// SQL literals; [`RunId::parse`] enforces that for ids read back from storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// A run id for `job` (a valid job name, see [`is_valid_name`]) started at `start`.
    pub fn new(job: &str, start: DateTime<Utc>, attempt: u32) -> Result<Self, String> {
        if !is_valid_name(job) {
            return Err(format!("job name {job:?} is not a valid name"));
        }
        Ok(Self(format!(
            "{job}-{}-{attempt}",
            start.format("%Y%m%dT%H%M%S%3fZ")
        )))
    }

    /// Checks a run id read back from storage.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'T' || b == b'Z');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("{s:?} is not a run id"))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<RunId> for String {
    fn from(r: RunId) -> Self {
        r.0
    }
}

/// Whether `name` is a valid job or source name: 1 to 48 of `[a-z0-9-]`, starting with a letter. Such names are
/// safe in S3 keys, log fields and SQL literals.
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 48
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expiry_rounds_up_to_midnight() {
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 10, 30, 0).single();
        let e = t.and_then(|t| expiry_of(t, 7));
        assert_eq!(e, Utc.with_ymd_and_hms(2026, 11, 9, 0, 0, 0).single());
        let m = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single();
        assert_eq!(
            m.and_then(|t| expiry_of(t, 7)),
            Utc.with_ymd_and_hms(2026, 11, 8, 0, 0, 0).single()
        );
    }

    #[test]
    fn run_ids_round_trip_and_reject_junk() -> Result<(), String> {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 28, 4, 16, 27)
            .single()
            .ok_or("bad time")?;
        let id = RunId::new("api-images", t, 1)?;
        assert_eq!(id.as_str(), "api-images-20261128T041627000Z-1");
        assert_eq!(RunId::parse(id.as_str())?, id);
        assert!(RunId::parse("x'); drop table y; --").is_err());
        assert!(RunId::new("Bad Name", t, 1).is_err());
        Ok(())
    }

    #[test]
    fn identities_do_not_collide_across_fields() {
        assert_ne!(
            identity("b", "k\u{1}", "e", None),
            identity("b", "k", "\u{1}e", None)
        );
        assert_ne!(identity("b", "k", "e", None), identity("b", "k", "e", Some("v")));
    }
}
