//! End to end, exactly once: every object lands once with its status, odd keys intact; objects deleted or
//! replaced mid-run are recorded, not lost; a failing COPY commits nothing and names the object; a drifted table
//! is refused before anything is read; throttled reads still land once; a ledger window larger than one Data
//! API result is read in slices.
//!
//! Each test starts its own embedded S3 and Data API servers ([`s3shift_testkit::Stack`]) and drives the real
//! `s3shift` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_jobs::CrashPoint;
use s3shift_local::s3::FaultConfig;
use s3shift_testkit::crash;
use s3shift_testkit::repo;
use s3shift_testkit::{Stack, stderr, stdout};
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

const ODD_KEYS: &[&str] = &[
    "a/odd/it's a \"quoted\" name.jpg",
    "a/odd/with  spaces and\ttab.jpg",
    "a/odd/unicodé ✓ 画像.jpg",
    "a/odd/100% done %20 %.jpg",
    "a/odd/'); drop table s3shift.images; --.jpg",
    "b/odd/back\\slash:colon;semi.jpg",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_lands_exactly_once_with_its_status_and_odd_keys_intact() {
    let stack = Stack::start(BIN, "parquet_file_bytes = 65536").await;
    let corpus = repo::fixture_statuses();
    for (n, (path, _)) in corpus.iter().enumerate() {
        let prefix = if n % 2 == 0 { "a" } else { "b" };
        stack
            .put(
                &format!("{prefix}/{path}"),
                std::fs::read(repo::fixtures().join(path)).unwrap(),
            )
            .await;
    }
    let jpeg = repo::a_jpeg();
    for key in ODD_KEYS {
        stack.put(key, jpeg.clone()).await;
    }
    let total = (corpus.len() + ODD_KEYS.len()) as i64;
    stack.migrate().await;

    let first = stack.s3shift(&["run"], &[]).await;
    assert_eq!(
        first.status.code(),
        Some(3),
        "quarantined objects make a partial run: {}",
        stderr(&first)
    );
    assert!(
        stdout(&first).contains(&format!("loaded {total}")),
        "{}",
        stdout(&first)
    );
    stack.assert_exactly_once(total).await;

    // Every fixture's status is the one the corpus manifest expects.
    let rows = stack.query("SELECT object_key, status FROM s3shift.images").await;
    let got: BTreeMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (n, (path, status)) in corpus.iter().enumerate() {
        let prefix = if n % 2 == 0 { "a" } else { "b" };
        assert_eq!(got.get(&format!("{prefix}/{path}")), Some(status), "{path}");
    }
    // Odd keys come back byte for byte, each parsed as the JPEG it is.
    for key in ODD_KEYS {
        let r = stack
            .api
            .query(
                "SELECT format, width FROM s3shift.images WHERE object_key = :k",
                &[("k", (*key).to_owned())],
            )
            .await
            .unwrap();
        assert_eq!(r.rows.len(), 1, "{key:?}");
        assert_eq!(r.rows[0][0].as_str(), Some("jpeg"), "{key:?}");
    }
    // One COPY, several files (a 64 KiB file limit), and a ledger row for the run.
    assert_eq!(stack.count("SELECT COUNT(*) FROM sys_load_history").await, 1);
    let staged = stack.store.list_prefix("stage", "staged/e2e/").await.unwrap();
    let parquet = staged.iter().filter(|o| o.key.ends_with(".parquet")).count();
    assert!(parquet >= 1);
    assert!(staged.iter().any(|o| o.key.ends_with("/manifest.json")));
    assert!(
        !staged.iter().any(|o| o.key.ends_with("pending-load.json")),
        "pointer removed"
    );
    let runs = stack
        .query("SELECT status, objects_staged FROM s3shift.runs")
        .await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0].as_str(), Some("partial"));
    assert_eq!(runs[0][1].as_i64(), Some(total));

    // The analyst views answer over what landed.
    let per_day = stack
        .count("SELECT SUM(images) FROM s3shift.images_per_day")
        .await;
    assert_eq!(per_day, total);
    assert!(stack.count("SELECT COUNT(*) FROM s3shift.camera_models").await > 0);
    assert!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.gps_tagged_images")
            .await
            > 0
    );
    let quarantined = corpus
        .values()
        .filter(|s| *s == "corrupt" || *s == "truncated" || *s == "empty")
        .count();
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.quarantined_objects")
            .await,
        quarantined as i64
    );
    // The run names its quarantined objects (corrupt or truncated: the ones that make it partial), up to 20,
    // with their reasons, and the query that lists all of them.
    let failing = corpus
        .values()
        .filter(|s| *s == "corrupt" || *s == "truncated")
        .count();
    let text = stdout(&first);
    let named: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  quarantined \""))
        .collect();
    assert_eq!(named.len(), failing.min(20), "{text}");
    for line in &named {
        let key = line
            .trim_start_matches("  quarantined \"")
            .split('"')
            .next()
            .unwrap();
        let path = key.split_once('/').unwrap().1;
        let status = &corpus[path];
        assert!(
            line.contains(&format!(": {status}: ")) && (status == "corrupt" || status == "truncated"),
            "{line}"
        );
    }
    assert!(
        text.contains("all of them: SELECT object_key, status, reason FROM s3shift.images WHERE run_id = '"),
        "{text}"
    );

    // A second run finds nothing new and loads nothing twice.
    let second = stack.s3shift(&["run"], &[]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains(&format!("already loaded {total}")),
        "{}",
        stdout(&second)
    );
    stack.assert_exactly_once(total).await;
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM sys_load_history").await,
        1,
        "no second COPY"
    );
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.runs WHERE status = 'empty'")
            .await,
        1
    );

    // A new upload is picked up by the next run, alone.
    stack.put("b/late.jpg", jpeg).await;
    let third = stack.s3shift(&["run", "--json"], &[]).await;
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let summary: serde_json::Value = serde_json::from_str(stdout(&third).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects_loaded"], 1);
    assert_eq!(summary["copy_statements"], 1);
    stack.assert_exactly_once(total + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_deleted_or_replaced_between_list_and_read_are_recorded_not_lost() {
    let stack = Stack::start(BIN, "").await;
    let jpeg = repo::a_jpeg();
    for i in 0..10 {
        stack.put(&format!("a/img-{i}.jpg"), jpeg.clone()).await;
    }
    stack.migrate().await;
    let paused = crash::run_paused_at(&stack, CrashPoint::AfterPlan, &[]).await;
    stack.store.delete("uploads", "a/img-3.jpg").await.unwrap();
    let mut replaced = jpeg.clone();
    replaced.extend_from_slice(b"new version");
    stack.put("a/img-7.jpg", replaced).await;
    paused.release();
    let out = paused.child.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("vanished 2"), "{}", stdout(&out));
    let rows = stack
        .query("SELECT object_key, status, reason FROM s3shift.images WHERE status = 'vanished' ORDER BY 1")
        .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0].as_str(), Some("a/img-3.jpg"));
    assert!(rows[0][2].as_str().unwrap().contains("deleted"));
    assert_eq!(rows[1][0].as_str(), Some("a/img-7.jpg"));
    assert!(rows[1][2].as_str().unwrap().contains("replaced"));
    // The new version of img-7 is a new object version: the next run loads it as its own row.
    let next = stack.s3shift(&["run"], &[]).await;
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    let img7 = stack
        .query("SELECT status FROM s3shift.images WHERE object_key = 'a/img-7.jpg' ORDER BY 1")
        .await;
    assert_eq!(img7.len(), 2);
    assert_eq!(img7[0][0].as_str(), Some("ok"));
    assert_eq!(img7[1][0].as_str(), Some("vanished"));
    stack.assert_exactly_once(11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_object_gone_before_a_backfill_reads_it_keeps_its_ok_row() {
    let stack = Stack::start(BIN, "").await;
    for i in 0..4 {
        stack.put(&format!("a/img-{i}.jpg"), repo::a_jpeg()).await;
    }
    stack.migrate().await;
    let first = stack.s3shift(&["run"], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // A backfill lists the object, then S3 removes it (its lifecycle, or a delete) before the GET: a 404.
    let backfill = ["backfill", "--since", "2000-01-01"];
    let paused = crash::command_paused_at(&stack, &backfill, &stack.job, CrashPoint::AfterPlan).await;
    stack.store.delete("uploads", "a/img-2.jpg").await.unwrap();
    paused.release();
    let out = paused.child.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("vanished 1"), "{}", stdout(&out));
    // The worse reading does not replace the better one of the same object version, in the table or the ledger.
    for table in ["s3shift.images", "s3shift.loaded_objects"] {
        let rows = stack
            .query(&format!(
                "SELECT status FROM {table} WHERE object_key = 'a/img-2.jpg'"
            ))
            .await;
        assert_eq!(rows.len(), 1, "{table}");
        assert_eq!(rows[0][0].as_str(), Some("ok"), "{table}");
    }
    stack.assert_exactly_once(4).await;
}

/// The columns migrations after 0001 add to `s3shift.images`, added again to a table made from 0001's DDL.
async fn add_later_columns(stack: &Stack) {
    for sql in include_str!("../../../sql/0006_embedded_metadata.sql")
        .lines()
        .filter(|l| l.starts_with("ALTER TABLE s3shift.images ADD COLUMN"))
    {
        stack.api.execute(sql, &[]).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_load_commits_nothing_and_a_rerun_recovers() {
    let stack = Stack::start(BIN, "").await;
    let jpeg = repo::a_jpeg();
    stack.put("a/short.jpg", jpeg.clone()).await;
    let long_key = format!("a/{}.jpg", "long-name-".repeat(5));
    stack.put(&long_key, jpeg).await;
    stack.migrate().await;
    let ddl = include_str!("../../../sql/0001_tables.sql");
    let images_ddl = |key_len: &str| {
        let start = ddl.find("CREATE TABLE IF NOT EXISTS s3shift.images").unwrap();
        let end = start + ddl[start..].find(';').unwrap();
        ddl[start..end].replace(
            "object_key VARCHAR(1024)",
            &format!("object_key VARCHAR({key_len})"),
        )
    };
    // The table narrows after the start-up check passed. The COPY fills the load's own stage table (the types of
    // the COPY contract), so it is the merge into the narrowed table that refuses the long key.
    let paused = crash::run_paused_at(&stack, CrashPoint::AfterPlan, &[]).await;
    stack.api.execute("DROP TABLE s3shift.images", &[]).await.unwrap();
    stack.api.execute(&images_ddl("20"), &[]).await.unwrap();
    add_later_columns(&stack).await;
    paused.release();
    let out = paused.child.await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing was committed"), "{err}");
    assert!(
        err.contains("value too long for type character varying(20)"),
        "{err}"
    );
    assert!(
        !err.contains("submitting it again"),
        "a load that failed on its data is not retried: {err}"
    );
    assert!(
        !err.contains("sys_load_error_detail"),
        "a failed merge has no COPY error rows to look up: {err}"
    );
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.images").await, 0);
    assert_eq!(
        stack.count("SELECT COUNT(*) FROM s3shift.loaded_objects").await,
        0
    );
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.runs").await, 0);

    // Fix the table; the rerun finishes the pending load from the staged files.
    stack.api.execute("DROP TABLE s3shift.images", &[]).await.unwrap();
    stack.api.execute(&images_ddl("1024"), &[]).await.unwrap();
    add_later_columns(&stack).await;
    let rerun = stack.s3shift(&["run"], &[]).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert!(
        stdout(&rerun).contains("finished an interrupted run"),
        "{}",
        stdout(&rerun)
    );
    stack.assert_exactly_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_loads_another_number_of_rows_fails_naming_both_counts() {
    let stack = Stack::start(BIN, "").await;
    stack.put("a/one.jpg", repo::a_jpeg()).await;
    stack.put("a/two.jpg", repo::a_jpeg()).await;
    stack.migrate().await;
    // Between the pointer and the load, the manifest comes to list its file twice: COPY loads 4 rows of 2.
    let paused = crash::run_paused_at(&stack, CrashPoint::AfterPointer, &[]).await;
    let staged = stack.store.list_prefix("stage", "staged/e2e/").await.unwrap();
    let manifest = staged
        .iter()
        .find(|o| o.key.ends_with("manifest.json"))
        .expect("a manifest is staged");
    let body = stack.store.get("stage", &manifest.key).await.unwrap().unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let entries = doc["entries"].as_array().unwrap().clone();
    doc["entries"] = serde_json::Value::Array([entries.clone(), entries].concat());
    stack
        .store
        .put(
            "stage",
            &manifest.key,
            serde_json::to_vec(&doc).unwrap().into(),
            "application/json",
        )
        .await
        .unwrap();
    paused.release();
    let out = paused.child.await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing was committed"), "{err}");
    assert!(
        err.contains("Invalid digit, Value 'r', Pos 0, Type: Integer"),
        "the check's own error is Redshift's cast error, cut to one character: {err}"
    );
    assert!(
        err.contains("row count check failed: staged 2 rows, COPY loaded 4"),
        "the run reports both counts: {err}"
    );
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.images").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_table_is_refused_before_anything_is_read() {
    let stack = Stack::start(BIN, "").await;
    stack.put("a/x.jpg", repo::a_jpeg()).await;
    stack.migrate().await;
    stack
        .api
        .execute(
            "ALTER TABLE s3shift.images RENAME COLUMN camera_model TO camera",
            &[],
        )
        .await
        .unwrap();
    let out = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("camera_model") && err.contains("column 23"), "{err}");
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.images").await, 0);
    let staged = stack.store.list_prefix("stage", "").await.unwrap();
    assert!(staged.is_empty(), "nothing staged: {staged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_reads_are_retried_and_every_object_still_lands_once() {
    // 3% of S3 requests answer 503 SlowDown: the SDK's standard retry absorbs them (the stand-in's own COPY
    // reads retry too), and nothing is lost or doubled.
    let faults = FaultConfig {
        slowdown_per_mille: 30,
        seed: 11,
        ..FaultConfig::default()
    };
    let stack = Stack::start_with_faults(BIN, "", faults).await;
    let jpeg = repo::a_jpeg();
    for i in 0..200 {
        let mut body = jpeg.clone();
        body.extend_from_slice(format!("{i}").as_bytes());
        // Uploads go through the same faulty server; the SDK retries them as well.
        stack.put(&format!("b/img-{i:04}.jpg"), body).await;
    }
    stack.migrate().await;
    let out = stack.s3shift(&["run"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("loaded 200"), "{}", stdout(&out));
    stack.assert_exactly_once(200).await;
}

/// The Data API fails a statement whose result set is over its limit, which the ledger window of a busy bucket
/// passes: the run sizes the window, then reads it in slices that each stay under `limits.ledger_read_bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_window_larger_than_one_data_api_result_is_read_in_slices() {
    // The stand-in refuses results over 40 kB; the ledger below holds about 130 kB of them.
    let limit = 40_000;
    let stack = Stack::start_with(BIN, "ledger_read_bytes = 8192", FaultConfig::default(), |rs| {
        rs.max_result_bytes = limit;
    })
    .await;
    stack.migrate().await;
    for i in 0..5 {
        stack.put(&format!("a/new-{i}.jpg"), repo::a_jpeg()).await;
    }
    let listed = stack.store.list_prefix("uploads", "a/").await.unwrap();
    // Earlier loads, as the ledger records them: three of the five objects, and 600 others spread over the
    // last ten hours, one a minute.
    let now = chrono::Utc::now();
    let mut rows: Vec<String> = listed[..3]
        .iter()
        .map(|o| {
            format!(
                "('api', 'uploads', '{}', NULL, '{}', 10, CAST('{}' AS TIMESTAMPTZ), NULL, 'ok', 'r0', CAST('{}' AS TIMESTAMPTZ))",
                o.key,
                o.etag,
                o.last_modified.to_rfc3339(),
                now.to_rfc3339()
            )
        })
        .collect();
    rows.extend((0..600).map(|i| {
        let at = now - chrono::Duration::minutes(i + 1);
        format!(
            "('api', 'uploads', 'a/earlier/{i:05}-{}.jpg', NULL, '\"{:032x}\"', 10, CAST('{}' AS TIMESTAMPTZ), NULL, 'ok', 'r0', CAST('{}' AS TIMESTAMPTZ))",
            "x".repeat(100),
            i,
            at.to_rfc3339(),
            now.to_rfc3339()
        )
    }));
    for chunk in rows.chunks(100) {
        stack
            .api
            .execute(
                &format!(
                    "INSERT INTO s3shift.loaded_objects (source, bucket, object_key, version_id, etag, size_bytes, \
                     last_modified, expires_at, status, run_id, loaded_at) VALUES {}",
                    chunk.join(", ")
                ),
                &[],
            )
            .await
            .unwrap();
    }
    // One statement for the whole window is over the limit: the stand-in refuses it as the Data API does.
    let whole = stack
        .api
        .query(
            "SELECT object_key, etag, version_id FROM s3shift.loaded_objects WHERE bucket = 'uploads'",
            &[],
        )
        .await;
    let err = whole.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("Database response exceeded size limit"), "{err}");

    let run = stack.s3shift(&["run", "--json"], &[]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&run).lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["objects_loaded"], 2, "{summary}");
    assert_eq!(summary["objects_already_loaded"], 3, "{summary}");
    // 603 rows of about 150 bytes in slices of 8 KiB: a sizing statement and a dozen reads.
    let statements = summary["data_api_statements"].as_u64().unwrap();
    assert!(statements >= 12, "{summary}");

    // The same ledger in one slice fails the run, naming the Data API's limit, and loads nothing.
    let text = std::fs::read_to_string(&stack.job)
        .unwrap()
        .replace("ledger_read_bytes = 8192", "ledger_read_bytes = 268435456");
    std::fs::write(&stack.job, text).unwrap();
    stack.put("a/later.jpg", repo::a_jpeg()).await;
    let failed = stack.s3shift(&["run"], &[]).await;
    let err = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(err.contains("Database response exceeded size limit"), "{err}");
    assert_eq!(
        stack
            .count("SELECT COUNT(*) FROM s3shift.images WHERE object_key = 'a/later.jpg'")
            .await,
        0
    );
}

/// Issue 26 item 1: the ledger keeps only what a listing can still return. A scan prunes its source's rows a day
/// older than its window (the bucket's 7-day rule plus the margin), keeps the window's rows and other sources'
/// rows, and an object listed after its row was pruned is read again and replaced, never duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_prunes_ledger_rows_no_listing_can_return_and_duplicates_nothing() {
    let stack = Stack::start(BIN, "").await;
    stack.migrate().await;
    stack.put("a/kept.jpg", repo::a_jpeg()).await;
    let first = stack.s3shift(&["run"], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    stack.assert_exactly_once(1).await;
    // Rows of objects long gone (40 days), of a recent one (3 days), and another source's old row.
    let now = chrono::Utc::now();
    let row = |source: &str, key: &str, days: i64| {
        let at = (now - chrono::Duration::days(days)).to_rfc3339();
        format!(
            "('{source}', 'uploads', '{key}', NULL, '\"e\"', 10, CAST('{at}' AS TIMESTAMPTZ), NULL, 'ok', 'r0', \
             CAST('{at}' AS TIMESTAMPTZ))"
        )
    };
    stack
        .api
        .execute(
            &format!(
                "INSERT INTO s3shift.loaded_objects (source, bucket, object_key, version_id, etag, size_bytes, \
                 last_modified, expires_at, status, run_id, loaded_at) VALUES {}, {}, {}, {}",
                row("api", "a/gone-1.jpg", 40),
                row("api", "a/gone-2.jpg", 40),
                row("api", "a/recent.jpg", 3),
                row("other", "a/gone-3.jpg", 40)
            ),
            &[],
        )
        .await
        .unwrap();
    let second = stack
        .s3shift(&["run"], &[("S3SHIFT_LOG", "info".to_owned())])
        .await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("pruned ledger rows no listing can return"),
        "{}",
        stderr(&second)
    );
    let keys: Vec<String> = stack
        .query("SELECT object_key FROM s3shift.loaded_objects ORDER BY object_key")
        .await
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["a/gone-3.jpg", "a/kept.jpg", "a/recent.jpg"]);

    // The loaded object's own row pruned (as if S3 kept it past its rule): the next scan reads it again and
    // replaces its row.
    stack
        .api
        .execute(
            "DELETE FROM s3shift.loaded_objects WHERE object_key = 'a/kept.jpg'",
            &[],
        )
        .await
        .unwrap();
    let third = stack.s3shift(&["run"], &[]).await;
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert!(stdout(&third).contains("loaded 1"), "{}", stdout(&third));
    for table in ["images", "loaded_objects"] {
        assert_eq!(
            stack
                .count(&format!(
                    "SELECT COUNT(*) FROM s3shift.{table} WHERE object_key = 'a/kept.jpg'"
                ))
                .await,
            1,
            "{table}"
        );
    }
}
