//! [`RunStatus`]: the one list of states a run's row in `s3shift.runs` can hold.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The status of one run, as `s3shift.runs.status` stores it and as the summary, `status` and the logs show it.
///
/// A run's row is first written by its load transaction as [`RunStatus::Loaded`] and then completed by the
/// report with the run's final status; a run that loads nothing writes its row once, as [`RunStatus::Empty`] or
/// [`RunStatus::Partial`]. A row left at `loaded` means the run's data is committed but its report is not (the
/// process stopped between the two); the next run finishes the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RunStatus {
    /// The load transaction committed; the report has not been written yet.
    Loaded,
    /// Every planned object was read and loaded.
    Finished,
    /// Loaded, but some objects were quarantined (corrupt, truncated) or left unreadable for the next run.
    Partial,
    /// A stop request (SIGTERM) drained the run: what was read is loaded, the rest waits for the next run.
    Drained,
    /// Nothing to load.
    Empty,
}

impl RunStatus {
    /// Every status, in the order a run can pass through them.
    pub const ALL: [Self; 5] = [
        Self::Loaded,
        Self::Finished,
        Self::Partial,
        Self::Drained,
        Self::Empty,
    ];

    /// The text stored in `s3shift.runs.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Finished => "finished",
            Self::Partial => "partial",
            Self::Drained => "drained",
            Self::Empty => "empty",
        }
    }

    /// The status stored as `text`, if it is one of ours.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// Whether a run with this status has written its report (its figures are final).
    pub const fn is_reported(self) -> bool {
        !matches!(self, Self::Loaded)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_text_and_json() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{s}\""));
        }
        assert_eq!(RunStatus::parse("done"), None);
        assert!(!RunStatus::Loaded.is_reported());
        assert!(RunStatus::Empty.is_reported());
    }
}
