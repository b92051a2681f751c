//! The golden set of Redshift statements (`tests/golden/redshift.sql`): each statement through the Data API,
//! its outcome compared with the expected text. `S3SHIFT_BLESS=1` rewrites the expectations (review the diff).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
};
use arrow::datatypes::{Field as AField, Schema};
use aws_sdk_redshiftdata::types::StatusString;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterVersion};
use s3shift_testkit::repo::manifest_dir;
use support::*;

struct Case {
    name: String,
    /// The identity the case runs as (`-- as: NAME` after the case line); the admin when absent.
    identity: Option<String>,
    sql: String,
    expect: String,
}

fn parse(text: &str) -> (Vec<String>, Vec<Case>) {
    let mut header = Vec::new();
    let mut cases = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.peek() {
        if l.starts_with("-- case:") {
            break;
        }
        header.push((*l).to_owned());
        lines.next();
    }
    while let Some(l) = lines.next() {
        let Some(name) = l.strip_prefix("-- case:") else {
            continue;
        };
        let identity = lines
            .peek()
            .and_then(|l| l.strip_prefix("-- as:"))
            .map(|n| n.trim().to_owned());
        if identity.is_some() {
            lines.next();
        }
        let mut sql = Vec::new();
        for l in lines.by_ref() {
            if l == "-- expect" {
                break;
            }
            sql.push(l);
        }
        let mut expect = Vec::new();
        while let Some(l) = lines.peek() {
            if l.starts_with("-- case:") {
                break;
            }
            expect.push((*l).to_owned());
            lines.next();
        }
        while expect.last().is_some_and(|l| l.trim().is_empty()) {
            expect.pop();
        }
        cases.push(Case {
            name: name.trim().to_owned(),
            identity,
            sql: sql.join("\n"),
            expect: expect.join("\n"),
        });
    }
    (header, cases)
}

/// Writes the files the `pq_*` cases COPY from: `s3://golden/pq/<name>.parquet`, each one nullable column `v`
/// of one row, ZSTD unless the name says otherwise (the list is in the golden file's header).
async fn stage_parquet_files(s: &Stack) {
    s.s3c.create_bucket().bucket("golden").send().await.unwrap();
    let zstd = || WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default()));
    let text = || -> ArrayRef { Arc::new(StringArray::from(vec!["a"])) };
    let instant = 1_767_225_600_000_000_i64; // 2026-01-01 00:00:00 UTC
    let files: Vec<(&str, ArrayRef, WriterProperties)> = vec![
        ("string", text(), zstd().build()),
        (
            "string-long",
            Arc::new(StringArray::from(vec!["ok", "nine-byte"])),
            zstd().build(),
        ),
        (
            "string-snappy",
            text(),
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build(),
        ),
        (
            "string-uncompressed",
            text(),
            WriterProperties::builder()
                .set_compression(Compression::UNCOMPRESSED)
                .build(),
        ),
        (
            "string-v2-pages",
            text(),
            zstd().set_writer_version(WriterVersion::PARQUET_2_0).build(),
        ),
        (
            "binary",
            Arc::new(BinaryArray::from(vec![b"a".as_ref()])),
            zstd().build(),
        ),
        ("int16", Arc::new(Int16Array::from(vec![7])), zstd().build()),
        ("int32", Arc::new(Int32Array::from(vec![7])), zstd().build()),
        ("int64", Arc::new(Int64Array::from(vec![7])), zstd().build()),
        ("float", Arc::new(Float32Array::from(vec![1.5])), zstd().build()),
        ("double", Arc::new(Float64Array::from(vec![1.5])), zstd().build()),
        (
            "boolean",
            Arc::new(BooleanArray::from(vec![true])),
            zstd().build(),
        ),
        ("date", Arc::new(Date32Array::from(vec![20_454])), zstd().build()),
        (
            "timestamp",
            Arc::new(TimestampMicrosecondArray::from(vec![instant])),
            zstd().build(),
        ),
        (
            "timestamp-utc",
            Arc::new(TimestampMicrosecondArray::from(vec![instant]).with_timezone("UTC")),
            zstd().build(),
        ),
        (
            "timestamp-millis",
            Arc::new(TimestampMillisecondArray::from(vec![instant / 1000])),
            zstd().build(),
        ),
        (
            "decimal-10-2",
            Arc::new(
                Decimal128Array::from(vec![12_345])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            zstd().build(),
        ),
    ];
    // A manifest whose (optional) files are all missing.
    let manifest = br#"{"entries":[{"url":"s3://golden/pq/gone-1.parquet","mandatory":false,"meta":{"content_length":10}},{"url":"s3://golden/pq/gone-2.parquet","mandatory":false,"meta":{"content_length":10}}]}"#;
    s.s3c
        .put_object()
        .bucket("golden")
        .key("pq/all-missing.manifest")
        .body(manifest.to_vec().into())
        .send()
        .await
        .unwrap();
    for (name, array, props) in files {
        let schema = Arc::new(Schema::new(vec![AField::new(
            "v",
            array.data_type().clone(),
            true,
        )]));
        let body = parquet_with(schema, vec![array], props);
        s.s3c
            .put_object()
            .bucket("golden")
            .key(format!("pq/{name}.parquet"))
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_statements() {
    let path = manifest_dir().join("tests/golden/redshift.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    let (header, cases) = parse(&text);
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    let s = stack().await;
    stage_parquet_files(&s).await;
    let first =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .session_keep_alive_seconds(600)
            .sql("SELECT 1")
            .send()
            .await
            .unwrap();
    let session = first.session_id().unwrap().to_owned();
    wait(&s.rs, first.id().unwrap()).await;
    // One client and session per other identity, opened by its first case.
    let mut others: std::collections::HashMap<String, (aws_sdk_redshiftdata::Client, String)> =
        std::collections::HashMap::new();
    let mut actual = Vec::new();
    for c in &cases {
        let (rs, session) = match &c.identity {
            None => (s.rs.clone(), session.clone()),
            Some(name) => {
                if !others.contains_key(name) {
                    let who = s3shift_local::identity::named(&s3shift_local::identity::standard(), name)
                        .unwrap_or_else(|| panic!("case '{}': no identity {name}", c.name))
                        .clone();
                    let rs = redshift_client_as(&s.redshift, &who.access_key, &who.secret_key);
                    let first = rs
                        .execute_statement()
                        .workgroup_name("local")
                        .database("dev")
                        .session_keep_alive_seconds(600)
                        .sql("SELECT 1")
                        .send()
                        .await
                        .unwrap();
                    wait(&rs, first.id().unwrap()).await;
                    others.insert(name.clone(), (rs, first.session_id().unwrap().to_owned()));
                }
                others[name].clone()
            }
        };
        let out = rs
            .execute_statement()
            .session_id(&session)
            .sql(&c.sql)
            .send()
            .await
            .unwrap();
        let d = wait(&rs, out.id().unwrap()).await;
        let got = match d.status() {
            Some(StatusString::Failed) => d.error().unwrap_or_default().to_owned(),
            Some(StatusString::Finished) if d.has_result_set().unwrap_or_default() => {
                let page = rs
                    .get_statement_result()
                    .id(out.id().unwrap())
                    .send()
                    .await
                    .unwrap();
                let mut lines = vec![
                    page.column_metadata()
                        .iter()
                        .map(|c| c.name().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(" | "),
                ];
                for r in rows(&rs, out.id().unwrap()).await {
                    lines.push(r.iter().map(render).collect::<Vec<_>>().join(" | "));
                }
                lines.join("\n")
            }
            Some(StatusString::Finished) => match d.result_rows() {
                n if n > 0 => format!("OK rows={n}"),
                _ => "OK".to_owned(),
            },
            other => format!("{other:?}"),
        };
        actual.push(got);
    }
    if std::env::var_os("S3SHIFT_BLESS").is_some() {
        let mut out = header.join("\n");
        for (c, got) in cases.iter().zip(&actual) {
            let who = c
                .identity
                .as_ref()
                .map(|n| format!("-- as: {n}\n"))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n-- case: {}\n{who}{}\n-- expect\n{}\n",
                c.name, c.sql, got
            ));
        }
        std::fs::write(&path, out.trim_start_matches('\n').to_owned() + "").unwrap();
        return;
    }
    let mut wrong = Vec::new();
    for (c, got) in cases.iter().zip(&actual) {
        if &c.expect != got {
            wrong.push(format!(
                "case '{}':\n  expected: {}\n  got:      {}",
                c.name,
                c.expect.replace('\n', "\n            "),
                got.replace('\n', "\n            ")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} golden cases differ (S3SHIFT_BLESS=1 rewrites them):\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
