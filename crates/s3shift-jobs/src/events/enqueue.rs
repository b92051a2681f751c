//! `backfill --enqueue`: a backfill shared out to the job's followers through its own queue.
//!
//! The listing of the window is turned into work items ([`WorkItem`]) on the job's SQS queue, and every
//! `--follow` consumer takes its share as it takes uploads' events: more consumers, a faster backfill, and the
//! follower service's backlog-per-task scaling adds tasks for it. This is the queue-based work sharing of
//! "Increasing throughput using horizontal scaling and action batching with Amazon SQS" (Amazon SQS Developer
//! Guide: producers and consumers scaled out on one queue, batch actions to cut requests), the shape of AWS's
//! `QueueProcessingFargateService` pattern (AWS CDK `aws-ecs-patterns`).
//!
//! Why a queue and not a key space split by hash across N tasks: ECS gives a task no index to pick its share
//! by, a crashed shard's share would wait for someone to rerun exactly that shard, and the split would be fixed
//! at N; the queue's visibility timeout hands a crashed consumer's share to the others, and the share follows
//! whoever is running.
//!
//! Exactly once is the load's, not the queue's: a work item is an event, deduped by identity and checked
//! against the ledger like any other, except that an object counts as done only when the ledger shows it
//! loaded at or after the request's time, taken from the warehouse's clock (the one `loaded_at` is written
//! with). A redelivered item, or one cut short by a run's limits, so never reads an object twice once it is
//! loaded again; running the same enqueue twice reads each object at most twice, and loads it once each time.

use std::collections::HashSet;

use s3shift_redshift::warehouse::ledger::warehouse_now;

use super::message::WorkItem;
use super::queue::{SQS_BATCH, SQS_BATCH_BYTES};
use crate::run::{Backfill, Pipeline};
use crate::spec::JobSpec;
use crate::{Error, Result};

/// Most objects in one work item.
pub const OBJECTS_PER_ITEM: usize = 50;

/// What an enqueued backfill sent.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Enqueued {
    /// The job.
    pub job: String,
    /// The queue the items went to.
    pub queue: String,
    /// The warehouse's time of the request, RFC 3339: objects loaded from then on are not read again.
    pub reprocess_unless_loaded_since: String,
    /// Objects selected (and sent, unless a dry run).
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Messages sent (a dry run: that would be sent).
    pub messages: u64,
    /// ListObjectsV2 requests.
    pub list_requests: u64,
    /// Keys named by `--keys-from` that the listing did not find.
    pub objects_not_found: u64,
    /// Nothing was sent.
    pub dry_run: bool,
}

/// Work items waiting to go out in one SendMessageBatch.
struct Outbox<'a> {
    queue: &'a super::EventQueue,
    bodies: Vec<String>,
    bytes: usize,
    dry_run: bool,
    sent: u64,
}

impl Outbox<'_> {
    async fn add(&mut self, body: String) -> Result<()> {
        if self.bodies.len() == SQS_BATCH || self.bytes + body.len() > SQS_BATCH_BYTES {
            self.flush().await?;
        }
        self.bytes += body.len();
        self.bodies.push(body);
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        if self.bodies.is_empty() {
            return Ok(());
        }
        if !self.dry_run {
            self.queue.send(&self.bodies).await?;
        }
        self.sent += self.bodies.len() as u64;
        self.bodies.clear();
        self.bytes = 0;
        Ok(())
    }
}

impl Pipeline {
    /// Lists `backfill`'s window (its prefixes, which must lie under the job's, else the followers would drop
    /// the items as foreign) and sends its objects to the job's queue as work items, each message within a
    /// tenth of the queue's `MaximumMessageSize` (so ten fill one SendMessageBatch) and at most
    /// [`OBJECTS_PER_ITEM`] objects, never more than the job's `max_objects_per_run`. Holds one batch of items at
    /// a time, never the listing. A dry run lists and counts, and sends nothing.
    pub async fn enqueue_backfill(
        &self,
        spec: &JobSpec,
        backfill: &Backfill,
        dry_run: bool,
    ) -> Result<Enqueued> {
        let src = &spec.config.source;
        let queue = self.event_queue(spec)?;
        let prefixes = if backfill.prefixes.is_empty() {
            src.prefixes.clone()
        } else {
            backfill.prefixes.clone()
        };
        if let Some(p) = prefixes
            .iter()
            .find(|p| !src.prefixes.iter().any(|job| p.starts_with(job.as_str())))
        {
            return Err(Error::Config {
                file: spec.file.clone(),
                field: "source.prefixes".into(),
                problem: format!(
                    "--enqueue: prefix {p:?} is not under the job's prefixes {:?}: its followers would drop \
                     those items as outside the job; backfill it without --enqueue",
                    src.prefixes
                ),
            });
        }
        let item_bytes = queue.max_message_size().await?.min(SQS_BATCH_BYTES) / SQS_BATCH;
        // An item never holds more objects than one run may plan, so each receive of it makes progress: a
        // release counts toward the queue's maxReceiveCount like any receive ("Amazon SQS dead-letter queues").
        let item_objects = usize::try_from(spec.config.limits.max_objects_per_run)
            .unwrap_or(usize::MAX)
            .clamp(1, OBJECTS_PER_ITEM);
        let since = warehouse_now(&self.api).await?;
        let mut report = Enqueued {
            job: spec.name().to_owned(),
            queue: queue.url().to_owned(),
            reprocess_unless_loaded_since: since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            dry_run,
            ..Enqueued::default()
        };
        let mut outbox = Outbox {
            queue,
            bodies: Vec::new(),
            bytes: 0,
            dry_run,
            sent: 0,
        };
        let named: Option<HashSet<&str>> = backfill
            .keys
            .as_ref()
            .map(|k| k.iter().map(String::as_str).collect());
        let mut found: HashSet<String> = HashSet::new();
        let mut item = WorkItem::new(since);
        for prefix in &prefixes {
            let mut pages = self.s3.pages(&src.bucket, prefix);
            while let Some(page) = pages.next_page().await? {
                for o in page {
                    if !backfill.selects(&o) || named.as_ref().is_some_and(|k| !k.contains(o.key.as_str())) {
                        continue;
                    }
                    if named.is_some() {
                        found.insert(o.key.clone());
                    }
                    report.objects += 1;
                    report.bytes += o.size;
                    let record = WorkItem::record(&o);
                    if record.len() + 256 > item_bytes {
                        return Err(Error::Config {
                            file: spec.file.clone(),
                            field: "source.events.queue_url".into(),
                            problem: format!(
                                "--enqueue: the work item of {:?} takes {} bytes, over a tenth of the queue's \
                                 MaximumMessageSize ({item_bytes} bytes): raise MaximumMessageSize",
                                o.key,
                                record.len()
                            ),
                        });
                    }
                    if item.len() == item_objects {
                        let full = std::mem::replace(&mut item, WorkItem::new(since));
                        outbox.add(full.body()).await?;
                    }
                    if let Err(record) = item.push(record, item_bytes) {
                        let full = std::mem::replace(&mut item, WorkItem::new(since));
                        outbox.add(full.body()).await?;
                        item.push(record, item_bytes).ok();
                    }
                }
            }
            report.list_requests += pages.requests();
        }
        if !item.is_empty() {
            outbox.add(item.body()).await?;
        }
        outbox.flush().await?;
        report.messages = outbox.sent;
        if let Some(keys) = &backfill.keys {
            let missing: Vec<&String> = keys.iter().filter(|k| !found.contains(k.as_str())).collect();
            for key in missing.iter().take(20) {
                tracing::warn!(key = %key, "named key not found in the source (expired, deleted, or outside the window)");
            }
            report.objects_not_found = missing.len() as u64;
        }
        tracing::info!(job = %report.job, queue = %report.queue, objects = report.objects,
            messages = report.messages, dry_run, "backfill enqueued for the job's followers");
        Ok(report)
    }
}
