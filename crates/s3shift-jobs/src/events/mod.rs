//! Event mode: S3 `ObjectCreated` notifications, sent by the source bucket straight to an SQS queue, tell a run
//! what to load, instead of a listing of the whole bucket.
//!
//! Why S3 → SQS and not S3 → EventBridge → SQS: "Amazon S3 Event Notifications" (Amazon S3 User Guide) lists SQS
//! standard queues as a direct destination; EventBridge adds a rule, a second delivery hop and its own event
//! format, and buys filtering we do not need (the queue serves one job). A FIFO queue is not a destination S3
//! supports, so order and uniqueness are never assumed.
//!
//! The contract, whatever S3 and SQS do (at-least-once, unordered, repeated, late or lost events):
//! - a message is deleted only after every object it names is in the ledger (committed), or when it names
//!   nothing to load (a test event, a delete, a record for another bucket or outside the job's prefixes, or a
//!   body that is not an S3 event: logged with the message id);
//! - objects are deduped by identity (bucket, key, ETag) across the messages of a run, and checked against the
//!   ledger by key before anything is read, so a redelivered message is a no-op;
//! - a message whose object could not be read stays: it comes back after its visibility timeout and, after the
//!   queue's `maxReceiveCount` receives, moves to the dead-letter queue;
//! - a lost event is the reconciliation scan's to find (`s3shift run <job> --scan`, on `reconcile_cron`).
//!
//! Event mode lives here, in one folder: [`EventBatch`] is the pure part (sorting received messages, deciding
//! what to delete); [`queue`] talks to SQS; [`run`] receives a run's messages and settles them; [`follow`]
//! receives continuously (`run --follow`); [`enqueue`] turns a backfill into work items for the followers. The
//! planner that joins a batch with the ledger is `crate::plan::events`.

pub mod enqueue;
mod follow;
pub mod message;
pub mod queue;
mod run;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use enqueue::Enqueued;
pub use message::{Body, CreatedObject, WorkItem};
pub use queue::{Depth, EventQueue, Heartbeat, QueueDepths, Received};

/// What an event run saw in its messages. Stored in the run's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventCounts {
    /// Messages received.
    pub messages: u64,
    /// `ObjectCreated` records in them.
    pub created: u64,
    /// Records naming an object version another record of the run already named.
    pub duplicates: u64,
    /// Objects the ledger already holds (a redelivery, or an object a scan loaded first).
    pub already_loaded: u64,
    /// Test events and records that are not `ObjectCreated` (deletes, restores).
    pub ignored: u64,
    /// Records for another bucket, or outside the job's prefixes.
    pub foreign: u64,
    /// Bodies that are not S3 events.
    pub malformed: u64,
    /// Messages deleted.
    pub deleted: u64,
    /// Messages made visible again for a later run (over the run's limits, or a drain).
    pub released: u64,
    /// Messages left for their visibility timeout: an object in them could not be read.
    pub left: u64,
    /// ReceiveMessage calls.
    pub receive_requests: u64,
}

#[derive(Debug, Clone)]
struct Held {
    received: Received,
    /// Identities of objects this message names that are not known to be loaded.
    needs: Vec<String>,
}

/// Received messages, sorted: the distinct objects to load, and for each message the objects it waits on.
#[derive(Debug, Clone, Default)]
pub struct EventBatch {
    held: Vec<Held>,
    objects: BTreeMap<String, CreatedObject>,
    /// Counts so far.
    pub counts: EventCounts,
}

/// The identity an event's object is loaded under: the one a listing gives (no version id, see
/// [`CreatedObject::version_id`]).
pub fn identity_of(o: &CreatedObject) -> String {
    s3shift_core::object::identity(&o.bucket, &o.key, &o.etag, None)
}

impl EventBatch {
    /// Sorts `received` for a job reading `bucket` under `prefixes`, logging what it will not load.
    pub fn sort(received: Vec<Received>, bucket: &str, prefixes: &[String]) -> Self {
        let mut batch = Self::default();
        batch.add(received, bucket, prefixes);
        batch
    }

    /// Adds more received messages (`--follow` gathers a batch over several receives).
    pub fn add(&mut self, received: Vec<Received>, bucket: &str, prefixes: &[String]) {
        for r in received {
            self.counts.messages += 1;
            let mut needs = Vec::new();
            match message::parse(&r.body) {
                Body::Test => {
                    self.counts.ignored += 1;
                    tracing::info!(message_id = %r.message_id, "S3 test event: acknowledged");
                }
                Body::Other(names) => {
                    self.counts.ignored += names.len() as u64;
                    tracing::info!(message_id = %r.message_id, events = ?names,
                        "not an ObjectCreated event: acknowledged, nothing to load");
                }
                Body::Malformed(why) => {
                    self.counts.malformed += 1;
                    tracing::warn!(message_id = %r.message_id, problem = %why,
                        body = %s3shift_core::text::truncate_utf8(&r.body, 300),
                        "message is not an S3 event notification: acknowledged and dropped");
                }
                Body::Created { objects, others } => {
                    self.counts.ignored += others.len() as u64;
                    for o in objects {
                        self.counts.created += 1;
                        if o.bucket != bucket {
                            self.counts.foreign += 1;
                            tracing::warn!(message_id = %r.message_id, bucket = %o.bucket, key = %o.key,
                                job_bucket = %bucket,
                                "event for another bucket than the job's source: acknowledged, not loaded \
                                 (check the bucket's notification configuration)");
                            continue;
                        }
                        if !prefixes.iter().any(|p| o.key.starts_with(p.as_str())) {
                            self.counts.foreign += 1;
                            tracing::info!(message_id = %r.message_id, key = %o.key,
                                "object outside the job's prefixes: acknowledged, not loaded");
                            continue;
                        }
                        let id = identity_of(&o);
                        if let Some(held) = self.objects.get_mut(&id) {
                            self.counts.duplicates += 1;
                            // A request to read it again stands whatever else names it.
                            held.reprocess_unless_loaded_since = held
                                .reprocess_unless_loaded_since
                                .max(o.reprocess_unless_loaded_since);
                        } else {
                            self.objects.insert(id.clone(), o);
                        }
                        needs.push(id);
                    }
                }
            }
            self.held.push(Held { received: r, needs });
        }
    }

    /// Messages held.
    pub fn messages(&self) -> usize {
        self.held.len()
    }

    /// The distinct objects the messages name, not known to be loaded.
    pub fn objects(&self) -> impl Iterator<Item = &CreatedObject> {
        self.objects.values()
    }

    /// How many distinct objects wait to be loaded.
    pub fn pending_objects(&self) -> usize {
        self.objects.len()
    }

    /// The earliest `eventTime` of an object waiting: how long the oldest unloaded upload has waited.
    pub fn oldest_event(&self) -> Option<DateTime<Utc>> {
        self.objects.values().map(|o| o.event_time).min()
    }

    /// Marks as done the identities the ledger holds (`loaded`: identity → when it was loaded, by the
    /// warehouse's clock): they are not loaded again. An object a work item asks to read again is done only when
    /// its ledger row is at least as recent as the request.
    pub fn mark_loaded(&mut self, loaded: &HashMap<String, Option<DateTime<Utc>>>) {
        let before = self.objects.len();
        self.objects.retain(|id, o| match loaded.get(id) {
            None => true,
            Some(at) => match o.reprocess_unless_loaded_since {
                None => false,
                Some(since) => at.is_none_or(|at| at < since),
            },
        });
        self.counts.already_loaded += (before - self.objects.len()) as u64;
        let objects = &self.objects;
        for h in &mut self.held {
            h.needs
                .retain(|id| !loaded.contains_key(id) || objects.contains_key(id));
        }
    }

    /// Takes out the messages that wait on nothing (ready to delete now), returning their receipt handles.
    pub fn take_done(&mut self) -> Vec<String> {
        let (done, keep): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| h.needs.is_empty());
        self.held = keep;
        done.into_iter().map(|h| h.received.receipt).collect()
    }

    /// After a load: the messages whose every object is in `loaded` are to delete; the others are to release
    /// (none of their objects failed: they were over the run's limits or not read before a drain) or to leave
    /// for their visibility timeout (an object of theirs was read and failed, so that SQS counts the receive
    /// toward the dead-letter queue). Returns (delete, release, leave) receipt handles.
    pub fn settle(
        self,
        loaded: &HashSet<String>,
        failed: &HashSet<String>,
    ) -> (Vec<String>, Vec<String>, Vec<Received>) {
        let (mut delete, mut release, mut leave) = (Vec::new(), Vec::new(), Vec::new());
        for h in self.held {
            if h.needs.iter().all(|id| loaded.contains(id)) {
                delete.push(h.received.receipt);
            } else if h.needs.iter().any(|id| failed.contains(id)) {
                leave.push(h.received);
            } else {
                release.push(h.received.receipt);
            }
        }
        (delete, release, leave)
    }

    /// Every message's receipt handle (to release all of them).
    pub fn receipts(&self) -> Vec<String> {
        self.held.iter().map(|h| h.received.receipt.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, body: String) -> Received {
        Received {
            message_id: id.into(),
            receipt: format!("r-{id}"),
            body,
            receive_count: 1,
        }
    }

    fn created(bucket: &str, key: &str, etag: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventSource":"aws:s3","eventTime":"2026-12-02T06:00:00Z","eventName":"ObjectCreated:Put",
            "s3":{{"bucket":{{"name":"{bucket}"}},"object":{{"key":"{key}","size":10,"eTag":"{etag}"}}}}}}]}}"#
        )
    }

    #[test]
    fn duplicates_collapse_and_each_message_is_deleted_only_when_its_objects_are_loaded() {
        let prefixes = vec!["in/".to_owned()];
        let mut batch = EventBatch::sort(
            vec![
                msg("1", created("b", "in/a", "e1")),
                msg("2", created("b", "in/a", "e1")), // the same event again
                msg("3", created("b", "in/b", "e2")),
                msg("4", created("b", "in/c", "e3")),
                msg("5", created("other", "in/x", "e")),
                msg("6", created("b", "out/x", "e")),
                msg("7", r#"{"Event":"s3:TestEvent"}"#.into()),
                msg("8", "garbage".into()),
            ],
            "b",
            &prefixes,
        );
        assert_eq!(batch.pending_objects(), 3);
        assert_eq!(
            (
                batch.counts.duplicates,
                batch.counts.foreign,
                batch.counts.ignored,
                batch.counts.malformed
            ),
            (1, 2, 1, 1)
        );
        // The ledger already has in/c: message 4 waits on nothing any more.
        let id = |k: &str, e: &str| s3shift_core::object::identity("b", k, e, None);
        batch.mark_loaded(&HashMap::from([(id("in/c", "e3"), None)]));
        assert_eq!(batch.counts.already_loaded, 1);
        let mut now = batch.take_done();
        now.sort();
        assert_eq!(now, ["r-4", "r-5", "r-6", "r-7", "r-8"]);
        // in/a loaded, in/b failed.
        let (delete, release, leave) = batch.settle(
            &HashSet::from([id("in/a", "e1")]),
            &HashSet::from([id("in/b", "e2")]),
        );
        assert_eq!(delete, ["r-1", "r-2"]);
        assert!(release.is_empty());
        assert_eq!(leave.len(), 1);
        assert_eq!(leave[0].message_id, "3");
    }

    #[test]
    fn an_object_asked_for_again_is_done_only_when_loaded_since_the_request() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let since = t("2026-12-07T10:00:00Z");
        let item = |key: &str| {
            let o = s3shift_core::ObjectRef {
                bucket: "b".into(),
                key: key.into(),
                version_id: None,
                etag: "e".into(),
                size: 10,
                last_modified: since,
                expires_at: None,
            };
            let mut w = message::WorkItem::new(since);
            w.push(message::WorkItem::record(&o), 10_000).unwrap();
            w.body()
        };
        let mut batch = EventBatch::sort(
            vec![
                msg("1", item("k/old")),
                msg("2", item("k/new")),
                msg("3", item("k/never")),
                // An upload's event for k/old too: the request to read it again still stands.
                msg("4", created("b", "k/old", "e")),
            ],
            "b",
            &["k/".to_owned()],
        );
        let id = |k: &str| s3shift_core::object::identity("b", k, "e", None);
        batch.mark_loaded(&HashMap::from([
            (id("k/old"), Some(t("2026-12-07T09:59:59Z"))),
            (id("k/new"), Some(t("2026-12-07T10:00:00Z"))),
        ]));
        let mut left: Vec<&str> = batch.objects().map(|o| o.key.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["k/never", "k/old"]);
        assert_eq!(batch.take_done(), ["r-2"]);
    }

    #[test]
    fn messages_of_objects_not_loaded_and_not_failed_are_released() {
        let mut batch = EventBatch::sort(vec![msg("1", created("b", "k", "e"))], "b", &[String::new()]);
        assert!(batch.take_done().is_empty());
        let (delete, release, leave) = batch.settle(&HashSet::new(), &HashSet::new());
        assert!(delete.is_empty() && leave.is_empty());
        assert_eq!(release, ["r-1"]);
    }
}
