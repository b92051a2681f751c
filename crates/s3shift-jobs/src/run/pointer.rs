//! The pending-load pointer's durable format: what a later run needs to finish a staged load, and nothing of the
//! run's in-memory summary, so that the summary can change without breaking pointers deployed runs left behind.
//!
//! Version 2 (this one) is written; version 1 (s3shift before pointers were versioned: the whole `RunSummary`
//! under `summary`) is still read. A pointer of a newer version is refused, naming it, rather than half read.

use chrono::{DateTime, Utc};
use s3shift_core::RunId;
use serde::{Deserialize, Serialize};

use super::summary::{Quarantined, RunMode, RunSummary, mode_text};

/// The version this binary writes.
pub(super) const VERSION: u32 = 2;

/// A staged load, as its pointer records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingLoad {
    /// The format's version ([`VERSION`]).
    pub(super) version: u32,
    /// The run that staged the load (a replay's own id).
    pub(super) run_id: RunId,
    /// `s3://` URL of the COPY manifest.
    pub(super) manifest_url: String,
    /// Rows staged: the load's row-count check.
    pub(super) expected_rows: u64,
    /// Parquet files staged.
    pub(super) files_staged: u64,
    /// The batch of the current submission, once recorded.
    pub(super) statement_id: Option<String>,
    /// The submission the load is at (1 for the first): with the run id, it makes the submission's client token.
    pub(super) attempt: u32,
    /// When the staging run started (the `runs` row's `started_at`), RFC 3339 to the microsecond.
    #[serde(with = "rfc3339")]
    pub(super) started_at: DateTime<Utc>,
    /// What the staging run counted before it staged: the run that finishes the load reports them.
    pub(super) figures: StagedFigures,
    /// The earliest and latest `last_modified` of the rows staged: the load searches earlier rows of them in
    /// this range only (`s3shift_redshift::sql::MergeRange`). None when no row carried one, and in version-1
    /// pointers, whose loads search the whole tables.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_pair")]
    pub(super) staged_last_modified: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Where the staging run's ledger window started (none for a backfill or a replay): the check of a vanished
    /// reading searches from there (`MergeRange`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub(super) ledger_window: Option<DateTime<Utc>>,
}

impl PendingLoad {
    /// The load's [`s3shift_redshift::sql::MergeRange`], when its rows' times are known.
    pub(super) fn merge_range(&self) -> Option<s3shift_redshift::sql::MergeRange> {
        self.staged_last_modified.map(|(earliest, latest)| {
            s3shift_redshift::sql::MergeRange::around(earliest, latest, self.ledger_window)
        })
    }
}

/// What a run counted before its load: reported in the `runs` row and the summary of whichever run finishes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct StagedFigures {
    /// What the run planned from (none when unknown).
    #[serde(default, with = "mode_text")]
    pub(super) mode: Option<RunMode>,
    /// A replay: the run whose files it loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) replay_of: Option<String>,
    pub(super) objects_listed: u64,
    pub(super) objects_already_loaded: u64,
    pub(super) objects_too_young: u64,
    pub(super) objects_deferred: u64,
    pub(super) objects_not_found: u64,
    pub(super) objects_quarantined: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) quarantined: Vec<Quarantined>,
    pub(super) objects_vanished: u64,
    pub(super) objects_failed: u64,
    pub(super) bytes_read: u64,
    pub(super) get_requests: u64,
    pub(super) list_requests: u64,
    pub(super) data_api_statements: u64,
    pub(super) copy_statements: u64,
    pub(super) min_slack_hours: Option<f64>,
    pub(super) expiry_warning: bool,
    pub(super) drained: bool,
    #[serde(default)]
    pub(super) event_misses: u64,
}

impl StagedFigures {
    /// The figures of `s` that outlive the run that counted them.
    pub(super) fn of(s: &RunSummary) -> Self {
        Self {
            mode: s.mode,
            replay_of: s.replay_of.clone(),
            objects_listed: s.objects_listed,
            objects_already_loaded: s.objects_already_loaded,
            objects_too_young: s.objects_too_young,
            objects_deferred: s.objects_deferred,
            objects_not_found: s.objects_not_found,
            objects_quarantined: s.objects_quarantined,
            quarantined: s.quarantined.clone(),
            objects_vanished: s.objects_vanished,
            objects_failed: s.objects_failed,
            bytes_read: s.bytes_read,
            get_requests: s.get_requests,
            list_requests: s.list_requests,
            data_api_statements: s.data_api_statements,
            copy_statements: s.copy_statements,
            min_slack_hours: s.min_slack_hours,
            expiry_warning: s.expiry_warning,
            drained: s.drained,
            event_misses: s.event_misses,
        }
    }
}

impl PendingLoad {
    /// The summary a run that finishes this load (not the one that staged it) starts from: the staging run's
    /// figures, marked resumed. `job`, `source` and `table` are the job's, whose staging prefix holds the pointer.
    pub(super) fn resumed_summary(&self, job: &str, source: &str, table: &str) -> RunSummary {
        let f = &self.figures;
        RunSummary {
            run_id: self.run_id.to_string(),
            job: job.to_owned(),
            source: source.to_owned(),
            table: table.to_owned(),
            started_at: self
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            objects_listed: f.objects_listed,
            objects_already_loaded: f.objects_already_loaded,
            objects_too_young: f.objects_too_young,
            objects_deferred: f.objects_deferred,
            objects_not_found: f.objects_not_found,
            objects_loaded: self.expected_rows,
            objects_quarantined: f.objects_quarantined,
            quarantined: f.quarantined.clone(),
            objects_vanished: f.objects_vanished,
            objects_failed: f.objects_failed,
            files_staged: self.files_staged,
            bytes_read: f.bytes_read,
            get_requests: f.get_requests,
            list_requests: f.list_requests,
            data_api_statements: f.data_api_statements,
            copy_statements: f.copy_statements,
            min_slack_hours: f.min_slack_hours,
            expiry_warning: f.expiry_warning,
            drained: f.drained,
            mode: f.mode,
            replay_of: f.replay_of.clone(),
            event_misses: f.event_misses,
            resumed: true,
            ..RunSummary::default()
        }
    }

    /// Reads a pointer of any version this binary knows.
    pub(super) fn from_json(bytes: &[u8]) -> serde_json::Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes)?;
        match value.get("version").map(serde_json::Value::as_u64) {
            None => serde_json::from_value::<V1>(value).map(V1::upgrade),
            Some(Some(v)) if v == u64::from(VERSION) => serde_json::from_value(value),
            Some(other) => Err(serde::de::Error::custom(format!(
                "pointer version {} is not one this s3shift reads (it writes {VERSION}): finish the load with \
                 the s3shift version that staged it",
                other.map_or_else(|| "(not a number)".to_owned(), |v| v.to_string())
            ))),
        }
    }
}

/// A time as RFC 3339 text to the microsecond (what Redshift keeps), `Z` for UTC.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("started_at {text:?}: {e}")))
    }
}

/// An optional time in RFC 3339.
mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
            })
            .transpose()
    }
}

/// An optional pair of times, as `[earliest, latest]` in RFC 3339.
mod rfc3339_pair {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    type Pair = Option<(DateTime<Utc>, DateTime<Utc>)>;

    pub(super) fn serialize<S: Serializer>(pair: &Pair, s: S) -> Result<S::Ok, S::Error> {
        let text = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match pair {
            Some((a, b)) => s.collect_seq([text(a), text(b)]),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pair, D::Error> {
        let Some([a, b]) = Option::<[String; 2]>::deserialize(d)? else {
            return Ok(None);
        };
        let parse = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| serde::de::Error::custom(format!("staged_last_modified {t:?}: {e}")))
        };
        Ok(Some((parse(&a)?, parse(&b)?)))
    }
}

/// Version 1: the run's whole summary under `summary`, the start time as its RFC 3339 text.
#[derive(Deserialize)]
struct V1 {
    run_id: RunId,
    manifest_url: String,
    expected_rows: u64,
    statement_id: Option<String>,
    /// 0 in pointers written before client tokens: read as 1.
    #[serde(default)]
    attempt: u32,
    summary: RunSummary,
}

impl V1 {
    fn upgrade(self) -> PendingLoad {
        // A start time version 1 could not parse was replaced by the time of the resume; so it is here.
        let started_at = DateTime::parse_from_rfc3339(&self.summary.started_at)
            .map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc));
        PendingLoad {
            version: VERSION,
            run_id: self.run_id,
            manifest_url: self.manifest_url,
            expected_rows: self.expected_rows,
            files_staged: self.summary.files_staged,
            statement_id: self.statement_id,
            attempt: self.attempt.max(1),
            started_at,
            figures: StagedFigures::of(&self.summary),
            staged_last_modified: None,
            ledger_window: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pointer exactly as the s3shift before versioned pointers wrote it.
    const V1_POINTER: &str = r#"{
  "run_id": "photos-20261201T000000123Z-1",
  "manifest_url": "s3://staging/staged/photos/photos-20261201T000000123Z-1/manifest.json",
  "expected_rows": 7,
  "statement_id": "d9b6c0a4-0000-4000-8000-000000000001",
  "attempt": 2,
  "summary": {"run_id":"photos-20261201T000000123Z-1","job":"photos","source":"api","table":"s3shift.images",
    "status":"","started_at":"2026-12-01T00:00:00.123456Z","objects_listed":9,"objects_already_loaded":1,
    "objects_too_young":1,"objects_deferred":0,"objects_not_found":0,"objects_loaded":7,"objects_quarantined":1,
    "quarantined":[{"key":"incoming/bad.jpg","status":"corrupt","reason":"no SOI"}],"objects_vanished":0,
    "objects_failed":0,"files_staged":2,"bytes_read":4096,"get_requests":7,"list_requests":1,
    "data_api_statements":3,"copy_statements":0,"min_slack_hours":150.5,"expiry_warning":false,
    "slowest_stage":"","stage_seconds":{"plan":0.1,"extract":0.2,"load":0.0,"report":0.0},"duration_s":0.0,
    "resumed":false,"drained":false,"mode":"scan"}
}"#;

    #[test]
    fn a_version_1_pointer_reads_with_its_figures() -> Result<(), serde_json::Error> {
        let p = PendingLoad::from_json(V1_POINTER.as_bytes())?;
        assert_eq!(p.run_id.as_str(), "photos-20261201T000000123Z-1");
        assert_eq!((p.expected_rows, p.files_staged, p.attempt), (7, 2, 2));
        assert_eq!(
            p.statement_id.as_deref(),
            Some("d9b6c0a4-0000-4000-8000-000000000001")
        );
        assert_eq!(p.started_at.to_rfc3339(), "2026-12-01T00:00:00.123456+00:00");
        let s = p.resumed_summary("photos", "api", "s3shift.images");
        assert!(s.resumed);
        assert_eq!(
            (s.objects_listed, s.objects_loaded, s.objects_quarantined),
            (9, 7, 1)
        );
        assert_eq!(
            s.quarantined.first().map(|q| q.key.as_str()),
            Some("incoming/bad.jpg")
        );
        assert_eq!((s.bytes_read, s.data_api_statements), (4096, 3));
        assert_eq!(s.mode, Some(RunMode::Scan));
        assert_eq!(s.started_at, "2026-12-01T00:00:00.123456Z");
        Ok(())
    }

    #[test]
    fn a_pointer_round_trips_without_the_summary() -> Result<(), serde_json::Error> {
        let p = PendingLoad::from_json(V1_POINTER.as_bytes())?;
        let text = serde_json::to_string(&p)?;
        assert!(text.contains("\"version\":2"), "{text}");
        assert!(!text.contains("\"summary\""), "{text}");
        assert!(!text.contains("stage_seconds"), "{text}");
        let mut with_range = p.clone();
        let t = DateTime::parse_from_rfc3339("2026-12-01T00:00:00.5Z")
            .map_err(serde::de::Error::custom)?
            .with_timezone(&Utc);
        with_range.staged_last_modified = Some((t, t + chrono::Duration::hours(1)));
        let ranged = serde_json::to_string(&with_range)?;
        assert!(
            ranged.contains(
                r#""staged_last_modified":["2026-12-01T00:00:00.500000Z","2026-12-01T01:00:00.500000Z"]"#
            ),
            "{ranged}"
        );
        assert_eq!(
            PendingLoad::from_json(ranged.as_bytes())?.staged_last_modified,
            with_range.staged_last_modified
        );
        let again = PendingLoad::from_json(text.as_bytes())?;
        assert_eq!(serde_json::to_string(&again)?, text);
        Ok(())
    }

    #[test]
    fn a_pointer_of_a_newer_version_is_refused_by_name() {
        let err = PendingLoad::from_json(br#"{"version": 3, "run_id": "r"}"#).map(|_| ());
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("pointer version 3"), "{text}");
    }
}
