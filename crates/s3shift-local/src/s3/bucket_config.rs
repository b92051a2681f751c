//! Bucket configuration that s3s-fs does not keep: lifecycle rules, default encryption and the bucket policy,
//! each stored as the document S3 speaks (XML, or the policy's JSON), one file per bucket and kind under
//! `<dir>/meta/<kind>/`, written then renamed so a reader never sees half of one.
//!
//! Encryption and policies are stored and returned, not enforced: an object is not encrypted, a request is not
//! judged by the policy (the stand-in evaluates no IAM). What is validated is what S3 refuses when the
//! configuration is put.

use std::path::{Path, PathBuf};

use s3s::dto::*;
use s3s::xml::{Deserialize, Serialize};
use s3s::{S3Result, s3_error};

/// The kinds of stored configuration, each a folder under `meta/`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Lifecycle,
    Encryption,
    Policy,
    Notification,
}

impl Kind {
    fn file(self, meta: &Path, bucket: &str) -> PathBuf {
        let (dir, ext) = match self {
            Self::Lifecycle => ("lifecycle", "xml"),
            Self::Encryption => ("encryption", "xml"),
            Self::Policy => ("policy", "json"),
            Self::Notification => ("notification", "xml"),
        };
        meta.join(dir).join(format!("{bucket}.{ext}"))
    }
}

fn io_error(what: &str, e: &std::io::Error) -> s3s::S3Error {
    s3_error!(InternalError, "{what}: {e}")
}

/// Stores one configuration document.
pub(crate) async fn store(meta: &Path, kind: Kind, bucket: &str, body: &[u8]) -> S3Result<()> {
    let path = kind.file(meta, bucket);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_error("creating the configuration folder", &e))?;
    }
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, body)
        .await
        .map_err(|e| io_error("writing the bucket configuration", &e))?;
    tokio::fs::rename(&tmp, &path)
        .await
        .map_err(|e| io_error("storing the bucket configuration", &e))
}

/// The stored document, if there is one.
pub(crate) async fn load(meta: &Path, kind: Kind, bucket: &str) -> S3Result<Option<Vec<u8>>> {
    match tokio::fs::read(kind.file(meta, bucket)).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("reading the bucket configuration", &e)),
    }
}

/// Removes a stored document (none is fine).
pub(crate) async fn remove(meta: &Path, kind: Kind, bucket: &str) -> S3Result<()> {
    match tokio::fs::remove_file(kind.file(meta, bucket)).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("deleting the bucket configuration", &e)),
    }
}

/// Removes every stored document of a deleted bucket.
pub(crate) async fn forget(meta: &Path, bucket: &str) {
    for kind in [
        Kind::Lifecycle,
        Kind::Encryption,
        Kind::Policy,
        Kind::Notification,
    ] {
        let _ = remove(meta, kind, bucket).await;
    }
}

/// An s3s DTO as the XML S3 speaks.
pub(crate) fn to_xml<T: Serialize>(value: &T, what: &str) -> S3Result<Vec<u8>> {
    let mut xml = Vec::new();
    value
        .serialize(&mut s3s::xml::Serializer::new(&mut xml))
        .map_err(|e| s3_error!(InternalError, "encoding the {what}: {e:?}"))?;
    Ok(xml)
}

/// A stored XML document back as its DTO.
pub(crate) fn from_xml<'x, T: Deserialize<'x>>(xml: &'x [u8], what: &str, bucket: &str) -> S3Result<T> {
    T::deserialize(&mut s3s::xml::Deserializer::new(xml))
        .map_err(|e| s3_error!(InternalError, "stored {what} of {bucket} is unreadable: {e:?}"))
}

/// What S3 applies to a bucket without a configuration of its own. "GetBucketEncryption" (API reference): "By
/// default, all buckets have a default encryption configuration that uses server-side encryption with Amazon S3
/// managed keys (SSE-S3)"; DeleteBucketEncryption resets to it.
pub(crate) fn default_encryption() -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                kms_master_key_id: None,
                sse_algorithm: ServerSideEncryption::from_static(ServerSideEncryption::AES256),
            }),
            bucket_key_enabled: Some(false),
        }],
    }
}

/// Refuses what S3 refuses in a default encryption configuration: no rule, an unknown algorithm, a KMS key with
/// an algorithm that takes none.
pub(crate) fn validate_encryption(config: &ServerSideEncryptionConfiguration) -> S3Result<()> {
    if config.rules.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    for rule in &config.rules {
        let Some(by_default) = &rule.apply_server_side_encryption_by_default else {
            continue;
        };
        let algorithm = by_default.sse_algorithm.as_str();
        let kms = [ServerSideEncryption::AWS_KMS, ServerSideEncryption::AWS_KMS_DSSE].contains(&algorithm);
        if !kms && algorithm != ServerSideEncryption::AES256 {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        if !kms && by_default.kms_master_key_id.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"
            ));
        }
    }
    Ok(())
}

/// Refuses a policy that is not a JSON object with a Statement, as S3 does (`MalformedPolicy`, 400, in S3's
/// "Error responses" list; the messages are the ones clients report S3 sending, no page lists them).
pub(crate) fn validate_policy(policy: &str) -> S3Result<()> {
    if !policy.trim_start().starts_with('{') {
        return Err(s3_error!(
            MalformedPolicy,
            "Policies must be valid JSON and the first byte must be '{{'"
        ));
    }
    let doc: serde_json::Value = serde_json::from_str(policy)
        .map_err(|_| s3_error!(MalformedPolicy, "This policy contains invalid Json"))?;
    if doc.get("Statement").is_none() {
        return Err(s3_error!(MalformedPolicy, "Missing required field Statement"));
    }
    Ok(())
}

/// Seconds since the epoch of an s3s timestamp.
fn epoch_seconds(t: &Timestamp) -> Option<f64> {
    let mut text = Vec::new();
    t.format(TimestampFormat::EpochSeconds, &mut text).ok()?;
    String::from_utf8(text).ok()?.parse().ok()
}

/// The `x-amz-expiration` value for an object of `key` and `size` last modified at `modified` under the
/// bucket's lifecycle `rules`: the earliest expiry among enabled rules whose filter matches, as
/// `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="..."` (the header's form in the HeadObject reference's
/// Expiration). "Lifecycle configuration elements": S3 adds the rule's days to the creation time and rounds the
/// result "to the next day's midnight UTC". Rules that filter on tags are skipped (the
/// stand-in keeps no tags), so no expiry is ever claimed that S3 would not give.
pub(crate) fn expiration(
    rules: &[LifecycleRule],
    key: &str,
    size: i64,
    modified: &Timestamp,
) -> Option<String> {
    const DAY: f64 = 86_400.0;
    let created = epoch_seconds(modified)?;
    let mut best: Option<(f64, String)> = None;
    for rule in rules {
        if rule.status.as_str() != ExpirationStatus::ENABLED {
            continue;
        }
        let Some(exp) = &rule.expiration else { continue };
        let filter = rule.filter.as_ref();
        let and = filter.and_then(|f| f.and.as_ref());
        if filter.is_some_and(|f| f.tag.is_some())
            || and.is_some_and(|a| a.tags.as_ref().is_some_and(|t| !t.is_empty()))
        {
            continue;
        }
        let prefix = rule
            .prefix
            .as_deref()
            .or_else(|| filter.and_then(|f| f.prefix.as_deref()))
            .or_else(|| and.and_then(|a| a.prefix.as_deref()))
            .unwrap_or("");
        let greater = filter
            .and_then(|f| f.object_size_greater_than)
            .or_else(|| and.and_then(|a| a.object_size_greater_than));
        let less = filter
            .and_then(|f| f.object_size_less_than)
            .or_else(|| and.and_then(|a| a.object_size_less_than));
        if !key.starts_with(prefix) || greater.is_some_and(|g| size <= g) || less.is_some_and(|l| size >= l) {
            continue;
        }
        let at = match (exp.days, &exp.date) {
            (Some(days), _) => ((created + f64::from(days) * DAY) / DAY).floor() * DAY + DAY,
            (None, Some(date)) => epoch_seconds(date)?,
            (None, None) => continue,
        };
        if best.as_ref().is_none_or(|(b, _)| at < *b) {
            best = Some((at, rule.id.clone().unwrap_or_default()));
        }
    }
    let (at, id) = best?;
    let when = Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(at.max(0.0)));
    let mut date = Vec::new();
    when.format(TimestampFormat::HttpDate, &mut date).ok()?;
    Some(format!(
        "expiry-date=\"{}\", rule-id=\"{id}\"",
        String::from_utf8_lossy(&date)
    ))
}
