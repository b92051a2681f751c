//! An SQS-compatible server on loopback: standard queues in memory, over the JSON protocol that aws-sdk-sqs and
//! botocore speak (awsJson1_0, `X-Amz-Target: AmazonSQS.<Operation>`; "Interpreting Amazon SQS JSON API
//! responses", Amazon SQS Developer Guide, for the answer and error shapes).
//!
//! Operations: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes, SetQueueAttributes,
//! SendMessage, SendMessageBatch, ReceiveMessage (long polling up to 20 s), DeleteMessage, DeleteMessageBatch,
//! ChangeMessageVisibility, ChangeMessageVisibilityBatch and PurgeQueue; anything else answers `UnsupportedOperation`. Requests must be signed
//! (SigV4, service `sqs`) by one of the configured identities. Queues live in memory: they are gone when the
//! server stops. Queue URLs are `http://<the Host the client reached>/<account>/<name>`.
//!
//! [`LocalSqsServer::queues`] hands out the queues themselves, for an in-process producer (the S3 stand-in's
//! event notifications).

mod queues;

pub use queues::IN_FLIGHT_QUOTA;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::Result;
use crate::identity::Identity;
use crate::listener::Loopback;
use crate::redshift::sigv4;
use queues::{ACCOUNT, Queues, SqsError};

/// SendMessageBatch and DeleteMessageBatch take at most this many entries.
const MAX_BATCH: usize = 10;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct LocalSqsConfig {
    /// Address to bind; port 0 picks a free one. Only loopback is accepted.
    pub addr: SocketAddr,
    /// The IAM identities whose signed requests are accepted.
    pub identities: Vec<Identity>,
    /// The region in queue ARNs.
    pub region: String,
    /// Most messages in flight per queue ([`queues::IN_FLIGHT_QUOTA`] by default; tests lower it).
    pub in_flight_limit: usize,
}

impl Default for LocalSqsConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            identities: crate::identity::standard(),
            region: "us-east-1".into(),
            in_flight_limit: queues::IN_FLIGHT_QUOTA,
        }
    }
}

/// The queues, shared by the server and in-process producers.
#[derive(Debug, Clone)]
pub struct SharedQueues {
    inner: Arc<(Mutex<Queues>, Notify)>,
}

impl SharedQueues {
    fn new(region: &str, in_flight_limit: usize) -> Self {
        Self {
            inner: Arc::new((Mutex::new(Queues::new(region, in_flight_limit)), Notify::new())),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Queues) -> std::result::Result<T, SqsError>,
    ) -> std::result::Result<T, SqsError> {
        let mut q = self
            .inner
            .0
            .lock()
            .map_err(|_| SqsError::invalid("the queue registry was poisoned by a panic"))?;
        f(&mut q)
    }

    /// Sends `body` to the queue whose ARN is `arn` (as an S3 event notification does); false when there is no
    /// such queue.
    pub fn send_to_arn(&self, arn: &str, body: &str) -> bool {
        let sent = self.with(|q| {
            let name = q.named_by(arn).ok_or_else(SqsError::no_queue)?;
            q.send(&name, body, Instant::now())
        });
        self.inner.1.notify_waiters();
        sent.is_ok()
    }

    /// Whether a queue with this ARN exists.
    pub fn has_arn(&self, arn: &str) -> bool {
        self.with(|q| Ok(q.named_by(arn).is_some())).unwrap_or(false)
    }
}

/// A running SQS stand-in. Stops when dropped.
#[derive(Debug)]
pub struct LocalSqsServer {
    inner: Loopback,
    queues: SharedQueues,
}

struct State {
    queues: SharedQueues,
    identities: Vec<Identity>,
}

impl LocalSqsServer {
    /// Starts serving; returns once it accepts connections.
    ///
    /// # Errors
    /// [`crate::Error::Bind`] when the address cannot be bound or is not loopback.
    pub async fn start(config: LocalSqsConfig) -> Result<Self> {
        let queues = SharedQueues::new(&config.region, config.in_flight_limit);
        let state = Arc::new(State {
            queues: queues.clone(),
            identities: config.identities,
        });
        let service = hyper::service::service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
        });
        let inner = Loopback::start(config.addr, service).await?;
        tracing::info!(addr = %inner.addr(), "local SQS listening");
        Ok(Self { inner, queues })
    }

    /// The endpoint URL for `AWS_ENDPOINT_URL_SQS`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.inner.addr())
    }

    /// The queues, for in-process producers.
    pub fn queues(&self) -> SharedQueues {
        self.queues.clone()
    }

    /// Stops accepting and waits for open requests.
    pub async fn stop(self) {
        self.inner.stop().await;
    }
}

fn reply(body: &Value) -> http::Response<Full<Bytes>> {
    let mut resp = http::Response::new(Full::new(Bytes::from(body.to_string())));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    resp
}

fn reply_error(e: &SqsError) -> http::Response<Full<Bytes>> {
    let mut resp = reply(&json!({"__type": e.kind, "message": e.message}));
    *resp.status_mut() = http::StatusCode::BAD_REQUEST;
    if let Ok(v) = http::HeaderValue::from_str(&format!("{};Sender", e.query_code)) {
        resp.headers_mut().insert("x-amzn-query-error", v);
    }
    resp
}

async fn handle(state: &State, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 2 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply_error(&SqsError::invalid(format!("request body: {e}"))),
    };
    if let Err((status, kind, message)) = sigv4::authenticate(&state.identities, &parts, &body, "sqs") {
        let mut resp = reply(&json!({"__type": kind, "message": message}));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::FORBIDDEN);
        return resp;
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(op) = target.strip_prefix("AmazonSQS.") else {
        return reply_error(&SqsError::unsupported(format!("unknown X-Amz-Target '{target}'")));
    };
    let input: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return reply_error(&SqsError::invalid(format!("the request body is not JSON: {e}"))),
    };
    // Queue URLs are made from the address the client reached, as SQS makes them from its endpoint.
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    match dispatch(state, &base, op, &input).await {
        Ok(v) => reply(&v),
        Err(e) => reply_error(&e),
    }
}

/// The queue name of a queue URL (`<scheme>://<host>/<account>/<name>`; the host is not checked: the request
/// reached this server).
fn queue_name(input: &Value) -> std::result::Result<String, SqsError> {
    let url = input["QueueUrl"]
        .as_str()
        .ok_or_else(|| SqsError::invalid("The request must contain the parameter QueueUrl."))?;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = after_scheme
        .find('/')
        .and_then(|i| after_scheme[i..].strip_prefix(&format!("/{ACCOUNT}/")));
    match rest {
        Some(name) if !name.is_empty() && !name.contains('/') => Ok(name.to_owned()),
        _ => Err(SqsError::no_queue()),
    }
}

fn attribute_map(v: &Value) -> std::result::Result<BTreeMap<String, String>, SqsError> {
    let Some(map) = v.as_object() else {
        return Ok(BTreeMap::new());
    };
    map.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_owned())),
            None => Err(SqsError::invalid(format!("attribute {k} must be a string"))),
        })
        .collect()
}

fn url_of(base: &str, name: &str) -> String {
    format!("{base}/{ACCOUNT}/{name}")
}

fn int(input: &Value, name: &str) -> std::result::Result<Option<u64>, SqsError> {
    match &input[name] {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| SqsError::invalid(format!("Value {v} for parameter {name} is invalid."))),
    }
}

/// Refuses what a message may carry that this stand-in does not model.
fn unmodelled_message_parts(entry: &Value) -> std::result::Result<(), SqsError> {
    for part in [
        "MessageAttributes",
        "MessageSystemAttributes",
        "MessageGroupId",
        "MessageDeduplicationId",
    ] {
        if !entry[part].is_null() {
            return Err(SqsError::unsupported(format!(
                "{part} is not modelled by this stand-in"
            )));
        }
    }
    if int(entry, "DelaySeconds")?.is_some_and(|d| d > 0) {
        return Err(SqsError::unsupported(
            "DelaySeconds is not modelled by this stand-in",
        ));
    }
    Ok(())
}

fn batch_entries(input: &Value) -> std::result::Result<&Vec<Value>, SqsError> {
    let entries = input["Entries"]
        .as_array()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| SqsError {
            kind: "com.amazonaws.sqs#EmptyBatchRequest",
            query_code: "AWS.SimpleQueueService.EmptyBatchRequest",
            message: "There should be at least one SendMessageBatchRequestEntry in the request.".into(),
        })?;
    if entries.len() > MAX_BATCH {
        return Err(SqsError {
            kind: "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            query_code: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            message: format!(
                "Maximum number of entries per request are {MAX_BATCH}. You have sent {}.",
                entries.len()
            ),
        });
    }
    let mut ids = std::collections::HashSet::new();
    for e in entries {
        let id = e["Id"].as_str().unwrap_or_default();
        if id.is_empty()
            || id.len() > 80
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SqsError {
                kind: "com.amazonaws.sqs#InvalidBatchEntryId",
                query_code: "AWS.SimpleQueueService.InvalidBatchEntryId",
                message: "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can \
                          be at most 80 letters long."
                    .into(),
            });
        }
        if !ids.insert(id) {
            return Err(SqsError {
                kind: "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
                query_code: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                message: format!("Id {id} repeated."),
            });
        }
    }
    Ok(entries)
}

fn failed(id: &Value, e: &SqsError) -> Value {
    json!({"Id": id, "SenderFault": true, "Code": e.query_code, "Message": e.message})
}

async fn dispatch(
    state: &State,
    base: &str,
    op: &str,
    input: &Value,
) -> std::result::Result<Value, SqsError> {
    let queues = &state.queues;
    match op {
        "CreateQueue" => {
            let name = input["QueueName"].as_str().unwrap_or_default().to_owned();
            let attributes = attribute_map(&input["Attributes"])?;
            if !input["tags"].is_null() {
                return Err(SqsError::unsupported(
                    "queue tags are not modelled by this stand-in",
                ));
            }
            queues.with(|q| q.create(&name, attributes))?;
            Ok(json!({"QueueUrl": url_of(base, &name)}))
        }
        "GetQueueUrl" => {
            let name = input["QueueName"].as_str().unwrap_or_default().to_owned();
            if queues.with(|q| Ok(q.exists(&name)))? {
                Ok(json!({"QueueUrl": url_of(base, &name)}))
            } else {
                Err(SqsError::no_queue())
            }
        }
        "ListQueues" => {
            let prefix = input["QueueNamePrefix"].as_str().unwrap_or_default().to_owned();
            let names = queues.with(|q| Ok(q.names(&prefix)))?;
            let urls: Vec<String> = names.iter().map(|n| url_of(base, n)).collect();
            Ok(json!({"QueueUrls": urls}))
        }
        "DeleteQueue" => {
            let name = queue_name(input)?;
            queues.with(|q| q.delete(&name))?;
            Ok(json!({}))
        }
        "PurgeQueue" => {
            let name = queue_name(input)?;
            queues.with(|q| q.purge(&name))?;
            Ok(json!({}))
        }
        "GetQueueAttributes" => {
            let name = queue_name(input)?;
            let wanted: Vec<String> = input["AttributeNames"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let attributes = queues.with(|q| q.attributes(&name, &wanted, Instant::now()))?;
            Ok(json!({"Attributes": attributes}))
        }
        "SetQueueAttributes" => {
            let name = queue_name(input)?;
            let attributes = attribute_map(&input["Attributes"])?;
            queues.with(|q| q.set_attributes(&name, attributes))?;
            Ok(json!({}))
        }
        "SendMessage" => {
            let name = queue_name(input)?;
            unmodelled_message_parts(input)?;
            let body = input["MessageBody"].as_str().unwrap_or_default().to_owned();
            let (id, md5) = queues.with(|q| q.send(&name, &body, Instant::now()))?;
            queues.inner.1.notify_waiters();
            Ok(json!({"MessageId": id, "MD5OfMessageBody": md5}))
        }
        "SendMessageBatch" => {
            let name = queue_name(input)?;
            let entries = batch_entries(input)?;
            let (mut ok, mut bad) = (Vec::new(), Vec::new());
            for e in entries {
                let sent = unmodelled_message_parts(e).and_then(|()| {
                    let body = e["MessageBody"].as_str().unwrap_or_default().to_owned();
                    queues.with(|q| q.send(&name, &body, Instant::now()))
                });
                match sent {
                    Ok((id, md5)) => {
                        ok.push(json!({"Id": e["Id"], "MessageId": id, "MD5OfMessageBody": md5}))
                    }
                    Err(err) if err == SqsError::no_queue() => return Err(err),
                    Err(err) => bad.push(failed(&e["Id"], &err)),
                }
            }
            queues.inner.1.notify_waiters();
            Ok(json!({"Successful": ok, "Failed": bad}))
        }
        "ReceiveMessage" => receive(state, input).await,
        "DeleteMessage" => {
            let name = queue_name(input)?;
            let handle = input["ReceiptHandle"].as_str().unwrap_or_default().to_owned();
            queues.with(|q| q.delete_message(&name, &handle))?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => {
            let name = queue_name(input)?;
            let entries = batch_entries(input)?;
            let (mut ok, mut bad) = (Vec::new(), Vec::new());
            for e in entries {
                let handle = e["ReceiptHandle"].as_str().unwrap_or_default().to_owned();
                match queues.with(|q| q.delete_message(&name, &handle)) {
                    Ok(()) => ok.push(json!({"Id": e["Id"]})),
                    Err(err) if err == SqsError::no_queue() => return Err(err),
                    Err(err) => bad.push(failed(&e["Id"], &err)),
                }
            }
            Ok(json!({"Successful": ok, "Failed": bad}))
        }
        "ChangeMessageVisibility" => {
            let name = queue_name(input)?;
            let handle = input["ReceiptHandle"].as_str().unwrap_or_default().to_owned();
            let seconds = int(input, "VisibilityTimeout")?.unwrap_or(0);
            queues.with(|q| q.change_visibility(&name, &handle, seconds, Instant::now()))?;
            queues.inner.1.notify_waiters();
            Ok(json!({}))
        }
        // "ChangeMessageVisibilityBatch": up to ten entries, each answered on its own (Successful or Failed), as
        // DeleteMessageBatch's are.
        "ChangeMessageVisibilityBatch" => {
            let name = queue_name(input)?;
            let entries = batch_entries(input)?;
            let (mut ok, mut bad) = (Vec::new(), Vec::new());
            let now = Instant::now();
            for e in entries {
                let handle = e["ReceiptHandle"].as_str().unwrap_or_default().to_owned();
                let seconds = int(e, "VisibilityTimeout")?.unwrap_or(0);
                match queues.with(|q| q.change_visibility(&name, &handle, seconds, now)) {
                    Ok(()) => ok.push(json!({"Id": e["Id"]})),
                    Err(err) if err == SqsError::no_queue() => return Err(err),
                    Err(err) => bad.push(failed(&e["Id"], &err)),
                }
            }
            queues.inner.1.notify_waiters();
            Ok(json!({"Successful": ok, "Failed": bad}))
        }
        other => Err(SqsError::unsupported(format!(
            "{other} is not implemented by this stand-in"
        ))),
    }
}

/// ReceiveMessage, long polling: waits up to `WaitTimeSeconds` (the queue's `ReceiveMessageWaitTimeSeconds` by
/// default) for a message, waking when one is sent or one's visibility timeout ends.
async fn receive(state: &State, input: &Value) -> std::result::Result<Value, SqsError> {
    let name = queue_name(input)?;
    let max = int(input, "MaxNumberOfMessages")?.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(SqsError::invalid(format!(
            "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        )));
    }
    let default_wait = state.queues.with(|q| {
        let a = q.attributes(
            &name,
            &["ReceiveMessageWaitTimeSeconds".to_owned()],
            Instant::now(),
        )?;
        Ok(a.get("ReceiveMessageWaitTimeSeconds")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0))
    })?;
    let wait = int(input, "WaitTimeSeconds")?.unwrap_or(default_wait);
    if wait > 20 {
        return Err(SqsError::invalid(format!(
            "Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
        )));
    }
    let visibility = int(input, "VisibilityTimeout")?;
    if visibility.is_some_and(|v| v > 43_200) {
        return Err(SqsError::invalid(
            "Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.",
        ));
    }
    let wanted: Vec<String> = ["AttributeNames", "MessageSystemAttributeNames"]
        .iter()
        .filter_map(|k| input[*k].as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let notified = state.queues.inner.1.notified();
        let now = Instant::now();
        let got = state
            .queues
            .with(|q| q.receive(&name, max as usize, visibility, now))?;
        // "Amazon SQS standard queue quotas": at the in-flight quota a short poll fails with OverLimit, a long
        // poll returns no message and no error.
        if got.is_empty() && wait == 0 && state.queues.with(|q| Ok(q.at_in_flight_quota(&name, now)))? {
            return Err(SqsError::over_limit());
        }
        if !got.is_empty() || now >= deadline {
            let messages: Vec<Value> = got
                .into_iter()
                .map(|m| {
                    let every = wanted.iter().any(|w| w == "All");
                    let attributes: Map<String, Value> = m
                        .attributes
                        .into_iter()
                        .filter(|(k, _)| every || wanted.contains(k))
                        .collect();
                    let mut v = json!({"MessageId": m.message_id, "ReceiptHandle": m.receipt_handle,
                        "MD5OfBody": m.md5, "Body": m.body});
                    if !attributes.is_empty() {
                        v["Attributes"] = Value::Object(attributes);
                    }
                    v
                })
                .collect();
            return Ok(if messages.is_empty() {
                json!({})
            } else {
                json!({"Messages": messages})
            });
        }
        let wake = state
            .queues
            .with(|q| Ok(q.next_visible(&name)))?
            .filter(|t| *t > now)
            .map_or(deadline, |t| t.min(deadline));
        let _ = tokio::time::timeout(wake.saturating_duration_since(now), notified).await;
    }
}
