//! `s3shift demo`: the whole pipeline on the embedded default, with nothing else running.
//!
//! Starts the S3 and Data API stand-ins in-process, fills a bucket with the sample images (every supported
//! format, some broken, and keys with quotes, spaces, unicode and `%`), migrates, runs the demo job twice (the
//! second run loads nothing), prints what landed and where the DuckDB file is.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Args;
use s3shift_jobs::clients::ClientOverrides;
use s3shift_jobs::spec::parse_job;
use s3shift_local::{LocalStack, identity};
use s3shift_redshift::Value;

use super::job::pipeline;
use super::migrate::apply_migrations;
use super::run::run_job;

const DEMO_JOB: &str = include_str!("../../../../jobs/demo.toml");
const MARKER: &str = ".s3shift-demo";

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where the demo keeps its buckets and warehouse (emptied first if an earlier demo made it).
    #[arg(long, value_name = "DIR", default_value = "s3shift-demo")]
    dir: PathBuf,
    /// Folder of sample images (default: the repository's fixture corpus, or samples built into the binary when
    /// the repository is not there).
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Upload each sample this many times, under different keys.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    copies: u32,
}

/// Samples built into the binary, for a binary away from its repository (installed with `cargo install`, or
/// copied): one or more of each format, with EXIF and GPS, two corrupt files and a non-image, so that the demo
/// still shows every outcome.
const BUILT_IN_SAMPLES: &[(&str, &[u8])] = &[
    (
        "jpeg/full-exif-gps-sw.jpg",
        include_bytes!("../../../../tests/fixtures/images/jpeg/full-exif-gps-sw.jpg"),
    ),
    (
        "jpeg/exif-little-endian.jpg",
        include_bytes!("../../../../tests/fixtures/images/jpeg/exif-little-endian.jpg"),
    ),
    (
        "jpeg/cmyk.jpg",
        include_bytes!("../../../../tests/fixtures/images/jpeg/cmyk.jpg"),
    ),
    (
        "png/exif-exiftool.png",
        include_bytes!("../../../../tests/fixtures/images/png/exif-exiftool.png"),
    ),
    (
        "png/palette.png",
        include_bytes!("../../../../tests/fixtures/images/png/palette.png"),
    ),
    (
        "gif/animated-loop-forever.gif",
        include_bytes!("../../../../tests/fixtures/images/gif/animated-loop-forever.gif"),
    ),
    (
        "webp/exif-pillow.webp",
        include_bytes!("../../../../tests/fixtures/images/webp/exif-pillow.webp"),
    ),
    (
        "heif/exif.heic",
        include_bytes!("../../../../tests/fixtures/images/heif/exif.heic"),
    ),
    (
        "avif/exif.avif",
        include_bytes!("../../../../tests/fixtures/images/avif/exif.avif"),
    ),
    (
        "tiff/exif-gps.tif",
        include_bytes!("../../../../tests/fixtures/images/tiff/exif-gps.tif"),
    ),
    (
        "bmp/v3-24bit.bmp",
        include_bytes!("../../../../tests/fixtures/images/bmp/v3-24bit.bmp"),
    ),
    (
        "broken/jpeg-truncated-in-sof.jpg",
        include_bytes!("../../../../tests/fixtures/images/broken/jpeg-truncated-in-sof.jpg"),
    ),
    (
        "broken/png-signature-only.png",
        include_bytes!("../../../../tests/fixtures/images/broken/png-signature-only.png"),
    ),
    (
        "unsupported/document.pdf",
        include_bytes!("../../../../tests/fixtures/images/unsupported/document.pdf"),
    ),
];

/// The sample images: `--images`, else the repository's fixture corpus when the binary's repository is there,
/// else [`BUILT_IN_SAMPLES`] written under `dir`.
fn sample_images(args: &DemoArgs, dir: &Path) -> Result<PathBuf> {
    if let Some(images) = &args.images {
        return Ok(images.clone());
    }
    let corpus = manifest_dir().join("../../tests/fixtures/images");
    if corpus.is_dir() {
        return Ok(corpus);
    }
    let samples = dir.join("samples");
    for (name, bytes) in BUILT_IN_SAMPLES {
        let path = samples.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(samples)
}

fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `s3shift demo`; pass --dir with a new folder",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(MARKER), "made by s3shift demo\n")
        .with_context(|| format!("writing into {}", dir.display()))?;
    Ok(())
}

fn sample_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e != "tsv") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, path));
            }
        }
    }
    out.sort();
    if out.is_empty() {
        bail!("no sample images under {}", root.display());
    }
    Ok(out)
}

pub(crate) fn run(args: &DemoArgs) -> Result<u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?
        .block_on(demo(args))
}

async fn demo(args: &DemoArgs) -> Result<u8> {
    let dir = &args.dir;
    prepare_dir(dir)?;
    let images = sample_images(args, dir)?;
    let samples = sample_files(&images)?;
    let warehouse = dir.join("warehouse.duckdb");
    let stack = LocalStack::in_dir(dir)
        .await
        .context("starting the embedded S3 and Data API servers")?;
    let outcome = demo_with(&stack, &samples, args.copies).await;
    stack.stop().await;
    let code = outcome?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nThe warehouse is a DuckDB file; query it with the DuckDB CLI or Python, for example:"
    )?;
    writeln!(
        out,
        "  duckdb {} \"SELECT format, count(*) FROM s3shift.images GROUP BY 1\"",
        warehouse.display()
    )?;
    writeln!(
        out,
        "The buckets are folders under {}",
        dir.join("s3/buckets").display()
    )?;
    Ok(code)
}

/// The demo runs as a deployment does: the job as the `loader` identity (a task role tagged with the loader
/// role), `migrate` as the `migrator` identity with the namespace's admin secret.
async fn demo_with(stack: &LocalStack, samples: &[(String, PathBuf)], copies: u32) -> Result<u8> {
    let (s3, redshift) = (&stack.s3, &stack.redshift);
    let spec = parse_job(Path::new("jobs/demo.toml"), DEMO_JOB)?;
    let overrides_as = |name: &str| -> Result<ClientOverrides> {
        let who = identity::named(&stack.identities, name)
            .with_context(|| format!("the stand-ins have no identity {name}"))?;
        Ok(ClientOverrides {
            s3_endpoint_url: Some(s3.endpoint_url()),
            redshift_data_endpoint_url: Some(redshift.endpoint_url()),
            static_credentials: Some((who.access_key.clone(), who.secret_key.clone())),
            region: Some("us-east-1".into()),
            ..ClientOverrides::default()
        })
    };
    let p = pipeline(&spec, &overrides_as("loader")?).await?;
    let admin = pipeline(&spec, &overrides_as("migrator")?)
        .await?
        .api
        .with_secret(identity::ADMIN_SECRET_ARN);
    let src = &spec.config.source.bucket;
    for bucket in [src, &spec.config.staging.bucket] {
        p.s3.ensure_bucket(bucket).await?;
        // What deploy/ gives the real buckets: 7-day expiry, SSE-KMS by default, TLS only.
        p.s3.put_expiry_rule(bucket, 7)
            .await
            .with_context(|| format!("setting the 7-day lifecycle on {bucket}"))?;
        kms_and_tls_only(p.s3.client(), bucket).await?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "s3shift demo: S3 at {}, Data API at {}",
        s3.endpoint_url(),
        redshift.endpoint_url()
    )?;
    let mut uploaded = 0usize;
    for copy in 0..copies {
        for (n, (rel, path)) in samples.iter().enumerate() {
            let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let prefix = if n % 2 == 0 { "api" } else { "kafka" };
            let key = format!("{prefix}/2026/11/{:02}/{copy}-{rel}", 20 + (n % 8));
            p.s3.put(src, &key, Bytes::from(body), "application/octet-stream")
                .await?;
            uploaded += 1;
        }
    }
    // Keys that break naive SQL or URL handling land intact.
    let odd_keys = [
        "api/odd/it's a \"quoted\" name.jpg",
        "api/odd/unicodé ✓ 画像.jpg",
        "api/odd/100% done.jpg",
        "api/odd/'); drop table s3shift.images; --.jpg",
    ];
    let jpeg = samples
        .iter()
        .find(|(r, _)| r.starts_with("jpeg/") && r.ends_with(".jpg"))
        .map(|(_, p)| p.clone());
    if let Some(jpeg) = jpeg {
        let body = Bytes::from(std::fs::read(&jpeg)?);
        for key in odd_keys {
            p.s3.put(src, key, body.clone(), "image/jpeg").await?;
            uploaded += 1;
        }
    }
    writeln!(
        out,
        "uploaded {uploaded} objects ({} sample files x {copies}, plus {} odd keys) to s3://{src}",
        samples.len(),
        odd_keys.len()
    )?;
    writeln!(
        out,
        "\n$ s3shift migrate demo --admin-secret-arn {}",
        identity::ADMIN_SECRET_ARN
    )?;
    drop(out);
    apply_migrations(&admin, true).await?;
    println!("\n$ s3shift run demo");
    // Exit code 3 (some objects quarantined) is what the broken samples are for: the demo itself succeeded.
    run_job(&p, &spec, false, false).await?;
    println!("\n$ s3shift run demo   # again: nothing is loaded twice");
    run_job(&p, &spec, false, false).await?;
    events_demo(stack, &p, samples, &overrides_as("loader")?).await?;
    print_landed(&p.api).await?;
    Ok(0)
}

/// The same job in event mode: the upload bucket notifies a queue (with a dead-letter queue) of every
/// `ObjectCreated`, a few more images are uploaded, and an event run loads them from the queue, no listing.
async fn events_demo(
    stack: &LocalStack,
    scan: &s3shift_jobs::Pipeline,
    samples: &[(String, PathBuf)],
    loader: &ClientOverrides,
) -> Result<()> {
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    use aws_sdk_sqs::types::QueueAttributeName;
    let clients = s3shift_jobs::clients::build_clients(
        &s3shift_jobs::spec::AwsConfig::default(),
        &ClientOverrides {
            sqs_endpoint_url: Some(stack.sqs.endpoint_url()),
            ..loader.clone()
        },
    )
    .await?;
    let sqs = &clients.sqs;
    let queue_arn = |url: &str| {
        let url = url.to_owned();
        async move {
            let out = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .with_context(|| format!("reading the ARN of {url}"))?;
            out.attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .with_context(|| format!("{url} has no QueueArn"))
        }
    };
    let dlq = sqs
        .create_queue()
        .queue_name("demo-uploads-events-dlq")
        .send()
        .await
        .context("creating the dead-letter queue")?;
    let dlq_arn = queue_arn(dlq.queue_url().unwrap_or_default()).await?;
    let queue = sqs
        .create_queue()
        .queue_name("demo-uploads-events")
        .send()
        .await
        .context("creating the event queue")?;
    let url = queue.queue_url().unwrap_or_default().to_owned();
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}).to_string(),
        )
        .send()
        .await
        .context("giving the event queue its dead-letter queue")?;
    let arn = queue_arn(&url).await?;
    let spec = parse_job(
        Path::new("jobs/demo.toml"),
        &format!("{DEMO_JOB}\n[source.events]\nqueue_url = {url:?}\nreconcile_cron = \"0 30 * * * *\"\n"),
    )?;
    let bucket = &spec.config.source.bucket;
    scan.s3
        .client()
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .id("s3shift-demo")
                        .queue_arn(&arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()?,
                )
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("making {bucket} notify {arn}"))?;
    let mut uploaded = 0;
    for (rel, path) in samples.iter().take(5) {
        let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let key = format!("api/2026/12/02/event-{rel}");
        scan.s3
            .put(bucket, &key, Bytes::from(body), "application/octet-stream")
            .await?;
        uploaded += 1;
    }
    println!(
        "\nEvent mode: s3://{bucket} now notifies {url} of every upload (dead-letter queue after 5 receives);\n\
         {uploaded} more images were uploaded."
    );
    let p = s3shift_jobs::Pipeline {
        events: Some(s3shift_jobs::events::EventQueue::new(clients.sqs.clone(), url)),
        ..scan.clone()
    };
    println!("\n$ s3shift run demo   # with [source.events]: plans from the queue, lists nothing");
    run_job(&p, &spec, false, false).await?;
    Ok(())
}

async fn kms_and_tls_only(client: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id("alias/s3shift-demo")
        .build()?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default)
        .bucket_key_enabled(true)
        .build();
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder().rules(rule).build()?,
        )
        .send()
        .await
        .with_context(|| format!("setting SSE-KMS default encryption on {bucket}"))?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    });
    client
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .with_context(|| format!("setting the TLS-only policy on {bucket}"))?;
    Ok(())
}

async fn print_landed(api: &s3shift_redshift::DataApi) -> Result<()> {
    let rows = api
        .query(
            "SELECT COALESCE(format, '-') AS format, status, COUNT(*) AS objects, \
             SUM(CASE WHEN camera_model IS NOT NULL THEN 1 ELSE 0 END) AS with_camera, \
             SUM(CASE WHEN gps_latitude IS NOT NULL THEN 1 ELSE 0 END) AS with_gps \
             FROM s3shift.images GROUP BY 1, 2 ORDER BY 1, 2",
            &[],
        )
        .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nWhat landed in s3shift.images:")?;
    writeln!(
        out,
        "  {:<8} {:<12} {:>8} {:>12} {:>9}",
        "format", "status", "objects", "with camera", "with GPS"
    )?;
    let text = |v: Option<&Value>| v.map(ToString::to_string).unwrap_or_default();
    for r in &rows.rows {
        writeln!(
            out,
            "  {:<8} {:<12} {:>8} {:>12} {:>9}",
            text(r.first()),
            text(r.get(1)),
            text(r.get(2)),
            text(r.get(3)),
            text(r.get(4))
        )?;
    }
    let odd = api
        .query(
            "SELECT object_key, format, width, height FROM s3shift.images WHERE object_key LIKE :p ORDER BY 1",
            &[("p", "api/odd/%".into())],
        )
        .await?;
    writeln!(out, "\nKeys that break naive SQL, as stored:")?;
    for r in &odd.rows {
        writeln!(
            out,
            "  {:<48} {} {}x{}",
            text(r.first()),
            text(r.get(1)),
            text(r.get(2)),
            text(r.get(3))
        )?;
    }
    let dup = api
        .query(
            "SELECT COUNT(*) FROM (SELECT bucket, object_key, etag FROM s3shift.images GROUP BY 1, 2, 3 \
             HAVING COUNT(*) > 1) AS d",
            &[],
        )
        .await?;
    let dups = dup
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    writeln!(out, "\nObjects with more than one row: {dups}")?;
    Ok(())
}

/// This package's folder: the `CARGO_MANIFEST_DIR` that cargo and nextest set when they start the process,
/// which is right even for a binary built in another checkout sharing the target folder; else the compiled-in one.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), std::path::PathBuf::from)
}
