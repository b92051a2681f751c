//! The load: from staged files to committed rows, exactly once, whatever crashes.
//!
//! # The exactly-once argument
//! A run's load passes through four states, each a type below, and every crash point
//! ([`CrashPoint`]) lies on a transition between two of them:
//!
//! ```text
//!   files + manifest staged ─► [StagedLoad] ─submit─► [Submitted] ─wait─► [Loaded] ─report─► [Reported] ─► pointer removed
//!                      AfterPointer   AfterSubmit, BeforeWait     AfterLoad        AfterReport
//! ```
//!
//! 1. **The load is one transaction** ([`LoadSql`]: one `BatchExecuteStatement`). It copies the staged files into
//!    a temporary table, checks the row count, deletes the rows of the curated table and of the ledger that have
//!    the same object identity (bucket, key, ETag, version id), inserts one row per identity, and writes the
//!    run's row as `loaded`. Running it twice leaves what running it once leaves; running half of it leaves
//!    nothing, since Redshift rolls the whole batch back.
//! 2. **[`StagedLoad`] is durable before anything is submitted.** The pointer object
//!    `<staging>/<job>/_state/pending-load.json` names the run, its manifest and the rows staged. A crash before
//!    the pointer is written loses only work: the objects are not in the ledger, so the next run plans them again
//!    (the orphaned files stay under the run's prefix until the staging lifecycle removes them).
//! 3. **Every later crash is finished by the next run of the job**, before it plans anything (see
//!    [`Pipeline::run`](super::Pipeline::run)): it reads the pointer and enters [`StagedLoad`] again, marked resumed.
//!    - A resumed load first looks for its batch by name (the run id), because a crash between submitting it and
//!      recording its id leaves no id in the pointer. A batch that is running or finished is re-attached to
//!      ([`Submitted`] without submitting again): submitting a second batch while the first still ran would let
//!      two transactions insert the same rows.
//!    - A batch that failed or whose outcome is unknown is submitted again, over the same files. By (1) that is
//!      safe whether or not the first one committed.
//! 4. **The ledger commits with the data** (same transaction), so the next plan never reads an object whose rows
//!    are committed, and never skips one whose rows are not.
//! 5. **Loads that overlap stay exactly once.** Under Redshift Serverless's default SNAPSHOT isolation, and under
//!    SERIALIZABLE: every load batch first locks `load_fences` before any statement that takes its snapshot, so
//!    loads of any jobs into the schema commit one after another and each one's delete sees the rows of those
//!    before it ([`LoadSql::statements`] cites the pages). This holds whatever overlaps: two job files over one
//!    prefix, a backfill beside a scheduled run, several consumers of one queue, a batch resubmitted while the
//!    first still runs, a stale lease holder; `tests/concurrency.rs` runs each of them at the same moment.
//! 6. **Only the current lease holder commits.** One run per job slot holds the lease ([`crate::lease`]); a run
//!    that knows it lost it refuses to submit. One that does not know (it stalled past the TTL) is fenced: its
//!    batch carries its lease's generation and fails, committing nothing, once a later holder has committed.
//! 7. **A batch is submitted again only when it is known to have failed or been aborted, or never ran.** Each
//!    submission carries a client token derived from the run and its attempt number (kept in the pointer), so a
//!    submission repeated after a lost answer is the same request; a failed DescribeStatement is retried, never
//!    answered by submitting.
//! 8. The report completes the run's row (idempotent); the pointer is removed last. A crash between the two
//!    makes the next run re-attach to the finished batch and write the same report again.

use std::time::Instant;

use super::pointer::{PendingLoad, StagedFigures};
use super::{CrashPoint, Pipeline, RunSummary};
use crate::lease::{Lease, Slot};
use crate::spec::JobSpec;
use crate::{Error, LoadFailure, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use s3shift_core::{RunId, RunStatus};
use s3shift_redshift::sql::{self, Fence, LoadSql, RunRow};
use s3shift_redshift::warehouse::RunsTable;
use s3shift_redshift::{Retry, StatementState};

impl PendingLoad {
    /// The client token of this load's current submission by the holder of lease generation `generation`:
    /// the same for a submission repeated after a lost answer, another for the next attempt or another holder
    /// (whose batch must run, to be fenced or to commit). At most 64 printable ASCII characters, whatever the
    /// run id's length.
    fn client_token(&self, generation: u64) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.run_id.as_str().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("s3shift-{h:016x}-{generation:x}-{}", self.attempt.max(1))
    }
}

/// What a resumed load finds of its batch.
enum Found {
    /// Running or finished: wait for it.
    Attach(String),
    /// Known failed or aborted: submit the next attempt.
    Failed,
    /// No batch found (the Data API lists none by the run's name, and none was recorded): submit the current
    /// attempt again, with its token, which is the same request if it did run.
    Nothing,
}

/// DescribeStatement or ListStatements calls a resumed load makes before it gives up on finding its batch
/// (the run then fails and leaves the pointer for the next one: it never submits blind).
const LOOKUPS: u32 = 6;

/// A load whose files, manifest and pointer are written. Nothing of it is committed, or a submission's outcome
/// is unknown (`summary.resumed`).
#[derive(Debug)]
pub(super) struct StagedLoad {
    pending: PendingLoad,
    /// The run's summary so far (a resumed load's: the staging run's figures, from the pointer).
    summary: RunSummary,
    /// The ETag of the pointer as this run last wrote or read it: the pointer is only rewritten while it is
    /// still that version, so a run whose load another run took over never brings the pointer back.
    pointer_etag: Option<String>,
    /// The run's start (the `runs` row's `started_at`).
    started_at: DateTime<Utc>,
    /// Started when this invocation took up the run: the summary's duration runs from here.
    clock: Instant,
}

/// The load batch is submitted, or was found running or finished, under `statement`; the pointer records it.
#[derive(Debug)]
pub(super) struct Submitted {
    pending: PendingLoad,
    summary: RunSummary,
    /// The pointer's ETag after it recorded the batch.
    pointer_etag: Option<String>,
    /// The pointer changed hands before it could record the batch: another run took this load over.
    taken_over: bool,
    statement: String,
    clock: Instant,
    load_clock: Instant,
}

/// The load transaction committed: rows, ledger and the run's `loaded` row are in the warehouse.
#[derive(Debug)]
pub(super) struct Loaded {
    summary: RunSummary,
    clock: Instant,
}

/// The run's row carries its final figures; only the pointer is left to remove.
#[derive(Debug)]
pub(super) struct Reported {
    summary: RunSummary,
}

/// Most submissions of one load within one run. A load that lost to a concurrent load (Redshift's 1023
/// serialization conflict: two jobs load `s3shift.images` at the same minute) or whose COPY could not read S3 is
/// submitted again over the same files; by point 1 above that is safe, since the failed batch committed nothing.
/// One that failed on its data is not: it would fail the same way.
pub(super) const LOAD_ATTEMPTS: u32 = 5;

/// The pause before attempt `attempt + 1`: 250 ms doubling to at most 8 s, less up to half of it, drawn from
/// the run id so that two runs that conflicted do not come back at the same instant.
fn backoff(run_id: &str, attempt: u32) -> std::time::Duration {
    let full = 250u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(8_000);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_id.bytes().chain(attempt.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    std::time::Duration::from_millis(full - (h % (full / 2 + 1)))
}

impl StagedLoad {
    /// The same load, to be submitted again after this submission failed: its figures count the failed
    /// submission's statements too.
    fn again(&self) -> StagedLoad {
        let mut pending = self.pending.clone();
        pending.statement_id = None;
        pending.attempt = pending.attempt.max(1) + 1;
        let mut summary = self.summary.clone();
        summary.data_api_statements += 1;
        summary.copy_statements += 1;
        StagedLoad {
            pending,
            summary,
            pointer_etag: self.pointer_etag.clone(),
            started_at: self.started_at,
            clock: self.clock,
        }
    }

    /// A load this invocation staged (or, for a replay, found staged) and whose pointer it wrote (`pointer_etag`
    /// its ETag, where known).
    pub(super) fn new(
        pending: PendingLoad,
        summary: RunSummary,
        pointer_etag: Option<String>,
        started_at: DateTime<Utc>,
        clock: Instant,
    ) -> Self {
        Self {
            pending,
            summary,
            pointer_etag,
            started_at,
            clock,
        }
    }

    /// A load an earlier, interrupted invocation left behind in its pointer (read at `pointer_etag`).
    pub(super) fn resumed(spec: &JobSpec, pending: PendingLoad, pointer_etag: String) -> Self {
        let summary = pending.resumed_summary(spec.name(), &spec.config.source.name, &spec.table.to_string());
        Self {
            started_at: pending.started_at,
            pending,
            summary,
            pointer_etag: Some(pointer_etag),
            clock: Instant::now(),
        }
    }
}

/// How a pointer write is conditioned.
#[derive(Debug, Clone, Copy)]
enum Write<'a> {
    /// Unconditional (a replay, which owns no earlier version of the pointer).
    Any,
    /// Only where no pointer is (a new run's load).
    New,
    /// Only over this version (a load this run staged or resumed).
    Over(&'a str),
}

/// The key of the pointer of the lease slot `slot` in the staging bucket.
pub(super) fn pointer_key(spec: &JobSpec, slot: Slot) -> String {
    format!("{}/_state/{}", spec.staging_root(), slot.file("pending-load"))
}

impl Pipeline {
    /// The load an interrupted run left pending in `slot`, if any, with the pointer's ETag.
    pub(super) async fn pending_load(
        &self,
        spec: &JobSpec,
        slot: Slot,
    ) -> Result<Option<(PendingLoad, String)>> {
        let bucket = &spec.config.staging.bucket;
        let key = pointer_key(spec, slot);
        let Some((bytes, etag)) = self.s3.get_with_etag(bucket, &key).await? else {
            return Ok(None);
        };
        PendingLoad::from_json(&bytes)
            .map(|p| Some((p, etag)))
            .map_err(|source| Error::BadState {
                location: format!("s3://{bucket}/{key}"),
                hint: "delete it only after checking s3shift.runs for its run",
                source,
            })
    }

    /// Before a pending load is taken up again: the pointer is written anew, so that its age counts from the
    /// last attempt, not from the run that staged it (the staging lifecycle rule, deploy/storage.yaml, expires
    /// everything under the staged prefix after `StagingRetentionDays`, the pointer included: a job failing for
    /// that long would otherwise lose it silently), and its manifest must still be there: a pending load whose
    /// staged files expired cannot be finished, and says so, keeping the pointer, rather than start afresh as if
    /// nothing were pending. Returns the pointer's new ETag.
    pub(super) async fn keep_pending(
        &self,
        spec: &JobSpec,
        slot: Slot,
        pending: &PendingLoad,
        etag: String,
    ) -> Result<String> {
        let bucket = &spec.config.staging.bucket;
        let manifest_key = pending
            .manifest_url
            .strip_prefix(&format!("s3://{bucket}/"))
            .unwrap_or(&pending.manifest_url);
        if self.s3.get(bucket, manifest_key).await?.is_none() {
            return Err(Error::State {
                location: format!("s3://{bucket}/{}", pointer_key(spec, slot)),
                problem: format!(
                    "run {} left a load pending whose staged files are gone ({} is missing: the staging \
                     lifecycle expired it, or it was deleted); its {} rows were never loaded. Read the objects \
                     again with `s3shift backfill {} --since {}` while the source still holds them, then delete \
                     this pointer",
                    pending.run_id,
                    pending.manifest_url,
                    pending.expected_rows,
                    spec.name(),
                    pending
                        .started_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                ),
            });
        }
        Ok(self
            .write_pointer(spec, slot, pending, Write::Over(&etag))
            .await?
            .unwrap_or(etag))
    }

    /// Writes the pointer: unconditionally without `etag`, else only over that version of it. Returns the new
    /// ETag, or `None` (for a conditional write) when the pointer had changed hands.
    async fn write_pointer(
        &self,
        spec: &JobSpec,
        slot: Slot,
        p: &PendingLoad,
        etag: Write<'_>,
    ) -> Result<Option<String>> {
        let body = serde_json::to_vec_pretty(p).map_err(|source| Error::Encode {
            what: "the pending-load pointer",
            source,
        })?;
        let (bucket, key, body) = (
            &spec.config.staging.bucket,
            pointer_key(spec, slot),
            Bytes::from(body),
        );
        Ok(match etag {
            Write::Any => {
                self.s3.put(bucket, &key, body, "application/json").await?;
                None
            }
            Write::New => self.s3.put_if_absent(bucket, &key, body).await?,
            Write::Over(etag) => self.s3.put_if_match(bucket, &key, body, etag).await?,
        })
    }

    /// Writes the manifest of a run's staged files, then the pointer (of the run's lease `slot`) that makes the
    /// load durable.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn stage_load(
        &self,
        spec: &JobSpec,
        slot: Slot,
        run_id: &RunId,
        staged: super::extract::StagedFiles,
        summary: RunSummary,
        ledger_window: Option<DateTime<Utc>>,
        started_at: DateTime<Utc>,
        clock: Instant,
    ) -> Result<StagedLoad> {
        let manifest_key = format!("{}/{}/manifest.json", spec.staging_root(), run_id);
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
            version: super::pointer::VERSION,
            run_id: run_id.clone(),
            manifest_url: format!("s3://{bucket}/{manifest_key}"),
            expected_rows: staged.rows,
            files_staged: summary.files_staged,
            statement_id: None,
            attempt: 1,
            started_at,
            figures: StagedFigures::of(&summary),
            staged_last_modified: staged.last_modified,
            ledger_window,
        };
        // The job's pending load was finished before this run planned: a pointer there now is another run's,
        // written after this run lost the lease.
        let Some(etag) = self.write_pointer(spec, slot, &pending, Write::New).await? else {
            return Err(Error::LeaseLost {
                run_id: run_id.to_string(),
            });
        };
        CrashPoint::AfterPointer.check();
        Ok(StagedLoad::new(pending, summary, Some(etag), started_at, clock))
    }

    /// Writes the pointer of a load whose files are already staged (a replay), making it durable.
    pub(super) async fn stage_replay(
        &self,
        spec: &JobSpec,
        slot: Slot,
        pending: PendingLoad,
        summary: RunSummary,
    ) -> Result<StagedLoad> {
        self.write_pointer(spec, slot, &pending, Write::Any).await?;
        let started_at = pending.started_at;
        Ok(StagedLoad::new(
            pending,
            summary,
            None,
            started_at,
            Instant::now(),
        ))
    }

    /// Takes a staged load through every state to the end: submitted, loaded, reported, pointer removed.
    pub(super) async fn finish_load(
        &self,
        spec: &JobSpec,
        staged: StagedLoad,
        lease: &Lease,
    ) -> Result<RunSummary> {
        let mut staged = staged;
        let mut attempt = 1;
        let (loaded, owned) = loop {
            // What to submit again if this attempt fails for a reason that passes: the same files.
            let mut again = staged.again();
            let submitted = self.submit_load(spec, staged, lease).await?;
            again.pointer_etag.clone_from(&submitted.pointer_etag);
            // Whether the pointer is still this run's: a load another run took over is that run's to retry
            // and to clear.
            let owned = !submitted.taken_over;
            CrashPoint::BeforeWait.check();
            match self.await_load(spec, submitted, lease).await {
                Ok(loaded) => break (loaded, owned),
                Err(Error::LoadFailed { source, run_id, .. })
                    if owned && attempt < LOAD_ATTEMPTS && source.retry() != Retry::No =>
                {
                    let pause = backoff(&run_id, attempt);
                    tracing::warn!(
                        attempt,
                        reason = ?source.retry(),
                        error = %source,
                        pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                        "the load failed for a reason that passes (nothing was committed); submitting it again"
                    );
                    tokio::time::sleep(pause).await;
                    staged = again;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        CrashPoint::AfterLoad.check();
        let reported = self.report_load(spec, loaded).await?;
        CrashPoint::AfterReport.check();
        if owned {
            self.s3
                .delete(&spec.config.staging.bucket, &pointer_key(spec, lease.slot()))
                .await?;
        }
        reported.summary.log();
        Ok(reported.summary)
    }

    /// StagedLoad → Submitted: re-attaches to the batch of a resumed load when it is running or finished, or
    /// submits the batch (only while this run holds the lease) and records its id in the pointer.
    async fn submit_load(&self, spec: &JobSpec, staged: StagedLoad, lease: &Lease) -> Result<Submitted> {
        let StagedLoad {
            mut pending,
            mut summary,
            pointer_etag,
            started_at,
            clock,
        } = staged;
        let load_clock = Instant::now();
        if summary.resumed {
            match self.find_running_or_finished(&pending).await? {
                Found::Attach(statement) => {
                    tracing::info!(statement_id = %statement, "re-attaching to the load");
                    pending.statement_id = Some(statement.clone());
                    return Ok(Submitted {
                        pending,
                        summary,
                        pointer_etag,
                        taken_over: false,
                        statement,
                        clock,
                        load_clock,
                    });
                }
                Found::Failed => {
                    pending.attempt = pending.attempt.max(1) + 1;
                    pending.statement_id = None;
                }
                Found::Nothing => {}
            }
        }
        if lease.lost() {
            return Err(Error::LeaseLost {
                run_id: pending.run_id.to_string(),
            });
        }
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
                files_staged: pending.files_staged,
            },
            fence: Fence {
                lease: lease.location(),
                generation: lease.generation(),
            },
            merge_range: pending.merge_range(),
        };
        let token = pending.client_token(lease.generation());
        let sqls = load.statements()?;
        CrashPoint::BeforeSubmit.check();
        let statement = self
            .api
            .submit_batch_named(&sqls, Some(pending.run_id.as_str()), Some(&token))
            .await?;
        summary.data_api_statements += 1;
        summary.copy_statements += 1;
        CrashPoint::AfterSubmit.check();
        pending.statement_id = Some(statement.clone());
        pending.figures = StagedFigures::of(&summary);
        let write = pointer_etag.as_deref().map_or(Write::Any, Write::Over);
        let written = self.write_pointer(spec, lease.slot(), &pending, write).await?;
        let taken_over = written.is_none() && pointer_etag.is_some();
        if taken_over {
            // Another run took this load over (it finished or replaced the pointer): it is that run's to finish.
            // This batch still runs; the fence lets it commit only if no later holder of the lease has.
            tracing::warn!(statement_id = %statement,
                "the pending-load pointer changed hands: another run took this load over; not recording the batch");
        }
        Ok(Submitted {
            pending,
            summary,
            pointer_etag: written,
            taken_over,
            statement,
            clock,
            load_clock,
        })
    }

    /// What became of the batch of an interrupted load: found by its name, since a crash may have come before
    /// its id was recorded, else the recorded id. A lookup that fails is retried with backoff; one that keeps
    /// failing fails the run (the pointer stays): an unknown outcome is never answered by submitting again.
    async fn find_running_or_finished(&self, pending: &PendingLoad) -> Result<Found> {
        let run_id = pending.run_id.as_str();
        let named = self
            .patiently(run_id, "ListStatements", || self.api.find_named(run_id))
            .await;
        let found = match named {
            Ok(Some(id)) => Some(id),
            Ok(None) => pending.statement_id.clone(),
            Err(e) => {
                // The token covers the gap: submitting the recorded attempt again is the same request.
                tracing::warn!(%run_id, error = %e, "cannot list statements; using the recorded id");
                pending.statement_id.clone()
            }
        };
        let Some(found) = found else {
            return Ok(Found::Nothing);
        };
        let state = self
            .patiently(run_id, "DescribeStatement", || self.api.describe(&found))
            .await?;
        Ok(match state {
            StatementState::Running | StatementState::Finished(_) => Found::Attach(found),
            StatementState::Failed(failure) => {
                tracing::warn!(%run_id, statement_id = %found, message = %failure.message,
                    "the interrupted load had failed; submitting it again");
                Found::Failed
            }
            StatementState::Aborted => {
                tracing::warn!(%run_id, statement_id = %found,
                    "the interrupted load was aborted; submitting it again");
                Found::Failed
            }
        })
    }

    /// `call`, tried up to [`LOOKUPS`] times with [`backoff`] between failures (the SDK has retried each once
    /// already: these are failures it gave up on, a long throttle or an outage).
    async fn patiently<T, F, Fut>(&self, run_id: &str, op: &'static str, call: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = s3shift_redshift::Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if attempt < LOOKUPS => {
                    let pause = backoff(run_id, attempt);
                    tracing::warn!(%run_id, op, attempt, error = %e,
                        pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                        "looking up the interrupted load failed; trying again");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Submitted → Loaded: waits for the batch. A failed batch committed nothing; its error comes back with the
    /// rows of `sys_load_error_detail`, each mapped to its object key.
    async fn await_load(&self, spec: &JobSpec, submitted: Submitted, lease: &Lease) -> Result<Loaded> {
        let Submitted {
            pending,
            mut summary,
            statement,
            clock,
            load_clock,
            ..
        } = submitted;
        if let Err(source) = self.api.wait(&statement).await {
            // Which statement of the batch failed is a fact of the error, not a text to search: a failed COPY
            // may have rows in sys_load_error_detail (a Parquet COPY fails with a Spectrum Scan Error and logs
            // "some errors", COPY from columnar data formats), the two checks say what they found.
            let failure = match source.sub_statement().map(|s| s.index) {
                Some(sql::COPY_STATEMENT) if source.retry() == Retry::No => LoadFailure::Copy {
                    detail: self.load_error_detail(spec, &pending).await,
                },
                Some(sql::ROW_COUNT_CHECK) => LoadFailure::RowCount {
                    staged: pending.expected_rows,
                    loaded: self.copied_rows(&statement).await,
                },
                Some(sql::FENCE_CHECK) => self.fence_failure(spec, lease).await,
                _ => LoadFailure::Other,
            };
            return Err(Error::LoadFailed {
                run_id: pending.run_id.to_string(),
                failure,
                source: Box::new(source),
            });
        }
        summary.stage_seconds.load += load_clock.elapsed().as_secs_f64();
        Ok(Loaded { summary, clock })
    }

    /// Loaded → Reported: completes the run's row with its status and figures.
    async fn report_load(&self, spec: &JobSpec, loaded: Loaded) -> Result<Reported> {
        let Loaded { mut summary, clock } = loaded;
        let t = Instant::now();
        let status = summary.loaded_status();
        summary.status = Some(status);
        summary.data_api_statements += 1;
        summary.stage_seconds.report = t.elapsed().as_secs_f64();
        summary.slowest_stage = summary.stage_seconds.slowest().into();
        summary.duration_s = clock.elapsed().as_secs_f64();
        RunsTable::beside(&spec.table)?
            .complete(&self.api, &summary.report(status))
            .await?;
        Ok(Reported { summary })
    }

    /// The rows the COPY of batch `statement` loaded, where Redshift reports it.
    async fn copied_rows(&self, statement: &str) -> Option<i64> {
        self.api
            .sub_statement_rows(statement)
            .await
            .ok()
            .and_then(|rows| rows.get(sql::COPY_STATEMENT).copied())
            .filter(|n| *n >= 0)
    }

    /// A fenced load: who committed under the lease since (its fence row), where it can be read.
    async fn fence_failure(&self, spec: &JobSpec, lease: &Lease) -> LoadFailure {
        let location = lease.location();
        let current = match spec.table.sibling(sql::FENCE_TABLE) {
            Ok(fences) => self
                .api
                .query(
                    &format!("SELECT generation, run_id FROM {fences} WHERE lease = :lease"),
                    &[("lease", location.clone())],
                )
                .await
                .ok()
                .and_then(|r| r.rows.into_iter().next())
                .and_then(|row| {
                    let generation = row.first().and_then(s3shift_redshift::Value::as_i64)?;
                    let run = row.get(1).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                    Some((u64::try_from(generation).ok()?, run))
                }),
            Err(_) => None,
        };
        LoadFailure::Fenced {
            lease: location,
            generation: lease.generation(),
            current,
        }
    }

    /// Redshift's load errors for this run's files, each mapped back to the object key in the failing row.
    async fn load_error_detail(&self, spec: &JobSpec, pending: &PendingLoad) -> Vec<String> {
        let prefix = pending.manifest_url.trim_end_matches("manifest.json").to_owned();
        // "SYS_LOAD_ERROR_DETAIL": file_name is CHAR(256), "the complete path to the input file", without saying
        // in which form: matched by the staged key after any scheme and host (an s3:// URL or an https one,
        // virtual-hosted or path-style), cut to what the column holds.
        let bucket = &spec.config.staging.bucket;
        let key_prefix = prefix
            .strip_prefix(&format!("s3://{bucket}/"))
            .unwrap_or(&prefix)
            .to_owned();
        let rows = match self
            .api
            .query(
                "SELECT file_name, line_number, column_name, error_message FROM sys_load_error_detail \
                 WHERE file_name LIKE :files ESCAPE '!' ORDER BY start_time DESC, line_number LIMIT 20",
                &[("files", file_name_pattern(&key_prefix))],
            )
            .await
        {
            Ok(r) => r,
            Err(e) => return vec![format!("(could not read sys_load_error_detail: {e})")],
        };
        if rows.rows.is_empty() {
            // Parquet COPY failures often log no detail row: Redshift Spectrum's error is the whole story.
            return vec![format!(
                "no rows in sys_load_error_detail for {prefix}: the error above is all Redshift reported"
            )];
        }
        let mut out = Vec::new();
        for r in &rows.rows {
            // SYS_LOAD_ERROR_DETAIL's text columns are CHAR: blank-padded.
            let text = |i: usize| r.get(i).and_then(|v| v.as_str()).unwrap_or("").trim_end();
            let file = text(0);
            let line = r.get(1).and_then(|v| v.as_i64()).unwrap_or(0);
            let column = text(2);
            let message = text(3);
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
        let key = staged_key_of(url, &spec.config.staging.bucket)?;
        let bytes = self.s3.get(&spec.config.staging.bucket, &key).await.ok()??;
        let row = usize::try_from(line).ok()?.checked_sub(1)?;
        s3shift_stage::files::object_key_at(bytes, row)
    }

    /// Records a run that loaded nothing: its row goes in complete, with `status`.
    pub(super) async fn record_unloaded(
        &self,
        spec: &JobSpec,
        summary: &RunSummary,
        status: RunStatus,
    ) -> Result<()> {
        RunsTable::beside(&spec.table)?
            .record_unloaded(&self.api, &summary.report(status))
            .await?;
        Ok(())
    }
}

/// The LIKE pattern that finds `key_prefix`'s files in `sys_load_error_detail.file_name` whatever the URL form:
/// `%/<key_prefix>%`, with LIKE's `%` and `_` (and the escape itself) escaped by `!`, the escape the query names
/// (`ESCAPE '!'`, not the backslash, whose reading in a literal depends on settings), and cut so that it never
/// asks for more than the CHAR(256) column holds.
fn file_name_pattern(key_prefix: &str) -> String {
    let mut literal = String::from("/");
    for c in key_prefix.chars() {
        if literal.len() >= 240 {
            break;
        }
        if matches!(c, '%' | '_' | '!') {
            literal.push('!');
        }
        literal.push(c);
    }
    format!("%{literal}%")
}

/// The staged key a `file_name` names: after `s3://<bucket>/`, after `https://<bucket>.s3...amazonaws.com/`
/// (virtual-hosted), or after `https://<host>/<bucket>/` (path-style). `None` for another bucket or form.
fn staged_key_of(file_name: &str, bucket: &str) -> Option<String> {
    let file_name = file_name.trim_end();
    if let Some(key) = file_name.strip_prefix(&format!("s3://{bucket}/")) {
        return Some(key.to_owned());
    }
    let rest = file_name.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    if host.starts_with(&format!("{bucket}.")) {
        return Some(path.to_owned());
    }
    path.strip_prefix(&format!("{bucket}/")).map(str::to_owned)
}

#[cfg(test)]
mod file_name_tests {
    use super::*;

    #[test]
    fn load_error_files_are_found_in_any_url_form() {
        let key = "staged/api_images/run-1/part-0.parquet";
        for url in [
            format!("s3://stage/{key}"),
            format!("https://stage.s3.eu-west-1.amazonaws.com/{key}"),
            format!("https://s3.eu-west-1.amazonaws.com/stage/{key}"),
        ] {
            assert_eq!(staged_key_of(&url, "stage").as_deref(), Some(key), "{url}");
        }
        assert_eq!(staged_key_of("s3://other/x", "stage"), None);
        assert_eq!(
            file_name_pattern("staged/api_images/run-1/"),
            "%/staged/api!_images/run-1/%"
        );
        assert!(file_name_pattern(&"k".repeat(400)).len() < 256);
    }
}
