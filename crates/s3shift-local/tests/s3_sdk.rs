//! Conformance of the S3 stand-in with the real aws-sdk-s3 client: every call the pipeline makes, and the
//! failure paths it must handle (412, 404, 416, 403, 503 SlowDown, a connection dropped mid-body).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, CompletedMultipartUpload, CompletedPart, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, FaultConfig, LocalS3Config, LocalS3Server};

struct Fixture {
    _dir: tempfile::TempDir,
    server: LocalS3Server,
}

async fn start(faults: FaultConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LocalS3Config::new(dir.path());
    config.faults = faults;
    let server = LocalS3Server::start(config).await.unwrap();
    Fixture { _dir: dir, server }
}

fn client_with(server: &LocalS3Server, secret: &str, retry: RetryConfig) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint_url())
        .force_path_style(true)
        .credentials_provider(Credentials::new(DEFAULT_ACCESS_KEY, secret, None, None, "test"))
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

fn client(server: &LocalS3Server) -> Client {
    client_with(server, DEFAULT_SECRET_KEY, RetryConfig::standard())
}

async fn put(
    c: &Client,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap()
}

async fn get_bytes(c: &Client, bucket: &str, key: &str, range: Option<&str>) -> (Vec<u8>, Option<String>) {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range.map(str::to_owned))
        .send()
        .await
        .unwrap();
    let range = out.content_range().map(str::to_owned);
    (out.body.collect().await.unwrap().into_bytes().to_vec(), range)
}

#[tokio::test]
async fn list_objects_v2_pages_prefixes_and_delimiters() {
    let f = start(FaultConfig::default()).await;
    let c = client(&f.server);
    c.create_bucket().bucket("ingest").send().await.unwrap();
    let keys = [
        "a/1.jpg",
        "a/2.jpg",
        "a/3.jpg",
        "b/1.png",
        "b/x/2.png",
        "top.gif",
        "with space & 'quote'.jpg",
    ];
    for k in keys {
        put(&c, "ingest", k, k.as_bytes()).await;
    }
    // Paging: 2 keys a page, continuation tokens until done, every key once and in order.
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let out = c
            .list_objects_v2()
            .bucket("ingest")
            .max_keys(2)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        seen.extend(out.contents().iter().map(|o| o.key().unwrap().to_owned()));
        if out.is_truncated() != Some(true) {
            break;
        }
        token = out.next_continuation_token().map(str::to_owned);
    }
    let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(pages, 4);
    // The SDK's own paginator agrees.
    let pages: Vec<_> = c
        .list_objects_v2()
        .bucket("ingest")
        .max_keys(3)
        .into_paginator()
        .send()
        .collect()
        .await;
    assert_eq!(pages.len(), 3);
    let listed: usize = pages.into_iter().map(|p| p.unwrap().contents().len()).sum();
    assert_eq!(listed, keys.len());
    // Prefix and delimiter.
    let out = c
        .list_objects_v2()
        .bucket("ingest")
        .prefix("b/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let objects: Vec<_> = out.contents().iter().map(|o| o.key().unwrap()).collect();
    let prefixes: Vec<_> = out
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap())
        .collect();
    assert_eq!(objects, ["b/1.png"]);
    assert_eq!(prefixes, ["b/x/"]);
    // start-after.
    let out = c
        .list_objects_v2()
        .bucket("ingest")
        .start_after("b/x/2.png")
        .send()
        .await
        .unwrap();
    let after: Vec<_> = out.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(after, ["top.gif", "with space & 'quote'.jpg"]);
    // Sizes, ETags and LastModified as S3 lists them.
    let out = c
        .list_objects_v2()
        .bucket("ingest")
        .prefix("top")
        .send()
        .await
        .unwrap();
    let o = &out.contents()[0];
    assert_eq!(o.size(), Some(7));
    assert!(o.e_tag().unwrap().starts_with('"'));
    assert!(o.last_modified().is_some());
}

#[tokio::test]
async fn ranged_gets_head_and_metadata() {
    let f = start(FaultConfig::default()).await;
    let c = client(&f.server);
    c.create_bucket().bucket("bkt").send().await.unwrap();
    let body: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let put_out = c
        .put_object()
        .bucket("bkt")
        .key("img.jpg")
        .content_type("image/jpeg")
        .metadata("uploader", "api")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    // The ETag of a single PUT is the quoted MD5 of the body, as in S3.
    let etag = put_out.e_tag().unwrap().to_owned();
    assert!(
        etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );

    let (b, r) = get_bytes(&c, "bkt", "img.jpg", Some("bytes=0-99")).await;
    assert_eq!(b, &body[..100]);
    assert_eq!(r.as_deref(), Some("bytes 0-99/1000"));
    let (b, r) = get_bytes(&c, "bkt", "img.jpg", Some("bytes=900-")).await;
    assert_eq!(b, &body[900..]);
    assert_eq!(r.as_deref(), Some("bytes 900-999/1000"));
    let (b, r) = get_bytes(&c, "bkt", "img.jpg", Some("bytes=-10")).await;
    assert_eq!(b, &body[990..]);
    assert_eq!(r.as_deref(), Some("bytes 990-999/1000"));
    // A range past the end is cut to the object, as S3 does.
    let (b, _) = get_bytes(&c, "bkt", "img.jpg", Some("bytes=990-131071")).await;
    assert_eq!(b, &body[990..]);
    // A range that starts past the end is 416 InvalidRange.
    let err = c
        .get_object()
        .bucket("bkt")
        .key("img.jpg")
        .range("bytes=5000-6000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(416));

    let head = c.head_object().bucket("bkt").key("img.jpg").send().await.unwrap();
    assert_eq!(head.content_length(), Some(1000));
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.content_type(), Some("image/jpeg"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("uploader"))
            .map(String::as_str),
        Some("api")
    );
    assert!(head.last_modified().is_some());

    let err = c
        .get_object()
        .bucket("bkt")
        .key("missing.jpg")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_no_such_key());
    let err = c
        .head_object()
        .bucket("bkt")
        .key("missing.jpg")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_not_found());
    c.delete_object()
        .bucket("bkt")
        .key("img.jpg")
        .send()
        .await
        .unwrap();
    assert!(c.head_object().bucket("bkt").key("img.jpg").send().await.is_err());
}

#[tokio::test]
async fn conditional_puts_answer_412_and_only_one_racer_wins() {
    let f = start(FaultConfig::default()).await;
    let c = client(&f.server);
    c.create_bucket().bucket("staging").send().await.unwrap();
    let first = c
        .put_object()
        .bucket("staging")
        .key("lease")
        .if_none_match("*")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await
        .unwrap();
    let err = c
        .put_object()
        .bucket("staging")
        .key("lease")
        .if_none_match("*")
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(412));
    // If-Match: only with the current ETag.
    let err = c
        .put_object()
        .bucket("staging")
        .key("lease")
        .if_match("\"0000\"")
        .body(ByteStream::from_static(b"c"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(412));
    c.put_object()
        .bucket("staging")
        .key("lease")
        .if_match(first.e_tag().unwrap())
        .body(ByteStream::from_static(b"d"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&c, "staging", "lease", None).await.0, b"d");

    // Sixteen writers race for a new lease: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.put_object()
                .bucket("staging")
                .key("race")
                .if_none_match("*")
                .body(ByteStream::from(vec![i]))
                .send()
                .await
                .is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += u32::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn lifecycle_configuration_is_stored_and_returned() {
    let f = start(FaultConfig::default()).await;
    let c = client(&f.server);
    c.create_bucket().bucket("api-ingest").send().await.unwrap();
    let err = c
        .get_bucket_lifecycle_configuration()
        .bucket("api-ingest")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("NoSuchLifecycleConfiguration")
    );
    let rule = LifecycleRule::builder()
        .id("expire-7d")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket("api-ingest")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let out = c
        .get_bucket_lifecycle_configuration()
        .bucket("api-ingest")
        .send()
        .await
        .unwrap();
    let rules = out.rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id(), Some("expire-7d"));
    assert_eq!(rules[0].status(), &ExpirationStatus::Enabled);
    assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(7));

    // S3's own check: days must be positive.
    let bad = LifecycleRule::builder()
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("x/").build())
        .expiration(LifecycleExpiration::builder().days(0).build())
        .build()
        .unwrap();
    let err = c
        .put_bucket_lifecycle_configuration()
        .bucket("api-ingest")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(bad)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("InvalidArgument"));

    // Stored on disk: a new server over the same directory still has it.
    c.delete_bucket_lifecycle()
        .bucket("api-ingest")
        .send()
        .await
        .unwrap();
    let err = c
        .get_bucket_lifecycle_configuration()
        .bucket("api-ingest")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("NoSuchLifecycleConfiguration")
    );
    let err = c
        .get_bucket_lifecycle_configuration()
        .bucket("no-such-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("NoSuchBucket"));
}

#[tokio::test]
async fn lifecycle_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start(LocalS3Config::new(dir.path()))
        .await
        .unwrap();
    let c = client(&server);
    c.create_bucket().bucket("kafka-ingest").send().await.unwrap();
    let rule = LifecycleRule::builder()
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket("kafka-ingest")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    server.stop().await;
    let server = LocalS3Server::start(LocalS3Config::new(dir.path()))
        .await
        .unwrap();
    let c = client(&server);
    let out = c
        .get_bucket_lifecycle_configuration()
        .bucket("kafka-ingest")
        .send()
        .await
        .unwrap();
    assert_eq!(out.rules()[0].expiration().and_then(|e| e.days()), Some(7));
}

#[tokio::test]
async fn multipart_upload_assembles_the_parts() {
    let f = start(FaultConfig::default()).await;
    let c = client(&f.server);
    c.create_bucket().bucket("staging").send().await.unwrap();
    let up = c
        .create_multipart_upload()
        .bucket("staging")
        .key("part-00000.parquet")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part1 = vec![1u8; 5 * 1024 * 1024];
    let part2 = vec![2u8; 1000];
    let mut done = Vec::new();
    for (n, data) in [(1, &part1), (2, &part2)] {
        let out = c
            .upload_part()
            .bucket("staging")
            .key("part-00000.parquet")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("staging")
        .key("part-00000.parquet")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap();
    let (b, _) = get_bytes(&c, "staging", "part-00000.parquet", None).await;
    assert_eq!(b.len(), part1.len() + part2.len());
    assert_eq!(&b[..part1.len()], &part1[..]);
    assert_eq!(&b[part1.len()..], &part2[..]);
}

#[tokio::test]
async fn a_wrong_secret_is_refused() {
    let f = start(FaultConfig::default()).await;
    let c = client_with(&f.server, "not-the-secret", RetryConfig::disabled());
    let err = c.list_buckets().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
}

#[tokio::test]
async fn slowdown_answers_are_503_and_the_sdk_retries_through_them() {
    // Every request refused: a client without retries sees S3's SlowDown.
    let f = start(FaultConfig {
        slowdown_per_mille: 1000,
        ..FaultConfig::default()
    })
    .await;
    let c = client_with(&f.server, DEFAULT_SECRET_KEY, RetryConfig::disabled());
    let err = c.list_buckets().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert_eq!(err.into_service_error().meta().code(), Some("SlowDown"));

    // Half refused, seeded: the SDK's standard retry gets every call through.
    let f = start(FaultConfig {
        slowdown_per_mille: 500,
        seed: 7,
        ..FaultConfig::default()
    })
    .await;
    let retrying = RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(1));
    let c = client_with(&f.server, DEFAULT_SECRET_KEY, retrying);
    c.create_bucket().bucket("bkt").send().await.unwrap();
    for i in 0..20 {
        put(&c, "bkt", &format!("k{i}"), b"x").await;
    }
    let out = c.list_objects_v2().bucket("bkt").send().await.unwrap();
    assert_eq!(out.key_count(), Some(20));
}

#[tokio::test]
async fn a_body_cut_mid_way_is_an_error_not_short_data() {
    let f = start(FaultConfig::default()).await;
    let c = client(&f.server);
    c.create_bucket().bucket("bkt").send().await.unwrap();
    put(&c, "bkt", "big.jpg", &vec![7u8; 100_000]).await;
    f.server.stop().await;
    // Same directory, now cutting every body.
    let dir = f._dir;
    let mut config = LocalS3Config::new(dir.path());
    config.faults = FaultConfig {
        drop_body_per_mille: 1000,
        ..FaultConfig::default()
    };
    let server = LocalS3Server::start(config).await.unwrap();
    let c = client(&server);
    let out = c.get_object().bucket("bkt").key("big.jpg").send().await.unwrap();
    assert_eq!(out.content_length(), Some(100_000));
    assert!(
        out.body.collect().await.is_err(),
        "a cut body must not read as a complete one"
    );
}

#[tokio::test]
async fn latency_is_added_to_each_request() {
    let f = start(FaultConfig {
        latency: Duration::from_millis(50),
        ..FaultConfig::default()
    })
    .await;
    let c = client(&f.server);
    let started = std::time::Instant::now();
    c.list_buckets().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(50));
}
