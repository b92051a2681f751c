//! Starting both stand-ins and talking to them with the real SDK clients.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::Schema;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput;
use aws_sdk_redshiftdata::types::{Field, StatusString};
use s3shift_local::redshift::{LocalRedshiftConfig, LocalRedshiftServer, S3Endpoint};
use s3shift_local::s3::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, LocalS3Config, LocalS3Server};

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub s3: LocalS3Server,
    pub redshift: LocalRedshiftServer,
    pub s3c: aws_sdk_s3::Client,
    pub rs: aws_sdk_redshiftdata::Client,
}

pub async fn stack_with(tune: impl FnOnce(&mut LocalRedshiftConfig)) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3Server::start(LocalS3Config::new(dir.path().join("s3")))
        .await
        .unwrap();
    let mut config = LocalRedshiftConfig::new(dir.path().join("warehouse.duckdb"));
    config.s3 = Some(S3Endpoint {
        url: s3.endpoint_url(),
        access_key: DEFAULT_ACCESS_KEY.into(),
        secret_key: DEFAULT_SECRET_KEY.into(),
    });
    tune(&mut config);
    let redshift = LocalRedshiftServer::start(config).await.unwrap();
    let creds =
        aws_sdk_s3::config::Credentials::new(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, None, None, "test");
    let s3c = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(s3.endpoint_url())
            .force_path_style(true)
            .credentials_provider(creds.clone())
            .build(),
    );
    let rs = redshift_client(&redshift, DEFAULT_ACCESS_KEY);
    Stack {
        dir,
        s3,
        redshift,
        s3c,
        rs,
    }
}

pub fn redshift_client(server: &LocalRedshiftServer, key: &str) -> aws_sdk_redshiftdata::Client {
    redshift_client_as(server, key, DEFAULT_SECRET_KEY)
}

pub fn redshift_client_as(
    server: &LocalRedshiftServer,
    key: &str,
    secret: &str,
) -> aws_sdk_redshiftdata::Client {
    let creds = aws_sdk_redshiftdata::config::Credentials::new(key, secret, None, None, "test");
    aws_sdk_redshiftdata::Client::from_conf(
        aws_sdk_redshiftdata::Config::builder()
            .behavior_version(aws_sdk_redshiftdata::config::BehaviorVersion::latest())
            .region(aws_sdk_redshiftdata::config::Region::new("us-east-1"))
            .endpoint_url(server.endpoint_url())
            .credentials_provider(creds)
            .build(),
    )
}

pub async fn stack() -> Stack {
    stack_with(|_| {}).await
}

/// Polls until the statement is done; returns the last description.
pub async fn wait(rs: &aws_sdk_redshiftdata::Client, id: &str) -> DescribeStatementOutput {
    for _ in 0..3000 {
        let d = rs.describe_statement().id(id).send().await.unwrap();
        if matches!(
            d.status(),
            Some(StatusString::Finished | StatusString::Failed | StatusString::Aborted)
        ) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("statement {id} did not finish");
}

/// Submits one statement on its own and returns its id without waiting.
pub async fn submit(rs: &aws_sdk_redshiftdata::Client, sql: &str) -> String {
    let out = rs
        .execute_statement()
        .workgroup_name("local")
        .database("dev")
        .sql(sql)
        .send()
        .await
        .unwrap();
    out.id().unwrap().to_owned()
}

/// Runs one statement to the end.
pub async fn run(rs: &aws_sdk_redshiftdata::Client, sql: &str) -> DescribeStatementOutput {
    let id = submit(rs, sql).await;
    wait(rs, &id).await
}

/// Runs a statement that must succeed.
pub async fn ok(rs: &aws_sdk_redshiftdata::Client, sql: &str) -> DescribeStatementOutput {
    let d = run(rs, sql).await;
    assert_eq!(
        d.status(),
        Some(&StatusString::Finished),
        "{sql}: {:?}",
        d.error()
    );
    d
}

/// All rows of a finished statement, every page.
pub async fn rows(rs: &aws_sdk_redshiftdata::Client, id: &str) -> Vec<Vec<Field>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = rs
            .get_statement_result()
            .id(id)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        out.extend(page.records().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

/// Runs a query and returns its rows rendered as text (`NULL` for nulls).
pub async fn query(rs: &aws_sdk_redshiftdata::Client, sql: &str) -> Vec<Vec<String>> {
    let d = ok(rs, sql).await;
    rows(rs, d.id())
        .await
        .iter()
        .map(|r| r.iter().map(render).collect())
        .collect()
}

pub fn render(f: &Field) -> String {
    match f {
        Field::IsNull(true) => "NULL".into(),
        Field::BooleanValue(b) => b.to_string(),
        Field::LongValue(v) => v.to_string(),
        Field::DoubleValue(v) => v.to_string(),
        Field::StringValue(s) => s.clone(),
        Field::BlobValue(b) => format!("<{} bytes>", b.as_ref().len()),
        other => format!("{other:?}"),
    }
}

/// A Parquet file of one batch, ZSTD-compressed (a codec AWS documents for Parquet COPY).
pub fn parquet_bytes(schema: Arc<Schema>, columns: Vec<ArrayRef>) -> Vec<u8> {
    let zstd = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    parquet_with(schema, columns, zstd)
}

/// A Parquet file of one batch, written with `props`.
pub fn parquet_with(schema: Arc<Schema>, columns: Vec<ArrayRef>, props: WriterProperties) -> Vec<u8> {
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}
