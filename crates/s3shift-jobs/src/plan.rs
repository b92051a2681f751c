//! Planning a run: from a listing and the ledger to the ordered list of objects to read.
//!
//! Pure: the listing, the ledger and the clock come in, the plan goes out. Objects closest to expiry come first,
//! so a run cut short by its limits always leaves the objects with the most slack.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use s3shift_core::ObjectRef;
use serde::Serialize;

use crate::spec::LimitsConfig;

/// What a plan holds and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanCounts {
    /// Objects the listing returned.
    pub listed: u64,
    /// Already in the ledger (same bucket, key, ETag and version).
    pub already_loaded: u64,
    /// Younger than the settle time: left for a later run.
    pub too_young: u64,
    /// Over the run's object or byte limit: left for a later run.
    pub deferred: u64,
    /// To read in this run.
    pub planned: u64,
    /// Sum of the sizes of the planned objects.
    pub planned_bytes: u64,
    /// Estimated ranged GETs (one per non-empty object, plus one more for each object larger than the first
    /// read, a pessimistic guess at growth).
    pub estimated_get_requests: u64,
    /// Estimated bytes read.
    pub estimated_bytes_read: u64,
}

/// The objects of one run, closest to expiry first.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The objects to read, in order.
    pub objects: Vec<ObjectRef>,
    /// Counts.
    pub counts: PlanCounts,
    /// The smallest slack to expiry, in hours, of any object still unloaded (planned, deferred or too young):
    /// what is at risk if this run fails. `None` when no lifecycle rule applies or nothing is unloaded.
    pub min_slack_hours: Option<f64>,
    /// The planned object with the earliest expiry (or the oldest, without lifecycle).
    pub most_urgent: Option<ObjectRef>,
}

/// Builds the plan.
///
/// `loaded` holds the identities (see [`ObjectRef::identity`]) already in the ledger.
pub fn build_plan(
    mut listed: Vec<ObjectRef>,
    loaded: &HashSet<String>,
    now: DateTime<Utc>,
    settle: Duration,
    limits: &LimitsConfig,
) -> Plan {
    // Everything happens in place in the listing's own buffer: the plan is the largest thing a run holds.
    let mut counts = PlanCounts {
        listed: listed.len() as u64,
        ..PlanCounts::default()
    };
    let mut min_slack: Option<f64> = None;
    let mut note_slack = |o: &ObjectRef| {
        if let Some(e) = o.expires_at {
            let h = (e - now).num_seconds() as f64 / 3600.0;
            min_slack = Some(min_slack.map_or(h, |m: f64| m.min(h)));
        }
    };
    listed.retain(|o| {
        if loaded.contains(&o.identity()) {
            counts.already_loaded += 1;
            false
        } else if o.last_modified > now - settle {
            counts.too_young += 1;
            note_slack(o);
            false
        } else {
            note_slack(o);
            true
        }
    });
    // Earliest expiry first; objects without an expiry after those with one; then oldest first.
    listed.sort_unstable_by(|a, b| {
        (a.expires_at.is_none(), a.expires_at, a.last_modified, &a.key).cmp(&(
            b.expires_at.is_none(),
            b.expires_at,
            b.last_modified,
            &b.key,
        ))
    });
    let mut keep = 0;
    for o in &listed {
        let over_count = counts.planned >= limits.max_objects_per_run;
        let over_bytes =
            counts.planned > 0 && counts.planned_bytes.saturating_add(o.size) > limits.max_bytes_per_run;
        if over_count || over_bytes {
            break;
        }
        keep += 1;
        counts.planned += 1;
        counts.planned_bytes = counts.planned_bytes.saturating_add(o.size);
        if o.size > 0 {
            counts.estimated_get_requests += 1 + u64::from(o.size > limits.range_bytes);
            counts.estimated_bytes_read += o.size.min(limits.range_bytes);
        }
    }
    counts.deferred = (listed.len() - keep) as u64;
    listed.truncate(keep);
    listed.shrink_to_fit();
    Plan {
        most_urgent: listed.first().cloned(),
        objects: listed,
        counts,
        min_slack_hours: min_slack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn obj(key: &str, hours_ago: i64, size: u64, now: DateTime<Utc>) -> ObjectRef {
        let lm = now - Duration::hours(hours_ago);
        ObjectRef {
            bucket: "b".into(),
            key: key.into(),
            version_id: None,
            etag: format!("e-{key}"),
            size,
            last_modified: lm,
            expires_at: s3shift_core::expiry_of(lm, 7),
        }
    }

    #[test]
    fn oldest_first_skipping_loaded_and_young_within_limits() -> Result<(), String> {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .ok_or("time")?;
        let listed = vec![
            obj("new", 0, 10, now),
            obj("mid", 50, 10, now),
            obj("old", 150, 10, now),
            obj("done", 100, 10, now),
            obj("older", 160, 10, now),
        ];
        let loaded: HashSet<String> = [listed[3].identity()].into_iter().collect();
        let limits = LimitsConfig {
            max_objects_per_run: 2,
            ..LimitsConfig::default()
        };
        let plan = build_plan(listed, &loaded, now, Duration::seconds(60), &limits);
        let keys: Vec<&str> = plan.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["older", "old"]);
        assert_eq!(plan.counts.already_loaded, 1);
        assert_eq!(plan.counts.too_young, 1);
        assert_eq!(plan.counts.deferred, 1);
        assert_eq!(plan.counts.listed, 5);
        // "older" was modified 160 h ago: expiry at the midnight after +7 days, i.e. 2026-11-22 + 7 = 29th 00:00.
        let slack = plan.min_slack_hours.unwrap_or_default();
        assert!((slack - 12.0).abs() < 1e-9, "{slack}");
        Ok(())
    }
}
