//! One run per job at a time: a lease object in the staging bucket.
//!
//! The lease is `<staging>/<prefix>/<job>/_state/lease.json`, created with `If-None-Match: *`. Its holder renews
//! it with `If-Match` on the ETag it last wrote, so only the holder can extend it. A lease whose expiry has passed
//! (its holder died without releasing it) is taken over with `If-Match` on the stale ETag: of two runs that find
//! the same stale lease, exactly one wins. Every step is one conditional S3 write, so no clock needs to agree
//! except on the TTL, which is many times longer than a renewal period.

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
    /// Set when this lease was taken over from a holder whose lease had expired.
    pub took_over: Option<LeaseBody>,
}

fn body(holder: &str, acquired: DateTime<Utc>, ttl: Duration) -> Result<Bytes> {
    let expires = chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let b = LeaseBody {
        holder: holder.to_owned(),
        acquired_at: acquired.to_rfc3339(),
        expires_at: expires.to_rfc3339(),
    };
    serde_json::to_vec(&b)
        .map(Bytes::from)
        .map_err(|source| Error::Encode {
            what: "the lease",
            source,
        })
}

/// The lease key of a job.
pub fn lease_key(spec: &JobSpec) -> String {
    format!("{}/_state/lease.json", spec.staging_root())
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

/// Tries once to take the job's lease for `ttl`; renews it every `ttl / 3` while held.
pub async fn acquire(s3: &S3Store, spec: &JobSpec, holder: &str, ttl: Duration) -> Result<Acquired> {
    let bucket = spec.config.staging.bucket.clone();
    let key = lease_key(spec);
    let now = Utc::now();
    let mut took_over = None;
    let etag = match s3.put_if_absent(&bucket, &key, body(holder, now, ttl)?).await? {
        Some(etag) => etag,
        None => {
            let Some((bytes, stale_etag)) = s3.get_with_etag(&bucket, &key).await? else {
                // Released between our two calls: try again from the start once.
                return match s3.put_if_absent(&bucket, &key, body(holder, now, ttl)?).await? {
                    Some(etag) => Ok(Acquired::Held(start(
                        s3, bucket, key, holder, etag, ttl, now, None,
                    ))),
                    None => Err(Error::LeaseContended {
                        location: format!("s3://{bucket}/{key}"),
                    }),
                };
            };
            let current: LeaseBody = serde_json::from_slice(&bytes).map_err(|source| Error::BadState {
                location: format!("s3://{bucket}/{key}"),
                hint: "it is a lease s3shift cannot read: delete it if no run of this job is active",
                source,
            })?;
            let expired = DateTime::parse_from_rfc3339(&current.expires_at)
                .map(|t| t.with_timezone(&Utc) < now)
                .unwrap_or(true);
            if !expired && !holder_is_gone(&current.holder) {
                return Ok(Acquired::Busy(current));
            }
            match s3
                .put_if_match(&bucket, &key, body(holder, now, ttl)?, &stale_etag)
                .await?
            {
                Some(etag) => {
                    tracing::warn!(stale_holder = %current.holder, stale_expiry = %current.expires_at,
                        "took over a stale lease (its holder stopped without releasing it)");
                    took_over = Some(current);
                    etag
                }
                None => {
                    // Another run took it over first.
                    let now_held = s3
                        .get(&bucket, &key)
                        .await?
                        .and_then(|b| serde_json::from_slice::<LeaseBody>(&b).ok())
                        .unwrap_or(current);
                    return Ok(Acquired::Busy(now_held));
                }
            }
        }
    };
    Ok(Acquired::Held(start(
        s3, bucket, key, holder, etag, ttl, now, took_over,
    )))
}

#[allow(clippy::too_many_arguments)]
fn start(
    s3: &S3Store,
    bucket: String,
    key: String,
    holder: &str,
    etag: String,
    ttl: Duration,
    acquired: DateTime<Utc>,
    took_over: Option<LeaseBody>,
) -> Lease {
    let lost = Arc::new(AtomicBool::new(false));
    let (stop, mut stopped) = watch::channel(false);
    let renewer = {
        let (s3, bucket, key, holder, lost) = (
            s3.clone(),
            bucket.clone(),
            key.clone(),
            holder.to_owned(),
            lost.clone(),
        );
        tokio::spawn(async move {
            let mut etag = etag;
            let period = (ttl / 3).max(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stopped.changed() => return Some(etag),
                }
                let Ok(next) = body(&holder, acquired, ttl) else {
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
        })
    };
    Lease {
        s3: s3.clone(),
        bucket,
        key,
        holder: holder.to_owned(),
        lost,
        stop,
        renewer,
        took_over,
    }
}

impl Lease {
    /// Whether another run took the lease over (this run must then not load).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and deletes the lease if this run still holds it.
    pub async fn release(self) -> Result<()> {
        let _ = self.stop.send(true);
        let etag = self.renewer.await.ok().flatten();
        if etag.is_none() {
            return Ok(());
        }
        // Delete only our own lease: a takeover after a long stall must not be undone.
        if let Some(bytes) = self.s3.get(&self.bucket, &self.key).await?
            && serde_json::from_slice::<LeaseBody>(&bytes).is_ok_and(|b| b.holder == self.holder)
        {
            self.s3.delete(&self.bucket, &self.key).await?;
        }
        Ok(())
    }
}
