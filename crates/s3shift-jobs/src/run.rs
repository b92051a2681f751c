//! One run of one job: plan, extract, stage, load, report.
//!
//! # Exactly once, whatever crashes
//! - The load is one Data API batch (one transaction) that replaces matching rows of the curated table and of
//!   the ledger, so running it twice leaves what running it once leaves.
//! - Once the manifest is written, a pointer object (`<staging>/<job>/_state/pending-load.json`) names the run,
//!   its manifest and, as soon as it is known, the load's statement id. A run that finds a pointer finishes that
//!   load first: it re-attaches to the statement if it is still running, and re-submits the same batch over the
//!   same staged files if it failed, was never submitted, or its outcome is unknown.
//! - A crash before the pointer is written loses only work (files of an unfinished run stay under its prefix
//!   until the staging lifecycle removes them); the objects are still unloaded and the next run plans them.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use s3shift_core::{ExtractStatus, ImageRecord, ObjectRef, RunId};
use s3shift_extract::{ExtractConfig, ObjectBytes, Step, extract_prefix, extract_step, first_range};
use s3shift_redshift::sql::{LoadSql, RunRow};
use s3shift_redshift::{DataApi, StatementState, Value};
use s3shift_s3::{Lifecycle, S3Store};
use s3shift_stage::{CopyManifest, ParquetStager, StagedFile, StagedRow, StagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::plan::{LoadedSet, Plan, PlanBuilder, PlanCounts};
use crate::spec::JobSpec;
use crate::{Error, Result};

/// The clients a run talks through.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// S3 (source and staging).
    pub s3: S3Store,
    /// The warehouse.
    pub api: DataApi,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Plan only: list, compare with the ledger, print what a run would do; read and write nothing else.
    pub dry_run: bool,
    /// The clock (tests set it; `None` is now).
    pub now: Option<DateTime<Utc>>,
    /// How long the job's lease lasts without renewal (renewed every third of it).
    pub lease_ttl: std::time::Duration,
    /// Reprocess a window or named keys instead of what the ledger lacks.
    pub backfill: Option<Backfill>,
    /// Turns `true` when the run should drain (SIGTERM): no new object is read, what was read is staged and
    /// loaded, the rest is left for the next run.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Progress reporting while objects are read.
    pub progress: Progress,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            now: None,
            lease_ttl: std::time::Duration::from_secs(900),
            backfill: None,
            stop: None,
            progress: Progress::Off,
        }
    }
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

/// The summary of one run: logged, stored in `s3shift.runs`, printed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Job.
    pub job: String,
    /// Source name.
    pub source: String,
    /// `finished`, `partial` (some objects quarantined or unreadable), `empty` (nothing to load).
    pub status: String,
    /// Start, RFC 3339.
    pub started_at: String,
    /// Objects the listing returned.
    pub objects_listed: u64,
    /// Skipped: already in the ledger.
    pub objects_already_loaded: u64,
    /// Skipped: younger than the settle time.
    pub objects_too_young: u64,
    /// Skipped: over the run's limits.
    pub objects_deferred: u64,
    /// Backfill by key: named keys the source no longer holds.
    pub objects_not_found: u64,
    /// Rows staged and loaded (every status).
    pub objects_loaded: u64,
    /// Loaded with status corrupt or truncated.
    pub objects_quarantined: u64,
    /// Loaded with status vanished (deleted or replaced between list and read).
    pub objects_vanished: u64,
    /// Not loaded: still unreadable after retries (the next run tries again).
    pub objects_failed: u64,
    /// Parquet files staged.
    pub files_staged: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Source GET requests.
    pub get_requests: u64,
    /// List requests.
    pub list_requests: u64,
    /// Data API statements submitted (a batch counts once).
    pub data_api_statements: u64,
    /// COPY statements run.
    pub copy_statements: u64,
    /// Smallest slack to expiry, in hours, of what was unloaded when the run started.
    pub min_slack_hours: Option<f64>,
    /// Whether `min_slack_hours` fell under the job's warning threshold.
    pub expiry_warning: bool,
    /// The stage that took longest.
    pub slowest_stage: String,
    /// Seconds per stage: plan, extract (including staging, which overlaps it), load, report.
    pub stage_seconds: StageSeconds,
    /// Whole run, seconds.
    pub duration_s: f64,
    /// Set when this summary finishes a load that an earlier, interrupted invocation staged.
    pub resumed: bool,
    /// Set when a stop request drained the run early (the objects not read are counted in `objects_deferred`).
    pub drained: bool,
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct StageSeconds {
    /// Listing and ledger lookup.
    pub plan: f64,
    /// Reads, extraction and staging (they overlap).
    pub extract: f64,
    /// The load transaction.
    pub load: f64,
    /// Writing the run's summary.
    pub report: f64,
}

impl StageSeconds {
    fn slowest(&self) -> &'static str {
        let all = [
            ("plan", self.plan),
            ("extract", self.extract),
            ("load", self.load),
            ("report", self.report),
        ];
        all.iter()
            .copied()
            .fold(("plan", f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
            .0
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

/// What the pending-load pointer holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLoad {
    run_id: RunId,
    manifest_url: String,
    expected_rows: u64,
    statement_id: Option<String>,
    summary: RunSummary,
}

/// A deterministic crash point for the crash tests. When `S3SHIFT_FAILPOINT` names this point the process
/// aborts here, as a kill would stop it; when `S3SHIFT_FAILPOINT_RELEASE` also names a file, the process instead
/// creates `<file>.reached` and waits (up to ten minutes) until `<file>` exists, so a test can change the world
/// at exactly this point. Costs one environment lookup per call; never set in production.
fn failpoint(name: &str) {
    if !std::env::var("S3SHIFT_FAILPOINT").is_ok_and(|v| v == name) {
        return;
    }
    if let Some(release) = std::env::var_os("S3SHIFT_FAILPOINT_RELEASE") {
        let release = std::path::PathBuf::from(release);
        let mut reached = release.clone().into_os_string();
        reached.push(".reached");
        let _ = std::fs::write(&reached, name);
        for _ in 0..60_000 {
            if release.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    eprintln!("s3shift: failpoint {name}: aborting");
    std::process::abort();
}

/// Counters shared by the extract workers.
#[derive(Debug, Default)]
struct Counters {
    get_requests: AtomicU64,
    bytes_read: AtomicU64,
    objects_read: AtomicU64,
}

/// How a run reports progress while it reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Progress {
    /// Not at all.
    #[default]
    Off,
    /// A line on stderr redrawn in place (for a terminal).
    Bar,
    /// A `progress` log event at this interval (for log shippers).
    Events(std::time::Duration),
}

/// Reports objects read, bytes, rate and ETA until `done` turns true.
async fn report_progress(
    mode: Progress,
    counters: Arc<Counters>,
    total: u64,
    mut done: tokio::sync::watch::Receiver<bool>,
) {
    let every = match mode {
        Progress::Off => return,
        Progress::Bar => std::time::Duration::from_millis(250),
        Progress::Events(d) => d.max(std::time::Duration::from_millis(100)),
    };
    let started = Instant::now();
    let mut last = false;
    while !last {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // One last report when reading ends, so that the final figures are always logged.
            _ = done.changed() => last = true,
        }
        let n = counters.objects_read.load(Ordering::Relaxed);
        let bytes = counters.bytes_read.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let rate = n as f64 / secs;
        let eta = if rate > 0.0 {
            (total.saturating_sub(n)) as f64 / rate
        } else {
            f64::NAN
        };
        match mode {
            Progress::Bar => {
                let width = 30usize;
                let filled = if total == 0 {
                    width
                } else {
                    (n as usize * width) / total as usize
                };
                eprint!(
                    "\r[{}{}] {n}/{total} objects, {:.1} MiB read, {rate:.0}/s, ETA {eta:.0} s   ",
                    "#".repeat(filled.min(width)),
                    " ".repeat(width - filled.min(width)),
                    bytes as f64 / 1_048_576.0
                );
            }
            Progress::Events(_) => tracing::info!(
                event = "progress",
                objects_read = n,
                objects_planned = total,
                bytes_read = bytes,
                objects_per_second = rate,
                eta_seconds = eta,
                "reading"
            ),
            Progress::Off => {}
        }
    }
    if mode == Progress::Bar {
        eprintln!();
    }
}

/// What a worker hands the stager for one object.
enum Outcome {
    Row {
        object: ObjectRef,
        content_type: Option<String>,
        record: Box<ImageRecord>,
    },
    Failed {
        object: ObjectRef,
        error: String,
    },
}

impl Pipeline {
    fn pointer_key(spec: &JobSpec) -> String {
        format!("{}/_state/pending-load.json", spec.staging_root())
    }

    async fn read_pointer(&self, spec: &JobSpec) -> Result<Option<PendingLoad>> {
        let bucket = &spec.config.staging.bucket;
        let key = Self::pointer_key(spec);
        let Some(bytes) = self.s3.get(bucket, &key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::State {
                location: format!("s3://{bucket}/{key}"),
                problem: format!("{e}; delete it only after checking s3shift.runs for its run"),
            })
    }

    async fn write_pointer(&self, spec: &JobSpec, p: &PendingLoad) -> Result<()> {
        let body = serde_json::to_vec_pretty(p).map_err(|e| Error::State {
            location: Self::pointer_key(spec),
            problem: e.to_string(),
        })?;
        self.s3
            .put(
                &spec.config.staging.bucket,
                &Self::pointer_key(spec),
                Bytes::from(body),
                "application/json",
            )
            .await?;
        Ok(())
    }

    /// Runs `spec` once: first finishes a load an interrupted run left pending, then plans, extracts, stages,
    /// loads and reports a new run.
    pub async fn run(&self, spec: &JobSpec, options: &RunOptions) -> Result<RunOutcome> {
        let now = options.now.unwrap_or_else(Utc::now);
        let run_id = RunId::new(spec.name(), now, 1).map_err(Error::Setup)?;
        if options.dry_run {
            let pending = self.read_pointer(spec).await?.map(|p| p.run_id.to_string());
            let mut summary = RunSummary::default();
            let plan = self
                .plan(spec, now, options.backfill.as_ref(), &mut summary)
                .await?;
            return Ok(RunOutcome::DryRun {
                run_id,
                plan: Box::new(plan),
                pending_load: pending,
                ledger_statements: summary.data_api_statements,
            });
        }
        s3shift_redshift::schema_check::check_table(&self.api, &spec.table, s3shift_core::schema::IMAGES)
            .await?;
        let lease = match self.take_lease(spec, &run_id, options).await? {
            Ok(lease) => lease,
            Err(skipped) => return Ok(skipped),
        };
        let outcome = self.run_leased(spec, now, options, &lease).await;
        let released = lease.release().await;
        let outcome = outcome?;
        released?;
        Ok(outcome)
    }

    /// Takes the job's lease for `run_id`, or answers the [`RunOutcome::Skipped`] to return when another live
    /// run holds it.
    async fn take_lease(
        &self,
        spec: &JobSpec,
        run_id: &RunId,
        options: &RunOptions,
    ) -> Result<std::result::Result<crate::lease::Lease, RunOutcome>> {
        let holder = crate::lease::holder_name(run_id.as_str());
        Ok(
            match crate::lease::acquire(&self.s3, spec, &holder, options.lease_ttl).await? {
                crate::lease::Acquired::Held(lease) => Ok(lease),
                crate::lease::Acquired::Busy(b) => {
                    tracing::warn!(holder = %b.holder, expires_at = %b.expires_at,
                    "another run of this job holds the lease; nothing to do");
                    Err(RunOutcome::Skipped {
                        holder: b.holder,
                        expires_at: b.expires_at,
                    })
                }
            },
        )
    }

    async fn run_leased(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        options: &RunOptions,
        lease: &crate::lease::Lease,
    ) -> Result<RunOutcome> {
        let mut done = Vec::new();
        if let Some(pending) = self.read_pointer(spec).await? {
            tracing::info!(run_id = %pending.run_id, "finishing the load of an interrupted run");
            done.push(self.finish_pending(spec, pending, lease).await?);
        }
        if options.stop.as_ref().is_some_and(|s| *s.borrow()) {
            tracing::warn!("stop requested: not starting a new run");
            return Ok(RunOutcome::Ran(done));
        }
        done.push(self.run_new(spec, now, options, lease).await?);
        Ok(RunOutcome::Ran(done))
    }

    /// Loads again, from the staged files of an earlier run, what that run staged (works after the source
    /// objects expired). Rows are replaced by object identity, never duplicated.
    pub async fn replay(&self, spec: &JobSpec, run: &RunId, options: &RunOptions) -> Result<RunOutcome> {
        s3shift_redshift::schema_check::check_table(&self.api, &spec.table, s3shift_core::schema::IMAGES)
            .await?;
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
        let manifest: CopyManifest = serde_json::from_slice(&bytes).map_err(|e| Error::State {
            location: format!("s3://{bucket}/{manifest_key}"),
            problem: e.to_string(),
        })?;
        let mut rows = 0u64;
        for entry in &manifest.entries {
            let key = entry
                .url
                .strip_prefix(&format!("s3://{bucket}/"))
                .unwrap_or(&entry.url);
            let file = self.s3.get(&bucket, key).await?.ok_or_else(|| Error::State {
                location: entry.url.clone(),
                problem: "listed in the manifest but missing".into(),
            })?;
            rows += s3shift_stage::files::row_count(file).ok_or_else(|| Error::State {
                location: entry.url.clone(),
                problem: "not a readable Parquet file".into(),
            })? as u64;
        }
        let lease = match self.take_lease(spec, run, options).await? {
            Ok(lease) => lease,
            Err(skipped) => return Ok(skipped),
        };
        let now = options.now.unwrap_or_else(Utc::now);
        let pending = PendingLoad {
            run_id: run.clone(),
            manifest_url: format!("s3://{bucket}/{manifest_key}"),
            expected_rows: rows,
            statement_id: None,
            summary: RunSummary {
                run_id: run.to_string(),
                job: spec.name().to_owned(),
                source: spec.config.source.name.clone(),
                started_at: now.to_rfc3339(),
                objects_loaded: rows,
                files_staged: manifest.entries.len() as u64,
                ..RunSummary::default()
            },
        };
        let outcome = async {
            self.write_pointer(spec, &pending).await?;
            self.load_pending(spec, pending, now, Instant::now(), &lease)
                .await
        }
        .await;
        let released = lease.release().await;
        let summary = outcome?;
        released?;
        Ok(RunOutcome::Ran(vec![summary]))
    }

    /// Lists the source, reads the ledger and builds the plan. A backfill lists its own prefixes, keeps only its
    /// window or keys, and ignores the ledger.
    async fn plan(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        backfill: Option<&Backfill>,
        summary: &mut RunSummary,
    ) -> Result<Plan> {
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
        let prefixes = match backfill {
            Some(b) if !b.prefixes.is_empty() => b.prefixes.clone(),
            _ => src.prefixes.clone(),
        };
        // The ledger first: each listed object is checked against it as the listing streams by, so the run
        // never holds the listing, only the objects it will read.
        let window_start = ledger_window_start(&lifecycle, &prefixes, now);
        let loaded = if backfill.is_some() {
            LoadedSet::default()
        } else {
            let (loaded, statements) = self.loaded_identities(spec, window_start).await?;
            summary.data_api_statements += statements;
            loaded
        };
        let settle = chrono::Duration::seconds(i64::try_from(src.settle_seconds).unwrap_or(i64::MAX / 1000));
        let mut builder = PlanBuilder::new(&loaded, now, settle, &spec.config.limits);
        // Prefixes are listed in parallel; their pages meet in a short queue, so a slow planner holds the
        // listings back instead of buffering them.
        let (tx, mut rx) = mpsc::channel::<Vec<ObjectRef>>(4);
        let mut listings = JoinSet::new();
        for prefix in prefixes {
            let (mut pages, tx) = (self.s3.pages(&src.bucket, &prefix), tx.clone());
            listings.spawn(async move {
                while let Some(page) = pages.next_page().await? {
                    if tx.send(page).await.is_err() {
                        break;
                    }
                }
                Ok::<u64, s3shift_s3::Error>(pages.requests())
            });
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
                    let selected = b.since.is_none_or(|t| o.last_modified >= t)
                        && b.until.is_none_or(|t| o.last_modified < t)
                        && named.as_ref().is_none_or(|k| k.contains(o.key.as_str()));
                    if !selected {
                        continue;
                    }
                    if named.is_some() {
                        found.insert(o.key.clone());
                    }
                }
                o.expires_at = lifecycle.expiry(&o.key, o.size, o.last_modified).or_else(|| {
                    (src.assume_lifecycle_days > 0)
                        .then(|| s3shift_core::expiry_of(o.last_modified, src.assume_lifecycle_days))
                        .flatten()
                });
                if backfill.is_none() && window_start.is_some_and(|w| o.last_modified < w) {
                    before_window += 1;
                }
                builder.add(o);
            }
        }
        while let Some(r) = listings.join_next().await {
            summary.list_requests += r.map_err(|e| Error::Setup(format!("listing task failed: {e}")))??;
        }
        if before_window > 0 {
            tracing::warn!(bucket = %src.bucket, objects = before_window, window_start = ?window_start,
                "objects outlived their lifecycle rule by days and predate the ledger window: \
                 read again and replaced, never duplicated");
        }
        if let Some(keys) = backfill.and_then(|b| b.keys.as_ref()) {
            let missing: Vec<&String> = keys.iter().filter(|k| !found.contains(k.as_str())).collect();
            for key in missing.iter().take(20) {
                tracing::warn!(key = %key, "named key not found in the source (expired, deleted, or outside the window)");
            }
            summary.objects_not_found = missing.len() as u64;
        }
        Ok(builder.finish())
    }

    /// The ledger's identities for the source bucket, from `since` on (see [`ledger_window_start`]; `None`:
    /// all of them), read a result page at a time into a [`LoadedSet`]; also returns the statements it took.
    ///
    /// The Data API fails a statement whose result set is over its limit (500 MB), which the window of a busy
    /// bucket passes (about 2.5 million objects). So a first statement sizes each minute of the window, and
    /// consecutive minutes are then read together up to `limits.ledger_read_bytes` a statement.
    async fn loaded_identities(
        &self,
        spec: &JobSpec,
        since: Option<DateTime<Utc>>,
    ) -> Result<(LoadedSet, u64)> {
        let ledger = spec.table.sibling("loaded_objects")?;
        let bucket = &spec.config.source.bucket;
        let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
        let mut params = vec![("bucket", bucket.clone())];
        let mut window = String::from("bucket = :bucket");
        if let Some(since) = since {
            window.push_str(" AND last_modified >= CAST(:since AS TIMESTAMPTZ)");
            params.push(("since", stamp(since)));
        }
        // Minutes of last_modified as a UTC TIMESTAMP, Redshift's session default. Were the session elsewhere,
        // slice sizes would shift by its offset, while the slices still cover the window exactly once.
        let sizing = format!(
            "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM CAST(last_modified AS TIMESTAMP)) / 60) AS BIGINT) AS minute, \
             CAST(SUM(OCTET_LENGTH(object_key) + OCTET_LENGTH(etag) + COALESCE(OCTET_LENGTH(version_id), 0)) \
             AS BIGINT) AS bytes FROM {ledger} WHERE {window} GROUP BY 1 ORDER BY 1"
        );
        let mut minutes: Vec<(i64, u64)> = Vec::new();
        let mut without_size = 0u64;
        self.api
            .query_each(&sizing, &params, |row| {
                match (
                    row.first().and_then(Value::as_i64),
                    row.get(1).and_then(Value::as_i64),
                ) {
                    (Some(minute), Some(bytes)) => minutes.push((minute, u64::try_from(bytes).unwrap_or(0))),
                    _ => without_size += 1,
                }
            })
            .await?;
        if without_size > 0 {
            return Err(Error::Setup(format!(
                "sizing the ledger {ledger} by minute returned {without_size} rows without a minute or a size"
            )));
        }
        let slices = crate::plan::ledger_slices(&minutes, spec.config.limits.ledger_read_bytes);
        if slices.len() > 1 {
            tracing::info!(ledger = %ledger, statements = slices.len(),
                bytes = minutes.iter().map(|(_, b)| b).sum::<u64>(), "reading the ledger window in slices");
        }
        let mut loaded = LoadedSet::default();
        let mut unreadable = 0u64;
        for slice in &slices {
            let mut sql = format!("SELECT object_key, etag, version_id FROM {ledger} WHERE {window}");
            let mut slice_params = params.clone();
            for (bound, op, minute) in [
                ("slice_start", ">=", slice.from_minute),
                ("slice_end", "<", slice.to_minute),
            ] {
                let Some(at) = minute.and_then(|m| DateTime::from_timestamp(m.saturating_mul(60), 0)) else {
                    continue;
                };
                sql.push_str(&format!(" AND last_modified {op} CAST(:{bound} AS TIMESTAMPTZ)"));
                slice_params.push((bound, stamp(at)));
            }
            self.api
                .query_each(&sql, &slice_params, |row| {
                    let key = row.first().and_then(|v| v.as_str());
                    let etag = row.get(1).and_then(|v| v.as_str());
                    let version = row.get(2).and_then(|v| v.as_str());
                    match (key, etag) {
                        (Some(key), Some(etag)) => {
                            loaded.insert(&s3shift_core::object::identity(bucket, key, etag, version));
                        }
                        _ => unreadable += 1,
                    }
                })
                .await?;
        }
        if unreadable > 0 {
            tracing::warn!(ledger = %ledger, rows = unreadable,
                "ledger rows without object_key or etag: their objects count as not loaded");
        }
        Ok((loaded, 1 + slices.len() as u64))
    }

    async fn run_new(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        options: &RunOptions,
        lease: &crate::lease::Lease,
    ) -> Result<RunSummary> {
        let backfill = options.backfill.as_ref();
        let started = Instant::now();
        let run_id = RunId::new(spec.name(), now, 1).map_err(Error::Setup)?;
        let mut summary = RunSummary {
            run_id: run_id.to_string(),
            job: spec.name().to_owned(),
            source: spec.config.source.name.clone(),
            started_at: now.to_rfc3339(),
            ..RunSummary::default()
        };
        let t = Instant::now();
        let plan = self.plan(spec, now, backfill, &mut summary).await?;
        summary.stage_seconds.plan = t.elapsed().as_secs_f64();
        apply_counts(&mut summary, &plan.counts);
        summary.min_slack_hours = plan.min_slack_hours;
        summary.expiry_warning = plan
            .min_slack_hours
            .is_some_and(|h| h < f64::from(spec.config.alerts.expiry_warning_hours));
        if summary.expiry_warning {
            tracing::warn!(run_id = %run_id, min_slack_hours = ?plan.min_slack_hours,
                threshold_hours = spec.config.alerts.expiry_warning_hours,
                "objects close to expiry are still unloaded");
        }
        tracing::info!(run_id = %run_id, listed = plan.counts.listed, planned = plan.counts.planned,
            already_loaded = plan.counts.already_loaded, "planned");
        failpoint("after-plan");
        if plan.objects.is_empty() {
            summary.status = "empty".into();
            let t = Instant::now();
            self.record_empty_run(spec, &summary).await?;
            summary.data_api_statements += 1;
            summary.stage_seconds.report = t.elapsed().as_secs_f64();
            summary.duration_s = started.elapsed().as_secs_f64();
            summary.slowest_stage = summary.stage_seconds.slowest().into();
            log_summary(&summary);
            return Ok(summary);
        }
        let t = Instant::now();
        let staged = self
            .extract_and_stage(spec, &run_id, now, plan.objects, options, &mut summary)
            .await?;
        summary.stage_seconds.extract = t.elapsed().as_secs_f64();
        failpoint("after-stage");
        if staged.rows == 0 {
            summary.status = "partial".into();
            self.record_empty_run(spec, &summary).await?;
            summary.data_api_statements += 1;
            summary.duration_s = started.elapsed().as_secs_f64();
            summary.slowest_stage = summary.stage_seconds.slowest().into();
            log_summary(&summary);
            return Ok(summary);
        }
        let run_prefix = format!("{}/{}", spec.staging_root(), run_id);
        let manifest_key = format!("{run_prefix}/manifest.json");
        let bucket = &spec.config.staging.bucket;
        self.s3
            .put(
                bucket,
                &manifest_key,
                Bytes::from(staged.manifest.to_json()),
                "application/json",
            )
            .await?;
        let pending = PendingLoad {
            run_id: run_id.clone(),
            manifest_url: format!("s3://{bucket}/{manifest_key}"),
            expected_rows: staged.rows,
            statement_id: None,
            summary: summary.clone(),
        };
        self.write_pointer(spec, &pending).await?;
        failpoint("after-pointer");
        self.load_pending(spec, pending, now, started, lease).await
    }

    /// Finishes the load of a run that an earlier invocation staged, then reports it.
    async fn finish_pending(
        &self,
        spec: &JobSpec,
        pending: PendingLoad,
        lease: &crate::lease::Lease,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let now = DateTime::parse_from_rfc3339(&pending.summary.started_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        let mut pending = pending;
        pending.summary.resumed = true;
        self.load_pending(spec, pending, now, started, lease).await
    }

    /// Runs (or re-attaches to) the load transaction of `pending`, then writes the report and removes the pointer.
    async fn load_pending(
        &self,
        spec: &JobSpec,
        mut pending: PendingLoad,
        started_at: DateTime<Utc>,
        clock: Instant,
        lease: &crate::lease::Lease,
    ) -> Result<RunSummary> {
        let resumed = pending.summary.resumed;
        let t = Instant::now();
        let load = LoadSql {
            target: spec.table.clone(),
            manifest_url: pending.manifest_url.clone(),
            iam_role: spec.iam_role.clone(),
            expected_rows: pending.expected_rows,
            run: RunRow {
                run_id: pending.run_id.to_string(),
                job: spec.name().to_owned(),
                source: spec.config.source.name.clone(),
                started_at,
                objects_staged: pending.expected_rows,
                files_staged: pending.summary.files_staged,
            },
        };
        let statements = load.statements()?;
        // A resumed load first looks for its batch by name: it may have been submitted (and may still run, or
        // have finished) even if the crash came before its id was recorded.
        let mut attached = false;
        if resumed {
            let found = match self.api.find_named(pending.run_id.as_str()).await {
                Ok(Some(id)) => Some(id),
                Ok(None) => pending.statement_id.clone(),
                Err(e) => {
                    tracing::warn!(run_id = %pending.run_id, error = %e, "cannot list statements; using the recorded id");
                    pending.statement_id.clone()
                }
            };
            if let Some(id) = found {
                match self.api.describe(&id).await {
                    Ok(StatementState::Running | StatementState::Finished(_)) => {
                        tracing::info!(run_id = %pending.run_id, statement_id = %id, "re-attaching to the load");
                        pending.statement_id = Some(id);
                        attached = true;
                    }
                    Ok(StatementState::Failed(message)) => {
                        tracing::warn!(run_id = %pending.run_id, statement_id = %id, %message,
                            "the interrupted load had failed; submitting it again");
                    }
                    Ok(StatementState::Aborted) | Err(_) => {
                        tracing::warn!(run_id = %pending.run_id, statement_id = %id,
                            "the interrupted load's outcome is unknown; submitting it again");
                    }
                }
            }
        }
        if !attached {
            if lease.lost() {
                return Err(Error::Setup(format!(
                    "run {}: another run took the job's lease over; not loading (its staged files stay for a replay)",
                    pending.run_id
                )));
            }
            let id = self
                .api
                .submit_batch_named(&statements, Some(pending.run_id.as_str()))
                .await?;
            pending.summary.data_api_statements += 1;
            pending.summary.copy_statements += 1;
            failpoint("after-submit");
            pending.statement_id = Some(id);
            self.write_pointer(spec, &pending).await?;
        }
        let id = pending.statement_id.clone().unwrap_or_default();
        failpoint("before-wait");
        if let Err(e) = self.api.wait(&id).await {
            let detail = self.load_error_detail(spec, &pending).await;
            return Err(Error::LoadFailed {
                run_id: pending.run_id.to_string(),
                message: e.to_string(),
                detail,
            });
        }
        let mut summary = pending.summary.clone();
        summary.stage_seconds.load += t.elapsed().as_secs_f64();
        failpoint("after-load");
        let t = Instant::now();
        summary.status = if summary.drained {
            "drained".into()
        } else if summary.objects_quarantined + summary.objects_failed > 0 {
            "partial".into()
        } else {
            "finished".into()
        };
        summary.data_api_statements += 1;
        summary.stage_seconds.report = t.elapsed().as_secs_f64();
        summary.slowest_stage = summary.stage_seconds.slowest().into();
        summary.duration_s = clock.elapsed().as_secs_f64();
        self.report(spec, &summary).await?;
        failpoint("after-report");
        self.s3
            .delete(&spec.config.staging.bucket, &Self::pointer_key(spec))
            .await?;
        log_summary(&summary);
        Ok(summary)
    }

    /// Redshift's load errors for this run's files, each mapped back to the object key in the failing row.
    async fn load_error_detail(&self, spec: &JobSpec, pending: &PendingLoad) -> Vec<String> {
        let prefix = pending.manifest_url.trim_end_matches("manifest.json").to_owned();
        let rows = match self
            .api
            .query(
                "SELECT file_name, line_number, column_name, error_message FROM sys_load_error_detail \
                 WHERE file_name LIKE :files ORDER BY start_time DESC, line_number LIMIT 20",
                &[("files", format!("{prefix}%"))],
            )
            .await
        {
            Ok(r) => r,
            Err(e) => return vec![format!("(could not read sys_load_error_detail: {e})")],
        };
        let mut out = Vec::new();
        for r in &rows.rows {
            let file = r.first().and_then(|v| v.as_str()).unwrap_or("");
            let line = r.get(1).and_then(|v| v.as_i64()).unwrap_or(0);
            let column = r.get(2).and_then(|v| v.as_str()).unwrap_or("");
            let message = r.get(3).and_then(|v| v.as_str()).unwrap_or("");
            let key = self
                .key_at(spec, file, line)
                .await
                .unwrap_or_else(|| "(unknown object)".into());
            out.push(format!(
                "{file} row {line} (object {key:?}), column {column}: {message}"
            ));
        }
        out
    }

    /// The object key in row `line` (1-based) of a staged file.
    async fn key_at(&self, spec: &JobSpec, url: &str, line: i64) -> Option<String> {
        let key = url.strip_prefix(&format!("s3://{}/", spec.config.staging.bucket))?;
        let bytes = self.s3.get(&spec.config.staging.bucket, key).await.ok()??;
        let row = usize::try_from(line).ok()?.checked_sub(1)?;
        s3shift_stage::files::object_key_at(bytes, row)
    }

    async fn record_empty_run(&self, spec: &JobSpec, s: &RunSummary) -> Result<()> {
        let runs = spec.table.sibling("runs")?;
        let slack = slack_sql(s);
        self.api
            .execute(
                &format!(
                    "INSERT INTO {runs} (run_id, job, source, started_at, finished_at, status, objects_listed, \
                     objects_already_loaded, objects_too_young, objects_deferred, objects_staged, objects_failed, \
                     bytes_read, get_requests, min_slack_hours, message) VALUES (:run_id, :job, :source, \
                     CAST(:started_at AS TIMESTAMPTZ), CAST(GETDATE() AS TIMESTAMPTZ), :status, \
                     CAST(:listed AS BIGINT), CAST(:already AS BIGINT), CAST(:young AS BIGINT), \
                     CAST(:deferred AS BIGINT), 0, CAST(:failed AS BIGINT), CAST(:bytes_read AS BIGINT), \
                     CAST(:gets AS BIGINT), {slack}, :message)"
                ),
                &[
                    ("run_id", s.run_id.clone()),
                    ("job", s.job.clone()),
                    ("source", s.source.clone()),
                    ("started_at", s.started_at.clone()),
                    ("status", s.status.clone()),
                    ("listed", s.objects_listed.to_string()),
                    ("already", s.objects_already_loaded.to_string()),
                    ("young", s.objects_too_young.to_string()),
                    ("deferred", s.objects_deferred.to_string()),
                    ("failed", s.objects_failed.to_string()),
                    ("bytes_read", s.bytes_read.to_string()),
                    ("gets", s.get_requests.to_string()),
                    ("message", "nothing to load".into()),
                ]
                .into_iter()
                .chain(slack_param(s))
                .collect::<Vec<_>>(),
            )
            .await?;
        Ok(())
    }

    /// Completes the run's row in `runs` with the summary (values as Data API parameters).
    async fn report(&self, spec: &JobSpec, s: &RunSummary) -> Result<()> {
        let runs = spec.table.sibling("runs")?;
        let slack = slack_sql(s);
        self.api
            .execute(
                &format!(
                    "UPDATE {runs} SET finished_at = CAST(GETDATE() AS TIMESTAMPTZ), status = :status, \
                     objects_listed = CAST(:listed AS BIGINT), objects_already_loaded = CAST(:already AS BIGINT), \
                     objects_too_young = CAST(:young AS BIGINT), objects_deferred = CAST(:deferred AS BIGINT), \
                     objects_quarantined = CAST(:quarantined AS BIGINT), objects_vanished = CAST(:vanished AS BIGINT), \
                     objects_failed = CAST(:failed AS BIGINT), bytes_read = CAST(:bytes_read AS BIGINT), \
                     get_requests = CAST(:gets AS BIGINT), data_api_statements = CAST(:statements AS BIGINT), \
                     min_slack_hours = {slack}, slowest_stage = :slowest, \
                     duration_s = CAST(:duration AS DOUBLE PRECISION) WHERE run_id = :run_id"
                ),
                &[
                    ("status", s.status.clone()),
                    ("listed", s.objects_listed.to_string()),
                    ("already", s.objects_already_loaded.to_string()),
                    ("young", s.objects_too_young.to_string()),
                    ("deferred", s.objects_deferred.to_string()),
                    ("quarantined", s.objects_quarantined.to_string()),
                    ("vanished", s.objects_vanished.to_string()),
                    ("failed", s.objects_failed.to_string()),
                    ("bytes_read", s.bytes_read.to_string()),
                    ("gets", s.get_requests.to_string()),
                    ("statements", s.data_api_statements.to_string()),
                    ("slowest", s.slowest_stage.clone()),
                    ("duration", format!("{:.3}", s.duration_s)),
                    ("run_id", s.run_id.clone()),
                ]
                .into_iter()
                .chain(slack_param(s))
                .collect::<Vec<_>>(),
            )
            .await?;
        Ok(())
    }
}

/// What staging produced.
struct Staged {
    rows: u64,
    manifest: CopyManifest,
}

/// Totals the stager keeps.
#[derive(Debug, Default)]
struct StageTotals {
    rows: u64,
    quarantined: u64,
    vanished: u64,
    failed: u64,
}

/// The Data API takes no NULL parameter (an empty value is refused), so a missing slack is written as NULL.
fn slack_sql(s: &RunSummary) -> &'static str {
    if s.min_slack_hours.is_some() {
        "CAST(:slack AS DOUBLE PRECISION)"
    } else {
        "CAST(NULL AS DOUBLE PRECISION)"
    }
}

fn slack_param(s: &RunSummary) -> Option<(&'static str, String)> {
    s.min_slack_hours.map(|h| ("slack", format!("{h:.3}")))
}

fn apply_counts(s: &mut RunSummary, c: &PlanCounts) {
    s.objects_listed = c.listed;
    s.objects_already_loaded = c.already_loaded;
    s.objects_too_young = c.too_young;
    s.objects_deferred = c.deferred;
}

fn log_summary(s: &RunSummary) {
    tracing::info!(
        event = "run_summary",
        run_id = %s.run_id,
        job = %s.job,
        status = %s.status,
        objects_listed = s.objects_listed,
        objects_loaded = s.objects_loaded,
        objects_already_loaded = s.objects_already_loaded,
        objects_quarantined = s.objects_quarantined,
        objects_vanished = s.objects_vanished,
        objects_failed = s.objects_failed,
        bytes_read = s.bytes_read,
        get_requests = s.get_requests,
        data_api_statements = s.data_api_statements,
        copy_statements = s.copy_statements,
        min_slack_hours = ?s.min_slack_hours,
        slowest_stage = %s.slowest_stage,
        duration_s = s.duration_s,
        resumed = s.resumed,
        "run finished"
    );
}

fn vanished(object: ObjectRef, error: &s3shift_s3::Error, bytes_read: u64) -> Outcome {
    let mut record = ImageRecord::new(ExtractStatus::Vanished);
    let why = match error {
        s3shift_s3::Error::PreconditionFailed { .. } => {
            "replaced by a new version between listing and reading"
        }
        _ => "deleted between listing and reading",
    };
    record.reason = Some(why.to_owned());
    record.bytes_read = bytes_read;
    Outcome::Row {
        object,
        content_type: None,
        record: Box::new(record),
    }
}

/// Runs one extractor step; a panic (a parser bug: the fuzzer hunts them) becomes a `corrupt` record naming
/// it, so one bad object never takes its worker down or goes missing from the run.
fn guarded(step: impl FnOnce() -> Step) -> Step {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(step) => step,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            let mut record = ImageRecord::new(ExtractStatus::Corrupt);
            record.reason = Some(
                s3shift_core::text::truncate_utf8(
                    &format!("the extractor failed on this object ({what}); please report it"),
                    s3shift_core::schema::REASON.max_bytes(),
                )
                .to_owned(),
            );
            Step::Done(Box::new(record))
        }
    }
}

/// Reads what the extractor asks for, one ranged GET at a time, until it has a record.
async fn read_one(s3: &S3Store, object: ObjectRef, cfg: &ExtractConfig, counters: &Counters) -> Outcome {
    let Some(first) = first_range(object.size, cfg) else {
        let record = match extract_prefix(&[], 0, cfg) {
            Step::Done(r) => r,
            Step::Need(_) => Box::new(ImageRecord::new(ExtractStatus::Empty)),
        };
        return Outcome::Row {
            object,
            content_type: None,
            record,
        };
    };
    counters.get_requests.fetch_add(1, Ordering::Relaxed);
    let read = match s3.read_range(&object, first.start, first.end).await {
        Ok(r) => r,
        Err(e) if e.is_vanished() => return vanished(object, &e, 0),
        Err(e) => {
            return Outcome::Failed {
                error: e.to_string(),
                object,
            };
        }
    };
    let mut total = read.bytes.len() as u64;
    counters.bytes_read.fetch_add(total, Ordering::Relaxed);
    let content_type = read.content_type.clone();
    let mut step = guarded(|| extract_prefix(&read.bytes, object.size, cfg));
    let mut held: Option<ObjectBytes> = None;
    loop {
        let range = match step {
            Step::Done(mut record) => {
                record.bytes_read = total;
                return Outcome::Row {
                    object,
                    content_type,
                    record,
                };
            }
            Step::Need(range) => range,
        };
        counters.get_requests.fetch_add(1, Ordering::Relaxed);
        let more = match s3.read_range(&object, range.start, range.end).await {
            Ok(r) => r,
            Err(e) if e.is_vanished() => return vanished(object, &e, total),
            Err(e) => {
                return Outcome::Failed {
                    error: e.to_string(),
                    object,
                };
            }
        };
        total += more.bytes.len() as u64;
        counters
            .bytes_read
            .fetch_add(more.bytes.len() as u64, Ordering::Relaxed);
        let h = held.get_or_insert_with(|| {
            let mut h = ObjectBytes::new(object.size);
            h.insert(0, read.bytes.to_vec());
            h
        });
        h.insert(range.start, more.bytes.to_vec());
        let held_now: &ObjectBytes = h;
        step = guarded(|| extract_step(held_now, cfg));
    }
}

/// Turns outcomes into Parquet files on a blocking thread (CPU work stays off the IO threads).
fn stage_outcomes(
    mut outcomes: mpsc::Receiver<Outcome>,
    files: mpsc::Sender<StagedFile>,
    config: StagerConfig,
    source: String,
    run_id: String,
    now: DateTime<Utc>,
    fail_after: u64,
) -> Result<StageTotals> {
    let mut stager = ParquetStager::new(config, 0)?;
    let mut totals = StageTotals::default();
    while let Some(outcome) = outcomes.blocking_recv() {
        let (object, content_type, record) = match outcome {
            Outcome::Row {
                object,
                content_type,
                record,
            } => (object, content_type, record),
            Outcome::Failed { object, error } => {
                tracing::warn!(bucket = %object.bucket, key = %object.key, %error,
                    "object unreadable after retries; left for the next run");
                totals.failed += 1;
                continue;
            }
        };
        let row = StagedRow {
            source: &source,
            object: &object,
            content_type: content_type.as_deref(),
            record: &record,
            run_id: &run_id,
            loaded_at: now,
        };
        let file = match stager.push(&row) {
            Ok(f) => f,
            Err(s3shift_stage::Error::Row { problem, .. }) => {
                // A value the table would refuse: keep the object as a corrupt row rather than lose it.
                tracing::warn!(bucket = %object.bucket, key = %object.key, %problem, "record broke a table guarantee");
                let mut fixed = ImageRecord::new(ExtractStatus::Corrupt);
                fixed.reason = Some(
                    s3shift_core::text::truncate_utf8(
                        &format!("extracted values broke a table guarantee: {problem}"),
                        s3shift_core::schema::REASON.max_bytes(),
                    )
                    .to_owned(),
                );
                fixed.bytes_read = record.bytes_read;
                stager.push(&StagedRow {
                    record: &fixed,
                    ..row
                })?
            }
            Err(e) => return Err(e.into()),
        };
        totals.rows += 1;
        match record.status {
            s if s.is_failure() => totals.quarantined += 1,
            ExtractStatus::Vanished => totals.vanished += 1,
            _ => {}
        }
        if totals.rows == fail_after {
            failpoint("mid-extract");
        }
        if let Some(f) = file
            && files.blocking_send(f).is_err()
        {
            return Err(Error::Setup("the staging uploader stopped".into()));
        }
    }
    if let Some(f) = stager.finish()?
        && files.blocking_send(f).is_err()
    {
        return Err(Error::Setup("the staging uploader stopped".into()));
    }
    Ok(totals)
}

impl Pipeline {
    /// Reads every planned object with bounded concurrency, extracts, and stages the rows as Parquet files under
    /// `<staging>/<job>/<run_id>/`. Memory is bounded by the concurrency, two channels and one open file.
    async fn extract_and_stage(
        &self,
        spec: &JobSpec,
        run_id: &RunId,
        now: DateTime<Utc>,
        objects: Vec<ObjectRef>,
        options: &RunOptions,
        summary: &mut RunSummary,
    ) -> Result<Staged> {
        let stop = options.stop.clone();
        let progress_mode = options.progress;
        let limits = spec.config.limits;
        let cfg = ExtractConfig {
            first_read_bytes: limits.range_bytes,
            grow_bytes: limits.grow_bytes,
            max_bytes: limits.max_read_bytes,
        };
        let planned = objects.len() as u64;
        let counters = Arc::new(Counters::default());
        let queue = Arc::new(std::sync::Mutex::new(objects.into_iter()));
        let workers = limits.concurrency.get();
        let (out_tx, out_rx) = mpsc::channel::<Outcome>(workers * 4);
        let (file_tx, mut file_rx) = mpsc::channel::<StagedFile>(2);
        let mut tasks = JoinSet::new();
        for _ in 0..workers {
            let (queue, out_tx, s3, counters, stop) = (
                queue.clone(),
                out_tx.clone(),
                self.s3.clone(),
                counters.clone(),
                stop.clone(),
            );
            tasks.spawn(async move {
                loop {
                    if stop.as_ref().is_some_and(|s| *s.borrow()) {
                        break;
                    }
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some(object) = next else { break };
                    let outcome = read_one(&s3, object, &cfg, &counters).await;
                    counters.objects_read.fetch_add(1, Ordering::Relaxed);
                    if out_tx.send(outcome).await.is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        let (progress_done, progress_rx) = tokio::sync::watch::channel(false);
        let progress = tokio::spawn(report_progress(
            progress_mode,
            counters.clone(),
            planned,
            progress_rx,
        ));
        let stager_config = StagerConfig {
            target_file_bytes: usize::try_from(limits.parquet_file_bytes).unwrap_or(usize::MAX),
            ..StagerConfig::default()
        };
        let (source, rid) = (spec.config.source.name.clone(), run_id.to_string());
        let span = tracing::Span::current();
        let stager = tokio::task::spawn_blocking(move || {
            let _g = span.enter();
            stage_outcomes(
                out_rx,
                file_tx,
                stager_config,
                source,
                rid,
                now,
                planned.div_ceil(2),
            )
        });
        let bucket = spec.config.staging.bucket.clone();
        let run_prefix = format!("{}/{}", spec.staging_root(), run_id);
        let mut manifest = CopyManifest::default();
        let mut upload_error = None;
        while let Some(file) = file_rx.recv().await {
            let key = format!("{run_prefix}/{}", file.name());
            let len = file.bytes.len() as u64;
            if let Err(e) = self
                .s3
                .put(&bucket, &key, file.bytes, "application/vnd.apache.parquet")
                .await
            {
                upload_error = Some(e);
                break;
            }
            manifest.push(format!("s3://{bucket}/{key}"), len);
            summary.files_staged += 1;
        }
        drop(file_rx);
        while tasks.join_next().await.is_some() {}
        let _ = progress_done.send(true);
        let _ = progress.await;
        let unread = queue.lock().map_or(0, |q| q.len()) as u64;
        if unread > 0 {
            tracing::warn!(
                unread,
                "stop requested: drained after the objects in flight; the rest is left for the next run"
            );
            summary.objects_deferred += unread;
            summary.drained = true;
        }
        let totals = stager
            .await
            .map_err(|e| Error::Setup(format!("the stager thread failed: {e}")))??;
        if let Some(e) = upload_error {
            return Err(e.into());
        }
        summary.objects_loaded = totals.rows;
        summary.objects_quarantined = totals.quarantined;
        summary.objects_vanished = totals.vanished;
        summary.objects_failed = totals.failed;
        summary.bytes_read = counters.bytes_read.load(Ordering::Relaxed);
        summary.get_requests = counters.get_requests.load(Ordering::Relaxed);
        Ok(Staged {
            rows: totals.rows,
            manifest,
        })
    }
}

/// Days the ledger lookup reaches past the lifecycle rule: one for S3's rounding of expiry up to midnight, three
/// for its asynchronous deletion, which can leave an expired object listed for a while.
pub const LEDGER_WINDOW_MARGIN_DAYS: u64 = 4;

/// Where the ledger lookup of a run at `now` can start: no object under `prefixes` outlives the bucket's
/// lifecycle rule, so ledger rows of objects modified earlier cannot match anything listed. `None` (the whole
/// ledger of the bucket) when some prefix is not certainly expired by a rule. An object still listed from
/// before the window is read again and replaced in the tables, never duplicated (the load merges on identity).
pub fn ledger_window_start(
    lifecycle: &Lifecycle,
    prefixes: &[String],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let days = prefixes
        .iter()
        .map(|p| lifecycle.deletes_all_under(p))
        .collect::<Option<Vec<u32>>>()?
        .into_iter()
        .max()?;
    now.checked_sub_days(chrono::Days::new(u64::from(days) + LEDGER_WINDOW_MARGIN_DAYS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extractor_panic_becomes_a_corrupt_record() {
        let step = guarded(|| panic!("attempt to add with overflow"));
        let Step::Done(record) = step else {
            panic!("a record, not a read")
        };
        assert_eq!(record.status, ExtractStatus::Corrupt);
        assert!(
            record
                .reason
                .unwrap_or_default()
                .contains("attempt to add with overflow")
        );
        let fine = guarded(|| extract_prefix(&[], 0, &ExtractConfig::default()));
        assert!(matches!(fine, Step::Done(r) if r.status == ExtractStatus::Empty));
    }

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
        // The catch-all 7 days (the longest any listed object can live), plus the margin.
        assert_eq!(
            ledger_window_start(&lifecycle, &prefixes(&["api/", "kafka/"]), now),
            Some(now - chrono::Duration::days(7 + 4))
        );
        assert_eq!(
            ledger_window_start(&lifecycle, &prefixes(&["api/"]), now),
            Some(now - chrono::Duration::days(3 + 4))
        );
        // A tag-filtered rule deletes only some objects: without the catch-all, nothing bounds the window.
        let tagged_only = Lifecycle {
            rules: vec![rule("api/", 3, false), rule("", 1, true)],
        };
        assert_eq!(
            ledger_window_start(&tagged_only, &prefixes(&["api/", "kafka/"]), now),
            None
        );
        assert_eq!(
            ledger_window_start(&Lifecycle::default(), &prefixes(&[""]), now),
            None
        );
        assert_eq!(ledger_window_start(&lifecycle, &[], now), None);
    }
}
