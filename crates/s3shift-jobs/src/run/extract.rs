//! Reading and staging: the planned objects are read with bounded concurrency (ranged GETs, more only when the
//! extractor asks), turned into records, and staged as Parquet files under `<staging>/<job>/<run_id>/`.
//!
//! Memory is bounded by the concurrency, two channels and one open file. CPU work (extraction runs in the
//! workers; Parquet encoding on one blocking thread) stays off the IO threads' way. One bad object never stops
//! the run: a parser panic becomes a `corrupt` row, a record that breaks a table guarantee is kept as a
//! `corrupt` row, an object deleted or replaced since the listing becomes a `vanished` row, and one still
//! unreadable after the SDK's retries is left for the next run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use s3shift_core::{ExtractStatus, ImageRecord, ObjectRef, RunId};
use s3shift_extract::{ExtractConfig, ObjectBytes, Step, extract_prefix, extract_step, first_range};
use s3shift_s3::S3Store;
use s3shift_stage::{CopyManifest, ParquetStager, StagedFile, StagedRow, StagerConfig};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{CrashPoint, Pipeline, RunOptions};
use crate::spec::JobSpec;
use crate::{Error, Result};

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
        /// The user metadata as the `user_metadata` column's JSON object.
        user_metadata: Option<String>,
        /// The checksum S3 keeps (with `limits.checksums`).
        checksum: Option<s3shift_s3::ObjectChecksum>,
        record: Box<ImageRecord>,
    },
    Failed {
        object: ObjectRef,
        error: String,
    },
}

/// What extraction counted: the run's summary takes it ([`RunSummary::apply_extract`]).
#[derive(Debug, Clone, Default)]
pub(super) struct ExtractReport {
    /// Rows staged (every status).
    pub(super) rows: u64,
    /// Of them, corrupt or truncated.
    pub(super) quarantined: u64,
    /// The first [`QUARANTINE_NAMED`](crate::run::summary::QUARANTINE_NAMED) of those.
    pub(super) quarantined_named: Vec<crate::run::summary::Quarantined>,
    /// Of them, gone before their GET.
    pub(super) vanished: u64,
    /// Planned objects still unreadable after retries (no row).
    pub(super) failed: u64,
    /// Planned objects not read because a stop request drained the run (no row).
    pub(super) unread: u64,
    /// Parquet files staged.
    pub(super) files_staged: u64,
    /// Bytes read from the source.
    pub(super) bytes_read: u64,
    /// Source GET requests.
    pub(super) get_requests: u64,
}

/// What extraction staged: the files and their manifest, and what has no row.
pub(super) struct StagedFiles {
    /// What extraction counted.
    pub(super) report: ExtractReport,
    pub(super) rows: u64,
    /// The smallest and largest `last_modified` of the rows staged (none when no row was).
    pub(super) last_modified: Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)>,
    pub(super) manifest: CopyManifest,
    /// Identities of the planned objects that have no row: unreadable after retries, or not read before a drain.
    pub(super) not_loaded: HashSet<String>,
    /// Of those, the ones that were read and failed.
    pub(super) failed: HashSet<String>,
}

/// Totals the stager keeps.
#[derive(Debug, Default)]
struct StageTotals {
    rows: u64,
    quarantined: u64,
    /// The first [`QUARANTINE_NAMED`] quarantined objects, named in the summary.
    quarantined_named: Vec<crate::run::summary::Quarantined>,
    vanished: u64,
    failed: u64,
    failed_ids: HashSet<String>,
    /// The smallest and largest `last_modified` of the rows staged.
    last_modified: Option<(DateTime<Utc>, DateTime<Utc>)>,
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
        user_metadata: None,
        checksum: None,
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
async fn read_one(
    s3: &S3Store,
    mut object: ObjectRef,
    cfg: &ExtractConfig,
    checksums: bool,
    counters: &Counters,
) -> Outcome {
    let Some(first) = first_range(object.size, cfg) else {
        let record = match extract_prefix(&[], 0, cfg) {
            Step::Done(r) => r,
            Step::Need(_) => Box::new(ImageRecord::new(ExtractStatus::Empty)),
        };
        return Outcome::Row {
            object,
            content_type: None,
            user_metadata: None,
            checksum: None,
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
    if let Some(lm) = read.last_modified {
        // An event gives the time S3 finished the request, not LastModified (a multipart upload's is earlier):
        // the row takes the object's own, and its expiry moves with it. A listed LastModified agrees with the
        // GET's to the second (HTTP dates have no fractions), so a scanned object keeps its listed value.
        let shift = lm - object.last_modified;
        if shift.abs() >= chrono::Duration::seconds(1) {
            // The rule's days are the whole days between LastModified and the expiry (rounded up to midnight).
            object.expires_at = object.expires_at.and_then(|e| {
                let days = u32::try_from((e - object.last_modified).num_days()).ok()?;
                s3shift_core::expiry_of(lm, days)
            });
            object.last_modified = lm;
        }
    }
    let mut total = read.bytes.len() as u64;
    counters.bytes_read.fetch_add(total, Ordering::Relaxed);
    let content_type = read.content_type.clone();
    let user_metadata = s3shift_core::schema::json_object(
        &read.user_metadata,
        s3shift_core::schema::USER_METADATA.max_bytes(),
    );
    // A HeadObject is a GET-class request, as S3 bills it: it counts with the GETs.
    let checksum = if checksums {
        counters.get_requests.fetch_add(1, Ordering::Relaxed);
        match s3.checksum(&object).await {
            Ok(c) => c,
            Err(e) if e.is_vanished() => return vanished(object, &e, read.bytes.len() as u64),
            Err(e) => {
                return Outcome::Failed {
                    error: e.to_string(),
                    object,
                };
            }
        }
    } else {
        None
    };
    let mut step = guarded(|| extract_prefix(&read.bytes, object.size, cfg));
    let mut held: Option<ObjectBytes> = None;
    loop {
        let range = match step {
            Step::Done(mut record) => {
                record.bytes_read = total;
                return Outcome::Row {
                    object,
                    content_type,
                    user_metadata,
                    checksum,
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
        let (object, content_type, user_metadata, checksum, record) = match outcome {
            Outcome::Row {
                object,
                content_type,
                user_metadata,
                checksum,
                record,
            } => (object, content_type, user_metadata, checksum, record),
            Outcome::Failed { object, error } => {
                tracing::warn!(bucket = %object.bucket, key = %object.key, %error,
                    "object unreadable after retries; left for the next run");
                totals.failed += 1;
                totals.failed_ids.insert(object.identity());
                continue;
            }
        };
        let row = StagedRow {
            source: &source,
            object: &object,
            content_type: content_type.as_deref(),
            user_metadata: user_metadata.as_deref(),
            checksum: checksum
                .as_ref()
                .map(|c| (c.algorithm, c.value.as_str(), c.kind.as_str())),
            record: &record,
            run_id: &run_id,
            loaded_at: now,
        };
        let mut outcome = (record.status, record.reason.clone());
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
                outcome = (fixed.status, fixed.reason.clone());
                stager.push(&StagedRow {
                    record: &fixed,
                    ..row
                })?
            }
            Err(e) => return Err(e.into()),
        };
        totals.rows += 1;
        let lm = object.last_modified;
        totals.last_modified = Some(
            totals
                .last_modified
                .map_or((lm, lm), |(lo, hi)| (lo.min(lm), hi.max(lm))),
        );
        match outcome.0 {
            s if s.is_failure() => {
                tracing::warn!(bucket = %object.bucket, key = %object.key, status = s.as_str(),
                    reason = outcome.1.as_deref().unwrap_or_default(),
                    "object quarantined: its row is loaded with the status and the reason");
                totals.quarantined += 1;
                if totals.quarantined_named.len() < crate::run::summary::QUARANTINE_NAMED {
                    totals.quarantined_named.push(crate::run::summary::Quarantined {
                        key: object.key.clone(),
                        status: s.as_str().to_owned(),
                        reason: outcome.1.unwrap_or_default(),
                    });
                }
            }
            ExtractStatus::Vanished => totals.vanished += 1,
            _ => {}
        }
        if totals.rows == fail_after {
            CrashPoint::MidExtract.check();
        }
        if let Some(f) = file
            && files.blocking_send(f).is_err()
        {
            return Err(Error::Stopped {
                what: "the staging uploader",
            });
        }
    }
    if let Some(f) = stager.finish()?
        && files.blocking_send(f).is_err()
    {
        return Err(Error::Stopped {
            what: "the staging uploader",
        });
    }
    Ok(totals)
}

impl Pipeline {
    /// Reads every planned object with bounded concurrency, extracts, and stages the rows as Parquet files under
    /// `<staging>/<job>/<run_id>/`. Memory is bounded by the concurrency, two channels and one open file.
    pub(super) async fn extract_and_stage(
        &self,
        spec: &JobSpec,
        run_id: &RunId,
        now: DateTime<Utc>,
        objects: Vec<ObjectRef>,
        options: &RunOptions,
    ) -> Result<StagedFiles> {
        let stop = options.stop.clone();
        let progress_mode = options.progress;
        let limits = spec.config.limits;
        let cfg = ExtractConfig {
            first_read_bytes: limits.range_bytes,
            grow_bytes: limits.grow_bytes,
            max_bytes: limits.max_read_bytes,
        };
        let checksums = limits.checksums;
        let planned = objects.len() as u64;
        let counters = Arc::new(Counters::default());
        let queue = Arc::new(std::sync::Mutex::new(objects.into_iter()));
        let workers = limits.concurrency.get();
        let (out_tx, out_rx) = mpsc::channel::<Outcome>(workers * 4);
        let (file_tx, mut file_rx) = mpsc::channel::<StagedFile>(2);
        let mut tasks = JoinSet::new();
        // The key each worker reads now: a worker that panics is named by the object it held, which is then
        // neither loaded nor left unread, so the run must fail rather than account for it as either.
        let mut holding: HashMap<tokio::task::Id, Arc<std::sync::Mutex<Option<String>>>> = HashMap::new();
        for _ in 0..workers {
            let (queue, out_tx, s3, counters, stop) = (
                queue.clone(),
                out_tx.clone(),
                self.s3.clone(),
                counters.clone(),
                stop.clone(),
            );
            let held = Arc::new(std::sync::Mutex::new(None::<String>));
            let holds = held.clone();
            let handle = tasks.spawn(tracing::Instrument::in_current_span(async move {
                loop {
                    if stop.as_ref().is_some_and(|s| *s.borrow()) {
                        break;
                    }
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some(object) = next else { break };
                    if let Ok(mut h) = holds.lock() {
                        *h = Some(object.key.clone());
                    }
                    let outcome = read_one(&s3, object, &cfg, checksums, &counters).await;
                    counters.objects_read.fetch_add(1, Ordering::Relaxed);
                    if out_tx.send(outcome).await.is_err() {
                        break;
                    }
                    if let Ok(mut h) = holds.lock() {
                        *h = None;
                    }
                }
            }));
            holding.insert(handle.id(), held);
        }
        drop(out_tx);
        let (progress_done, progress_rx) = tokio::sync::watch::channel(false);
        let progress = tokio::spawn(tracing::Instrument::in_current_span(report_progress(
            progress_mode,
            counters.clone(),
            planned,
            progress_rx,
        )));
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
        let mut files_staged = 0u64;
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
            files_staged += 1;
        }
        drop(file_rx);
        let mut panicked = None;
        while let Some(joined) = tasks.join_next_with_id().await {
            if let Err(e) = joined
                && panicked.is_none()
            {
                let key = holding
                    .get(&e.id())
                    .and_then(|h| h.lock().ok().and_then(|k| k.clone()))
                    .unwrap_or_else(|| "(no object)".into());
                panicked = Some((key, e));
            }
        }
        let _ = progress_done.send(true);
        let _ = progress.await;
        let unread_ids: HashSet<String> = queue
            .lock()
            .map(|mut q| (&mut *q).map(|o| o.identity()).collect())
            .unwrap_or_default();
        let unread = unread_ids.len() as u64;
        if unread > 0 {
            tracing::warn!(
                unread,
                "stop requested: drained after the objects in flight; the rest is left for the next run"
            );
        }
        let mut totals = stager.await.map_err(|source| Error::Task {
            what: "the stager thread",
            source,
        })??;
        if let Some((key, source)) = panicked {
            return Err(Error::Worker { key, source });
        }
        if let Some(e) = upload_error {
            return Err(e.into());
        }
        let report = ExtractReport {
            rows: totals.rows,
            quarantined: totals.quarantined,
            quarantined_named: std::mem::take(&mut totals.quarantined_named),
            vanished: totals.vanished,
            failed: totals.failed,
            unread,
            files_staged,
            bytes_read: counters.bytes_read.load(Ordering::Relaxed),
            get_requests: counters.get_requests.load(Ordering::Relaxed),
        };
        let mut not_loaded = unread_ids;
        not_loaded.extend(totals.failed_ids.iter().cloned());
        Ok(StagedFiles {
            rows: totals.rows,
            last_modified: totals.last_modified,
            manifest,
            not_loaded,
            failed: totals.failed_ids,
            report,
        })
    }
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
}
