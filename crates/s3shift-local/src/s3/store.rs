//! The S3 operations: s3s-fs for objects, buckets and multipart uploads; ours for what it lacks.
//!
//! Added here: bucket lifecycle configuration (Put/Get/DeleteBucketLifecycleConfiguration), stored as the same
//! XML S3 speaks, one file per bucket under `<dir>/meta/lifecycle`, so that expiry can be computed from it; and
//! ETags in listings (s3s-fs lists objects without them; S3 lists every object's ETag); and
//! atomic conditional puts (s3s-fs checks `If-None-Match` / `If-Match` and then writes, so two racing lease
//! writers could both win): conditional puts are serialised.
//!
//! It is one file of some 980 lines because s3s's `S3` trait is implemented in one block: each of its 30 methods
//! routes one S3 action to s3s-fs or to the sibling modules (layout, listing, preconditions, bucket_config,
//! notifications, multipart), some 20 lines on average.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::sync::Mutex;

use super::bucket_config::{self, Kind};
use super::layout;
use super::listing;
use super::multipart::Uploads;
use super::notifications;
use super::preconditions::Conditions;

pub(crate) struct LocalStore {
    /// Shared with the writes that run to their end on their own task (see `put_object`).
    fs: Arc<s3s_fs::FileSystem>,
    buckets: PathBuf,
    meta: PathBuf,
    conditional: Mutex<()>,
    /// Writes of a key exclude its reads and other writes (`key_locks`).
    keys: super::key_locks::KeyLocks,
    /// Each bucket's lifecycle rules as last read (None: the bucket has none), for `x-amz-expiration` on
    /// every GET without a file read; forgotten when the configuration changes.
    lifecycles: std::sync::Mutex<HashMap<String, Option<Arc<Vec<LifecycleRule>>>>>,
    /// Part ETags and completed uploads, for CompleteMultipartUpload's checks.
    uploads: Uploads,
    /// Where event notifications go (`notifications`); none without an SQS stand-in.
    events: Option<crate::sqs::SharedQueues>,
    /// Each bucket's notification configuration as last read (None: the bucket has none).
    notifying: std::sync::Mutex<HashMap<String, Option<Arc<NotificationConfiguration>>>>,
}

impl LocalStore {
    pub(crate) fn new(
        fs: s3s_fs::FileSystem,
        buckets: PathBuf,
        meta: PathBuf,
        events: Option<crate::sqs::SharedQueues>,
    ) -> Self {
        Self {
            fs: Arc::new(fs),
            buckets,
            meta,
            conditional: Mutex::new(()),
            keys: super::key_locks::KeyLocks::default(),
            lifecycles: std::sync::Mutex::new(HashMap::new()),
            uploads: Uploads::default(),
            events,
            notifying: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Tells the bucket's notification destinations about `event` (nothing without an SQS stand-in or a
    /// configuration).
    async fn tell(&self, event: notifications::ObjectEvent<'_>) {
        let Some(queues) = &self.events else {
            return;
        };
        let cached = self
            .notifying
            .lock()
            .ok()
            .and_then(|c| c.get(event.bucket).cloned());
        let config = match cached {
            Some(c) => c,
            None => {
                let loaded = match bucket_config::load(&self.meta, Kind::Notification, event.bucket).await {
                    Ok(Some(xml)) => bucket_config::from_xml::<NotificationConfiguration>(
                        &xml,
                        "notification configuration",
                        event.bucket,
                    )
                    .ok()
                    .map(Arc::new),
                    _ => None,
                };
                if let Ok(mut c) = self.notifying.lock() {
                    c.insert(event.bucket.to_owned(), loaded.clone());
                }
                loaded
            }
        };
        if let Some(config) = config {
            notifications::notify(&config, queues, &event, "us-east-1");
        }
    }

    /// The size of the file at path key `at` (0 when it is gone).
    async fn size_at(&self, bucket: &str, at: &str) -> i64 {
        tokio::fs::metadata(self.buckets.join(bucket).join(at))
            .await
            .map_or(0, |m| i64::try_from(m.len()).unwrap_or(i64::MAX))
    }

    /// Where the object of `key` lives (`layout`), as the key to give s3s-fs.
    fn locate(&self, bucket: &str, key: &str) -> String {
        layout::locate(&self.buckets.join(bucket), key)
    }

    /// Makes room for writing the object of `key` (`layout::place`) and says where it goes.
    async fn place(&self, bucket: &str, key: &str) -> S3Result<String> {
        let (root, bucket, key) = (self.buckets.clone(), bucket.to_owned(), key.to_owned());
        tokio::task::spawn_blocking(move || layout::place(&root, &bucket, &key))
            .await
            .map_err(super::fastget::joined)?
            .map_err(|e| io_error("making room for the key", &e))
    }

    /// The bucket's lifecycle rules (cached).
    async fn rules(&self, bucket: &str) -> Option<Arc<Vec<LifecycleRule>>> {
        if let Some(known) = self.lifecycles.lock().ok()?.get(bucket) {
            return known.clone();
        }
        let rules = match bucket_config::load(&self.meta, Kind::Lifecycle, bucket).await {
            Ok(Some(xml)) => {
                bucket_config::from_xml::<BucketLifecycleConfiguration>(&xml, "lifecycle", bucket)
                    .ok()
                    .map(|c| Arc::new(c.rules))
            }
            _ => None,
        };
        self.lifecycles
            .lock()
            .ok()?
            .insert(bucket.to_owned(), rules.clone());
        rules
    }

    fn forget_rules(&self, bucket: &str) {
        if let Ok(mut cache) = self.lifecycles.lock() {
            cache.remove(bucket);
        }
    }

    /// The `x-amz-expiration` of an object, when a lifecycle rule will expire it.
    async fn expiration(&self, bucket: &str, key: &str, size: i64, modified: &Timestamp) -> Option<String> {
        let rules = self.rules(bucket).await?;
        bucket_config::expiration(&rules, key, size, modified)
    }

    /// Evaluates a read's conditions against the object (a missing object is NoSuchKey, as S3 answers).
    async fn check_conditions<T>(
        &self,
        like: &S3Request<T>,
        bucket: &str,
        key: &str,
        c: &Conditions,
    ) -> S3Result<()> {
        let input = HeadObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .build()
            .map_err(|e| s3_error!(InvalidRequest, "{e}"))?;
        let head = self
            .fs
            .head_object(clone_meta(like).map_input(|()| input))
            .await?
            .output;
        c.check(head.e_tag.as_ref(), head.last_modified.as_ref())
    }

    /// The write conditions s3s-fs does not check as S3 does ("How to prevent object overwrites with conditional
    /// writes", Amazon S3 User Guide; PutObject's `If-None-Match` "Expects the '*' (asterisk) character"):
    /// `If-None-Match` with an ETag is refused with NotImplemented rather than ignored (the pages do not say what
    /// S3 answers), and `If-Match` on a missing key is 404 NoSuchKey. s3s-fs checks the rest. Call it holding
    /// `conditional`.
    async fn check_write_conditions<T>(
        &self,
        like: &S3Request<T>,
        bucket: &str,
        key: &str,
        if_match: Option<&ETagCondition>,
        if_none_match: Option<&ETagCondition>,
    ) -> S3Result<()> {
        if matches!(if_none_match, Some(ETagCondition::ETag(_))) {
            return Err(s3_error!(
                NotImplemented,
                "A header you provided implies functionality that is not implemented: If-None-Match on a write \
                 takes only '*'"
            ));
        }
        if if_match.is_some() && etag_of(&self.fs, like, bucket, key).await.is_none() {
            return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
        }
        Ok(())
    }

    /// `NoSuchBucket` unless the bucket exists (s3s has already checked the name is valid).
    async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        match tokio::fs::metadata(self.buckets.join(bucket)).await {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(s3_error!(NoSuchBucket, "The specified bucket does not exist")),
        }
    }
}

/// The request's identity (credentials, region, URI) without its input, for follow-up calls on its behalf.
fn clone_meta<T>(req: &S3Request<T>) -> S3Request<()> {
    S3Request {
        input: (),
        method: req.method.clone(),
        uri: req.uri.clone(),
        headers: http::HeaderMap::new(),
        extensions: http::Extensions::new(),
        credentials: req.credentials.clone(),
        region: req.region.clone(),
        service: req.service.clone(),
        trailing_headers: None,
    }
}

/// The ETag of one object, through s3s-fs's own HeadObject (it keeps the MD5 of each PUT).
async fn etag_of<T>(fs: &s3s_fs::FileSystem, like: &S3Request<T>, bucket: &str, key: &str) -> Option<ETag> {
    let input = HeadObjectInput::builder()
        .bucket(bucket.to_owned())
        .key(key.to_owned())
        .build()
        .ok()?;
    let req = clone_meta(like).map_input(|()| input);
    fs.head_object(req).await.ok()?.output.e_tag
}

fn io_error(what: &str, e: &std::io::Error) -> s3s::S3Error {
    s3_error!(InternalError, "{what}: {e}")
}

/// Rejects what S3 rejects in a lifecycle configuration, and gives each rule without an ID one. The API
/// reference's LifecycleRule: ID "cannot be longer than 255 characters"; LifecycleExpiration: the Date "must
/// conform to the ISO 8601 format. The time is always midnight UTC". That S3 assigns an ID to a rule without one
/// is what S3 is reported to do (the finding); no page found says it.
fn validate_lifecycle(mut config: BucketLifecycleConfiguration) -> S3Result<BucketLifecycleConfiguration> {
    if config.rules.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "a lifecycle configuration needs at least one rule"
        ));
    }
    if config.rules.len() > 1000 {
        return Err(s3_error!(
            InvalidRequest,
            "a lifecycle configuration holds at most 1000 rules"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (n, rule) in config.rules.iter_mut().enumerate() {
        let status = rule.status.as_str();
        if status != ExpirationStatus::ENABLED && status != ExpirationStatus::DISABLED {
            return Err(s3_error!(
                MalformedXML,
                "rule status must be Enabled or Disabled, not {status}"
            ));
        }
        if let Some(exp) = &rule.expiration {
            if exp.days.is_some_and(|days| days <= 0) {
                return Err(s3_error!(
                    InvalidArgument,
                    "'Days' for Expiration action must be a positive integer"
                ));
            }
            if let Some(date) = &exp.date {
                let mut text = Vec::new();
                let midnight = date.format(TimestampFormat::DateTime, &mut text).is_ok()
                    && String::from_utf8_lossy(&text).contains("T00:00:00");
                if !midnight {
                    return Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"));
                }
            }
        }
        let id = rule.id.get_or_insert_with(|| assigned_id(n));
        if id.len() > 255 {
            return Err(s3_error!(
                InvalidArgument,
                "ID length should not exceed allowed limit of 255"
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(s3_error!(
                InvalidArgument,
                "Rule ID must be unique. Found same ID for more than one rule"
            ));
        }
    }
    Ok(config)
}

/// A rule ID for rule `n` of a configuration put now: 48 characters, like the ones S3 assigns.
fn assigned_id(n: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut x = nanos ^ ((n as u128) << 64) ^ 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz";
    (0..48)
        .map(|_| {
            x = x
                .wrapping_mul(0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645)
                .wrapping_add(0x5851_F42D_4C95_7F2D);
            char::from(alphabet[((x >> 64) % alphabet.len() as u128) as usize])
        })
        .collect()
}

#[async_trait::async_trait]
impl S3 for LocalStore {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        // "CreateBucket" (API reference): re-creating a bucket you own is BucketAlreadyOwnedByYou, "in all AWS
        // Regions except in the North Virginia Region", where "Amazon S3 returns 200 OK" for legacy
        // compatibility. Every key here belongs to one account, so BucketAlreadyExists (another owner's) never
        // applies.
        if self.require_bucket(&req.input.bucket).await.is_ok() {
            let region = req.region.as_ref().map_or("us-east-1", |r| r.as_str());
            if region == "us-east-1" {
                return Ok(S3Response::new(CreateBucketOutput {
                    location: Some(format!("/{}", req.input.bucket)),
                }));
            }
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        self.require_bucket(&bucket).await?;
        let root = self.buckets.join(&bucket);
        let holds_objects = tokio::task::spawn_blocking(move || holds_a_file(&root))
            .await
            .map_err(super::fastget::joined)?
            .map_err(|e| io_error("reading the bucket", &e))?;
        // BucketNotEmpty (409) and its message are from S3's "Error responses" list.
        if holds_objects {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        let out = self.fs.delete_bucket(req).await?;
        bucket_config::forget(&self.meta, &bucket).await;
        self.forget_rules(&bucket);
        Ok(out)
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_buckets(
        &self,
        mut req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        // "ListBuckets": MaxBuckets (1 to 10,000), Prefix and ContinuationToken page the buckets by name.
        let max = req.input.max_buckets.take();
        let prefix = req.input.prefix.take();
        let after = req.input.continuation_token.take();
        if max.is_some_and(|m| !(1..=10_000).contains(&m)) {
            return Err(s3_error!(
                InvalidArgument,
                "MaxBuckets must be between 1 and 10000"
            ));
        }
        let mut out = self.fs.list_buckets(req).await?;
        let mut buckets = out.output.buckets.take().unwrap_or_default();
        buckets.retain(|b| {
            let name = b.name.as_deref().unwrap_or("");
            prefix.as_deref().is_none_or(|p| name.starts_with(p)) && after.as_deref().is_none_or(|a| name > a)
        });
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        let limit = max.and_then(|m| usize::try_from(m).ok()).unwrap_or(usize::MAX);
        out.output.continuation_token = if buckets.len() > limit {
            buckets.truncate(limit);
            buckets.last().and_then(|b| b.name.clone())
        } else {
            None
        };
        out.output.prefix = prefix;
        out.output.buckets = Some(buckets);
        Ok(out)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_objects(
        &self,
        mut req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let i = &mut req.input;
        let shape = listing::Shape::take(&mut i.delimiter, &mut i.encoding_type, None);
        let page = self
            .page(
                &i.bucket,
                i.prefix.as_deref(),
                i.delimiter.as_deref(),
                i.marker.as_deref(),
                i.max_keys,
            )
            .await?;
        let max_keys = i.max_keys.unwrap_or(1000);
        // "ListObjects": NextMarker "is returned only if you have the delimiter request parameter specified".
        let next_marker = if i.delimiter.is_some() { page.next } else { None };
        let out = ListObjectsOutput {
            name: Some(i.bucket.clone()),
            prefix: i.prefix.clone(),
            marker: i.marker.clone(),
            max_keys: Some(max_keys),
            is_truncated: Some(page.truncated),
            next_marker,
            contents: (!page.objects.is_empty()).then_some(page.objects),
            common_prefixes: listing::common_prefixes(page.prefixes),
            ..Default::default()
        };
        Ok(S3Response::new(shape.apply_v1(out)))
    }

    async fn list_objects_v2(
        &self,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = &mut req.input;
        let shape = listing::Shape::take(&mut i.delimiter, &mut i.encoding_type, i.fetch_owner.take());
        // The continuation token is opaque, as S3's is: the last key, base64url-encoded, so that it never carries
        // a character XML cannot (a key's control characters) and no client reads meaning into it.
        let token = match i.continuation_token.as_deref() {
            None => None,
            Some(t) => Some(
                base64_simd::URL_SAFE_NO_PAD
                    .decode_to_vec(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        s3_error!(InvalidArgument, "The continuation token provided is incorrect")
                    })?,
            ),
        };
        let after = match (token.as_deref(), i.start_after.as_deref()) {
            (Some(c), Some(s)) => Some(if c >= s { c } else { s }),
            (c, s) => c.or(s),
        };
        let page = self
            .page(
                &i.bucket,
                i.prefix.as_deref(),
                i.delimiter.as_deref(),
                after,
                i.max_keys,
            )
            .await?;
        let next = page
            .next
            .map(|k| base64_simd::URL_SAFE_NO_PAD.encode_to_string(k.as_bytes()));
        let count = page.objects.len() + page.prefixes.len();
        let out = ListObjectsV2Output {
            name: Some(i.bucket.clone()),
            prefix: i.prefix.clone(),
            max_keys: Some(i.max_keys.unwrap_or(1000)),
            key_count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
            is_truncated: Some(page.truncated),
            continuation_token: i.continuation_token.clone(),
            next_continuation_token: next,
            start_after: i.start_after.clone(),
            contents: (!page.objects.is_empty()).then_some(page.objects),
            common_prefixes: listing::common_prefixes(page.prefixes),
            ..Default::default()
        };
        Ok(S3Response::new(shape.apply_v2(out)))
    }

    async fn get_object(&self, mut req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let i = &mut req.input;
        let conditions = Conditions::take(
            &mut i.if_match,
            &mut i.if_none_match,
            &mut i.if_modified_since,
            &mut i.if_unmodified_since,
        );
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _read = self.keys.read(&bucket, &key).await;
        req.input.key = self.locate(&bucket, &key);
        if conditions.any() {
            self.check_conditions(&req, &bucket, &req.input.key, &conditions)
                .await?;
        }
        let mut out = self.get_object_unconditional(req).await?;
        if let Some(modified) = &out.output.last_modified {
            let size = out.output.content_length.unwrap_or(0);
            out.output.expiration = self.expiration(&bucket, &key, size, modified).await;
        }
        Ok(out)
    }

    async fn head_object(
        &self,
        mut req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let i = &mut req.input;
        let conditions = Conditions::take(
            &mut i.if_match,
            &mut i.if_none_match,
            &mut i.if_modified_since,
            &mut i.if_unmodified_since,
        );
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _read = self.keys.read(&bucket, &key).await;
        req.input.key = self.locate(&bucket, &key);
        let mut out = self.fs.head_object(req).await?;
        conditions.check(out.output.e_tag.as_ref(), out.output.last_modified.as_ref())?;
        if let Some(modified) = &out.output.last_modified {
            let size = out.output.content_length.unwrap_or(0);
            out.output.expiration = self.expiration(&bucket, &key, size, modified).await;
        }
        Ok(out)
    }

    async fn put_object(&self, mut req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        // S3 never creates a bucket on a write: a wrong bucket name is NoSuchBucket.
        self.require_bucket(&bucket).await?;
        let write = self.keys.write(&bucket, &key).await;
        req.input.key = self.place(&bucket, &key).await?;
        let size = req.input.content_length.unwrap_or(0);
        let _one_at_a_time = if req.input.if_none_match.is_some() || req.input.if_match.is_some() {
            // Check-then-write must be one step for leases to work: one conditional put at a time.
            let one = self.conditional.lock().await;
            let i = &req.input;
            self.check_write_conditions(
                &req,
                &bucket,
                &i.key,
                i.if_match.as_ref(),
                i.if_none_match.as_ref(),
            )
            .await?;
            Some(one)
        } else {
            None
        };
        // s3s-fs renames the body into place, then writes its ETag and checksums beside it: a request dropped in
        // between (its client killed after sending the whole body) would leave the new body with the old
        // checksums. S3's PUT is atomic ("Amazon S3 data consistency model"), so the write runs to its end on a
        // task of its own, holding the key until then, whatever becomes of the request.
        let fs = self.fs.clone();
        let mut out = tokio::spawn(async move {
            let _write = write;
            fs.put_object(req).await
        })
        .await
        .map_err(|e| s3_error!(InternalError, "the write of {key} failed: {e}"))??;
        let now = Timestamp::from(std::time::SystemTime::now());
        out.output.expiration = self.expiration(&bucket, &key, size, &now).await;
        let etag = out.output.e_tag.as_ref().map(|e| e.value().to_owned());
        self.tell(notifications::ObjectEvent {
            name: "ObjectCreated:Put",
            bucket: &bucket,
            key: &key,
            size,
            etag: etag.as_deref(),
        })
        .await;
        Ok(out)
    }

    async fn delete_object(
        &self,
        mut req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _write = self.keys.write(&bucket, &key).await;
        let _not_during_a_conditional_put = self.conditional.lock().await;
        req.input.key = self.locate(&bucket, &key);
        let out = self.fs.delete_object(req).await?;
        self.tell(notifications::ObjectEvent {
            name: "ObjectRemoved:Delete",
            bucket: &bucket,
            key: &key,
            size: 0,
            etag: None,
        })
        .await;
        Ok(out)
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let named: Vec<String> = req.input.delete.objects.iter().map(|o| o.key.clone()).collect();
        let _writes = self.keys.write_all(&req.input.bucket, &named).await;
        let _not_during_a_conditional_put = self.conditional.lock().await;
        if req.input.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "DeleteObjects takes at most 1000 keys"));
        }
        // s3s-fs deletes where each object lives and answers with those paths: the answer names the keys.
        let bucket = req.input.bucket.clone();
        let mut keys = std::collections::HashMap::new();
        for o in &mut req.input.delete.objects {
            let at = self.locate(&req.input.bucket, &o.key);
            keys.insert(at.clone(), std::mem::replace(&mut o.key, at));
        }
        let mut out = self.fs.delete_objects(req).await?;
        for d in out.output.deleted.iter_mut().flatten() {
            if let Some(k) = d.key.as_mut().and_then(|at| keys.get(at)) {
                d.key = Some(k.clone());
            }
        }
        for key in keys.values() {
            self.tell(notifications::ObjectEvent {
                name: "ObjectRemoved:Delete",
                bucket: &bucket,
                key,
                size: 0,
                etag: None,
            })
            .await;
        }
        for e in out.output.errors.iter_mut().flatten() {
            if let Some(k) = e.key.as_mut().and_then(|at| keys.get(at)) {
                e.key = Some(k.clone());
            }
        }
        Ok(out)
    }

    async fn copy_object(
        &self,
        mut req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        if let CopySource::Bucket { bucket, key, .. } = &mut req.input.copy_source {
            *key = self.locate(bucket, key).into();
        }
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _write = self.keys.write(&bucket, &key).await;
        req.input.key = self.place(&bucket, &key).await?;
        let at = req.input.key.clone();
        let out = self.fs.copy_object(req).await?;
        let etag = out
            .output
            .copy_object_result
            .as_ref()
            .and_then(|r| r.e_tag.as_ref())
            .map(|e| e.value().to_owned());
        self.tell(notifications::ObjectEvent {
            name: "ObjectCreated:Copy",
            bucket: &bucket,
            key: &key,
            size: self.size_at(&bucket, &at).await,
            etag: etag.as_deref(),
        })
        .await;
        Ok(out)
    }

    async fn create_multipart_upload(
        &self,
        mut req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        // The upload's metadata is kept under the escaped key; CompleteMultipartUpload places the object.
        let key = std::mem::take(&mut req.input.key);
        req.input.key = layout::escape(&key).into_owned();
        let mut out = self.fs.create_multipart_upload(req).await?;
        out.output.key = Some(key);
        Ok(out)
    }

    async fn upload_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        req.input.key = layout::escape(&req.input.key).into_owned();
        let (id, part) = (req.input.upload_id.clone(), req.input.part_number);
        let out = self.fs.upload_part(req).await?;
        self.uploads.part_uploaded(&id, part, out.output.e_tag.as_ref());
        Ok(out)
    }

    async fn upload_part_copy(
        &self,
        mut req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        req.input.key = layout::escape(&req.input.key).into_owned();
        if let CopySource::Bucket { bucket, key, .. } = &mut req.input.copy_source {
            *key = self.locate(bucket, key).into();
        }
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(&self, mut req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let key = std::mem::take(&mut req.input.key);
        req.input.key = layout::escape(&key).into_owned();
        let mut out = self.fs.list_parts(req).await?;
        out.output.key = Some(key);
        Ok(out)
    }

    async fn complete_multipart_upload(
        &self,
        mut req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        if let Some(again) = self.uploads.before_complete(&self.buckets, &req.input)? {
            return Ok(S3Response::new(again));
        }
        let (bucket, key, id) = (
            req.input.bucket.clone(),
            req.input.key.clone(),
            req.input.upload_id.clone(),
        );
        let _write = self.keys.write(&bucket, &key).await;
        let at = self.place(&bucket, &key).await?;
        let escaped = layout::escape(&key);
        if at != escaped {
            // The upload's metadata was kept under the escaped key; the object goes inside the folder.
            let kind = format!("upload-{id}.metadata");
            let from = super::side_file(&self.buckets, &bucket, &escaped, &kind);
            if from.exists() {
                tokio::fs::rename(&from, super::side_file(&self.buckets, &bucket, &at, &kind))
                    .await
                    .map_err(|e| io_error("moving the upload's metadata", &e))?;
            }
        }
        req.input.key = at.clone();
        let conditional = req.input.if_match.is_some() || req.input.if_none_match.is_some();
        let _one_at_a_time = if conditional {
            let guard = self.conditional.lock().await;
            let i = &req.input;
            self.check_write_conditions(&req, &bucket, &at, i.if_match.as_ref(), i.if_none_match.as_ref())
                .await?;
            Some(guard)
        } else {
            None
        };
        let mut out = self.fs.complete_multipart_upload(req).await?;
        out.output.key = Some(key.clone());
        self.uploads
            .after_complete(&self.buckets, &bucket, &at, &key, &id)?;
        let etag = out.output.e_tag.as_ref().map(|e| e.value().to_owned());
        self.tell(notifications::ObjectEvent {
            name: "ObjectCreated:CompleteMultipartUpload",
            bucket: &bucket,
            key: &key,
            size: self.size_at(&bucket, &at).await,
            etag: etag.as_deref(),
        })
        .await;
        Ok(out)
    }

    async fn abort_multipart_upload(
        &self,
        mut req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let id = req.input.upload_id.clone();
        req.input.key = layout::escape(&req.input.key).into_owned();
        let out = self.fs.abort_multipart_upload(req).await?;
        self.uploads.aborted(&id);
        Ok(out)
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        let bucket = req.input.bucket.clone();
        self.require_bucket(&bucket).await?;
        let Some(config) = req.input.lifecycle_configuration else {
            return Err(s3_error!(
                MissingRequestBodyError,
                "no lifecycle configuration in the request"
            ));
        };
        let config = validate_lifecycle(config)?;
        let xml = bucket_config::to_xml(&config, "lifecycle configuration")?;
        bucket_config::store(&self.meta, Kind::Lifecycle, &bucket, &xml).await?;
        self.forget_rules(&bucket);
        Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        let Some(xml) = bucket_config::load(&self.meta, Kind::Lifecycle, &bucket).await? else {
            return Err(s3_error!(
                NoSuchLifecycleConfiguration,
                "The lifecycle configuration does not exist"
            ));
        };
        let config: BucketLifecycleConfiguration =
            bucket_config::from_xml(&xml, "lifecycle configuration", &bucket)?;
        let out = GetBucketLifecycleConfigurationOutput {
            rules: Some(config.rules),
            ..Default::default()
        };
        Ok(S3Response::new(out))
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        bucket_config::remove(&self.meta, Kind::Lifecycle, &bucket).await?;
        self.forget_rules(&bucket);
        Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        let config = req.input.server_side_encryption_configuration;
        bucket_config::validate_encryption(&config)?;
        let xml = bucket_config::to_xml(&config, "encryption configuration")?;
        bucket_config::store(&self.meta, Kind::Encryption, &bucket, &xml).await?;
        Ok(S3Response::new(PutBucketEncryptionOutput::default()))
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        let config = match bucket_config::load(&self.meta, Kind::Encryption, &bucket).await? {
            Some(xml) => bucket_config::from_xml(&xml, "encryption configuration", &bucket)?,
            None => bucket_config::default_encryption(),
        };
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(config),
        }))
    }

    async fn delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        bucket_config::remove(&self.meta, Kind::Encryption, &bucket).await?;
        Ok(S3Response::new(DeleteBucketEncryptionOutput::default()))
    }

    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        let config = req.input.notification_configuration;
        notifications::validate(&config, self.events.as_ref())?;
        let xml = bucket_config::to_xml(&config, "notification configuration")?;
        bucket_config::store(&self.meta, Kind::Notification, &bucket, &xml).await?;
        if let Ok(mut cache) = self.notifying.lock() {
            cache.remove(&bucket);
        }
        if let Some(queues) = &self.events {
            notifications::send_test_events(&config, queues, &bucket);
        }
        Ok(S3Response::new(
            PutBucketNotificationConfigurationOutput::default(),
        ))
    }

    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        // A bucket without a configuration answers an empty one.
        let config = match bucket_config::load(&self.meta, Kind::Notification, &bucket).await? {
            Some(xml) => bucket_config::from_xml::<NotificationConfiguration>(
                &xml,
                "notification configuration",
                &bucket,
            )?,
            None => NotificationConfiguration::default(),
        };
        Ok(S3Response::new(GetBucketNotificationConfigurationOutput {
            queue_configurations: config.queue_configurations,
            ..Default::default()
        }))
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        bucket_config::validate_policy(&req.input.policy)?;
        bucket_config::store(&self.meta, Kind::Policy, &bucket, req.input.policy.as_bytes()).await?;
        Ok(S3Response::new(PutBucketPolicyOutput::default()))
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        let Some(policy) = bucket_config::load(&self.meta, Kind::Policy, &bucket).await? else {
            return Err(s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"));
        };
        Ok(S3Response::new(GetBucketPolicyOutput {
            policy: Some(String::from_utf8_lossy(&policy).into_owned()),
        }))
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        bucket_config::remove(&self.meta, Kind::Policy, &bucket).await?;
        Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
    }
}

/// Whether a folder holds a regular file at any depth (s3s-fs leaves empty folders behind deleted keys).
fn holds_a_file(dir: &std::path::Path) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_file() || (kind.is_dir() && holds_a_file(&entry.path())?) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl LocalStore {
    /// One page of the bucket's listing (`fastlist`).
    async fn page(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: Option<i32>,
    ) -> S3Result<super::fastlist::Page> {
        let root = self.buckets.clone();
        let (bucket, prefix) = (bucket.to_owned(), prefix.unwrap_or("").to_owned());
        let (delimiter, after) = (delimiter.map(str::to_owned), after.map(str::to_owned));
        let max_keys = usize::try_from(max_keys.unwrap_or(1000).clamp(0, 1000)).unwrap_or(0);
        tokio::task::spawn_blocking(move || {
            super::fastlist::list(
                &root,
                &super::fastlist::Request {
                    bucket: &bucket,
                    prefix: &prefix,
                    delimiter: delimiter.as_deref(),
                    after: after.as_deref(),
                    max_keys,
                },
            )
        })
        .await
        .map_err(super::fastget::joined)?
    }

    /// GetObject once its conditions held: the fast path for plain and ranged reads, s3s-fs otherwise.
    async fn get_object_unconditional(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if super::fastget::handles(&req.input) {
            let (root, bucket, key, range, if_match) = (
                self.buckets.clone(),
                req.input.bucket.clone(),
                req.input.key.clone(),
                req.input.range,
                req.input.if_match.clone(),
            );
            let fast = tokio::task::spawn_blocking(move || {
                super::fastget::read(&root, &bucket, &key, range, if_match.as_ref())
            })
            .await
            .map_err(super::fastget::joined)??;
            if let Some(out) = fast {
                return Ok(S3Response::new(out));
            }
        }
        self.fs.get_object(req).await
    }
}
