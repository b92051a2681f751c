//! The ledger side of planning: which object versions are already loaded, read from the warehouse's
//! `loaded_objects` (owned by [`s3shift_redshift::warehouse::LedgerTable`]) over the window in which a listed
//! object can still match, into a [`LoadedSet`].

use chrono::{DateTime, Utc};
use s3shift_redshift::warehouse::LedgerTable;
use s3shift_redshift::warehouse::ledger::LedgerWindow;
use s3shift_s3::Lifecycle;

use super::{LoadedSet, Planner, ledger_slices};
use crate::Result;
use crate::spec::JobSpec;

impl Planner<'_> {
    /// The ledger's identities for the source bucket, from `since` on (see [`ledger_window_start`]), read a result page at a time into a [`LoadedSet`]; also returns the statements it took.
    ///
    /// The Data API fails a statement whose result set is over its limit (500 MB), which the window of a busy
    /// bucket passes (about 2.5 million objects). So a first statement sizes each minute of the window, and
    /// consecutive minutes are then read together up to `limits.ledger_read_bytes` a statement.
    pub(crate) async fn loaded_identities(
        &self,
        spec: &JobSpec,
        since: DateTime<Utc>,
    ) -> Result<(LoadedSet, u64)> {
        let ledger = LedgerTable::beside(&spec.table)?;
        let bucket = &spec.config.source.bucket;
        let window = LedgerWindow {
            source: &spec.config.source.name,
            bucket,
            since,
        };
        let minutes = ledger.size_by_minute(self.api, window).await?;
        let slices = ledger_slices(&minutes, spec.config.limits.ledger_read_bytes);
        if slices.len() > 1 {
            tracing::info!(ledger = %ledger.name(), statements = slices.len(),
                bytes = minutes.iter().map(|(_, b)| b).sum::<u64>(), "reading the ledger window in slices");
        }
        let mut loaded = LoadedSet::default();
        let mut unreadable = 0u64;
        for slice in &slices {
            unreadable += ledger
                .read_slice(
                    self.api,
                    window,
                    slice.from_minute,
                    slice.to_minute,
                    |key, etag, version| {
                        loaded.insert(&s3shift_core::object::identity(bucket, key, etag, version));
                    },
                )
                .await?;
        }
        if unreadable > 0 {
            tracing::warn!(ledger = %ledger.name(), rows = unreadable,
                "ledger rows without object_key or etag: their objects count as not loaded");
        }
        Ok((loaded, 1 + slices.len() as u64))
    }
}

/// Days the ledger lookup reaches past the lifecycle rule: one for S3's rounding of expiry up to midnight, three
/// for its asynchronous deletion, which can leave an expired object listed for a while.
pub const LEDGER_WINDOW_MARGIN_DAYS: u64 = 4;

/// Where the ledger lookup of a run at `now` can start, and on what ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerWindowStart {
    /// The oldest `last_modified` a listed object can match.
    pub since: DateTime<Utc>,
    /// The bound comes from the job's `assume_lifecycle_days`, not a rule of the bucket: objects listed from
    /// before it are not read (the operator said they expire), only counted and logged.
    pub assumed: bool,
}

/// Where the ledger lookup of a run at `now` can start: no object under `prefixes` outlives the bucket's
/// lifecycle rule, so ledger rows of objects modified earlier cannot match anything listed. When no rule
/// deletes everything under some prefix, the job's `assume_lifecycle_days` (when above 0) stands in; else `None`:
/// no bound, and the caller refuses to read ([`crate::Error::UnboundedLedger`]), never the whole ledger.
pub fn ledger_window_start(
    lifecycle: &Lifecycle,
    prefixes: &[String],
    assume_lifecycle_days: u32,
    now: DateTime<Utc>,
) -> Option<LedgerWindowStart> {
    let margin =
        |days: u32| now.checked_sub_days(chrono::Days::new(u64::from(days) + LEDGER_WINDOW_MARGIN_DAYS));
    let by_rules = prefixes
        .iter()
        .map(|p| lifecycle.deletes_all_under(p))
        .collect::<Option<Vec<u32>>>()
        .and_then(|days| days.into_iter().max());
    match by_rules {
        Some(days) => margin(days).map(|since| LedgerWindowStart {
            since,
            assumed: false,
        }),
        None if assume_lifecycle_days > 0 => {
            margin(assume_lifecycle_days).map(|since| LedgerWindowStart { since, assumed: true })
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_window_follows_the_rule_that_deletes_everything_listed() {
        use chrono::TimeZone;
        use s3shift_s3::lifecycle::ExpiryRule;
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single();
        let now = now.unwrap_or_default();
        let rule = |prefix: &str, days: u32, tagged: bool| ExpiryRule {
            id: None,
            prefix: prefix.into(),
            days,
            size_greater_than: None,
            size_less_than: None,
            has_tag_filter: tagged,
        };
        let lifecycle = Lifecycle {
            rules: vec![
                rule("", 7, false),
                rule("api/", 3, false),
                rule("kafka/", 1, true),
            ],
        };
        let prefixes = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let by_rule = |days: i64| {
            Some(LedgerWindowStart {
                since: now - chrono::Duration::days(days + 4),
                assumed: false,
            })
        };
        // The catch-all 7 days (the longest any listed object can live), plus the margin.
        assert_eq!(
            ledger_window_start(&lifecycle, &prefixes(&["api/", "kafka/"]), 0, now),
            by_rule(7)
        );
        assert_eq!(
            ledger_window_start(&lifecycle, &prefixes(&["api/"]), 30, now),
            by_rule(3)
        );
        // A tag-filtered rule deletes only some objects: without the catch-all, nothing bounds the window but
        // the job's assumption.
        let tagged_only = Lifecycle {
            rules: vec![rule("api/", 3, false), rule("", 1, true)],
        };
        assert_eq!(
            ledger_window_start(&tagged_only, &prefixes(&["api/", "kafka/"]), 0, now),
            None
        );
        assert_eq!(
            ledger_window_start(&tagged_only, &prefixes(&["api/", "kafka/"]), 5, now),
            Some(LedgerWindowStart {
                since: now - chrono::Duration::days(5 + 4),
                assumed: true,
            })
        );
        assert_eq!(
            ledger_window_start(&Lifecycle::default(), &prefixes(&[""]), 0, now),
            None
        );
        assert_eq!(ledger_window_start(&lifecycle, &[], 0, now), None);
    }
}
