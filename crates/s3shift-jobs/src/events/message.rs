//! Reading one SQS message body as S3 wrote it: the event records of "Event message structure" (Amazon S3 User
//! Guide), S3's test event, or something else.
//!
//! What S3 guarantees and what it does not, from "Amazon S3 Event Notifications": events are delivered at least
//! once, usually within seconds, "can sometimes take a minute or longer", are not ordered, and may (rarely) be
//! lost. So nothing here trusts an event to be new, unique or in order: the planner dedupes by object identity
//! and checks the ledger. The object key is URL-encoded in the event (a space is `+`), and is decoded here once.
//!
//! The queue also carries s3shift's own work items ([`WorkItem`], written by `backfill --enqueue`): the same
//! record shape, with `eventSource` `s3shift:backfill` and an `s3shift` member on the envelope that says to read
//! the objects again unless the ledger shows them loaded after the request.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// One object version an `ObjectCreated` record names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    /// Bucket.
    pub bucket: String,
    /// Key, decoded.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes.
    pub etag: String,
    /// The version id the event names (a versioned bucket). Not part of the identity the run loads under: the
    /// scan lists with ListObjectsV2, which carries none, and both modes must name an object alike.
    pub version_id: Option<String>,
    /// When S3 finished the request (`eventTime`): the object's LastModified to within the request's length.
    pub event_time: DateTime<Utc>,
    /// The event's name (`ObjectCreated:Put`).
    pub event_name: String,
    /// For a work item that asks to read the object again ([`WorkItem`]): the warehouse's time of the request.
    /// A ledger row of the object counts as loaded only when it was loaded at or after this time.
    pub reprocess_unless_loaded_since: Option<DateTime<Utc>>,
}

/// What a message body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// One or more objects created (a message holds one record in practice; the format allows several).
    /// `others` counts the records of other kinds in the same message (deletes, restores, lifecycle).
    Created {
        /// The objects.
        objects: Vec<CreatedObject>,
        /// Records that are not `ObjectCreated`.
        others: Vec<String>,
    },
    /// Records, none of them `ObjectCreated` (deletes, lifecycle transitions, restores): their names.
    Other(Vec<String>),
    /// `s3:TestEvent`, which S3 sends when a notification configuration is saved.
    Test,
    /// Not an S3 event: why.
    Malformed(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records")]
    records: Option<Vec<serde_json::Value>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    s3shift: Option<WorkMarker>,
}

/// The envelope member that makes a message a work item of s3shift's.
#[derive(Deserialize)]
struct WorkMarker {
    reprocess_unless_loaded_since: String,
}

/// The `eventSource` of a work item's records.
pub const WORK_ITEM_SOURCE: &str = "s3shift:backfill";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_source: Option<String>,
    event_name: String,
    event_time: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: BucketEntity,
    object: ObjectEntity,
}

#[derive(Deserialize)]
struct BucketEntity {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectEntity {
    key: String,
    size: Option<serde_json::Value>,
    e_tag: Option<String>,
    version_id: Option<String>,
}

/// Reads a message body. Never fails: what cannot be read is [`Body::Malformed`] with the reason.
pub fn parse(body: &str) -> Body {
    let envelope: Envelope = match serde_json::from_str(body) {
        Ok(e) => e,
        Err(e) => return Body::Malformed(format!("not JSON: {e}")),
    };
    if envelope.event.as_deref() == Some("s3:TestEvent") {
        return Body::Test;
    }
    let reprocess = match &envelope.s3shift {
        None => None,
        Some(m) => match DateTime::parse_from_rfc3339(&m.reprocess_unless_loaded_since) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                return Body::Malformed(format!(
                    "s3shift.reprocess_unless_loaded_since {:?}: {e}",
                    m.reprocess_unless_loaded_since
                ));
            }
        },
    };
    let Some(records) = envelope.records else {
        return Body::Malformed("no `Records` (not an S3 event notification)".into());
    };
    if records.is_empty() {
        return Body::Malformed("`Records` is empty".into());
    }
    let (mut objects, mut others) = (Vec::new(), Vec::new());
    for (i, raw) in records.into_iter().enumerate() {
        let record: Record = match serde_json::from_value(raw) {
            Ok(r) => r,
            Err(e) => return Body::Malformed(format!("Records[{i}]: {e}")),
        };
        let expected = if envelope.s3shift.is_some() {
            WORK_ITEM_SOURCE
        } else {
            "aws:s3"
        };
        if record.event_source.as_deref().is_some_and(|s| s != expected) {
            return Body::Malformed(format!(
                "Records[{i}]: eventSource {:?}, not {expected}",
                record.event_source.unwrap_or_default()
            ));
        }
        if !record.event_name.starts_with("ObjectCreated:") {
            others.push(record.event_name);
            continue;
        }
        match created(record) {
            Ok(mut o) => {
                o.reprocess_unless_loaded_since = reprocess;
                objects.push(o);
            }
            Err(why) => return Body::Malformed(format!("Records[{i}]: {why}")),
        }
    }
    if objects.is_empty() {
        Body::Other(others)
    } else {
        Body::Created { objects, others }
    }
}

fn created(r: Record) -> Result<CreatedObject, String> {
    let key = decode_key(&r.s3.object.key)
        .ok_or_else(|| format!("key {:?} is not URL-encoded UTF-8", r.s3.object.key))?;
    if key.is_empty() {
        return Err("the object key is empty".into());
    }
    let size = match &r.s3.object.size {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("object {key:?}: no size"))?;
    let etag =
        r.s3.object
            .e_tag
            .map(|e| e.trim_matches('"').to_owned())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| format!("object {key:?}: no eTag"))?;
    let event_time = DateTime::parse_from_rfc3339(&r.event_time)
        .map_err(|e| format!("object {key:?}: eventTime {:?}: {e}", r.event_time))?
        .with_timezone(&Utc);
    Ok(CreatedObject {
        bucket: r.s3.bucket.name,
        key,
        size,
        etag,
        version_id: r.s3.object.version_id.filter(|v| !v.is_empty() && v != "null"),
        event_time,
        event_name: r.event_name,
        reprocess_unless_loaded_since: None,
    })
}

/// Encodes a key as S3 does in an event (a space is `+`; see [`s3shift_core::key_url`]).
pub fn encode_key(key: &str) -> String {
    s3shift_core::key_url::encode(key, s3shift_core::key_url::Space::Plus)
}

/// One of s3shift's work items: objects to read again, sent to a job's queue by `backfill --enqueue` so that
/// the job's followers share a backfill as they share uploads. Records have S3's event shape, so the planner
/// treats them as events; the envelope's `s3shift` member carries the request's time.
#[derive(Debug, Clone)]
pub struct WorkItem {
    since: DateTime<Utc>,
    records: Vec<String>,
    bytes: usize,
}

/// The envelope around a work item's records, less the records themselves.
const WORK_ITEM_OVERHEAD: usize = 128;

impl WorkItem {
    /// An empty item for a request made at `since` (the warehouse's clock).
    pub fn new(since: DateTime<Utc>) -> Self {
        Self {
            since,
            records: Vec::new(),
            bytes: WORK_ITEM_OVERHEAD,
        }
    }

    /// The record for `o`, as S3 would write it.
    pub fn record(o: &s3shift_core::ObjectRef) -> String {
        serde_json::json!({
            "eventVersion": "2.1",
            "eventSource": WORK_ITEM_SOURCE,
            "eventTime": o.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "eventName": "ObjectCreated:Backfill",
            "s3": {
                "bucket": {"name": o.bucket},
                "object": {"key": encode_key(&o.key), "size": o.size, "eTag": o.etag},
            },
        })
        .to_string()
    }

    /// Adds `record` when the item stays within `max_bytes` (or is empty); else hands it back.
    pub fn push(&mut self, record: String, max_bytes: usize) -> std::result::Result<(), String> {
        if !self.records.is_empty() && self.bytes + record.len() + 1 > max_bytes {
            return Err(record);
        }
        self.bytes += record.len() + 1;
        self.records.push(record);
        Ok(())
    }

    /// Objects in the item.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The message body's length so far, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The message body.
    pub fn body(&self) -> String {
        format!(
            r#"{{"s3shift":{{"reprocess_unless_loaded_since":"{}"}},"Records":[{}]}}"#,
            self.since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.records.join(",")
        )
    }
}

/// Decodes an event's key: `+` is a space, `%XX` a byte; the bytes must be UTF-8 (see
/// [`s3shift_core::key_url`]).
pub fn decode_key(encoded: &str) -> Option<String> {
    s3shift_core::key_url::decode(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, key: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
            "eventTime":"2026-12-02T06:00:00.123Z","eventName":"{name}",
            "s3":{{"s3SchemaVersion":"1.0","bucket":{{"name":"b","arn":"arn:aws:s3:::b"}},
            "object":{{"key":"{key}","size":1024,"eTag":"abc-2","sequencer":"0055AED6DCD90281E5"}}}}}}]}}"#
        )
    }

    #[test]
    fn a_created_record_gives_its_object_with_the_key_decoded() {
        let Body::Created { objects, others } = parse(&record("ObjectCreated:Put", "a+b%2Bc/%C3%A9.jpg"))
        else {
            panic!("created")
        };
        assert!(others.is_empty());
        assert_eq!(objects.len(), 1);
        let o = &objects[0];
        assert_eq!(o.key, "a b+c/é.jpg");
        assert_eq!(
            (o.size, o.etag.as_str(), o.version_id.as_deref()),
            (1024, "abc-2", None)
        );
        assert_eq!(o.event_time.to_rfc3339(), "2026-12-02T06:00:00.123+00:00");
    }

    #[test]
    fn test_events_deletes_and_garbage_are_told_apart() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-02T06:00:00.000Z","Bucket":"b"}"#;
        assert_eq!(parse(test), Body::Test);
        assert_eq!(
            parse(&record("ObjectRemoved:Delete", "k")),
            Body::Other(vec!["ObjectRemoved:Delete".into()])
        );
        for bad in [
            "hello".to_owned(),
            "{}".to_owned(),
            r#"{"Records":[]}"#.to_owned(),
            record("ObjectCreated:Put", "%ZZ"),
            record("ObjectCreated:Put", "%FF"),
            record("ObjectCreated:Put", ""),
            record("ObjectCreated:Put", "k").replace(r#""eTag":"abc-2","#, ""),
            record("ObjectCreated:Put", "k").replace("2026-12-02T06:00:00.123Z", "yesterday"),
            record("ObjectCreated:Put", "k").replace("aws:s3", "aws:sqs"),
        ] {
            assert!(matches!(parse(&bad), Body::Malformed(_)), "{bad}");
        }
    }

    #[test]
    fn a_work_item_reads_back_as_its_objects_with_the_request_time() {
        let since = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut item = WorkItem::new(since);
        let keys = ["a b+c/é.jpg", "ctrl\u{1}\t\n%.jpg", "plain/x.jpg"];
        for (i, key) in keys.iter().enumerate() {
            let o = s3shift_core::ObjectRef {
                bucket: "b".into(),
                key: (*key).into(),
                version_id: None,
                etag: format!("e{i}"),
                size: 10 + i as u64,
                last_modified: since,
                expires_at: None,
            };
            item.push(WorkItem::record(&o), 10_000).unwrap();
        }
        assert!(
            item.bytes() >= item.body().len(),
            "{} < {}",
            item.bytes(),
            item.body().len()
        );
        let Body::Created { objects, others } = parse(&item.body()) else {
            panic!("created: {}", item.body())
        };
        assert!(others.is_empty());
        let got: Vec<(&str, &str, u64)> = objects
            .iter()
            .map(|o| (o.key.as_str(), o.etag.as_str(), o.size))
            .collect();
        assert_eq!(
            got,
            [(keys[0], "e0", 10), (keys[1], "e1", 11), (keys[2], "e2", 12)]
        );
        assert!(
            objects
                .iter()
                .all(|o| o.reprocess_unless_loaded_since == Some(since))
        );
        // The item's source is refused without the envelope's marker, and S3's with it.
        let forged = item.body().replace(
            r#""s3shift":{"reprocess_unless_loaded_since":"2026-12-07T10:00:00.500000Z"},"#,
            "",
        );
        assert!(matches!(parse(&forged), Body::Malformed(_)), "{forged}");
        let mixed = item.body().replacen(WORK_ITEM_SOURCE, "aws:s3", 1);
        assert!(matches!(parse(&mixed), Body::Malformed(_)), "{mixed}");
        // Full: the next record is handed back.
        let mut small = WorkItem::new(since);
        let r = WorkItem::record(&s3shift_core::ObjectRef {
            bucket: "b".into(),
            key: "k".into(),
            version_id: None,
            etag: "e".into(),
            size: 1,
            last_modified: since,
            expires_at: None,
        });
        small.push(r.clone(), 400).unwrap();
        assert!(small.push(r, 400).is_err());
    }

    #[test]
    fn a_size_given_as_text_and_a_null_version_still_read() {
        let body = record("ObjectCreated:CompleteMultipartUpload", "k")
            .replace("\"size\":1024", "\"size\":\"77\",\"versionId\":\"null\"");
        let Body::Created { objects, .. } = parse(&body) else {
            panic!("created")
        };
        assert_eq!((objects[0].size, objects[0].version_id.clone()), (77, None));
    }
}
