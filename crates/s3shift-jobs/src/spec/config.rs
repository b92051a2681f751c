//! The job file's format, table by table: serde structs with `deny_unknown_fields`, documented fields and their
//! defaults. Validation is in the parent module.

use std::num::NonZeroUsize;

use serde::Deserialize;

/// A job file as written. See `jobs/api-images.toml` for a documented example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Job name: `[a-z][a-z0-9-]*`, at most 48 bytes. Names the staging folder and the runs.
    pub name: String,
    /// One line saying what the job is for.
    #[serde(default)]
    pub description: String,
    /// What is read.
    pub source: SourceConfig,
    /// Where Parquet files and run state are written.
    pub staging: StagingConfig,
    /// Where rows are loaded.
    pub warehouse: WarehouseConfig,
    /// When the job runs.
    pub schedule: ScheduleConfig,
    /// Bounds of one run.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Warnings.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// AWS settings beyond the standard chain.
    #[serde(default)]
    pub aws: AwsConfig,
}

/// The ingestion bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Source name written to every row (`api`, `kafka`): `[a-z][a-z0-9-]*`.
    pub name: String,
    /// Bucket name.
    pub bucket: String,
    /// Key prefixes to list, in parallel (default: the whole bucket).
    #[serde(default = "default_prefixes")]
    pub prefixes: Vec<String>,
    /// Objects younger than this are left for the next run (an upload may still be settling).
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u64,
    /// Days objects are kept, assumed when no lifecycle rule of the bucket expires everything under the job's
    /// prefixes or the rules cannot be read (0: none, and a scan then refuses to run rather than read the
    /// whole ledger).
    #[serde(default)]
    pub assume_lifecycle_days: u32,
    /// Event mode: plan from the bucket's `ObjectCreated` notifications in an SQS queue instead of a listing.
    #[serde(default)]
    pub events: Option<EventsConfig>,
}

/// `[source.events]`: the queue that receives the source bucket's `ObjectCreated` notifications (sent by S3
/// directly), and how a run reads it. See `s3shift_jobs::events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// The queue's URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`). Without one (the shipped job
    /// files leave it to the deployment: `S3SHIFT_QUEUE_URL` or `--queue-url`), the table's settings wait and the
    /// job runs in scan mode.
    #[serde(default)]
    pub queue_url: String,
    /// When the reconciliation scan runs (`s3shift run <job> --scan`): a cron expression with seconds, UTC. It
    /// loads what no event brought before it expires.
    pub reconcile_cron: String,
    /// The reconciliation scan leaves objects younger than this to their events (late events are normal: S3
    /// says an event "can sometimes take a minute or longer"); what it loads older than this, events missed.
    #[serde(default = "default_reconcile_grace_seconds")]
    pub reconcile_grace_seconds: u64,
    /// Most messages one scheduled event run receives (it stops earlier when the queue is empty).
    #[serde(default = "default_max_messages_per_run")]
    pub max_messages_per_run: u64,
    /// How long received messages stay hidden from other receivers: longer than a run (or a `--follow` batch
    /// plus its load) takes, or they are delivered again while loading (harmless, but wasted); more than
    /// `max_latency_seconds`. A run killed before it deleted its messages leaves them hidden this long.
    #[serde(default = "default_visibility_timeout_seconds")]
    pub visibility_timeout_seconds: u32,
    /// Receives in flight at once in a scheduled event run.
    #[serde(default = "default_receivers")]
    pub receivers: u32,
    /// `--follow`: load when the oldest waiting object is this old. Each load is billed at least 60 s of the
    /// workgroup's base capacity, so this sets a follower's cost: the default, 900 s, keeps both shipped jobs'
    /// followers with uploads all day under deploy/'s default usage limit (`MonthlyRpuHours` 1,500: 992
    /// RPU-hours in a 31-day month at 8 base RPUs; deploy/README); 60 s costs about twelve times as much.
    #[serde(default = "default_max_latency_seconds")]
    pub max_latency_seconds: u64,
    /// `--follow`: load when this many objects wait.
    #[serde(default = "default_max_batch")]
    pub max_batch: u64,
    /// Event consumers of the job that may load at once (`--follow` tasks of one service, scheduled event runs):
    /// each takes a lease slot of its own, with its own pending load, so a crashed consumer's load is finished
    /// by whichever consumer takes its slot next. Their loads stay exactly once (see `run/load.rs`). With more
    /// than one, consumers take slots 1.. first and slot 0 last, leaving slot 0 to the reconciliation scan,
    /// backfills and replays, which always use it.
    #[serde(default = "default_consumers")]
    pub consumers: u32,
}

const fn default_reconcile_grace_seconds() -> u64 {
    3600
}
const fn default_max_messages_per_run() -> u64 {
    100_000
}
const fn default_visibility_timeout_seconds() -> u32 {
    1800
}
const fn default_receivers() -> u32 {
    8
}
const fn default_max_latency_seconds() -> u64 {
    900
}
const fn default_max_batch() -> u64 {
    5000
}
const fn default_consumers() -> u32 {
    1
}

fn default_prefixes() -> Vec<String> {
    vec![String::new()]
}

const fn default_settle_seconds() -> u64 {
    60
}

/// The staging location.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingConfig {
    /// Staging bucket.
    pub bucket: String,
    /// Key prefix: files go to `<prefix>/<job>/<run_id>/`.
    #[serde(default = "default_staging_prefix")]
    pub prefix: String,
}

fn default_staging_prefix() -> String {
    "s3shift".into()
}

/// The Redshift side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseConfig {
    /// Redshift Serverless workgroup (exclusive with `cluster_identifier`).
    #[serde(default)]
    pub workgroup: Option<String>,
    /// Provisioned cluster identifier (needs `db_user`).
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    /// Database user for a provisioned cluster.
    #[serde(default)]
    pub db_user: Option<String>,
    /// Database.
    pub database: String,
    /// Role COPY reads the staging bucket with: `default` (the namespace's default role) or an ARN.
    pub copy_iam_role: String,
    /// Curated table (`schema.table`).
    #[serde(default = "default_table")]
    pub table: String,
}

fn default_table() -> String {
    "s3shift.images".into()
}

/// When the job runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Cron expression with seconds (`sec min hour day-of-month month day-of-week [year]`), UTC.
    pub cron: String,
}

/// Bounds of one run.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Ranged GETs in flight.
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
    /// First read of each object.
    #[serde(default = "default_range_bytes")]
    pub range_bytes: u64,
    /// Each further read when the parser needs more.
    #[serde(default = "default_grow_bytes")]
    pub grow_bytes: u64,
    /// Most bytes read of one object; past it the object is `truncated`.
    #[serde(default = "default_max_read_bytes")]
    pub max_read_bytes: u64,
    /// Most objects one run loads (the ones closest to expiry first).
    #[serde(default = "default_max_objects")]
    pub max_objects_per_run: u64,
    /// Most source bytes (sum of object sizes) one run plans.
    #[serde(default = "default_max_bytes")]
    pub max_bytes_per_run: u64,
    /// A staged Parquet file is closed at this size.
    #[serde(default = "default_parquet_file_bytes")]
    pub parquet_file_bytes: u64,
    /// Most bytes of object keys, ETags and version ids that one statement reading the ledger returns: the
    /// Data API fails a statement whose result set exceeds its limit (500 MB), so the ledger window is read in
    /// time slices of at most this much.
    #[serde(default = "default_ledger_read_bytes")]
    pub ledger_read_bytes: u64,
    /// How long the job's lease lasts without renewal (its holder renews it every third of this). A run that
    /// dies holding it blocks the job's next runs for at most this long; a holder that stalls longer loses it
    /// and its load is fenced off (see `lease`).
    #[serde(default = "default_lease_ttl_seconds")]
    pub lease_ttl_seconds: u64,
    /// Ask S3 for each object's checksum with one HeadObject more per object (`ChecksumMode=ENABLED`): a ranged
    /// GetObject returns no checksum of the whole object. Off by default: it adds a GET-class request per object.
    #[serde(default)]
    pub checksums: bool,
}

const fn default_concurrency() -> NonZeroUsize {
    NonZeroUsize::MIN.saturating_add(63)
}
const fn default_range_bytes() -> u64 {
    128 * 1024
}
const fn default_grow_bytes() -> u64 {
    64 * 1024
}
const fn default_max_read_bytes() -> u64 {
    1024 * 1024
}
const fn default_max_objects() -> u64 {
    1_000_000
}
const fn default_max_bytes() -> u64 {
    10 * 1024 * 1024 * 1024 * 1024
}
const fn default_parquet_file_bytes() -> u64 {
    64 * 1024 * 1024
}
const fn default_ledger_read_bytes() -> u64 {
    64 * 1024 * 1024
}
const fn default_lease_ttl_seconds() -> u64 {
    900
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            range_bytes: default_range_bytes(),
            grow_bytes: default_grow_bytes(),
            max_read_bytes: default_max_read_bytes(),
            max_objects_per_run: default_max_objects(),
            max_bytes_per_run: default_max_bytes(),
            parquet_file_bytes: default_parquet_file_bytes(),
            ledger_read_bytes: default_ledger_read_bytes(),
            lease_ttl_seconds: default_lease_ttl_seconds(),
            checksums: false,
        }
    }
}

/// Warnings.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Warn when an object still unloaded after the run expires within this many hours.
    #[serde(default = "default_expiry_warning_hours")]
    pub expiry_warning_hours: u32,
}

const fn default_expiry_warning_hours() -> u32 {
    48
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            expiry_warning_hours: default_expiry_warning_hours(),
        }
    }
}

/// AWS settings beyond the standard chain (environment, profile, ECS task role).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Region (otherwise `AWS_REGION` / the profile).
    #[serde(default)]
    pub region: Option<String>,
    /// S3 endpoint (otherwise `AWS_ENDPOINT_URL_S3` / the SDK's default).
    #[serde(default)]
    pub s3_endpoint_url: Option<String>,
    /// Redshift Data API endpoint (otherwise `AWS_ENDPOINT_URL_REDSHIFT_DATA` / the SDK's default).
    #[serde(default)]
    pub redshift_data_endpoint_url: Option<String>,
    /// SQS endpoint, for event mode (otherwise `AWS_ENDPOINT_URL_SQS` / the SDK's default).
    #[serde(default)]
    pub sqs_endpoint_url: Option<String>,
    /// Redshift Serverless endpoint, for `doctor` (otherwise `AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS`).
    #[serde(default)]
    pub redshift_serverless_endpoint_url: Option<String>,
    /// Also ship this job's log events to this CloudWatch Logs group (as `--log-to-cloudwatch` does); for runs
    /// outside ECS, where no awslogs driver ships stdout.
    #[serde(default)]
    pub log_group: Option<String>,
}
