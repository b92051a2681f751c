//! `s3shift doctor`: every precondition of a job's runs, checked one by one, each with a fix.

use aws_sdk_s3::config::ProvideCredentials;
use bytes::Bytes;
use s3shift_redshift::serverless::Serverless;
use s3shift_redshift::sql::IamRole;
use s3shift_redshift::{DataApi, Target};
use s3shift_s3::S3Store;
use serde::Serialize;

use crate::clients::AwsClients;
use crate::spec::JobSpec;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As the job needs it.
    Pass,
    /// Works, but not as recommended (or could not be told).
    Warn,
    /// A run would fail or lose data.
    Fail,
    /// Not checked: what it needs failed first (the credentials).
    Skip,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it (empty on a pass).
    pub fix: String,
}

fn check(
    name: impl Into<String>,
    verdict: Verdict,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        name: name.into(),
        verdict,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Runs every check for `spec`; never stops at the first failure.
pub async fn doctor(spec: &JobSpec, clients: &AwsClients, s3: &S3Store, api: &DataApi) -> Vec<Check> {
    let mut out = Vec::new();
    // Credentials and region.
    let region = clients
        .shared
        .region()
        .map(ToString::to_string)
        .unwrap_or_default();
    let creds = match clients.shared.credentials_provider() {
        Some(p) => p
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Err("no credentials provider".into()),
    };
    out.push(match creds {
        Ok(()) => check(
            "credentials",
            Verdict::Pass,
            format!("resolved, region {region}"),
            "",
        ),
        Err(e) => check(
            "credentials",
            Verdict::Fail,
            e,
            "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a task role",
        ),
    });

    // Other jobs of the job's folder that read the same objects.
    let overlaps = spec
        .file
        .parent()
        .map(|dir| crate::spec::overlapping_jobs(spec, dir))
        .unwrap_or_default();
    out.push(if overlaps.is_empty() {
        check("overlapping jobs", Verdict::Pass, "no other job of its folder reads its prefixes", "")
    } else {
        check(
            "overlapping jobs",
            Verdict::Warn,
            overlaps.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            "give each job prefixes of its own (loads stay exactly once, but every object is read and loaded twice)",
        )
    });

    // The source: readable under every prefix, and its lifecycle.
    let src = &spec.config.source;
    for prefix in &src.prefixes {
        let name = format!("source s3://{}/{prefix}", src.bucket);
        out.push(match s3.probe_list(&src.bucket, prefix).await {
            Ok(()) => check(name, Verdict::Pass, "listable", ""),
            Err(e @ s3shift_s3::Error::NoSuchBucket { .. }) => {
                let origin = spec
                    .bucket_origin(&src.bucket)
                    .map_or_else(|| "source.bucket".to_owned(), |(_, o)| o);
                check(
                    name,
                    Verdict::Fail,
                    e.to_string(),
                    format!(
                        "create the bucket (deploy/storage.yaml does), or name the one that exists: {origin}"
                    ),
                )
            }
            Err(e) => check(
                name,
                Verdict::Fail,
                e.to_string(),
                "grant s3:ListBucket and s3:GetObject on the bucket to this job's role",
            ),
        });
    }
    // The lifecycle bounds the ledger window a scan reads (`plan::ledger::ledger_window_start`): without a rule
    // that expires everything under a prefix, or `assume_lifecycle_days`, a scan refuses to run.
    let assume = src.assume_lifecycle_days;
    let unbounded =
        "add the 7-day expiration rule (deploy/storage.yaml), or set source.assume_lifecycle_days";
    match s3.lifecycle(&src.bucket).await {
        Ok(l) => {
            for prefix in &src.prefixes {
                let name = format!("lifecycle of s3://{}/{prefix}", src.bucket);
                out.push(match l.deletes_all_under(prefix) {
                    Some(d) => check(
                        name,
                        Verdict::Pass,
                        format!("every object expires {d} days after upload (at the next midnight UTC)"),
                        "",
                    ),
                    None if assume > 0 => check(
                        name,
                        Verdict::Warn,
                        format!(
                            "no rule expires every object here: the ledger window assumes {assume} days \
                             (source.assume_lifecycle_days)"
                        ),
                        "add the 7-day expiration rule (deploy/storage.yaml)",
                    ),
                    None => check(
                        name,
                        Verdict::Fail,
                        "no rule expires every object here, and source.assume_lifecycle_days is 0: a scan \
                         refuses to run rather than read the whole ledger",
                        unbounded,
                    ),
                });
            }
        }
        Err(e) => out.push(check(
            format!("lifecycle of s3://{}", src.bucket),
            if assume > 0 { Verdict::Warn } else { Verdict::Fail },
            e.to_string(),
            if assume > 0 {
                "grant s3:GetLifecycleConfiguration on the source bucket (the job assumes its days meanwhile)"
            } else {
                "grant s3:GetLifecycleConfiguration on the source bucket, or set source.assume_lifecycle_days"
            },
        )),
    }

    // The staging bucket: writable, and encrypted.
    let staging = &spec.config.staging.bucket;
    let probe = format!(
        "{}/_state/doctor-probe-{}",
        spec.staging_root(),
        std::process::id()
    );
    let write = match s3
        .put(staging, &probe, Bytes::from_static(b"probe"), "text/plain")
        .await
    {
        Ok(()) => s3.delete(staging, &probe).await,
        Err(e) => Err(e),
    };
    out.push(match write {
        Ok(()) => check(format!("staging s3://{staging}/{}", spec.staging_root()), Verdict::Pass, "writable", ""),
        Err(e @ s3shift_s3::Error::NoSuchBucket { .. }) => {
            let origin = spec
                .bucket_origin(staging)
                .map_or_else(|| "staging.bucket".to_owned(), |(_, o)| o);
            check(
                format!("staging s3://{staging}/{}", spec.staging_root()),
                Verdict::Fail,
                e.to_string(),
                format!("create the bucket (deploy/storage.yaml does), or name the one that exists: {origin}"),
            )
        }
        Err(e) => check(
            format!("staging s3://{staging}/{}", spec.staging_root()),
            Verdict::Fail,
            e.to_string(),
            "grant s3:PutObject, s3:GetObject and s3:DeleteObject under the staging prefix to this job's role",
        ),
    });
    out.push(match s3.default_encryption(staging).await {
        Ok(algos) if algos.iter().any(|a| a.starts_with("aws:kms")) => check(
            format!("encryption of s3://{staging}"),
            Verdict::Pass,
            algos.join(", "),
            "",
        ),
        Ok(algos) => check(
            format!("encryption of s3://{staging}"),
            Verdict::Warn,
            format!(
                "default encryption {}",
                if algos.is_empty() {
                    "none".into()
                } else {
                    algos.join(", ")
                }
            ),
            "use SSE-KMS with a customer key (deploy/ does)",
        ),
        Err(e) => check(
            format!("encryption of s3://{staging}"),
            Verdict::Warn,
            format!("cannot read: {e}"),
            "grant s3:GetEncryptionConfiguration, and use SSE-KMS with a customer key",
        ),
    });

    // The warehouse: Serverless workgroup and namespace.
    match &spec.target {
        Target::Serverless { workgroup } => {
            let serverless = Serverless::new(clients.redshift_serverless.clone());
            match serverless.workgroup(workgroup).await {
                Ok(w) => {
                    out.push(if w.status == "AVAILABLE" {
                        check(format!("workgroup {workgroup}"), Verdict::Pass, "AVAILABLE", "")
                    } else {
                        check(
                            format!("workgroup {workgroup}"),
                            Verdict::Fail,
                            format!("status {}", w.status),
                            "wait for the workgroup to become AVAILABLE",
                        )
                    });
                    if let Some(ns) = &w.namespace {
                        out.push(namespace_check(&serverless, ns, &spec.iam_role).await);
                    }
                }
                Err(e) => out.push(check(
                    format!("workgroup {workgroup}"),
                    Verdict::Fail,
                    e.to_string(),
                    "check warehouse.workgroup and the region, and grant redshift-serverless:GetWorkgroup",
                )),
            }
        }
        Target::Cluster {
            cluster_identifier, ..
        } => out.push(check(
            format!("cluster {cluster_identifier}"),
            Verdict::Warn,
            "provisioned clusters are not checked",
            "",
        )),
    }

    // The tables.
    match s3shift_redshift::schema_check::check_table(api, &spec.table, s3shift_core::schema::IMAGES).await {
        Ok(()) => out.push(check(
            format!("table {}", spec.table),
            Verdict::Pass,
            "columns as staged",
            "",
        )),
        Err(e) => out.push(check(
            format!("table {}", spec.table),
            Verdict::Fail,
            e.to_string(),
            "run `s3shift migrate <job>`",
        )),
    }
    out.extend(privilege_checks(spec, api).await);
    for t in ["loaded_objects", "runs"] {
        let Ok(table) = spec.table.sibling(t) else {
            continue;
        };
        let live = s3shift_redshift::schema_check::live_columns(api, &table).await;
        out.push(match live {
            Ok(c) if !c.is_empty() => check(
                format!("table {table}"),
                Verdict::Pass,
                format!("{} columns", c.len()),
                "",
            ),
            Ok(_) => check(
                format!("table {table}"),
                Verdict::Fail,
                "missing",
                "run `s3shift migrate <job>`",
            ),
            Err(e) => check(
                format!("table {table}"),
                Verdict::Fail,
                e.to_string(),
                "check the Data API permissions",
            ),
        });
    }
    if spec.config.source.events.is_some() {
        out.extend(event_checks(spec, clients).await);
    }
    workgroup_first(credentials_first(out))
}

/// When the workgroup does not exist, the Data API checks fail for that reason alone: say it once, in the
/// workgroup's check, and mark them not checked.
fn workgroup_first(mut out: Vec<Check>) -> Vec<Check> {
    let missing = out
        .iter()
        .any(|c| c.name.starts_with("workgroup ") && c.verdict == Verdict::Fail);
    if !missing {
        return out;
    }
    for c in &mut out {
        if !c.name.starts_with("workgroup ")
            && c.verdict == Verdict::Fail
            && c.detail.contains("Workgroup")
            && c.detail.contains("not found")
        {
            c.verdict = Verdict::Skip;
            c.detail = "not checked: the workgroup was not found".into();
            c.fix = String::new();
        }
    }
    out
}

/// What AWS answers when it refuses the credentials themselves (S3's and the JSON services' codes): a wrong
/// secret, an unknown key, an expired session.
const REFUSED_CREDENTIALS: [&str; 8] = [
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidToken",
];

/// When the credentials could not be found, or AWS refused them, says so once, in the credentials check, and
/// marks the checks that failed for that reason as not checked, instead of prescribing a grant or a migration
/// for each.
fn credentials_first(mut out: Vec<Check>) -> Vec<Check> {
    let refused = |c: &Check| REFUSED_CREDENTIALS.iter().any(|code| c.detail.contains(code));
    let missing = out
        .iter()
        .any(|c| c.name == "credentials" && c.verdict == Verdict::Fail);
    let refusal = out.iter().find(|c| refused(c)).map(|c| c.detail.clone());
    if !missing && refusal.is_none() {
        return out;
    }
    for c in &mut out {
        if c.name == "credentials" {
            if let (false, Some(why)) = (missing, &refusal) {
                c.verdict = Verdict::Fail;
                c.detail = format!("resolved, but refused by AWS: {why}");
                c.fix = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile, or the role's session \
                         token): AWS does not accept them"
                    .into();
            }
        } else if c.verdict != Verdict::Pass && (missing || refused(c)) && c.name != "overlapping jobs" {
            c.verdict = Verdict::Skip;
            c.detail = "not checked: the credentials failed".into();
            c.fix = String::new();
        }
    }
    out
}

/// Event mode: the source bucket notifies the job's queue of `ObjectCreated` events, and the queue has a
/// dead-letter queue ("Amazon S3 Event Notifications"; "Amazon SQS dead-letter queues").
async fn event_checks(spec: &JobSpec, clients: &AwsClients) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(events) = &spec.config.source.events else {
        return out;
    };
    let bucket = &spec.config.source.bucket;
    let queue_name = events.queue_url.rsplit('/').next().unwrap_or_default();
    let name = format!("notifications of s3://{bucket}");
    out.push(
        match clients
            .s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(n) => {
                let ours = n.queue_configurations().iter().find(|q| {
                    q.queue_arn().rsplit(':').next() == Some(queue_name)
                        && q.events().iter().any(|e| e.as_str().starts_with("s3:ObjectCreated:"))
                });
                match ours {
                    Some(q) => check(
                        name,
                        Verdict::Pass,
                        format!(
                            "{} sent to {}",
                            q.events().iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
                            q.queue_arn()
                        ),
                        "",
                    ),
                    None => check(
                        name,
                        Verdict::Fail,
                        format!("no s3:ObjectCreated:* notification to a queue named {queue_name}"),
                        "deploy/ with EventIngestion=on configures it; uploads are otherwise only found by the \
                         reconciliation scan (`s3shift run <job> --scan`)",
                    ),
                }
            }
            Err(e) => check(
                name,
                Verdict::Warn,
                s3shift_core::text::error_chain(&e),
                "allow s3:GetBucketNotification on the source bucket to check it",
            ),
        },
    );
    let queue = crate::events::EventQueue::new(clients.sqs.clone(), events.queue_url.clone());
    let name = format!("event queue {}", events.queue_url);
    out.push(match queue.depths().await {
        Ok(d) => match d.dead_letter {
            Some((url, dlq)) if dlq.visible > 0 => check(
                name,
                Verdict::Warn,
                format!(
                    "{} waiting; {} messages in its dead-letter queue {url}",
                    d.queue.visible, dlq.visible
                ),
                "their objects could not be read: see the runs' warnings, fix the cause, then redrive the \
                 dead-letter queue to the queue",
            ),
            Some((url, _)) => check(
                name,
                Verdict::Pass,
                format!(
                    "{} waiting, {} in flight; dead-letter queue {url} empty",
                    d.queue.visible, d.queue.in_flight
                ),
                "",
            ),
            None => check(
                name,
                Verdict::Warn,
                "no redrive policy: a message whose object cannot be read is received forever",
                "give the queue a dead-letter queue (deploy/ does, maxReceiveCount 5)",
            ),
        },
        Err(e) => check(
            name,
            Verdict::Fail,
            e.to_string(),
            "check the queue URL and the task role's sqs:GetQueueAttributes and sqs:GetQueueUrl",
        ),
    });
    out
}

/// The database privileges a run needs, held or not by the identity doctor runs as (the job's, when doctor runs
/// with the job's task role): one line when all are held, one per missing privilege otherwise, each with its fix.
async fn privilege_checks(spec: &JobSpec, api: &DataApi) -> Vec<Check> {
    use s3shift_redshift::warehouse::privileges;
    let needs = match s3shift_redshift::sql::Ident::new("database", &spec.config.warehouse.database)
        .and_then(|database| privileges::run_needs(&spec.table, &database, &spec.iam_role))
    {
        Ok(n) => n,
        Err(e) => return vec![check("database privileges", Verdict::Fail, e.to_string(), "")],
    };
    match privileges::missing(api, &needs).await {
        Ok((user, missing)) if missing.is_empty() => vec![check(
            "database privileges",
            Verdict::Pass,
            format!("database user {user} holds the {} privileges a run needs", needs.len()),
            "",
        )],
        Ok((user, missing)) => missing
            .iter()
            .map(|m| {
                check(
                    format!("privilege {m}"),
                    Verdict::Fail,
                    format!("database user {user} lacks {m}"),
                    format!(
                        "give the job's task role the RedshiftDbRoles tag `s3shift_loader` (deploy/iam.yaml does), \
                         or, as the admin, GRANT ROLE s3shift_loader TO \"{user}\" (`s3shift migrate` creates the \
                         role and its grants)"
                    ),
                )
            })
            .collect(),
        // A missing table is the table checks' failure; the privileges cannot be told until it exists.
        Err(e) if e.missing_relation().is_some() => vec![check(
            "database privileges",
            Verdict::Warn,
            format!("not checked: {e}"),
            "run `s3shift migrate <job>` as the admin (--admin-secret-arn)",
        )],
        Err(e) => vec![check(
            "database privileges",
            Verdict::Fail,
            e.to_string(),
            "check the Data API permissions",
        )],
    }
}

async fn namespace_check(serverless: &Serverless, namespace: &str, role: &IamRole) -> Check {
    let name = format!("namespace {namespace}");
    let ns = match serverless.namespace(namespace).await {
        Ok(n) => n,
        Err(e) => {
            return check(
                name,
                Verdict::Fail,
                e.to_string(),
                "grant redshift-serverless:GetNamespace",
            );
        }
    };
    let roles: Vec<&str> = ns.iam_roles.iter().map(String::as_str).collect();
    let default = ns.default_iam_role.as_deref();
    match role {
        IamRole::Default => match default {
            Some(d) => check(
                name,
                Verdict::Pass,
                format!("default IAM role {d} (COPY uses IAM_ROLE default)"),
                "",
            ),
            None => check(
                name,
                Verdict::Fail,
                "no default IAM role, but the job's COPY uses IAM_ROLE default",
                "set the namespace's default IAM role to the COPY role (deploy/ does)",
            ),
        },
        IamRole::Arn(arn) => {
            if roles.iter().any(|r| r.contains(arn.as_str())) {
                check(name, Verdict::Pass, format!("holds the COPY role {arn}"), "")
            } else {
                check(
                    name,
                    Verdict::Fail,
                    format!(
                        "the COPY role {arn} is not attached (attached: {})",
                        roles.join(", ")
                    ),
                    "attach the role to the namespace (iamRoles)",
                )
            }
        }
    }
}
