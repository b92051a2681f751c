//! The one place AWS clients are built: region, endpoints, credentials, retries and timeouts.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::spec::AwsConfig;
use crate::{Error, Result};

/// Overrides for the embedded default and tests: explicit endpoints and static credentials.
#[derive(Debug, Clone, Default)]
pub struct ClientOverrides {
    /// S3 endpoint.
    pub s3_endpoint_url: Option<String>,
    /// Redshift Data API endpoint.
    pub redshift_data_endpoint_url: Option<String>,
    /// Redshift Serverless endpoint.
    pub redshift_serverless_endpoint_url: Option<String>,
    /// SQS endpoint.
    pub sqs_endpoint_url: Option<String>,
    /// Static access key and secret.
    pub static_credentials: Option<(String, String)>,
    /// Region.
    pub region: Option<String>,
}

/// The SDK clients a run uses.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// Redshift Data API.
    pub redshift_data: aws_sdk_redshiftdata::Client,
    /// Redshift Serverless (for `doctor`).
    pub redshift_serverless: aws_sdk_redshiftserverless::Client,
    /// SQS (event mode).
    pub sqs: aws_sdk_sqs::Client,
    /// The resolved shared configuration (region, credentials).
    pub shared: aws_config::SdkConfig,
}

impl AwsClients {
    /// Resolves the credentials once, before any call: without them every call fails with the SDK's dispatch
    /// error, so a missing key, profile or role is said once, with where credentials come from.
    ///
    /// # Errors
    /// [`Error::NoCredentials`] when the provider chain finds none.
    pub async fn require_credentials(&self) -> Result<()> {
        use aws_sdk_s3::config::ProvideCredentials;
        let Some(provider) = self.shared.credentials_provider() else {
            return Err(Error::NoCredentials {
                why: "no credentials provider is configured".into(),
            });
        };
        provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| Error::NoCredentials {
                why: s3shift_core::text::error_chain(&e),
            })
    }
}

/// Builds the clients from the standard chain (environment, profile, ECS task role), the job's `[aws]` table and
/// `overrides`, in increasing precedence.
///
/// Throttling and transport errors are retried by the SDK's standard strategy (up to 8 attempts, exponential
/// backoff with jitter); nothing above retries the same call again, except where an unknown outcome must be
/// looked up again rather than acted on (a resumed load's DescribeStatement, `run/load.rs`). S3 uses path-style addressing whenever its
/// endpoint is overridden, since a custom endpoint (a loopback stand-in, a VPC endpoint URL) rarely resolves
/// bucket subdomains.
pub async fn build_clients(aws: &AwsConfig, overrides: &ClientOverrides) -> Result<AwsClients> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(region) = overrides.region.clone().or_else(|| aws.region.clone()) {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some((key, secret)) = &overrides.static_credentials {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            key.clone(),
            secret.clone(),
            None,
            None,
            "s3shift-static",
        ));
    }
    let shared = loader.load().await;
    if shared.region().is_none() {
        return Err(Error::NoRegion);
    }
    let s3_endpoint = overrides
        .s3_endpoint_url
        .clone()
        .or_else(|| aws.s3_endpoint_url.clone());
    let mut s3 = aws_sdk_s3::config::Builder::from(&shared);
    let env_override =
        std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    if let Some(url) = &s3_endpoint {
        s3 = s3.endpoint_url(url);
    }
    if s3_endpoint.is_some() || env_override {
        s3 = s3.force_path_style(true);
    }
    let mut rs = aws_sdk_redshiftdata::config::Builder::from(&shared);
    if let Some(url) = overrides
        .redshift_data_endpoint_url
        .clone()
        .or_else(|| aws.redshift_data_endpoint_url.clone())
    {
        rs = rs.endpoint_url(url);
    }
    let mut serverless = aws_sdk_redshiftserverless::config::Builder::from(&shared);
    if let Some(url) = overrides
        .redshift_serverless_endpoint_url
        .clone()
        .or_else(|| aws.redshift_serverless_endpoint_url.clone())
    {
        serverless = serverless.endpoint_url(url);
    }
    let mut sqs = aws_sdk_sqs::config::Builder::from(&shared);
    if let Some(url) = overrides
        .sqs_endpoint_url
        .clone()
        .or_else(|| aws.sqs_endpoint_url.clone())
    {
        sqs = sqs.endpoint_url(url);
    }
    Ok(AwsClients {
        sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
        s3: aws_sdk_s3::Client::from_conf(s3.build()),
        redshift_data: aws_sdk_redshiftdata::Client::from_conf(rs.build()),
        redshift_serverless: aws_sdk_redshiftserverless::Client::from_conf(serverless.build()),
        shared,
    })
}
