//! End to end, event mode: the job plans from S3's `ObjectCreated` notifications in its SQS queue. Events only;
//! events duplicated, reordered and delayed; a lost event caught by the reconciliation scan; kills at each stage
//! of an event run; a poison message reaching the dead-letter queue; `--follow` loading within its latency and
//! stopping on SIGTERM.
//!
//! Each test starts its own embedded S3, SQS and Data API servers ([`s3shift_testkit::Stack`]), where S3 sends
//! the events itself, and drives the real `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use s3shift_jobs::CrashPoint;
use s3shift_local::s3::FaultConfig;
use s3shift_testkit::{Stack, crash, repo, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

/// Visibility timeout of the tests' job: short, so a killed run's messages come back quickly.
const VISIBILITY: &str = "visibility_timeout_seconds = 2\nmax_latency_seconds = 1";

async fn put_images(stack: &Stack, n: usize, tag: &str) {
    let jpeg = repo::a_jpeg();
    for i in 0..n {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{tag}-{i}").as_bytes());
        let prefix = if i % 2 == 0 { "a" } else { "b" };
        stack.put(&format!("{prefix}/{tag}-{i:03}.jpg"), body).await;
    }
}

fn summary(out: &std::process::Output) -> serde_json::Value {
    let line = stdout(out).lines().last().map(str::to_owned).unwrap_or_default();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

async fn run_json(stack: &Stack, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "--json"];
    args.extend_from_slice(extra);
    let out = stack.s3shift(&args, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    summary(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_alone_load_new_objects_once_without_listing_the_bucket() {
    let stack = Stack::start(BIN, "").await;
    let queue = stack.enable_events(5, VISIBILITY).await;
    stack.migrate().await;
    put_images(&stack, 20, "new").await;
    let s = run_json(&stack, &[]).await;
    assert_eq!(s["mode"], "events");
    assert_eq!(s["objects_loaded"], 20, "{s}");
    assert_eq!(s["list_requests"], 0, "no listing: {s}");
    // 20 events plus the test event S3 sent when the notification was configured.
    assert_eq!(s["events"]["messages"], 21, "{s}");
    assert_eq!(s["events"]["ignored"], 1, "{s}");
    assert_eq!(s["events"]["deleted"], 21, "{s}");
    stack.assert_exactly_once(20).await;
    assert_eq!(stack.queue_depth(&queue).await, (0, 0), "every message deleted");
    // The next run has nothing to do and reads no ledger window: one statement, its report.
    let s = run_json(&stack, &[]).await;
    assert_eq!(
        (s["objects_loaded"].as_u64(), s["status"].as_str()),
        (Some(0), Some("empty")),
        "{s}"
    );
    assert_eq!(s["data_api_statements"], 1, "{s}");
    // doctor sees the bucket's notification to the queue, and the dead-letter queue.
    let out = stack.s3shift(&["doctor"], &[]).await;
    let text = stdout(&out);
    assert!(text.contains("s3:ObjectCreated:* sent to"), "{text}");
    assert!(
        text.contains("dead-letter queue") && text.contains("empty"),
        "{text}"
    );
    // --dry-run says what a follower of this job costs, not only its schedule (issue 28 item 5).
    let out = stack.s3shift(&["run", "--dry-run"], &[]).await;
    let text = stdout(&out);
    let follower = text
        .lines()
        .find(|l| l.trim_start().starts_with("follower"))
        .unwrap_or_else(|| panic!("no follower line: {text}"));
    assert!(
        follower.contains("loads a day with uploads all day (--follow: one each max_latency_seconds = ")
            && follower.contains("plus 24.0 reconciliation scans): at least ")
            && follower.contains("RPU-hours a day, ")
            && follower.contains("in a 31-day month; compare with the workgroup's usage limit"),
        "{follower}"
    );
    // schedule --print shows the reconciliation scan beside the job's own schedule.
    let out = stack.s3shift(&["schedule", "--print", "eventbridge"], &[]).await;
    assert!(
        stdout(&out).contains("e2e-reconcile\tcron(30 * * * ? *)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_reordered_and_delayed_events_load_each_object_once() {
    let stack = Stack::start(BIN, "").await;
    let queue = stack.enable_events(5, VISIBILITY).await;
    stack.migrate().await;
    put_images(&stack, 10, "dup").await;
    // Take every event out and send each back three times, in reverse order.
    let sqs = stack.sqs();
    let mut bodies = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            bodies.push(m.body().unwrap().to_owned());
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(bodies.len(), 11, "10 events and the test event");
    for _ in 0..3 {
        for body in bodies.iter().rev() {
            sqs.send_message()
                .queue_url(&queue)
                .message_body(body)
                .send()
                .await
                .unwrap();
        }
    }
    let s = run_json(&stack, &[]).await;
    assert_eq!(s["objects_loaded"], 10, "{s}");
    assert_eq!(s["events"]["duplicates"], 20, "{s}");
    assert_eq!(s["events"]["deleted"], 33, "{s}");
    stack.assert_exactly_once(10).await;
    // A late copy of an event, after its object was loaded: found in the ledger, deleted, nothing read.
    sqs.send_message()
        .queue_url(&queue)
        .message_body(&bodies[3])
        .send()
        .await
        .unwrap();
    let s = run_json(&stack, &[]).await;
    assert_eq!(s["events"]["already_loaded"], 1, "{s}");
    assert_eq!(s["events"]["deleted"], 1, "{s}");
    assert_eq!(s["get_requests"], 0, "{s}");
    stack.assert_exactly_once(10).await;
    // Garbage and a delete event are acknowledged, never crash a run.
    sqs.send_message()
        .queue_url(&queue)
        .message_body("not json")
        .send()
        .await
        .unwrap();
    let delete = bodies[3].replace("ObjectCreated:Put", "ObjectRemoved:Delete");
    sqs.send_message()
        .queue_url(&queue)
        .message_body(&delete)
        .send()
        .await
        .unwrap();
    let out = stack.s3shift(&["run", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(
        (s["events"]["malformed"].as_u64(), s["events"]["ignored"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert!(
        stderr(&out).contains("not an S3 event notification"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stack.queue_depth(&queue).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_event_is_caught_by_the_reconciliation_scan_before_expiry() {
    let stack = Stack::start(BIN, "").await;
    let queue = stack
        .enable_events(5, &format!("{VISIBILITY}\nreconcile_grace_seconds = 600"))
        .await;
    stack.migrate().await;
    // Three uploads an hour old whose events were lost, and one fresh upload whose event is waiting.
    stack
        .put_settled("uploads", &["a/lost-1.jpg", "a/lost-2.jpg", "b/lost-3.jpg"])
        .await;
    stack.sqs().purge_queue().queue_url(&queue).send().await.unwrap();
    put_images(&stack, 1, "fresh").await;
    // The scan loads the three, counts them as event misses, and leaves the fresh one to its event.
    let s = run_json(&stack, &["--scan"]).await;
    assert_eq!(s["mode"], "reconcile");
    assert_eq!(s["objects_loaded"], 3, "{s}");
    assert_eq!(s["event_misses"], 3, "{s}");
    assert_eq!(s["objects_too_young"], 1, "{s}");
    let s = run_json(&stack, &[]).await;
    assert_eq!(
        (s["mode"].as_str(), s["objects_loaded"].as_u64()),
        (Some("events"), Some(1)),
        "{s}"
    );
    stack.assert_exactly_once(4).await;
    // Nothing is missed any more.
    let s = run_json(&stack, &["--scan"]).await;
    assert_eq!(s["event_misses"], 0, "{s}");
    // The metric line carries the misses.
    let out = stack
        .s3shift(&["run", "--scan"], &[("S3SHIFT_LOG_FORMAT", "json".into())])
        .await;
    assert!(
        stderr(&out).contains("s3shift_event_misses_count"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_any_stage_of_an_event_run_loses_and_duplicates_nothing() {
    for point in CrashPoint::ALL {
        eprintln!("failpoint {point}");
        let stack = Stack::start(BIN, "").await;
        let queue = stack.enable_events(5, VISIBILITY).await;
        stack.migrate().await;
        put_images(&stack, 12, "k").await;
        let killed = stack.s3shift(&["run"], &crash::abort_at(point)).await;
        assert_eq!(killed.status.code(), None, "{point}: killed; {}", stderr(&killed));
        // The killed run's messages come back after their visibility timeout.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let rerun = stack.s3shift(&["run", "--json"], &[]).await;
        assert_eq!(rerun.status.code(), Some(0), "{point}: {}", stderr(&rerun));
        stack.assert_exactly_once(12).await;
        assert_eq!(
            stack.queue_depth(&queue).await,
            (0, 0),
            "{point}: every message deleted"
        );
        let loaded = stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status IN ('finished', 'partial')")
            .await;
        assert_eq!(loaded, 1, "{point}: exactly one run loaded the objects");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_reaches_the_dead_letter_queue_and_status_shows_it() {
    let faults = FaultConfig {
        denied_keys: vec!["poison".into()],
        ..FaultConfig::default()
    };
    let stack = Stack::start_with_faults(BIN, "", faults).await;
    let queue = stack.enable_events(2, VISIBILITY).await;
    stack.migrate().await;
    put_images(&stack, 4, "ok").await;
    stack.put("a/poison.jpg", repo::a_jpeg()).await;
    // Receive 1: four loaded, the poison left. Receive 2: left again. Then SQS moves it to the DLQ.
    for round in 0..2 {
        let out = stack.s3shift(&["run", "--json"], &[]).await;
        assert_eq!(
            out.status.code(),
            Some(3),
            "round {round}: partial; {}",
            stderr(&out)
        );
        let s = summary(&out);
        assert_eq!(s["objects_failed"], 1, "{s}");
        assert_eq!(s["events"]["left"], 1, "{s}");
        assert!(stderr(&out).contains("dead-letter queue"), "{}", stderr(&out));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }
    let s = run_json(&stack, &[]).await;
    assert_eq!(
        s["events"]["messages"], 0,
        "the poison message left the queue: {s}"
    );
    stack.assert_exactly_once(4).await;
    let dlq = queue.replace("uploads-events", "uploads-events-dlq");
    assert_eq!(stack.queue_depth(&dlq).await.0, 1, "in the dead-letter queue");
    assert_eq!(s["dead_letter_messages"], 1, "the run reports it: {s}");
    let out = stack.s3shift(&["status"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("dead-letter queue"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_loads_within_its_latency_and_stops_on_sigterm() {
    let stack = Stack::start(BIN, "").await;
    let queue = stack
        .enable_events(
            5,
            "visibility_timeout_seconds = 30\nmax_latency_seconds = 2\nmax_batch = 1000",
        )
        .await;
    stack.migrate().await;
    let mut cmd = stack.command(&["run", "--follow", "--json"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    put_images(&stack, 6, "f1").await;
    // Loaded within max_latency (2 s) plus a load.
    let mut loaded = 0;
    for _ in 0..100 {
        loaded = stack.count("SELECT COUNT(*) FROM s3shift.images").await;
        if loaded == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(loaded, 6, "the first batch loaded within 10 s");
    put_images(&stack, 4, "f2").await;
    for _ in 0..100 {
        loaded = stack.count("SELECT COUNT(*) FROM s3shift.images").await;
        if loaded == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(loaded, 10, "the second batch loaded too");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(runs.len() >= 2, "one run per batch: {}", stdout(&out));
    assert!(runs.iter().all(|r| r["mode"] == "events"));
    stack.assert_exactly_once(10).await;
    assert_eq!(stack.queue_depth(&queue).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_longer_than_the_visibility_timeout_keeps_its_messages_hidden() {
    // Each load holds its commit 5 s: more than twice the queue's 2 s visibility timeout.
    let stack = Stack::start_with(BIN, "", FaultConfig::default(), |rs| {
        rs.faults.copy_commit_delay = Duration::from_secs(5);
    })
    .await;
    let queue = stack.enable_events(5, VISIBILITY).await;
    stack.migrate().await;
    put_images(&stack, 8, "hb").await;
    let mut cmd = stack.command(&["run", "--json"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Once the run holds the messages, none of them becomes visible again until it settles them.
    let mut held = false;
    let mut visible_while_held = 0;
    let mut polls = 0;
    while child.try_wait().unwrap().is_none() {
        let (visible, in_flight) = stack.queue_depth(&queue).await;
        if in_flight >= 8 {
            held = true;
        }
        if held {
            visible_while_held = visible_while_held.max(visible);
        }
        polls += 1;
        assert!(polls < 600, "the run did not end within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(held, "the run was seen holding its messages");
    assert_eq!(
        visible_while_held,
        0,
        "no message came back while the run held it: {}",
        stderr(&out)
    );
    let s = summary(&out);
    assert_eq!(s["objects_loaded"], 8, "{s}");
    stack.assert_exactly_once(8).await;
    assert_eq!(stack.queue_depth(&queue).await, (0, 0), "every message deleted");
}

/// Issue 27 item 11: queues live in memory, notifications in the folder; a notification whose queue is gone
/// (as after `local` restarts) is found, so that `local` names it with the fix at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_to_a_queue_that_is_gone_is_named() {
    let stack = Stack::start(BIN, "").await;
    let queue = stack.enable_events(5, "").await;
    assert!(
        stack
            .local
            .notifications_to_missing_queues()
            .await
            .unwrap()
            .is_empty()
    );
    stack.sqs().delete_queue().queue_url(&queue).send().await.unwrap();
    let orphans = stack.local.notifications_to_missing_queues().await.unwrap();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert_eq!(orphans[0].0, "uploads");
    assert!(orphans[0].1.ends_with(":uploads-events"), "{orphans:?}");
}
