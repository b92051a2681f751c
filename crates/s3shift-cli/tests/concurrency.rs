//! End to end, loads that overlap: exactly once under Redshift Serverless's default SNAPSHOT isolation and under
//! SERIALIZABLE, with the overlaps run at the same moment, not one after the other:
//! - two job files over one prefix, both planned before either loads (each paused after its plan);
//! - a load whose DescribeStatement keeps failing while its batch still runs (the Data API stand-in throttles
//!   it): re-attached to, never submitted again;
//! - a lease holder that stalls past its TTL (SIGSTOP) while the next run takes its lease and finishes its load:
//!   woken, its batch is fenced and commits nothing;
//! - three followers of one queue, killed and replaced (SIGKILL) while 10,000 uploads arrive;
//! - a backfill sent to the followers as work items (`backfill --enqueue`), taken by event runs a piece at a
//!   time and by two followers at once: each object read once again, loaded once.
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use s3shift_jobs::CrashPoint;
use s3shift_local::redshift::{Armed, Isolation};
use s3shift_local::s3::FaultConfig;
use s3shift_testkit::crash;
use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

async fn put_images(stack: &Stack, n: usize) {
    let jpeg = repo::a_jpeg();
    for i in 0..n {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{i}").as_bytes());
        stack.put(&format!("a/img-{i:03}.jpg"), body).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jobs_over_one_prefix_at_the_same_moment_load_each_object_once() {
    for isolation in [Isolation::Snapshot, Isolation::Serializable] {
        // Each load holds its transaction open a while before committing, so the second one's batch is
        // submitted while the first one's still runs.
        let stack = Stack::start_with(BIN, "", FaultConfig::default(), |rs| {
            rs.isolation = isolation;
            rs.faults.copy_commit_delay = Duration::from_millis(700);
        })
        .await;
        put_images(&stack, 20).await;
        stack.migrate().await;
        let twin = stack.write_job("twin", &["a/"], "concurrency = 8");
        // Both plan all 20 objects before either loads anything.
        let first = crash::run_job_paused_at(&stack, &stack.job, CrashPoint::AfterPlan, &[]).await;
        let second = crash::run_job_paused_at(&stack, &twin, CrashPoint::AfterPlan, &[]).await;
        first.release();
        second.release();
        for (name, run) in [("e2e", first), ("twin", second)] {
            let out = run.child.await.unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{isolation:?} {name}: {}",
                stderr(&out)
            );
            assert!(
                stdout(&out).contains("loaded 20"),
                "{isolation:?} {name} loaded every object it planned: {}",
                stdout(&out)
            );
            assert!(
                stderr(&out).contains("both read s3://uploads/a/"),
                "{isolation:?} {name} warns of the overlap: {}",
                stderr(&out)
            );
        }
        // Both runs named the overlap; so does doctor.
        let doctor = stack.s3shift(&["doctor"], &[]).await;
        assert!(
            stdout(&doctor).contains("WARN  overlapping jobs: jobs e2e and twin"),
            "{}",
            stdout(&doctor)
        );
        // Two loads of the same 20 objects committed, one after the other; each object has one row.
        assert_eq!(stack.count("SELECT COUNT(*) FROM sys_load_history").await, 2);
        stack.assert_exactly_once(20).await;
        let runs = stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status = 'finished'")
            .await;
        assert_eq!(runs, 2, "{isolation:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_whose_describe_fails_is_waited_for_never_submitted_again() {
    let describe = Armed::default();
    let stack = Stack::start_with(BIN, "", FaultConfig::default(), |rs| {
        rs.faults.describe_failures = describe.clone();
        rs.faults.copy_commit_delay = Duration::from_secs(2);
    })
    .await;
    put_images(&stack, 10).await;
    stack.migrate().await;
    // The first run dies right after submitting its load, before recording the batch's id: the batch runs on.
    let killed = stack
        .s3shift(&["run"], &crash::abort_at(CrashPoint::AfterSubmit))
        .await;
    assert_eq!(killed.status.code(), None, "killed; {}", stderr(&killed));
    // The next run finds the batch by name, but DescribeStatement is throttled: the SDK tries each call eight
    // times (`clients`), so two lookups fail before one answers.
    describe.arm(16);
    let rerun = stack.s3shift(&["run"], &[]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert_eq!(describe.remaining(), 0, "every injected failure was met");
    assert!(
        stderr(&rerun).contains("looking up the interrupted load failed; trying again"),
        "{}",
        stderr(&rerun)
    );
    // One COPY ran: the running batch was re-attached to, not submitted beside itself.
    assert_eq!(stack.count("SELECT COUNT(*) FROM sys_load_history").await, 1);
    stack.assert_exactly_once(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lease_holder_is_fenced_and_commits_nothing() {
    let stack = Stack::start(BIN, "lease_ttl_seconds = 3").await;
    put_images(&stack, 6).await;
    stack.migrate().await;
    // The holder has staged its load and checked its lease, then stalls (a frozen task renews nothing).
    let stale = crash::run_paused_at(&stack, CrashPoint::BeforeSubmit, &[]).await;
    stale.signal("STOP");
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Its lease has expired: the next run takes it over and finishes the stalled run's load.
    let next = stack.s3shift(&["run"], &[]).await;
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    assert!(
        stderr(&next).contains("took over a stale lease"),
        "{}",
        stderr(&next)
    );
    stack.assert_exactly_once(6).await;
    let fence = stack
        .query("SELECT generation, run_id FROM s3shift.load_fences")
        .await;
    assert_eq!(fence.len(), 1, "one fence per lease");
    let taken_over_at = fence[0][0].as_i64().unwrap();
    // The stalled holder wakes up and submits under its old generation: fenced, nothing committed.
    stale.release();
    stale.signal("CONT");
    let woken = stale.child.await.unwrap();
    assert_eq!(woken.status.code(), Some(1), "{}", stderr(&woken));
    assert!(
        stderr(&woken).contains("fenced: this run held generation"),
        "{}",
        stderr(&woken)
    );
    stack.assert_exactly_once(6).await;
    let after = stack
        .count("SELECT MAX(generation) FROM s3shift.load_fences")
        .await;
    assert_eq!(after, taken_over_at, "the fenced batch recorded nothing");
    // It did not bring back the pointer the next run had cleared: a further run has nothing pending.
    let pointer = stack
        .store
        .get("stage", "staged/e2e/_state/pending-load.json")
        .await
        .unwrap();
    assert!(pointer.is_none(), "no pointer left behind");
    let again = stack.s3shift(&["run"], &[]).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("already loaded 6"), "{}", stdout(&again));
    stack.assert_exactly_once(6).await;
}

/// A follower of the job's queue, its log in `<dir>/<name>.log`.
fn follower(stack: &Stack, name: &str) -> std::process::Child {
    let log = std::fs::File::create(stack.dir.path().join(format!("{name}.log"))).unwrap();
    let mut cmd = stack.command(&["run", "--follow"]);
    cmd.stdout(std::process::Stdio::null()).stderr(log);
    cmd.spawn().unwrap()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_followers_on_one_queue_load_every_upload_once_through_kills() {
    const UPLOADS: usize = 10_000;
    let stack = Stack::start(BIN, "").await;
    let queue = stack
        .enable_events(
            1_000,
            "visibility_timeout_seconds = 5\nmax_latency_seconds = 1\nmax_batch = 500\nconsumers = 3",
        )
        .await;
    stack.migrate().await;
    let clock = std::time::Instant::now();
    let mut followers: Vec<std::process::Child> =
        (0..3).map(|i| follower(&stack, &format!("f{i}"))).collect();
    // Uploads arrive 16 at a time; after each quarter one follower is killed (SIGKILL: no drain, no release)
    // and a new one started in its place, as ECS replaces a task. Which one: a fixed order, so the test is
    // the same every time.
    let kill_order = [1usize, 0, 2];
    let mut started = 0;
    for quarter in 0..4 {
        let keys: Vec<String> = (quarter * UPLOADS / 4..(quarter + 1) * UPLOADS / 4)
            .map(|i| format!("a/up-{i:05}.jpg"))
            .collect();
        stack.put_distinct_jpegs(keys, 16).await;
        eprintln!("quarter {quarter} uploaded at {:?}", clock.elapsed());
        if let Some(&k) = kill_order.get(quarter) {
            followers[k].kill().unwrap();
            followers[k].wait().unwrap();
            started += 1;
            followers[k] = follower(&stack, &format!("f{k}-{started}"));
        }
    }
    // Every upload loaded, and every message settled (a killed follower's come back after 5 s).
    let mut state = (0, (u64::MAX, u64::MAX));
    for _ in 0..1_500 {
        state = (
            stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
            stack.queue_depth(&queue).await,
        );
        if state == (UPLOADS as i64, (0, 0)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(state, (UPLOADS as i64, (0, 0)), "loaded, and the queue empty");
    eprintln!("all loaded at {:?}", clock.elapsed());
    for f in &followers {
        crash::send_signal(f.id(), "TERM");
    }
    let logs = || {
        let mut text = String::new();
        for e in std::fs::read_dir(stack.dir.path()).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "log") {
                text.push_str(&format!("--- {}\n", e.path().display()));
                text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        text
    };
    for f in &mut followers {
        let status = f.wait().unwrap();
        assert!(
            status.success(),
            "a follower drains on SIGTERM: {status}\n{}",
            logs()
        );
    }
    eprintln!("followers stopped at {:?}", clock.elapsed());
    stack.assert_exactly_once(UPLOADS as i64).await;
    // No slot left stuck: no pending load in any, every lease released or held by a process that is gone.
    let state_objects = stack
        .store
        .list_prefix("stage", "staged/e2e/_state/")
        .await
        .unwrap();
    let pending: Vec<&str> = state_objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| k.contains("pending-load"))
        .collect();
    assert!(pending.is_empty(), "pending loads left: {pending:?}");
    for o in state_objects.iter().filter(|o| o.key.contains("lease")) {
        let body = stack.store.get("stage", &o.key).await.unwrap().unwrap();
        let lease: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let pid: u32 = lease["holder"]
            .as_str()
            .and_then(|h| h.split(':').nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap();
        assert!(lease["released"] == true || !alive(pid), "{}: {lease}", o.key);
    }
}

/// The last line of a `--json` command's standard output.
fn json_of(out: &std::process::Output) -> serde_json::Value {
    let line = stdout(out).lines().last().map(str::to_owned).unwrap_or_default();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// `backfill --since 2000-01-01 --enqueue` over the whole source: checks it sent `objects` in `messages` and
/// returns the request's time (the warehouse's clock), from which the objects count as read again.
async fn enqueue_backfill(stack: &Stack, objects: i64, messages: i64) -> String {
    let out = stack
        .s3shift(&["backfill", "--since", "2000-01-01", "--enqueue", "--json"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = json_of(&out);
    assert_eq!(
        (sent["objects"].as_i64(), sent["messages"].as_i64()),
        (Some(objects), Some(messages)),
        "{sent}"
    );
    sent["reprocess_unless_loaded_since"].as_str().unwrap().to_owned()
}

/// Ledger rows written from `since` on (the warehouse's clock).
async fn ledger_rows_since(stack: &Stack, since: &str) -> i64 {
    stack
        .count(&format!(
            "SELECT COUNT(*) FROM s3shift.loaded_objects WHERE loaded_at >= CAST('{since}' AS TIMESTAMPTZ)"
        ))
        .await
}

/// Objects staged by the runs that loaded from `since` on (the warehouse's clock, the runs' `loaded_at`).
async fn staged_since(stack: &Stack, since: &str) -> i64 {
    stack
        .count(&format!(
            "SELECT COALESCE(SUM(objects_staged), 0) FROM s3shift.runs \
             WHERE loaded_at >= CAST('{since}' AS TIMESTAMPTZ)"
        ))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueued_backfill_is_read_once_by_event_runs_even_when_a_run_takes_part_of_an_item() {
    // One run plans at most 15 objects, so 40 objects make three work items and three runs.
    let stack = Stack::start(BIN, "max_objects_per_run = 15").await;
    let queue = stack
        .enable_events(5, "visibility_timeout_seconds = 2\nmax_latency_seconds = 1")
        .await;
    stack.migrate().await;
    put_images(&stack, 40).await;
    for _ in 0..3 {
        let out = stack.s3shift(&["run", "--json"], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    stack.assert_exactly_once(40).await;
    assert_eq!(stack.queue_depth(&queue).await, (0, 0));

    let dry = stack
        .s3shift(
            &[
                "backfill",
                "--since",
                "2000-01-01",
                "--enqueue",
                "--dry-run",
                "--json",
            ],
            &[],
        )
        .await;
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(json_of(&dry)["messages"], 3, "{}", stdout(&dry));
    assert_eq!(stack.queue_depth(&queue).await, (0, 0), "a dry run sends nothing");

    let since = enqueue_backfill(&stack, 40, 3).await;
    assert_eq!(stack.queue_depth(&queue).await, (3, 0));

    // Each event run reads what the items still need; a released item comes back and skips what was loaded
    // again since the request.
    let mut runs = 0;
    while stack.queue_depth(&queue).await != (0, 0) {
        runs += 1;
        assert!(runs <= 6, "the backfill's items keep coming back");
        let out = stack.s3shift(&["run", "--json"], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(json_of(&out)["mode"], "events");
    }
    assert_eq!(runs, 3, "15 + 15 + 10 objects");
    assert_eq!(
        staged_since(&stack, &since).await,
        40,
        "each object read once again, no more"
    );
    assert_eq!(
        ledger_rows_since(&stack, &since).await,
        40,
        "every ledger row rewritten by the backfill"
    );
    stack.assert_exactly_once(40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_followers_share_an_enqueued_backfill_and_load_each_object_once() {
    let stack = Stack::start(BIN, "max_objects_per_run = 4").await;
    let queue = stack
        .enable_events(
            10,
            "visibility_timeout_seconds = 5\nmax_latency_seconds = 1\nmax_batch = 4\nconsumers = 2",
        )
        .await;
    stack.migrate().await;
    put_images(&stack, 40).await;
    let mut followers: Vec<std::process::Child> =
        (0..2).map(|i| follower(&stack, &format!("f{i}"))).collect();
    let settled = |want: i64, since: String| {
        let stack = &stack;
        let queue = &queue;
        async move {
            for _ in 0..600 {
                if ledger_rows_since(stack, &since).await == want && stack.queue_depth(queue).await == (0, 0)
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            false
        }
    };
    assert!(settled(40, "2000-01-01".into()).await, "the uploads loaded");
    let since = enqueue_backfill(&stack, 40, 10).await;
    assert!(
        settled(40, since.clone()).await,
        "the backfill loaded by the followers"
    );
    for f in &followers {
        crash::send_signal(f.id(), "TERM");
    }
    for f in &mut followers {
        assert!(f.wait().unwrap().success());
    }
    stack.assert_exactly_once(40).await;
    assert_eq!(
        staged_since(&stack, &since).await,
        40,
        "each object read once again, no more"
    );
    // Both followers took part (the items are shared, not taken by one).
    let runs = stack
        .count(&format!(
            "SELECT COUNT(DISTINCT RIGHT(run_id, 1)) FROM s3shift.runs \
             WHERE loaded_at >= CAST('{since}' AS TIMESTAMPTZ) AND objects_staged > 0"
        ))
        .await;
    assert_eq!(runs, 2, "both followers' slots loaded part of the backfill");
}
