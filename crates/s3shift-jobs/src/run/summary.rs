//! The summary of a run: what it counted, how long each stage took, and the status it ended with.

use s3shift_core::RunStatus;
use s3shift_redshift::warehouse::RunReport;
use serde::{Deserialize, Deserializer, Serialize};

use crate::plan::PlanCounts;

/// What a run planned from: one enum, never a string compared in several places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// A listing of the source (a job without an event queue).
    Scan,
    /// The job's event queue.
    Events,
    /// The reconciliation scan of a job in event mode: what no event brought.
    Reconcile,
    /// A backfill: a window or named keys, the ledger not consulted.
    Backfill,
    /// A replay of an earlier run's staged files.
    Replay,
}

impl RunMode {
    /// The name the summary, the logs and `s3shift.runs` readers know it by.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::Events => "events",
            Self::Reconcile => "reconcile",
            Self::Backfill => "backfill",
            Self::Replay => "replay",
        }
    }

    /// The mode named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Scan,
            Self::Events,
            Self::Reconcile,
            Self::Backfill,
            Self::Replay,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for RunMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mode as the summary's JSON and the pending-load pointers of every version write it: its name, or `""`
/// for none; a name this version does not know reads as none.
pub(super) mod mode_text {
    use super::RunMode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(mode: &Option<RunMode>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(mode.map_or("", RunMode::as_str))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RunMode>, D::Error> {
        Ok(RunMode::parse(&String::deserialize(d)?))
    }
}

/// How many quarantined objects a summary names.
pub const QUARANTINE_NAMED: usize = 20;

/// A quarantined object, as the summary names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The object key.
    pub key: String,
    /// Its row's status (`corrupt`, `truncated`, ...).
    pub status: String,
    /// Why, as the row's `reason` holds it.
    pub reason: String,
}

/// The summary of one run: logged, stored in `s3shift.runs`, printed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Job.
    pub job: String,
    /// Source name.
    pub source: String,
    /// The curated table the run loads (empty in summaries written before it was recorded).
    #[serde(default)]
    pub table: String,
    /// How the run ended: `finished`, `partial` (some objects quarantined or unreadable), `drained` (stopped
    /// early by a stop request) or `empty` (nothing to load). `None` until the run ends (a pending load's
    /// summary, for instance).
    #[serde(default, deserialize_with = "status_or_empty")]
    pub status: Option<RunStatus>,
    /// Start, RFC 3339.
    pub started_at: String,
    /// Objects the listing returned.
    pub objects_listed: u64,
    /// Skipped: already in the ledger.
    pub objects_already_loaded: u64,
    /// Skipped: younger than the settle time.
    pub objects_too_young: u64,
    /// Skipped: over the run's limits.
    pub objects_deferred: u64,
    /// Backfill by key: named keys the source no longer holds.
    pub objects_not_found: u64,
    /// Rows staged and loaded (every status).
    pub objects_loaded: u64,
    /// Loaded with status corrupt or truncated (counted in `objects_loaded` too: their rows are in the tables,
    /// with the reason).
    pub objects_quarantined: u64,
    /// The first [`QUARANTINE_NAMED`] of them, by key; every one is in the curated table and the ledger with the
    /// run's id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<Quarantined>,
    /// Loaded with status vanished (deleted or replaced between list and read).
    pub objects_vanished: u64,
    /// Not loaded: still unreadable after retries (the next run tries again).
    pub objects_failed: u64,
    /// Parquet files staged.
    pub files_staged: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Source GET requests.
    pub get_requests: u64,
    /// List requests.
    pub list_requests: u64,
    /// Data API statements submitted (a batch counts once).
    pub data_api_statements: u64,
    /// COPY statements run.
    pub copy_statements: u64,
    /// Smallest slack to expiry, in hours, of what was unloaded when the run started.
    pub min_slack_hours: Option<f64>,
    /// Whether `min_slack_hours` fell under the job's warning threshold.
    pub expiry_warning: bool,
    /// The stage that took longest.
    pub slowest_stage: String,
    /// Seconds per stage: plan, extract (including staging, which overlaps it), load, report.
    pub stage_seconds: StageSeconds,
    /// Whole run, seconds.
    pub duration_s: f64,
    /// Set when this summary finishes a load that an earlier, interrupted invocation staged.
    pub resumed: bool,
    /// Set when a stop request drained the run early (the objects not read are counted in `objects_deferred`).
    pub drained: bool,
    /// What the run planned from; `None` for a resumed load (written as `""`, as before).
    #[serde(default, with = "mode_text")]
    pub mode: Option<RunMode>,
    /// A replay: the run whose staged files it loaded again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// A reconciliation scan: objects older than the grace that no event had loaded (late or lost events).
    #[serde(default)]
    pub event_misses: u64,
    /// An event run: what its messages held and what became of them.
    #[serde(default)]
    pub events: Option<crate::events::EventCounts>,
    /// An event run or reconciliation scan: messages in the queue's dead-letter queue after the run (events
    /// whose objects could not be read after the queue's maxReceiveCount receives).
    #[serde(default)]
    pub dead_letter_messages: Option<u64>,
}

/// Pointers written before the status was typed hold `""` for a run that has not ended.
fn status_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RunStatus>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => RunStatus::parse(t)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{t:?} is not a run status"))),
    }
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct StageSeconds {
    /// Listing and ledger lookup.
    pub plan: f64,
    /// Reads, extraction and staging (they overlap).
    pub extract: f64,
    /// The load transaction.
    pub load: f64,
    /// Writing the run's summary.
    pub report: f64,
}

impl StageSeconds {
    /// The name of the stage that took longest.
    pub fn slowest(&self) -> &'static str {
        let all = [
            ("plan", self.plan),
            ("extract", self.extract),
            ("load", self.load),
            ("report", self.report),
        ];
        all.iter()
            .copied()
            .fold(("plan", f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
            .0
    }
}

impl RunSummary {
    /// Takes the plan's counts.
    pub(crate) fn apply_counts(&mut self, c: &PlanCounts) {
        self.objects_listed = c.listed;
        self.objects_already_loaded = c.already_loaded;
        self.objects_too_young = c.too_young;
        self.objects_deferred = c.deferred;
    }

    /// Takes extraction's counts (a drain's unread objects count as deferred, and mark the run drained).
    pub(super) fn apply_extract(&mut self, r: &super::extract::ExtractReport) {
        self.objects_loaded = r.rows;
        self.objects_quarantined = r.quarantined;
        self.quarantined.clone_from(&r.quarantined_named);
        self.objects_vanished = r.vanished;
        self.objects_failed = r.failed;
        self.files_staged += r.files_staged;
        self.bytes_read = r.bytes_read;
        self.get_requests = r.get_requests;
        if r.unread > 0 {
            self.objects_deferred += r.unread;
            self.drained = true;
        }
    }

    /// The status of a run that loaded rows: drained, partial, or finished.
    pub(crate) fn loaded_status(&self) -> RunStatus {
        if self.drained {
            RunStatus::Drained
        } else if self.objects_quarantined + self.objects_failed > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Finished
        }
    }

    /// The row the report writes to `s3shift.runs`, with `status`.
    pub(crate) fn report(&self, status: RunStatus) -> RunReport {
        RunReport {
            run_id: self.run_id.clone(),
            job: self.job.clone(),
            source: self.source.clone(),
            started_at: self.started_at.clone(),
            status,
            objects_listed: self.objects_listed,
            objects_already_loaded: self.objects_already_loaded,
            objects_too_young: self.objects_too_young,
            objects_deferred: self.objects_deferred,
            objects_quarantined: self.objects_quarantined,
            objects_vanished: self.objects_vanished,
            objects_failed: self.objects_failed,
            bytes_read: self.bytes_read,
            get_requests: self.get_requests,
            data_api_statements: self.data_api_statements,
            min_slack_hours: self.min_slack_hours,
            slowest_stage: self.slowest_stage.clone(),
            duration_s: self.duration_s,
        }
    }

    /// Logs the summary as one `run_summary` event (what dashboards and alarms read).
    pub(crate) fn log(&self) {
        tracing::info!(
            event = "run_summary",
            run_id = %self.run_id,
            job = %self.job,
            status = %self.status.map_or("", RunStatus::as_str),
            objects_listed = self.objects_listed,
            objects_loaded = self.objects_loaded,
            objects_already_loaded = self.objects_already_loaded,
            objects_quarantined = self.objects_quarantined,
            objects_vanished = self.objects_vanished,
            objects_failed = self.objects_failed,
            bytes_read = self.bytes_read,
            get_requests = self.get_requests,
            data_api_statements = self.data_api_statements,
            copy_statements = self.copy_statements,
            min_slack_hours = self.min_slack_hours,
            slowest_stage = %self.slowest_stage,
            duration_s = self.duration_s,
            resumed = self.resumed,
            mode = self.mode.map_or("", RunMode::as_str),
            event_misses = self.event_misses,
            event_messages = self.events.map_or(0, |e| e.messages),
            "run finished"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_reads_and_writes_as_the_text_it_always_was() {
        let whole = serde_json::to_string(&RunSummary::default()).unwrap_or_default();
        assert!(whole.contains(r#""mode":"""#), "{whole}");
        for (text, mode) in [
            ("", None),
            ("scan", Some(RunMode::Scan)),
            ("reconcile", Some(RunMode::Reconcile)),
        ] {
            let json = whole.replace(r#""mode":"""#, &format!(r#""mode":"{text}""#));
            let read: Result<RunSummary, _> = serde_json::from_str(&json);
            assert_eq!(read.as_ref().ok().map(|r| r.mode), Some(mode), "{json}");
            let written = read
                .ok()
                .and_then(|r| serde_json::to_string(&r).ok())
                .unwrap_or_default();
            assert_eq!(written, json);
        }
        // A mode another version wrote reads as none.
        let other = whole.replace(r#""mode":"""#, r#""mode":"sideways""#);
        let read: Result<RunSummary, _> = serde_json::from_str(&other);
        assert_eq!(read.ok().map(|r| r.mode), Some(None));
    }

    #[test]
    fn a_pointer_written_before_statuses_were_typed_still_reads() {
        let old_json = r#"{"run_id":"r","job":"j","source":"s","status":"","started_at":"","objects_listed":0,"objects_already_loaded":0,"objects_too_young":0,"objects_deferred":0,"objects_not_found":0,"objects_loaded":3,"objects_quarantined":0,"objects_vanished":0,"objects_failed":0,"files_staged":1,"bytes_read":0,"get_requests":0,"list_requests":0,"data_api_statements":0,"copy_statements":0,"min_slack_hours":null,"expiry_warning":false,"slowest_stage":"","stage_seconds":{"plan":0.0,"extract":0.0,"load":0.0,"report":0.0},"duration_s":0.0,"resumed":false,"drained":false}"#;
        let old: Result<RunSummary, _> = serde_json::from_str(old_json);
        let old = old.map_err(|e| e.to_string());
        assert!(
            matches!(&old, Ok(s) if s.status.is_none() && s.objects_loaded == 3),
            "{old:?}"
        );
        let done = RunSummary {
            status: Some(RunStatus::Partial),
            ..RunSummary::default()
        };
        let json = serde_json::to_value(&done).unwrap_or_default();
        assert_eq!(json["status"], "partial");
        let bad: Result<RunSummary, _> =
            serde_json::from_str(&old_json.replace(r#""status":"""#, r#""status":"done""#));
        assert!(bad.is_err());
    }

    #[test]
    fn a_loaded_run_is_drained_before_partial_before_finished() {
        let mut s = RunSummary::default();
        assert_eq!(s.loaded_status(), RunStatus::Finished);
        s.objects_failed = 1;
        assert_eq!(s.loaded_status(), RunStatus::Partial);
        s.drained = true;
        assert_eq!(s.loaded_status(), RunStatus::Drained);
    }
}
