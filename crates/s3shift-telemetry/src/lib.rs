//! s3shift's telemetry: where log events go and in what shape, and metrics as CloudWatch Embedded Metric
//! Format (EMF) lines.
//!
//! This crate owns the log format contract: log events go to stderr, always, so that stdout carries only a
//! command's own output (a summary, `--json` documents, `local`'s exports) and a script can pipe it; JSON lines
//! when stderr is not a terminal (the ECS awslogs driver ships "the STDOUT and STDERR I/O streams" to CloudWatch
//! Logs, "Send Amazon ECS logs to CloudWatch", where EMF lines become metrics), readable text on a terminal,
//! coloured only there. It must never know about jobs or runs: callers hand it names and numbers.
//!
//! # Organization
//! - [`init_logs`] and [`LogFormat`]: the tracing subscriber.
//! - [`emf`]: [`emf::MetricSet`], one EMF line.
//! - [`cloudwatch`]: shipping the same events to CloudWatch Logs with PutLogEvents, within its limits.

pub mod cloudwatch;
pub mod emf;

use std::io::IsTerminal;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line on stderr (for log shippers).
    Json,
    /// Human-readable lines on stderr.
    Text,
}

/// The environment variable that picks the [`LogFormat`].
pub const LOG_FORMAT_VAR: &str = "S3SHIFT_LOG_FORMAT";

/// [`LOG_FORMAT_VAR`] holds neither `json` nor `text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{LOG_FORMAT_VAR}={value:?} is not a log format: use json or text")]
pub struct UnknownLogFormat {
    /// What the variable held.
    pub value: String,
}

impl std::str::FromStr for LogFormat {
    type Err = UnknownLogFormat;

    /// `json` or `text`, exactly.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err(UnknownLogFormat {
                value: value.to_owned(),
            }),
        }
    }
}

impl LogFormat {
    /// [`LOG_FORMAT_VAR`] when set, otherwise JSON when stderr (where logs go) is not a terminal.
    ///
    /// # Errors
    /// [`UnknownLogFormat`] when the variable is set to anything but `json` or `text`: a typo in a task
    /// definition must not quietly change what the log shipper receives.
    pub fn from_env() -> Result<Self, UnknownLogFormat> {
        match std::env::var_os(LOG_FORMAT_VAR) {
            Some(value) => value.to_string_lossy().parse(),
            None if std::io::stderr().is_terminal() => Ok(Self::Text),
            None => Ok(Self::Json),
        }
    }
}

/// Installs the global subscriber: `format`, filtered by `S3SHIFT_LOG` (an `EnvFilter` directive, default
/// `default_level` with the AWS SDK's own events at `warn`), plus `extra` (the CloudWatch layer) when given. A
/// second call does nothing.
pub fn init_logs(format: LogFormat, default_level: &str, extra: Option<cloudwatch::CloudWatchLayer>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("S3SHIFT_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{default_level},aws_config=warn,aws_smithy_runtime=warn,aws_sdk_s3=warn,aws_sdk_cloudwatchlogs=warn"
        ))
    });
    let registry = tracing_subscriber::registry().with(filter).with(extra);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    // The run's span (`run_id`, `job`) under `span` on every event of a run.
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}
