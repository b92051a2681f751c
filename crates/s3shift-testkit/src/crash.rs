//! Running the binary stopped, or paused, at a named crash point.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use s3shift_jobs::CrashPoint;
use s3shift_jobs::run::{FAILPOINT_RELEASE_VAR, FAILPOINT_VAR};

use crate::Stack;

/// The environment that makes a run abort at `point`, as a kill would stop it.
pub fn abort_at(point: CrashPoint) -> [(&'static str, String); 1] {
    [(FAILPOINT_VAR, point.name().to_owned())]
}

/// A run paused at a crash point; it goes on when [`Paused::release`] is called.
pub struct Paused {
    /// The run, to be awaited for its output.
    pub child: tokio::task::JoinHandle<Output>,
    /// Its process id.
    pub pid: u32,
    release: PathBuf,
}

impl Paused {
    /// Lets the run go on from its crash point.
    pub fn release(&self) {
        std::fs::write(&self.release, "go").unwrap();
    }

    /// Sends the run `signal` (`STOP` freezes it as a stalled task would be: no lease renewal, nothing;
    /// `CONT` wakes it).
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid, signal);
    }
}

/// Sends process `pid` the signal named `signal` (`TERM`, `KILL`, `STOP`, `CONT`), with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// Starts `s3shift run <extra...> <job>` paused at `point`; returns once it is there (60 s at most).
pub async fn run_paused_at(stack: &Stack, point: CrashPoint, extra: &[&str]) -> Paused {
    run_job_paused_at(stack, &stack.job, point, extra).await
}

/// [`run_paused_at`] for the job file `job` (another job over the stack's stand-ins, see
/// [`Stack::write_job`]); several may be paused at once.
pub async fn run_job_paused_at(
    stack: &Stack,
    job: &std::path::Path,
    point: CrashPoint,
    extra: &[&str],
) -> Paused {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    command_paused_at(stack, &args, job, point).await
}

/// `s3shift <args...> <job>` (any command that runs the job: `backfill --since ...`, `replay ...`) paused at
/// `point`; returns once it is there (60 s at most).
pub async fn command_paused_at(
    stack: &Stack,
    args: &[&str],
    job: &std::path::Path,
    point: CrashPoint,
) -> Paused {
    let stem = job
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let command = args.first().copied().unwrap_or("");
    let release = stack.dir.path().join(format!("release-{stem}-{command}-{point}"));
    let mut cmd = stack.bare_command(args);
    cmd.arg(job);
    cmd.env(FAILPOINT_VAR, point.name())
        .env(FAILPOINT_RELEASE_VAR, &release)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let process = cmd.spawn().unwrap();
    let pid = process.id();
    let child = tokio::task::spawn_blocking(move || process.wait_with_output().unwrap());
    let mut reached = release.clone().into_os_string();
    reached.push(".reached");
    let reached = PathBuf::from(reached);
    for _ in 0..6000 {
        if reached.exists() {
            return Paused { child, pid, release };
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the run never reached {point}");
}
