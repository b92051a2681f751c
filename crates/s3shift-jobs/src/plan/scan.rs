//! Planning from the source: the listing streams past the ledger into a bounded [`PlanBuilder`].
//!
//! The ledger window is read first ([`super::ledger`]), so each listed object is checked against it as the
//! listing goes by: a run never holds the bucket's listing, only the objects it will read.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use s3shift_core::ObjectRef;
use s3shift_s3::Lifecycle;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::ledger::ledger_window_start;
use super::{Backfill, LoadedSet, Plan, PlanBuilder, PlanReport, Planner};
use crate::spec::JobSpec;
use crate::{Error, Result};

impl Planner<'_> {
    /// Lists the source, reads the ledger and builds the plan. A backfill lists its own prefixes, keeps only its
    /// window or keys, and ignores the ledger.
    pub(crate) async fn plan(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        backfill: Option<&Backfill>,
    ) -> Result<Plan> {
        let src = &spec.config.source;
        let mut report = PlanReport::default();
        let prefixes = match backfill {
            Some(b) if !b.prefixes.is_empty() => b.prefixes.clone(),
            _ => src.prefixes.clone(),
        };
        // The ledger first: each listed object is checked against it as the listing streams by, so the run
        // never holds the listing, only the objects it will read. A backfill reads no ledger.
        let (lifecycle, window) = if backfill.is_some() {
            (self.source_lifecycle(spec).await, None)
        } else {
            let (lifecycle, window) = self.ledger_window(spec, &prefixes, now).await?;
            (lifecycle, Some(window))
        };
        report.ledger_window = window.map(|w| w.since);
        let window_start = window.map(|w| w.since);
        let loaded = match window_start {
            None => LoadedSet::default(),
            Some(since) => {
                let (loaded, statements) = self.loaded_identities(spec, since).await?;
                report.data_api_statements += statements;
                loaded
            }
        };
        let skip_before_window = window.is_some_and(|w| w.assumed);
        // A reconciliation scan of an event-mode job leaves young objects to their events: what it loads, events
        // missed (or were later than the grace allows).
        let settle_seconds = match &src.events {
            Some(e) if backfill.is_none() => src.settle_seconds.max(e.reconcile_grace_seconds),
            _ => src.settle_seconds,
        };
        let settle = chrono::Duration::seconds(i64::try_from(settle_seconds).unwrap_or(i64::MAX / 1000));
        let mut builder = PlanBuilder::new(&loaded, now, settle, &spec.config.limits);
        // Prefixes are listed in parallel; their pages meet in a short queue, so a slow planner holds the
        // listings back instead of buffering them.
        let (tx, mut rx) = mpsc::channel::<Vec<ObjectRef>>(4);
        let mut listings = JoinSet::new();
        for prefix in prefixes {
            let (mut pages, tx) = (self.s3.pages(&src.bucket, &prefix), tx.clone());
            listings.spawn(tracing::Instrument::in_current_span(async move {
                while let Some(page) = pages.next_page().await? {
                    if tx.send(page).await.is_err() {
                        break;
                    }
                }
                Ok::<u64, s3shift_s3::Error>(pages.requests())
            }));
        }
        drop(tx);
        let named: Option<HashSet<&str>> = backfill
            .and_then(|b| b.keys.as_ref())
            .map(|k| k.iter().map(String::as_str).collect());
        let mut found: HashSet<String> = HashSet::new();
        let mut before_window = 0u64;
        while let Some(page) = rx.recv().await {
            for mut o in page {
                if let Some(b) = backfill {
                    let selected = b.selects(&o) && named.as_ref().is_none_or(|k| k.contains(o.key.as_str()));
                    if !selected {
                        continue;
                    }
                    if named.is_some() {
                        found.insert(o.key.clone());
                    }
                }
                o.expires_at = self.expiry(spec, &lifecycle, &o);
                if window_start.is_some_and(|w| o.last_modified < w) {
                    before_window += 1;
                    if skip_before_window {
                        continue;
                    }
                }
                builder.add(o);
            }
        }
        while let Some(r) = listings.join_next().await {
            report.list_requests += r.map_err(|source| Error::Task {
                what: "a listing task",
                source,
            })??;
        }
        if before_window > 0 && skip_before_window {
            tracing::warn!(bucket = %src.bucket, objects = before_window, window_start = window_start.map(|w| w.to_rfc3339()).unwrap_or_default(),
                assume_lifecycle_days = src.assume_lifecycle_days,
                "objects older than source.assume_lifecycle_days plus the margin are listed: not read (the job \
                 assumes they expire); `s3shift backfill --until` loads any that never were");
        } else if before_window > 0 {
            tracing::warn!(bucket = %src.bucket, objects = before_window, window_start = window_start.map(|w| w.to_rfc3339()).unwrap_or_default(),
                "objects outlived their lifecycle rule by days and predate the ledger window: \
                 read again and replaced, never duplicated");
        }
        if let Some(keys) = backfill.and_then(|b| b.keys.as_ref()) {
            let missing: Vec<&String> = keys.iter().filter(|k| !found.contains(k.as_str())).collect();
            for key in missing.iter().take(20) {
                tracing::warn!(key = %key, "named key not found in the source (expired, deleted, or outside the window)");
            }
            report.objects_not_found = missing.len() as u64;
        }
        let mut plan = builder.finish();
        plan.report = report;
        Ok(plan)
    }

    /// The source bucket's lifecycle rules and the ledger window they bound for `prefixes` at `now` (see
    /// [`ledger_window_start`]); [`Error::UnboundedLedger`] when nothing bounds it: the ledger is never read
    /// whole.
    pub(crate) async fn ledger_window(
        &self,
        spec: &JobSpec,
        prefixes: &[String],
        now: DateTime<Utc>,
    ) -> Result<(Lifecycle, super::ledger::LedgerWindowStart)> {
        let src = &spec.config.source;
        let lifecycle = self.bounding_lifecycle(spec).await?;
        let window =
            ledger_window_start(&lifecycle, prefixes, src.assume_lifecycle_days, now).ok_or_else(|| {
                let uncovered = prefixes
                    .iter()
                    .find(|p| lifecycle.deletes_all_under(p).is_none())
                    .map_or_else(String::new, |p| format!(" under {p:?}"));
                Error::UnboundedLedger {
                    job: spec.name().to_owned(),
                    why: format!(
                        "no lifecycle rule of s3://{} expires every object{uncovered}, and \
                         source.assume_lifecycle_days is 0",
                        src.bucket
                    ),
                    fix: "Add an expiration rule without tag or size filters over the job's prefixes \
                          (deploy/storage.yaml's 7-day rule), or set source.assume_lifecycle_days to the days \
                          objects are kept"
                        .into(),
                    source: None,
                }
            })?;
        Ok((lifecycle, window))
    }

    /// The source bucket's lifecycle rules (none, with a warning, when they cannot be read or there are none).
    pub(crate) async fn source_lifecycle(&self, spec: &JobSpec) -> Lifecycle {
        let src = &spec.config.source;
        let lifecycle = match self.s3.lifecycle(&src.bucket).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(bucket = %src.bucket, error = %e, "cannot read the lifecycle configuration");
                Lifecycle::default()
            }
        };
        if lifecycle.is_empty() {
            tracing::warn!(bucket = %src.bucket, assume_days = src.assume_lifecycle_days,
                "no expiration rule found on the source bucket");
        }
        lifecycle
    }

    /// The source bucket's lifecycle rules for bounding the ledger window: a refusal to read them is an error
    /// naming the permission, unless the job's `assume_lifecycle_days` stands in (logged).
    async fn bounding_lifecycle(&self, spec: &JobSpec) -> Result<Lifecycle> {
        let src = &spec.config.source;
        match self.s3.lifecycle(&src.bucket).await {
            Ok(l) => Ok(l),
            // A missing bucket is named as such (with where its name came from) by the run.
            Err(e @ s3shift_s3::Error::NoSuchBucket { .. }) => Err(e.into()),
            Err(e) if src.assume_lifecycle_days > 0 => {
                tracing::warn!(bucket = %src.bucket, error = %e, assume_days = src.assume_lifecycle_days,
                    "cannot read the lifecycle configuration: source.assume_lifecycle_days bounds the ledger window");
                Ok(Lifecycle::default())
            }
            Err(e) => Err(Error::UnboundedLedger {
                job: spec.name().to_owned(),
                why: format!(
                    "cannot read the lifecycle configuration of s3://{} ({e})",
                    src.bucket
                ),
                fix: format!(
                    "Grant s3:GetLifecycleConfiguration on arn:aws:s3:::{} to the job's role, or set \
                     source.assume_lifecycle_days",
                    src.bucket
                ),
                source: Some(Box::new(e)),
            }),
        }
    }

    /// When `o` expires: by the bucket's rules, else by the job's `assume_lifecycle_days`.
    pub(crate) fn expiry(
        &self,
        spec: &JobSpec,
        lifecycle: &Lifecycle,
        o: &ObjectRef,
    ) -> Option<DateTime<Utc>> {
        let days = spec.config.source.assume_lifecycle_days;
        lifecycle.expiry(&o.key, o.size, o.last_modified).or_else(|| {
            (days > 0)
                .then(|| s3shift_core::expiry_of(o.last_modified, days))
                .flatten()
        })
    }
}
