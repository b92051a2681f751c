//! Planning a run: from a listing (or an event batch) and the ledger to the ordered list of objects to read.
//!
//! Planning imports nothing of the run: the run hands a [`Planner`] its clients and gets a [`Plan`] back, with
//! the plan's own [`PlanReport`] (what planning cost). This file is pure: the listing, the ledger and the clock
//! come in, the plan goes out. Objects closest to
//! expiry come first, so a run cut short by its limits always leaves the objects with the most slack. Its two
//! submodules do the reading: [`ledger`] reads the ledger window from the warehouse into a [`LoadedSet`], and
//! [`scan`] streams the source's listing past it into a [`PlanBuilder`]; [`events`] plans from the
//! objects an event batch names, looked up in the ledger by key.
//!
//! Bounded: [`PlanBuilder`] takes the listing one object at a time and keeps only the `max_objects_per_run`
//! most urgent, and [`LoadedSet`] holds the ledger as 16-byte hashes. What a run holds for its plan no longer
//! grows with the listing, only with the ledger window (see [`ledger::ledger_window_start`]).

pub mod events;
pub mod ledger;
pub mod scan;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use s3shift_core::ObjectRef;
use s3shift_redshift::DataApi;
use s3shift_s3::S3Store;
use serde::Serialize;

use crate::spec::LimitsConfig;

/// Planning's reads: the source (its listing and lifecycle) and the warehouse's ledger.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planner<'a> {
    /// S3: the source's listing and lifecycle configuration.
    pub(crate) s3: &'a S3Store,
    /// The warehouse: the ledger.
    pub(crate) api: &'a DataApi,
}

/// What planning cost and found beside the plan: the run's summary takes these.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanReport {
    /// Data API statements (ledger reads and lookups).
    pub data_api_statements: u64,
    /// ListObjectsV2 requests.
    pub list_requests: u64,
    /// A backfill by key: named keys the source no longer holds.
    pub objects_not_found: u64,
    /// Where the ledger window started (none for a backfill, which reads no ledger): rows older are read by no
    /// statement, and may be pruned.
    pub ledger_window: Option<DateTime<Utc>>,
}

/// What a backfill reprocesses: objects modified in `[since, until)`, under `prefixes` (the job's when empty),
/// optionally only the named keys. The ledger is not consulted: every selected object is read again and its
/// rows replaced (never duplicated).
#[derive(Debug, Clone, Default)]
pub struct Backfill {
    /// Oldest LastModified included.
    pub since: Option<DateTime<Utc>>,
    /// LastModified excluded from here on.
    pub until: Option<DateTime<Utc>>,
    /// Prefixes to list instead of the job's.
    pub prefixes: Vec<String>,
    /// Only these keys.
    pub keys: Option<HashSet<String>>,
}

impl Backfill {
    /// Whether `o`'s LastModified falls in the window (named keys are checked by the caller).
    pub fn selects(&self, o: &ObjectRef) -> bool {
        self.since.is_none_or(|t| o.last_modified >= t) && self.until.is_none_or(|t| o.last_modified < t)
    }
}

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
    /// What planning cost.
    pub report: PlanReport,
}

/// The ledger's object identities (see [`ObjectRef::identity`]), kept as 128-bit hashes: 16 bytes an object
/// instead of the identity string, so a ledger window of millions of objects fits a small task.
///
/// The two 64-bit halves come from independently keyed SipHash instances (random keys per process). Two
/// different identities share a hash with probability about n²/2¹²⁹ (under 10⁻²⁴ for ten million objects); a
/// false "loaded" would skip an object, so the hash is wide enough to make that beyond reach.
#[derive(Debug, Default)]
pub struct LoadedSet {
    keys: (std::hash::RandomState, std::hash::RandomState),
    hashes: HashSet<u128>,
}

impl LoadedSet {
    fn hash(&self, identity: &str) -> u128 {
        use std::hash::BuildHasher;
        (u128::from(self.keys.0.hash_one(identity)) << 64) | u128::from(self.keys.1.hash_one(identity))
    }

    /// Records an identity as loaded.
    pub fn insert(&mut self, identity: &str) {
        let h = self.hash(identity);
        self.hashes.insert(h);
    }

    /// Whether `object`'s identity was recorded.
    pub fn contains(&self, object: &ObjectRef) -> bool {
        self.hashes.contains(&self.hash(&object.identity()))
    }

    /// How many identities were recorded.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

/// The order of a plan: earliest expiry first; objects without an expiry after those with one; then oldest
/// first, then by key.
struct Urgency(ObjectRef);

impl Urgency {
    fn rank(&self) -> (bool, Option<DateTime<Utc>>, DateTime<Utc>, &str) {
        let o = &self.0;
        (
            o.expires_at.is_none(),
            o.expires_at,
            o.last_modified,
            o.key.as_str(),
        )
    }
}

impl PartialEq for Urgency {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}

impl Eq for Urgency {}

impl PartialOrd for Urgency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Urgency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// Builds a plan from a listing fed one object at a time. It holds at most `max_objects_per_run` objects (the
/// most urgent seen so far), whatever the size of the listing.
pub struct PlanBuilder<'a> {
    loaded: &'a LoadedSet,
    now: DateTime<Utc>,
    settle: Duration,
    limits: &'a LimitsConfig,
    counts: PlanCounts,
    min_slack: Option<f64>,
    eligible: u64,
    // A max-heap: its top is the least urgent kept, the one to drop when a more urgent object arrives.
    kept: std::collections::BinaryHeap<Urgency>,
}

impl std::fmt::Debug for PlanBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanBuilder")
            .field("counts", &self.counts)
            .field("kept", &self.kept.len())
            .finish_non_exhaustive()
    }
}

impl<'a> PlanBuilder<'a> {
    /// A builder for a run at `now`: objects in `loaded` are skipped, objects modified within `settle` wait.
    pub fn new(
        loaded: &'a LoadedSet,
        now: DateTime<Utc>,
        settle: Duration,
        limits: &'a LimitsConfig,
    ) -> Self {
        Self {
            loaded,
            now,
            settle,
            limits,
            counts: PlanCounts::default(),
            min_slack: None,
            eligible: 0,
            kept: std::collections::BinaryHeap::new(),
        }
    }

    /// How many objects the builder holds now (never more than `max_objects_per_run`).
    pub fn held(&self) -> usize {
        self.kept.len()
    }

    /// Takes one listed object (its `expires_at` already filled in).
    pub fn add(&mut self, o: ObjectRef) {
        self.counts.listed += 1;
        if self.loaded.contains(&o) {
            self.counts.already_loaded += 1;
            return;
        }
        if let Some(e) = o.expires_at {
            let h = (e - self.now).num_seconds() as f64 / 3600.0;
            self.min_slack = Some(self.min_slack.map_or(h, |m| m.min(h)));
        }
        if o.last_modified > self.now - self.settle {
            self.counts.too_young += 1;
            return;
        }
        self.eligible += 1;
        let cap = usize::try_from(self.limits.max_objects_per_run).unwrap_or(usize::MAX);
        if cap == 0 {
            return;
        }
        let o = Urgency(o);
        if self.kept.len() < cap {
            self.kept.push(o);
        } else if self.kept.peek().is_some_and(|least| o < *least) {
            self.kept.pop();
            self.kept.push(o);
        }
    }

    /// The plan: the most urgent objects within the run's object and byte limits, in order.
    pub fn finish(self) -> Plan {
        let Self {
            mut counts,
            min_slack,
            eligible,
            kept,
            limits,
            ..
        } = self;
        let mut objects: Vec<ObjectRef> = kept.into_sorted_vec().into_iter().map(|u| u.0).collect();
        let mut keep = 0;
        for o in &objects {
            let over_bytes =
                counts.planned > 0 && counts.planned_bytes.saturating_add(o.size) > limits.max_bytes_per_run;
            if over_bytes {
                break;
            }
            keep += 1;
            counts.planned += 1;
            counts.planned_bytes = counts.planned_bytes.saturating_add(o.size);
            if o.size > 0 {
                counts.estimated_get_requests +=
                    1 + u64::from(o.size > limits.range_bytes) + u64::from(limits.checksums && o.size > 0);
                counts.estimated_bytes_read += o.size.min(limits.range_bytes);
            }
        }
        objects.truncate(keep);
        counts.deferred = eligible - counts.planned;
        Plan {
            most_urgent: objects.first().cloned(),
            objects,
            counts,
            min_slack_hours: min_slack,
            report: PlanReport::default(),
        }
    }
}

/// Builds the plan of a whole listing at once (see [`PlanBuilder`]).
pub fn build_plan(
    listed: Vec<ObjectRef>,
    loaded: &LoadedSet,
    now: DateTime<Utc>,
    settle: Duration,
    limits: &LimitsConfig,
) -> Plan {
    let mut builder = PlanBuilder::new(loaded, now, settle, limits);
    for o in listed {
        builder.add(o);
    }
    builder.finish()
}

/// One time slice of the ledger window, read by one statement: rows with `last_modified` in
/// `[from_minute, to_minute)`, in minutes since the epoch; `None` leaves that side open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerSlice {
    /// First minute, or from the start of the window.
    pub from_minute: Option<i64>,
    /// Minute after the last, or to the end.
    pub to_minute: Option<i64>,
}

/// Cuts the ledger window into slices of consecutive minutes, each holding at most `budget` bytes, from the
/// bytes each minute holds (`minutes`: ascending, distinct). A single minute over the budget is a slice of its
/// own. The slices cover every instant exactly once (the first is open below, the last open above), so a row
/// is read once whatever minute it falls in, including minutes the sizing did not see; no minutes, no slices.
pub fn ledger_slices(minutes: &[(i64, u64)], budget: u64) -> Vec<LedgerSlice> {
    let mut slices = Vec::new();
    if minutes.is_empty() {
        return slices;
    }
    let (mut from, mut held) = (None, 0u64);
    for (i, &(minute, bytes)) in minutes.iter().enumerate() {
        if i > 0 && held.saturating_add(bytes) > budget {
            slices.push(LedgerSlice {
                from_minute: from,
                to_minute: Some(minute),
            });
            from = Some(minute);
            held = 0;
        }
        held = held.saturating_add(bytes);
    }
    slices.push(LedgerSlice {
        from_minute: from,
        to_minute: None,
    });
    slices
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
        let mut loaded = LoadedSet::default();
        loaded.insert(&listed[3].identity());
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

    /// The plan as the whole listing would give it: sort everything, take the prefix that fits the limits.
    fn reference(
        listed: &[ObjectRef],
        loaded: &LoadedSet,
        now: DateTime<Utc>,
        limits: &LimitsConfig,
    ) -> Vec<String> {
        let mut eligible: Vec<&ObjectRef> = listed
            .iter()
            .filter(|o| !loaded.contains(o) && o.last_modified <= now - Duration::seconds(60))
            .collect();
        eligible.sort_by_key(|o| {
            (
                o.expires_at.is_none(),
                o.expires_at,
                o.last_modified,
                o.key.clone(),
            )
        });
        let (mut n, mut bytes, mut out) = (0u64, 0u64, Vec::new());
        for o in eligible {
            if n >= limits.max_objects_per_run || (n > 0 && bytes + o.size > limits.max_bytes_per_run) {
                break;
            }
            n += 1;
            bytes += o.size;
            out.push(o.key.clone());
        }
        out
    }

    #[test]
    fn streaming_keeps_at_most_the_object_limit_and_plans_what_sorting_everything_would() -> Result<(), String>
    {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .ok_or("time")?;
        // 20,000 objects in a scrambled order (a fixed LCG), ages up to 9 days, some without expiry, some
        // sharing a LastModified, one in five already loaded.
        let mut x: u64 = 42;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        let mut listed = Vec::new();
        let mut loaded = LoadedSet::default();
        for i in 0..20_000u64 {
            let mut o = obj(
                &format!("k{:05}", next() % 100_000),
                i64::try_from(next() % 216).unwrap_or(0),
                next() % 5_000,
                now,
            );
            o.key.push_str(&format!("-{i}"));
            if i % 7 == 0 {
                o.expires_at = None;
            }
            if i % 5 == 0 {
                loaded.insert(&o.identity());
            }
            listed.push(o);
        }
        for (max_objects, max_bytes) in [
            (100, u64::MAX),
            (1_000, 300_000),
            (50_000, u64::MAX),
            (0, u64::MAX),
            (10, 1),
        ] {
            let limits = LimitsConfig {
                max_objects_per_run: max_objects,
                max_bytes_per_run: max_bytes,
                ..LimitsConfig::default()
            };
            let mut builder = PlanBuilder::new(&loaded, now, Duration::seconds(60), &limits);
            let mut most_held = 0;
            for o in listed.iter().cloned() {
                builder.add(o);
                most_held = most_held.max(builder.held());
            }
            assert!(
                most_held as u64 <= max_objects,
                "held {most_held} objects with a limit of {max_objects}"
            );
            let plan = builder.finish();
            let keys: Vec<String> = plan.objects.iter().map(|o| o.key.clone()).collect();
            assert_eq!(
                keys,
                reference(&listed, &loaded, now, &limits),
                "limits {max_objects}/{max_bytes}"
            );
            let c = &plan.counts;
            assert_eq!(c.listed, 20_000);
            assert_eq!(c.already_loaded, 4_000);
            assert_eq!(c.already_loaded + c.too_young + c.deferred + c.planned, c.listed);
        }
        Ok(())
    }

    #[test]
    fn the_loaded_set_tells_identities_apart() {
        let now = Utc::now();
        let mut loaded = LoadedSet::default();
        let objects: Vec<ObjectRef> = (0..50_000).map(|i| obj(&format!("key-{i}"), 1, 1, now)).collect();
        for o in objects.iter().step_by(2) {
            loaded.insert(&o.identity());
        }
        assert_eq!(loaded.len(), 25_000);
        for (i, o) in objects.iter().enumerate() {
            assert_eq!(loaded.contains(o), i % 2 == 0, "{}", o.key);
        }
        // Same key, another ETag or version: another identity.
        let mut other = objects[0].clone();
        other.etag.push('x');
        assert!(!loaded.contains(&other));
        let mut versioned = objects[0].clone();
        versioned.version_id = Some("v2".into());
        assert!(!loaded.contains(&versioned));
    }

    #[test]
    fn ledger_slices_cover_the_window_once_within_the_budget() {
        assert!(ledger_slices(&[], 100).is_empty());
        let one = ledger_slices(&[(5, 10), (9, 20)], 100);
        assert_eq!(
            one,
            [LedgerSlice {
                from_minute: None,
                to_minute: None
            }]
        );
        // 7 minutes of 40 bytes, one of 250 (over the budget on its own), then 3 more.
        let mut minutes: Vec<(i64, u64)> = (0..7).map(|m| (m * 2, 40)).collect();
        minutes.push((20, 250));
        minutes.extend((21..24).map(|m| (m, 40)));
        let slices = ledger_slices(&minutes, 100);
        // Contiguous, open at both ends.
        assert_eq!(slices.first().and_then(|s| s.from_minute), None);
        assert_eq!(slices.last().and_then(|s| s.to_minute), None);
        for pair in slices.windows(2) {
            assert_eq!(pair[0].to_minute, pair[1].from_minute);
        }
        // Every minute in exactly one slice, and no slice over the budget but the lone big minute.
        for slice in &slices {
            let inside: Vec<&(i64, u64)> = minutes
                .iter()
                .filter(|(m, _)| {
                    slice.from_minute.is_none_or(|f| *m >= f) && slice.to_minute.is_none_or(|t| *m < t)
                })
                .collect();
            assert!(!inside.is_empty(), "{slice:?} holds no minute");
            let bytes: u64 = inside.iter().map(|(_, b)| b).sum();
            assert!(bytes <= 100 || inside.len() == 1, "{slice:?}: {bytes} bytes");
        }
        assert_eq!(slices.len(), 7, "{slices:?}");
    }
}
