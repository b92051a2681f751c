//! Named crash points: where the crash tests stop a run, one per transition of the load's protocol.
//!
//! A test names a point through `S3SHIFT_FAILPOINT` (its [`CrashPoint::name`]); the process aborts there, as a
//! kill would stop it. With `S3SHIFT_FAILPOINT_RELEASE` also naming a file, the process instead creates
//! `<file>.reached` and waits (up to ten minutes) until `<file>` exists, so a test can change the world at
//! exactly that point. Each check costs one environment lookup; production never sets either variable.

use std::fmt;

/// The environment variable that names the crash point.
pub const FAILPOINT_VAR: &str = "S3SHIFT_FAILPOINT";
/// The environment variable that turns the crash into a pause until a file exists.
pub const FAILPOINT_RELEASE_VAR: &str = "S3SHIFT_FAILPOINT_RELEASE";

/// A point in a run where a crash leaves a distinct state behind, in the order a run passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashPoint {
    /// Planned; nothing read, nothing staged.
    AfterPlan,
    /// Half the planned objects staged; no manifest.
    MidExtract,
    /// Every file staged; no manifest, no pointer.
    AfterStage,
    /// Manifest and pointer written (`Staged`); the load not submitted.
    AfterPointer,
    /// The lease checked and the batch built; not yet submitted (a holder that stalls here submits after its
    /// lease may have been taken over: the fence's case).
    BeforeSubmit,
    /// The load batch submitted; its id not yet recorded in the pointer.
    AfterSubmit,
    /// The id recorded (`Submitted`); the outcome not yet waited for.
    BeforeWait,
    /// The load committed (`Loaded`); the report not written.
    AfterLoad,
    /// The report written (`Reported`); the pointer not yet removed.
    AfterReport,
}

impl CrashPoint {
    /// Every point, in run order.
    pub const ALL: [Self; 9] = [
        Self::AfterPlan,
        Self::MidExtract,
        Self::AfterStage,
        Self::AfterPointer,
        Self::BeforeSubmit,
        Self::AfterSubmit,
        Self::BeforeWait,
        Self::AfterLoad,
        Self::AfterReport,
    ];

    /// The name `S3SHIFT_FAILPOINT` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AfterPlan => "after-plan",
            Self::MidExtract => "mid-extract",
            Self::AfterStage => "after-stage",
            Self::AfterPointer => "after-pointer",
            Self::BeforeSubmit => "before-submit",
            Self::AfterSubmit => "after-submit",
            Self::BeforeWait => "before-wait",
            Self::AfterLoad => "after-load",
            Self::AfterReport => "after-report",
        }
    }

    /// Aborts the process (or pauses it, see the module docs) when the environment names this point.
    pub(crate) fn check(self) {
        if !std::env::var(FAILPOINT_VAR).is_ok_and(|v| v == self.name()) {
            return;
        }
        if let Some(release) = std::env::var_os(FAILPOINT_RELEASE_VAR) {
            let release = std::path::PathBuf::from(release);
            let mut reached = release.clone().into_os_string();
            reached.push(".reached");
            let _ = std::fs::write(&reached, self.name());
            for _ in 0..60_000 {
                if release.exists() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        eprintln!("s3shift: failpoint {self}: aborting");
        std::process::abort();
    }
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
