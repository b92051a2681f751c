//! Bucket event notifications to the SQS stand-in's queues, as "Amazon S3 Event Notifications" and "Event
//! message structure" (Amazon S3 User Guide) describe them: a bucket's `QueueConfigurations` name a queue ARN,
//! the event types (`s3:ObjectCreated:*`, `s3:ObjectCreated:Put`, ..., `s3:ObjectRemoved:*`) and optional prefix
//! and suffix filters; each matching event is one message whose body is `{"Records": [...]}` in S3's format
//! (version 2.1, the key URL-encoded, a sequencer that orders events for one key). Saving a configuration sends
//! `s3:TestEvent` to each queue, and refuses a queue that does not exist ("Unable to validate the following
//! destination configurations"). Topic, Lambda and EventBridge destinations are refused with NotImplemented.

use std::sync::atomic::{AtomicU64, Ordering};

use s3s::dto::{FilterRuleName, NotificationConfiguration, QueueConfiguration};
use s3s::{S3Result, s3_error};
use serde_json::json;

use crate::sqs::SharedQueues;

/// An event to tell: its name after `s3:` (`ObjectCreated:Put`), the key, size and ETag of the object.
pub(crate) struct ObjectEvent<'a> {
    pub(crate) name: &'static str,
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) size: i64,
    pub(crate) etag: Option<&'a str>,
}

/// Checks a configuration before it is stored: only queue destinations, each an existing queue, known event
/// types, at most one prefix and one suffix rule.
pub(crate) fn validate(config: &NotificationConfiguration, queues: Option<&SharedQueues>) -> S3Result<()> {
    let others = config
        .topic_configurations
        .as_ref()
        .is_some_and(|t| !t.is_empty())
        || config
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        || config.event_bridge_configuration.is_some();
    if others {
        return Err(s3_error!(
            NotImplemented,
            "only SQS queue destinations are modelled by this stand-in (no SNS, Lambda or EventBridge)"
        ));
    }
    for q in config.queue_configurations.iter().flatten() {
        let known = |e: &str| {
            matches!(
                e,
                "s3:ObjectCreated:*"
                    | "s3:ObjectCreated:Put"
                    | "s3:ObjectCreated:Post"
                    | "s3:ObjectCreated:Copy"
                    | "s3:ObjectCreated:CompleteMultipartUpload"
                    | "s3:ObjectRemoved:*"
                    | "s3:ObjectRemoved:Delete"
            )
        };
        if q.events.is_empty() || q.events.iter().any(|e| !known(e.as_ref())) {
            return Err(s3_error!(
                InvalidArgument,
                "The event is not supported for notifications (this stand-in: s3:ObjectCreated:* and \
                 s3:ObjectRemoved:* and their Put, Post, Copy, CompleteMultipartUpload and Delete types)"
            ));
        }
        let mut rules = std::collections::HashSet::new();
        for rule in filter_rules(q) {
            let name = rule.0.to_ascii_lowercase();
            if !matches!(name.as_str(), FilterRuleName::PREFIX | FilterRuleName::SUFFIX)
                || !rules.insert(name)
            {
                return Err(s3_error!(
                    InvalidArgument,
                    "Cannot specify more than one prefix rule in a filter, nor more than one suffix rule."
                ));
            }
        }
        if !queues.is_some_and(|qs| qs.has_arn(&q.queue_arn)) {
            return Err(s3_error!(
                InvalidArgument,
                "Unable to validate the following destination configurations: {} (no such queue in the SQS \
                 stand-in)",
                q.queue_arn
            ));
        }
    }
    Ok(())
}

fn filter_rules(q: &QueueConfiguration) -> impl Iterator<Item = (String, String)> + '_ {
    q.filter
        .iter()
        .filter_map(|f| f.key.as_ref())
        .filter_map(|k| k.filter_rules.as_ref())
        .flatten()
        .map(|r| {
            (
                r.name.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                r.value.clone().unwrap_or_default(),
            )
        })
}

/// Sends `s3:TestEvent` to every queue of a configuration just saved.
pub(crate) fn send_test_events(config: &NotificationConfiguration, queues: &SharedQueues, bucket: &str) {
    for q in config.queue_configurations.iter().flatten() {
        let body = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": now_iso(), "Bucket": bucket,
            "RequestId": "s3shift-local", "HostId": "s3shift-local"});
        queues.send_to_arn(&q.queue_arn, &body.to_string());
    }
}

/// Sends `event` to every queue whose configuration matches it.
pub(crate) fn notify(
    config: &NotificationConfiguration,
    queues: &SharedQueues,
    event: &ObjectEvent<'_>,
    region: &str,
) {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let full = format!("s3:{}", event.name);
    let family = format!("s3:{}:*", event.name.split(':').next().unwrap_or_default());
    for q in config.queue_configurations.iter().flatten() {
        if !q
            .events
            .iter()
            .any(|e| e.as_ref() == full || e.as_ref() == family)
        {
            continue;
        }
        let matches = filter_rules(q).all(|(name, value)| match name.to_ascii_lowercase().as_str() {
            FilterRuleName::PREFIX => event.key.starts_with(&value),
            FilterRuleName::SUFFIX => event.key.ends_with(&value),
            _ => false,
        });
        if !matches {
            continue;
        }
        let sequencer = format!(
            "{:016X}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                .wrapping_add(SEQUENCE.fetch_add(1, Ordering::Relaxed))
        );
        let mut object = json!({"key": s3shift_core::key_url::encode(event.key, s3shift_core::key_url::Space::Plus), "size": event.size, "sequencer": sequencer});
        if let Some(etag) = event.etag {
            object["eTag"] = json!(etag.trim_matches('"'));
        }
        let record = json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region, "eventTime": now_iso(),
            "eventName": event.name, "userIdentity": {"principalId": "s3shift-local"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "s3shift-local", "x-amz-id-2": "s3shift-local"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": q.id.clone().unwrap_or_default(),
                "bucket": {"name": event.bucket, "ownerIdentity": {"principalId": "s3shift-local"},
                    "arn": format!("arn:aws:s3:::{}", event.bucket)},
                "object": object}
        });
        if !queues.send_to_arn(&q.queue_arn, &json!({"Records": [record]}).to_string()) {
            tracing::warn!(queue = %q.queue_arn, bucket = %event.bucket, key = %event.key,
                "event notification not delivered: the queue is gone");
        }
    }
}

fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
