//! The `s3shift` binary: parses the command line, wires the library crates together, prints errors with their
//! chain and maps outcomes to exit codes (0 success, 1 failure, 2 bad usage or config, 3 partial, 130 stopped by
//! Ctrl-C).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `--version`: the crate's version and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("S3SHIFT_COMMIT"), ")");

/// Exit code when every object was read but some were corrupt or truncated.
pub(crate) const EXIT_PARTIAL: u8 = 3;
/// Exit code for a failure of the run itself.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code for bad usage or an invalid job file.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT), once the run drained, or at once on a second Ctrl-C.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// An error caused by the command line or a job file, not by the run: exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// s3shift turns the images your services upload to S3 into analytics tables in Amazon Redshift Serverless,
/// exactly once.
///
/// Each run lists an ingestion bucket before its lifecycle rule expires the objects, reads image metadata
/// (format, size, EXIF camera, time and GPS) from a small ranged GET of each object, stages Parquet files and
/// loads them with COPY through the Redshift Data API, merging into the curated tables with a ledger of what
/// was loaded. Start with `s3shift demo`: the whole pipeline on embedded stand-ins, with nothing else running.
#[derive(Debug, Parser)]
#[command(name = "s3shift", version = VERSION, propagate_version = true)]
struct Cli {
    /// Also ship every log event to this CloudWatch Logs group (created if missing), in a new stream named
    /// after this host and the start time; flushed before exit.
    #[arg(long, global = true, value_name = "GROUP", env = "S3SHIFT_LOG_TO_CLOUDWATCH")]
    log_to_cloudwatch: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a job once: finish any interrupted load, then plan, extract, stage, load and report.
    Run(commands::run::RunArgs),
    /// Reprocess a time window or named keys of a job's source (rows are replaced, never duplicated).
    Backfill(commands::run::BackfillArgs),
    /// Load again, from its staged Parquet files, what an earlier run staged (works after the objects expired).
    Replay(commands::run::ReplayArgs),
    /// Check a job's preconditions (credentials, buckets, lifecycle, encryption, workgroup, COPY role, tables).
    Doctor(commands::doctor::DoctorArgs),
    /// Recent runs of a job (or of every job), its lag and its slack to expiry, from the runs table.
    Status(commands::status::StatusArgs),
    /// Print job schedules (`--print eventbridge` renders the expressions deploy/ uses).
    Schedule(commands::schedule::ScheduleArgs),
    /// Apply the sql/ migrations to the job's warehouse, in order, each in one transaction.
    Migrate(commands::migrate::MigrateArgs),
    /// The whole pipeline on the embedded S3 and Data API stand-ins, with nothing else running.
    #[cfg(feature = "local")]
    Demo(commands::demo::DemoArgs),
    /// Print the metadata of local image files, one JSON line per file.
    Extract(commands::extract::ExtractArgs),
    /// Write a starter job file: every field, with its default and what it is for.
    Init(commands::init::InitArgs),
    /// Run the embedded S3 and Redshift Data API stand-ins over a local directory until Ctrl-C or SIGTERM.
    #[cfg(feature = "local")]
    Local(commands::local::LocalArgs),
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::docs::CompletionsArgs),
    /// Write the manual pages (`s3shift.1` and one per subcommand), or print `s3shift.1`.
    Man(commands::docs::ManArgs),
}

/// `--jobs-dir DIR` given before the subcommand (`s3shift --jobs-dir DIR run photos`), where clap would refuse
/// it: moved to the end of the subcommand's arguments, where every job command takes it.
fn jobs_dir_before_subcommand(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut dir = None;
    let mut iter = args.into_iter();
    out.extend(iter.next());
    while let Some(a) = iter.next() {
        let text = a.to_string_lossy();
        if text == "--jobs-dir" {
            dir = iter.next();
            continue;
        }
        if let Some(v) = text.strip_prefix("--jobs-dir=") {
            dir = Some(v.into());
            continue;
        }
        let flag = text.starts_with('-');
        // The one other option before the subcommand that takes a value (in its own argument).
        let takes_value = text == "--log-to-cloudwatch";
        out.push(a);
        if takes_value {
            out.extend(iter.next());
            continue;
        }
        if !flag {
            // The subcommand: the rest is its own.
            out.extend(iter);
            break;
        }
    }
    if let Some(dir) = dir {
        out.push("--jobs-dir".into());
        out.push(dir);
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(jobs_dir_before_subcommand(std::env::args_os().collect()));
    let format = match s3shift_telemetry::LogFormat::from_env() {
        Ok(format) => format,
        Err(err) => {
            eprintln!("s3shift: error: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // The demo prints its own story; its log events would only interleave with it.
    #[cfg(feature = "local")]
    let quiet = matches!(cli.command, Command::Demo(_));
    #[cfg(not(feature = "local"))]
    let quiet = false;
    let group = cli
        .log_to_cloudwatch
        .clone()
        .or_else(|| job_log_group(&cli.command));
    let (layer, shipper) = match &group {
        Some(group) => {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
            let stream = format!(
                "s3shift/{host}/{}-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
                std::process::id()
            );
            let (layer, shipper) = s3shift_telemetry::cloudwatch::start(group.clone(), stream);
            (Some(layer), Some(shipper))
        }
        None => (None, None),
    };
    s3shift_telemetry::init_logs(format, if quiet { "warn" } else { "info" }, layer);
    let outcome = match cli.command {
        Command::Run(args) => commands::run::run(&args),
        Command::Migrate(args) => commands::migrate::run(&args),
        Command::Backfill(args) => commands::run::backfill(&args),
        Command::Replay(args) => commands::run::replay(&args),
        Command::Status(args) => commands::status::run(&args),
        Command::Doctor(args) => commands::doctor::run(&args),
        Command::Schedule(args) => commands::schedule::run(&args),
        #[cfg(feature = "local")]
        Command::Demo(args) => commands::demo::run(&args),
        Command::Extract(args) => commands::extract::run(&args),
        Command::Init(args) => commands::init::run(&args),
        #[cfg(feature = "local")]
        Command::Local(args) => commands::local::run(&args),
        Command::Completions(args) => commands::docs::completions(&args),
        Command::Man(args) => commands::docs::man(&args),
    };
    if let (Err(err), Some(_)) = (&outcome, &shipper) {
        let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
        tracing::error!(error = %chain.join(": "), "command failed");
    }
    if let Some(shipper) = shipper {
        shipper.flush(std::time::Duration::from_secs(15));
    }
    match outcome {
        Ok(_) if commands::job::interrupted() => ExitCode::from(EXIT_INTERRUPTED),
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("s3shift: error: {err}");
            for cause in causes(&err) {
                eprintln!("  caused by: {cause}");
            }
            if is_usage(&err) {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// Whether `err` is the caller's to fix before anything runs (exit 2): bad usage, or a job file that cannot be
/// read or does not validate (its own error, with its cause, is what gets printed).
fn is_usage(err: &anyhow::Error) -> bool {
    err.downcast_ref::<UsageError>().is_some()
        || matches!(
            err.downcast_ref::<s3shift_jobs::Error>(),
            Some(s3shift_jobs::Error::Config { .. } | s3shift_jobs::Error::Io { .. })
        )
}

/// The causes of `err` worth a line: each error below the first, unless what it says was already said by the
/// errors above it (our errors quote S3's or Redshift's message and keep the SDK's error as their source).
fn causes(err: &anyhow::Error) -> Vec<String> {
    let mut said = vec![err.to_string()];
    let mut out = Vec::new();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if text.trim().is_empty() || said.iter().any(|s| s.contains(text.trim())) || sdk_noise(&text) {
            continue;
        }
        said.push(text.clone());
        out.push(text);
    }
    out
}

/// The AWS SDK's own layers under an error already said in our words: its kinds (`service error`, `dispatch
/// failure`, `unhandled error (NoSuchBucket)`) and its debug dumps, which tell the reader nothing more.
fn sdk_noise(text: &str) -> bool {
    let t = text.trim();
    matches!(
        t,
        "service error"
            | "dispatch failure"
            | "response error"
            | "timeout"
            | "io error"
            | "construction failure"
    ) || t.starts_with("unhandled error")
        || (t.contains(" { ") && t.ends_with('}'))
}

/// The `[aws] log_group` of the command's job file, if the command names a valid one (errors in the file are
/// reported by the command itself).
fn job_log_group(command: &Command) -> Option<String> {
    let job = match command {
        Command::Run(a) => &a.job,
        Command::Backfill(a) => &a.job,
        Command::Replay(a) => &a.job,
        Command::Migrate(a) => &a.job,
        Command::Doctor(a) => &a.job,
        _ => return None,
    };
    commands::job::load_spec(job).ok()?.config.aws.log_group
}

#[cfg(test)]
mod tests {
    //! deploy/compute.yaml against the binary: every task's command parses as this CLI parses it, names a job
    //! file that validates, and every schedule is the expression `s3shift schedule --print eventbridge` prints.

    use super::*;
    use s3shift_testkit::repo::manifest_dir;

    #[test]
    fn jobs_dir_before_the_subcommand_moves_after_it() {
        let os = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            jobs_dir_before_subcommand(os(&["s3shift", "--jobs-dir", "/j", "run", "photos"])),
            os(&["s3shift", "run", "photos", "--jobs-dir", "/j"])
        );
        assert_eq!(
            jobs_dir_before_subcommand(os(&["s3shift", "--jobs-dir=/j", "status", "--json"])),
            os(&["s3shift", "status", "--json", "--jobs-dir", "/j"])
        );
        let given = os(&["s3shift", "run", "photos", "--jobs-dir", "/j"]);
        assert_eq!(jobs_dir_before_subcommand(given.clone()), given);
        assert_eq!(
            jobs_dir_before_subcommand(os(&[
                "s3shift",
                "--log-to-cloudwatch",
                "g",
                "--jobs-dir",
                "/j",
                "run",
                "p"
            ])),
            os(&[
                "s3shift",
                "--log-to-cloudwatch",
                "g",
                "run",
                "p",
                "--jobs-dir",
                "/j"
            ])
        );
        let cli = Cli::try_parse_from(jobs_dir_before_subcommand(os(&[
            "s3shift",
            "--jobs-dir",
            "/j",
            "run",
            "p",
        ])));
        assert!(cli.is_ok(), "{cli:?}");
    }

    #[test]
    fn causes_skip_what_an_error_above_already_said() {
        let err = anyhow::anyhow!("NoSuchBucket: The specified bucket does not exist")
            .context("s3://b: ListObjectsV2 failed: NoSuchBucket: The specified bucket does not exist")
            .context("run of job demo");
        assert_eq!(
            causes(&err),
            ["s3://b: ListObjectsV2 failed: NoSuchBucket: The specified bucket does not exist"]
        );
        let err = anyhow::anyhow!("connection refused")
            .context("dispatch failure")
            .context("run of job demo");
        assert_eq!(causes(&err), ["connection refused"]);
        let err = anyhow::anyhow!(
            "{}",
            "Error { code: \"NoSuchBucket\", s3_extended_request_id: \"x\" }"
        )
        .context("unhandled error (NoSuchBucket)")
        .context("service error")
        .context("s3://nope: the bucket does not exist (PutObject)")
        .context("run of job demo");
        assert_eq!(causes(&err), ["s3://nope: the bucket does not exist (PutObject)"]);
    }
    use clap::CommandFactory;

    const COMPUTE: &str = include_str!("../../../deploy/compute.yaml");
    /// The migrate task, deployed by an administrator apart from the pipeline's stacks (issue 28 item 4).
    const MIGRATE: &str = include_str!("../../../deploy/migrate.yaml");
    /// Every task definition's lines: the pipeline's tasks, then the migrate task.
    fn task_lines() -> impl Iterator<Item = &'static str> {
        COMPUTE.lines().chain(MIGRATE.lines())
    }
    const MONITORING: &str = include_str!("../../../deploy/monitoring.yaml");

    fn jobs_dir() -> std::path::PathBuf {
        manifest_dir().join("../../jobs")
    }

    #[test]
    fn task_commands_are_valid_s3shift_invocations() {
        let (mut runs, mut migrates) = (0, 0);
        for line in task_lines().map(str::trim) {
            let Some(array) = line.strip_prefix("Command: ") else {
                continue;
            };
            let args: Vec<String> = serde_json::from_str(array).unwrap_or_else(|e| panic!("{line}: {e}"));
            let cli = Cli::try_parse_from(std::iter::once("s3shift".to_owned()).chain(args.clone()))
                .unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
            let job = match cli.command {
                Command::Run(run) => {
                    runs += 1;
                    run.job
                }
                // The one-off migrate task (sql/ as the admin).
                Command::Migrate(m) => {
                    migrates += 1;
                    m.job
                }
                _ => panic!("{args:?} is neither `run` nor `migrate`"),
            };
            let path = s3shift_jobs::resolve_job(&jobs_dir(), &job.job);
            s3shift_jobs::load_job(&path).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
        assert_eq!(
            runs, 6,
            "per shipped job: the scheduled run, and the --follow and --scan tasks of EventIngestion=on"
        );
        assert_eq!(migrates, 1, "deploy/migrate.yaml's task");
    }

    /// Every `Name`/`Value` pair under a container's `Environment:` in deploy/compute.yaml and
    /// deploy/migrate.yaml, with the command
    /// and job its task runs: ("run api-images", name, value as written).
    fn task_environment() -> Vec<(String, String, String)> {
        let mut pairs = Vec::new();
        let mut block: Option<usize> = None;
        let mut name: Option<String> = None;
        let mut job = String::new();
        for line in task_lines() {
            let indent = line.len() - line.trim_start().len();
            let text = line.trim();
            if let Some(array) = text.strip_prefix("Command: ") {
                let args: Vec<String> = serde_json::from_str(array).unwrap_or_else(|e| panic!("{line}: {e}"));
                job = args.join(" ");
            }
            if text == "Environment:" {
                block = Some(indent);
                continue;
            }
            if block.is_some_and(|b| indent <= b && !text.is_empty()) {
                block = None;
            }
            if block.is_none() {
                continue;
            }
            if let Some(n) = text.strip_prefix("- Name: ") {
                name = Some(n.trim_matches('"').to_owned());
            } else if let Some(v) = text.strip_prefix("Value: ") {
                let n = name
                    .take()
                    .unwrap_or_else(|| panic!("Value without a Name: {line}"));
                pairs.push((job.clone(), n, v.trim_matches('"').to_owned()));
            }
        }
        pairs
    }

    /// Whether the binary reads `name` and accepts `value` in it when it runs `job`: through clap (the option
    /// that names the variable, given `value` as its argument on a `run` command line, and then the job file
    /// validated with it) or the log format. A value imported from another stack (`!ImportValue`) is resolved
    /// and checked against the stacks by tests/deploy/test_task_environment.py; here the variable must be one
    /// the binary reads.
    fn accepts(task: &str, name: &str, value: &str) -> Result<(), String> {
        let (command, job) = task.split_once(' ').unwrap_or(("run", task));
        if name == s3shift_telemetry::LOG_FORMAT_VAR {
            return value
                .parse::<s3shift_telemetry::LogFormat>()
                .map(drop)
                .map_err(|e| e.to_string());
        }
        let root = Cli::command();
        let sub = root
            .find_subcommand(command)
            .ok_or_else(|| format!("the CLI has no {command} command"))?;
        let arg = root
            .get_arguments()
            .chain(sub.get_arguments())
            .find(|a| a.get_env().is_some_and(|e| e == name))
            .ok_or_else(|| format!("s3shift does not read {name}"))?;
        let long = arg
            .get_long()
            .ok_or_else(|| format!("{name} belongs to an option without a long name"))?;
        if value.starts_with('!') {
            return Ok(());
        }
        let cli = Cli::try_parse_from(["s3shift", command, job, &format!("--{long}"), value])
            .map_err(|e| e.to_string())?;
        let job = match cli.command {
            Command::Run(run) => run.job,
            Command::Migrate(m) => m.job,
            _ => return Err(format!("not a run or a migrate: {command}")),
        };
        let path = s3shift_jobs::resolve_job(&jobs_dir(), &job.job);
        s3shift_jobs::load_job_with(&path, &job.deploy.overrides())
            .map(drop)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn task_environment_is_what_the_binary_reads() {
        let pairs = task_environment();
        for var in [
            "S3SHIFT_LOG_FORMAT",
            "S3SHIFT_SOURCE_BUCKET",
            "S3SHIFT_STAGING_BUCKET",
            "S3SHIFT_WORKGROUP",
            "S3SHIFT_DATABASE",
            "S3SHIFT_COPY_IAM_ROLE",
        ] {
            // Each job has three run tasks: the scheduled run, and with EventIngestion=on the `--follow` service
            // and the `--scan` reconciliation.
            assert_eq!(
                pairs
                    .iter()
                    .filter(|(task, n, _)| n == var && task.starts_with("run "))
                    .count(),
                6,
                "each job's run tasks set {var}: {pairs:?}"
            );
        }
        let queue_tasks: Vec<&String> = pairs
            .iter()
            .filter(|(_, n, _)| n == "S3SHIFT_QUEUE_URL")
            .map(|(task, _, _)| task)
            .collect();
        assert_eq!(queue_tasks.len(), 4, "{pairs:?}");
        assert!(
            pairs
                .iter()
                .any(|(task, n, _)| task.starts_with("migrate ") && n == "S3SHIFT_ADMIN_SECRET_ARN"),
            "the migrate task names the admin secret: {pairs:?}"
        );
        assert!(
            queue_tasks
                .iter()
                .all(|t| t.contains(" --follow") || t.contains(" --scan")),
            "only the event tasks name the queue: {queue_tasks:?}"
        );
        for (job, name, value) in &pairs {
            accepts(job, name, value)
                .unwrap_or_else(|e| panic!("deploy/, task of {job}: {name}={value}: {e}"));
        }
        // The check itself refuses what it must.
        assert!(accepts("api-images", "S3SHIFT_LOG_FORMAT", "xml").is_err());
        assert!(accepts("api-images", "S3SHIFT_NO_SUCH_SETTING", "1").is_err());
        assert!(accepts("api-images", "S3SHIFT_JOBS_DIR", "/etc/s3shift/jobs").is_ok());
        assert!(accepts("api-images", "S3SHIFT_SOURCE_BUCKET", "Not_A_Bucket").is_err());
        assert!(accepts("api-images", "S3SHIFT_NO_SUCH_SETTING", "!ImportValue").is_err());
        assert!(accepts("api-images", "S3SHIFT_SOURCE_BUCKET", "prod-uploads").is_ok());
    }

    #[test]
    fn schedules_match_the_job_files() {
        // The job's schedule, and with EventIngestion=on its reconciliation scan's (a parameter's default).
        let default_of = |parameter: &str| {
            let mut lines = COMPUTE
                .lines()
                .map(str::trim)
                .skip_while(|l| *l != format!("{parameter}:"));
            lines
                .find_map(|l| l.strip_prefix("Default: "))
                .unwrap_or_else(|| panic!("no default for {parameter}"))
                .trim_matches('"')
                .to_owned()
        };
        let mut name = None;
        let mut seen = 0;
        for line in COMPUTE.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("Name: !Sub \"${Environment}-s3shift-") {
                name = Some(n.trim_end_matches('"').to_owned());
            }
            let Some(expr) = line.strip_prefix("ScheduleExpression: ") else {
                continue;
            };
            let schedule = name.clone().unwrap_or_else(|| panic!("no Name before {line}"));
            let (job, reconcile) = match schedule.strip_suffix("-reconcile") {
                Some(job) => (job.to_owned(), true),
                None => (schedule.clone(), false),
            };
            // The deployment names the queue, which turns the job's [source.events] settings on.
            let queue = s3shift_jobs::Overrides {
                queue_url: Some(s3shift_jobs::Override {
                    value: "https://sqs.eu-west-1.amazonaws.com/123456789012/q".into(),
                    from: "S3SHIFT_QUEUE_URL".into(),
                }),
                ..s3shift_jobs::Overrides::default()
            };
            let spec = s3shift_jobs::load_job_with(&jobs_dir().join(format!("{job}.toml")), &queue)
                .unwrap_or_else(|e| panic!("{job}: {e}"));
            let cron = if reconcile {
                spec.config.source.events.map(|e| e.reconcile_cron)
            } else {
                Some(spec.config.schedule.cron)
            };
            let cron = cron.unwrap_or_else(|| panic!("{job} has no [source.events] reconcile_cron"));
            let want = s3shift_jobs::schedule::eventbridge_expression(&cron)
                .unwrap_or_else(|e| panic!("{job}: {e}"));
            let got = match expr.strip_prefix("!Ref ") {
                Some(parameter) => default_of(parameter),
                None => expr.trim_matches('"').to_owned(),
            };
            assert_eq!(got, want, "deploy/compute.yaml schedule {schedule}");
            seen += 1;
        }
        assert_eq!(
            seen, 4,
            "per shipped job: its schedule and its reconciliation scan's"
        );
    }

    /// deploy/monitoring.yaml alarms on metrics that runs emit: the same namespace, dimension and names.
    #[test]
    fn alarms_watch_metrics_the_binary_emits() {
        let summary = s3shift_jobs::RunSummary {
            job: "api-images".into(),
            min_slack_hours: Some(1.0),
            ..s3shift_jobs::RunSummary::default()
        };
        let emitted = commands::run::run_metrics(&summary);
        let names: Vec<&str> = emitted.metrics.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(emitted.dimensions, [("job".to_owned(), "api-images".to_owned())]);
        let (mut alarms, mut queue_alarms) = (0, 0);
        let mut namespace = "";
        for line in MONITORING.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("Namespace: ") {
                namespace = n;
                // Besides the runs' metrics, only SQS's own depth of the event dead-letter queues.
                assert!(
                    n == emitted.namespace || n == "AWS/SQS",
                    "deploy/monitoring.yaml: {line}"
                );
            }
            if let Some(metric) = line.strip_prefix("MetricName: ") {
                if namespace == "AWS/SQS" {
                    assert_eq!(metric, "ApproximateNumberOfMessagesVisible");
                    queue_alarms += 1;
                    continue;
                }
                assert!(
                    names.contains(&metric),
                    "runs emit no {metric}; they emit {names:?}"
                );
                alarms += 1;
            }
        }
        assert_eq!(alarms, 4, "two alarms per shipped job");
        assert!(queue_alarms <= 2, "at most one dead-letter alarm per shipped job");
        assert_eq!(MONITORING.matches("- Name: job\n").count(), alarms);
    }
}
