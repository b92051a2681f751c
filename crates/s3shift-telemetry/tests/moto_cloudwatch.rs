//! CloudWatch Logs shipping against moto's server (a CloudWatch Logs stand-in, installed into .venv by
//! ./scripts/test): more events than one PutLogEvents batch takes, events bigger than a batch allows together,
//! and the flush on exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;

use s3shift_testkit::moto::start_moto;

fn client(url: &str) -> aws_sdk_cloudwatchlogs::Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            "k", "s", None, None, "t",
        ))
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

#[test]
fn twelve_thousand_events_and_big_ones_all_arrive_after_the_flush() {
    let moto = start_moto();
    let config = client(&moto.url).config().clone();
    let (layer, shipper) =
        s3shift_telemetry::cloudwatch::start_with("s3shift-test".into(), "stream-1".into(), Some(config));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..12_000 {
            tracing::info!(n = i, "event");
        }
        let big = "y".repeat(200_000);
        for i in 0..6 {
            tracing::warn!(n = i, payload = %big, "big event");
        }
        tracing::info!(event = "run_summary", objects_loaded = 42, "run finished");
    });
    shipper.flush(Duration::from_secs(60));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = client(&moto.url);
    let messages: Vec<String> = rt.block_on(async {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = c
                .get_log_events()
                .log_group_name("s3shift-test")
                .log_stream_name("stream-1")
                .start_from_head(true)
                .set_next_token(token.clone())
                .send()
                .await
                .unwrap();
            let n = page.events().len();
            out.extend(
                page.events()
                    .iter()
                    .filter_map(|e| e.message().map(str::to_owned)),
            );
            let next = page.next_forward_token().map(str::to_owned);
            if n == 0 || next == token {
                break;
            }
            token = next;
        }
        out
    });
    assert_eq!(messages.len(), 12_000 + 6 + 1, "every event arrived");
    let last: serde_json::Value = serde_json::from_str(messages.last().unwrap()).unwrap();
    assert_eq!(
        last["event"], "run_summary",
        "the final summary is shipped, and last"
    );
    assert_eq!(last["objects_loaded"], 42);
    assert!(
        messages
            .iter()
            .filter(|m| m.contains("big event"))
            .all(|m| m.len() > 200_000)
    );
}
