//! Conformance of the Data API stand-in with the real aws-sdk-redshiftdata client: the statement lifecycle,
//! typed results and paging, parameters, batches as transactions, sessions, and the service's errors. COPY from
//! Parquet is in `redshift_copy.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::time::Duration;

use aws_sdk_redshiftdata::types::{Field, SqlParameter, StatusString};
use support::*;

fn param(name: &str, value: &str) -> SqlParameter {
    SqlParameter::builder().name(name).value(value).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_move_through_the_asynchronous_lifecycle() {
    let s = stack_with(|c| c.step_delay = Duration::from_millis(300)).await;
    let out =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sql("SELECT 1")
            .send()
            .await
            .unwrap();
    let first =
        s.rs.describe_statement()
            .id(out.id().unwrap())
            .send()
            .await
            .unwrap();
    assert_eq!(first.status(), Some(&StatusString::Submitted));
    let order = ["SUBMITTED", "PICKED", "STARTED", "FINISHED"];
    let mut seen = vec![first.status().unwrap().as_str().to_owned()];
    loop {
        let d =
            s.rs.describe_statement()
                .id(out.id().unwrap())
                .send()
                .await
                .unwrap();
        let st = d.status().unwrap().as_str().to_owned();
        if seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        if st == "FINISHED" {
            assert!(d.has_result_set().unwrap_or_default());
            assert_eq!(d.result_rows(), 1);
            assert!(d.duration() > 0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let positions: Vec<usize> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    // PICKED lasts the step delay, so a poller sees it; STARTED lasts as long as the query (the cancel test
    // waits for it on a long one).
    assert!(seen.contains(&"PICKED".to_owned()), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_typed_and_paged() {
    let s = stack_with(|c| c.result_page_rows = 2).await;
    let d = ok(
        &s.rs,
        "SELECT i::INTEGER AS i, i * 1.5::FLOAT8 AS d, 'r' || i AS s, i % 2 = 0 AS b, NULL::VARCHAR AS n, \
         TIMESTAMP '2024-01-02 03:04:05.25' AS t FROM range(5) t(i) ORDER BY i",
    )
    .await;
    let page = s.rs.get_statement_result().id(d.id()).send().await.unwrap();
    assert_eq!(page.total_num_rows(), 5);
    assert_eq!(page.records().len(), 2);
    assert!(page.next_token().is_some());
    let names: Vec<_> = page.column_metadata().iter().map(|c| c.name().unwrap()).collect();
    assert_eq!(names, ["i", "d", "s", "b", "n", "t"]);
    let types: Vec<_> = page
        .column_metadata()
        .iter()
        .map(|c| c.type_name().unwrap())
        .collect();
    assert_eq!(
        types,
        ["int4", "float8", "varchar", "bool", "varchar", "timestamp"]
    );
    let all = rows(&s.rs, d.id()).await;
    assert_eq!(all.len(), 5);
    assert_eq!(all[3][0], Field::LongValue(3));
    assert_eq!(all[3][1], Field::DoubleValue(4.5));
    assert_eq!(all[3][2], Field::StringValue("r3".into()));
    assert_eq!(all[3][3], Field::BooleanValue(false));
    assert_eq!(all[3][4], Field::IsNull(true));
    assert_eq!(all[3][5], Field::StringValue("2024-01-02 03:04:05.250".into()));
    // "SUM function": BIGINT for SMALLINT, INTEGER and BIGINT arguments; NUMERIC for NUMERIC ones.
    let d = ok(
        &s.rs,
        "SELECT SUM(i::INTEGER) AS ints, SUM(i::BIGINT) AS longs, SUM(i::DECIMAL(38,0)) AS numerics \
         FROM range(5) t(i)",
    )
    .await;
    let page = s.rs.get_statement_result().id(d.id()).send().await.unwrap();
    let types: Vec<_> = page
        .column_metadata()
        .iter()
        .map(|c| c.type_name().unwrap())
        .collect();
    assert_eq!(types, ["int8", "int8", "numeric"]);
    assert_eq!(
        page.records()[0],
        [
            Field::LongValue(10),
            Field::LongValue(10),
            Field::StringValue("10".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_bound_never_spliced() {
    let s = stack().await;
    let hostile = "x'); DROP TABLE t; --";
    let out =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sql("SELECT :key AS k, :n::INTEGER + 1 AS n, ':key' AS literal")
            .parameters(param("key", hostile))
            .parameters(param("n", "41"))
            .send()
            .await
            .unwrap();
    let d = wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());
    assert_eq!(d.query_parameters().len(), 2);
    let r = rows(&s.rs, out.id().unwrap()).await;
    assert_eq!(r[0][0], Field::StringValue(hostile.into()));
    assert_eq!(r[0][1], Field::LongValue(42));
    assert_eq!(r[0][2], Field::StringValue(":key".into()));
    // A parameter the statement needs but the request lacks fails the statement, naming it.
    let out =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sql("SELECT :missing")
            .send()
            .await
            .unwrap();
    let d = wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert!(d.error().unwrap().contains(":missing"), "{:?}", d.error());
    // A batch takes parameters for all its statements; each must be referenced by one of them.
    let out =
        s.rs.batch_execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sqls("CREATE TEMP TABLE p (k VARCHAR(64), n INTEGER)")
            .sqls("INSERT INTO p VALUES (:key, :n::INTEGER)")
            .sqls("INSERT INTO p VALUES (:key, 2)")
            .parameters(param("key", hostile))
            .parameters(param("n", "1"))
            .send()
            .await
            .unwrap();
    let d = wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());
    assert_eq!(d.sub_statements()[2].result_rows(), 1);
    let batch_err =
        s.rs.batch_execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sqls("SELECT :a")
            .sqls("SELECT 1")
            .parameters(param("a", "1"))
            .parameters(param("b", "2"))
            .send()
            .await
            .unwrap_err();
    let single_err =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sql("SELECT :a")
            .parameters(param("a", "1"))
            .parameters(param("b", "2"))
            .send()
            .await
            .unwrap_err();
    for e in [
        batch_err.as_service_error().map(ToString::to_string),
        single_err.as_service_error().map(ToString::to_string),
    ] {
        let e = e.unwrap_or_default();
        assert!(
            e.contains("Parameters list contains unused parameters. Unused parameters: [b]"),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redshift_ddl_is_accepted_and_varchar_lengths_are_bytes() {
    let s = stack().await;
    ok(&s.rs, "CREATE SCHEMA IF NOT EXISTS s3shift").await;
    ok(
        &s.rs,
        "CREATE TABLE s3shift.t (id BIGINT NOT NULL ENCODE az64, k VARCHAR(5) ENCODE zstd, PRIMARY KEY (id)) \
         DISTSTYLE KEY DISTKEY (id) COMPOUND SORTKEY (id)",
    )
    .await;
    ok(&s.rs, "INSERT INTO s3shift.t VALUES (1, 'abcde'), (1, 'é')").await;
    // Five bytes fit; 'ééé' is six bytes in three characters and does not.
    let d = run(&s.rs, "INSERT INTO s3shift.t VALUES (2, 'ééé')").await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    assert_eq!(
        d.error(),
        Some("ERROR: value too long for type character varying(5)")
    );
    // Redshift does not enforce primary keys: neither does the stand-in.
    assert_eq!(query(&s.rs, "SELECT count(*) FROM s3shift.t").await, [["2"]]);
    let d = ok(&s.rs, "UPDATE s3shift.t SET k = 'z' WHERE id = 1").await;
    assert_eq!(d.result_rows(), 2);
    let d = run(&s.rs, "CREATE TABLE s3shift.u (a INT) SORTKEY (b)").await;
    assert!(
        d.error().unwrap().contains("\"b\" named in SORTKEY"),
        "{:?}",
        d.error()
    );
    let d = run(&s.rs, "SELECT * FROM s3shift.nope").await;
    assert_eq!(d.error(), Some("ERROR: relation \"s3shift.nope\" does not exist"));
    let d = run(&s.rs, "UNLOAD ('select 1') TO 's3://b/x' IAM_ROLE default").await;
    assert!(
        d.error().unwrap().contains("does not support UNLOAD"),
        "{:?}",
        d.error()
    );
    assert_eq!(query(&s.rs, "SELECT getdate() IS NOT NULL").await, [["true"]]);
}

/// "ALTER TABLE": ADD COLUMN appends one column, NULL in existing rows; a VARCHAR's length is bytes there too
/// (DuckDB adds no column with a constraint: the stand-in rebuilds the table, keeping rows, views and grants).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_columns_keep_rows_and_byte_lengths() {
    let s = stack().await;
    ok(&s.rs, "CREATE SCHEMA IF NOT EXISTS s3shift").await;
    ok(&s.rs, "CREATE TABLE s3shift.t (id BIGINT NOT NULL, k VARCHAR(5))").await;
    ok(&s.rs, "INSERT INTO s3shift.t VALUES (1, 'abc')").await;
    ok(
        &s.rs,
        "CREATE VIEW s3shift.v AS SELECT id FROM s3shift.t WITH NO SCHEMA BINDING",
    )
    .await;
    ok(&s.rs, "ALTER TABLE s3shift.t ADD COLUMN title VARCHAR(4)").await;
    ok(&s.rs, "ALTER TABLE s3shift.t ADD flag BOOLEAN").await;
    assert_eq!(
        query(&s.rs, "SELECT id, k, title IS NULL, flag IS NULL FROM s3shift.t").await,
        [["1", "abc", "true", "true"]]
    );
    assert_eq!(query(&s.rs, "SELECT count(*) FROM s3shift.v").await, [["1"]]);
    ok(&s.rs, "INSERT INTO s3shift.t VALUES (2, 'x', 'ab', true)").await;
    let d = run(&s.rs, "INSERT INTO s3shift.t VALUES (3, 'x', 'ééé', false)").await;
    assert_eq!(
        d.error(),
        Some("ERROR: value too long for type character varying(4)")
    );
    // The old column keeps its length too.
    let d = run(&s.rs, "INSERT INTO s3shift.t VALUES (3, 'abcdef', NULL, false)").await;
    assert_eq!(
        d.error(),
        Some("ERROR: value too long for type character varying(5)")
    );
}

/// Runs `sql` in `session` (opening one when `None`) and waits for it; returns the session.
async fn in_session(rs: &aws_sdk_redshiftdata::Client, session: Option<&str>, sql: &str) -> String {
    let req = rs.execute_statement().sql(sql);
    let req = match session {
        Some(id) => req.session_id(id),
        None => req
            .workgroup_name("local")
            .database("dev")
            .session_keep_alive_seconds(60),
    };
    let out = req.send().await.unwrap();
    let d = wait(rs, out.id().unwrap()).await;
    assert_eq!(
        d.status(),
        Some(&StatusString::Finished),
        "{sql}: {:?}",
        d.error()
    );
    out.session_id().or(session).unwrap().to_owned()
}

/// A statement that must still be waiting (for a lock its test holds) after a while.
async fn still_waiting(rs: &aws_sdk_redshiftdata::Client, id: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = rs.describe_statement().id(id).send().await.unwrap();
    assert!(
        matches!(
            d.status(),
            Some(StatusString::Started | StatusString::Submitted | StatusString::Picked)
        ),
        "{:?}: {:?}",
        d.status(),
        d.error()
    );
}

/// A migration's `ALTER TABLE ... ADD COLUMN` beside a load, at the same moment, in both orders: the ALTER takes
/// the table's AccessExclusiveLock, so it waits for the open load's transaction, and a load that comes while
/// the migration's transaction is open waits for it ("How do I find and resolve table locks in Amazon
/// Redshift?": AccessExclusiveLock "blocks all other locking attempts"; ALTER TABLE). Neither fails and no row is
/// lost. Without the lock the ALTER ran at once beside the open load, the stand-in rebuilding the table (DROP and
/// RENAME) under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_and_a_load_wait_for_each_other() {
    let s = stack().await;
    ok(&s.rs, "CREATE SCHEMA IF NOT EXISTS s3shift").await;
    ok(&s.rs, "CREATE TABLE s3shift.images (id BIGINT NOT NULL)").await;
    ok(&s.rs, "INSERT INTO s3shift.images VALUES (1)").await;

    // A load's transaction is open when the migration starts: the ALTER waits for its commit.
    let load = in_session(&s.rs, None, "BEGIN").await;
    in_session(&s.rs, Some(&load), "INSERT INTO s3shift.images VALUES (2)").await;
    let alter = submit(&s.rs, "ALTER TABLE s3shift.images ADD COLUMN title VARCHAR(8)").await;
    still_waiting(&s.rs, &alter).await;
    in_session(&s.rs, Some(&load), "COMMIT").await;
    let d = wait(&s.rs, &alter).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());

    // The migration's transaction is open when a load comes: the load waits for it, then sees the new column.
    let migration = in_session(&s.rs, None, "BEGIN").await;
    in_session(
        &s.rs,
        Some(&migration),
        "ALTER TABLE s3shift.images ADD COLUMN rating DOUBLE PRECISION",
    )
    .await;
    let insert = submit(&s.rs, "INSERT INTO s3shift.images (id, rating) VALUES (3, 4.5)").await;
    still_waiting(&s.rs, &insert).await;
    in_session(&s.rs, Some(&migration), "COMMIT").await;
    let d = wait(&s.rs, &insert).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());
    assert_eq!(
        query(
            &s.rs,
            "SELECT id, title IS NULL, rating FROM s3shift.images ORDER BY id"
        )
        .await,
        [["1", "true", "NULL"], ["2", "true", "NULL"], ["3", "true", "4.5"]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_transaction() {
    let s = stack().await;
    ok(&s.rs, "CREATE TABLE kept (a INT)").await;
    let out =
        s.rs.batch_execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sqls("INSERT INTO kept VALUES (1)")
            .sqls("INSERT INTO no_such_table VALUES (1)")
            .sqls("INSERT INTO kept VALUES (2)")
            .send()
            .await
            .unwrap();
    let d = wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    let subs: Vec<_> = d
        .sub_statements()
        .iter()
        .map(|x| x.status().unwrap().as_str().to_owned())
        .collect();
    assert_eq!(subs, ["FINISHED", "FAILED", "ABORTED"]);
    assert_eq!(d.sub_statements()[1].id(), format!("{}:2", out.id().unwrap()));
    assert!(d.error().unwrap().contains("no_such_table"), "{:?}", d.error());
    // The first insert was rolled back with the rest.
    assert_eq!(query(&s.rs, "SELECT count(*) FROM kept").await, [["0"]]);

    let out =
        s.rs.batch_execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sqls("INSERT INTO kept VALUES (1), (2)")
            .sqls("SELECT sum(a) FROM kept")
            .send()
            .await
            .unwrap();
    let d = wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished));
    let r = rows(&s.rs, &format!("{}:2", out.id().unwrap())).await;
    assert_eq!(render(&r[0][0]), "3");
    let err =
        s.rs.get_statement_result()
            .id(out.id().unwrap())
            .send()
            .await
            .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ValidationException")
    );
    let err =
        s.rs.batch_execute_statement()
            .workgroup_name("local")
            .database("dev")
            .set_sqls(Some(vec!["SELECT 1".into(); 41]))
            .send()
            .await
            .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ValidationException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_keep_temporary_tables() {
    let s = stack().await;
    let out =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .session_keep_alive_seconds(60)
            .sql("CREATE TEMP TABLE scratch (a INT)")
            .send()
            .await
            .unwrap();
    let session = out.session_id().unwrap().to_owned();
    assert_eq!(
        wait(&s.rs, out.id().unwrap()).await.status(),
        Some(&StatusString::Finished)
    );
    let out =
        s.rs.execute_statement()
            .session_id(&session)
            .sql("INSERT INTO scratch VALUES (7)")
            .send()
            .await
            .unwrap();
    assert_eq!(
        wait(&s.rs, out.id().unwrap()).await.status(),
        Some(&StatusString::Finished)
    );
    let out =
        s.rs.execute_statement()
            .session_id(&session)
            .sql("SELECT a FROM scratch")
            .send()
            .await
            .unwrap();
    wait(&s.rs, out.id().unwrap()).await;
    assert_eq!(rows(&s.rs, out.id().unwrap()).await[0][0], Field::LongValue(7));
    // Without the session the temporary table does not exist.
    let d = run(&s.rs, "SELECT a FROM scratch").await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    let err =
        s.rs.execute_statement()
            .session_id("00000000-0000-4000-8000-000000000000")
            .sql("SELECT 1")
            .send()
            .await
            .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ValidationException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_idempotency_listing_and_cancel() {
    let s = stack().await;
    let err =
        s.rs.describe_statement()
            .id("11111111-2222-4333-8444-555555555555")
            .send()
            .await
            .unwrap_err();
    let e = err.into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let err =
        s.rs.describe_statement()
            .id("not-a-uuid")
            .send()
            .await
            .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    let err =
        s.rs.execute_statement()
            .database("dev")
            .sql("SELECT 1")
            .send()
            .await
            .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    let bad = redshift_client(&s.redshift, "someone-else");
    let err = bad
        .execute_statement()
        .workgroup_name("local")
        .database("dev")
        .sql("SELECT 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("UnrecognizedClientException")
    );

    let d = ok(&s.rs, "CREATE TABLE t (a INT)").await;
    let err = s.rs.get_statement_result().id(d.id()).send().await.unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    let err = s.rs.cancel_statement().id(d.id()).send().await.unwrap_err();
    assert!(err.into_service_error().is_validation_exception());

    // The same client token gives the same statement, run once.
    let a =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .client_token("tok-1")
            .sql("INSERT INTO t VALUES (1)")
            .send()
            .await
            .unwrap();
    let b =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .client_token("tok-1")
            .sql("INSERT INTO t VALUES (1)")
            .send()
            .await
            .unwrap();
    assert_eq!(a.id().unwrap(), b.id().unwrap());
    wait(&s.rs, a.id().unwrap()).await;
    assert_eq!(query(&s.rs, "SELECT count(*) FROM t").await, [["1"]]);

    let listed = s.rs.list_statements().max_results(2).send().await.unwrap();
    assert_eq!(listed.statements().len(), 2);
    assert!(listed.next_token().is_some());
    let failed =
        s.rs.list_statements()
            .status(aws_sdk_redshiftdata::types::StatusString::Failed)
            .send()
            .await
            .unwrap();
    assert!(failed.statements().is_empty());

    // A long statement can be cancelled.
    let out =
        s.rs.execute_statement()
            .workgroup_name("local")
            .database("dev")
            .sql("SELECT count(*) FROM range(100000000000) a")
            .send()
            .await
            .unwrap();
    loop {
        let d =
            s.rs.describe_statement()
                .id(out.id().unwrap())
                .send()
                .await
                .unwrap();
        if d.status() == Some(&StatusString::Started) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        s.rs.cancel_statement()
            .id(out.id().unwrap())
            .send()
            .await
            .unwrap()
            .status()
            .unwrap_or_default()
    );
    assert_eq!(
        wait(&s.rs, out.id().unwrap()).await.status(),
        Some(&StatusString::Aborted)
    );
}
