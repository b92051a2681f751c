//! End to end, operating the binary: `--dry-run`, deployment names from flags and variables, bad job files,
//! `status`, the scheduler, `doctor`, and `demo`.
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use s3shift_redshift::client::Value;
use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let stack = Stack::start(BIN, "max_objects_per_run = 3").await;
    for i in 0..5 {
        stack.put(&format!("b/img-{i}.jpg"), repo::a_jpeg()).await;
    }
    stack.migrate().await;
    let out = stack.s3shift(&["run", "--dry-run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("listed                       5"), "{text}");
    assert!(text.contains("over the limits              2"), "{text}");
    assert!(text.contains("to load                      3"), "{text}");
    assert!(text.contains("most urgent"), "{text}");
    // The test job runs every minute; the stand-in's workgroup has a base of 8 RPUs: 1440 x 60 s x 8 / 3600.
    assert!(
        text.contains("cadence                 1440.0  runs a day: at least 192.0 RPU-hours a day"),
        "{text}"
    );
    assert!(stack.store.list_prefix("stage", "").await.unwrap().is_empty());
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.runs").await, 0);
    // The real run honours the same limit; the next one takes the rest.
    let run = stack.s3shift(&["run"], &[]).await;
    assert!(stdout(&run).contains("loaded 3"), "{}", stdout(&run));
    let rest = stack.s3shift(&["run"], &[]).await;
    assert!(stdout(&rest).contains("loaded 2"), "{}", stdout(&rest));
    stack.assert_exactly_once(5).await;
}

/// The ECS tasks run the job files of the image against their account's resources: the deployment's bucket
/// names come from the environment (deploy/compute.yaml) and replace the file's, for every command on the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_names_from_the_environment_replace_the_job_files() {
    let stack = Stack::start(BIN, "").await;
    stack.store.ensure_bucket("prod-uploads").await.unwrap();
    stack.store.put_expiry_rule("prod-uploads", 7).await.unwrap();
    stack.store.ensure_bucket("prod-stage").await.unwrap();
    for i in 0..3 {
        stack
            .store
            .put(
                "prod-uploads",
                &format!("a/img-{i}.jpg"),
                Bytes::from(repo::a_jpeg()),
                "image/jpeg",
            )
            .await
            .unwrap();
    }
    stack.put("a/not-this-one.jpg", repo::a_jpeg()).await;
    let env = [
        ("S3SHIFT_SOURCE_BUCKET", "prod-uploads".to_owned()),
        ("S3SHIFT_STAGING_BUCKET", "prod-stage".to_owned()),
        ("S3SHIFT_COPY_IAM_ROLE", "default".to_owned()),
    ];
    let mut admin_env = env.to_vec();
    admin_env.push(s3shift_testkit::stack::admin_secret());
    let migrate = stack.s3shift_as("migrator", &["migrate"], &admin_env).await;
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
    let stack = Stack::start(BIN, "").await;
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
async fn status_reports_recent_runs_and_schedules_print_as_eventbridge() {
    let stack = Stack::start(BIN, "").await;
    stack.put("a/x.jpg", repo::a_jpeg()).await;
    stack.migrate().await;
    let _ = stack.s3shift(&["run"], &[]).await;
    let _ = stack.s3shift(&["run"], &[]).await;
    let st = stack.s3shift(&["status", "--json"], &[]).await;
    assert_eq!(st.status.code(), Some(0), "{}", stderr(&st));
    let v: serde_json::Value = serde_json::from_str(stdout(&st).trim()).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    assert_eq!(v["runs"][0]["status"], "empty");
    assert_eq!(v["runs"][1]["status"], "finished");
    for t in ["started_at", "finished_at"] {
        let text = v["runs"][1][t].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "{t} is RFC 3339: {text}"
        );
    }
    assert!(v["lag_hours"].as_f64().unwrap() < 1.0);
    // Without a job: every job of the folder, in one JSON array.
    let status_all = || {
        let mut all = s3shift_testkit::stack::command(Path::new(env!("CARGO_BIN_EXE_s3shift")), &stack.local);
        all.args(["status", "--json", "--jobs-dir"]).arg(stack.dir.path());
        all.output().unwrap()
    };
    let all = status_all();
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let doc: serde_json::Value = serde_json::from_str(stdout(&all).trim()).unwrap();
    assert_eq!(doc.as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc[0]["job"], "e2e");
    // One broken file in the folder: the other jobs are still reported, the broken one named; exit 1.
    std::fs::write(
        stack.dir.path().join("broken.toml"),
        "name = \"broken\"\n[limit]\n",
    )
    .unwrap();
    let all = status_all();
    assert_eq!(all.status.code(), Some(1), "{}", stderr(&all));
    let doc: serde_json::Value = serde_json::from_str(stdout(&all).trim()).unwrap();
    let jobs: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["broken", "e2e"], "{doc}");
    assert!(doc[0]["error"].as_str().unwrap().contains("limit"), "{doc}");
    assert!(doc[1]["runs"].is_array(), "{doc}");
    std::fs::remove_file(stack.dir.path().join("broken.toml")).unwrap();

    let jobs = repo::manifest_dir().join("../../jobs");
    let mut cmd = s3shift_testkit::stack::command(Path::new(env!("CARGO_BIN_EXE_s3shift")), &stack.local);
    cmd.args(["schedule", "--print", "eventbridge", "--jobs-dir"])
        .arg(&jobs);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("api-images\tcron(0/15 * * * ? *)"), "{text}");
    assert!(text.contains("kafka-images\tcron(5/10 * * * ? *)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_a_job_on_its_cron_and_stops_cleanly_on_sigterm() {
    let stack = Stack::start(BIN, "").await;
    for i in 0..5 {
        stack.put(&format!("a/img-{i}.jpg"), repo::a_jpeg()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_every_precondition_and_fails_on_a_missing_workgroup() {
    let stack = Stack::start(BIN, "").await;
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
        "PASS  database privileges: database user IAMR:s3shift-local-api-images-task holds the 15 privileges",
        "PASS  table s3shift.runs",
        "PASS  lifecycle of s3://uploads/a/: every object expires 7 days after upload",
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
    let verdicts = |out: &std::process::Output, verdict: &str| -> Vec<String> {
        let checks: serde_json::Value = serde_json::from_str(stdout(out).trim()).unwrap();
        checks
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"] == verdict)
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    stack.api.execute("DROP TABLE s3shift.runs", &[]).await.unwrap();
    let bad = stack.s3shift(&["doctor", "--json"], &[]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert_eq!(verdicts(&bad, "fail"), ["table s3shift.runs"]);
    // A workgroup that does not exist: said once, and what needs it is not checked.
    std::fs::write(&stack.job, text).unwrap();
    let bad = stack.s3shift(&["doctor", "--json"], &[]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert_eq!(verdicts(&bad, "fail"), ["workgroup nope"]);
    assert!(verdicts(&bad, "skip").contains(&"table s3shift.runs".to_owned()));
}

/// Issue 27 item 9: the binary works away from its build and its repository, as `cargo install` or a copy leave
/// it: DuckDB's library is found (the rpath names the user's cache, not the build's target folder), and the
/// demo uses the samples built into the binary when the repository's corpus is not there.
#[test]
fn a_copied_binary_runs_the_demo_without_the_repository() {
    // The library's search path does not lead into the build's target folder, which `cargo install` deletes.
    let built = std::path::Path::new(env!("CARGO_BIN_EXE_s3shift"));
    let target = built.parent().and_then(|p| p.parent()).unwrap();
    let bytes = std::fs::read(built).unwrap();
    let into_target = format!("{}/duckdb/", target.display());
    assert!(
        !bytes
            .windows(into_target.len())
            .any(|w| w == into_target.as_bytes()),
        "the binary's rpath names {into_target}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin/s3shift");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(built, &bin).unwrap();
    let demo_dir = dir.path().join("demo");
    let out = Command::new(&bin)
        .args(["demo", "--copies", "1", "--dir"])
        .arg(&demo_dir)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // Where the repository would be: nowhere.
        .env("CARGO_MANIFEST_DIR", dir.path().join("no-repository"))
        .env("S3SHIFT_LOG_FORMAT", "text")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(demo_dir.join("samples/jpeg/full-exif-gps-sw.jpg").is_file());
    assert!(text.contains("Objects with more than one row: 0"), "{text}");
    for format in ["jpeg", "png", "gif", "webp", "heif", "avif", "tiff", "bmp"] {
        assert!(text.contains(format), "{format}: {text}");
    }
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

/// Outside the repository, a command over every job names the folder it looked in and how to name another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_job_folder_is_named_with_the_way_to_name_another() {
    let stack = Stack::start(BIN, "").await;
    let out = tokio::task::spawn_blocking({
        let mut cmd = stack.bare_command(&["schedule", "--print", "cron"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let folder = stack.dir.path().canonicalize().unwrap().join("jobs");
    assert!(
        err.contains(&folder.display().to_string()),
        "names the folder: {err}"
    );
    assert!(
        err.contains("--jobs-dir") && err.contains("S3SHIFT_JOBS_DIR"),
        "{err}"
    );
    std::fs::create_dir(stack.dir.path().join("jobs")).unwrap();
    let empty = tokio::task::spawn_blocking({
        let mut cmd = stack.bare_command(&["status"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let err = stderr(&empty);
    assert_eq!(empty.status.code(), Some(2), "{err}");
    assert!(err.contains("no job files (*.toml) in"), "{err}");
}

/// Before `migrate`, the commands that read s3shift's tables say that the tables are missing and what creates
/// them, with Redshift's relation named once (no doubled quotes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_migrate_status_and_a_dry_run_say_to_migrate() {
    let stack = Stack::start(BIN, "").await;
    stack.put("a/x.jpg", repo::a_jpeg()).await;
    for args in [&["status"][..], &["run", "--dry-run"][..]] {
        let out = stack.s3shift(args, &[]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            (err.contains("table s3shift.") || err.contains("schema s3shift does not exist"))
                && err.contains("does not exist: the warehouse has not been migrated"),
            "{args:?}: {err}"
        );
        assert!(err.contains("`s3shift migrate e2e`"), "{args:?}: {err}");
        assert!(!err.contains("\"\""), "{args:?}: quotes doubled: {err}");
    }
}

/// A source bucket that does not exist is said to be missing (not "not found", not a permission to grant),
/// with where its name came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_bucket_is_named_with_where_its_name_came_from() {
    let stack = Stack::start(BIN, "").await;
    stack.migrate().await;
    let run = stack
        .s3shift(&["run", "--source-bucket", "no-such-uploads"], &[])
        .await;
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bucket no-such-uploads does not exist. It is the job's source bucket, named by --source-bucket or S3SHIFT_SOURCE_BUCKET"),
        "{err}"
    );
    let doctor = stack
        .s3shift(&["doctor", "--source-bucket", "no-such-uploads"], &[])
        .await;
    let text = stdout(&doctor);
    assert_eq!(doctor.status.code(), Some(1), "{text}{}", stderr(&doctor));
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("FAIL  source s3://no-such-uploads/a/"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(line.contains("the bucket does not exist"), "{text}");
    assert!(
        line.contains("--source-bucket or S3SHIFT_SOURCE_BUCKET"),
        "{text}"
    );
    assert!(!line.contains("grant s3:ListBucket"), "{text}");
}

/// `--help` opens with what s3shift does.
#[test]
fn help_opens_with_what_s3shift_does() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.starts_with("s3shift turns the images your services upload to S3 into analytics tables"),
        "{text}"
    );
    assert!(!text.contains("command-line binary"), "{text}");
}

/// A job file that cannot be read exits 2, naming the file and why (the cause is printed, not dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_file_that_cannot_be_read_is_named_with_its_cause() {
    let stack = Stack::start(BIN, "").await;
    let out = tokio::task::spawn_blocking({
        let mut cmd = stack.bare_command(&["run", "no-such-job.toml"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read no-such-job.toml"), "{err}");
    assert!(err.contains("caused by: No such file or directory"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_whose_ledger_window_has_no_bound_refuses_and_names_the_two_fixes() {
    let stack = Stack::start(BIN, "").await;
    stack.migrate().await;
    // A bucket without lifecycle rules: nothing says how far back the ledger must be read.
    stack.store.ensure_bucket("bare").await.unwrap();
    stack
        .store
        .put("bare", "a/x.jpg", Bytes::from(repo::a_jpeg()), "image/jpeg")
        .await
        .unwrap();
    let text = std::fs::read_to_string(&stack.job).unwrap();
    std::fs::write(
        &stack.job,
        text.replace("bucket = \"uploads\"", "bucket = \"bare\""),
    )
    .unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        "no lifecycle rule of s3://bare expires every object under \"a/\"",
        "source.assume_lifecycle_days is 0",
        "set source.assume_lifecycle_days",
    ] {
        assert!(err.contains(part), "{part:?} missing in:\n{err}");
    }
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM s3shift.runs").await,
        0,
        "nothing ran"
    );
    let doctor = stack.s3shift(&["doctor"], &[]).await;
    assert!(
        stdout(&doctor).contains("FAIL  lifecycle of s3://bare/a/"),
        "{}",
        stdout(&doctor)
    );
    // The operator vouches for the days objects are kept: the window is bounded by them.
    let text = std::fs::read_to_string(&stack.job).unwrap();
    std::fs::write(
        &stack.job,
        text.replace(
            "settle_seconds = 0\n",
            "settle_seconds = 0\nassume_lifecycle_days = 7\n",
        ),
    )
    .unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
        1
    );
    let doctor = stack.s3shift(&["doctor"], &[]).await;
    assert!(
        stdout(&doctor).contains("WARN  lifecycle of s3://bare/a/: no rule expires every object here"),
        "{}",
        stdout(&doctor)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_control_characters_lists_loads_and_reads_back_intact() {
    let stack = Stack::start(BIN, "").await;
    stack.migrate().await;
    // Every control character S3 allows in a key ("Creating object key names"; XML 1.0 cannot carry them, so a
    // listing without EncodingType=url cannot be parsed), XML's specials, and characters outside ASCII; beside
    // it an ordinary key, which must not be held up by it.
    let odd = format!(
        "a/{}\u{7f} !\"#$%&'()*+,:;<=>?@[\\]^`{{|}}~é😀.jpg",
        (1u8..32).map(char::from).collect::<String>()
    );
    let keys = [odd.clone(), "a/plain.jpg".to_owned()];
    for (i, key) in keys.iter().enumerate() {
        let mut body = repo::a_jpeg();
        body.extend_from_slice(format!("{i}").as_bytes());
        stack.put(key, body).await;
    }
    let out = stack.s3shift(&["run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stack.assert_exactly_once(2).await;
    let mut loaded: Vec<String> = Vec::new();
    for table in ["s3shift.loaded_objects", "s3shift.images"] {
        let rows = stack
            .api
            .query(
                &format!("SELECT object_key FROM {table} ORDER BY object_key"),
                &[],
            )
            .await
            .unwrap();
        loaded = rows
            .rows
            .iter()
            .filter_map(|r| r.first().and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        let mut want = keys.to_vec();
        want.sort();
        assert_eq!(loaded, want, "{table} holds both keys byte for byte");
    }
    // Read back through S3 by the key the warehouse holds.
    for key in &loaded {
        assert!(
            stack.store.get("uploads", key).await.unwrap().is_some(),
            "{key:?} reads back"
        );
    }
    // A backfill lists the same way.
    let out = stack
        .s3shift(&["backfill", "--since", "2000-01-01", "--json"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stack.assert_exactly_once(2).await;
    let doctor = stack.s3shift(&["doctor"], &[]).await;
    assert!(
        stdout(&doctor).contains("PASS  source s3://uploads/a/: listable"),
        "{}",
        stdout(&doctor)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_does_not_exist_is_answered_with_the_jobs_that_do() {
    let stack = Stack::start(BIN, "").await;
    let dir = stack.job.parent().unwrap().to_owned();
    std::fs::write(dir.join("photos.toml"), "name = \"photos\"\n").unwrap();
    let out = tokio::task::spawn_blocking({
        let mut cmd = stack.bare_command(&["run", "fotos", "--jobs-dir", dir.to_str().unwrap()]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for part in [
        "no job \"fotos\"",
        "fotos.toml does not exist",
        "e2e, photos",
        "--jobs-dir DIR or S3SHIFT_JOBS_DIR",
    ] {
        assert!(err.contains(part), "{part:?} missing in: {err}");
    }
    // --jobs-dir before the subcommand is taken as well.
    let out = tokio::task::spawn_blocking({
        let mut cmd = stack.bare_command(&["--jobs-dir", dir.to_str().unwrap(), "run", "fotos"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("e2e, photos"), "{}", stderr(&out));
}

#[test]
fn version_names_the_commit_the_binary_was_built_from() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let commit = text
        .trim()
        .strip_prefix(&format!("s3shift {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) if std::env::var_os("S3SHIFT_COMMIT").is_none() => assert_eq!(commit, head),
        _ => assert!(!commit.is_empty(), "{text}"),
    }
}

/// Errors a new user meets first, each one line naming the thing and the next step, no Rust debug text: no
/// credentials, credentials AWS refuses (doctor says so once and checks nothing that needs them), a staging
/// bucket that does not exist, a queue URL that names no queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_errors_say_what_is_wrong_and_what_to_do_in_one_line() {
    let stack = Stack::start(BIN, "").await;
    stack.migrate().await;
    let run_with = |args: &[&str], edit: &dyn Fn(&mut Command)| {
        let mut cmd = stack.command(args);
        edit(&mut cmd);
        cmd.output().unwrap()
    };
    let no_debug = |text: &str| {
        for noise in [
            "DispatchFailure",
            "ConnectorError",
            "s3_extended_request_id",
            "Error {",
            "ProviderError(",
        ] {
            assert!(!text.contains(noise), "{noise:?} in:\n{text}");
        }
    };
    // No credentials anywhere.
    let out = run_with(&["run"], &|c| {
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("HOME", "/nonexistent");
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let said: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.starts_with("s3shift: error: "))
        .collect();
    assert_eq!(said.len(), 1, "one line: {err}");
    assert!(
        said[0].starts_with("s3shift: error: no AWS credentials: set AWS_ACCESS_KEY_ID"),
        "{err}"
    );
    no_debug(&err);
    // Credentials AWS refuses: doctor says it once.
    let out = run_with(&["doctor"], &|c| {
        c.env("AWS_SECRET_ACCESS_KEY", "wrong");
    });
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  credentials: resolved, but refused by AWS"),
        "{text}"
    );
    assert!(
        !text.contains("grant s3:") && !text.contains("run `s3shift migrate"),
        "{text}"
    );
    assert!(text.contains("SKIP  table s3shift.images: not checked"), "{text}");
    assert_eq!(text.matches("FAIL ").count(), 1, "{text}");
    // A staging bucket that does not exist: named, with where its name came from; doctor does not ask for a grant.
    let out = run_with(&["run"], &|c| {
        c.env("S3SHIFT_STAGING_BUCKET", "no-such-staging");
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bucket no-such-staging does not exist"), "{err}");
    assert!(
        !err.contains("service error") && !err.contains("unhandled error"),
        "{err}"
    );
    no_debug(&err);
    let out = run_with(&["doctor"], &|c| {
        c.env("S3SHIFT_STAGING_BUCKET", "no-such-staging");
    });
    let text = stdout(&out);
    assert!(
        text.contains("fix: create the bucket (deploy/storage.yaml does), or name the one that exists"),
        "{text}"
    );
    // A workgroup or a database the warehouse does not have: refused, never run against the one it has.
    let out = run_with(&["run"], &|c| {
        c.env("S3SHIFT_WORKGROUP", "nope");
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Workgroup nope not found"), "{err}");
    let out = run_with(&["doctor"], &|c| {
        c.env("S3SHIFT_DATABASE", "nope");
    });
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("database \"nope\" does not exist"), "{text}");
    // A job table that does not exist (a typo) is a name to fix, not a warehouse to migrate.
    let good = std::fs::read_to_string(&stack.job).unwrap();
    std::fs::write(
        &stack.job,
        good.replace(
            "copy_iam_role = \"default\"",
            "copy_iam_role = \"default\"\ntable = \"s3shift.imagez\"",
        ),
    )
    .unwrap();
    let out = run_with(&["run"], &|_| {});
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("table s3shift.imagez does not exist. It is warehouse.table in")
            && !err.contains("has not been migrated"),
        "{err}"
    );
    std::fs::write(&stack.job, good).unwrap();
    // A queue URL that names no queue (the job's own queue replaced by a wrong one).
    stack.enable_events(5, "").await;
    let url = format!("{}/000000000000/no-such-queue", stack.local.sqs.endpoint_url());
    let out = run_with(&["run"], &|c| {
        c.env("S3SHIFT_QUEUE_URL", &url);
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("The specified queue does not exist") && err.contains("S3SHIFT_QUEUE_URL"),
        "{err}"
    );
    no_debug(&err);
}

#[test]
fn init_writes_a_starter_job_that_validates_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs");
    let init = |extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "init",
            "photos",
            "--bucket",
            "my-uploads",
            "--prefix",
            "uploads/",
            "--staging-bucket",
            "my-staging",
            "--jobs-dir",
        ])
        .arg(&jobs)
        .args(extra);
        cmd.output().unwrap()
    };
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("next: s3shift doctor photos"),
        "{}",
        stdout(&out)
    );
    let spec = s3shift_jobs::load_job(&jobs.join("photos.toml")).unwrap();
    assert_eq!(spec.config.source.bucket, "my-uploads");
    assert_eq!(spec.config.source.prefixes, ["uploads/"]);
    // The schedule command reads it like any job of the folder.
    let out = Command::new(BIN)
        .args(["schedule", "--print", "eventbridge", "--jobs-dir"])
        .arg(&jobs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("photos\tcron(0/15 * * * ? *)"),
        "{}",
        stdout(&out)
    );
    // Never over a file that exists, unless told.
    let again = init(&[]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(init(&["--force"]).status.code(), Some(0));
}

/// Every subcommand, as a user types it.
const SUBCOMMANDS: &[&str] = &[
    "run",
    "backfill",
    "replay",
    "doctor",
    "status",
    "schedule",
    "migrate",
    "demo",
    "extract",
    "init",
    "local",
    "completions",
    "man",
];

#[test]
fn completions_are_valid_shell_and_know_every_subcommand_and_flag() {
    let bash = Command::new(BIN).args(["completions", "bash"]).output().unwrap();
    assert_eq!(bash.status.code(), Some(0), "{}", stderr(&bash));
    let script = stdout(&bash);
    for sub in SUBCOMMANDS {
        assert!(script.contains(&format!("s3shift,{sub})")), "bash misses {sub}");
    }
    assert!(script.contains("--dry-run") && script.contains("--jobs-dir"));
    // bash itself parses the script, and registers the completion when it is sourced.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s3shift.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e; source {}; complete -p s3shift", file.display()))
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(stdout(&check).contains("s3shift"), "{}", stdout(&check));
    let zsh = Command::new(BIN).args(["completions", "zsh"]).output().unwrap();
    assert!(stdout(&zsh).starts_with("#compdef s3shift"), "{}", stdout(&zsh));
    let nope = Command::new(BIN).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(nope.status.code(), Some(2));
    assert!(
        stderr(&nope).contains("possible values: bash"),
        "{}",
        stderr(&nope)
    );
}

#[test]
fn man_pages_cover_every_subcommand_and_render_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut pages = vec![dir.path().join("s3shift.1")];
    pages.extend(
        SUBCOMMANDS
            .iter()
            .map(|s| dir.path().join(format!("s3shift-{s}.1"))),
    );
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(
            text.starts_with(".ie"),
            "{}: {}",
            page.display(),
            &text[..80.min(text.len())]
        );
        assert!(text.contains(".TH s3shift"), "{}", page.display());
    }
    let run = std::fs::read_to_string(dir.path().join("s3shift-run.1")).unwrap();
    assert!(run.contains("dry\\-run") && run.contains("DEPLOYMENT"), "{run}");
    // groff (Debian's man-db needs it) reads every page without a warning.
    if let Ok(groff) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .args(&pages)
        .output()
    {
        assert!(
            groff.status.success() && groff.stderr.is_empty(),
            "{}",
            stderr(&groff)
        );
    }
    // Without a folder: the main page on stdout.
    let main = Command::new(BIN).arg("man").output().unwrap();
    assert!(stdout(&main).contains(".TH s3shift 1"), "{}", stdout(&main));
    // The deployment heading holds the deployment fields only.
    let help = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = stdout(&help);
    let (options, deployment) = help.split_once("Deployment (").unwrap();
    assert!(
        options.contains("--dry-run") && !deployment.contains("--dry-run"),
        "{help}"
    );
}

/// Issue 29 through the pipeline: XMP, IPTC, ICC and C2PA fields, the uploader's claims (extension,
/// Content-Type, user metadata) land in `s3shift.images` and the analysts' views, from the same ranged reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_images_say_of_themselves_and_what_uploaders_claimed_reaches_the_views() {
    let stack = Stack::start(BIN, "").await;
    let meta = repo::root().join("tests/fixtures/metadata");
    let read = |p: &str| std::fs::read(meta.join(p)).unwrap();
    let put = |key: &'static str,
               body: Vec<u8>,
               content_type: &'static str,
               user: Option<(&'static str, &'static str)>| {
        let client = stack.store.client().clone();
        async move {
            client
                .put_object()
                .bucket("uploads")
                .key(key)
                .body(body.into())
                .content_type(content_type)
                .set_metadata(user.map(|(k, v)| [(k.to_owned(), v.to_owned())].into_iter().collect()))
                .send()
                .await
                .unwrap();
        }
    };
    put(
        "a/full.jpg",
        read("xmp/full.jpg"),
        "image/jpeg",
        Some(("uploader", "api-7")),
    )
    .await;
    put("a/ai.jpg", read("c2pa/created-trained.jpg"), "image/jpeg", None).await;
    put("a/avatar.png", read("claims/html-named.png"), "image/png", None).await;
    put(
        "a/poly.jpg",
        read("claims/jpeg-com-script.jpg"),
        "image/jpeg",
        None,
    )
    .await;
    put(
        "a/really-a-png.jpg",
        read("claims/png-named.jpg"),
        "image/jpeg",
        None,
    )
    .await;
    stack.migrate().await;
    let run = stack.s3shift(&["run"], &[]).await;
    assert!(
        stdout(&run).contains("loaded 5"),
        "{}\n{}",
        stdout(&run),
        stderr(&run)
    );
    let rows = stack
        .query(
            "SELECT title, keywords, creator, city, icc_profile, icc_color_space, taken_at_source, user_metadata, \
             key_extension, extension_matches, content_type_matches, c2pa_manifest_present \
             FROM s3shift.images WHERE object_key = 'a/full.jpg'",
        )
        .await;
    let row: Vec<Option<&str>> = rows[0].iter().map(|v| v.as_str()).collect();
    assert_eq!(row[0], Some("Lighthouse at dusk (JPG)"), "{rows:?}");
    assert_eq!(
        row[1],
        Some(r#"["lighthouse","Ålesund","harbour, evening"]"#),
        "{rows:?}"
    );
    assert_eq!(row[2], Some("Åse Fjellström"));
    assert_eq!(row[3], Some("Ålesund"));
    assert!(row[4].is_some_and(|d| d.contains("sRGB")), "{rows:?}");
    assert_eq!((row[5], row[6]), (Some("RGB"), Some("xmp")));
    assert_eq!(row[7], Some(r#"{"uploader":"api-7"}"#));
    assert_eq!(row[8], Some("jpg"));
    let flags: Vec<&Value> = rows[0][9..12].iter().collect();
    assert_eq!(
        flags,
        [&Value::Bool(true), &Value::Bool(true), &Value::Bool(false)],
        "{rows:?}"
    );
    // The three questions, as analysts ask them (through their views).
    let ai = stack
        .query("SELECT object_key, labelled_by, c2pa_claim_generator FROM s3shift.ai_labelled_images")
        .await;
    assert_eq!(ai.len(), 1, "{ai:?}");
    assert_eq!(
        (ai[0][0].as_str(), ai[0][1].as_str()),
        (Some("a/ai.jpg"), Some("both"))
    );
    let claims = stack
        .query("SELECT object_key, claim_signal FROM s3shift.uploader_claim_mismatches ORDER BY object_key")
        .await;
    let claims: Vec<(Option<&str>, Option<&str>)> =
        claims.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(
        claims,
        [
            (Some("a/avatar.png"), Some("not_an_image")),
            (Some("a/poly.jpg"), Some("markup_in_image")),
            (Some("a/really-a-png.jpg"), None),
        ]
    );
    // Analysts see no creator; the creators' view is s3shift_gps's.
    let analyst = stack.query("SELECT * FROM s3shift.analyst_images LIMIT 1").await;
    assert!(!analyst.is_empty());
    stack.assert_exactly_once(5).await;
}

/// `checksums = true`: one HeadObject more per object gives the checksum S3 keeps, and the same bytes under two
/// keys (two services uploading one image) meet in `s3shift.duplicate_uploads`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksums_find_the_same_bytes_under_two_keys() {
    let stack = Stack::start(BIN, "checksums = true").await;
    let jpeg = repo::a_jpeg();
    stack.put("a/one.jpg", jpeg.clone()).await;
    stack.put("b/same.jpg", jpeg.clone()).await;
    let mut other = jpeg;
    other.push(0);
    stack.put("a/other.jpg", other).await;
    stack.migrate().await;
    let run = stack.s3shift(&["run", "--json"], &[]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    // One GET and one HEAD per object (each object fits its first range).
    assert_eq!(summary["get_requests"], 6, "{summary}");
    let rows = stack
        .query("SELECT object_key, checksum_algorithm, checksum_type, copies FROM s3shift.duplicate_uploads ORDER BY 1")
        .await;
    let keys: Vec<Option<&str>> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(keys, [Some("a/one.jpg"), Some("b/same.jpg")], "{rows:?}");
    assert_eq!(rows[0][2].as_str(), Some("FULL_OBJECT"));
    assert_eq!(rows[0][3].as_i64(), Some(2));
    let algorithms = stack
        .query("SELECT DISTINCT checksum_algorithm FROM s3shift.images")
        .await;
    assert_eq!(
        algorithms.len(),
        1,
        "every object has its checksum: {algorithms:?}"
    );
    stack.assert_exactly_once(3).await;
}
