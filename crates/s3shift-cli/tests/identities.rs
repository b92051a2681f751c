//! Database identities end to end, as a deployment has them: the warehouse migrated by the admin (through the
//! admin secret), each job run as its own task role tagged with the loader role, analysts with the analyst
//! role, and an identity with no database role refused before it reads anything.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use s3shift_testkit::stack::data_api_of;
use s3shift_testkit::{Stack, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_s3shift");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_jobs_load_as_their_own_loader_identities_and_a_no_role_identity_is_refused_first() {
    let stack = Stack::start(BIN, "").await;
    stack
        .put_settled("api-up", &["uploads/a.jpg", "uploads/b.jpg", "uploads/c.jpg"])
        .await;
    stack
        .put_settled("kafka-up", &["partition=0/x.jpg", "partition=3/y.jpg"])
        .await;
    stack.migrate().await;

    let api_env = stack.shipped_job_env("api-up");
    let kafka_env = stack.shipped_job_env("kafka-up");
    let api = stack.run_as("loader", &["run", "api-images"], &api_env).await;
    assert_eq!(api.status.code(), Some(0), "{}", stderr(&api));
    let kafka = stack
        .run_as("kafka-loader", &["run", "kafka-images"], &kafka_env)
        .await;
    assert_eq!(kafka.status.code(), Some(0), "{}", stderr(&kafka));
    stack.assert_exactly_once(5).await;
    let by_source = stack
        .query("SELECT source, COUNT(*) FROM s3shift.images GROUP BY source ORDER BY source")
        .await;
    let by_source: Vec<(String, i64)> = by_source
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap()))
        .collect();
    assert_eq!(by_source, [("api".to_owned(), 3), ("kafka".to_owned(), 2)]);
    assert_eq!(stack.count("SELECT COUNT(*) FROM s3shift.runs").await, 2);

    // The same job as an identity with no database role: refused before the lease, the listing or any read,
    // with the missing privilege and its fix named.
    stack.put_settled("api-up", &["uploads/d.jpg"]).await;
    let staged_before = stack.store.list_prefix("stage", "").await.unwrap().len();
    let nobody = stack.run_as("nobody", &["run", "api-images"], &api_env).await;
    let err = stderr(&nobody);
    assert_eq!(nobody.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the database user IAMR:s3shift-local-nobody lacks USAGE on schema s3shift"),
        "{err}"
    );
    assert!(err.contains("RedshiftDbRoles tag `s3shift_loader`"), "{err}");
    assert!(
        !err.contains("permission denied for relation"),
        "refused before any statement on a table: {err}"
    );
    assert_eq!(
        stack.store.list_prefix("stage", "").await.unwrap().len(),
        staged_before,
        "no lease, no state, no staged file"
    );
    stack.assert_exactly_once(5).await;

    // doctor, as the loader and as nobody.
    let ok = stack.run_as("loader", &["doctor", "api-images"], &api_env).await;
    let text = stdout(&ok);
    assert!(
        text.contains("database user IAMR:s3shift-local-api-images-task holds the 15 privileges a run needs"),
        "{text}{}",
        stderr(&ok)
    );
    let refused = stack.run_as("nobody", &["doctor", "api-images"], &api_env).await;
    let text = stdout(&refused);
    assert_ne!(refused.status.code(), Some(0), "{text}");
    assert!(
        text.contains("database user IAMR:s3shift-local-nobody lacks USAGE on schema s3shift"),
        "{text}"
    );
    assert!(
        text.contains("GRANT ROLE s3shift_loader TO \"IAMR:s3shift-local-nobody\""),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_needs_the_admin_and_a_loader_creates_nothing() {
    let stack = Stack::start(BIN, "").await;
    // Without the admin secret, a task role cannot create the schema, and is told how to migrate.
    let out = stack.s3shift_as("loader", &["migrate"], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("permission denied for database dev"), "{err}");
    assert!(err.contains("--admin-secret-arn"), "{err}");
    // The admin secret is only for identities whose IAM policy may read it.
    let out = stack
        .s3shift_as("loader", &["migrate"], &[s3shift_testkit::stack::admin_secret()])
        .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not authorized to perform: secretsmanager:GetSecretValue"),
        "{err}"
    );
    stack.migrate().await;

    let loader = data_api_of(&stack.local, "loader");
    for (sql, refusal) in [
        (
            "CREATE TABLE s3shift.extra (a INTEGER)",
            "permission denied for schema s3shift",
        ),
        ("DROP TABLE s3shift.runs", "must be owner of relation runs"),
        ("CREATE SCHEMA other", "permission denied for database dev"),
        (
            "SELECT COUNT(*) FROM s3shift.schema_migrations",
            "permission denied for relation schema_migrations",
        ),
    ] {
        let e = loader.execute(sql, &[]).await.unwrap_err().to_string();
        assert!(e.contains(refusal), "{sql}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_read_views_and_coarse_gps_never_exact_gps_and_write_nothing() {
    let stack = Stack::start(BIN, "").await;
    stack.migrate().await;
    stack
        .api
        .execute(
            "INSERT INTO s3shift.images (source, bucket, object_key, etag, size_bytes, last_modified, status, \
             camera_model, gps_latitude, gps_longitude, bytes_read, run_id, loaded_at) VALUES ('api', 'b', \
             'k.jpg', 'e', 10, CAST('2026-11-30 10:00:00+00' AS TIMESTAMPTZ), 'ok', 'X100', 48.858372, \
             2.294481, 10, 'r', CAST('2026-11-30 11:00:00+00' AS TIMESTAMPTZ))",
            &[],
        )
        .await
        .unwrap();
    let analyst = data_api_of(&stack.local, "analyst");
    let rows = analyst
        .query(
            "SELECT object_key, gps_latitude_approx, gps_longitude_approx FROM s3shift.analyst_images",
            &[],
        )
        .await
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][1].as_f64(), Some(48.86), "about 1 km: {rows:?}");
    assert_eq!(rows[0][2].as_f64(), Some(2.29));
    for view in ["images_per_day", "camera_models", "quarantined_objects", "runs"] {
        analyst
            .query(&format!("SELECT COUNT(*) FROM s3shift.{view}"), &[])
            .await
            .unwrap_or_else(|e| panic!("{view}: {e}"));
    }
    for (sql, refusal) in [
        (
            "SELECT gps_latitude FROM s3shift.images",
            "permission denied for relation images",
        ),
        (
            "SELECT * FROM s3shift.gps_tagged_images",
            "permission denied for relation gps_tagged_images",
        ),
        (
            "DELETE FROM s3shift.images",
            "permission denied for relation images",
        ),
        (
            "INSERT INTO s3shift.runs (run_id) VALUES ('x')",
            "permission denied for relation runs",
        ),
        (
            "UPDATE s3shift.runs SET message = 'x'",
            "permission denied for relation runs",
        ),
        (
            "CREATE TABLE s3shift.mine (a INTEGER)",
            "permission denied for schema s3shift",
        ),
        (
            "DROP VIEW s3shift.analyst_images",
            "must be owner of relation analyst_images",
        ),
        (
            "GRANT SELECT ON s3shift.images TO ROLE s3shift_analyst",
            "permission denied for relation images",
        ),
    ] {
        let e = analyst.execute(sql, &[]).await.unwrap_err().to_string();
        assert!(e.contains(refusal), "{sql}: {e}");
    }
    // Exact coordinates with the GPS role on top.
    let gps = data_api_of(&stack.local, "gps-analyst");
    let exact = gps
        .query("SELECT gps_latitude FROM s3shift.gps_tagged_images", &[])
        .await
        .unwrap()
        .rows;
    assert_eq!(exact[0][0].as_f64(), Some(48.858372));
    // Privilege functions answer for the caller.
    let answers = analyst
        .query(
            "SELECT has_table_privilege('s3shift.analyst_images', 'select'), \
             has_table_privilege('s3shift.images', 'select'), has_schema_privilege('s3shift', 'create')",
            &[],
        )
        .await
        .unwrap()
        .rows;
    let answers: Vec<String> = answers[0].iter().map(ToString::to_string).collect();
    assert_eq!(answers, ["true", "false", "false"]);
}

/// Issue 28 item 1: the COPY role reads the staged Parquet, exact GPS included, so only the loader may use it
/// (`sql/0005_copy_role.sql`, and `migrate <job>` for a job that names its role by ARN). An analyst's COPY of the
/// staged files is refused with the default role and with the role's ARN; the loader still loads; and a loader
/// whose TEMP or ASSUMEROLE was revoked is stopped by the preflight, naming both, before it reads anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_loader_may_copy_with_the_copy_role_and_the_preflight_names_what_was_revoked() {
    const ARN: &str = "arn:aws:iam::000000000000:role/s3shift-local-copy";
    let stack = Stack::start(BIN, "").await;
    stack
        .put_settled("api-up", &["uploads/a.jpg", "uploads/b.jpg"])
        .await;
    let mut env = stack.shipped_job_env("api-up");
    env.retain(|(k, _)| *k != "S3SHIFT_COPY_IAM_ROLE");
    env.push(("S3SHIFT_COPY_IAM_ROLE", ARN.to_owned()));
    let mut admin_env = env.clone();
    admin_env.push(s3shift_testkit::stack::admin_secret());
    let migrated = stack
        .run_as("migrator", &["migrate", "api-images"], &admin_env)
        .await;
    let out = stdout(&migrated);
    assert_eq!(migrated.status.code(), Some(0), "{}", stderr(&migrated));
    assert!(out.contains("migration 0005_copy_role.sql: applied"), "{out}");
    assert!(
        out.contains(&format!(
            "job api-images: GRANT ASSUMEROLE ON '{ARN}' TO ROLE s3shift_loader FOR COPY"
        )),
        "{out}"
    );

    // The loader loads, with the role named by ARN.
    let run = stack.run_as("loader", &["run", "api-images"], &env).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    stack.assert_exactly_once(2).await;
    let staged = stack.store.list_prefix("stage", "").await.unwrap();
    let parquet = staged
        .iter()
        .map(|o| o.key.clone())
        .find(|k| k.ends_with(".parquet"))
        .unwrap_or_else(|| panic!("no staged Parquet file: {staged:?}"));

    // The analyst may create a temporary table, but may not copy into it with either form of the role.
    let analyst = data_api_of(&stack.local, "analyst");
    analyst
        .execute("CREATE TEMP TABLE mine (object_key VARCHAR(1024))", &[])
        .await
        .unwrap();
    for role in ["default".to_owned(), format!("'{ARN}'")] {
        let e = analyst
            .execute(
                &format!("COPY mine FROM 's3://stage/{parquet}' IAM_ROLE {role} FORMAT AS PARQUET"),
                &[],
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!(
                "User IAMR:s3shift-local-analyst does not have ASSUMEROLE permission on IAM role \"{ARN}\" for COPY"
            )),
            "IAM_ROLE {role}: {e}"
        );
    }
    let asked = analyst
        .query(&format!("SELECT has_assumerole_privilege('{ARN}', 'copy')"), &[])
        .await
        .unwrap()
        .rows;
    assert!(
        matches!(asked[0][0], s3shift_redshift::Value::Bool(false)),
        "{asked:?}"
    );

    // Revoke what the loader needs beyond its tables: the next run stops before reading, naming both.
    for sql in [
        "REVOKE TEMP ON DATABASE dev FROM PUBLIC".to_owned(),
        "REVOKE TEMP ON DATABASE dev FROM ROLE s3shift_loader".to_owned(),
        format!("REVOKE ASSUMEROLE ON '{ARN}' FROM ROLE s3shift_loader FOR COPY"),
    ] {
        stack
            .api
            .execute(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    stack.put_settled("api-up", &["uploads/c.jpg"]).await;
    let staged_before = stack.store.list_prefix("stage", "").await.unwrap().len();
    let refused = stack.run_as("loader", &["run", "api-images"], &env).await;
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("lacks TEMP on database dev"), "{err}");
    assert!(
        err.contains(&format!("ASSUMEROLE for COPY on IAM role {ARN}")),
        "{err}"
    );
    assert_eq!(
        stack.store.list_prefix("stage", "").await.unwrap().len(),
        staged_before,
        "nothing staged"
    );
    stack.assert_exactly_once(2).await;
}

/// Issue 28 item 2: the order of migrate and a task's first run does not matter. A task that signs in before
/// migrate made `s3shift_loader` gets none of its tag's roles (here the `nobody` identity, whose tag names none);
/// migrate, told the task roles (`S3SHIFT_LOADER_ROLES`, as deploy/migrate.yaml sets it), grants the loader role
/// to the users that exist and leaves the others to their tags; the task then loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_ran_before_migrate_loads_after_it() {
    let stack = Stack::start(BIN, "").await;
    stack.put_settled("api-up", &["uploads/a.jpg"]).await;
    let env = stack.shipped_job_env("api-up");
    let early = stack.run_as("nobody", &["run", "api-images"], &env).await;
    assert_ne!(early.status.code(), Some(0), "{}", stderr(&early));
    assert!(stderr(&early).contains("migrate"), "{}", stderr(&early));

    let mut admin_env = env.clone();
    admin_env.push(s3shift_testkit::stack::admin_secret());
    admin_env.push((
        "S3SHIFT_LOADER_ROLES",
        "arn:aws:iam::000000000000:role/s3shift-local-nobody,arn:aws:iam::000000000000:role/not-yet-signed-in"
            .to_owned(),
    ));
    let migrated = stack
        .run_as("migrator", &["migrate", "api-images"], &admin_env)
        .await;
    let out = stdout(&migrated);
    assert_eq!(migrated.status.code(), Some(0), "{}", stderr(&migrated));
    assert!(
        out.contains("loader IAMR:s3shift-local-nobody: granted s3shift_loader"),
        "{out}"
    );
    assert!(
        out.contains("loader IAMR:not-yet-signed-in: not signed in yet"),
        "{out}"
    );

    let run = stack.run_as("nobody", &["run", "api-images"], &env).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    stack.assert_exactly_once(1).await;
}
