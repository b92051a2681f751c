//! Conformance of the Data API stand-in's COPY with the real aws-sdk-redshiftdata and aws-sdk-s3 clients: Parquet
//! from the S3 stand-in through a manifest, with Redshift's checks (types, manifest lengths, mandatory entries,
//! the IAM role) and its error texts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::sync::Arc;

use arrow::array::{Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field as AField, Schema};
use aws_sdk_redshiftdata::types::StatusString;
use aws_sdk_s3::primitives::ByteStream;
use support::*;

async fn put(s: &Stack, key: &str, body: Vec<u8>) -> usize {
    let n = body.len();
    s.s3c
        .put_object()
        .bucket("staging")
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
    n
}

fn manifest(entries: &[(&str, Option<usize>, bool)]) -> Vec<u8> {
    let e: Vec<serde_json::Value> = entries
        .iter()
        .map(|(url, len, mandatory)| {
            let mut v = serde_json::json!({"url": url, "mandatory": mandatory});
            if let Some(l) = len {
                v["meta"] = serde_json::json!({"content_length": l});
            }
            v
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"entries": e})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_loads_parquet_through_s3_with_redshift_checks() {
    let s = stack().await;
    s.s3c.create_bucket().bucket("staging").send().await.unwrap();
    ok(&s.rs, "CREATE SCHEMA s3shift").await;
    ok(
        &s.rs,
        "CREATE TABLE s3shift.images (k VARCHAR(8) NOT NULL, w INTEGER, size BIGINT) DISTSTYLE AUTO",
    )
    .await;
    let schema = Arc::new(Schema::new(vec![
        AField::new("k", DataType::Utf8, false),
        AField::new("w", DataType::Int32, true),
        AField::new("size", DataType::Int64, true),
    ]));
    let f1 = put(
        &s,
        "run1/part-00000.parquet",
        parquet_bytes(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a.jpg", "b.jpg"])),
                Arc::new(Int32Array::from(vec![Some(10), None])),
                Arc::new(Int64Array::from(vec![100, 200])),
            ],
        ),
    )
    .await;
    let f2 = put(
        &s,
        "run1/part-00001.parquet",
        parquet_bytes(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["c.jpg"])),
                Arc::new(Int32Array::from(vec![30])),
                Arc::new(Int64Array::from(vec![300])),
            ],
        ),
    )
    .await;
    put(
        &s,
        "run1/manifest.json",
        manifest(&[
            ("s3://staging/run1/part-00000.parquet", Some(f1), true),
            ("s3://staging/run1/part-00001.parquet", Some(f2), true),
        ]),
    )
    .await;
    // The loader's shape: one batch = stage, COPY, merge.
    let out = s
        .rs
        .batch_execute_statement()
        .workgroup_name("local")
        .database("dev")
        .sqls("CREATE TEMP TABLE stage (LIKE s3shift.images)")
        .sqls("COPY stage FROM 's3://staging/run1/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST")
        .sqls("DELETE FROM s3shift.images USING stage WHERE s3shift.images.k = stage.k")
        .sqls("INSERT INTO s3shift.images SELECT * FROM stage")
        .send()
        .await
        .unwrap();
    let d = wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());
    assert_eq!(d.sub_statements()[1].result_rows(), 3);
    assert_eq!(
        query(&s.rs, "SELECT k, w, size FROM s3shift.images ORDER BY k").await,
        [
            ["a.jpg", "10", "100"],
            ["b.jpg", "NULL", "200"],
            ["c.jpg", "30", "300"]
        ]
    );
    // Loading by prefix works too.
    // A role ARN must be one associated with the namespace.
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run1/part-' IAM_ROLE 'arn:aws:iam::123456789012:role/copy' FORMAT AS PARQUET").await;
    assert!(
        d.error()
            .unwrap()
            .contains("Not authorized to get credentials of role arn:aws:iam::123456789012:role/copy"),
        "{:?}",
        d.error()
    );
    ok(&s.rs, "COPY s3shift.images FROM 's3://staging/run1/part-' IAM_ROLE 'arn:aws:iam::000000000000:role/s3shift-local-copy' FORMAT AS PARQUET").await;
    assert_eq!(query(&s.rs, "SELECT count(*) FROM s3shift.images").await, [["6"]]);
    let hist = query(
        &s.rs,
        "SELECT status, loaded_rows, source_file_count FROM sys_load_history ORDER BY query_id",
    )
    .await;
    assert_eq!(hist, [["completed", "3", "2"], ["completed", "3", "2"]]);

    // Column drift: one column too few fails the whole COPY and loads nothing.
    let narrow = Arc::new(Schema::new(vec![
        AField::new("k", DataType::Utf8, false),
        AField::new("w", DataType::Int32, true),
    ]));
    let f3 = put(
        &s,
        "run2/part-00000.parquet",
        parquet_bytes(
            narrow,
            vec![
                Arc::new(StringArray::from(vec!["d.jpg"])),
                Arc::new(Int32Array::from(vec![1])),
            ],
        ),
    )
    .await;
    put(
        &s,
        "run2/manifest.json",
        manifest(&[("s3://staging/run2/part-00000.parquet", Some(f3), true)]),
    )
    .await;
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run2/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST").await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert!(
        d.error()
            .unwrap()
            .contains("Unmatched number of columns between table and file"),
        "{:?}",
        d.error()
    );
    assert_eq!(query(&s.rs, "SELECT count(*) FROM s3shift.images").await, [["6"]]);

    // An over-long value (9 bytes into VARCHAR(8)) fails the COPY with Spectrum's error naming it, and is the
    // one row in sys_load_error_detail.
    let f4 = put(
        &s,
        "run3/part-00000.parquet",
        parquet_bytes(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["ok.jpg", "toolong.j"])),
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        ),
    )
    .await;
    put(
        &s,
        "run3/manifest.json",
        manifest(&[("s3://staging/run3/part-00000.parquet", Some(f4), true)]),
    )
    .await;
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run3/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST").await;
    assert_eq!(
        d.error(),
        Some(
            "ERROR: Spectrum Scan Error. File 's3://staging/run3/part-00000.parquet' row 2, column 'k': String \
             length exceeds DDL length. Length: 9 bytes, limit: 8"
        )
    );
    assert_eq!(query(&s.rs, "SELECT count(*) FROM s3shift.images").await, [["6"]]);
    let padded = query(&s.rs, "SELECT length(file_name) FROM sys_load_error_detail").await;
    assert_eq!(padded, [["256"]], "file_name is CHAR(256), blank-padded");
    let detail = query(&s.rs, "SELECT TRIM(file_name), line_number, column_name, column_length, raw_field_value FROM sys_load_error_detail").await;
    assert_eq!(
        detail,
        [["s3://staging/run3/part-00000.parquet", "2", "k", "8", "toolong.j"]]
    );

    // Manifests need meta.content_length, and a missing mandatory file fails the COPY.
    put(
        &s,
        "run4/manifest.json",
        manifest(&[("s3://staging/run1/part-00000.parquet", None, true)]),
    )
    .await;
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run4/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST").await;
    assert!(d.error().unwrap().contains("content_length"), "{:?}", d.error());
    put(
        &s,
        "run5/manifest.json",
        manifest(&[("s3://staging/run5/gone.parquet", Some(10), true)]),
    )
    .await;
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run5/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST").await;
    assert!(d.error().unwrap().contains("mandatory"), "{:?}", d.error());
    // Optional entries may be missing, but not all of them: COPY terminates when it finds no file.
    put(
        &s,
        "run5b/manifest.json",
        manifest(&[
            ("s3://staging/run5b/gone-1.parquet", Some(10), false),
            ("s3://staging/run5b/gone-2.parquet", Some(10), false),
        ]),
    )
    .await;
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run5b/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST").await;
    assert!(
        d.error().unwrap().contains("none of the files")
            && d.error().unwrap().contains("run5b/manifest.json"),
        "{:?}",
        d.error()
    );
    // Types must be compatible: a string file column cannot load into INTEGER.
    let wrong = Arc::new(Schema::new(vec![
        AField::new("k", DataType::Utf8, false),
        AField::new("w", DataType::Utf8, true),
        AField::new("size", DataType::Int64, true),
    ]));
    let f6 = put(
        &s,
        "run6/part-00000.parquet",
        parquet_bytes(
            wrong,
            vec![
                Arc::new(StringArray::from(vec!["e.jpg"])),
                Arc::new(StringArray::from(vec!["wide"])),
                Arc::new(Int64Array::from(vec![5])),
            ],
        ),
    )
    .await;
    put(
        &s,
        "run6/manifest.json",
        manifest(&[("s3://staging/run6/part-00000.parquet", Some(f6), true)]),
    )
    .await;
    let d = run(&s.rs, "COPY s3shift.images FROM 's3://staging/run6/manifest.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST").await;
    assert!(
        d.error()
            .unwrap()
            .contains("incompatible Parquet schema for column 'w'"),
        "{:?}",
        d.error()
    );
    assert_eq!(query(&s.rs, "SELECT count(*) FROM s3shift.images").await, [["6"]]);
}
