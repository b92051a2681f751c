//! Conditional reads: `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` on GetObject and
//! HeadObject, evaluated as "GetObject" (API reference) describes: a failed `If-Match` or `If-Unmodified-Since`
//! is 412 Precondition Failed, a matching `If-None-Match` or an unmet `If-Modified-Since` is 304 Not Modified;
//! `If-Match` that holds overrides a failing `If-Unmodified-Since`, and `If-None-Match` takes precedence over
//! `If-Modified-Since`. Times compare at whole seconds, the precision of HTTP dates and of S3's LastModified.

use s3s::dto::{ETag, ETagCondition, Timestamp, TimestampFormat};
use s3s::{S3Result, s3_error};

/// The conditions of one request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Conditions {
    pub(crate) if_match: Option<ETagCondition>,
    pub(crate) if_none_match: Option<ETagCondition>,
    pub(crate) if_modified_since: Option<Timestamp>,
    pub(crate) if_unmodified_since: Option<Timestamp>,
}

impl Conditions {
    /// Takes the four conditions off a GetObject or HeadObject input (the caller evaluates them, not s3s-fs).
    pub(crate) fn take(
        if_match: &mut Option<ETagCondition>,
        if_none_match: &mut Option<ETagCondition>,
        if_modified_since: &mut Option<Timestamp>,
        if_unmodified_since: &mut Option<Timestamp>,
    ) -> Self {
        Self {
            if_match: if_match.take(),
            if_none_match: if_none_match.take(),
            if_modified_since: if_modified_since.take(),
            if_unmodified_since: if_unmodified_since.take(),
        }
    }

    /// Whether the request has any condition.
    pub(crate) fn any(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
    }

    /// Checks the conditions against the object's ETag and LastModified.
    pub(crate) fn check(&self, etag: Option<&ETag>, modified: Option<&Timestamp>) -> S3Result<()> {
        let matches = |c: &ETagCondition| match c {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => etag.is_some_and(|t| t.value() == e.value()),
        };
        let seconds = |t: &Timestamp| {
            let mut s = Vec::new();
            let _ = t.format(TimestampFormat::DateTime, &mut s);
            s.truncate(19); // YYYY-MM-DDTHH:MM:SS, which orders as the times do
            s
        };
        let modified = modified.map(seconds);
        let failed = || {
            s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            )
        };
        match (&self.if_match, &self.if_unmodified_since) {
            (Some(m), _) if !matches(m) => return Err(failed()),
            (None, Some(since)) if modified.as_ref().is_some_and(|m| *m > seconds(since)) => {
                return Err(failed());
            }
            _ => {}
        }
        let not_modified = || s3_error!(NotModified, "Not Modified");
        match (&self.if_none_match, &self.if_modified_since) {
            (Some(n), _) if matches(n) => Err(not_modified()),
            (None, Some(since)) if modified.as_ref().is_some_and(|m| *m <= seconds(since)) => {
                Err(not_modified())
            }
            _ => Ok(()),
        }
    }
}
