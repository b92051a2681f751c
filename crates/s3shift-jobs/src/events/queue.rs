//! The job's SQS queue, through aws-sdk-sqs: receive, delete after the load commits, let go of what a run will
//! not load, and the depth of the queue and of its dead-letter queue.
//!
//! Limits from the Amazon SQS API Reference: "ReceiveMessage" returns 1 to 10 messages a call, waits at most 20
//! s (long polling), and a visibility timeout is at most 43,200 s (12 hours); "DeleteMessageBatch" and
//! "ChangeMessageVisibilityBatch" take at most 10 entries, and each entry can fail on its own (the call then
//! succeeds with the entry under `Failed`). "Amazon SQS short and long polling": a receive that does not wait
//! samples only some servers and can answer empty while messages exist, so every receive here waits at least
//! one second. "Amazon SQS dead-letter queues": a message received more than `maxReceiveCount` times without
//! being deleted moves to the queue the `RedrivePolicy` names.
//!
//! The task role needs sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility and
//! sqs:GetQueueAttributes on the queue, and sqs:GetQueueUrl and sqs:GetQueueAttributes on its dead-letter
//! queue (the batch calls are authorized as their single forms: "Amazon SQS API permissions: Actions and
//! resource reference").
//!
//! `backfill --enqueue` sends work items ([`EventQueue::send`]): "SendMessageBatch" takes at most 10 entries, and
//! the sum of a batch's bodies may not pass the queue's limit (262,144 bytes on the older pages, 1 MiB since
//! 2025: the smaller is kept); a body holds only the characters XML 1.0 allows. Whoever runs it needs
//! sqs:SendMessage and sqs:GetQueueAttributes on the queue (the task roles do not have sqs:SendMessage).

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};

use crate::{Error, Result};

/// SQS's most entries in one batch call, and most messages one receive returns.
pub const SQS_BATCH: usize = 10;
/// SQS's longest long poll, seconds.
pub const SQS_MAX_WAIT_SECONDS: u32 = 20;
/// The most bytes one SendMessageBatch carries, all its bodies together, on any queue: "SendMessageBatch" gave
/// 262,144 bytes until 2025 and gives 1 MiB now; the smaller holds on both.
pub const SQS_BATCH_BYTES: usize = 262_144;
/// SQS's longest visibility timeout, seconds.
pub const SQS_MAX_VISIBILITY_SECONDS: u32 = 43_200;

/// A job's event queue.
#[derive(Debug, Clone)]
pub struct EventQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// SQS's message id (for logs).
    pub message_id: String,
    /// The handle that deletes it or changes its visibility (valid for this receive only).
    pub receipt: String,
    /// The body.
    pub body: String,
    /// How many times SQS has handed it out, this time included.
    pub receive_count: u32,
}

/// How many messages a queue holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    /// Waiting to be received (approximate).
    pub visible: u64,
    /// Received and not yet deleted nor visible again (approximate).
    pub in_flight: u64,
}

/// The queue's and its dead-letter queue's depth.
#[derive(Debug, Clone, Default)]
pub struct QueueDepths {
    /// The queue.
    pub queue: Depth,
    /// The dead-letter queue's URL and depth, when the queue has a redrive policy.
    pub dead_letter: Option<(String, Depth)>,
}

impl EventQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Our error for a request the SDK would not build (an entry missing a required field).
    fn refused(&self, op: &'static str, e: aws_sdk_sqs::error::BuildError) -> Error {
        Error::Queue {
            queue: self.url.clone(),
            op,
            problem: format!("the request could not be built: {e}"),
            source: Some(Box::new(e)),
        }
    }

    /// Our error for a failed SQS call: the service's code and message in the text (the SDK's whole story when
    /// the call got no answer), the SDK's error kept as the source.
    fn fail<E, R>(&self, op: &'static str, e: aws_sdk_sqs::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_sdk_sqs::error::ProvideErrorMetadata;
        let mut problem = match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => s3shift_core::text::error_chain(&e),
        };
        // "Common errors" of the SQS API Reference: the JSON protocol's QueueDoesNotExist, the query protocol's
        // AWS.SimpleQueueService.NonExistentQueue.
        if e.code()
            .is_some_and(|c| c.contains("NonExistentQueue") || c.contains("QueueDoesNotExist"))
        {
            problem.push_str(&format!(
                " Check [source.events] queue_url in the job file (or {}, which replaces it) and the region.",
                crate::spec::overrides::QUEUE_URL.var
            ));
        }
        Error::Queue {
            queue: self.url.clone(),
            op,
            problem,
            source: Some(Box::new(e)),
        }
    }

    /// Receives up to `max` (at most 10) messages, waiting up to `wait_s` seconds for the first, and hides
    /// them from other receivers for `visibility_s` seconds.
    pub async fn receive(&self, max: usize, wait_s: u32, visibility_s: u32) -> Result<Vec<Received>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(i32::try_from(max.clamp(1, SQS_BATCH)).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait_s.clamp(1, SQS_MAX_WAIT_SECONDS)).unwrap_or(1))
            .visibility_timeout(i32::try_from(visibility_s.min(SQS_MAX_VISIBILITY_SECONDS)).unwrap_or(900))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.fail("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let receipt = m.receipt_handle()?.to_owned();
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Some(Received {
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    receipt,
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count,
                })
            })
            .collect())
    }

    /// Deletes the messages of `receipts`, ten a call. Returns how many were deleted; an entry SQS refuses
    /// (an expired receipt handle: the message was received again elsewhere) is logged and left, since the
    /// ledger makes its next delivery a no-op.
    pub async fn delete(&self, receipts: &[String]) -> Result<u64> {
        let mut deleted = 0u64;
        for chunk in receipts.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .map_err(|e| self.refused("DeleteMessageBatch", e))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.fail("DeleteMessageBatch", e))?;
            deleted += out.successful().len() as u64;
            for f in out.failed() {
                tracing::warn!(queue = %self.url, code = f.code(), message = f.message().unwrap_or_default(),
                    "a message could not be deleted; it will be delivered again and found loaded");
            }
        }
        Ok(deleted)
    }

    /// Makes the messages of `receipts` visible again now (a run that will not load them: over its limits, or
    /// draining), ten a call. Failures are logged: the message then comes back when its timeout ends.
    pub async fn release(&self, receipts: &[String]) -> Result<()> {
        self.set_visibility(receipts, 0).await
    }

    /// Keeps the messages of `receipts` hidden for `visibility_s` from now on, extended every third of it, until
    /// the returned [`Heartbeat`] is stopped.
    pub fn heartbeat(&self, receipts: Vec<String>, visibility_s: u32) -> Heartbeat {
        Heartbeat::start(self.clone(), receipts, visibility_s)
    }

    /// Hides the messages of `receipts` for `seconds` more from now: the heartbeat of a run that still works on
    /// them ("Amazon SQS visibility timeout": "Programmatically extend the visibility timeout for tasks that don't
    /// complete within the initial timeout", with ChangeMessageVisibility; the new timeout counts from the call).
    /// Failures are logged, as for [`release`](Self::release).
    pub async fn extend(&self, receipts: &[String], seconds: u32) -> Result<()> {
        self.set_visibility(receipts, i32::try_from(seconds).unwrap_or(i32::MAX))
            .await
    }

    /// The queue's `MaximumMessageSize`, bytes (SQS's default, 262,144, when the attribute is missing).
    pub async fn max_message_size(&self) -> Result<usize> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::MaximumMessageSize)
            .send()
            .await
            .map_err(|e| self.fail("GetQueueAttributes", e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::MaximumMessageSize))
            .and_then(|v| v.parse().ok())
            .unwrap_or(SQS_BATCH_BYTES))
    }

    /// Sends `bodies` (at most 10, together within [`SQS_BATCH_BYTES`]) in one SendMessageBatch. Entries SQS
    /// fails on its side (`SenderFault` false) are sent again, up to five times with a growing pause; an entry
    /// refused for what it is, or still failing, fails the call naming its SQS code. Returns the message ids.
    pub async fn send(&self, bodies: &[String]) -> Result<Vec<String>> {
        let mut ids = vec![String::new(); bodies.len()];
        let mut left: Vec<usize> = (0..bodies.len()).collect();
        for attempt in 0u32.. {
            let entries = left
                .iter()
                .map(|&i| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&bodies[i])
                        .build()
                        .map_err(|e| self.refused("SendMessageBatch", e))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.fail("SendMessageBatch", e))?;
            for ok in out.successful() {
                if let Some(slot) = ok.id().parse::<usize>().ok().and_then(|i| ids.get_mut(i)) {
                    ok.message_id().clone_into(slot);
                }
            }
            left.clear();
            for f in out.failed() {
                if f.sender_fault() || attempt >= 5 {
                    return Err(Error::Queue {
                        queue: self.url.clone(),
                        op: "SendMessageBatch",
                        problem: format!(
                            "entry {} of {}: {}: {}",
                            f.id(),
                            bodies.len(),
                            f.code(),
                            f.message().unwrap_or_default()
                        ),
                        source: None,
                    });
                }
                left.extend(f.id().parse::<usize>().ok().filter(|&i| i < bodies.len()));
            }
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
        }
        Ok(ids)
    }

    async fn set_visibility(&self, receipts: &[String], seconds: i32) -> Result<()> {
        for chunk in receipts.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .visibility_timeout(seconds)
                        .build()
                        .map_err(|e| self.refused("ChangeMessageVisibilityBatch", e))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.fail("ChangeMessageVisibilityBatch", e))?;
            for f in out.failed() {
                tracing::warn!(queue = %self.url, code = f.code(), message = f.message().unwrap_or_default(),
                    seconds, "a message's visibility could not be changed; it keeps its timeout");
            }
        }
        Ok(())
    }

    async fn depth_of(&self, url: &str) -> Result<(Depth, Option<String>)> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| self.fail("GetQueueAttributes", e))?;
        let attrs = out.attributes();
        let number = |name: QueueAttributeName| {
            attrs
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let depth = Depth {
            visible: number(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        };
        let dlq_arn = attrs
            .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p.get("deadLetterTargetArn")?.as_str().map(str::to_owned));
        Ok((depth, dlq_arn))
    }

    /// The depth of the queue and, when its redrive policy names one, of its dead-letter queue (found by name
    /// and account from the policy's ARN).
    pub async fn depths(&self) -> Result<QueueDepths> {
        let (queue, dlq_arn) = self.depth_of(&self.url).await?;
        let Some(arn) = dlq_arn else {
            return Ok(QueueDepths {
                queue,
                dead_letter: None,
            });
        };
        // arn:aws:sqs:<region>:<account>:<name>
        let parts: Vec<&str> = arn.split(':').collect();
        let (Some(account), Some(name)) = (parts.get(4), parts.get(5)) else {
            return Err(Error::Queue {
                queue: self.url.clone(),
                op: "GetQueueAttributes",
                problem: format!("the redrive policy names {arn:?}, not a queue ARN"),
                source: None,
            });
        };
        let found = self
            .client
            .get_queue_url()
            .queue_name(*name)
            .queue_owner_aws_account_id(*account)
            .send()
            .await
            .map_err(|e| self.fail("GetQueueUrl", e))?;
        let url = found.queue_url().unwrap_or_default().to_owned();
        let (depth, _) = self.depth_of(&url).await?;
        Ok(QueueDepths {
            queue,
            dead_letter: Some((url, depth)),
        })
    }
}
/// Extends the visibility of a run's messages every third of their timeout, until stopped (or dropped, on an
/// error path: the messages then keep their last timeout).
pub struct Heartbeat {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    fn start(queue: EventQueue, receipts: Vec<String>, visibility_s: u32) -> Self {
        let period = std::time::Duration::from_secs(u64::from(visibility_s)) / 3;
        let period = period.max(std::time::Duration::from_millis(500));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            if receipts.is_empty() {
                return;
            }
            // At once, then every period: the first messages were received a receive phase ago.
            loop {
                if let Err(e) = queue.extend(&receipts, visibility_s).await {
                    tracing::warn!(error = %e, "extending the run's messages' visibility failed; trying again");
                }
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stopped.changed() => return,
                }
            }
        }));
        Self { stop, task }
    }

    /// Stops extending, once no extension is under way: what the run settles next (deletes, releases) is not
    /// undone by a late one.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
