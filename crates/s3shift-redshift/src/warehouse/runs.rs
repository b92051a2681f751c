//! `s3shift.runs`: one row per run.
//!
//! The load transaction inserts a run's row as `loaded` (so the row commits with the data or not at all); the
//! report then completes it. A run that loads nothing inserts its row once, with its final status. `status`
//! reads the rows back. Values travel as Data API parameters; only validated names are written into SQL.

use s3shift_core::RunStatus;

use crate::Result;
use crate::client::{DataApi, Value};
use crate::sql::{RunRow, TableName, safe_literal};

/// The `runs` table of a schema.
#[derive(Debug, Clone)]
pub struct RunsTable {
    table: TableName,
}

/// A run's figures, as the report writes them.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// Job name.
    pub job: String,
    /// Source name.
    pub source: String,
    /// Start, RFC 3339.
    pub started_at: String,
    /// The run's final status.
    pub status: RunStatus,
    /// Objects listed.
    pub objects_listed: u64,
    /// Skipped: already in the ledger.
    pub objects_already_loaded: u64,
    /// Skipped: younger than the settle time.
    pub objects_too_young: u64,
    /// Skipped: over the run's limits.
    pub objects_deferred: u64,
    /// Loaded as corrupt or truncated.
    pub objects_quarantined: u64,
    /// Loaded as vanished.
    pub objects_vanished: u64,
    /// Unreadable, left for the next run.
    pub objects_failed: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// GET requests.
    pub get_requests: u64,
    /// Data API statements.
    pub data_api_statements: u64,
    /// Smallest slack to expiry, hours.
    pub min_slack_hours: Option<f64>,
    /// The slowest stage's name.
    pub slowest_stage: String,
    /// Whole run, seconds.
    pub duration_s: f64,
}

/// One row of `runs`, as `status` shows it (and prints it with `--json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    /// Run id.
    pub run_id: String,
    /// The stored status; `None` when the row holds a text that is not one of [`RunStatus`].
    #[serde(skip)]
    pub status: Option<RunStatus>,
    /// The stored status text, as stored (one of [`RunStatus`] unless another version wrote it).
    #[serde(rename = "status")]
    pub status_text: String,
    /// Start, as the warehouse prints it.
    pub started_at: Option<String>,
    /// End of the report (none while loading, or after a failure between load and report).
    pub finished_at: Option<String>,
    /// Objects listed.
    pub objects_listed: Option<i64>,
    /// Objects staged and loaded.
    pub objects_loaded: Option<i64>,
    /// Quarantined.
    pub objects_quarantined: Option<i64>,
    /// Unreadable.
    pub objects_failed: Option<i64>,
    /// Slack to expiry, hours.
    pub min_slack_hours: Option<f64>,
    /// Whole run, seconds.
    pub duration_s: Option<f64>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.filter(|v| !v.is_null()).map(ToString::to_string)
}

impl RunsTable {
    /// The `runs` table beside `target` (the curated table).
    pub fn beside(target: &TableName) -> Result<Self> {
        Ok(Self {
            table: target.sibling("runs")?,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &TableName {
        &self.table
    }

    /// The two statements of the load batch that (re)write the run's row as [`RunStatus::Loaded`]: deleting
    /// first makes a re-submitted batch leave one row, not two.
    pub fn load_statements(&self, run: &RunRow, objects_staged: u64) -> Result<[String; 2]> {
        let runs = &self.table;
        let run_id = safe_literal("run id", &run.run_id)?;
        let job = safe_literal("job name", &run.job)?;
        let source = safe_literal("source name", &run.source)?;
        // To the microsecond, as the warehouse keeps it (see `ledger::stamp`), in the `T` form a literal may hold.
        let started = safe_literal(
            "start time",
            &run.started_at.format("%Y-%m-%dT%H:%M:%S%.6f+00").to_string(),
        )?;
        let loaded = RunStatus::Loaded.as_str();
        Ok([
            format!("DELETE FROM {runs} WHERE run_id = {run_id}"),
            format!(
                "INSERT INTO {runs} (run_id, job, source, started_at, loaded_at, status, objects_staged, \
                 files_staged) VALUES ({run_id}, {job}, {source}, CAST({started} AS TIMESTAMPTZ), \
                 CAST(GETDATE() AS TIMESTAMPTZ), '{loaded}', {objects_staged}, {files})",
                files = run.files_staged
            ),
        ])
    }

    /// Inserts the row of a run that loaded nothing (nothing planned, or nothing readable), already complete.
    pub async fn record_unloaded(&self, api: &DataApi, r: &RunReport) -> Result<()> {
        let runs = &self.table;
        let slack = slack_sql(r);
        api.execute(
            &format!(
                "INSERT INTO {runs} (run_id, job, source, started_at, finished_at, status, objects_listed, \
                 objects_already_loaded, objects_too_young, objects_deferred, objects_staged, objects_failed, \
                 bytes_read, get_requests, min_slack_hours, message) VALUES (:run_id, :job, :source, \
                 CAST(:started_at AS TIMESTAMPTZ), CAST(GETDATE() AS TIMESTAMPTZ), :status, \
                 CAST(:listed AS BIGINT), CAST(:already AS BIGINT), CAST(:young AS BIGINT), \
                 CAST(:deferred AS BIGINT), 0, CAST(:failed AS BIGINT), CAST(:bytes_read AS BIGINT), \
                 CAST(:gets AS BIGINT), {slack}, :message)"
            ),
            &with_figures(
                r,
                [
                    ("run_id", r.run_id.clone()),
                    ("job", r.job.clone()),
                    ("source", r.source.clone()),
                    ("started_at", to_micros("started_at", &r.started_at)?),
                    ("message", "nothing to load".into()),
                ],
            ),
        )
        .await?;
        Ok(())
    }

    /// Completes the row the load transaction wrote with the run's final figures. Idempotent.
    pub async fn complete(&self, api: &DataApi, r: &RunReport) -> Result<()> {
        let runs = &self.table;
        let slack = slack_sql(r);
        api.execute(
            &format!(
                "UPDATE {runs} SET finished_at = CAST(GETDATE() AS TIMESTAMPTZ), status = :status, \
                 objects_listed = CAST(:listed AS BIGINT), objects_already_loaded = CAST(:already AS BIGINT), \
                 objects_too_young = CAST(:young AS BIGINT), objects_deferred = CAST(:deferred AS BIGINT), \
                 objects_quarantined = CAST(:quarantined AS BIGINT), objects_vanished = CAST(:vanished AS BIGINT), \
                 objects_failed = CAST(:failed AS BIGINT), bytes_read = CAST(:bytes_read AS BIGINT), \
                 get_requests = CAST(:gets AS BIGINT), data_api_statements = CAST(:statements AS BIGINT), \
                 min_slack_hours = {slack}, slowest_stage = :slowest, \
                 duration_s = CAST(:duration AS DOUBLE PRECISION) WHERE run_id = :run_id"
            ),
            &with_figures(
                r,
                [
                    ("quarantined", r.objects_quarantined.to_string()),
                    ("vanished", r.objects_vanished.to_string()),
                    ("statements", r.data_api_statements.to_string()),
                    ("slowest", r.slowest_stage.clone()),
                    ("duration", format!("{:.3}", r.duration_s)),
                    ("run_id", r.run_id.clone()),
                ],
            ),
        )
        .await?;
        Ok(())
    }

    /// The last `limit` runs of `job` (clamped to 1..=1000), newest first.
    pub async fn recent(&self, api: &DataApi, job: &str, limit: u32) -> Result<Vec<RunRecord>> {
        let rows = api
            .query(
                &format!(
                    "SELECT run_id, status, started_at, finished_at, objects_listed, objects_staged, \
                     objects_quarantined, objects_failed, min_slack_hours, duration_s FROM {} WHERE job = :job \
                     ORDER BY started_at DESC, run_id DESC LIMIT {}",
                    self.table,
                    limit.clamp(1, 1000)
                ),
                &[("job", job.to_owned())],
            )
            .await?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                let status_text = text(r.get(1)).unwrap_or_default();
                RunRecord {
                    run_id: text(r.first()).unwrap_or_default(),
                    status: RunStatus::parse(&status_text),
                    status_text,
                    started_at: rfc3339(text(r.get(2))),
                    finished_at: rfc3339(text(r.get(3))),
                    objects_listed: r.get(4).and_then(Value::as_i64),
                    objects_loaded: r.get(5).and_then(Value::as_i64),
                    objects_quarantined: r.get(6).and_then(Value::as_i64),
                    objects_failed: r.get(7).and_then(Value::as_i64),
                    min_slack_hours: r.get(8).and_then(Value::as_f64),
                    duration_s: r.get(9).and_then(Value::as_f64),
                }
            })
            .collect())
    }
}

/// The warehouse's text of a time (`2026-11-28 04:31:19.494121+00`) as RFC 3339 (`2026-11-28T04:31:19.494121Z`),
/// what scripts parse; text that does not parse stays as it is.
fn rfc3339(t: Option<String>) -> Option<String> {
    t.map(|t| {
        super::ledger::parse_timestamptz(&t)
            .map_or(t, |p| p.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    })
}

/// `extra`, plus the parameters both writes of a run's row reference: status, the counts, bytes, GETs and the
/// slack when there is one. Each write passes only parameters its SQL names: the conservative choice, since the
/// Data API pages found ("ExecuteStatement", "SqlParameter") do not say whether an unused one is accepted.
/// An RFC 3339 time given by the run, to the microsecond (see [`super::ledger::stamp`]); an error naming
/// `field` when it is not RFC 3339.
fn to_micros(field: &str, text: &str) -> Result<String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| super::ledger::stamp(t.with_timezone(&chrono::Utc)))
        .map_err(|e| crate::Error::Table {
            table: "s3shift.runs".into(),
            problem: format!("{field} {text:?} is not an RFC 3339 time: {e}"),
        })
}

fn with_figures<const N: usize>(
    r: &RunReport,
    extra: [(&'static str, String); N],
) -> Vec<(&'static str, String)> {
    let figures = [
        ("status", r.status.as_str().to_owned()),
        ("listed", r.objects_listed.to_string()),
        ("already", r.objects_already_loaded.to_string()),
        ("young", r.objects_too_young.to_string()),
        ("deferred", r.objects_deferred.to_string()),
        ("failed", r.objects_failed.to_string()),
        ("bytes_read", r.bytes_read.to_string()),
        ("gets", r.get_requests.to_string()),
    ];
    extra.into_iter().chain(figures).chain(slack_param(r)).collect()
}

/// The Data API takes no NULL parameter (an empty value is refused), so a missing slack is written as NULL.
fn slack_sql(r: &RunReport) -> &'static str {
    if r.min_slack_hours.is_some() {
        "CAST(:slack AS DOUBLE PRECISION)"
    } else {
        "CAST(NULL AS DOUBLE PRECISION)"
    }
}

fn slack_param(r: &RunReport) -> Option<(&'static str, String)> {
    r.min_slack_hours.map(|h| ("slack", format!("{h:.3}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_go_to_the_warehouse_to_the_microsecond() {
        assert_eq!(
            to_micros("started_at", "2026-12-07T19:40:49.123456789+00:00").unwrap(),
            "2026-12-07 19:40:49.123456+00"
        );
        assert_eq!(
            to_micros("started_at", "2026-12-07T21:40:49+02:00").unwrap(),
            "2026-12-07 19:40:49.000000+00"
        );
        let err = to_micros("started_at", "yesterday").unwrap_err().to_string();
        assert!(err.contains("started_at \"yesterday\""), "{err}");
    }
}
