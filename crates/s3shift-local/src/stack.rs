//! The stand-ins, wired to each other: the Data API's COPY reads through the S3 server with its credentials, and
//! the S3 server's event notifications go to the SQS server's queues.

use std::path::Path;

use crate::Result;
use crate::identity::{Identity, Principal};
use crate::redshift::{LocalRedshiftConfig, LocalRedshiftServer, S3Endpoint};
use crate::s3::{LocalS3Config, LocalS3Server};
use crate::sqs::{LocalSqsConfig, LocalSqsServer};

/// A running S3 stand-in and a Data API stand-in whose COPY reads from it. Both stop when dropped.
#[derive(Debug)]
pub struct LocalStack {
    /// The S3 server.
    pub s3: LocalS3Server,
    /// The Data API server.
    pub redshift: LocalRedshiftServer,
    /// The SQS server, which the S3 server's event notifications go to.
    pub sqs: LocalSqsServer,
    /// The administrator's access key (a database superuser), which COPY also reads S3 with.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// Every identity both accept (see [`crate::identity::standard`]).
    pub identities: Vec<Identity>,
}

impl LocalStack {
    /// Starts S3 from `s3`, then the Data API from `redshift` with its COPY source set to the S3 server, whatever
    /// `redshift` said about it. Both accept the identities of `redshift`; S3's own key, when no identity has
    /// it, becomes an administrator of both.
    pub async fn start(s3: LocalS3Config, redshift: LocalRedshiftConfig) -> Result<Self> {
        Self::start_with_sqs(s3, redshift, LocalSqsConfig::default()).await
    }

    /// [`LocalStack::start`], with the SQS server bound as `sqs` says (its identities are the Data API's).
    ///
    /// # Errors
    /// As [`LocalStack::start`], and [`crate::Error::Bind`] for the SQS address.
    pub async fn start_with_sqs(
        mut s3: LocalS3Config,
        mut redshift: LocalRedshiftConfig,
        mut sqs: LocalSqsConfig,
    ) -> Result<Self> {
        let (access_key, secret_key) = (s3.access_key.clone(), s3.secret_key.clone());
        if !redshift.identities.iter().any(|i| i.access_key == access_key) {
            redshift.identities.push(Identity {
                name: "s3-admin".into(),
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
                principal: Principal::User {
                    name: "s3shift-local-s3-admin".into(),
                    superuser: true,
                },
                db_roles: Vec::new(),
                reads_admin_secret: true,
            });
        }
        s3.identities = redshift.identities.clone();
        sqs.identities = redshift.identities.clone();
        let identities = redshift.identities.clone();
        let sqs = LocalSqsServer::start(sqs).await?;
        s3.events = Some(sqs.queues());
        let s3 = LocalS3Server::start(s3).await?;
        redshift.s3 = Some(S3Endpoint {
            url: s3.endpoint_url(),
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
        });
        let redshift = LocalRedshiftServer::start(redshift).await?;
        Ok(Self {
            s3,
            redshift,
            sqs,
            access_key,
            secret_key,
            identities,
        })
    }

    /// Both servers on free ports over `dir`: buckets under `dir/s3`, the warehouse in `dir/warehouse.duckdb`.
    pub async fn in_dir(dir: &Path) -> Result<Self> {
        Self::start(
            LocalS3Config::new(dir.join("s3")),
            LocalRedshiftConfig::new(dir.join("warehouse.duckdb")),
        )
        .await
    }

    /// An aws-sdk-s3 client for the S3 server (path-style, the stack's credentials, us-east-1).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .endpoint_url(self.s3.endpoint_url())
                .force_path_style(true)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    &self.access_key,
                    &self.secret_key,
                    None,
                    None,
                    "s3shift-local",
                ))
                .build(),
        )
    }

    /// The event notifications of the stack's buckets whose queue does not exist: (bucket, queue ARN). SQS's
    /// queues live in memory, while buckets and their notification configurations live in the folder, so after
    /// a restart over the same folder every notification points at a queue that is gone, and the uploads'
    /// events are dropped (S3 itself would refuse such a configuration when it is put, "Amazon S3 Event
    /// Notifications"; here the queue went away after). `local` names them at start, with the fix.
    pub async fn notifications_to_missing_queues(&self) -> Result<Vec<(String, String)>> {
        let client = self.s3_client();
        fn fail<E: std::error::Error + 'static>(op: &'static str) -> impl Fn(E) -> crate::Error {
            move |e| crate::Error::S3 {
                op,
                message: s3shift_core::text::error_chain(&e),
            }
        }
        let buckets = client.list_buckets().send().await.map_err(fail("ListBuckets"))?;
        let queues = self.sqs.queues();
        let mut out = Vec::new();
        for bucket in buckets.buckets().iter().filter_map(|b| b.name()) {
            let config = client
                .get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
                .await
                .map_err(fail("GetBucketNotificationConfiguration"))?;
            for q in config.queue_configurations() {
                if !queues.has_arn(q.queue_arn()) {
                    out.push((bucket.to_owned(), q.queue_arn().to_owned()));
                }
            }
        }
        Ok(out)
    }

    /// Stops both servers, the Data API first (its COPY may be reading from S3).
    pub async fn stop(self) {
        self.redshift.stop().await;
        self.s3.stop().await;
        self.sqs.stop().await;
    }
}
