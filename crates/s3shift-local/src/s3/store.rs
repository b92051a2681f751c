//! The S3 operations: s3s-fs for objects, buckets and multipart uploads; ours for what it lacks.
//!
//! Added here: bucket lifecycle configuration (Put/Get/DeleteBucketLifecycleConfiguration), stored as the same
//! XML S3 speaks, one file per bucket under `<dir>/meta/lifecycle`, so that expiry can be computed from it; and
//! ETags in listings (s3s-fs lists objects without them; S3 lists every object's ETag); and
//! atomic conditional puts (s3s-fs checks `If-None-Match` / `If-Match` and then writes, so two racing lease
//! writers could both win): conditional puts are serialised.

use std::path::PathBuf;

use s3s::dto::*;
use s3s::xml::{Deserialize, Serialize};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::sync::Mutex;

pub(crate) struct LocalStore {
    fs: s3s_fs::FileSystem,
    buckets: PathBuf,
    meta: PathBuf,
    conditional: Mutex<()>,
}

impl LocalStore {
    pub(crate) fn new(fs: s3s_fs::FileSystem, buckets: PathBuf, meta: PathBuf) -> Self {
        Self {
            fs,
            buckets,
            meta,
            conditional: Mutex::new(()),
        }
    }

    fn lifecycle_path(&self, bucket: &str) -> PathBuf {
        self.meta.join("lifecycle").join(format!("{bucket}.xml"))
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

/// Rejects what S3 rejects in a lifecycle configuration that the pipeline could rely on.
fn validate_lifecycle(config: &BucketLifecycleConfiguration) -> S3Result<()> {
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
    for rule in &config.rules {
        let status = rule.status.as_str();
        if status != ExpirationStatus::ENABLED && status != ExpirationStatus::DISABLED {
            return Err(s3_error!(
                MalformedXML,
                "rule status must be Enabled or Disabled, not {status}"
            ));
        }
        if let Some(exp) = &rule.expiration
            && let Some(days) = exp.days
            && days <= 0
        {
            return Err(s3_error!(
                InvalidArgument,
                "'Days' for Expiration action must be a positive integer"
            ));
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl S3 for LocalStore {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let path = self.lifecycle_path(&req.input.bucket);
        let out = self.fs.delete_bucket(req).await?;
        let _ = tokio::fs::remove_file(path).await;
        Ok(out)
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
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
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        if super::fastlist::handles(&req.input) {
            let (root, input) = (self.buckets.clone(), req.input.clone());
            let fast = tokio::task::spawn_blocking(move || super::fastlist::list(&root, &input))
                .await
                .map_err(super::fastget::joined)??;
            if let Some(out) = fast {
                return Ok(S3Response::new(out));
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
        Ok(out)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
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

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        if req.input.if_none_match.is_some() || req.input.if_match.is_some() {
            // Check-then-write must be one step for leases to work: one conditional put at a time.
            let _one_at_a_time = self.conditional.lock().await;
            return self.fs.put_object(req).await;
        }
        self.fs.put_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let _not_during_a_conditional_put = self.conditional.lock().await;
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let _not_during_a_conditional_put = self.conditional.lock().await;
        self.fs.delete_objects(req).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
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
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
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
        validate_lifecycle(&config)?;
        let mut xml = Vec::new();
        config
            .serialize(&mut s3s::xml::Serializer::new(&mut xml))
            .map_err(|e| s3_error!(InternalError, "encoding the lifecycle configuration: {e:?}"))?;
        let path = self.lifecycle_path(&bucket);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io_error("creating the lifecycle folder", &e))?;
        }
        // Write then rename: a reader never sees half a configuration.
        let tmp = path.with_extension("xml.tmp");
        tokio::fs::write(&tmp, &xml)
            .await
            .map_err(|e| io_error("writing the lifecycle configuration", &e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io_error("storing the lifecycle configuration", &e))?;
        Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let bucket = req.input.bucket;
        self.require_bucket(&bucket).await?;
        let xml = match tokio::fs::read(self.lifecycle_path(&bucket)).await {
            Ok(xml) => xml,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(s3_error!(
                    NoSuchLifecycleConfiguration,
                    "The lifecycle configuration does not exist"
                ));
            }
            Err(e) => return Err(io_error("reading the lifecycle configuration", &e)),
        };
        let config = BucketLifecycleConfiguration::deserialize(&mut s3s::xml::Deserializer::new(&xml))
            .map_err(|e| {
                s3_error!(
                    InternalError,
                    "stored lifecycle configuration of {bucket} is unreadable: {e:?}"
                )
            })?;
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
        match tokio::fs::remove_file(self.lifecycle_path(&bucket)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("deleting the lifecycle configuration", &e)),
        }
        Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
    }
}
