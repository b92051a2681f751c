//! `S3Store` against the S3 stand-in over the real SDK: paging, conditional reads, vanished objects, lifecycle,
//! conditional creates, and bodies that break mid-stream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use bytes::Bytes;
use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, FaultConfig, LocalS3Config, LocalS3Server};
use s3shift_s3::{Error, S3Store, StoreConfig};

async fn start(faults: FaultConfig) -> (tempfile::TempDir, LocalS3Server, S3Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LocalS3Config::new(dir.path());
    config.faults = faults;
    let server = LocalS3Server::start(config).await.unwrap();
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(server.endpoint_url())
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                DEFAULT_ACCESS_KEY,
                DEFAULT_SECRET_KEY,
                None,
                None,
                "t",
            ))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(8)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .build(),
    );
    let store = S3Store::new(
        client,
        StoreConfig {
            list_page_keys: 7,
            body_retry_backoff: Duration::from_millis(1),
            body_retries: 10,
        },
    );
    store.ensure_bucket("src").await.unwrap();
    (dir, server, store)
}

#[tokio::test]
async fn listing_follows_pages_and_reads_are_conditional() {
    let (_dir, _server, s3) = start(FaultConfig::default()).await;
    for i in 0..30 {
        s3.put(
            "src",
            &format!("in/{i:03} it's %.jpg"),
            Bytes::from(vec![i as u8; 100 + i]),
            "image/jpeg",
        )
        .await
        .unwrap();
    }
    s3.put("src", "other/x", Bytes::from_static(b"x"), "text/plain")
        .await
        .unwrap();
    let listed = s3.list_prefix("src", "in/").await.unwrap();
    assert_eq!(listed.len(), 30, "every page followed");
    assert_eq!(listed[3].key, "003 it's %.jpg".replace("003", "in/003"));
    assert_eq!(listed[3].size, 103);
    assert!(!listed[3].etag.contains('"'));

    let r = s3.read_range(&listed[3], 0, 10).await.unwrap();
    assert_eq!(r.bytes.len(), 10);
    assert_eq!(r.object_size, Some(103));
    assert_eq!(r.content_type.as_deref(), Some("image/jpeg"));

    // Replaced since listed: the old identity is not read.
    s3.put(
        "src",
        &listed[4].key,
        Bytes::from_static(b"new content"),
        "image/jpeg",
    )
    .await
    .unwrap();
    let e = s3.read_range(&listed[4], 0, 10).await.unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e}");
    assert!(e.is_vanished());
    // Deleted since listed.
    s3.delete("src", &listed[5].key).await.unwrap();
    let e = s3.read_range(&listed[5], 0, 10).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(e.to_string().contains(&listed[5].key), "{e}");
}

#[tokio::test]
async fn conditional_create_lifecycle_and_missing_objects() {
    let (_dir, _server, s3) = start(FaultConfig::default()).await;
    let etag = s3
        .put_if_absent("src", "lease", Bytes::from_static(b"a"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        s3.put_if_absent("src", "lease", Bytes::from_static(b"b"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s3.get("src", "lease").await.unwrap().as_deref(), Some(&b"a"[..]));
    // Compare-and-swap: only the holder of the current ETag replaces it.
    let next = s3
        .put_if_match("src", "lease", Bytes::from_static(b"c"), &etag)
        .await
        .unwrap()
        .unwrap();
    assert!(
        s3.put_if_match("src", "lease", Bytes::from_static(b"d"), &etag)
            .await
            .unwrap()
            .is_none()
    );
    let (body, now) = s3.get_with_etag("src", "lease").await.unwrap().unwrap();
    assert_eq!((&body[..], now), (&b"c"[..], next));
    assert_eq!(s3.get("src", "nothing").await.unwrap(), None);
    s3.delete("src", "nothing").await.unwrap();
    assert!(s3.lifecycle("src").await.unwrap().is_empty());

    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter,
    };
    let rule = LifecycleRule::builder()
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("in/").build())
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .unwrap();
    s3.client()
        .put_bucket_lifecycle_configuration()
        .bucket("src")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let l = s3.lifecycle("src").await.unwrap();
    assert_eq!(l.days_for("in/a.jpg", 10), Some(7));
    assert_eq!(l.days_for("out/a.jpg", 10), None);
    let e = s3.lifecycle("no-such-bucket").await.unwrap_err();
    assert!(matches!(e, Error::NoSuchBucket { .. }), "{e}");
    assert!(
        !e.is_vanished(),
        "a missing bucket is a configuration error, not a vanished object"
    );
}

#[tokio::test]
async fn bodies_cut_mid_stream_are_read_again() {
    let faults = FaultConfig {
        drop_body_per_mille: 300,
        slowdown_per_mille: 200,
        seed: 7,
        ..FaultConfig::default()
    };
    let (_dir, _server, s3) = start(faults).await;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    s3.put(
        "src",
        "big.bin",
        Bytes::from(body.clone()),
        "application/octet-stream",
    )
    .await
    .unwrap();
    let listed = s3.list_prefix("src", "big").await.unwrap();
    for _ in 0..20 {
        let r = s3.read_range(&listed[0], 1000, 132_072).await.unwrap();
        assert_eq!(&r.bytes[..], &body[1000..132_072]);
    }
}
