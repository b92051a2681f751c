//! `s3shift status`: the recent runs of a job and how far behind it is, from the `runs` table.

use chrono::{DateTime, Utc};
use s3shift_redshift::{DataApi, Value};
use serde::Serialize;

use crate::Result;
use crate::spec::JobSpec;

/// One row of `s3shift.runs`, as status shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    /// Run id.
    pub run_id: String,
    /// `loaded`, `finished`, `partial` or `empty`.
    pub status: String,
    /// Start.
    pub started_at: Option<String>,
    /// End of the report (none while a run is loading or after it failed mid-way).
    pub finished_at: Option<String>,
    /// Objects listed.
    pub objects_listed: Option<i64>,
    /// Objects loaded.
    pub objects_loaded: Option<i64>,
    /// Quarantined (corrupt or truncated).
    pub objects_quarantined: Option<i64>,
    /// Unreadable, left for the next run.
    pub objects_failed: Option<i64>,
    /// Smallest slack to expiry of unloaded objects when the run started, hours.
    pub min_slack_hours: Option<f64>,
    /// Whole run, seconds.
    pub duration_s: Option<f64>,
}

/// A job's status.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// Job.
    pub job: String,
    /// Most recent first.
    pub runs: Vec<RunStatus>,
    /// Hours since the start of the newest run that finished (its objects are loaded up to then).
    pub lag_hours: Option<f64>,
    /// The newest run's slack to expiry of what was unloaded when it started, hours.
    pub min_slack_hours: Option<f64>,
    /// Whether that slack is under the job's warning threshold.
    pub expiry_warning: bool,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.filter(|v| !v.is_null()).map(ToString::to_string)
}

/// Reads the last `limit` runs of `spec` (at most 1000).
pub async fn job_status(api: &DataApi, spec: &JobSpec, limit: u32, now: DateTime<Utc>) -> Result<JobStatus> {
    let runs_table = spec.table.sibling("runs")?;
    let rows = api
        .query(
            &format!(
                "SELECT run_id, status, started_at, finished_at, \
                 objects_listed, objects_staged, objects_quarantined, objects_failed, min_slack_hours, duration_s \
                 FROM {runs_table} WHERE job = :job ORDER BY started_at DESC, run_id DESC LIMIT {}",
                limit.clamp(1, 1000)
            ),
            &[("job", spec.name().to_owned())],
        )
        .await?;
    let runs: Vec<RunStatus> = rows
        .rows
        .iter()
        .map(|r| RunStatus {
            run_id: text(r.first()).unwrap_or_default(),
            status: text(r.get(1)).unwrap_or_default(),
            started_at: text(r.get(2)),
            finished_at: text(r.get(3)),
            objects_listed: r.get(4).and_then(Value::as_i64),
            objects_loaded: r.get(5).and_then(Value::as_i64),
            objects_quarantined: r.get(6).and_then(Value::as_i64),
            objects_failed: r.get(7).and_then(Value::as_i64),
            min_slack_hours: r.get(8).and_then(Value::as_f64),
            duration_s: r.get(9).and_then(Value::as_f64),
        })
        .collect();
    let lag_hours = runs
        .iter()
        .filter(|r| r.finished_at.is_some())
        .find_map(|r| r.started_at.as_deref().and_then(parse_time))
        .map(|t| (now - t).num_seconds() as f64 / 3600.0);
    let min_slack_hours = runs.first().and_then(|r| r.min_slack_hours);
    Ok(JobStatus {
        job: spec.name().to_owned(),
        expiry_warning: min_slack_hours
            .is_some_and(|h| h < f64::from(spec.config.alerts.expiry_warning_hours)),
        runs,
        lag_hours,
        min_slack_hours,
    })
}

/// Parses the warehouse's text form of a TIMESTAMPTZ (`2026-11-28 04:31:19.494121+00`).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let with_zone = if s.ends_with("+00") {
        format!("{s}:00")
    } else {
        s.to_owned()
    };
    DateTime::parse_from_str(&with_zone, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_rfc3339(&with_zone))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warehouse_times_parse() {
        assert!(parse_time("2026-11-28 04:31:19.494121+00").is_some());
        assert!(parse_time("2026-11-28 04:31:19+00").is_some());
        assert!(parse_time("2026-11-28T04:31:19Z").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
