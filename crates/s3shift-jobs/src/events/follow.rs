//! `s3shift run <job> --follow`: receive continuously (long polling) and load whenever the oldest waiting
//! object has waited `max_latency_seconds`, or `max_batch` objects wait; until the stop signal, then load what
//! was received and return.
//!
//! Each load is an ordinary event run ([`Pipeline::run_batch`]): it takes one of the job's event lease slots
//! (`[source.events] consumers`) for its own length only, so the reconciliation scan and manual runs of the job
//! still get their turn, and a cycle that finds every slot taken keeps its messages (hidden, since
//! `visibility_timeout_seconds` is longer than a batch waits) and tries again a few seconds later. Several
//! followers of one queue (an ECS service of N tasks) each receive their own messages and load concurrently,
//! exactly once (see `run/load.rs`); a follower that starts first finishes what dead followers left pending.

use std::time::Duration;

use chrono::Utc;

use super::EventBatch;
use crate::run::{Pipeline, RunOptions, RunSummary};
use crate::spec::JobSpec;
use crate::{Error, Result};

/// How long a cycle that found the lease taken waits before trying again.
const LEASE_RETRY: Duration = Duration::from_secs(5);

impl Pipeline {
    /// Follows the job's queue until `options.stop` turns true, handing each run's summary to `on_run` as it
    /// ends. Errors end the loop (the service restarts the task; nothing received and not loaded is lost: its
    /// messages come back after their visibility timeout).
    pub async fn follow(
        &self,
        spec: &JobSpec,
        options: &RunOptions,
        mut on_run: impl FnMut(&RunSummary),
    ) -> Result<()> {
        let Some(cfg) = spec.config.source.events.clone() else {
            return Err(Error::Config {
                file: spec.file.clone(),
                field: "source.events".into(),
                problem: "--follow needs [source.events] with a queue_url".into(),
            });
        };
        let queue = self.event_queue(spec)?.clone();
        let src = &spec.config.source;
        let mut stop = options.stop.clone();
        let stopped =
            |s: &Option<tokio::sync::watch::Receiver<bool>>| s.as_ref().is_some_and(|s| *s.borrow());
        let mut batch = EventBatch::default();
        let mut retry_at: Option<tokio::time::Instant> = None;
        // Whether the last receive was full: the queue holds more right now.
        let mut queue_had_more = false;
        tracing::info!(queue = %queue.url(), max_latency_s = cfg.max_latency_seconds, max_batch = cfg.max_batch,
            consumers = cfg.consumers, "following the event queue");
        for s in self.finish_abandoned(spec).await.map_err(|e| e.explain(spec))? {
            on_run(&s);
        }
        loop {
            if stopped(&stop) {
                // What was received and not loaded goes back to the queue for the next task, now rather than
                // after its visibility timeout; a cycle under way when the signal came drained as a run does.
                queue.delete(&batch.take_done()).await?;
                let rest = batch.receipts();
                queue.release(&rest).await?;
                tracing::info!(released = rest.len(), "stop requested: stopped following");
                return Ok(());
            }
            if batch.pending_objects() == 0 && batch.messages() > 0 {
                // Test events, deletes, foreign or malformed bodies: nothing to load, no run to record.
                queue.delete(&batch.take_done()).await?;
            }
            let waited = batch
                .oldest_event()
                .map(|t| (Utc::now() - t).to_std().unwrap_or_default());
            let latency = Duration::from_secs(cfg.max_latency_seconds);
            // A follower catching up on a backlog (a restart, a burst, a scale-out) finds every waiting event
            // already older than max_latency_seconds: it keeps receiving while the queue hands over full
            // receives, and loads max_batch at a time, not the few of one receive each cycle.
            let due = batch.pending_objects() > 0
                && (batch.pending_objects() as u64 >= cfg.max_batch
                    || (waited.is_some_and(|w| w >= latency) && !queue_had_more))
                && retry_at.is_none_or(|t| tokio::time::Instant::now() >= t);
            if due {
                let outcome = self.run_batch(spec, options, std::mem::take(&mut batch)).await?;
                match outcome {
                    Ok(summaries) => {
                        retry_at = None;
                        for s in &summaries {
                            on_run(s);
                        }
                    }
                    Err(kept) => {
                        tracing::info!(
                            waiting = kept.pending_objects(),
                            "another run holds the job's lease; the batch waits"
                        );
                        batch = kept;
                        retry_at = Some(tokio::time::Instant::now() + LEASE_RETRY);
                    }
                }
                continue;
            }
            // Wait for messages no longer than until the oldest waiting object is due.
            let until_due = waited.map_or(Duration::from_secs(20), |w| latency.saturating_sub(w));
            let wait_s = u32::try_from(until_due.as_secs().clamp(1, 20)).unwrap_or(20);
            let want = usize::try_from(cfg.max_batch.saturating_sub(batch.pending_objects() as u64))
                .unwrap_or(10)
                .clamp(1, 10);
            let received = match stop.as_mut() {
                Some(s) => tokio::select! {
                    r = queue.receive(want, wait_s, cfg.visibility_timeout_seconds) => r?,
                    _ = s.changed() => Vec::new(),
                },
                None => {
                    queue
                        .receive(want, wait_s, cfg.visibility_timeout_seconds)
                        .await?
                }
            };
            batch.counts.receive_requests += 1;
            queue_had_more = received.len() >= want;
            batch.add(received, &src.bucket, &src.prefixes);
        }
    }
}
