//! `s3shift status`: the recent runs of a job and how far behind it is, from the `runs` table.

use chrono::{DateTime, Utc};
use s3shift_redshift::DataApi;
use s3shift_redshift::warehouse::{RunRecord, RunsTable};
use serde::Serialize;

use crate::Result;
use crate::spec::JobSpec;

/// A job's status.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// Job.
    pub job: String,
    /// Most recent first.
    pub runs: Vec<RunRecord>,
    /// Hours since the start of the newest run that finished (its objects are loaded up to then).
    pub lag_hours: Option<f64>,
    /// The newest run's slack to expiry of what was unloaded when it started, hours.
    pub min_slack_hours: Option<f64>,
    /// Whether that slack is under the job's warning threshold.
    pub expiry_warning: bool,
    /// For a job in event mode: its queue's depth and its dead-letter queue's.
    pub queue: Option<QueueStatus>,
}

/// The depth of a job's event queue and of its dead-letter queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueStatus {
    /// The queue.
    pub url: String,
    /// Messages waiting.
    pub visible: u64,
    /// Messages received and not yet deleted.
    pub in_flight: u64,
    /// The dead-letter queue, when the queue has a redrive policy.
    pub dead_letter_url: Option<String>,
    /// Messages in it: events whose objects could not be read after the queue's maxReceiveCount receives.
    pub dead_letter_messages: Option<u64>,
}

/// Reads the depth of `queue` and its dead-letter queue.
pub async fn queue_status(queue: &crate::events::EventQueue) -> Result<QueueStatus> {
    let d = queue.depths().await?;
    Ok(QueueStatus {
        url: queue.url().to_owned(),
        visible: d.queue.visible,
        in_flight: d.queue.in_flight,
        dead_letter_url: d.dead_letter.as_ref().map(|(u, _)| u.clone()),
        dead_letter_messages: d.dead_letter.map(|(_, d)| d.visible),
    })
}

/// Reads the last `limit` runs of `spec` (at most 1000).
pub async fn job_status(api: &DataApi, spec: &JobSpec, limit: u32, now: DateTime<Utc>) -> Result<JobStatus> {
    let runs: Vec<RunRecord> = RunsTable::beside(&spec.table)?
        .recent(api, spec.name(), limit)
        .await
        .map_err(|e| crate::Error::from(e).explain(spec))?;
    let lag_hours = runs
        .iter()
        .filter(|r| r.finished_at.is_some())
        .find_map(|r| {
            r.started_at
                .as_deref()
                .and_then(s3shift_redshift::warehouse::ledger::parse_timestamptz)
        })
        .map(|t| (now - t).num_seconds() as f64 / 3600.0);
    let min_slack_hours = runs.first().and_then(|r| r.min_slack_hours);
    Ok(JobStatus {
        job: spec.name().to_owned(),
        expiry_warning: min_slack_hours
            .is_some_and(|h| h < f64::from(spec.config.alerts.expiry_warning_hours)),
        runs,
        lag_hours,
        min_slack_hours,
        queue: None,
    })
}
