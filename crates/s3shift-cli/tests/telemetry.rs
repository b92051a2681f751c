//! End to end, telemetry: JSON log lines and EMF metrics off a terminal, on stderr, with stdout left to the
//! command's own output; shipping to CloudWatch Logs (moto).
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_terminal_logs_are_json_lines_and_the_run_emits_emf_metrics() {
    let stack = Stack::start(BIN, "").await;
    stack.put("a/x.jpg", repo::a_jpeg()).await;
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
    // stdout holds one JSON document, the summary, so `| jq .status` works.
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", stdout(&out)));
    assert_eq!(summary["objects_loaded"], 1);
    assert_eq!(summary["status"], "finished");
    // The log events and the metric line: JSON lines on stderr.
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let progress = lines
        .iter()
        .rfind(|v| v["event"] == "progress")
        .unwrap_or_else(|| panic!("a progress event in {}", stderr(&out)));
    assert_eq!(progress["objects_read"], 1);
    assert_eq!(progress["objects_planned"], 1);
    let summary_event = lines
        .iter()
        .find(|v| v["event"] == "run_summary")
        .expect("run_summary log event");
    assert_eq!(summary_event["level"], "INFO");
    assert_eq!(summary_event["objects_loaded"], 1);
    // Numbers as numbers, not Rust's `Some(176.04)`.
    assert!(summary_event["min_slack_hours"].is_f64(), "{summary_event}");
    // Every event of the run carries its run id through the run's span.
    let run_id = summary["run_id"].as_str().unwrap();
    for event in ["progress", "run_summary"] {
        let v = lines.iter().find(|v| v["event"] == event).unwrap();
        assert_eq!(v["span"]["run_id"], run_id, "{v}");
        assert_eq!(v["span"]["job"], "e2e", "{v}");
    }
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
    // `status --json` and `doctor --json`: one document each, whatever the log format.
    for args in [&["status", "--json"][..], &["doctor", "--json"][..]] {
        let out = stack
            .s3shift(args, &[("S3SHIFT_LOG_FORMAT", "json".into())])
            .await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let doc: Result<serde_json::Value, _> = serde_json::from_str(stdout(&out).trim());
        assert!(
            doc.is_ok(),
            "{args:?}: stdout is not one JSON document: {}",
            stdout(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_to_cloudwatch_ships_the_run_and_its_final_summary() {
    let moto = tokio::task::spawn_blocking(s3shift_testkit::moto::start_moto)
        .await
        .unwrap();
    let stack = Stack::start(BIN, "").await;
    stack.put("a/x.jpg", repo::a_jpeg()).await;
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
