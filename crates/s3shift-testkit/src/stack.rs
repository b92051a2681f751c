//! The embedded stack a test runs the binary against.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use bytes::Bytes;
use s3shift_local::LocalStack;
use s3shift_local::identity::Identity;
use s3shift_local::redshift::LocalRedshiftConfig;
use s3shift_local::s3::{FaultConfig, LocalS3Config};
use s3shift_redshift::{DataApi, PollConfig, Target, Value};
use s3shift_s3::{S3Store, StoreConfig};

/// A job file reading `bucket` under `prefixes`, staging to `staging`, loading through `stack`.
pub fn job_toml(
    stack: &LocalStack,
    name: &str,
    bucket: &str,
    staging: &str,
    prefixes: &[&str],
    limits: &str,
) -> String {
    let prefixes = prefixes
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"name = "{name}"
[source]
name = "api"
bucket = "{bucket}"
prefixes = [{prefixes}]
settle_seconds = 0
[staging]
bucket = "{staging}"
prefix = "staged"
[warehouse]
workgroup = "local"
database = "dev"
copy_iam_role = "default"
[schedule]
cron = "0 * * * * *"
[limits]
{limits}
[aws]
region = "us-east-1"
s3_endpoint_url = "{}"
redshift_data_endpoint_url = "{rs}"
redshift_serverless_endpoint_url = "{rs}"
"#,
        stack.s3.endpoint_url(),
        rs = stack.redshift.endpoint_url()
    )
}

/// A Data API handle on the stack's warehouse as its administrator: the namespace's admin user, through the
/// admin secret (the user `migrate` runs as, so tables it creates get the same default privileges), polling fast.
pub fn data_api(stack: &LocalStack) -> DataApi {
    data_api_as(stack, &stack.access_key, &stack.secret_key)
        .with_secret(s3shift_local::identity::ADMIN_SECRET_ARN)
}

/// A Data API handle on the stack's warehouse as the identity of that short name (`loader`, `analyst`,
/// `nobody`, ...; see `s3shift_local::identity::standard`).
pub fn data_api_of(stack: &LocalStack, identity: &str) -> DataApi {
    let who = named(stack, identity);
    data_api_as(stack, &who.access_key, &who.secret_key)
}

fn named<'a>(stack: &'a LocalStack, identity: &str) -> &'a Identity {
    s3shift_local::identity::named(&stack.identities, identity)
        .unwrap_or_else(|| panic!("the stand-ins have no identity {identity}"))
}

fn data_api_as(stack: &LocalStack, key: &str, secret: &str) -> DataApi {
    let client = aws_sdk_redshiftdata::Client::from_conf(
        aws_sdk_redshiftdata::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(stack.redshift.endpoint_url())
            .credentials_provider(Credentials::new(key, secret, None, None, "t"))
            .build(),
    );
    DataApi::new(
        client,
        Target::Serverless {
            workgroup: "local".into(),
        },
        "dev".into(),
        PollConfig {
            first: Duration::from_millis(2),
            ..PollConfig::default()
        },
    )
}

/// `program` (the s3shift binary, or a wrapper such as /usr/bin/time with the binary as first argument) with
/// only PATH, the credentials of the `loader` identity (a job's task role, as deployed) and warn-level logs in
/// its environment, so that nothing from the caller's AWS setup leaks in. Logs are text on stderr (a test that
/// wants JSON lines sets `S3SHIFT_LOG_FORMAT`).
pub fn command(program: &Path, stack: &LocalStack) -> Command {
    command_as(program, stack, "loader")
}

/// [`command`] with the credentials of the identity of that short name.
pub fn command_as(program: &Path, stack: &LocalStack, identity: &str) -> Command {
    let who = named(stack, identity);
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", &who.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &who.secret_key)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("S3SHIFT_LOG", "warn")
        .env("S3SHIFT_LOG_FORMAT", "text");
    cmd
}

/// Runs `cmd` with `env` added, off the runtime's threads (the stand-ins it talks to run on them).
async fn output(mut cmd: Command, env: &[(&str, String)]) -> Output {
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// The environment variable that makes `s3shift migrate` run as the stand-in's admin secret.
pub fn admin_secret() -> (&'static str, String) {
    (
        "S3SHIFT_ADMIN_SECRET_ARN",
        s3shift_local::identity::ADMIN_SECRET_ARN.to_owned(),
    )
}

/// The stand-ins over a temporary folder, with buckets `uploads` (the source, prefixes `a/` and `b/`) and
/// `stage`, a job `e2e` at `<dir>/e2e.toml`, and the binary to run against them. Dropping it stops the servers
/// and removes the folder.
pub struct Stack {
    /// The temporary folder (S3 under `s3/`, the warehouse at `warehouse.duckdb`, the job file).
    pub dir: tempfile::TempDir,
    /// The servers.
    pub local: LocalStack,
    /// An S3 client on them.
    pub store: S3Store,
    /// A Data API client on them, as the administrator (with all rights).
    pub api: DataApi,
    /// The job file.
    pub job: PathBuf,
    bin: PathBuf,
}

impl Stack {
    /// A stack for `bin` (the test's `env!("CARGO_BIN_EXE_s3shift")`); `extra_limits` go under `[limits]` of the
    /// job (`concurrency = 8` unless they set it).
    pub async fn start(bin: &str, extra_limits: &str) -> Self {
        Self::start_with(bin, extra_limits, FaultConfig::default(), |_| {}).await
    }

    /// [`Stack::start`] with faults injected into S3.
    pub async fn start_with_faults(bin: &str, extra_limits: &str, faults: FaultConfig) -> Self {
        Self::start_with(bin, extra_limits, faults, |_| {}).await
    }

    /// [`Stack::start`] with faults and a changed warehouse configuration.
    pub async fn start_with(
        bin: &str,
        extra_limits: &str,
        faults: FaultConfig,
        redshift: impl FnOnce(&mut LocalRedshiftConfig),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut s3 = LocalS3Config::new(dir.path().join("s3"));
        s3.faults = faults;
        let mut rs = LocalRedshiftConfig::new(dir.path().join("warehouse.duckdb"));
        redshift(&mut rs);
        let local = LocalStack::start(s3, rs).await.unwrap();
        let store = S3Store::new(local.s3_client(), StoreConfig::default());
        store.ensure_bucket("uploads").await.unwrap();
        // The ingestion bucket's 7-day rule, as deploy/ gives it: a scan's ledger window is bounded by it.
        store.put_expiry_rule("uploads", 7).await.unwrap();
        store.ensure_bucket("stage").await.unwrap();
        let api = data_api(&local);
        let job = dir.path().join("e2e.toml");
        let limits = if extra_limits.contains("concurrency") {
            extra_limits.to_owned()
        } else {
            format!("concurrency = 8\n{extra_limits}")
        };
        let text = job_toml(&local, "e2e", "uploads", "stage", &["a/", "b/"], &limits);
        std::fs::write(&job, text).unwrap();
        Self {
            dir,
            local,
            store,
            api,
            job,
            bin: PathBuf::from(bin),
        }
    }

    /// Writes another job `name` over the stack's stand-ins (source `uploads` under `prefixes`, staging `stage`,
    /// `limits` under `[limits]`) to `<dir>/<name>.toml`; returns its path.
    pub fn write_job(&self, name: &str, prefixes: &[&str], limits: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            job_toml(&self.local, name, "uploads", "stage", prefixes, limits),
        )
        .unwrap();
        path
    }

    /// The binary with a clean environment, running `args` on the job file (appended), in the stack's folder.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = command(&self.bin, &self.local);
        cmd.args(args).arg(&self.job).current_dir(self.dir.path());
        cmd
    }

    /// The binary with a clean environment, running exactly `args` (no job file appended), in the stack's folder.
    pub fn bare_command(&self, args: &[&str]) -> Command {
        let mut cmd = command(&self.bin, &self.local);
        cmd.args(args).current_dir(self.dir.path());
        cmd
    }

    /// [`Stack::bare_command`] as the identity of that short name.
    pub fn bare_command_as(&self, identity: &str, args: &[&str]) -> Command {
        let mut cmd = command_as(&self.bin, &self.local, identity);
        cmd.args(args).current_dir(self.dir.path());
        cmd
    }

    /// Runs the binary with `args` (the job file appended) and the given extra environment, as the `loader`.
    pub async fn s3shift(&self, args: &[&str], env: &[(&str, String)]) -> Output {
        self.s3shift_as("loader", args, env).await
    }

    /// [`Stack::s3shift`] as the identity of that short name.
    pub async fn s3shift_as(&self, identity: &str, args: &[&str], env: &[(&str, String)]) -> Output {
        let mut cmd = self.bare_command_as(identity, args);
        cmd.arg(&self.job);
        output(cmd, env).await
    }

    /// Applies the migrations through the binary, as a deployment does: the `migrator` identity with the
    /// namespace's admin secret.
    pub async fn migrate(&self) {
        let out = self.s3shift_as("migrator", &["migrate"], &[admin_secret()]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The environment that points a shipped job (the repository's jobs/) at the stand-ins instead of its
    /// example names, reading `source_bucket` and staging to `stage`.
    pub fn shipped_job_env(&self, source_bucket: &str) -> Vec<(&'static str, String)> {
        let rs = self.local.redshift.endpoint_url();
        vec![
            (
                "S3SHIFT_JOBS_DIR",
                crate::repo::root().join("jobs").display().to_string(),
            ),
            ("S3SHIFT_SOURCE_BUCKET", source_bucket.to_owned()),
            ("S3SHIFT_STAGING_BUCKET", "stage".to_owned()),
            ("S3SHIFT_WORKGROUP", "local".to_owned()),
            ("S3SHIFT_DATABASE", "dev".to_owned()),
            ("S3SHIFT_COPY_IAM_ROLE", "default".to_owned()),
            ("AWS_ENDPOINT_URL_S3", self.local.s3.endpoint_url()),
            ("AWS_ENDPOINT_URL_REDSHIFT_DATA", rs.clone()),
            ("AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS", rs),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }

    /// Uploads a JPEG to each of `keys` in `bucket` (created if missing) and makes them an hour old, past the
    /// shipped jobs' settle time.
    pub async fn put_settled(&self, bucket: &str, keys: &[&str]) {
        self.store.ensure_bucket(bucket).await.unwrap();
        self.store.put_expiry_rule(bucket, 7).await.unwrap();
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for key in keys {
            self.store
                .put(bucket, key, Bytes::from(crate::repo::a_jpeg()), "image/jpeg")
                .await
                .unwrap();
            let file = self.dir.path().join("s3/buckets").join(bucket).join(key);
            std::fs::File::options()
                .write(true)
                .open(&file)
                .unwrap()
                .set_modified(an_hour_ago)
                .unwrap();
        }
    }

    /// Runs exactly `args` (no job file appended) as the identity of that short name, with `env` added.
    pub async fn run_as(&self, identity: &str, args: &[&str], env: &[(&str, String)]) -> Output {
        output(self.bare_command_as(identity, args), env).await
    }

    /// Uploads a distinct JPEG (the sample image with the key appended, so each has its own ETag) to each of
    /// `uploads/<key>`, `in_flight` at a time.
    pub async fn put_distinct_jpegs(&self, keys: Vec<String>, in_flight: usize) {
        let jpeg = Bytes::from(crate::repo::a_jpeg());
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for key in keys {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let (store, jpeg) = (self.store.clone(), jpeg.clone());
            tasks.spawn(async move {
                let mut body = jpeg.to_vec();
                body.extend_from_slice(key.as_bytes());
                store
                    .put("uploads", &key, Bytes::from(body), "image/jpeg")
                    .await
                    .unwrap();
                drop(permit);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }

    /// Uploads `body` to `uploads/<key>`.
    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.store
            .put("uploads", key, Bytes::from(body), "image/jpeg")
            .await
            .unwrap();
    }

    /// The rows of `sql`.
    pub async fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        self.api.query(sql, &[]).await.unwrap().rows
    }

    /// The integer in the first column of the first row of `sql`.
    pub async fn count(&self, sql: &str) -> i64 {
        self.query(sql).await[0][0].as_i64().unwrap()
    }

    /// An SQS client on the stand-ins, as the administrator.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(self.local.sqs.endpoint_url())
                .credentials_provider(Credentials::new(
                    &self.local.access_key,
                    &self.local.secret_key,
                    None,
                    None,
                    "t",
                ))
                .build(),
        )
    }

    /// Puts the job in event mode, as deploy/ does on AWS: a queue `uploads-events` whose dead-letter queue
    /// `uploads-events-dlq` takes a message after `max_receives` receives, the `uploads` bucket notifying the
    /// queue of every `s3:ObjectCreated:*`, and a `[source.events]` table with `events_extra` lines in the job
    /// file. Returns the queue's URL.
    pub async fn enable_events(&self, max_receives: u32, events_extra: &str) -> String {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        use aws_sdk_sqs::types::QueueAttributeName;
        let sqs = self.sqs();
        let dlq = sqs
            .create_queue()
            .queue_name("uploads-events-dlq")
            .send()
            .await
            .unwrap();
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(dlq.queue_url().unwrap())
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receives}"}}"#);
        let queue = sqs
            .create_queue()
            .queue_name("uploads-events")
            .attributes(QueueAttributeName::RedrivePolicy, redrive)
            .send()
            .await
            .unwrap();
        let url = queue.queue_url().unwrap().to_owned();
        let arn = dlq_arn.replace("uploads-events-dlq", "uploads-events");
        self.local
            .s3_client()
            .put_bucket_notification_configuration()
            .bucket("uploads")
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .id("s3shift")
                            .queue_arn(arn)
                            .events(Event::from("s3:ObjectCreated:*"))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let mut text = std::fs::read_to_string(&self.job).unwrap();
        text.push_str(&format!(
            "sqs_endpoint_url = \"{}\"\n[source.events]\nqueue_url = \"{url}\"\nreconcile_cron = \"0 30 * * * *\"\n{events_extra}\n",
            self.local.sqs.endpoint_url()
        ));
        std::fs::write(&self.job, text).unwrap();
        url
    }

    /// Messages (visible, in flight) in the queue at `url`.
    pub async fn queue_depth(&self, url: &str) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .sqs()
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let attrs = out.attributes().unwrap();
        let n = |a: A| attrs.get(&a).map_or(0, |v| v.parse().unwrap());
        (
            n(A::ApproximateNumberOfMessages),
            n(A::ApproximateNumberOfMessagesNotVisible),
        )
    }

    /// Every object of the source has exactly one row in images and in the ledger, `expected` in all.
    pub async fn assert_exactly_once(&self, expected: i64) {
        assert_eq!(self.count("SELECT COUNT(*) FROM s3shift.images").await, expected);
        let distinct = self
            .count("SELECT COUNT(*) FROM (SELECT DISTINCT bucket, object_key, etag FROM s3shift.images) AS d")
            .await;
        assert_eq!(distinct, expected, "no object has two rows");
        assert_eq!(
            self.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
            expected
        );
    }
}
