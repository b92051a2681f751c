//! s3shift's S3 adapter, over the real `aws-sdk-s3` client.
//!
//! This crate owns every S3 call the pipeline makes: listing a source prefix, ranged reads of an object's first
//! bytes, the expiry that a bucket's lifecycle rules imply, writing staged files, and reading or conditionally
//! creating small state objects (run pointers, leases). It converts SDK errors into our [`Error`] kinds at its
//! edge, so callers never match on SDK types.
//!
//! It must never decide what to read or load: planning and the run engine live in `s3shift-jobs`.
//!
//! # Retries
//! Exactly one layer retries each failure. Throttling (503 SlowDown) and transport errors before a response are
//! retried by the SDK's standard retry strategy, configured by whoever builds the client. A response body that
//! breaks mid-stream is something the SDK cannot retry (it has already returned the response), so
//! [`S3Store::read_range`] re-issues the GET itself, a bounded number of times.
//!
//! # Organization
//! - [`lifecycle`]: [`Lifecycle`] rules and the expiry they imply.
//! - this module: [`S3Store`] and [`Error`].

pub mod lifecycle;

use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use s3shift_core::ObjectRef;

pub use lifecycle::Lifecycle;

/// The SDK's error behind one of ours, kept as its `source` so the whole chain reaches the operator.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with one S3 call. Each variant names the bucket and key; those that come from an SDK call keep
/// the SDK's error as their `source`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bucket does not exist: a configuration error, never an object that vanished.
    #[error("s3://{bucket}: the bucket does not exist ({op})")]
    NoSuchBucket {
        /// The operation.
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// The object does not exist (any more).
    #[error("s3://{bucket}/{key}: not found")]
    NotFound {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// A condition failed: the object changed since it was listed (`If-Match`), or already exists
    /// (`If-None-Match`).
    #[error("s3://{bucket}/{key}: precondition failed ({op})")]
    PreconditionFailed {
        /// The operation.
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// Access was refused.
    #[error("s3://{bucket}/{key}: access denied ({op}): {message}")]
    Denied {
        /// The operation.
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// S3's message.
        message: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// Still throttled, or still failing to connect, after the SDK's retries; or a body kept breaking.
    #[error("s3://{bucket}/{key}: {op} kept failing: {message}")]
    Unavailable {
        /// The operation.
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The last error.
        message: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// Any other failure, with S3's error code when there was one.
    #[error("s3://{bucket}/{key}: {op} failed: {message}")]
    Other {
        /// The operation.
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What S3 or the SDK said.
        message: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
}

impl Error {
    /// Whether the error means the object is gone or was replaced (not a fault of the run).
    pub fn is_vanished(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::PreconditionFailed { .. })
    }
}

/// Result with the S3 [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One ranged read.
#[derive(Debug, Clone)]
pub struct RangeRead {
    /// The bytes returned (may be shorter than asked at the end of the object).
    pub bytes: Bytes,
    /// The object's total size, from `Content-Range` (or `Content-Length` for a whole-object answer).
    pub object_size: Option<u64>,
    /// `Content-Type` of the object.
    pub content_type: Option<String>,
    /// `Last-Modified` of the object (second precision, as HTTP dates are).
    pub last_modified: Option<DateTime<Utc>>,
    /// The object's user metadata (`x-amz-meta-*`, names without the prefix, lower case as S3 stores them),
    /// sorted by name.
    pub user_metadata: Vec<(String, String)>,
}

/// The checksum S3 keeps for a whole object ("Checking object integrity"): the algorithm, the Base64 value as S3
/// returns it, and whether it is of the full object or composite (of a multipart upload's parts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChecksum {
    /// `CRC64NVME`, `CRC32`, `CRC32C`, `SHA1` or `SHA256`.
    pub algorithm: &'static str,
    /// The Base64 value (a composite one ends in `-<parts>`).
    pub value: String,
    /// `FULL_OBJECT` or `COMPOSITE`: S3's `ChecksumType`, else `COMPOSITE` for a value ending in `-<parts>`.
    pub kind: String,
}

/// How [`S3Store`] behaves beyond what the SDK client's own configuration says.
#[derive(Debug, Clone, Copy)]
pub struct StoreConfig {
    /// How many times a GET whose body broke mid-stream is re-issued.
    pub body_retries: u32,
    /// First backoff before re-issuing; doubled each time.
    pub body_retry_backoff: Duration,
    /// Page size of listings (S3 caps it at 1,000).
    pub list_page_keys: i32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            body_retries: 4,
            body_retry_backoff: Duration::from_millis(25),
            list_page_keys: 1000,
        }
    }
}

/// The pipeline's S3 operations over one SDK client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    config: StoreConfig,
}

/// A listing in progress (see [`S3Store::pages`]): in S3's key order, `expires_at` left empty.
#[derive(Debug)]
pub struct ListPages {
    store: S3Store,
    bucket: String,
    prefix: String,
    token: Option<String>,
    done: bool,
    requests: u64,
}

impl ListPages {
    /// The next page (up to [`StoreConfig::list_page_keys`] objects; possibly empty), or `None` after the last.
    /// An entry without key, ETag, size or LastModified is logged and skipped.
    pub async fn next_page(&mut self) -> Result<Option<Vec<ObjectRef>>> {
        if self.done {
            return Ok(None);
        }
        let bucket = self.bucket.as_str();
        let page = self
            .store
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&self.prefix)
            // Keys may hold characters XML cannot carry; encoded, one such key never spoils the page
            // (`s3shift_core::key_url`).
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .max_keys(self.store.config.list_page_keys)
            .set_continuation_token(self.token.take())
            .send()
            .await
            .map_err(|e| classify("ListObjectsV2", bucket, &self.prefix, e))?;
        self.requests += 1;
        let mut out = Vec::with_capacity(page.contents().len());
        // Decoded only when S3 says it encoded (a store that ignores the parameter sends keys as they are).
        let encoded = page.encoding_type() == Some(&aws_sdk_s3::types::EncodingType::Url);
        for o in page.contents() {
            let (Some(raw), Some(etag), Some(size), Some(lm)) =
                (o.key(), o.e_tag(), o.size(), o.last_modified())
            else {
                tracing::warn!(
                    bucket,
                    key = o.key().unwrap_or_default(),
                    "listing entry without key, ETag, size or LastModified: skipped"
                );
                continue;
            };
            let decoded;
            let key = if encoded {
                let Some(k) = s3shift_core::key_url::decode(raw) else {
                    tracing::warn!(
                        bucket,
                        key = raw,
                        "listed key is not URL-encoded UTF-8 although the listing says it is: skipped"
                    );
                    continue;
                };
                decoded = k;
                decoded.as_str()
            } else {
                raw
            };
            let Some(last_modified) = DateTime::<Utc>::from_timestamp(lm.secs(), lm.subsec_nanos()) else {
                tracing::warn!(bucket, key, "LastModified out of range: skipped");
                continue;
            };
            out.push(ObjectRef {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                version_id: None,
                etag: etag.trim_matches('"').to_owned(),
                size: u64::try_from(size).unwrap_or(0),
                last_modified,
                expires_at: None,
            });
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated().unwrap_or(false) => self.token = Some(t.to_owned()),
            _ => self.done = true,
        }
        Ok(Some(out))
    }

    /// ListObjectsV2 requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }
}

impl S3Store {
    /// A store over `client` (whose retry configuration handles throttling and transport errors).
    pub fn new(client: aws_sdk_s3::Client, config: StoreConfig) -> Self {
        Self { client, config }
    }

    /// The SDK client, for callers that need an operation this crate does not wrap.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Lists every object under `prefix`, following continuation tokens, in S3's (key) order. `expires_at` is
    /// left empty: apply [`Lifecycle::expiry`] to fill it. Holds the whole listing: prefer [`Self::pages`].
    pub async fn list_prefix(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectRef>> {
        let mut pages = self.pages(bucket, prefix);
        let mut out = Vec::new();
        while let Some(page) = pages.next_page().await? {
            out.extend(page);
        }
        Ok(out)
    }

    /// The listing of `prefix`, one ListObjectsV2 page at a time, so a caller holds at most a page.
    pub fn pages(&self, bucket: &str, prefix: &str) -> ListPages {
        ListPages {
            store: self.clone(),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            token: None,
            done: false,
            requests: 0,
        }
    }

    /// The checksum S3 keeps for `object` (a HeadObject with `ChecksumMode=ENABLED`, only if its ETag is still
    /// the listed one); `None` when S3 keeps none. The extra request is the conservative choice: the GetObject
    /// and "Checking object integrity in Amazon S3" pages do not say a ranged GET returns the whole object's
    /// checksum, and S3-compatible servers (s3s-fs, MinIO) omit it for ranges.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the object was deleted, [`Error::PreconditionFailed`] when it was replaced.
    pub async fn checksum(&self, object: &ObjectRef) -> Result<Option<ObjectChecksum>> {
        let (bucket, key) = (object.bucket.as_str(), object.key.as_str());
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(object.version_id.clone())
            .if_match(format!("\"{}\"", object.etag))
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| classify("HeadObject", bucket, key, e))?;
        let found = [
            ("CRC64NVME", out.checksum_crc64_nvme()),
            ("CRC32", out.checksum_crc32()),
            ("CRC32C", out.checksum_crc32_c()),
            ("SHA1", out.checksum_sha1()),
            ("SHA256", out.checksum_sha256()),
        ]
        .into_iter()
        .find_map(|(algorithm, v)| v.filter(|v| !v.is_empty()).map(|v| (algorithm, v.to_owned())));
        Ok(found.map(|(algorithm, value)| {
            let kind = match out.checksum_type() {
                Some(t) => t.as_str().to_owned(),
                None if value
                    .rsplit_once('-')
                    .is_some_and(|(_, n)| n.parse::<u32>().is_ok()) =>
                {
                    "COMPOSITE".to_owned()
                }
                None => "FULL_OBJECT".to_owned(),
            };
            ObjectChecksum {
                algorithm,
                value,
                kind,
            }
        }))
    }

    /// Reads bytes `start..end` of `object`, only if its ETag is still the listed one (`If-Match`), so a
    /// rewritten object is never read under the old identity. A body that breaks mid-stream is re-read.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the object was deleted, [`Error::PreconditionFailed`] when it was replaced.
    pub async fn read_range(&self, object: &ObjectRef, start: u64, end: u64) -> Result<RangeRead> {
        let range = format!("bytes={}-{}", start, end.saturating_sub(1));
        let (bucket, key) = (object.bucket.as_str(), object.key.as_str());
        let mut attempt = 0u32;
        loop {
            let out = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(object.version_id.clone())
                .if_match(format!("\"{}\"", object.etag))
                .range(&range)
                .send()
                .await
                .map_err(|e| classify("GetObject", bucket, key, e))?;
            let object_size = out
                .content_range()
                .and_then(|r| r.rsplit('/').next())
                .and_then(|total| total.parse::<u64>().ok())
                .or_else(|| out.content_length().and_then(|l| u64::try_from(l).ok()));
            let content_type = out.content_type().map(str::to_owned);
            let mut user_metadata: Vec<(String, String)> = out
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            user_metadata.sort();
            let last_modified = out
                .last_modified()
                .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
            match out.body.collect().await {
                Ok(body) => {
                    return Ok(RangeRead {
                        bytes: body.into_bytes(),
                        object_size,
                        content_type,
                        last_modified,
                        user_metadata,
                    });
                }
                Err(e) if attempt < self.config.body_retries => {
                    tracing::debug!(bucket, key, attempt, error = %e, "GetObject body broke; reading again");
                    tokio::time::sleep(self.config.body_retry_backoff * 2u32.saturating_pow(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(Error::Unavailable {
                        op: "GetObject",
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        message: format!("body broke {} times", attempt + 1),
                        source: Some(Box::new(e)),
                    });
                }
            }
        }
    }

    /// The bucket's lifecycle rules; empty when the bucket has none.
    pub async fn lifecycle(&self, bucket: &str) -> Result<Lifecycle> {
        match self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(Lifecycle::from_rules(out.rules())),
            Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Ok(Lifecycle::default()),
            Err(e) => Err(classify("GetBucketLifecycleConfiguration", bucket, "", e)),
        }
    }

    /// Writes `body` to `bucket/key`, replacing what was there. PUT is idempotent, so the SDK may retry it.
    pub async fn put(&self, bucket: &str, key: &str, body: Bytes, content_type: &str) -> Result<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| classify("PutObject", bucket, key, e))?;
        Ok(())
    }

    /// Creates `bucket/key` only if it does not exist (`If-None-Match: *`). `Ok(None)` when it already exists;
    /// otherwise the new object's ETag.
    pub async fn put_if_absent(&self, bucket: &str, key: &str, body: Bytes) -> Result<Option<String>> {
        self.conditional_put(bucket, key, body, None).await
    }

    /// Replaces `bucket/key` only if its ETag is still `etag` (`If-Match`): an atomic compare-and-swap.
    /// `Ok(None)` when the object changed (or vanished) meanwhile; otherwise the new ETag.
    pub async fn put_if_match(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        etag: &str,
    ) -> Result<Option<String>> {
        self.conditional_put(bucket, key, body, Some(etag)).await
    }

    async fn conditional_put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        if_match: Option<&str>,
    ) -> Result<Option<String>> {
        let req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let req = match if_match {
            Some(etag) => req.if_match(format!("\"{}\"", etag.trim_matches('"'))),
            None => req.if_none_match("*"),
        };
        match req
            .send()
            .await
            .map_err(|e| classify("PutObject", bucket, key, e))
        {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().trim_matches('"').to_owned())),
            Err(Error::PreconditionFailed { .. } | Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads a whole (small) object with its ETag; `Ok(None)` when it does not exist.
    pub async fn get_with_etag(&self, bucket: &str, key: &str) -> Result<Option<(Bytes, String)>> {
        let out = match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => {
                return match classify("GetObject", bucket, key, e) {
                    Error::NotFound { .. } => Ok(None),
                    e => Err(e),
                };
            }
        };
        let etag = out.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        let body = out.body.collect().await.map_err(|e| Error::Unavailable {
            op: "GetObject",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message: "the body broke".into(),
            source: Some(Box::new(e)),
        })?;
        Ok(Some((body.into_bytes(), etag)))
    }

    /// Reads a whole (small) object; `Ok(None)` when it does not exist.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Option<Bytes>> {
        Ok(self.get_with_etag(bucket, key).await?.map(|(body, _)| body))
    }

    /// Deletes `bucket/key`; deleting what does not exist succeeds.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        match self.client.delete_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(e) => match classify("DeleteObject", bucket, key, e) {
                Error::NotFound { .. } => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Lists at most one key under `prefix`: whether this identity may list the bucket there.
    ///
    /// # Errors
    /// [`Error::NoSuchBucket`] when the bucket does not exist, [`Error::Denied`] when listing is refused.
    pub async fn probe_list(&self, bucket: &str, prefix: &str) -> Result<()> {
        self.client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| classify("ListObjectsV2", bucket, prefix, e))?;
        Ok(())
    }

    /// The algorithms of the bucket's default encryption rules (`aws:kms`, `aws:kms:dsse`, `AES256`); empty when
    /// the bucket has no default encryption configuration.
    ///
    /// The API Reference page "GetBucketEncryption" now says every bucket has one (SSE-S3 at least); its earlier
    /// text named `ServerSideEncryptionConfigurationNotFoundError` for a bucket without, which is still read as
    /// "none" here, for older buckets and for S3-compatible stores.
    pub async fn default_encryption(&self, bucket: &str) -> Result<Vec<String>> {
        match self.client.get_bucket_encryption().bucket(bucket).send().await {
            Ok(out) => Ok(out
                .server_side_encryption_configuration()
                .map(|c| {
                    c.rules()
                        .iter()
                        .filter_map(|r| r.apply_server_side_encryption_by_default())
                        .map(|d| d.sse_algorithm().as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default()),
            Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(Vec::new()),
            Err(e) => Err(classify("GetBucketEncryption", bucket, "", e)),
        }
    }

    /// Sets `bucket`'s lifecycle configuration to one rule that expires every object `days` after its creation
    /// (what deploy/storage.yaml gives the ingestion buckets; for the embedded default and tests). Replaces any
    /// rules the bucket had.
    pub async fn put_expiry_rule(&self, bucket: &str, days: i32) -> Result<()> {
        use aws_sdk_s3::types::{
            BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
            LifecycleRuleFilter,
        };
        let refused = |e: aws_sdk_s3::error::BuildError| Error::Other {
            op: "PutBucketLifecycleConfiguration",
            bucket: bucket.to_owned(),
            key: String::new(),
            message: format!("the request could not be built: {e}"),
            source: Some(Box::new(e)),
        };
        let rule = LifecycleRule::builder()
            .id(format!("expire-after-{days}-days"))
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .expiration(LifecycleExpiration::builder().days(days).build())
            .build()
            .map_err(refused)?;
        let config = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(refused)?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config)
            .send()
            .await
            .map_err(|e| classify("PutBucketLifecycleConfiguration", bucket, "", e))?;
        Ok(())
    }

    /// Creates `bucket` if it does not exist yet (for the embedded default and tests).
    pub async fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        match self.client.create_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.code(), Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")) => Ok(()),
            Err(e) => Err(classify("CreateBucket", bucket, "", e)),
        }
    }
}

/// Maps an SDK error to our kinds, keeping S3's code and message in the text and the SDK error as the source.
///
/// The codes are S3's, from the list of error codes in the Amazon S3 API Reference page "Error responses":
/// `NoSuchBucket` (404, the bucket does not exist) is told apart from `NoSuchKey`, so a missing bucket is a
/// configuration error and never a vanished object. A 404 without a body (HEAD) stays [`Error::NotFound`].
fn classify<E, R>(op: &'static str, bucket: &str, key: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HasStatus + Send + Sync + 'static,
{
    let status = err.raw_response().map(HasStatus::status_code);
    let code = err.code().map(str::to_owned);
    let (bucket, key) = (bucket.to_owned(), key.to_owned());
    let message = match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_owned(),
        _ => s3shift_core::text::error_chain(&err),
    };
    let transport = matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
    );
    let source: Option<Cause> = Some(Box::new(err));
    match (status, code.as_deref()) {
        (_, Some("NoSuchBucket")) => Error::NoSuchBucket { op, bucket, source },
        (_, Some("NoSuchKey" | "NotFound" | "NoSuchVersion")) | (Some(404), _) => {
            Error::NotFound { bucket, key }
        }
        (_, Some("PreconditionFailed" | "ConditionalRequestConflict")) | (Some(412), _) => {
            Error::PreconditionFailed { op, bucket, key }
        }
        (_, Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")) | (Some(403), _) => {
            Error::Denied {
                op,
                bucket,
                key,
                message,
                source,
            }
        }
        (_, Some("SlowDown" | "ServiceUnavailable" | "InternalError")) | (Some(500..=599), _) => {
            Error::Unavailable {
                op,
                bucket,
                key,
                message,
                source,
            }
        }
        _ if transport => Error::Unavailable {
            op,
            bucket,
            key,
            message,
            source,
        },
        _ => Error::Other {
            op,
            bucket,
            key,
            message,
            source,
        },
    }
}

/// The HTTP status of a raw response (lets [`classify`] stay generic over the SDK's response type).
trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
