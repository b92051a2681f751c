//! Reading one SQS message body as S3 wrote it: the event records of "Event message structure" (Amazon S3 User
//! Guide), S3's test event, or something else.
//!
//! What S3 guarantees and what it does not, from "Amazon S3 Event Notifications": events are delivered at least
//! once, usually within seconds, "can sometimes take a minute or longer", are not ordered, and may (rarely) be
//! lost. So nothing here trusts an event to be new, unique or in order: the planner dedupes by object identity
//! and checks the ledger. The object key is URL-encoded in the event (a space is `+`), and is decoded here once.

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
}

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
        if record.event_source.as_deref().is_some_and(|s| s != "aws:s3") {
            return Body::Malformed(format!(
                "Records[{i}]: eventSource {:?}, not aws:s3",
                record.event_source.unwrap_or_default()
            ));
        }
        if !record.event_name.starts_with("ObjectCreated:") {
            others.push(record.event_name);
            continue;
        }
        match created(record) {
            Ok(o) => objects.push(o),
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
    })
}

/// Decodes an event's key: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
pub fn decode_key(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
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
    fn a_size_given_as_text_and_a_null_version_still_read() {
        let body = record("ObjectCreated:CompleteMultipartUpload", "k")
            .replace("\"size\":1024", "\"size\":\"77\",\"versionId\":\"null\"");
        let Body::Created { objects, .. } = parse(&body) else {
            panic!("created")
        };
        assert_eq!((objects[0].size, objects[0].version_id.clone()), (77, None));
    }
}
