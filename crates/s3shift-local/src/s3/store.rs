//! The S3 operations: s3s-fs for objects, buckets and multipart uploads; ours for what it lacks.
//!
//! Added here: bucket lifecycle configuration (Put/Get/DeleteBucketLifecycleConfiguration), stored as the same
//! XML S3 speaks, one file per bucket under `<dir>/meta/lifecycle`, so that expiry can be computed from it; and
//! ETags in listings (s3s-fs lists objects without them; S3 lists every object's ETag); and
//! atomic conditional puts (s3s-fs checks `If-None-Match` / `If-Match` and then writes, so two racing lease
//! writers could both win): conditional puts are serialised.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::sync::Mutex;

use super::bucket_config::{self, Kind};
use super::listing;
use super::multipart::Uploads;
use super::preconditions::Conditions;

pub(crate) struct LocalStore {
    fs: s3s_fs::FileSystem,
    buckets: PathBuf,
    meta: PathBuf,
    conditional: Mutex<()>,
    /// Each bucket's lifecycle rules as last read (None: the bucket has none), for `x-amz-expiration` on
    /// every GET without a file read; forgotten when the configuration changes.
    lifecycles: std::sync::Mutex<HashMap<String, Option<Arc<Vec<LifecycleRule>>>>>,
    /// Part ETags and completed uploads, for CompleteMultipartUpload's checks.
    uploads: Uploads,
}

impl LocalStore {
    pub(crate) fn new(fs: s3s_fs::FileSystem, buckets: PathBuf, meta: PathBuf) -> Self {
        Self {
            fs,
            buckets,
            meta,
            conditional: Mutex::new(()),
            lifecycles: std::sync::Mutex::new(HashMap::new()),
            uploads: Uploads::default(),
        }
    }

    /// A read of a key that only names a folder of other keys is NoSuchKey, as in S3 (s3s-fs fails on the
    /// folder); any other error stays as it is.
    async fn folder_is_no_key(&self, bucket: &str, key: &str, e: s3s::S3Error) -> s3s::S3Error {
        if self.is_folder(bucket, key).await {
            s3_error!(NoSuchKey, "The specified key does not exist.")
        } else {
            e
        }
    }

    /// Whether `key` names a folder on disk (a prefix of other keys), not an object.
    async fn is_folder(&self, bucket: &str, key: &str) -> bool {
        let rel = key.trim_end_matches('/');
        if rel.is_empty() || rel.split('/').any(|seg| seg == ".." || seg == ".") {
            return false;
        }
        tokio::fs::metadata(self.buckets.join(bucket).join(rel))
            .await
            .is_ok_and(|m| m.is_dir())
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
        let head = match self.fs.head_object(clone_meta(like).map_input(|()| input)).await {
            Ok(out) => out.output,
            Err(e) => return Err(self.folder_is_no_key(bucket, key, e).await),
        };
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
        if req.input.delimiter.as_deref() == Some("") {
            req.input.delimiter = None; // S3 takes an empty delimiter as none
        }
        let bucket = req.input.bucket.clone();
        let probe = clone_meta(&req);
        let mut out = self.fs.list_objects(req).await?;
        for obj in out.output.contents.iter_mut().flatten() {
            if obj.e_tag.is_none()
                && let Some(key) = &obj.key
            {
                obj.e_tag = etag_of(&self.fs, &probe, &bucket, key).await;
            }
        }
        Ok(out)
    }

    async fn list_objects_v2(
        &self,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let shape = listing::Shape::take(
            &mut req.input.delimiter,
            &mut req.input.encoding_type,
            req.input.fetch_owner.take(),
        );
        if req.input.prefix.as_deref().is_some_and(|p| p.starts_with('/')) {
            // No key here starts with '/': S3 lists nothing for such a prefix.
            self.require_bucket(&req.input.bucket).await?;
            let out = listing::empty_v2(&req.input);
            return Ok(S3Response::new(shape.apply_v2(out)));
        }
        let out = self.list_objects_v2_plain(req).await?;
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
        if conditions.any() {
            self.check_conditions(&req, &req.input.bucket, &req.input.key, &conditions)
                .await?;
        }
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut out = match self.get_object_unconditional(req).await {
            Ok(out) => out,
            Err(e) => return Err(self.folder_is_no_key(&bucket, &key, e).await),
        };
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
        let mut out = match self.fs.head_object(req).await {
            Ok(out) => out,
            Err(e) => return Err(self.folder_is_no_key(&bucket, &key, e).await),
        };
        conditions.check(out.output.e_tag.as_ref(), out.output.last_modified.as_ref())?;
        if let Some(modified) = &out.output.last_modified {
            let size = out.output.content_length.unwrap_or(0);
            out.output.expiration = self.expiration(&bucket, &key, size, modified).await;
        }
        Ok(out)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        // S3 never creates a bucket on a write: a wrong bucket name is NoSuchBucket.
        self.require_bucket(&bucket).await?;
        let size = req.input.content_length.unwrap_or(0);
        let mut out = if req.input.if_none_match.is_some() || req.input.if_match.is_some() {
            // Check-then-write must be one step for leases to work: one conditional put at a time.
            let _one_at_a_time = self.conditional.lock().await;
            let i = &req.input;
            self.check_write_conditions(&req, &bucket, &key, i.if_match.as_ref(), i.if_none_match.as_ref())
                .await?;
            self.fs.put_object(req).await?
        } else {
            self.fs.put_object(req).await?
        };
        let now = Timestamp::from(std::time::SystemTime::now());
        out.output.expiration = self.expiration(&bucket, &key, size, &now).await;
        Ok(out)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let _not_during_a_conditional_put = self.conditional.lock().await;
        if self.is_folder(&req.input.bucket, &req.input.key).await {
            // A key that only names a folder of other keys is no object: deleting it succeeds, as for any
            // missing key (S3 answers 204 either way).
            return Ok(S3Response::new(DeleteObjectOutput::default()));
        }
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let _not_during_a_conditional_put = self.conditional.lock().await;
        if req.input.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "DeleteObjects takes at most 1000 keys"));
        }
        // Keys that only name folders (s3fs deletes "dir/" markers it assumes) are deleted by being absent.
        let mut folders = Vec::new();
        let mut rest = Vec::new();
        for o in std::mem::take(&mut req.input.delete.objects) {
            if self.is_folder(&req.input.bucket, &o.key).await {
                folders.push(DeletedObject {
                    key: Some(o.key),
                    ..Default::default()
                });
            } else {
                rest.push(o);
            }
        }
        let quiet = req.input.delete.quiet == Some(true);
        let mut out = if rest.is_empty() {
            S3Response::new(DeleteObjectsOutput::default())
        } else {
            req.input.delete.objects = rest;
            self.fs.delete_objects(req).await?
        };
        if !quiet && !folders.is_empty() {
            out.output.deleted.get_or_insert_with(Vec::new).extend(folders);
        }
        Ok(out)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        self.fs.copy_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let (id, part) = (req.input.upload_id.clone(), req.input.part_number);
        let out = self.fs.upload_part(req).await?;
        self.uploads.part_uploaded(&id, part, out.output.e_tag.as_ref());
        Ok(out)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        if let Some(again) = self.uploads.before_complete(&self.buckets, &req.input)? {
            return Ok(S3Response::new(again));
        }
        let (bucket, key, id) = (
            req.input.bucket.clone(),
            req.input.key.clone(),
            req.input.upload_id.clone(),
        );
        let conditional = req.input.if_match.is_some() || req.input.if_none_match.is_some();
        let _one_at_a_time = if conditional {
            let guard = self.conditional.lock().await;
            let i = &req.input;
            self.check_write_conditions(&req, &bucket, &key, i.if_match.as_ref(), i.if_none_match.as_ref())
                .await?;
            Some(guard)
        } else {
            None
        };
        let out = self.fs.complete_multipart_upload(req).await?;
        self.uploads.after_complete(&self.buckets, &bucket, &key, &id)?;
        Ok(out)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let id = req.input.upload_id.clone();
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
    /// ListObjectsV2 once its response shape is set aside: the fast path, s3s-fs otherwise, with ETags.
    async fn list_objects_v2_plain(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<ListObjectsV2Output> {
        if super::fastlist::handles(&req.input) {
            let (root, input) = (self.buckets.clone(), req.input.clone());
            let fast = tokio::task::spawn_blocking(move || super::fastlist::list(&root, &input))
                .await
                .map_err(super::fastget::joined)??;
            if let Some(out) = fast {
                return Ok(out);
            }
        }
        let bucket = req.input.bucket.clone();
        let probe = clone_meta(&req);
        let mut out = self.fs.list_objects_v2(req).await?;
        for obj in out.output.contents.iter_mut().flatten() {
            if obj.e_tag.is_none()
                && let Some(key) = &obj.key
            {
                obj.e_tag = etag_of(&self.fs, &probe, &bucket, key).await;
            }
        }
        Ok(out.output)
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
