//! End to end: the real `s3shift` binary against the embedded S3 and Data API servers, which each test starts.
//!
//! Every object lands exactly once; a kill at any stage followed by a rerun converges; an object deleted or
//! replaced mid-run is recorded as such; a failing COPY leaves the tables untouched and names the object; a
//! drifted table is refused before anything is read; odd keys land intact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use s3shift_local::LocalStack;
use s3shift_local::redshift::LocalRedshiftConfig;
use s3shift_local::s3::{FaultConfig, LocalS3Config};
use s3shift_redshift::{DataApi, Value};
use s3shift_s3::{S3Store, StoreConfig};

const ODD_KEYS: &[&str] = &[
    "a/odd/it's a \"quoted\" name.jpg",
    "a/odd/with  spaces and\ttab.jpg",
    "a/odd/unicodé ✓ 画像.jpg",
    "a/odd/100% done %20 %.jpg",
    "a/odd/'); drop table s3shift.images; --.jpg",
    "b/odd/back\\slash:colon;semi.jpg",
];

mod support;

struct Stack {
    dir: tempfile::TempDir,
    local: LocalStack,
    store: S3Store,
    api: DataApi,
    job: PathBuf,
}

impl Stack {
    async fn start(extra_limits: &str) -> Self {
        Self::start_with_faults(extra_limits, FaultConfig::default()).await
    }

    async fn start_with_faults(extra_limits: &str, faults: FaultConfig) -> Self {
        Self::start_with(extra_limits, faults, |_| {}).await
    }

    async fn start_with(
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
        store.ensure_bucket("stage").await.unwrap();
        let api = support::data_api(&local);
        let job = dir.path().join("e2e.toml");
        let limits = if extra_limits.contains("concurrency") {
            extra_limits.to_owned()
        } else {
            format!("concurrency = 8\n{extra_limits}")
        };
        let text = support::job_toml(&local, "e2e", "uploads", "stage", &["a/", "b/"], &limits);
        std::fs::write(&job, text).unwrap();
        Self {
            dir,
            local,
            store,
            api,
            job,
        }
    }

    /// The binary with a clean environment, running `args` on the job file (appended).
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = support::command(Path::new(env!("CARGO_BIN_EXE_s3shift")), &self.local);
        cmd.args(args).arg(&self.job).current_dir(self.dir.path());
        cmd
    }

    /// Runs the binary with `args` (the job file appended) and the given extra environment.
    async fn s3shift(&self, args: &[&str], env: &[(&str, String)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    async fn migrate(&self) {
        let out = self.s3shift(&["migrate"], &[]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.store
            .put("uploads", key, Bytes::from(body), "image/jpeg")
            .await
            .unwrap();
    }

    async fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        self.api.query(sql, &[]).await.unwrap().rows
    }

    async fn count(&self, sql: &str) -> i64 {
        self.query(sql).await[0][0].as_i64().unwrap()
    }

    /// Every object of the source has exactly one row in images and in the ledger.
    async fn assert_exactly_once(&self, expected: i64) {
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fixtures() -> PathBuf {
    manifest_dir().join("../../tests/fixtures/images")
}

/// The fixture corpus: relative path to expected status.
fn manifest() -> BTreeMap<String, String> {
    std::fs::read_to_string(fixtures().join("MANIFEST.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect()
}

fn a_jpeg() -> Vec<u8> {
    std::fs::read(fixtures().join("jpeg/exif-canon.jpg"))
        .or_else(|_| {
            let m = manifest();
            let (p, _) = m
                .iter()
                .find(|(p, s)| p.starts_with("jpeg/") && *s == "ok")
                .unwrap();
            std::fs::read(fixtures().join(p))
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_lands_exactly_once_with_its_status_and_odd_keys_intact() {
    let stack = Stack::start("parquet_file_bytes = 65536").await;
    let corpus = manifest();
    for (n, (path, _)) in corpus.iter().enumerate() {
        let prefix = if n % 2 == 0 { "a" } else { "b" };
        stack
            .put(
                &format!("{prefix}/{path}"),
                std::fs::read(fixtures().join(path)).unwrap(),
            )
            .await;
    }
    let jpeg = a_jpeg();
    for key in ODD_KEYS {
        stack.put(key, jpeg.clone()).await;
    }
    let total = (corpus.len() + ODD_KEYS.len()) as i64;
    stack.migrate().await;

    let first = stack.s3shift(&["run"], &[]).await;
    assert_eq!(
        first.status.code(),
        Some(3),
        "quarantined objects make a partial run: {}",
        stderr(&first)
    );
    assert!(
        stdout(&first).contains(&format!("loaded {total}")),
        "{}",
        stdout(&first)
    );
    stack.assert_exactly_once(total).await;

    // Every fixture's status is the one the corpus manifest expects.
    let rows = stack.query("SELECT object_key, status FROM s3shift.images").await;
    let got: BTreeMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (n, (path, status)) in corpus.iter().enumerate() {
        let prefix = if n % 2 == 0 { "a" } else { "b" };
        assert_eq!(got.get(&format!("{prefix}/{path}")), Some(status), "{path}");
    }
    // Odd keys come back byte for byte, each parsed as the JPEG it is.
    for key in ODD_KEYS {
        let r = stack
            .api
            .query(
                "SELECT format, width FROM s3shift.images WHERE object_key = :k",
                &[("k", (*key).to_owned())],
            )
            .await
            .unwrap();
        assert_eq!(r.rows.len(), 1, "{key:?}");
        assert_eq!(r.rows[0][0].as_str(), Some("jpeg"), "{key:?}");
    }
    // One COPY, several files (a 64 KiB file limit), and a ledger row for the run.
    assert_eq!(stack.count("SELECT COUNT(*) FROM sys_load_history").await, 1);
    let staged = stack.store.list_prefix("stage", "staged/e2e/").await.unwrap();
    let parquet = staged.iter().filter(|o| o.key.ends_with(".parquet")).count();
    assert!(parquet >= 1);
    assert!(staged.iter().any(|o| o.key.ends_with("/manifest.json")));
    assert!(
        !staged.iter().any(|o| o.key.ends_with("pending-load.json")),
        "pointer removed"
    );
    let runs = stack
        .query("SELECT status, objects_staged FROM s3shift.runs")
        .await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0].as_str(), Some("partial"));
    assert_eq!(runs[0][1].as_i64(), Some(total));

    // The analyst views answer over what landed.
    let per_day = stack
        .count("SELECT SUM(images) FROM s3shift.images_per_day")
        .await;
    assert_eq!(per_day, total);
    assert!(stack.count("SELECT COUNT(*) FROM s3shift.camera_models").await > 0);
    assert!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.gps_tagged_images")
            .await
            > 0
    );
    let quarantined = corpus
        .values()
        .filter(|s| *s == "corrupt" || *s == "truncated" || *s == "empty")
        .count();
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.quarantined_objects")
            .await,
        quarantined as i64
    );

    // A second run finds nothing new and loads nothing twice.
    let second = stack.s3shift(&["run"], &[]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains(&format!("already loaded {total}")),
        "{}",
        stdout(&second)
    );
    stack.assert_exactly_once(total).await;
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM sys_load_history").await,
        1,
        "no second COPY"
    );
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status = 'empty'")
            .await,
        1
    );

    // A new upload is picked up by the next run, alone.
    stack.put("b/late.jpg", jpeg).await;
    let third = stack.s3shift(&["run", "--json"], &[]).await;
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let summary: serde_json::Value = serde_json::from_str(stdout(&third).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects_loaded"], 1);
    assert_eq!(summary["copy_statements"], 1);
    stack.assert_exactly_once(total + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_any_stage_then_a_rerun_converges_to_exactly_once() {
    let points = [
        "after-plan",
        "mid-extract",
        "after-stage",
        "after-pointer",
        "after-submit",
        "before-wait",
        "after-load",
        "after-report",
    ];
    let jpeg = a_jpeg();
    for point in points {
        eprintln!("failpoint {point}");
        let stack = Stack::start("").await;
        for i in 0..24 {
            let prefix = if i % 2 == 0 { "a" } else { "b" };
            let mut body = jpeg.clone();
            body.extend_from_slice(format!("{i}").as_bytes());
            stack.put(&format!("{prefix}/img-{i:03}.jpg"), body).await;
        }
        stack.migrate().await;
        let killed = stack
            .s3shift(&["run"], &[("S3SHIFT_FAILPOINT", point.to_owned())])
            .await;
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: killed by a signal; {}",
            stderr(&killed)
        );
        let rerun = stack.s3shift(&["run"], &[]).await;
        assert_eq!(rerun.status.code(), Some(0), "{point}: {}", stderr(&rerun));
        stack.assert_exactly_once(24).await;
        let again = stack.s3shift(&["run"], &[]).await;
        assert_eq!(again.status.code(), Some(0), "{point}: {}", stderr(&again));
        assert!(
            stdout(&again).contains("already loaded 24"),
            "{point}: {}",
            stdout(&again)
        );
        stack.assert_exactly_once(24).await;
        let finished = stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status IN ('finished', 'partial')")
            .await;
        assert_eq!(finished, 1, "{point}: exactly one run loaded the objects");
    }
}

/// Starts `s3shift run` paused at `point`; returns once it is there, with the release file to create.
async fn run_paused_at(stack: &Stack, point: &str) -> (tokio::task::JoinHandle<Output>, PathBuf) {
    let (child, release, _) = run_paused_at_with(stack, point, &[]).await;
    (child, release)
}

/// [`run_paused_at`] with extra arguments; also returns the process id.
async fn run_paused_at_with(
    stack: &Stack,
    point: &str,
    extra: &[&str],
) -> (tokio::task::JoinHandle<Output>, PathBuf, u32) {
    let release = stack.dir.path().join(format!("release-{point}"));
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    let mut cmd = stack.command(&args);
    cmd.env("S3SHIFT_FAILPOINT", point)
        .env("S3SHIFT_FAILPOINT_RELEASE", &release)
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
            return (child, release, pid);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the run never reached {point}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_deleted_or_replaced_between_list_and_read_are_recorded_not_lost() {
    let stack = Stack::start("").await;
    let jpeg = a_jpeg();
    for i in 0..10 {
        stack.put(&format!("a/img-{i}.jpg"), jpeg.clone()).await;
    }
    stack.migrate().await;
    let (child, release) = run_paused_at(&stack, "after-plan").await;
    stack.store.delete("uploads", "a/img-3.jpg").await.unwrap();
    let mut replaced = jpeg.clone();
    replaced.extend_from_slice(b"new version");
    stack.put("a/img-7.jpg", replaced).await;
    std::fs::write(&release, "go").unwrap();
    let out = child.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("vanished 2"), "{}", stdout(&out));
    let rows = stack
        .query("SELECT object_key, status, reason FROM s3shift.images WHERE status = 'vanished' ORDER BY 1")
        .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0].as_str(), Some("a/img-3.jpg"));
    assert!(rows[0][2].as_str().unwrap().contains("deleted"));
    assert_eq!(rows[1][0].as_str(), Some("a/img-7.jpg"));
    assert!(rows[1][2].as_str().unwrap().contains("replaced"));
    // The new version of img-7 is a new object version: the next run loads it as its own row.
    let next = stack.s3shift(&["run"], &[]).await;
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    let img7 = stack
        .query("SELECT status FROM s3shift.images WHERE object_key = 'a/img-7.jpg' ORDER BY 1")
        .await;
    assert_eq!(img7.len(), 2);
    assert_eq!(img7[0][0].as_str(), Some("ok"));
    assert_eq!(img7[1][0].as_str(), Some("vanished"));
    stack.assert_exactly_once(11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_copy_commits_nothing_names_the_object_and_a_rerun_recovers() {
    let stack = Stack::start("").await;
    let jpeg = a_jpeg();
    stack.put("a/short.jpg", jpeg.clone()).await;
    let long_key = format!("a/{}.jpg", "long-name-".repeat(5));
    stack.put(&long_key, jpeg).await;
    stack.migrate().await;
    let ddl = include_str!("../../../sql/0001_tables.sql");
    let images_ddl = |key_len: &str| {
        let start = ddl.find("CREATE TABLE IF NOT EXISTS s3shift.images").unwrap();
        let end = start + ddl[start..].find(';').unwrap();
        ddl[start..end].replace(
            "object_key VARCHAR(1024)",
            &format!("object_key VARCHAR({key_len})"),
        )
    };
    // The table narrows after the start-up check passed: the COPY itself must refuse the long key.
    let (child, release) = run_paused_at(&stack, "after-plan").await;
    stack.api.execute("DROP TABLE s3shift.images", &[]).await.unwrap();
    stack.api.execute(&images_ddl("20"), &[]).await.unwrap();
    std::fs::write(&release, "go").unwrap();
    let out = child.await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing was committed"), "{err}");
    assert!(err.contains("String length exceeds DDL length"), "{err}");
    assert!(err.contains(&long_key), "the load error names the object: {err}");
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.images").await, 0);
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
        0
    );
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.runs").await, 0);

    // Fix the table; the rerun finishes the pending load from the staged files.
    stack.api.execute("DROP TABLE s3shift.images", &[]).await.unwrap();
    stack.api.execute(&images_ddl("1024"), &[]).await.unwrap();
    let rerun = stack.s3shift(&["run"], &[]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert!(
        stdout(&rerun).contains("finished an interrupted run"),
        "{}",
        stdout(&rerun)
    );
    stack.assert_exactly_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_table_is_refused_before_anything_is_read() {
    let stack = Stack::start("").await;
    stack.put("a/x.jpg", a_jpeg()).await;
    stack.migrate().await;
    stack
        .api
        .execute(
            "ALTER TABLE s3shift.images RENAME COLUMN camera_model TO camera",
            &[],
        )
        .await
        .unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("camera_model") && err.contains("column 23"), "{err}");
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.images").await, 0);
    let staged = stack.store.list_prefix("stage", "").await.unwrap();
    assert!(staged.is_empty(), "nothing staged: {staged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let stack = Stack::start("max_objects_per_run = 3").await;
    for i in 0..5 {
        stack.put(&format!("b/img-{i}.jpg"), a_jpeg()).await;
    }
    stack.migrate().await;
    let out = stack.s3shift(&["run", "--dry-run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("listed                       5"), "{text}");
    assert!(text.contains("over the limits              2"), "{text}");
    assert!(text.contains("to load                      3"), "{text}");
    assert!(text.contains("most urgent"), "{text}");
    assert!(stack.store.list_prefix("stage", "").await.unwrap().is_empty());
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.runs").await, 0);
    // The real run honours the same limit; the next one takes the rest.
    let run = stack.s3shift(&["run"], &[]).await;
    assert!(stdout(&run).contains("loaded 3"), "{}", stdout(&run));
    let rest = stack.s3shift(&["run"], &[]).await;
    assert!(stdout(&rest).contains("loaded 2"), "{}", stdout(&rest));
    stack.assert_exactly_once(5).await;
}

/// The Data API fails a statement whose result set is over its limit, which the ledger window of a busy bucket
/// passes: the run sizes the window, then reads it in slices that each stay under `limits.ledger_read_bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_window_larger_than_one_data_api_result_is_read_in_slices() {
    // The stand-in refuses results over 40 kB; the ledger below holds about 130 kB of them.
    let limit = 40_000;
    let stack = Stack::start_with("ledger_read_bytes = 8192", FaultConfig::default(), |rs| {
        rs.max_result_bytes = limit;
    })
    .await;
    stack.migrate().await;
    for i in 0..5 {
        stack.put(&format!("a/new-{i}.jpg"), a_jpeg()).await;
    }
    let listed = stack.store.list_prefix("uploads", "a/").await.unwrap();
    // Earlier loads, as the ledger records them: three of the five objects, and 600 others spread over the
    // last ten hours, one a minute.
    let now = chrono::Utc::now();
    let mut rows: Vec<String> = listed[..3]
        .iter()
        .map(|o| {
            format!(
                "('api', 'uploads', '{}', NULL, '{}', 10, CAST('{}' AS TIMESTAMPTZ), NULL, 'ok', 'r0', CAST('{}' AS TIMESTAMPTZ))",
                o.key,
                o.etag,
                o.last_modified.to_rfc3339(),
                now.to_rfc3339()
            )
        })
        .collect();
    rows.extend((0..600).map(|i| {
        let at = now - chrono::Duration::minutes(i + 1);
        format!(
            "('api', 'uploads', 'a/earlier/{i:05}-{}.jpg', NULL, '\"{:032x}\"', 10, CAST('{}' AS TIMESTAMPTZ), NULL, 'ok', 'r0', CAST('{}' AS TIMESTAMPTZ))",
            "x".repeat(100),
            i,
            at.to_rfc3339(),
            now.to_rfc3339()
        )
    }));
    for chunk in rows.chunks(100) {
        stack
            .api
            .execute(
                &format!(
                    "INSERT INTO s3shift.loaded_objects (source, bucket, object_key, version_id, etag, size_bytes, \
                     last_modified, expires_at, status, run_id, loaded_at) VALUES {}",
                    chunk.join(", ")
                ),
                &[],
            )
            .await
            .unwrap();
    }
    // One statement for the whole window is over the limit: the stand-in refuses it as the Data API does.
    let whole = stack
        .api
        .query(
            "SELECT object_key, etag, version_id FROM s3shift.loaded_objects WHERE bucket = 'uploads'",
            &[],
        )
        .await;
    let err = whole.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("Database response exceeded size limit"), "{err}");

    let run = stack.s3shift(&["run", "--json"], &[]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&run).lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["objects_loaded"], 2, "{summary}");
    assert_eq!(summary["objects_already_loaded"], 3, "{summary}");
    // 603 rows of about 150 bytes in slices of 8 KiB: a sizing statement and a dozen reads.
    let statements = summary["data_api_statements"].as_u64().unwrap();
    assert!(statements >= 12, "{summary}");

    // The same ledger in one slice fails the run, naming the Data API's limit, and loads nothing.
    let text = std::fs::read_to_string(&stack.job)
        .unwrap()
        .replace("ledger_read_bytes = 8192", "ledger_read_bytes = 268435456");
    std::fs::write(&stack.job, text).unwrap();
    stack.put("a/later.jpg", a_jpeg()).await;
    let failed = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(err.contains("Database response exceeded size limit"), "{err}");
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.images WHERE object_key = 'a/later.jpg'")
            .await,
        0
    );
}

/// The ECS tasks run the job files of the image against their account's resources: the deployment's bucket
/// names come from the environment (deploy/compute.yaml) and replace the file's, for every command on the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_names_from_the_environment_replace_the_job_files() {
    let stack = Stack::start("").await;
    stack.store.ensure_bucket("prod-uploads").await.unwrap();
    stack.store.ensure_bucket("prod-stage").await.unwrap();
    for i in 0..3 {
        stack
            .store
            .put(
                "prod-uploads",
                &format!("a/img-{i}.jpg"),
                Bytes::from(a_jpeg()),
                "image/jpeg",
            )
            .await
            .unwrap();
    }
    stack.put("a/not-this-one.jpg", a_jpeg()).await;
    let env = [
        ("S3SHIFT_SOURCE_BUCKET", "prod-uploads".to_owned()),
        ("S3SHIFT_STAGING_BUCKET", "prod-stage".to_owned()),
        ("S3SHIFT_COPY_IAM_ROLE", "default".to_owned()),
    ];
    let migrate = stack.s3shift(&["migrate"], &env).await;
    assert_eq!(migrate.status.code(), Some(0), "{}", stderr(&migrate));
    let run = stack.s3shift(&["run", "--json"], &env).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let rows = stack
        .query("SELECT bucket, object_key FROM s3shift.images ORDER BY object_key")
        .await;
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = (0..3)
        .map(|i| ("prod-uploads".to_owned(), format!("a/img-{i}.jpg")))
        .collect();
    assert_eq!(got, want, "only the overriding bucket is read");
    // Staged files, lease and state went to the overriding staging bucket, none to the file's.
    assert!(stack.store.list_prefix("stage", "").await.unwrap().is_empty());
    assert!(
        !stack
            .store
            .list_prefix("prod-stage", "")
            .await
            .unwrap()
            .is_empty()
    );
    // The same flag on the command line; a rerun finds everything loaded.
    let again = stack
        .s3shift(
            &[
                "run",
                "--source-bucket",
                "prod-uploads",
                "--staging-bucket",
                "prod-stage",
            ],
            &[],
        )
        .await;
    assert!(stdout(&again).contains("loaded 0"), "{}", stdout(&again));
    // A bad value is a usage error naming the field, where it came from, and the file.
    let bad = stack
        .s3shift(&["run"], &[("S3SHIFT_SOURCE_BUCKET", "Prod_Uploads".to_owned())])
        .await;
    let err = stderr(&bad);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("e2e.toml: source.bucket (set by --source-bucket or S3SHIFT_SOURCE_BUCKET)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_job_file_exits_2_naming_file_and_field() {
    let stack = Stack::start("").await;
    let text = std::fs::read_to_string(&stack.job)
        .unwrap()
        .replace("concurrency = 8", "concurrency = 8\ncolour = 1");
    std::fs::write(&stack.job, text).unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("e2e.toml") && err.contains("colour"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_reads_are_retried_and_every_object_still_lands_once() {
    // 3% of S3 requests answer 503 SlowDown: the SDK's standard retry absorbs them (the stand-in's own COPY
    // reads retry too), and nothing is lost or doubled.
    let faults = FaultConfig {
        slowdown_per_mille: 30,
        seed: 11,
        ..FaultConfig::default()
    };
    let stack = Stack::start_with_faults("", faults).await;
    let jpeg = a_jpeg();
    for i in 0..200 {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{i}").as_bytes());
        // Uploads go through the same faulty server; the SDK retries them as well.
        stack.put(&format!("b/img-{i:04}.jpg"), body).await;
    }
    stack.migrate().await;
    let out = stack.s3shift(&["run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("loaded 200"), "{}", stdout(&out));
    stack.assert_exactly_once(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_while_another_holds_the_lease_is_skipped_and_loads_nothing() {
    let stack = Stack::start("").await;
    for i in 0..5 {
        stack.put(&format!("a/img-{i}.jpg"), a_jpeg()).await;
    }
    stack.migrate().await;
    let (first, release) = run_paused_at(&stack, "after-plan").await;
    let second = stack.s3shift(&["run"], &[]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("skipped: another run of this job holds its lease"),
        "{}",
        stdout(&second)
    );
    std::fs::write(&release, "go").unwrap();
    let first = first.await.unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    stack.assert_exactly_once(5).await;
    let lease = stack
        .store
        .get("stage", "staged/e2e/_state/lease.json")
        .await
        .unwrap();
    assert!(lease.is_none(), "the lease is released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lease_is_taken_over_and_said_so() {
    let stack = Stack::start("").await;
    stack.put("a/x.jpg", a_jpeg()).await;
    stack.migrate().await;
    let stale = r#"{"holder":"another-host:1:e2e-old","acquired_at":"2026-01-01T00:00:00+00:00","expires_at":"2026-01-01T00:15:00+00:00"}"#;
    stack
        .store
        .put(
            "stage",
            "staged/e2e/_state/lease.json",
            Bytes::from_static(stale.as_bytes()),
            "application/json",
        )
        .await
        .unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("took over a stale lease"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("another-host:1:e2e-old"),
        "{}",
        stderr(&out)
    );
    stack.assert_exactly_once(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfills_reprocess_a_window_or_named_keys_without_duplicates() {
    let stack = Stack::start("").await;
    for i in 0..6 {
        stack.put(&format!("b/img-{i}.jpg"), a_jpeg()).await;
    }
    stack.migrate().await;
    let first = stack.s3shift(&["run"], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));

    let dry = stack
        .s3shift(&["backfill", "--since", "2000-01-01", "--dry-run"], &[])
        .await;
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("to load                      6"),
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains("Data API"), "{}", stdout(&dry));

    let keys = stack.dir.path().join("keys.txt");
    std::fs::write(&keys, "b/img-1.jpg\nb/img-4.jpg\nb/expired-long-ago.jpg\n").unwrap();
    let by_key = stack
        .s3shift(
            &["backfill", "--keys-from", keys.to_str().unwrap(), "--json"],
            &[],
        )
        .await;
    assert_eq!(by_key.status.code(), Some(0), "{}", stderr(&by_key));
    let summary: serde_json::Value = serde_json::from_str(stdout(&by_key).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects_loaded"], 2);
    assert_eq!(summary["objects_not_found"], 1);
    assert!(
        stderr(&by_key).contains("b/expired-long-ago.jpg"),
        "{}",
        stderr(&by_key)
    );

    let window = stack
        .s3shift(&["backfill", "--since", "2000-01-01", "--prefix", "b/img-5"], &[])
        .await;
    assert!(stdout(&window).contains("loaded 1"), "{}", stdout(&window));
    stack.assert_exactly_once(6).await;
    let reloaded = stack
        .count("SELECT COUNT(*) FROM s3shift.images WHERE object_key IN ('b/img-1.jpg', 'b/img-4.jpg', 'b/img-5.jpg') AND run_id <> (SELECT MIN(run_id) FROM s3shift.runs)")
        .await;
    assert_eq!(reloaded, 3, "backfilled rows carry the backfill's run id");

    let usage = stack.s3shift(&["backfill"], &[]).await;
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_reloads_a_past_run_after_its_objects_are_gone() {
    let stack = Stack::start("").await;
    for i in 0..3 {
        stack.put(&format!("a/img-{i}.jpg"), a_jpeg()).await;
    }
    stack.migrate().await;
    let first = stack.s3shift(&["run", "--json"], &[]).await;
    let summary: serde_json::Value = serde_json::from_str(stdout(&first).lines().last().unwrap()).unwrap();
    let run_id = summary["run_id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        stack
            .store
            .delete("uploads", &format!("a/img-{i}.jpg"))
            .await
            .unwrap();
    }
    stack
        .api
        .execute("DELETE FROM s3shift.images", &[])
        .await
        .unwrap();
    let replay = stack.s3shift(&["replay", "--run", &run_id], &[]).await;
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    stack.assert_exactly_once(3).await;
    let missing = stack
        .s3shift(&["replay", "--run", "e2e-20000101T000000000Z-1"], &[])
        .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no staged manifest"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_recent_runs_and_schedules_print_as_eventbridge() {
    let stack = Stack::start("").await;
    stack.put("a/x.jpg", a_jpeg()).await;
    stack.migrate().await;
    let _ = stack.s3shift(&["run"], &[]).await;
    let _ = stack.s3shift(&["run"], &[]).await;
    let st = stack.s3shift(&["status", "--json"], &[]).await;
    assert_eq!(st.status.code(), Some(0), "{}", stderr(&st));
    let v: serde_json::Value = serde_json::from_str(stdout(&st).trim()).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    assert_eq!(v["runs"][0]["status"], "empty");
    assert_eq!(v["runs"][1]["status"], "finished");
    assert!(v["lag_hours"].as_f64().unwrap() < 1.0);
    // Without a job: every job of the folder, one JSON line each.
    let mut all = support::command(Path::new(env!("CARGO_BIN_EXE_s3shift")), &stack.local);
    all.args(["status", "--json", "--jobs-dir"]).arg(stack.dir.path());
    let all = all.output().unwrap();
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let lines: Vec<serde_json::Value> = stdout(&all)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["job"], "e2e");

    let jobs = manifest_dir().join("../../jobs");
    let mut cmd = support::command(Path::new(env!("CARGO_BIN_EXE_s3shift")), &stack.local);
    cmd.args(["schedule", "--print", "eventbridge", "--jobs-dir"])
        .arg(&jobs);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("api-images\tcron(0/15 * * * ? *)"), "{text}");
    assert!(text.contains("kafka-images\tcron(5/10 * * * ? *)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_terminal_logs_are_json_lines_and_the_run_emits_emf_metrics() {
    let stack = Stack::start("").await;
    stack.put("a/x.jpg", a_jpeg()).await;
    stack.migrate().await;
    let out = stack
        .s3shift(
            &["run", "--json"],
            &[
                ("S3SHIFT_LOG_FORMAT", "json".into()),
                ("S3SHIFT_LOG", "info".into()),
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let progress = lines
        .iter()
        .rfind(|v| v["event"] == "progress")
        .unwrap_or_else(|| panic!("a progress event in {}", stdout(&out)));
    assert_eq!(progress["objects_read"], 1);
    assert_eq!(progress["objects_planned"], 1);
    let summary_event = lines
        .iter()
        .find(|v| v["event"] == "run_summary")
        .expect("run_summary log event");
    assert_eq!(summary_event["level"], "INFO");
    assert_eq!(summary_event["objects_loaded"], 1);
    let emf = lines
        .iter()
        .find(|v| v.get("_aws").is_some())
        .expect("an EMF line");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "s3shift");
    assert_eq!(emf["job"], "e2e");
    assert_eq!(emf["s3shift_objects_loaded_count"], 1.0);
    let names: Vec<&str> = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"s3shift_min_slack_to_expiry_hours")
            || emf["s3shift_min_slack_to_expiry_hours"].is_null()
    );
    assert!(names.iter().all(|n| n.starts_with("s3shift_")));
    // The last line is still the summary that --json promises.
    assert_eq!(lines.last().unwrap()["objects_loaded"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_drains_what_was_read_and_a_rerun_loads_the_rest() {
    // One reader, so that most objects are still unread when the signal comes.
    let stack = Stack::start("concurrency = 1").await;
    let jpeg = a_jpeg();
    for i in 0..40 {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{i}").as_bytes());
        stack.put(&format!("a/img-{i:02}.jpg"), body).await;
    }
    stack.migrate().await;
    // Paused after half the rows were staged.
    let (child, release, pid) = run_paused_at_with(&stack, "mid-extract", &["--json"]).await;
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Let the signal reach the run before it goes on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&release, "go").unwrap();
    let out = child.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(summary["status"], "drained");
    assert_eq!(summary["drained"], true);
    let loaded = summary["objects_loaded"].as_u64().unwrap();
    assert!(
        (20..40).contains(&loaded),
        "drained after the objects in flight: {loaded}"
    );
    assert_eq!(summary["objects_deferred"].as_u64().unwrap(), 40 - loaded);
    stack.assert_exactly_once(loaded as i64).await;

    let rerun = stack.s3shift(&["run"], &[]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    stack.assert_exactly_once(40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_a_job_on_its_cron_and_stops_cleanly_on_sigterm() {
    let stack = Stack::start("").await;
    for i in 0..5 {
        stack.put(&format!("a/img-{i}.jpg"), a_jpeg()).await;
    }
    stack.migrate().await;
    // Every second, so that the test sees several ticks.
    let text = std::fs::read_to_string(&stack.job)
        .unwrap()
        .replace("cron = \"0 * * * * *\"", "cron = \"* * * * * *\"");
    std::fs::write(&stack.job, text).unwrap();
    let mut cmd = stack.command(&["schedule"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env("S3SHIFT_LOG", "info");
    let process = cmd.spawn().unwrap();
    let pid = process.id();
    // Wait until the objects have landed and a later tick found nothing new.
    let mut runs = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        runs = stack.count("SELECT COUNT(*) FROM s3shift.runs").await;
        if runs >= 2 {
            break;
        }
    }
    assert!(runs >= 2, "the scheduler ran the job on its ticks");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || process.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("scheduler stopping"), "{}", stderr(&out));
    stack.assert_exactly_once(5).await;
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status = 'finished'")
            .await,
        1
    );
}

#[path = "../../s3shift-telemetry/tests/support/moto.rs"]
mod moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_to_cloudwatch_ships_the_run_and_its_final_summary() {
    let moto = tokio::task::spawn_blocking(moto::start_moto).await.unwrap();
    let stack = Stack::start("").await;
    stack.put("a/x.jpg", a_jpeg()).await;
    stack.migrate().await;
    let out = stack
        .s3shift(
            &["--log-to-cloudwatch", "s3shift-e2e", "run"],
            &[
                ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto.url.clone()),
                ("AWS_REGION", "us-east-1".into()),
                ("S3SHIFT_LOG", "info".into()),
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
                "k", "s", None, None, "t",
            ))
            .build(),
    );
    let streams = logs
        .describe_log_streams()
        .log_group_name("s3shift-e2e")
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1);
    let stream = streams.log_streams()[0].log_stream_name().unwrap().to_owned();
    assert!(stream.starts_with("s3shift/"), "{stream}");
    let events = logs
        .get_log_events()
        .log_group_name("s3shift-e2e")
        .log_stream_name(&stream)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    let summary = events
        .events()
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e.message().unwrap_or("")).ok())
        .find(|v| v["event"] == "run_summary")
        .expect("the run summary was shipped before exit");
    assert_eq!(summary["objects_loaded"], 1);

    // The same through the job file's `[aws] log_group`, without the flag.
    let text = std::fs::read_to_string(&stack.job)
        .unwrap()
        .replace("[aws]\n", "[aws]\nlog_group = \"s3shift-e2e-job\"\n");
    std::fs::write(&stack.job, text).unwrap();
    let out = stack
        .s3shift(
            &["run"],
            &[
                ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto.url.clone()),
                ("AWS_REGION", "us-east-1".into()),
                ("S3SHIFT_LOG", "info".into()),
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let streams = logs
        .describe_log_streams()
        .log_group_name("s3shift-e2e-job")
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_every_precondition_and_fails_on_a_missing_workgroup() {
    let stack = Stack::start("").await;
    stack.migrate().await;
    let out = stack.s3shift(&["doctor"], &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    for line in [
        "PASS  credentials",
        "PASS  source s3://uploads/a/: listable",
        "PASS  staging s3://stage/staged/e2e: writable",
        "PASS  workgroup local: AVAILABLE",
        "PASS  namespace local: default IAM role",
        "PASS  table s3shift.images: columns as staged",
        "PASS  table s3shift.runs",
        "WARN  lifecycle of s3://uploads/a/",
        "WARN  encryption of s3://stage",
    ] {
        assert!(text.contains(line), "{line:?} missing in:\n{text}");
    }
    assert!(
        stack.store.list_prefix("stage", "").await.unwrap().is_empty(),
        "the write probe is removed"
    );

    let text = std::fs::read_to_string(&stack.job)
        .unwrap()
        .replace("workgroup = \"local\"", "workgroup = \"nope\"");
    std::fs::write(&stack.job, text).unwrap();
    stack.api.execute("DROP TABLE s3shift.runs", &[]).await.unwrap();
    let bad = stack.s3shift(&["doctor", "--json"], &[]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    let checks: serde_json::Value = serde_json::from_str(stdout(&bad).trim()).unwrap();
    let failed: Vec<&str> = checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["workgroup nope", "table s3shift.runs"]);
}

#[test]
fn the_demo_runs_on_a_fresh_directory_and_loads_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args(["demo", "--dir"])
        .arg(&demo_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("S3SHIFT_LOG_FORMAT", "text")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let uploaded: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("uploaded "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(uploaded >= 400, "{text}");
    assert!(
        text.contains(&format!("loaded {uploaded}, already loaded 0")),
        "{text}"
    );
    assert!(
        text.contains(&format!("loaded 0, already loaded {uploaded}")),
        "{text}"
    );
    assert!(text.contains("Objects with more than one row: 0"), "{text}");
    assert!(text.contains("'); drop table s3shift.images; --.jpg"), "{text}");
    assert!(demo_dir.join("warehouse.duckdb").is_file());
    // Running it again starts over in the same folder.
    let again = Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args(["demo", "--dir"])
        .arg(&demo_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        !stdout(&again).contains("\"_aws\""),
        "the demo prints no metric lines"
    );
    // A folder it did not make is refused.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("precious.txt"), "keep").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args(["demo", "--dir"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(other.join("precious.txt").exists());
}

/// This package's folder: the `CARGO_MANIFEST_DIR` that cargo and nextest set when they start the process,
/// which is right even for a binary built in another checkout sharing the target folder; else the compiled-in one.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), std::path::PathBuf::from)
}
