//! `s3shift local`: the embedded stand-ins (S3 over a directory, the Redshift Data API over DuckDB) as a
//! process, for people and for other tools.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use s3shift_local::LocalStack;
use s3shift_local::redshift::LocalRedshiftConfig;
use s3shift_local::s3::{FaultConfig, LocalS3Config};

#[derive(Debug, Args)]
pub(crate) struct LocalArgs {
    /// Data directory (created if missing): buckets under DIR/s3/buckets, the warehouse in DIR/warehouse.duckdb.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Port of the S3 endpoint on 127.0.0.1 (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = 9000)]
    s3_port: u16,
    /// Port of the Redshift Data API endpoint on 127.0.0.1 (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = 9001)]
    redshift_port: u16,
    /// Port of the SQS endpoint on 127.0.0.1 (0 picks a free one); S3 event notifications go to its queues.
    #[arg(long, value_name = "PORT", default_value_t = 9002)]
    sqs_port: u16,
    /// Fault injection: milliseconds added to each request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Fault injection: requests per thousand answered 503 SlowDown.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1000))]
    slowdown_per_mille: u16,
    /// Fault injection: responses per thousand cut mid-body.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1000))]
    drop_body_per_mille: u16,
    /// Fault injection: seed of the draw.
    #[arg(long, value_name = "N", default_value_t = 0)]
    fault_seed: u64,
}

pub(crate) fn run(args: &LocalArgs) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    runtime.block_on(serve(args))
}

async fn serve(args: &LocalArgs) -> Result<u8> {
    // Listen for SIGTERM before anything is printed: whoever reads the endpoints may stop us at once.
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let mut config = LocalS3Config::new(args.dir.join("s3"));
    config.addr = SocketAddr::from(([127, 0, 0, 1], args.s3_port));
    config.faults = FaultConfig {
        latency: Duration::from_millis(args.latency_ms),
        slowdown_per_mille: args.slowdown_per_mille,
        drop_body_per_mille: args.drop_body_per_mille,
        seed: args.fault_seed,
        denied_keys: Vec::new(),
    };
    let warehouse = args.dir.join("warehouse.duckdb");
    let mut rs_config = LocalRedshiftConfig::new(&warehouse);
    rs_config.addr = SocketAddr::from(([127, 0, 0, 1], args.redshift_port));
    let sqs_config = s3shift_local::sqs::LocalSqsConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], args.sqs_port)),
        ..Default::default()
    };
    let stack = match LocalStack::start_with_sqs(config, rs_config, sqs_config).await {
        Ok(stack) => stack,
        Err(e) => {
            // A port in use: name the flag that picks another.
            let hint = match &e {
                s3shift_local::Error::Bind { addr, source }
                    if source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    let flag = [
                        ("--s3-port", args.s3_port),
                        ("--redshift-port", args.redshift_port),
                        ("--sqs-port", args.sqs_port),
                    ]
                    .into_iter()
                    .find(|(_, p)| *p == addr.port())
                    .map_or("--s3-port, --redshift-port or --sqs-port", |(f, _)| f);
                    format!(
                        "; another program listens on port {}: stop it, or pass {flag} 0 to pick a free port",
                        addr.port()
                    )
                }
                _ => String::new(),
            };
            return Err(anyhow::Error::new(e).context(format!(
                "starting the stand-ins over {}{hint}",
                args.dir.display()
            )));
        }
    };
    let (server, redshift) = (&stack.s3, &stack.redshift);
    let (access_key, secret_key) = (&stack.access_key, &stack.secret_key);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "s3shift local: S3 at {} over {}",
        server.endpoint_url(),
        args.dir.join("s3").display()
    )?;
    writeln!(
        out,
        "s3shift local: Redshift Data API at {} over {}",
        redshift.endpoint_url(),
        warehouse.display()
    )?;
    writeln!(
        out,
        "s3shift local: SQS at {} (queues in memory)",
        stack.sqs.endpoint_url()
    )?;
    // Queues live in memory: after a restart over the same folder, the buckets' notifications name queues
    // that are gone. Said once, with the fix, instead of a warning per upload.
    match stack.notifications_to_missing_queues().await {
        Ok(orphans) => {
            for (bucket, arn) in orphans {
                let name = arn.rsplit(':').next().unwrap_or(&arn);
                tracing::warn!(bucket = %bucket, queue = %arn,
                    "s3://{bucket} sends its event notifications to queue {name}, which does not exist: queues \
                     live in memory and did not survive the restart. Create it again (aws sqs create-queue \
                     --queue-name {name}, with its dead-letter queue) or remove the notification; until then \
                     the events of its uploads are dropped");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot check the buckets' event notifications"),
    }
    writeln!(out, "# To point the AWS CLI, boto3 or s3shift at them:")?;
    writeln!(out, "export AWS_ENDPOINT_URL_S3={}", server.endpoint_url())?;
    writeln!(
        out,
        "export AWS_ENDPOINT_URL_REDSHIFT_DATA={}",
        redshift.endpoint_url()
    )?;
    writeln!(
        out,
        "export AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS={}",
        redshift.endpoint_url()
    )?;
    writeln!(out, "export AWS_ENDPOINT_URL_SQS={}", stack.sqs.endpoint_url())?;
    writeln!(out, "export AWS_ACCESS_KEY_ID={access_key}")?;
    writeln!(out, "export AWS_SECRET_ACCESS_KEY={secret_key}")?;
    // The other IAM identities, each with the database user and roles its Data API calls run as.
    writeln!(
        out,
        "# The keys above are the administrator's (a database superuser). To act as another identity, use its keys:"
    )?;
    for i in &stack.identities {
        let roles = if i.db_roles.is_empty() {
            "no database role".to_owned()
        } else {
            format!("RedshiftDbRoles={}", i.db_roles.join(":"))
        };
        let secret = if i.reads_admin_secret {
            ", may read the admin secret"
        } else {
            ""
        };
        writeln!(
            out,
            "# identity {}: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}  ({}, {roles}{secret})",
            i.name,
            i.access_key,
            i.secret_key,
            i.db_user()
        )?;
    }
    writeln!(
        out,
        "# The namespace's admin secret (s3shift migrate --admin-secret-arn): '{}'",
        s3shift_local::identity::ADMIN_SECRET_ARN
    )?;
    // botocore sends `Expect: 100-continue` even on empty uploads; the server rightly answers those at once,
    // which leaves botocore's pooled connection stalling the next upload for 60 s (boto/botocore#3755).
    writeln!(
        out,
        "# AWS CLI v1 and boto3 stall 60 s after an empty upload without this (boto/botocore#3755):"
    )?;
    writeln!(out, "export BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE=true")?;
    // AWS CLI v1 and boto3 read AWS_DEFAULT_REGION, the Rust SDK and CLI v2 AWS_REGION; the region export is the
    // last line before the server runs (scripts wait for it).
    writeln!(out, "export AWS_DEFAULT_REGION=us-east-1")?;
    writeln!(out, "export AWS_REGION=us-east-1")?;
    writeln!(out, "# Ctrl-C or SIGTERM stops it.")?;
    out.flush()?;
    drop(out);
    wait_for_stop(term).await?;
    stack.stop().await;
    eprintln!("s3shift local: stopped");
    Ok(0)
}

async fn wait_for_stop(mut term: tokio::signal::unix::Signal) -> Result<()> {
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("listening for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}
