//! The queues of the SQS stand-in: standard queues in memory, each message's visibility timeout, receive count
//! and receipt handle, and dead-letter redrive, as "Amazon SQS visibility timeout", "Using dead-letter queues in
//! Amazon SQS" and the API reference's actions (Amazon SQS Developer Guide / API Reference) describe them.
//!
//! - A received message stays invisible for the queue's `VisibilityTimeout` (or the receive's), then is
//!   delivered again with a new receipt handle; only the latest handle deletes it (an older one "succeeds, but
//!   the message will not be deleted").
//! - When a message that has been received `maxReceiveCount` times becomes visible again, the next receive
//!   moves it to the queue the `RedrivePolicy` names instead of delivering it.
//! - FIFO queues, message attributes, delays per message beyond the queue's and KMS are not modelled: they are
//!   refused with `UnsupportedOperation`, never silently ignored.
//!
//! Some 670 lines with its tests: a message's visibility, receipts and redrive are one state machine, kept in one
//! place with the tests that walk it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

/// An SQS error: the JSON `__type`, the `x-amzn-query-error` code and the message ("Interpreting Amazon SQS JSON
/// API responses").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqsError {
    pub(crate) kind: &'static str,
    pub(crate) query_code: &'static str,
    pub(crate) message: String,
}

impl SqsError {
    fn new(kind: &'static str, query_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            query_code,
            message: message.into(),
        }
    }

    pub(crate) fn no_queue() -> Self {
        Self::new(
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist.",
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            "com.amazonaws.sqs#InvalidParameterValue",
            "InvalidParameterValue",
            message,
        )
    }

    /// A short poll at the in-flight quota. The page names the error (OverLimit), not its message: ours.
    pub(crate) fn over_limit() -> Self {
        Self::new(
            "com.amazonaws.sqs#OverLimit",
            "OverLimit",
            "The queue has as many messages in flight (received, not yet deleted) as its quota allows; delete \
             messages before receiving more",
        )
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(
            "com.amazonaws.sqs#UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            message,
        )
    }

    fn bad_attribute(message: impl Into<String>) -> Self {
        Self::new(
            "com.amazonaws.sqs#InvalidAttributeValue",
            "InvalidAttributeValue",
            message,
        )
    }

    fn bad_receipt(handle: &str) -> Self {
        Self::new(
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    }
}

/// The account id in queue URLs and ARNs (the stand-in is one account).
pub(crate) const ACCOUNT: &str = "000000000000";

#[derive(Debug, Clone)]
struct Redrive {
    dead_letter_arn: String,
    max_receive_count: u32,
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    md5: String,
    sent: SystemTime,
    visible_at: Instant,
    receive_count: u32,
    first_received: Option<SystemTime>,
    /// The latest receipt handle; older ones no longer delete the message.
    receipt: Option<String>,
}

#[derive(Debug)]
struct Queue {
    /// The attributes as set (names as SQS spells them), validated.
    attributes: BTreeMap<String, String>,
    created: SystemTime,
    messages: Vec<Message>,
}

impl Queue {
    fn seconds(&self, name: &str, default: u64) -> u64 {
        self.attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn redrive(&self) -> Option<Redrive> {
        let policy: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        let count = match &policy["maxReceiveCount"] {
            Value::String(s) => s.parse().ok()?,
            v => u32::try_from(v.as_u64()?).ok()?,
        };
        Some(Redrive {
            dead_letter_arn: policy["deadLetterTargetArn"].as_str()?.to_owned(),
            max_receive_count: count,
        })
    }
}

/// What one receive returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Received {
    pub(crate) message_id: String,
    pub(crate) receipt_handle: String,
    pub(crate) body: String,
    pub(crate) md5: String,
    pub(crate) attributes: Map<String, Value>,
}

/// Every queue of the stand-in, by name.
#[derive(Debug)]
pub(crate) struct Queues {
    region: String,
    queues: BTreeMap<String, Queue>,
    next: u64,
    /// Most messages of one queue in flight (received, neither deleted nor visible again). "Amazon SQS standard
    /// queue quotas": about 120,000; at the quota a short poll fails with OverLimit and a long poll returns no
    /// message and no error.
    in_flight_limit: usize,
}

/// The in-flight quota of a standard queue ("Amazon SQS standard queue quotas": "approximately 120,000").
pub const IN_FLIGHT_QUOTA: usize = 120_000;

/// The attributes a queue may be created or updated with, and their ranges in seconds or bytes (the API
/// reference's CreateQueue).
const SETTABLE: &[(&str, u64, u64)] = &[
    ("DelaySeconds", 0, 0),
    ("MaximumMessageSize", 1024, 1_048_576),
    ("MessageRetentionPeriod", 60, 1_209_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ("VisibilityTimeout", 0, 43_200),
];

fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(s.as_bytes()))
}

fn millis(t: SystemTime) -> String {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .to_string()
}

impl Queues {
    pub(crate) fn new(region: &str, in_flight_limit: usize) -> Self {
        Self {
            region: region.to_owned(),
            queues: BTreeMap::new(),
            next: 0,
            in_flight_limit,
        }
    }

    /// The ARN of queue `name`.
    pub(crate) fn arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{ACCOUNT}:{name}", self.region)
    }

    /// The queue `arn` names, when it is an ARN of this stand-in's region and account and the queue exists.
    pub(crate) fn named_by(&self, arn: &str) -> Option<String> {
        let name = arn.rsplit(':').next()?;
        (self.arn(name) == arn && self.queues.contains_key(name)).then(|| name.to_owned())
    }

    fn queue(&mut self, name: &str) -> Result<&mut Queue, SqsError> {
        self.queues.get_mut(name).ok_or_else(SqsError::no_queue)
    }

    fn validate(&self, attributes: &BTreeMap<String, String>) -> Result<(), SqsError> {
        for (name, value) in attributes {
            if let Some((_, lo, hi)) = SETTABLE.iter().find(|(n, _, _)| n == name) {
                let ok = value.parse::<u64>().is_ok_and(|v| (*lo..=*hi).contains(&v));
                if !ok {
                    let what = if *name == "DelaySeconds" {
                        "Invalid value for the parameter DelaySeconds (delays are not modelled here: 0 only)."
                            .to_owned()
                    } else {
                        format!("Invalid value for the parameter {name}.")
                    };
                    return Err(SqsError::bad_attribute(what));
                }
            } else if name == "RedrivePolicy" {
                let policy: Value = serde_json::from_str(value)
                    .map_err(|_| SqsError::bad_attribute("Invalid value for the parameter RedrivePolicy."))?;
                let arn = policy["deadLetterTargetArn"].as_str().unwrap_or_default();
                let count = match &policy["maxReceiveCount"] {
                    Value::String(s) => s.parse::<u64>().ok(),
                    v => v.as_u64(),
                };
                if !count.is_some_and(|c| (1..=1000).contains(&c)) {
                    return Err(SqsError::bad_attribute(
                        "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: \
                         must be an integer from 1 to 1000.",
                    ));
                }
                if self.named_by(arn).is_none() {
                    return Err(SqsError::bad_attribute(format!(
                        "Value {value} for parameter RedrivePolicy is invalid. Reason: Dead letter target does \
                         not exist."
                    )));
                }
            } else if name == "Policy" || name == "RedriveAllowPolicy" {
                // Stored and returned, not enforced (as the S3 stand-in does with bucket policies).
            } else if name == "FifoQueue" || name.starts_with("Kms") || name == "SqsManagedSseEnabled" {
                if name == "SqsManagedSseEnabled" && value == "true" {
                    continue;
                }
                return Err(SqsError::unsupported(format!(
                    "{name} is not modelled by this stand-in (standard queues without KMS only)"
                )));
            } else {
                return Err(SqsError::new(
                    "com.amazonaws.sqs#InvalidAttributeName",
                    "InvalidAttributeName",
                    format!("Unknown Attribute {name}."),
                ));
            }
        }
        Ok(())
    }

    /// CreateQueue: the queue's name (idempotent for the same attributes).
    pub(crate) fn create(
        &mut self,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let valid_name = !name.is_empty()
            && name.len() <= 80
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if name.ends_with(".fifo") {
            return Err(SqsError::unsupported(
                "FIFO queues are not modelled by this stand-in",
            ));
        }
        if !valid_name {
            return Err(SqsError::invalid(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        self.validate(&attributes)?;
        if let Some(existing) = self.queues.get(name) {
            for (k, v) in &attributes {
                if existing.attributes.get(k) != Some(v) {
                    return Err(SqsError::new(
                        "com.amazonaws.sqs#QueueNameExists",
                        "QueueAlreadyExists",
                        format!(
                            "A queue already exists with the same name and a different value for attribute {k}"
                        ),
                    ));
                }
            }
            return Ok(());
        }
        self.queues.insert(
            name.to_owned(),
            Queue {
                attributes,
                created: SystemTime::now(),
                messages: Vec::new(),
            },
        );
        Ok(())
    }

    /// Whether queue `name` exists.
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.queues.contains_key(name)
    }

    /// The names of the queues starting with `prefix`.
    pub(crate) fn names(&self, prefix: &str) -> Vec<String> {
        self.queues
            .keys()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub(crate) fn delete(&mut self, name: &str) -> Result<(), SqsError> {
        self.queues
            .remove(name)
            .map(|_| ())
            .ok_or_else(SqsError::no_queue)
    }

    pub(crate) fn purge(&mut self, name: &str) -> Result<(), SqsError> {
        self.queue(name)?.messages.clear();
        Ok(())
    }

    pub(crate) fn set_attributes(
        &mut self,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        self.queue(name)?;
        self.validate(&attributes)?;
        self.queue(name)?.attributes.extend(attributes);
        Ok(())
    }

    /// GetQueueAttributes: those named (`All` for every one), with the approximate counts at `now`.
    pub(crate) fn attributes(
        &mut self,
        name: &str,
        wanted: &[String],
        now: Instant,
    ) -> Result<Map<String, Value>, SqsError> {
        let arn = self.arn(name);
        let q = self.queue(name)?;
        let visible = q.messages.iter().filter(|m| m.visible_at <= now).count();
        let mut all: BTreeMap<String, String> = [
            ("DelaySeconds", "0".to_owned()),
            ("MaximumMessageSize", "262144".to_owned()),
            ("MessageRetentionPeriod", "345600".to_owned()),
            ("ReceiveMessageWaitTimeSeconds", "0".to_owned()),
            ("VisibilityTimeout", "30".to_owned()),
            ("SqsManagedSseEnabled", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        all.extend(q.attributes.clone());
        all.insert("QueueArn".into(), arn);
        all.insert("ApproximateNumberOfMessages".into(), visible.to_string());
        all.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            (q.messages.len() - visible).to_string(),
        );
        all.insert("ApproximateNumberOfMessagesDelayed".into(), "0".into());
        let created = q
            .created
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        all.insert("CreatedTimestamp".into(), created.clone());
        all.insert("LastModifiedTimestamp".into(), created);
        let every = wanted.iter().any(|w| w == "All");
        let mut out = Map::new();
        for (k, v) in all {
            if every || wanted.contains(&k) {
                out.insert(k, Value::String(v));
            }
        }
        Ok(out)
    }

    /// SendMessage: the new message's id and the MD5 of its body.
    pub(crate) fn send(
        &mut self,
        name: &str,
        body: &str,
        now: Instant,
    ) -> Result<(String, String), SqsError> {
        let max = self.queue(name)?.seconds("MaximumMessageSize", 262_144);
        if body.is_empty() {
            return Err(SqsError::new(
                "com.amazonaws.sqs#InvalidParameterValue",
                "InvalidParameterValue",
                "The request must contain the parameter MessageBody.",
            ));
        }
        if body.len() as u64 > max {
            return Err(SqsError::invalid(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
            )));
        }
        // "SendMessage": the characters XML 1.0 allows; anything else is InvalidMessageContents.
        if body
            .chars()
            .any(|c| !matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
        {
            return Err(SqsError::new(
                "com.amazonaws.sqs#InvalidMessageContents",
                "InvalidMessageContents",
                "Invalid characters found. Valid values are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | \
                 #x10000 to #x10FFFF",
            ));
        }
        self.next += 1;
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.next >> 32,
            self.next & 0xFFFF_FFFF_FFFF
        );
        let md5 = md5_hex(body);
        let q = self.queue(name)?;
        q.messages.push(Message {
            id: id.clone(),
            body: body.to_owned(),
            md5: md5.clone(),
            sent: SystemTime::now(),
            visible_at: now,
            receive_count: 0,
            first_received: None,
            receipt: None,
        });
        Ok((id, md5))
    }

    /// The next moment a message of `name` becomes visible, if one is in flight.
    pub(crate) fn next_visible(&self, name: &str) -> Option<Instant> {
        self.queues.get(name)?.messages.iter().map(|m| m.visible_at).min()
    }

    /// ReceiveMessage (no waiting): up to `max` visible messages, made invisible for `visibility` (the queue's
    /// when `None`); messages past their `maxReceiveCount` move to the dead-letter queue instead. Never more than
    /// the in-flight quota allows: at the quota, none (see [`Queues::at_in_flight_quota`]).
    pub(crate) fn receive(
        &mut self,
        name: &str,
        max: usize,
        visibility: Option<u64>,
        now: Instant,
    ) -> Result<Vec<Received>, SqsError> {
        let (redrive, timeout, retention) = {
            let q = self.queue(name)?;
            (
                q.redrive(),
                visibility.unwrap_or_else(|| q.seconds("VisibilityTimeout", 30)),
                q.seconds("MessageRetentionPeriod", 345_600),
            )
        };
        let mut out = Vec::new();
        let mut dead = Vec::new();
        self.next += 1;
        let nonce = self.next;
        let self_limit = self.in_flight_limit;
        let q = self.queue(name)?;
        // Messages older than the retention period are gone.
        let cutoff = SystemTime::now() - Duration::from_secs(retention);
        q.messages.retain(|m| m.sent >= cutoff);
        let in_flight = q
            .messages
            .iter()
            .filter(|m| m.receipt.is_some() && m.visible_at > now)
            .count();
        let max = max.min(self_limit.saturating_sub(in_flight));
        let mut i = 0;
        while i < q.messages.len() && out.len() < max {
            let m = &mut q.messages[i];
            if m.visible_at > now {
                i += 1;
                continue;
            }
            if let Some(r) = &redrive
                && m.receive_count >= r.max_receive_count
            {
                dead.push(q.messages.remove(i));
                continue;
            }
            m.receive_count += 1;
            let received_at = SystemTime::now();
            m.first_received.get_or_insert(received_at);
            m.visible_at = now + Duration::from_secs(timeout);
            let handle = base64_simd::URL_SAFE_NO_PAD.encode_to_string(format!("{name}\n{}\n{nonce}", m.id));
            m.receipt = Some(handle.clone());
            let mut attributes = Map::new();
            attributes.insert(
                "ApproximateReceiveCount".into(),
                json!(m.receive_count.to_string()),
            );
            attributes.insert("SentTimestamp".into(), json!(millis(m.sent)));
            attributes.insert(
                "ApproximateFirstReceiveTimestamp".into(),
                json!(millis(m.first_received.unwrap_or(received_at))),
            );
            attributes.insert("SenderId".into(), json!(ACCOUNT));
            out.push(Received {
                message_id: m.id.clone(),
                receipt_handle: handle,
                body: m.body.clone(),
                md5: m.md5.clone(),
                attributes,
            });
            i += 1;
        }
        if let Some(r) = redrive
            && !dead.is_empty()
        {
            let target = self.named_by(&r.dead_letter_arn).unwrap_or_default();
            match self.queues.get_mut(&target) {
                Some(dlq) => {
                    for mut m in dead {
                        // The receive count carries over; the message is visible in its new queue at once.
                        m.visible_at = now;
                        m.receipt = None;
                        dlq.messages.push(m);
                    }
                }
                None => tracing::warn!(queue = %name, dead_letter = %r.dead_letter_arn,
                    "dead-letter queue gone: {} messages dropped", dead.len()),
            }
        }
        Ok(out)
    }

    /// Whether queue `name` holds as many messages in flight as the quota allows while some wait visible: a
    /// receive then returns nothing although the queue is not empty.
    pub(crate) fn at_in_flight_quota(&self, name: &str, now: Instant) -> bool {
        self.queues.get(name).is_some_and(|q| {
            let in_flight = q
                .messages
                .iter()
                .filter(|m| m.receipt.is_some() && m.visible_at > now)
                .count();
            in_flight >= self.in_flight_limit && q.messages.iter().any(|m| m.visible_at <= now)
        })
    }

    fn find_receipt<'a>(&'a mut self, name: &str, handle: &str) -> Result<Option<&'a mut Message>, SqsError> {
        let decoded = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(handle)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| SqsError::bad_receipt(handle))?;
        let mut parts = decoded.split('\n');
        let (Some(queue), Some(id), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SqsError::bad_receipt(handle));
        };
        if queue != name {
            return Err(SqsError::bad_receipt(handle));
        }
        let id = id.to_owned();
        let q = self.queue(name)?;
        Ok(q.messages
            .iter_mut()
            .find(|m| m.id == id && m.receipt.as_deref() == Some(handle)))
    }

    /// DeleteMessage: deletes the message whose latest receipt handle this is; a stale handle, or one of a
    /// message already deleted, succeeds without deleting anything ("DeleteMessage", API reference).
    pub(crate) fn delete_message(&mut self, name: &str, handle: &str) -> Result<(), SqsError> {
        let Some(id) = self.find_receipt(name, handle)?.map(|m| m.id.clone()) else {
            return Ok(());
        };
        self.queue(name)?.messages.retain(|m| m.id != id);
        Ok(())
    }

    /// ChangeMessageVisibility of an in-flight message.
    pub(crate) fn change_visibility(
        &mut self,
        name: &str,
        handle: &str,
        seconds: u64,
        now: Instant,
    ) -> Result<(), SqsError> {
        if seconds > 43_200 {
            return Err(SqsError::invalid(format!(
                "Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
            )));
        }
        match self.find_receipt(name, handle)? {
            Some(m) if m.visible_at > now => {
                m.visible_at = now + Duration::from_secs(seconds);
                Ok(())
            }
            _ => Err(SqsError::new(
                "com.amazonaws.sqs#MessageNotInflight",
                "AWS.SimpleQueueService.MessageNotInflight",
                "The message referred to isn't in flight.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Queues {
        let mut q = Queues::new("us-east-1", IN_FLIGHT_QUOTA);
        q.create("dlq", BTreeMap::new()).unwrap();
        let redrive = json!({"deadLetterTargetArn": q.arn("dlq"), "maxReceiveCount": 2}).to_string();
        q.create(
            "events",
            BTreeMap::from([
                ("VisibilityTimeout".to_owned(), "10".to_owned()),
                ("RedrivePolicy".to_owned(), redrive),
            ]),
        )
        .unwrap();
        q
    }

    /// "Amazon SQS standard queue quotas": at the in-flight quota a receive gets nothing (the long poll returns
    /// no error; the short poll's OverLimit is the server's), and deleting makes room again.
    #[test]
    fn receives_stop_at_the_in_flight_quota_until_messages_are_deleted() {
        let mut q = queues();
        q.in_flight_limit = 3;
        let t0 = Instant::now();
        for body in ["1", "2", "3", "4", "5"] {
            q.send("events", body, t0).unwrap();
        }
        let first = q.receive("events", 10, None, t0).unwrap();
        assert_eq!(first.len(), 3, "no more than the quota in flight");
        assert!(q.at_in_flight_quota("events", t0));
        assert!(q.receive("events", 10, None, t0).unwrap().is_empty());
        q.delete_message("events", &first[0].receipt_handle).unwrap();
        assert!(!q.at_in_flight_quota("events", t0));
        assert_eq!(q.receive("events", 10, None, t0).unwrap().len(), 1);
    }

    #[test]
    fn a_received_message_comes_back_after_its_visibility_timeout_and_only_the_latest_handle_deletes_it() {
        let mut q = queues();
        let t0 = Instant::now();
        q.send("events", "one", t0).unwrap();
        let first = q.receive("events", 10, None, t0).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].md5, md5_hex("one"));
        assert!(
            q.receive("events", 10, None, t0 + Duration::from_secs(9))
                .unwrap()
                .is_empty()
        );
        let again = q
            .receive("events", 10, None, t0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(again[0].attributes["ApproximateReceiveCount"], "2");
        q.delete_message("events", &first[0].receipt_handle).unwrap();
        assert_eq!(
            q.queues["events"].messages.len(),
            1,
            "a stale handle deletes nothing"
        );
        q.delete_message("events", &again[0].receipt_handle).unwrap();
        assert!(q.queues["events"].messages.is_empty());
        assert_eq!(
            q.delete_message("events", "garbage!").unwrap_err().query_code,
            "ReceiptHandleIsInvalid"
        );
    }

    #[test]
    fn a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue() {
        let mut q = queues();
        let t0 = Instant::now();
        q.send("events", "poison", t0).unwrap();
        for n in 0..2 {
            assert_eq!(
                q.receive("events", 1, None, t0 + Duration::from_secs(10 * n))
                    .unwrap()
                    .len(),
                1
            );
        }
        assert!(
            q.receive("events", 1, None, t0 + Duration::from_secs(20))
                .unwrap()
                .is_empty()
        );
        let dead = q.receive("dlq", 1, None, t0 + Duration::from_secs(20)).unwrap();
        assert_eq!(dead[0].body, "poison");
        assert_eq!(dead[0].attributes["ApproximateReceiveCount"], "3");
    }

    #[test]
    fn what_is_not_modelled_is_refused() {
        let mut q = queues();
        assert_eq!(
            q.create("jobs.fifo", BTreeMap::new()).unwrap_err().query_code,
            "AWS.SimpleQueueService.UnsupportedOperation"
        );
        let delay = BTreeMap::from([("DelaySeconds".to_owned(), "5".to_owned())]);
        assert_eq!(
            q.create("delayed", delay).unwrap_err().query_code,
            "InvalidAttributeValue"
        );
        let missing = json!({"deadLetterTargetArn": q.arn("nope"), "maxReceiveCount": 2}).to_string();
        let policy = BTreeMap::from([("RedrivePolicy".to_owned(), missing)]);
        assert_eq!(
            q.create("x", policy).unwrap_err().query_code,
            "InvalidAttributeValue"
        );
        assert_eq!(
            q.send("nope", "x", Instant::now()).unwrap_err(),
            SqsError::no_queue()
        );
    }
}
