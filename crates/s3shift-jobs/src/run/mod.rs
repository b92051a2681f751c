//! One run of one job: plan, extract, stage, load, report.
//!
//! # Organization
//! - this file: the entry points ([`Pipeline::run`], [`Pipeline::replay`]), the lease around them, and the
//!   order of the phases;
//! - [`crate::plan`]: the plan, from the ledger window and the streamed listing, or from an event batch;
//! - [`crate::events`]: event mode (receiving and settling a run's messages, `--follow`);
//! - [`extract`]: reading workers, progress, and staging Parquet files;
//! - [`load`]: the load's states (staged → submitted → loaded → reported), the pending-load pointer, and the
//!   exactly-once argument;
//! - [`summary`]: [`RunSummary`] and the run's status;
//! - [`crash`]: the named crash points the crash tests stop a run at.

mod crash;
mod extract;
mod load;
mod pointer;
mod summary;

use std::collections::HashSet;
use std::time::Instant;

use tracing::Instrument;

use chrono::{DateTime, Utc};
use s3shift_core::{RunId, RunStatus};
use s3shift_redshift::DataApi;
use s3shift_s3::S3Store;
use s3shift_stage::CopyManifest;

use crate::events::EventQueue;

pub use crate::plan::Backfill;
pub use crash::{CrashPoint, FAILPOINT_RELEASE_VAR, FAILPOINT_VAR};
pub use extract::Progress;
pub use summary::{RunMode, RunSummary, StageSeconds};

use crate::events::{EventBatch, Heartbeat, QueueDepths};
use crate::lease::{Lease, Slot};
use crate::plan::{Plan, Planner};
use crate::spec::JobSpec;
use crate::{Error, Result};
use load::StagedLoad;
use pointer::{PendingLoad, StagedFigures};

/// Days below the ledger window a scan prunes the ledger at: runs compute their windows from their own clocks,
/// and a run that started a little earlier may still read a little further back.
const LEDGER_PRUNE_SLACK_DAYS: i64 = 1;

/// The clients a run talks through.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// S3 (source and staging).
    pub s3: S3Store,
    /// The warehouse.
    pub api: DataApi,
    /// The job's event queue, for a job with `[source.events]`.
    pub events: Option<EventQueue>,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Plan only: list, compare with the ledger, print what a run would do; read and write nothing else.
    pub dry_run: bool,
    /// The clock (tests set it; `None` is now).
    pub now: Option<DateTime<Utc>>,
    /// Reprocess a window or named keys instead of what the ledger lacks.
    pub backfill: Option<Backfill>,
    /// Turns `true` when the run should drain (SIGTERM): no new object is read, what was read is staged and
    /// loaded, the rest is left for the next run.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Progress reporting while objects are read.
    pub progress: Progress,
    /// Plan from a listing even when the job has an event queue: the reconciliation scan, which leaves objects
    /// younger than `reconcile_grace_seconds` to their events and counts what it loads as event misses.
    pub scan: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            now: None,
            backfill: None,
            stop: None,
            progress: Progress::Off,
            scan: false,
        }
    }
}

/// The outcome of `s3shift run`.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// `--dry-run`: the plan.
    DryRun {
        /// The run id it would have had.
        run_id: RunId,
        /// The plan.
        plan: Box<Plan>,
        /// Whether an interrupted load is pending (a real run finishes it first).
        pending_load: Option<String>,
        /// Data API statements the plan took to read the ledger (sizing its window, then its slices).
        ledger_statements: u64,
        /// For a job in event mode: the depth of its queue and dead-letter queue (a dry run receives nothing,
        /// since receiving hides messages and counts toward the dead-letter queue; its plan is the
        /// reconciliation scan's).
        queue: Option<QueueDepths>,
    },
    /// The runs that happened: a resumed load first, if one was pending, then this invocation's own run.
    Ran(Vec<RunSummary>),
    /// Another run of the job holds the lease; nothing was done.
    Skipped {
        /// Who holds it.
        holder: String,
        /// Until when, unless renewed.
        expires_at: String,
    },
}

impl Pipeline {
    /// Runs `spec` once: first finishes a load an interrupted run left pending, then plans, extracts, stages,
    /// loads and reports a new run. Errors are told in the job's terms ([`Error::explain`]).
    pub async fn run(&self, spec: &JobSpec, options: &RunOptions) -> Result<RunOutcome> {
        self.run_once(spec, options).await.map_err(|e| e.explain(spec))
    }

    async fn run_once(&self, spec: &JobSpec, options: &RunOptions) -> Result<RunOutcome> {
        let now = options.now.unwrap_or_else(Utc::now);
        let run_id = new_run_id(spec, now, Slot::FIRST)?;
        if options.dry_run {
            self.preflight(spec).await?;
            // Any slot's: a dead consumer's pending load is finished by the next run that takes its slot.
            let mut pending = None;
            for slot in Slot::for_events(spec) {
                if let Some((p, _)) = self.pending_load(spec, slot).await? {
                    pending = Some(p.run_id.to_string());
                    break;
                }
            }
            let plan = self.planner().plan(spec, now, options.backfill.as_ref()).await?;
            let queue = match &self.events {
                Some(q) if spec.config.source.events.is_some() => Some(q.depths().await?),
                _ => None,
            };
            return Ok(RunOutcome::DryRun {
                run_id,
                ledger_statements: plan.report.data_api_statements,
                plan: Box::new(plan),
                pending_load: pending,
                queue,
            });
        }
        self.preflight(spec).await?;
        let slots = if self.event_mode(spec, options) {
            Slot::for_events(spec)
        } else {
            vec![Slot::FIRST]
        };
        let lease = match self.take_lease(spec, &run_id, &slots).await? {
            Ok(lease) => lease,
            Err(skipped) => return Ok(skipped),
        };
        let outcome = self.run_leased(spec, now, options, &lease).await;
        released_after(lease, outcome).await
    }

    /// Takes the first free lease of `slots` for `run_id`, or answers the [`RunOutcome::Skipped`] to return when
    /// other live runs hold them all.
    async fn take_lease(
        &self,
        spec: &JobSpec,
        run_id: &RunId,
        slots: &[Slot],
    ) -> Result<std::result::Result<Lease, RunOutcome>> {
        let holder = crate::lease::holder_name(run_id.as_str());
        let ttl = std::time::Duration::from_secs(spec.config.limits.lease_ttl_seconds);
        let mut busy = None;
        for slot in slots {
            match crate::lease::acquire(&self.s3, spec, *slot, &holder, ttl).await? {
                crate::lease::Acquired::Held(lease) => return Ok(Ok(lease)),
                crate::lease::Acquired::Busy(b) => {
                    busy.get_or_insert(b);
                }
            }
        }
        let (holder, expires_at) = busy.map(|b| (b.holder, b.expires_at)).unwrap_or_default();
        tracing::warn!(%holder, %expires_at, slots = slots.len(),
            "another run of this job holds the lease; nothing to do");
        Ok(Err(RunOutcome::Skipped { holder, expires_at }))
    }

    async fn run_leased(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        options: &RunOptions,
        lease: &Lease,
    ) -> Result<RunOutcome> {
        let mut done = self.finish_pending(spec, lease).await?;
        if options.stop.as_ref().is_some_and(|s| *s.borrow()) {
            tracing::warn!("stop requested: not starting a new run");
            return Ok(RunOutcome::Ran(done));
        }
        let batch = if self.event_mode(spec, options) {
            let (received, calls) = self.receive_run(spec, options.stop.as_ref()).await?;
            let src = &spec.config.source;
            let mut batch = EventBatch::sort(received, &src.bucket, &src.prefixes);
            batch.counts.receive_requests = calls;
            Some(batch)
        } else {
            None
        };
        let heartbeat = batch.as_ref().and_then(|b| self.heartbeat(spec, b));
        done.push(self.run_new(spec, now, options, lease, batch, heartbeat).await?);
        Ok(RunOutcome::Ran(done))
    }

    /// Keeps the messages of `batch` hidden while the run that received them works on them, however long its
    /// load takes, so that no other consumer receives them mid-run; stopped before the run settles them.
    fn heartbeat(&self, spec: &JobSpec, batch: &EventBatch) -> Option<Heartbeat> {
        let (queue, cfg) = (self.events.as_ref()?, spec.config.source.events.as_ref()?);
        Some(queue.heartbeat(batch.receipts(), cfg.visibility_timeout_seconds))
    }

    /// Whether a run of `spec` plans from its event queue: it has one, and neither `--scan` nor a backfill
    /// asks for a listing.
    fn event_mode(&self, spec: &JobSpec, options: &RunOptions) -> bool {
        spec.config.source.events.is_some() && !options.scan && options.backfill.is_none()
    }

    /// One `--follow` cycle: takes the lease (`None` when another run holds it: the batch waits), finishes a
    /// pending load, and loads `batch`.
    pub(crate) async fn run_batch(
        &self,
        spec: &JobSpec,
        options: &RunOptions,
        batch: EventBatch,
    ) -> Result<std::result::Result<Vec<RunSummary>, EventBatch>> {
        let now = Utc::now();
        let heartbeat = self.heartbeat(spec, &batch);
        let run_id = new_run_id(spec, now, Slot::FIRST)?;
        let lease = match self.take_lease(spec, &run_id, &Slot::for_events(spec)).await? {
            Ok(lease) => lease,
            Err(_) => return Ok(Err(batch)),
        };
        let outcome = async {
            let mut done = self.finish_pending(spec, &lease).await?;
            done.push(
                self.run_new(spec, now, options, &lease, Some(batch), heartbeat)
                    .await?,
            );
            Ok(done)
        }
        .await;
        Ok(Ok(released_after(lease, outcome)
            .await
            .map_err(|e| e.explain(spec))?))
    }

    /// Finishes the loads that consumers which died (a killed task, a crashed process) left pending in the job's
    /// event slots, where their leases are free: what a consumer does when it starts, so that a replaced task
    /// never leaves its predecessor's load waiting for the slot to be taken again. Slots whose lease another
    /// live run holds are left to it.
    pub(crate) async fn finish_abandoned(&self, spec: &JobSpec) -> Result<Vec<RunSummary>> {
        let mut done = Vec::new();
        for slot in Slot::for_events(spec) {
            if self.pending_load(spec, slot).await?.is_none() {
                continue;
            }
            let run_id = new_run_id(spec, Utc::now(), slot)?;
            let holder = crate::lease::holder_name(run_id.as_str());
            let ttl = std::time::Duration::from_secs(spec.config.limits.lease_ttl_seconds);
            let crate::lease::Acquired::Held(lease) =
                crate::lease::acquire(&self.s3, spec, slot, &holder, ttl).await?
            else {
                continue;
            };
            let outcome = self.finish_pending(spec, &lease).await;
            done.extend(released_after(lease, outcome).await?);
        }
        Ok(done)
    }

    /// Finishes the load an interrupted run left pending, if any: its summary, or nothing.
    async fn finish_pending(&self, spec: &JobSpec, lease: &Lease) -> Result<Vec<RunSummary>> {
        let Some((pending, pointer_etag)) = self.pending_load(spec, lease.slot()).await? else {
            return Ok(Vec::new());
        };
        let span = run_span(spec, &pending.run_id);
        tracing::info!(parent: &span, "finishing the load of an interrupted run");
        let pointer_etag = self
            .keep_pending(spec, lease.slot(), &pending, pointer_etag)
            .instrument(span.clone())
            .await?;
        Ok(vec![
            self.finish_load(spec, StagedLoad::resumed(spec, pending, pointer_etag), lease)
                .instrument(span)
                .await?,
        ])
    }

    /// Loads again, from the staged files of an earlier run, what that run staged (works after the source
    /// objects expired). Rows are replaced by object identity, never duplicated.
    pub async fn replay(&self, spec: &JobSpec, run: &RunId, options: &RunOptions) -> Result<RunOutcome> {
        self.replay_once(spec, run, options)
            .instrument(run_span(spec, run))
            .await
            .map_err(|e| e.explain(spec))
    }

    /// What is checked before any object is read or any file staged: the identity holds every database
    /// privilege a run needs, and the curated table has exactly the columns s3shift stages.
    async fn preflight(&self, spec: &JobSpec) -> Result<()> {
        use s3shift_redshift::warehouse::privileges;
        let database = s3shift_redshift::sql::Ident::new("database", &spec.config.warehouse.database)?;
        let needs = privileges::run_needs(&spec.table, &database, &spec.iam_role)?;
        let (user, missing) = privileges::missing(&self.api, &needs).await?;
        if !missing.is_empty() {
            return Err(Error::MissingPrivileges {
                user,
                missing: missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                job: spec.name().to_owned(),
            });
        }
        s3shift_redshift::schema_check::check_table(&self.api, &spec.table, s3shift_core::schema::IMAGES)
            .await?;
        Ok(())
    }

    async fn replay_once(&self, spec: &JobSpec, run: &RunId, options: &RunOptions) -> Result<RunOutcome> {
        self.preflight(spec).await?;
        let bucket = spec.config.staging.bucket.clone();
        let manifest_key = format!("{}/{}/manifest.json", spec.staging_root(), run);
        let Some(bytes) = self.s3.get(&bucket, &manifest_key).await? else {
            return Err(Error::State {
                location: format!("s3://{bucket}/{manifest_key}"),
                problem: format!(
                    "run {run} has no staged manifest (never staged, or removed by the staging lifecycle)"
                ),
            });
        };
        let manifest: CopyManifest = serde_json::from_slice(&bytes).map_err(|source| Error::BadState {
            location: format!("s3://{bucket}/{manifest_key}"),
            hint: "it is not a COPY manifest s3shift wrote",
            source,
        })?;
        let mut rows = 0u64;
        let mut staged_last_modified: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for entry in &manifest.entries {
            let key = entry
                .url
                .strip_prefix(&format!("s3://{bucket}/"))
                .unwrap_or(&entry.url);
            let file = self.s3.get(&bucket, key).await?.ok_or_else(|| Error::State {
                location: entry.url.clone(),
                problem: "listed in the manifest but missing".into(),
            })?;
            if let Some((lo, hi)) = s3shift_stage::files::last_modified_range(file.clone()) {
                staged_last_modified =
                    Some(staged_last_modified.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            }
            rows += s3shift_stage::files::row_count(file).ok_or_else(|| Error::State {
                location: entry.url.clone(),
                problem: "not a readable Parquet file".into(),
            })? as u64;
        }
        // A replay is a run of its own: its own id and row in s3shift.runs, mode `replay`, naming the run whose
        // files it loads; that run's row stays as it was. (The rows it loads keep the run id they were staged
        // with: they are that run's readings.)
        let now = options.now.unwrap_or_else(Utc::now);
        let replay_id = new_run_id(spec, now, Slot::FIRST)?;
        let lease = match self.take_lease(spec, &replay_id, &[Slot::FIRST]).await? {
            Ok(lease) => lease,
            Err(skipped) => return Ok(skipped),
        };
        let summary = RunSummary {
            run_id: replay_id.to_string(),
            job: spec.name().to_owned(),
            source: spec.config.source.name.clone(),
            table: spec.table.to_string(),
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            objects_loaded: rows,
            files_staged: manifest.entries.len() as u64,
            mode: Some(RunMode::Replay),
            replay_of: Some(run.to_string()),
            ..RunSummary::default()
        };
        let pending = PendingLoad {
            version: pointer::VERSION,
            run_id: replay_id.clone(),
            manifest_url: format!("s3://{bucket}/{manifest_key}"),
            expected_rows: rows,
            files_staged: summary.files_staged,
            statement_id: None,
            attempt: 1,
            started_at: now,
            figures: StagedFigures::of(&summary),
            staged_last_modified,
            ledger_window: None,
        };
        let outcome = async {
            let staged = self.stage_replay(spec, lease.slot(), pending, summary).await?;
            self.finish_load(spec, staged, &lease).await
        }
        .await;
        let summary = released_after(lease, outcome).await?;
        Ok(RunOutcome::Ran(vec![summary]))
    }

    /// A new run: plan (from `batch` when given, else from a listing), read and stage, then take the load
    /// through its states (see [`load`]); for an event run, settle its messages once the load committed.
    #[allow(clippy::too_many_arguments)]
    async fn run_new(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        options: &RunOptions,
        lease: &Lease,
        batch: Option<EventBatch>,
        heartbeat: Option<Heartbeat>,
    ) -> Result<RunSummary> {
        let run_id = new_run_id(spec, now, lease.slot())?;
        let span = run_span(spec, &run_id);
        self.run_new_as(spec, now, options, lease, batch, heartbeat, run_id)
            .instrument(span)
            .await
    }

    /// [`Pipeline::run_new`] under the run id it took.
    #[allow(clippy::too_many_arguments)]
    async fn run_new_as(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        options: &RunOptions,
        lease: &Lease,
        mut batch: Option<EventBatch>,
        heartbeat: Option<Heartbeat>,
        run_id: RunId,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let mut summary = RunSummary {
            run_id: run_id.to_string(),
            job: spec.name().to_owned(),
            source: spec.config.source.name.clone(),
            table: spec.table.to_string(),
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ..RunSummary::default()
        };
        let t = Instant::now();
        let plan = match batch.as_mut() {
            Some(b) => {
                summary.mode = Some(RunMode::Events);
                let plan = self.planner().plan_events(spec, now, b).await?;
                self.drop_done(spec, b).await?;
                summary.events = Some(b.counts);
                plan
            }
            None => {
                let plan = self.planner().plan(spec, now, options.backfill.as_ref()).await?;
                if options.backfill.is_some() {
                    summary.mode = Some(RunMode::Backfill);
                } else if spec.config.source.events.is_some() {
                    summary.mode = Some(RunMode::Reconcile);
                    summary.event_misses = plan.counts.planned + plan.counts.deferred;
                    if summary.event_misses > 0 {
                        tracing::warn!(
                            objects = summary.event_misses,
                            "the reconciliation scan found objects no event brought in time"
                        );
                    }
                } else {
                    summary.mode = Some(RunMode::Scan);
                }
                plan
            }
        };
        summary.stage_seconds.plan = t.elapsed().as_secs_f64();
        self.note_plan(spec, &plan, &mut summary);
        let ledger_window = plan.report.ledger_window;
        CrashPoint::AfterPlan.check();
        let (mut summary, planned, not_loaded, failed) = if plan.objects.is_empty() {
            let t = Instant::now();
            let summary = self
                .finish_unloaded(spec, summary, RunStatus::Empty, started, Some(t))
                .await?;
            (summary, Vec::new(), HashSet::new(), HashSet::new())
        } else {
            let planned = if batch.is_some() {
                plan.objects.clone()
            } else {
                Vec::new()
            };
            let t = Instant::now();
            let staged = self
                .extract_and_stage(spec, &run_id, now, plan.objects, options)
                .await?;
            summary.apply_extract(&staged.report);
            summary.stage_seconds.extract = t.elapsed().as_secs_f64();
            CrashPoint::AfterStage.check();
            let (not_loaded, failed) = (staged.not_loaded.clone(), staged.failed.clone());
            let summary = if staged.rows == 0 {
                self.finish_unloaded(spec, summary, RunStatus::Partial, started, None)
                    .await?
            } else {
                let staged = self
                    .stage_load(
                        spec,
                        lease.slot(),
                        &run_id,
                        staged,
                        summary,
                        ledger_window,
                        now,
                        started,
                    )
                    .await?;
                self.finish_load(spec, staged, lease).await?
            };
            (summary, planned, not_loaded, failed)
        };
        if let Some(h) = heartbeat {
            h.stop().await;
        }
        let event_run = batch.is_some();
        if let Some(batch) = batch {
            summary.events = Some(
                self.settle_events(spec, batch, &planned, &not_loaded, &failed)
                    .await?,
            );
        }
        if event_run || summary.mode == Some(RunMode::Reconcile) {
            summary.dead_letter_messages = self.dead_letters(spec).await;
        }
        if matches!(summary.mode, Some(RunMode::Scan | RunMode::Reconcile))
            && let Some(since) = ledger_window
        {
            self.prune_ledger(spec, since).await;
        }
        Ok(summary)
    }

    /// After a scan: deletes the ledger rows of the job's source a day older than the window the scan read,
    /// which no statement reads again (see `s3shift_redshift::warehouse::ledger`, "Retention"). A failure is a
    /// warning: the run's load has committed, and the next scan prunes the same rows.
    async fn prune_ledger(&self, spec: &JobSpec, window_start: DateTime<Utc>) {
        let src = &spec.config.source;
        let window = s3shift_redshift::warehouse::ledger::LedgerWindow {
            source: &src.name,
            bucket: &src.bucket,
            since: window_start - chrono::Duration::days(LEDGER_PRUNE_SLACK_DAYS),
        };
        let pruned = match s3shift_redshift::warehouse::LedgerTable::beside(&spec.table) {
            Ok(ledger) => ledger.prune(&self.api, window).await,
            Err(e) => Err(e),
        };
        match pruned {
            Ok(0) => {}
            Ok(rows) => {
                tracing::info!(rows, before = %window.since.to_rfc3339(), "pruned ledger rows no listing can return")
            }
            Err(e) => tracing::warn!(error = %e, "could not prune the ledger (the next scan tries again)"),
        }
    }

    /// The depth of the job's dead-letter queue (the summary's and its metric's), warning when it holds events;
    /// a queue that cannot be read is a warning and `None`, never a failed run (the load has committed).
    async fn dead_letters(&self, spec: &JobSpec) -> Option<u64> {
        let queue = self.events.as_ref()?;
        match queue.depths().await {
            Ok(d) => {
                if let Some((url, dlq)) = &d.dead_letter {
                    if dlq.visible > 0 {
                        tracing::warn!(job = %spec.name(), dead_letter_queue = %url, messages = dlq.visible,
                            "the dead-letter queue holds events whose objects could not be read");
                    }
                    return Some(dlq.visible);
                }
                tracing::warn!(queue = %queue.url(),
                    "the event queue has no dead-letter queue: a message whose object cannot be read comes back forever");
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the depth of the event queues"),
        }
        None
    }

    /// Planning, over this pipeline's clients.
    fn planner(&self) -> Planner<'_> {
        Planner {
            s3: &self.s3,
            api: &self.api,
        }
    }

    /// Takes the plan's counts, report and slack into the summary, warning when objects close to expiry are
    /// unloaded.
    fn note_plan(&self, spec: &JobSpec, plan: &Plan, summary: &mut RunSummary) {
        summary.apply_counts(&plan.counts);
        summary.data_api_statements += plan.report.data_api_statements;
        summary.list_requests += plan.report.list_requests;
        summary.objects_not_found = plan.report.objects_not_found;
        summary.min_slack_hours = plan.min_slack_hours;
        summary.expiry_warning = plan
            .min_slack_hours
            .is_some_and(|h| h < f64::from(spec.config.alerts.expiry_warning_hours));
        if summary.expiry_warning {
            tracing::warn!(
                min_slack_hours = plan.min_slack_hours,
                threshold_hours = spec.config.alerts.expiry_warning_hours,
                "objects close to expiry are still unloaded"
            );
        }
        tracing::info!(
            listed = plan.counts.listed,
            planned = plan.counts.planned,
            already_loaded = plan.counts.already_loaded,
            "planned"
        );
    }

    /// Ends a run that loads nothing: its row goes in with `status`. `report_clock`, when given, times the
    /// report stage.
    async fn finish_unloaded(
        &self,
        spec: &JobSpec,
        mut summary: RunSummary,
        status: RunStatus,
        started: Instant,
        report_clock: Option<Instant>,
    ) -> Result<RunSummary> {
        summary.status = Some(status);
        self.record_unloaded(spec, &summary, status).await?;
        summary.data_api_statements += 1;
        if let Some(t) = report_clock {
            summary.stage_seconds.report = t.elapsed().as_secs_f64();
        }
        summary.duration_s = started.elapsed().as_secs_f64();
        summary.slowest_stage = summary.stage_seconds.slowest().into();
        summary.log();
        Ok(summary)
    }
}

/// Releases `lease` whatever `outcome` was; the outcome's error comes first, then the release's.
async fn released_after<T>(lease: Lease, outcome: Result<T>) -> Result<T> {
    let released = lease.release().await;
    let value = outcome?;
    released?;
    Ok(value)
}

/// The id of a run of `spec` started `now` under the lease of `slot`: its last number is the slot plus one, so
/// consumers that start in the same millisecond stage under different prefixes.
/// The span every log event of one run is emitted in: its fields (`run_id`, `job`) travel with each event (the
/// JSON log lines carry them under `span`), so no event needs the run id copied in by hand.
fn run_span(spec: &JobSpec, run_id: &impl std::fmt::Display) -> tracing::Span {
    tracing::info_span!("run", run_id = %run_id, job = %spec.name())
}

fn new_run_id(spec: &JobSpec, now: DateTime<Utc>, slot: Slot) -> Result<RunId> {
    RunId::new(spec.name(), now, slot.0.saturating_add(1)).map_err(|problem| Error::RunId {
        job: spec.name().to_owned(),
        problem,
    })
}
