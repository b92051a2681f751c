//! One run per job at a time: a lease object in the staging bucket, with a fencing token.
//!
//! The lease is `<staging>/<prefix>/<job>/_state/lease.json`, created with `If-None-Match: *`. Its holder renews
//! it with `If-Match` on the ETag it last wrote, so only the holder can extend it. A lease whose expiry has passed
//! (its holder died without releasing it) is taken over with `If-Match` on the stale ETag: of two runs that find
//! the same stale lease, exactly one wins. Every step is one conditional S3 write, so no clock needs to agree
//! except on the TTL, which is many times longer than a renewal period.
//!
//! # Fencing
//! The lease makes runs efficient (one at a time), not correct: a holder that stalls past its TTL (a paused
//! task, a long GC, a network partition) may wake up and submit its load after another run took the lease over
//! (Kleppmann's fencing tokens). So every taking of the lease gets a larger **generation**, and the load
//! transaction checks and advances it in the warehouse (`s3shift.load_fences`, see `run/load.rs`): a batch
//! whose generation is older than the last one committed for its lease fails and commits nothing.
//!
//! A generation is the previous holder's plus one, read from the lease object that the conditional write
//! replaces, so it grows with every taking whatever the clocks say. Released leases are therefore kept, marked
//! `released`, instead of deleted. Where no lease object is left (never taken, or removed by the staging
//! bucket's lifecycle after a long pause), the generation starts from the current time in microseconds, which is
//! larger than any generation taken earlier as long as clocks are within the lifecycle's days of each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use s3shift_s3::S3Store;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::spec::JobSpec;
use crate::{Error, Result};

/// What the lease object says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeaseBody {
    /// Who holds it: host, process id and run id.
    pub holder: String,
    /// When it was first taken, RFC 3339.
    pub acquired_at: String,
    /// When it lapses unless renewed, RFC 3339.
    pub expires_at: String,
    /// The fencing token of this taking of the lease: larger than every earlier one (absent, 0, in leases an
    /// older s3shift wrote).
    #[serde(default)]
    pub generation: u64,
    /// Its holder released it: the next run takes it at once. (An older s3shift reads a released lease as
    /// expired, since its `expires_at` is the release time.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub released: bool,
}

impl LeaseBody {
    /// Whether a new run may take the lease now: released, expired, or held by a process of this host that
    /// no longer runs.
    fn free_at(&self, now: DateTime<Utc>) -> bool {
        let expired = DateTime::parse_from_rfc3339(&self.expires_at)
            .map(|t| t.with_timezone(&Utc) < now)
            .unwrap_or(true);
        self.released || expired || holder_is_gone(&self.holder)
    }
}

/// The outcome of trying to take the lease.
#[derive(Debug)]
pub enum Acquired {
    /// Held; renewed in the background until released.
    Held(Lease),
    /// Another live run holds it.
    Busy(LeaseBody),
}

/// A held lease. Renewal runs in the background; [`Lease::lost`] says whether another run took it over (after
/// renewals kept failing past the TTL); [`Lease::release`] deletes it.
#[derive(Debug)]
pub struct Lease {
    s3: S3Store,
    bucket: String,
    key: String,
    holder: String,
    lost: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    renewer: tokio::task::JoinHandle<Option<String>>,
    generation: u64,
    acquired: DateTime<Utc>,
    slot: Slot,
    /// Set when this lease was taken over from a holder whose lease had expired.
    pub took_over: Option<LeaseBody>,
}

/// What one write of the lease says.
#[derive(Debug, Clone, Copy)]
struct Terms<'a> {
    holder: &'a str,
    acquired: DateTime<Utc>,
    generation: u64,
}

fn body(terms: Terms<'_>, ttl: Duration) -> Result<Bytes> {
    let expires = chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    encode(&LeaseBody {
        holder: terms.holder.to_owned(),
        acquired_at: terms.acquired.to_rfc3339(),
        expires_at: expires.to_rfc3339(),
        generation: terms.generation,
        released: false,
    })
}

/// The generation of a taking of the lease that replaces `previous` (none: no lease object left).
fn next_generation(previous: Option<&LeaseBody>, now: DateTime<Utc>) -> u64 {
    let clock = u64::try_from(now.timestamp_micros()).unwrap_or(0);
    previous.map_or(clock, |p| p.generation.saturating_add(1).max(clock))
}

fn encode(b: &LeaseBody) -> Result<Bytes> {
    serde_json::to_vec(b)
        .map(Bytes::from)
        .map_err(|source| Error::Encode {
            what: "the lease",
            source,
        })
}

/// One of a job's leases. Slot 0, `lease.json`, is the job's lease for scans, backfills and replays (and its only
/// one unless `[source.events] consumers` asks for more); event consumers also take slots 1.. (`lease-<n>.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(pub u32);

impl Slot {
    /// The job's first slot.
    pub const FIRST: Self = Self(0);

    /// The slots an event run tries, in order: 1.. first when there are several, so that slot 0 stays free for
    /// the reconciliation scan as long as one of them is; slot 0 alone otherwise.
    pub fn for_events(spec: &JobSpec) -> Vec<Self> {
        let n = spec
            .config
            .source
            .events
            .as_ref()
            .map_or(1, |e| e.consumers.max(1));
        (1..n).chain([0]).map(Self).collect()
    }

    /// `name.json` for slot 0, `name-<n>.json` for slot n.
    pub fn file(self, name: &str) -> String {
        if self.0 == 0 {
            format!("{name}.json")
        } else {
            format!("{name}-{}.json", self.0)
        }
    }
}

/// The key of a job's lease in `slot`.
pub fn lease_key(spec: &JobSpec, slot: Slot) -> String {
    format!("{}/_state/{}", spec.staging_root(), slot.file("lease"))
}

/// Who this process is, for the lease's `holder`.
pub fn holder_name(run_id: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host}:{}:{run_id}", std::process::id())
}

/// Whether `holder` (`host:pid:run`) names a process of this host that no longer runs: a run killed on this
/// machine (a laptop backfill, a test) need not wait out its lease. Elsewhere only the TTL tells.
fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.splitn(3, ':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let here = holder_name("");
    let this_host = here.split(':').next().unwrap_or("");
    let proc = std::path::Path::new("/proc");
    host == this_host && pid != std::process::id() && proc.is_dir() && !proc.join(pid.to_string()).exists()
}

/// Tries once to take the job's lease in `slot` for `ttl`; renews it every `ttl / 3` while held. A lease that
/// was released, has expired, or whose holder is gone is taken, with the next generation.
pub async fn acquire(
    s3: &S3Store,
    spec: &JobSpec,
    slot: Slot,
    holder: &str,
    ttl: Duration,
) -> Result<Acquired> {
    let bucket = spec.config.staging.bucket.clone();
    let key = lease_key(spec, slot);
    let location = || format!("s3://{bucket}/{key}");
    let now = Utc::now();
    let terms = |generation| Terms {
        holder,
        acquired: now,
        generation,
    };
    let held = |generation, etag, took_over| {
        let place = (bucket.clone(), key.clone(), slot);
        Acquired::Held(start(s3, place, terms(generation), etag, ttl, took_over))
    };
    let fresh = next_generation(None, now);
    if let Some(etag) = s3.put_if_absent(&bucket, &key, body(terms(fresh), ttl)?).await? {
        return Ok(held(fresh, etag, None));
    }
    let Some((bytes, current_etag)) = s3.get_with_etag(&bucket, &key).await? else {
        // Removed between our two calls (by an older s3shift's release): try again from the start once.
        return match s3.put_if_absent(&bucket, &key, body(terms(fresh), ttl)?).await? {
            Some(etag) => Ok(held(fresh, etag, None)),
            None => Err(Error::LeaseContended { location: location() }),
        };
    };
    let current: LeaseBody = serde_json::from_slice(&bytes).map_err(|source| Error::BadState {
        location: location(),
        hint: "it is a lease s3shift cannot read: delete it if no run of this job is active",
        source,
    })?;
    if !current.free_at(now) {
        return Ok(Acquired::Busy(current));
    }
    let generation = next_generation(Some(&current), now);
    let Some(etag) = s3
        .put_if_match(&bucket, &key, body(terms(generation), ttl)?, &current_etag)
        .await?
    else {
        // Another run took it first.
        let now_held = s3
            .get(&bucket, &key)
            .await?
            .and_then(|b| serde_json::from_slice::<LeaseBody>(&b).ok())
            .unwrap_or(current);
        return Ok(Acquired::Busy(now_held));
    };
    let took_over = if current.released {
        None
    } else {
        tracing::warn!(stale_holder = %current.holder, stale_expiry = %current.expires_at,
            stale_generation = current.generation, generation,
            "took over a stale lease (its holder stopped without releasing it); a load it still submits is fenced off");
        Some(current)
    };
    Ok(held(generation, etag, took_over))
}

fn start(
    s3: &S3Store,
    (bucket, key, slot): (String, String, Slot),
    terms: Terms<'_>,
    etag: String,
    ttl: Duration,
    took_over: Option<LeaseBody>,
) -> Lease {
    let lost = Arc::new(AtomicBool::new(false));
    let (stop, mut stopped) = watch::channel(false);
    let (holder, acquired, generation) = (terms.holder.to_owned(), terms.acquired, terms.generation);
    let renewer = {
        let (s3, bucket, key, holder, lost) = (
            s3.clone(),
            bucket.clone(),
            key.clone(),
            holder.clone(),
            lost.clone(),
        );
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            let mut etag = etag;
            let period = (ttl / 3).max(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stopped.changed() => return Some(etag),
                }
                let terms = Terms {
                    holder: &holder,
                    acquired,
                    generation,
                };
                let Ok(next) = body(terms, ttl) else {
                    continue;
                };
                match s3.put_if_match(&bucket, &key, next, &etag).await {
                    Ok(Some(e)) => etag = e,
                    Ok(None) => {
                        tracing::error!(%key, "lost the lease: another run took it over");
                        lost.store(true, Ordering::SeqCst);
                        return None;
                    }
                    Err(e) => tracing::warn!(%key, error = %e, "renewing the lease failed; trying again"),
                }
            }
        }))
    };
    Lease {
        s3: s3.clone(),
        bucket,
        key,
        holder,
        lost,
        stop,
        renewer,
        generation,
        acquired,
        slot,
        took_over,
    }
}

impl Lease {
    /// Whether another run took the lease over (this run must then not load).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The slot held.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// This taking's fencing token: the load transaction commits only while no later one has committed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `s3://bucket/key` of the lease object: the name its fence has in the warehouse.
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Stops renewing and marks the lease released if this run still holds it (kept, not deleted: the next
    /// taking reads its generation from it).
    pub async fn release(self) -> Result<()> {
        let _ = self.stop.send(true);
        let Some(etag) = self.renewer.await.ok().flatten() else {
            return Ok(());
        };
        let now = Utc::now().to_rfc3339();
        let released = encode(&LeaseBody {
            holder: self.holder.clone(),
            acquired_at: self.acquired.to_rfc3339(),
            expires_at: now,
            generation: self.generation,
            released: true,
        })?;
        // Conditional on our last write: a takeover after a long stall must not be undone.
        self.s3
            .put_if_match(&self.bucket, &self.key, released, &etag)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(generation: u64, released: bool, expires_at: &str) -> LeaseBody {
        LeaseBody {
            holder: "elsewhere:1:run".into(),
            acquired_at: "2026-01-01T00:00:00+00:00".into(),
            expires_at: expires_at.into(),
            generation,
            released,
        }
    }

    #[test]
    fn generations_only_grow_whatever_the_clock_says() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let clock = u64::try_from(now.timestamp_micros()).unwrap_or(0);
        assert_eq!(next_generation(None, now), clock);
        // A previous holder whose clock ran ahead: one more than its generation, not the (smaller) time.
        let ahead = lease(clock + 1_000_000, true, "2026-01-01T00:00:00+00:00");
        assert_eq!(next_generation(Some(&ahead), now), clock + 1_000_001);
        // A lease an older s3shift wrote (no generation): the time.
        assert_eq!(next_generation(Some(&lease(0, false, "x")), now), clock);
    }

    #[test]
    fn a_released_or_expired_lease_is_free_and_a_live_one_is_not() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let later = (now + chrono::Duration::minutes(5)).to_rfc3339();
        assert!(!lease(1, false, &later).free_at(now));
        assert!(lease(1, true, &later).free_at(now));
        assert!(lease(1, false, "2026-01-01T00:00:00+00:00").free_at(now));
        // What an older s3shift reads: no `released`, an expiry in the past.
        let text = r#"{"holder":"h:1:r","acquired_at":"2026-01-01T00:00:00+00:00","expires_at":"2026-01-01T00:15:00+00:00"}"#;
        let old: LeaseBody = serde_json::from_str(text).unwrap_or_else(|_| lease(0, false, ""));
        assert_eq!((old.generation, old.released), (0, false));
    }
}
