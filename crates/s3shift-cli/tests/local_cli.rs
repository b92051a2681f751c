//! `s3shift local` as a person runs it: prints its endpoints and exports, serves S3 and the Data API, stops on
//! SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![cfg(feature = "local")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn serves_s3_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args([
            "local",
            "--dir",
            dir.path().to_str().unwrap(),
            "--s3-port",
            "0",
            "--redshift-port",
            "0",
            "--sqs-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    // The endpoints and exports, up to the last export.
    while !printed
        .last()
        .is_some_and(|l: &String| l.starts_with("export AWS_REGION="))
    {
        assert!(printed.len() < 60, "no AWS_REGION export in {printed:?}");
        printed.push(lines.next().unwrap().unwrap());
    }
    let endpoint = printed
        .iter()
        .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL_S3="))
        .unwrap_or_else(|| panic!("no endpoint in {printed:?}"))
        .to_owned();
    assert!(
        printed.iter().any(|l| l.starts_with("export AWS_ACCESS_KEY_ID=")),
        "{printed:?}"
    );
    // Each identity, as `# identity NAME: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...`.
    for name in ["loader", "analyst", "nobody"] {
        let line = printed
            .iter()
            .find(|l| l.starts_with(&format!("# identity {name}: AWS_ACCESS_KEY_ID=")))
            .unwrap_or_else(|| panic!("no identity {name} in {printed:?}"));
        assert!(line.contains(" AWS_SECRET_ACCESS_KEY="), "{line}");
    }
    assert!(
        printed.contains(&"export AWS_DEFAULT_REGION=us-east-1".to_owned())
            && printed.iter().any(|l| l.contains("--admin-secret-arn): 'arn:")),
        "boto3 and AWS CLI v1 read AWS_DEFAULT_REGION; the admin ARN is quoted for bash: {printed:?}"
    );
    // stdout holds what a person pastes or a script evals, no log event (those go to stderr).
    assert!(
        printed
            .iter()
            .all(|l| l.starts_with("export ") || l.starts_with('#') || l.starts_with("s3shift local: ")),
        "{printed:?}"
    );
    // Without it, botocore clients stall 60 s after uploading an empty object (boto/botocore#3755).
    assert!(
        printed.contains(&"export BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE=true".to_owned()),
        "{printed:?}"
    );

    // An unsigned request is refused the way S3 refuses it: the server speaks S3.
    let addr = endpoint.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        conn,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("<Code>AccessDenied</Code>") || answer.contains("<Code>"),
        "{answer}"
    );
    assert!(dir.path().join("s3/buckets").is_dir());

    // The Data API answers an unsigned request the way the service does.
    let rs = printed
        .iter()
        .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL_REDSHIFT_DATA="))
        .unwrap_or_else(|| panic!("no Data API endpoint in {printed:?}"))
        .trim_start_matches("http://")
        .to_owned();
    let mut conn = TcpStream::connect(&rs).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(conn, "POST / HTTP/1.1\r\nHost: {rs}\r\nX-Amz-Target: RedshiftData.ListStatements\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("MissingAuthenticationTokenException"), "{answer}");
    assert!(dir.path().join("warehouse.duckdb").is_file());

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_s3shift"))
        .args([
            "local",
            "--dir",
            dir.path().to_str().unwrap(),
            "--s3-port",
            &port,
            "--redshift-port",
            "0",
            "--sqs-port",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&port) && err.contains("binding") && err.contains("pass --s3-port 0"),
        "{err}"
    );
}
