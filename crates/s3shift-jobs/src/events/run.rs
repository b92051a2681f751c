//! Event mode's queue work for a run: receiving a run's messages, deleting those that wait on nothing, and
//! settling the rest after the load. Planning from the batch is `crate::plan::events`; following the queue is
//! [`follow`](super::follow).

use std::collections::HashSet;

use s3shift_core::ObjectRef;

use super::{EventBatch, EventCounts, EventQueue, Received};
use crate::run::Pipeline;
use crate::spec::JobSpec;
use crate::{Error, Result};

/// The in-flight quota of a standard queue ("Amazon SQS standard queue quotas": "approximately 120,000").
pub const IN_FLIGHT_QUOTA: u64 = 120_000;

/// How many messages a scheduled event run may receive: at most `max_messages_per_run`, and no more than leaves
/// `headroom` (the job's followers' most, `consumers × max_batch`) under [`IN_FLIGHT_QUOTA`] with `in_flight`
/// already held.
pub fn receive_budget(max_messages_per_run: u64, in_flight: u64, headroom: u64) -> u64 {
    max_messages_per_run.min(IN_FLIGHT_QUOTA.saturating_sub(in_flight).saturating_sub(headroom))
}

impl Pipeline {
    /// The job's event queue; an error naming the job when it has none configured.
    pub(crate) fn event_queue(&self, spec: &JobSpec) -> Result<&EventQueue> {
        self.events.as_ref().ok_or_else(|| Error::Config {
            file: spec.file.clone(),
            field: "source.events".into(),
            problem: "event mode needs [source.events] with a queue_url".into(),
        })
    }

    /// Receives messages for a scheduled event run: `receivers` long polls in flight, each until the queue
    /// answers empty, together at most `max_messages_per_run` and never past SQS's in-flight quota (see
    /// [`receive_budget`]), stopping early when `stop` turns true.
    ///
    /// "Amazon SQS standard queue quotas": about 120,000 messages may be in flight; at the quota a long poll
    /// returns no message and no error, so an empty receive there does not mean the queue is drained. The run
    /// reads the queue's depth first (messages other runs or followers hold count against the quota) and
    /// receives only what fits, and says so when visible messages are left behind.
    pub(crate) async fn receive_run(
        &self,
        spec: &JobSpec,
        stop: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> Result<(Vec<Received>, u64)> {
        let Some(cfg) = &spec.config.source.events else {
            return Ok((Vec::new(), 0));
        };
        let queue = self.event_queue(spec)?.clone();
        let headroom = cfg.max_batch.saturating_mul(u64::from(cfg.consumers));
        let room = match queue.depths().await {
            Ok(d) => {
                let room = receive_budget(cfg.max_messages_per_run, d.queue.in_flight, headroom);
                if room < cfg.max_messages_per_run {
                    tracing::warn!(
                        in_flight = d.queue.in_flight,
                        visible = d.queue.visible,
                        receive_at_most = room,
                        quota = IN_FLIGHT_QUOTA,
                        "messages in flight (held by other runs or followers) near SQS's \
                         in-flight quota: this run receives fewer than max_messages_per_run"
                    );
                }
                room
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the queue's depth; receiving up to max_messages_per_run");
                cfg.max_messages_per_run
            }
        };
        let budget = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(room));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..cfg.receivers {
            let (queue, budget, stop, visibility) = (
                queue.clone(),
                budget.clone(),
                stop.cloned(),
                cfg.visibility_timeout_seconds,
            );
            tasks.spawn(tracing::Instrument::in_current_span(async move {
                use std::sync::atomic::Ordering;
                let (mut got, mut calls) = (Vec::new(), 0u64);
                loop {
                    if stop.as_ref().is_some_and(|s| *s.borrow()) {
                        break;
                    }
                    // Take up to ten from the budget; give back what the receive did not use.
                    let want = budget
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| Some(b.saturating_sub(10)))
                        .map_or(0, |b| b.min(10));
                    if want == 0 {
                        break;
                    }
                    calls += 1;
                    let batch = queue
                        .receive(usize::try_from(want).unwrap_or(10), 1, visibility)
                        .await?;
                    budget.fetch_add(want - (batch.len() as u64).min(want), Ordering::SeqCst);
                    if batch.is_empty() {
                        break;
                    }
                    got.extend(batch);
                }
                Ok::<_, Error>((got, calls))
            }));
        }
        let (mut all, mut calls) = (Vec::new(), 0u64);
        while let Some(done) = tasks.join_next().await {
            let (got, c) = done.map_err(|source| Error::Task {
                what: "a queue receiver",
                source,
            })??;
            all.extend(got);
            calls += c;
        }
        // The receives stopped at an empty answer with room left: the queue is drained, unless the quota
        // stopped them (a long poll answers empty there too).
        if (all.len() as u64) < room
            && let Ok(d) = queue.depths().await
            && d.queue.visible > 0
            && d.queue.in_flight.saturating_add(headroom) >= IN_FLIGHT_QUOTA
        {
            tracing::warn!(
                visible = d.queue.visible,
                in_flight = d.queue.in_flight,
                quota = IN_FLIGHT_QUOTA,
                "the queue is not drained: SQS's in-flight quota stopped the receives (a long poll then answers \
                 empty); the rest is left for the next run"
            );
        }
        Ok((all, calls))
    }

    /// Deletes the messages of `batch` that wait on nothing (every object they name is loaded, or they name
    /// none): planned after the ledger lookup, before anything is read.
    pub(crate) async fn drop_done(&self, spec: &JobSpec, batch: &mut EventBatch) -> Result<()> {
        let done = batch.take_done();
        if !done.is_empty() {
            batch.counts.deleted += self.event_queue(spec)?.delete(&done).await?;
        }
        Ok(())
    }

    /// After the load committed (or nothing was loaded): deletes the messages whose objects are all loaded,
    /// makes visible again those this run did not get to, and leaves those with an object that failed to their
    /// visibility timeout, so that a poison message reaches the dead-letter queue. Returns the batch's counts,
    /// settled.
    pub(crate) async fn settle_events(
        &self,
        spec: &JobSpec,
        batch: EventBatch,
        planned: &[ObjectRef],
        not_loaded: &HashSet<String>,
        failed: &HashSet<String>,
    ) -> Result<EventCounts> {
        let queue = self.event_queue(spec)?;
        let loaded: HashSet<String> = planned
            .iter()
            .map(ObjectRef::identity)
            .filter(|id| !not_loaded.contains(id))
            .collect();
        let mut counts = batch.counts;
        let (delete, release, leave) = batch.settle(&loaded, failed);
        counts.deleted += queue.delete(&delete).await?;
        queue.release(&release).await?;
        counts.released += release.len() as u64;
        for m in &leave {
            tracing::warn!(message_id = %m.message_id, receive_count = m.receive_count,
                "an object of this message could not be read; the message stays for its visibility timeout \
                 and reaches the dead-letter queue after the queue's maxReceiveCount receives");
        }
        counts.left += leave.len() as u64;
        tracing::info!(
            messages = counts.messages,
            deleted = counts.deleted,
            released = counts.released,
            left = counts.left,
            "event messages settled"
        );
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_receives_only_what_fits_under_the_in_flight_quota() {
        // Nothing held: the configured limit (the followers' room kept free).
        assert_eq!(receive_budget(100_000, 0, 20_000), 100_000);
        // Followers and earlier runs hold 50,000: 120,000 - 50,000 - 20,000.
        assert_eq!(receive_budget(100_000, 50_000, 20_000), 50_000);
        // At or past the quota: nothing.
        assert_eq!(receive_budget(100_000, 119_000, 20_000), 0);
        assert_eq!(receive_budget(100_000, 130_000, 0), 0);
    }
}
