//! Shipping log events to CloudWatch Logs from anywhere (a laptop backfill), with aws-sdk-cloudwatchlogs.
//!
//! A tracing layer renders each event as the same JSON object the JSON log lines carry and queues it; a
//! shipper thread sends the queue in PutLogEvents batches that respect the service's limits (at most 10,000
//! events and 1,048,576 bytes per batch, counting 26 bytes per event; events in time order; no batch spanning
//! more than 24 hours; one event at most 256 KiB). Failed calls are retried by the SDK's standard retry. On
//! exit, [`CloudWatchShipper::flush`] sends what is queued, so the run's final summary is never lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// One event to ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The message (a JSON object as text).
    pub message: String,
}

/// PutLogEvents limits.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Bytes per batch, counting [`EVENT_OVERHEAD_BYTES`] per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch adds to each event's size.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// Longest event message.
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - EVENT_OVERHEAD_BYTES;
/// Longest time span of one batch.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 3600 * 1000;

/// Cuts `events` into batches PutLogEvents accepts: sorted by time (stable), each within the count, size and
/// span limits; an over-long message is cut (on a character boundary) with a marker, never dropped.
pub fn batches(mut events: Vec<LogEvent>) -> Vec<Vec<LogEvent>> {
    events.sort_by_key(|e| e.timestamp_ms);
    let mut out: Vec<Vec<LogEvent>> = Vec::new();
    let mut current: Vec<LogEvent> = Vec::new();
    let mut bytes = 0;
    for mut e in events {
        if e.message.len() > MAX_EVENT_BYTES {
            let marker = "...[cut by s3shift: event over 256 KiB]";
            let mut end = MAX_EVENT_BYTES - marker.len();
            while !e.message.is_char_boundary(end) {
                end -= 1;
            }
            e.message.truncate(end);
            e.message.push_str(marker);
        }
        let size = e.message.len() + EVENT_OVERHEAD_BYTES;
        let span_ok = current
            .first()
            .is_none_or(|f| e.timestamp_ms - f.timestamp_ms <= MAX_BATCH_SPAN_MS);
        if !current.is_empty()
            && (current.len() == MAX_BATCH_EVENTS || bytes + size > MAX_BATCH_BYTES || !span_ok)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(e);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Collects an event's fields as JSON.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

type Queue = Arc<Mutex<Option<mpsc::UnboundedSender<LogEvent>>>>;

/// The tracing layer that queues events for [`CloudWatchShipper`].
pub struct CloudWatchLayer {
    queue: Queue,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CloudWatchLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Map::new();
        fields.insert("level".into(), Value::from(event.metadata().level().to_string()));
        event.record(&mut JsonVisitor(&mut fields));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let e = LogEvent {
            timestamp_ms: now,
            message: Value::Object(fields).to_string(),
        };
        if let Ok(q) = self.queue.lock()
            && let Some(tx) = q.as_ref()
        {
            let _ = tx.send(e);
        }
    }
}

/// Ships queued events from its own thread (its own small runtime, so it outlives the command's).
pub struct CloudWatchShipper {
    queue: Queue,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for CloudWatchShipper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchShipper").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CloudWatchLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchLayer").finish_non_exhaustive()
    }
}

/// Starts shipping to `group` / `stream` (both created if missing) with the standard AWS configuration
/// (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` points it elsewhere). Returns the layer to install and the shipper to
/// flush on exit.
pub fn start(group: String, stream: String) -> (CloudWatchLayer, CloudWatchShipper) {
    start_with(group, stream, None)
}

/// [`start`] with an explicit client configuration (tests, or an endpoint that is not in the environment).
pub fn start_with(
    group: String,
    stream: String,
    config: Option<aws_sdk_cloudwatchlogs::Config>,
) -> (CloudWatchLayer, CloudWatchShipper) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queue: Queue = Arc::new(Mutex::new(Some(tx)));
    let thread = std::thread::Builder::new()
        .name("s3shift-cloudwatch".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                eprintln!("s3shift: cannot start the CloudWatch Logs shipper");
                return;
            };
            rt.block_on(ship(group, stream, config, rx));
        })
        .ok();
    (
        CloudWatchLayer { queue: queue.clone() },
        CloudWatchShipper { queue, thread },
    )
}

impl CloudWatchShipper {
    /// Stops queueing, sends everything queued, and waits for it (at most `timeout`).
    pub fn flush(mut self, timeout: Duration) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Some(t) = self.thread.take() {
            let deadline = std::time::Instant::now() + timeout;
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                eprintln!(
                    "s3shift: CloudWatch Logs shipping did not finish within {} s",
                    timeout.as_secs()
                );
            }
        }
    }
}

async fn ship(
    group: String,
    stream: String,
    config: Option<aws_sdk_cloudwatchlogs::Config>,
    mut rx: mpsc::UnboundedReceiver<LogEvent>,
) {
    let client = match config {
        Some(c) => aws_sdk_cloudwatchlogs::Client::from_conf(c),
        None => {
            let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            aws_sdk_cloudwatchlogs::Client::new(&shared)
        }
    };
    if let Err(e) = client.create_log_group().log_group_name(&group).send().await
        && e.as_service_error()
            .is_none_or(|s| !s.is_resource_already_exists_exception())
    {
        eprintln!(
            "s3shift: creating log group {group}: {}",
            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
        );
    }
    if let Err(e) = client
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .send()
        .await
        && e.as_service_error()
            .is_none_or(|s| !s.is_resource_already_exists_exception())
    {
        eprintln!(
            "s3shift: creating log stream {group}/{stream}: {}",
            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
        );
    }
    let mut pending = Vec::new();
    let mut open = true;
    while open {
        // Gather for up to a second (or until the queue closes), then send.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => pending.push(e),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        for batch in batches(std::mem::take(&mut pending)) {
            let events: Vec<_> = batch
                .into_iter()
                .filter_map(|e| {
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(e.timestamp_ms)
                        .message(e.message)
                        .build()
                        .ok()
                })
                .collect();
            let n = events.len();
            if let Err(e) = client
                .put_log_events()
                .log_group_name(&group)
                .log_stream_name(&stream)
                .set_log_events(Some(events))
                .send()
                .await
            {
                eprintln!(
                    "s3shift: PutLogEvents of {n} events to {group}/{stream} failed: {}",
                    aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: i64, len: usize) -> LogEvent {
        LogEvent {
            timestamp_ms: t,
            message: "x".repeat(len),
        }
    }

    #[test]
    fn batches_respect_count_size_order_and_span() {
        // 25,000 small events: three batches by count, in time order.
        let many: Vec<_> = (0..25_000).rev().map(|i| ev(i, 10)).collect();
        let b = batches(many);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            [10_000, 10_000, 5_000]
        );
        assert!(
            b.iter()
                .flatten()
                .zip(b.iter().flatten().skip(1))
                .all(|(a, c)| a.timestamp_ms <= c.timestamp_ms)
        );
        // Big events: cut by bytes, counting 26 per event.
        let big: Vec<_> = (0..10).map(|i| ev(i, 200_000)).collect();
        let b = batches(big);
        for batch in &b {
            let bytes: usize = batch.iter().map(|e| e.message.len() + EVENT_OVERHEAD_BYTES).sum();
            assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
        }
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 10);
        // An event over 256 KiB is cut, not dropped.
        let b = batches(vec![ev(0, 300_000)]);
        assert!(b[0][0].message.len() <= MAX_EVENT_BYTES && b[0][0].message.ends_with("256 KiB]"));
        // A batch never spans more than 24 hours.
        let b = batches(vec![ev(0, 1), ev(MAX_BATCH_SPAN_MS + 1, 1)]);
        assert_eq!(b.len(), 2);
    }
}
